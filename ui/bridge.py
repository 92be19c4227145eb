"""Engine events -> Qt signals. The only place where the engine's threads meet Qt.

The engine delivers its typed events (:mod:`cocomposer.engine.events`) on its notifier thread; the bridge only
emits a signal for each, and since it lives in the GUI thread, Qt queues the signal and every connected slot runs
there. When the engine is rebuilt, the old engine's subscription is cancelled and silenced (a generation number),
so a late event from a stopped engine never reaches the panel.
"""

from __future__ import annotations

from collections.abc import Callable

from PyQt6.QtCore import QObject, pyqtSignal

from cocomposer.engine import events as ev
from cocomposer.engine.core import Engine


class EngineBridge(QObject):
    event = pyqtSignal(object)  # every event
    note_in = pyqtSignal(object)  # ev.NoteIn
    note_out = pyqtSignal(object)  # ev.NoteOut
    state_changed = pyqtSignal(str)  # "listening", "waiting", "answering", "stopped"
    settings_changed = pyqtSignal(object)  # the engine's new Settings
    error = pyqtSignal(str, str)  # where, message
    cc = pyqtSignal(int, int)  # number, value
    answer_requested = pyqtSignal(object)  # ev.AnswerRequested
    answer_planned = pyqtSignal(object)  # ev.AnswerPlanned
    panicked = pyqtSignal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._generation = 0
        self._unsubscribe: Callable[[], None] = lambda: None

    def attach(self, engine: Engine) -> None:
        """Listen to ``engine`` (and stop listening to the one before)."""
        self.detach()
        generation = self._generation

        def forward(event: ev.Event) -> None:
            if generation == self._generation:
                self._emit(event)

        self._unsubscribe = engine.subscribe(forward)

    def detach(self) -> None:
        self._generation += 1
        self._unsubscribe()
        self._unsubscribe = lambda: None

    def _emit(self, event: ev.Event) -> None:
        self.event.emit(event)
        if isinstance(event, ev.NoteIn):
            self.note_in.emit(event)
        elif isinstance(event, ev.NoteOut):
            self.note_out.emit(event)
        elif isinstance(event, ev.StateChanged):
            self.state_changed.emit(event.state)
        elif isinstance(event, ev.SettingsChanged):
            self.settings_changed.emit(event.settings)
        elif isinstance(event, ev.EngineError):
            self.error.emit(event.where, event.message)
        elif isinstance(event, ev.ControlIn):
            self.cc.emit(event.number, event.value)
        elif isinstance(event, ev.AnswerRequested):
            self.answer_requested.emit(event)
        elif isinstance(event, ev.AnswerPlanned):
            self.answer_planned.emit(event)
        elif isinstance(event, ev.Panicked):
            self.panicked.emit()
