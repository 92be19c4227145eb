"""The panel's widgets and their layout, and nothing else: :class:`ui.panel.Panel` gives them their behaviour.

Top: the state badge, like / dislike, answer now, demo phrase, and the big panic button. Then fault messages (hidden
when there are none), the piano roll, the latency and preference readouts, the controls, the ports row, and a line
that lists the keyboard shortcuts.
"""

from __future__ import annotations

from cocomposer_panel.controls import ChoiceControl, Control, KeyLockControl, make_slider
from cocomposer_panel.host import SIDES
from cocomposer_panel.pianoroll import PianoRoll, RollModel
from cocomposer_panel.readout import StateBadge
from cocomposer_panel.theme import STYLESHEET
from PyQt6.QtCore import Qt
from PyQt6.QtWidgets import QComboBox, QGridLayout, QHBoxLayout, QLabel, QMainWindow, QPushButton, QVBoxLayout, QWidget

from cocomposer.engine.settings import MODES
from cocomposer.music import codec

MODE_LABELS = {
    "call-response": "call and response",
    "accompany": "accompany",
    "continue": "continue on demand",
    "thru": "thru only (listen)",
}
SYNC_LABELS = {"internal": "internal clock", "midi-clock": "MIDI clock (input)", "link": "Ableton Link"}
SHORTCUTS = (
    ("Esc", "panic"), ("Space", "answer now"), ("L", "like"), ("D", "dislike"), ("M", "next mode"),
    ("[ ]", "temperature"), ("- =", "density"), ("P", "play the demo phrase"), ("F11", "full screen"),
)  # fmt: skip
HELP = "   ·   ".join(f"{key} {what}" for key, what in SHORTCUTS) + "   ·   right-click a control: MIDI learn"
GRID = ("mode", "style", "temperature", "density", "low", "mood", "key", "bars", "bpm", "high", "mimic", "cadence")


class PanelWindow(QMainWindow):
    def __init__(self) -> None:
        super().__init__()
        self.setWindowTitle("cocomposer")
        self.setStyleSheet(STYLESHEET)
        self.roll = PianoRoll(RollModel())
        self._build()

    def _build(self) -> None:
        root = QWidget()
        layout = QVBoxLayout(root)
        layout.setContentsMargins(12, 10, 12, 8)
        self.badge = StateBadge()
        self.like_button = QPushButton("▲ Like (L)", objectName="like")
        self.dislike_button = QPushButton("▼ Dislike (D)", objectName="dislike")
        self.trigger_button = QPushButton("Answer now (Space)")
        self.demo_button = QPushButton("Demo (P)")
        self.panic_button = QPushButton("PANIC", objectName="panic")
        self.panic_button.setToolTip("Close every note cocomposer opened (Esc). Right-click: MIDI learn.")
        top = QHBoxLayout()
        top.addWidget(self.badge)
        for button in (self.like_button, self.dislike_button, self.trigger_button, self.demo_button):
            top.addWidget(button)
        top.addStretch(1)
        top.addWidget(self.panic_button)
        layout.addLayout(top)
        self.messages_slot = QVBoxLayout()  # the panel puts its message area here
        layout.addLayout(self.messages_slot)
        layout.addWidget(self.roll, 1)
        figures = QHBoxLayout()
        self.latency_label = QLabel(objectName="latency")
        self.preferences_label = QLabel("no ratings yet", objectName="preferences")
        self.preferences_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        figures.addWidget(self.latency_label, 3)
        figures.addWidget(self.preferences_label, 2)
        layout.addLayout(figures)
        layout.addLayout(self._build_controls())
        layout.addLayout(self._build_ports())
        self.help_label = QLabel(HELP, objectName="help", wordWrap=True)
        self.help_label.setToolTip("\n".join(f"{key:>6}   {what}" for key, what in SHORTCUTS))
        footer = QHBoxLayout()
        footer.addWidget(self.help_label, 1)
        for button in (self.model_button, self.save_button, self.load_button):
            footer.addWidget(button)
        layout.addLayout(footer)
        self.setCentralWidget(root)
        self.resize(1240, 780)

    def _build_controls(self) -> QGridLayout:
        styles = [(s, s) for s in codec.STYLES]
        self.controls: dict[str, Control] = {
            "mode": ChoiceControl("mode", "Mode", [(MODE_LABELS[m], m) for m in MODES]),
            "style": ChoiceControl("style", "Style", styles),
            "mood": ChoiceControl(
                "mood", "Mood", [("auto (follow me)", "auto"), ("major", "major"), ("minor", "minor")]
            ),
            "key": KeyLockControl(),
            "temperature": make_slider("temperature"),
            "density": make_slider("density"),
            "bars": make_slider("bars"),
            "mimic": make_slider("mimic"),
            "cadence": make_slider("cadence"),
            "bpm": make_slider("bpm"),
            "low": make_slider("low"),
            "high": make_slider("high"),
        }
        grid = QGridLayout()
        grid.setHorizontalSpacing(18)
        for i, name in enumerate(GRID):
            grid.addWidget(self.controls[name], i // 5, i % 5)
        return grid

    def _build_ports(self) -> QHBoxLayout:
        row = QHBoxLayout()
        self.port_boxes = {side: QComboBox() for side in SIDES}
        self.sync_box = QComboBox()
        for value, label in SYNC_LABELS.items():
            self.sync_box.addItem(label, value)
        self.refresh_button = QPushButton("Refresh ports")
        self.model_button = QPushButton("Model…")
        self.save_button, self.load_button = QPushButton("Save preset…"), QPushButton("Load preset…")
        for title, widget in (("MIDI in", self.port_boxes["input"]), ("MIDI out", self.port_boxes["output"])):
            row.addWidget(QLabel(title, objectName="controlTitle"))
            row.addWidget(widget, 1)
        row.addWidget(self.refresh_button)
        row.addWidget(QLabel("Sync", objectName="controlTitle"))
        row.addWidget(self.sync_box)
        return row

    def show_ports(self, side: str, names: list[str], wanted: str | None) -> None:
        """Fill a port picker: the virtual port, the ports listed now, and the wanted one if it is missing."""
        box = self.port_boxes[side]
        box.blockSignals(True)
        box.clear()
        box.addItem(f"virtual port ({'cocomposer in' if side == 'input' else 'cocomposer out'})", None)
        for name in names:
            box.addItem(name, name)
        if wanted is not None and box.findData(wanted) < 0:
            box.addItem(f"{wanted} (missing)", wanted)
        box.setCurrentIndex(max(0, box.findData(wanted)))
        box.blockSignals(False)
