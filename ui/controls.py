"""The panel's controls: big labelled sliders and choices, each bound to one setting by name.

A control emits ``changed(name, value)`` when the player moves it, and shows a new value from the engine with
:meth:`show` without emitting (so an engine update never echoes back as a command).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from PyQt6.QtCore import Qt, pyqtSignal
from PyQt6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QSlider, QVBoxLayout, QWidget

from cocomposer.music.keys import PITCH_CLASSES, SCALES, note_name, parse_key

CC_TAG_WIDTH = 60  # pixels: "CC 127" at 15 px


class Control(QWidget):
    changed = pyqtSignal(str, object)  # setting name, new value

    def __init__(self, name: str, title: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)  # paints the MIDI-learn highlight
        self.name = name
        self.title = QLabel(title)
        self.title.setObjectName("controlTitle")
        self.cc_label = QLabel("")
        self.cc_label.setObjectName("ccLabel")
        self.cc_label.setFixedWidth(CC_TAG_WIDTH)
        self.cc_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.layout_ = QVBoxLayout(self)
        self.layout_.setContentsMargins(4, 2, 4, 2)
        self.layout_.setSpacing(2)
        header = QHBoxLayout()
        header.addWidget(self.title)
        header.addStretch(1)
        header.addWidget(self.cc_label)
        self.layout_.addLayout(header)

    def show_value(self, value: object) -> None:  # overridden
        raise NotImplementedError

    def show_binding(self, number: int | None, learning: bool = False) -> None:
        """The CC tag: "CC 21", "CC ?" while it waits for a knob (the instruction itself is in the help line), or
        nothing. Its width is fixed, so a tag coming or going never moves the controls beside it."""
        text = "CC ?" if learning else f"CC {number}" if number is not None else ""
        self.cc_label.setText(text)
        self.setProperty("learning", learning)
        self.style().unpolish(self)
        self.style().polish(self)


class SliderControl(Control):
    """A setting on a slider: ``to_pos`` / ``from_pos`` map values to integer positions, ``text`` shows one."""

    def __init__(
        self,
        name: str,
        title: str,
        low: int,
        high: int,
        to_pos: Callable[[object], int],
        from_pos: Callable[[int], object],
        text: Callable[[object], str] = str,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(name, title, parent)
        self.to_pos, self.from_pos, self.text = to_pos, from_pos, text
        self.value_label = QLabel("")
        self.value_label.setObjectName("valueLabel")
        self.value_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(low, high)
        self.slider.setPageStep(max(1, (high - low) // 10))
        self.slider.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        row = QHBoxLayout()
        row.addWidget(self.slider, 1)
        row.addWidget(self.value_label)
        self.value_label.setMinimumWidth(72)
        self.layout_.addLayout(row)
        self.slider.valueChanged.connect(self._moved)

    def _moved(self, pos: int) -> None:
        value = self.from_pos(pos)
        self.value_label.setText(self.text(value))
        self.changed.emit(self.name, value)

    def show_value(self, value: object) -> None:
        self.slider.blockSignals(True)
        self.slider.setValue(self.to_pos(value))
        self.slider.blockSignals(False)
        self.value_label.setText(self.text(value))

    @property
    def value(self) -> object:
        return self.from_pos(self.slider.value())


class ChoiceControl(Control):
    """A setting from a list: ``options`` are (label, value) pairs."""

    def __init__(
        self, name: str, title: str, options: Sequence[tuple[str, object]], parent: QWidget | None = None
    ) -> None:
        super().__init__(name, title, parent)
        self.combo = QComboBox()
        for label, value in options:
            self.combo.addItem(label, value)
        self.layout_.addWidget(self.combo)
        self.combo.activated.connect(lambda index: self.changed.emit(self.name, self.combo.itemData(index)))

    def show_value(self, value: object) -> None:
        index = self.combo.findData(value)
        if index < 0:
            self.combo.addItem(str(value), value)
            index = self.combo.count() - 1
        self.combo.blockSignals(True)
        self.combo.setCurrentIndex(index)
        self.combo.blockSignals(False)

    def choose(self, value: object) -> None:
        """Pick ``value`` as the player would (emits ``changed``)."""
        self.combo.setCurrentIndex(self.combo.findData(value))
        self.combo.activated.emit(self.combo.currentIndex())


class KeyLockControl(Control):
    """Key lock: off, auto (the key the player is in), or a tonic and a scale."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("key", "Key lock", parent)
        self.tonic = QComboBox()
        self.tonic.addItem("off", "off")
        self.tonic.addItem("auto (follow me)", "auto")
        for name in PITCH_CLASSES:
            self.tonic.addItem(name, name)
        self.scale = QComboBox()
        for scale in SCALES:
            self.scale.addItem(scale, scale)
        row = QHBoxLayout()
        row.addWidget(self.tonic, 1)
        row.addWidget(self.scale, 1)
        self.layout_.addLayout(row)
        self.tonic.activated.connect(self._picked)
        self.scale.activated.connect(self._picked)

    @property
    def value(self) -> str:
        tonic = self.tonic.currentData()
        return tonic if tonic in ("off", "auto") else f"{tonic} {self.scale.currentData()}"

    def _picked(self, _index: int) -> None:
        self.scale.setEnabled(self.tonic.currentData() not in ("off", "auto"))
        self.changed.emit(self.name, self.value)

    def show_value(self, value: object) -> None:
        text = str(value)
        for combo in (self.tonic, self.scale):
            combo.blockSignals(True)
        if text in ("off", "auto"):
            self.tonic.setCurrentIndex(self.tonic.findData(text))
        else:
            key = parse_key(text)
            self.tonic.setCurrentIndex(self.tonic.findData(PITCH_CLASSES[key.tonic]))
            self.scale.setCurrentIndex(self.scale.findData(key.scale))
        self.scale.setEnabled(text not in ("off", "auto"))
        for combo in (self.tonic, self.scale):
            combo.blockSignals(False)


