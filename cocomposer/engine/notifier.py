"""Delivers the engine's events to its subscribers on a thread of their own.

The engine, generator, scheduler and MIDI input threads only put an event on a queue; a slow subscriber (the
panel, the recorder, a printing CLI) can then delay other subscribers, never a note. A subscriber that raises is
logged and counted, and the others still get the event.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable

from cocomposer.engine.events import Event

log = logging.getLogger(__name__)


class _Marker(threading.Event):
    """Put on the queue by :meth:`Notifier.flush`; set when the notifier reaches it."""


Handler = Callable[[Event], None]


class Notifier:
    def __init__(self) -> None:
        self._queue: queue.SimpleQueue = queue.SimpleQueue()  # reentrant: publish may run in a signal handler
        self._subscribers: list[tuple[Handler, tuple[type, ...]]] = []
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self.errors = 0
        self.delivered = 0

    def subscribe(self, handler: Handler, *types: type) -> Callable[[], None]:
        """Call ``handler(event)`` for every event of one of ``types`` (every event when none are given); returns
        a function that unsubscribes."""
        entry = (handler, types)
        with self._lock:
            self._subscribers = [*self._subscribers, entry]

        def unsubscribe() -> None:
            with self._lock:
                self._subscribers = [s for s in self._subscribers if s is not entry]

        return unsubscribe

    def publish(self, event: Event) -> None:
        """Queue ``event``; never blocks."""
        self._queue.put(event)

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="cocomposer-notifier", daemon=True)
            self._thread.start()

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait until every event published so far has reached its subscribers; False on timeout. (A marker goes
        through the queue behind them: the queue is first in, first out, whichever thread published.)"""
        if self._thread is None:
            self._deliver_queued()
            return True
        marker = _Marker()
        self._queue.put(marker)
        return marker.wait(timeout)

    def stop(self, timeout: float = 2.0) -> None:
        """Deliver what is queued, then end the thread."""
        if self._thread is None:
            self._deliver_queued()
            return
        self._queue.put(None)
        self._thread.join(timeout)
        if not self._thread.is_alive():  # else a subscriber hangs: the thread keeps the queue, nobody else drains it
            self._thread = None

    def _run(self) -> None:
        while (event := self._queue.get()) is not None:
            if isinstance(event, _Marker):
                event.set()
            else:
                self._deliver(event)

    def _deliver_queued(self) -> None:
        while True:
            try:
                event = self._queue.get_nowait()
            except queue.Empty:
                return
            if isinstance(event, _Marker):
                event.set()
            elif event is not None:
                self._deliver(event)

    def _deliver(self, event: Event) -> None:
        for handler, types in self._subscribers:
            if types and not isinstance(event, types):
                continue
            try:
                handler(event)
            except Exception:
                self.errors += 1
                log.exception("an engine event subscriber failed on %s", type(event).__name__)
        self.delivered += 1
