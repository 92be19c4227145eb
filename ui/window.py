"""The panel's widgets and their layout, and nothing else: :class:`ui.panel.Panel` gives them their behaviour.

Top: the state badge, like / dislike, answer now, demo phrase, and the big panic button. Then fault messages (hidden
when there are none), the piano roll, the latency and preference readouts, the controls, the folded "More settings",
the ports row, and one line that lists the keyboard shortcuts and, during MIDI learn, says what to do (the same line,
so an instruction never moves the layout).
"""

from __future__ import annotations

from cocomposer_panel.controls import ChoiceControl, Control, KeyLockControl, make_slider
from cocomposer_panel.host import SIDES
from cocomposer_panel.more import MoreSection
from cocomposer_panel.pianoroll import PianoRoll, RollModel
from cocomposer_panel.readout import StateBadge
from cocomposer_panel.theme import STYLESHEET
from PyQt6.QtCore import Qt
from PyQt6.QtWidgets import (
    QComboBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

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
    ("Esc", "panic"), ("Space", "answer"), ("L", "like"), ("D", "dislike"), ("M", "mode"),
    ("[ ]", "temperature"), ("- =", "density"), ("P", "demo"), ("F11", "full screen"),
)  # fmt: skip
HELP = "  ·  ".join(f"{key} {what}" for key, what in SHORTCUTS) + "  ·  right-click a control: MIDI learn"
PREFERENCE_LINES_PX = 46
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
        self.latency_label = QLabel(objectName="latency")
        self.preferences_label = QLabel("no ratings yet", objectName="preferences")
        self.preferences_label.setFixedHeight(PREFERENCE_LINES_PX)  # two lines, whatever they say: nothing moves
        self.preferences_label.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        for label in (self.latency_label, self.preferences_label):
            label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
            layout.addWidget(label)
        layout.addLayout(self._build_controls())
        ports = self._build_ports()
        self.more = MoreSection([self.model_button, self.save_button, self.load_button])
        self.controls.update(self.more.controls)
        layout.addWidget(self.more)
        layout.addLayout(ports)
        self.help_label = QLabel(HELP, objectName="help")
        self.help_label.setToolTip("\n".join(f"{key:>6}   {what}" for key, what in SHORTCUTS))
        self.help_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        layout.addWidget(self.help_label)
        root.setFocusPolicy(Qt.FocusPolicy.StrongFocus)  # the window takes the keyboard at once (shortcuts work)
        self.setCentralWidget(root)
        self.resize(1260, 820)

    def show_instruction(self, text: str | None) -> None:
        """Say what to do now (MIDI learn) in the help line, highlighted; None puts the shortcuts back."""
        self.help_label.setText(text or HELP)
        self.help_label.setProperty("learning", text is not None)
        self.help_label.style().unpolish(self.help_label)
        self.help_label.style().polish(self.help_label)

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
        grid.setHorizontalSpacing(12)
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
        for box in (*self.port_boxes.values(), self.sync_box):  # long port names must not widen the window
            box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            box.setMinimumContentsLength(10)
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
