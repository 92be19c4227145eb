"""The "More settings" section: everything a player sets up once per song rather than plays with, folded away.

Settings (top-p, velocity, the phrase-ending silence, when answers start, the three MIDI channels, thru, barge-in)
are `Control`s like the main ones: the panel sends them to the engine and MIDI learn can bind them. Engine options
(clock out, output offset, recording) only take effect in a new engine: they go out as ``option(name, value)`` and
the panel rebuilds the engine with them (which closes every note first).
"""

from __future__ import annotations

from pathlib import Path

from cocomposer_panel.controls import ChoiceControl, Control, SliderControl, make_slider
from PyQt6.QtCore import QTimer, pyqtSignal
from PyQt6.QtWidgets import QFileDialog, QGridLayout, QHBoxLayout, QPushButton, QVBoxLayout, QWidget

CHANNELS = [(str(channel), channel) for channel in range(1, 17)]
ON_OFF = [("off", False), ("on", True)]
COLUMNS = 5


def setting_controls() -> dict[str, Control]:
    """The settings in this section, by setting name."""
    return {
        "top_p": make_slider("top_p"),
        "velocity": make_slider("velocity"),
        "silence": make_slider("silence"),
        "quantize": ChoiceControl(
            "quantize", "Answer starts", [("the next beat", "beat"), ("the next bar", "bar"), ("at once", "off")]
        ),
        "thru": ChoiceControl("thru", "Thru (my notes)", ON_OFF),
        "in_channel": ChoiceControl("in_channel", "Input channel", [("all", 0), *CHANNELS]),
        "out_channel": ChoiceControl("out_channel", "Output channel", CHANNELS),
        "accompany_channel": ChoiceControl("accompany_channel", "Accompany channel", CHANNELS),
        "barge_in": ChoiceControl("barge_in", "Barge-in", [("on", True), ("off", False)]),
    }


class MoreSection(QWidget):
    """A "More settings" button and, below it, the folded grid of settings and engine options."""

    option = pyqtSignal(str, object)  # engine option name ("clock_out", "output_offset", "record"), new value

    def __init__(self, extra: list[QWidget] | None = None, parent: QWidget | None = None) -> None:
        """``extra``: widgets for the section's last row (the panel's model and preset buttons)."""
        super().__init__(parent)
        self.toggle = QPushButton("More settings ▸", objectName="more", checkable=True)
        self.body = QWidget()
        self.controls = setting_controls()
        self.clock_out = ChoiceControl("clock_out", "Clock out", ON_OFF)
        self.offset = make_slider("output_offset")
        self.record_button = QPushButton("Record to a file…", checkable=True)
        grid = QGridLayout(self.body)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setHorizontalSpacing(12)
        widgets: list[QWidget] = [*self.controls.values(), self.clock_out, self.offset, self.record_button]
        for i, widget in enumerate(widgets):
            grid.addWidget(widget, i // COLUMNS, i % COLUMNS)
        row = len(widgets) // COLUMNS
        for i, widget in enumerate(extra or []):
            grid.addWidget(widget, row, len(widgets) % COLUMNS + i)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        header = QHBoxLayout()
        header.addWidget(self.toggle)
        header.addStretch(1)
        layout.addLayout(header)
        layout.addWidget(self.body)
        self.body.setVisible(False)
        self.toggle.toggled.connect(self.unfold)
        self.clock_out.changed.connect(lambda _name, value: self.option.emit("clock_out", bool(value)))
        self._offset_timer = QTimer(self, singleShot=True, interval=600)  # a new engine once the slider rests
        self._offset_timer.timeout.connect(lambda: self.option.emit("output_offset", float(self.offset.value)))
        self.offset.changed.connect(lambda *_: self._offset_timer.start())
        self.record_button.toggled.connect(self._record_toggled)

    def unfold(self, shown: bool) -> None:
        self.body.setVisible(shown)
        self.toggle.setText("More settings ▾" if shown else "More settings ▸")
        if self.toggle.isChecked() != shown:
            self.toggle.setChecked(shown)

    def show_options(self, clock_out: bool, offset_ms: float, record: Path | None, clock_out_allowed: bool) -> None:
        """What the running engine has (without emitting anything back)."""
        self.clock_out.show_value(bool(clock_out))
        self.clock_out.setEnabled(clock_out_allowed)
        self.clock_out.setToolTip("" if clock_out_allowed else "Clock out sends the internal tempo: choose it in Sync")
        if isinstance(self.offset, SliderControl) and not self.offset.slider.isSliderDown():
            self.offset.show_value(offset_ms)
        self.record_button.blockSignals(True)
        self.record_button.setChecked(record is not None)
        self.record_button.setText(f"Recording: {Path(record).name}" if record else "Record to a file…")
        self.record_button.blockSignals(False)

    def _record_toggled(self, on: bool) -> None:
        if not on:
            self.option.emit("record", None)
            return
        path, _ = QFileDialog.getSaveFileName(self, "Record the session to", "session.mid", "MIDI files (*.mid)")
        if path:
            self.option.emit("record", Path(path).with_suffix(".mid"))
        else:  # cancelled: nothing was recording, nothing to tell
            self.record_button.blockSignals(True)
            self.record_button.setChecked(False)
            self.record_button.blockSignals(False)