def _density_pos(value: object) -> int:
    return round(100 * math.log(float(value)) / math.log(4))


def _bars_text(value: object) -> str:
    if float(value) == 0:
        return "auto (as the call)"
    return f"{float(value):g} bar" + ("" if float(value) == 1 else "s")


# setting -> (title, lowest position, highest position, value -> position, position -> value, value -> text)
SLIDERS: dict[str, tuple] = {
    "temperature": ("Temperature", 2, 40, lambda v: round(float(v) / 0.05), lambda p: round(p * 0.05, 2),
                    lambda v: f"{float(v):.2f}"),
    "density": ("Density", -100, 100, _density_pos, lambda p: round(4 ** (p / 100), 3), lambda v: f"x{float(v):.2f}"),
    "bars": ("Answer length", 0, 32, lambda v: round(float(v) * 2), lambda p: p / 2 if p >= 1 else 0.0, _bars_text),
    "mimic": ("Mimic (your licks)", 0, 40, lambda v: round(float(v) / 0.05), lambda p: round(p * 0.05, 2),
              lambda v: "off" if float(v) == 0 else f"{float(v):.2f}"),
    "cadence": ("Cadence (tonic close)", 0, 40, lambda v: round(float(v) / 0.1), lambda p: round(p * 0.1, 1),
                lambda v: "off" if float(v) == 0 else f"{float(v):.1f}"),
    "low": ("Lowest note", 0, 127, int, int, lambda v: f"{note_name(int(v))} ({v})"),
    "high": ("Highest note", 0, 127, int, int, lambda v: f"{note_name(int(v))} ({v})"),
    "bpm": ("Tempo", 20, 300, lambda v: round(float(v)), float, lambda v: f"{float(v):.0f} BPM"),
    "top_p": ("Top-p", 1, 20, lambda v: round(float(v) / 0.05), lambda p: round(p * 0.05, 2),
              lambda v: f"{float(v):.2f}"),
    "velocity": ("Velocity", 0, 127, lambda v: 0 if v == "follow" else int(str(v)),
                 lambda p: "follow" if p == 0 else str(p), lambda v: "follow me" if v == "follow" else str(v)),
    "silence": ("Silence ends phrase", 1, 32, lambda v: round(float(v) * 4), lambda p: p / 4,
                lambda v: f"{float(v):g} beat" + ("" if float(v) == 1 else "s")),
    "output_offset": ("Output offset", -200, 200, lambda v: round(float(v)), float, lambda v: f"{float(v):+.0f} ms"),
}  # fmt: skip


def make_slider(name: str) -> SliderControl:
    """The slider for one setting, with its range, steps and how its value reads."""
    title, low, high, to_pos, from_pos, text = SLIDERS[name]
    return SliderControl(name, title, low, high, to_pos, from_pos, text)
