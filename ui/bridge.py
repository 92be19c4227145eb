"""Engine hooks -> Qt signals. The only place where the engine's threads meet Qt.

Hooks fire on the engine, generator and scheduler threads. Each hook only emits a signal; the bridge lives in the
GUI thread, so Qt queues the signal and every connected slot runs there. When the engine is rebuilt, the old
engine's hooks are silenced (a generation number), so a late event from a stopped engine never reaches the panel.
"""

from __future__ import annotations

from PyQt6.QtCore import QObject, pyqtSignal

from cocomposer.engine.core import Engine


class EngineBridge(QObject):
    event = pyqtSignal(str, object)  # every hook: kind, data
    note_in = pyqtSignal(object)  # {"kind": "on"|"off", "pitch", "velocity", "time", "beat"}
    note_out = pyqtSignal(object)  # {"kind": "note_on"|"note_off", "pitch", "channel", "tag", "velocity", "beat"}
    state_changed = pyqtSignal(str)  # "listening", "waiting", "answering"
    settings_changed = pyqtSignal(object)  # the engine's new Settings
    error = pyqtSignal(str, str)  # where, message
    cc = pyqtSignal(int, int)  # number, value
    answer_requested = pyqtSignal(object)
    answer_planned = pyqtSignal(object)
    panicked = pyqtSignal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._generation = 0

    def attach(self, engine: Engine) -> None:
        """Listen to ``engine`` (and stop listening to the one before)."""
        self._generation += 1
        generation = self._generation

        def hook(kind: str, data: dict) -> None:
            if generation == self._generation:
                self._emit(kind, data)

        engine.add_hook(hook)

    def detach(self) -> None:
        self._generation += 1

    def _emit(self, kind: str, data: dict) -> None:
        self.event.emit(kind, data)
        if kind == "note_in":
            self.note_in.emit(data)
        elif kind == "note_out":
            self.note_out.emit(data)
        elif kind == "state":
            self.state_changed.emit(data["state"])
        elif kind == "settings":
            self.settings_changed.emit(data["settings"])
        elif kind == "error":
            self.error.emit(str(data.get("where", "engine")), str(data.get("message", "")))
        elif kind == "cc":
            self.cc.emit(int(data["number"]), int(data["value"]))
        elif kind == "answer_requested":
            self.answer_requested.emit(data)
        elif kind == "answer_planned":
            self.answer_planned.emit(data)
        elif kind == "panic":
            self.panicked.emit()
