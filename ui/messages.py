"""The fault and message strip: what went wrong, in words, until it is fixed or dismissed.

Two sources: the host's faults (ports, model, sync, engine), which it clears itself when the fault ends, and the
panel's own messages (ratings file, presets, settings, MIDI learn), keyed so a later success clears them.
"""

from __future__ import annotations

from collections.abc import Callable

from PyQt6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QWidget

LASTING = ("input", "output", "midi")  # faults that stay until the port is back, whatever the player dismisses


class MessageArea(QWidget):
    def __init__(self, faults: Callable[[], dict[str, str]], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.faults = faults
        self.messages: dict[str, str] = {}
        self.label = QLabel(objectName="messages", wordWrap=True)
        self.dismiss_button = QPushButton("Dismiss")
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.label, 1)
        row.addWidget(self.dismiss_button)
        self.dismiss_button.clicked.connect(self.dismiss)
        self.refresh()

    def show_message(self, key: str, text: str) -> None:
        self.messages[key] = text
        self.refresh()

    def clear(self, key: str) -> None:
        if self.messages.pop(key, None) is not None:
            self.refresh()

    def dismiss(self) -> None:
        self.messages.clear()
        faults = self.faults()
        for key in [k for k in faults if k not in LASTING]:
            del faults[key]
        self.refresh()

    def text(self) -> str:
        return "\n".join([*self.faults().values(), *self.messages.values()])

    def refresh(self) -> None:
        text = self.text()
        self.label.setText(text)
        self.setVisible(bool(text))
