"""Musical time: monotonic seconds <-> beats, from an internal tempo (the MIDI clock follower and sender live in
:mod:`cocomposer.timing.midi_clock`, Ableton Link in :mod:`cocomposer.timing.link`).

Every clock reads an injected monotonic ``now() -> seconds`` (``time.perf_counter`` by default, never ``time.time``)
and waits through it (:meth:`Clock.wait_until`), so a :class:`FakeClock` as ``now`` drives threads deterministically.
Listeners get ``callback(event, beat)``, event in "start", "stop", "continue", "position", "tempo", called outside
the clock's lock on the thread that caused the event.
"""

from __future__ import annotations

import logging
import math
import os
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable

from cocomposer.errors import ConfigError
from cocomposer.midi_bytes import CONTINUE, SONG_POSITION, START, STOP

log = logging.getLogger(__name__)

PPQN = 24  # MIDI clock ticks per quarter note (beat)
MIN_BPM, MAX_BPM = 20.0, 300.0
QUANTIZE_MODES = ("off", "beat", "bar")
MAX_BEATS_PER_BAR = 16  # the one range of beats per bar: the settings check against it too
BOUNDARY_EPSILON = 1e-9  # beats: only float noise; a boundary passed by more than this is in the past
_TRANSPORT = {START: "start", CONTINUE: "continue", STOP: "stop", SONG_POSITION: "position"}

Now = Callable[[], float]
Listener = Callable[[str, float], None]


def validate_bpm(bpm: float) -> float:
    """Return ``bpm`` as a float, or raise :class:`ConfigError` when it is outside 20..300 BPM (or NaN)."""
    try:
        if MIN_BPM <= float(bpm) <= MAX_BPM:
            return float(bpm)
    except (TypeError, ValueError) as err:
        raise ConfigError(f"tempo must be a number of BPM, got {bpm!r}; pass e.g. 120") from err
    raise ConfigError(f"tempo {bpm!r} BPM is out of range; expected {MIN_BPM:g} to {MAX_BPM:g} BPM")


class FakeClock:
    """A settable time source for tests, passed (or its ``now``) as ``now=``: threads waiting through it sleep until
    :meth:`advance` or :meth:`set` moves time past their deadline (or a notify), so no test waits on real time."""

    def __init__(self, start: float = 0.0) -> None:
        self._t = float(start)
        self._lock = threading.Lock()
        self._waiters: list[threading.Condition] = []

    def now(self) -> float:
        with self._lock:
            return self._t

    __call__ = now

    def set(self, t: float) -> None:  # never backwards; wakes every waiting thread
        with self._lock:
            if not t >= self._t:
                raise ConfigError(f"a monotonic clock cannot go back: asked for {t}, now is {self._t}")
            self._t = float(t)
            waiters = list(dict.fromkeys(self._waiters))
        for cond in waiters:
            with cond:
                cond.notify_all()

    def advance(self, seconds: float) -> None:
        if not seconds >= 0:
            raise ConfigError(f"advance() takes seconds >= 0, got {seconds}")
        self.set(self.now() + seconds)

    def wait_until(self, cond: threading.Condition, deadline: float) -> None:
        """With ``cond`` held: return at once if ``deadline`` has passed, else wait for a wake-up (callers re-check)."""
        with self._lock:
            if self._t >= deadline:
                return
            self._waiters.append(cond)
        try:
            cond.wait()
        finally:
            with self._lock:
                self._waiters.remove(cond)

    def sleep_until(self, deadline: float) -> None:  # until another thread moves time to ``deadline``
        with (cond := threading.Condition()):
            while self.now() < deadline:
                self.wait_until(cond, deadline)


class Clock(ABC):
    """Beats <-> seconds on an injected monotonic time base, plus transport events for listeners. The position is an
    anchor (beat, time) running on at :attr:`bpm` while :attr:`running`, never past :meth:`_limit`; a stopped clock
    holds its anchor beat and puts any later beat at ``math.inf``."""

    SPIN_SECONDS = float(os.environ.get("COCOMPOSER_SPIN_SECONDS", "0.0003"))  # see wait_until; 0: never spin

    def __init__(self, now: Now = time.perf_counter, beats_per_bar: int = 4) -> None:
        if not callable(now):
            raise ConfigError(f"now must be a callable returning monotonic seconds, got {now!r}")
        if (
            isinstance(beats_per_bar, bool)
            or not isinstance(beats_per_bar, int)
            or not 1 <= beats_per_bar <= MAX_BEATS_PER_BAR
        ):
            raise ConfigError(f"beats per bar must be an integer within 1..{MAX_BEATS_PER_BAR}, got {beats_per_bar!r}")
        self._now = now
        self._fake = next((s for s in (now, getattr(now, "__self__", None)) if isinstance(s, FakeClock)), None)
        self.beats_per_bar = beats_per_bar
        self._lock = threading.Lock()
        self._listeners: list[Listener] = []
        self._running = False
        self._anchor_beat, self._anchor_t = 0.0, now()

    @abstractmethod
    def _tempo(self) -> float: ...  # the tempo in BPM (called with the lock held)

    def _limit(self) -> float:  # the beat the position may not run past before the next news (lock held)
        return math.inf

    def now(self) -> float:
        return self._now()

    @property
    def bpm(self) -> float:
        with self._lock:
            return self._tempo()

    @property
    def running(self) -> bool:
        return self._running

    def beat_at(self, t: float) -> float:
        """The beat position at monotonic time ``t`` (seconds)."""
        with self._lock:
            return self._beat_at(t)

    def _beat_at(self, t: float) -> float:
        if not self._running:
            return self._anchor_beat
        return min(self._anchor_beat + (t - self._anchor_t) * self._tempo() / 60.0, self._limit())

    def time_at(self, beat: float) -> float:
        """The monotonic time at which ``beat`` plays; ``math.inf`` for a beat the stopped transport will not reach."""
        with self._lock:
            if not self._running and beat > self._anchor_beat:
                return math.inf
            return self._anchor_t + (beat - self._anchor_beat) * 60.0 / self._tempo()

    def beat(self) -> float:
        return self.beat_at(self.now())

    def next_boundary(self, beat: float, quantize: str) -> float:
        """The first beat ("beat") or bar ("bar") line at or after ``beat``; ``beat`` itself for "off".

        Bar lines fall on multiples of ``beats_per_bar`` from beat 0. A ``beat`` within 1e-9 of a line counts as on
        it (float noise); a line passed by more than that is in the past and the next one is returned.
        """
        units = {"off": 0.0, "beat": 1.0, "bar": float(self.beats_per_bar)}
        if quantize not in units:
            raise ConfigError(f"quantize must be one of {', '.join(QUANTIZE_MODES)}, got {quantize!r}")
        unit = units[quantize]
        return beat if unit == 0.0 else math.ceil((beat - BOUNDARY_EPSILON) / unit) * unit

    def add_listener(self, callback: Listener) -> None:
        with self._lock:
            self._listeners.append(callback)

    def remove_listener(self, callback: Listener) -> None:
        with self._lock:
            self._listeners = [c for c in self._listeners if c != callback]

    def wait_until(self, cond: threading.Condition, deadline: float) -> None:
        """Wait on held ``cond`` until ``deadline`` or a notify (callers re-check); a FakeClock base waits itself.

        A thread's timed wait wakes up to a millisecond late on a busy machine, so the wait ends ``SPIN_SECONDS``
        early and the last fraction is spent yielding in a loop, with ``cond`` let go (a notify then is not waited
        for: the caller re-checks at the deadline, at most that fraction later)."""
        if self._fake is not None:
            self._fake.wait_until(cond, deadline)
        elif deadline == math.inf:
            cond.wait()
        elif (timeout := deadline - self._now()) > self.SPIN_SECONDS:
            cond.wait(timeout - self.SPIN_SECONDS)
        elif timeout > 0:
            cond.release()
            try:
                while self._now() < deadline:
                    time.sleep(0)  # lets go of the GIL: the other threads run while this one spins
            finally:
                cond.acquire()

    def _emit(self, event: str, beat: float) -> None:
        """Call listeners (outside the lock); one failing listener is logged and does not stop the others."""
        with self._lock:
            listeners = list(self._listeners)
        for callback in listeners:
            try:
                callback(event, beat)
            except Exception:
                log.exception("clock listener %r failed on %r", callback, event)


class InternalClock(Clock):
    """A clock at a set tempo, running from beat 0 at construction (or at :meth:`start`).

    Each transport method emits its event: set_bpm "tempo" (the beat stays continuous), start "start" (beat 0 now),
    stop "stop" (freezes the beat), resume "continue" (from the frozen beat), set_position "position".
    """

    def __init__(self, bpm: float = 120.0, now: Now = time.perf_counter, beats_per_bar: int = 4) -> None:
        super().__init__(now, beats_per_bar)
        self._bpm = validate_bpm(bpm)
        self._running = True

    def _tempo(self) -> float:
        return self._bpm

    def set_bpm(self, bpm: float) -> None:
        self._move("tempo", bpm=validate_bpm(bpm))

    def start(self) -> None:
        self._move("start", beat=0.0, run=True)

    def stop(self) -> None:
        self._move("stop", run=False)

    def resume(self) -> None:
        self._move("continue", run=True)

    def set_position(self, beat: float) -> None:
        if not math.isfinite(beat):
            raise ConfigError(f"position must be a finite beat, got {beat!r}")
        self._move("position", beat=float(beat))

    def _move(self, event: str, beat: float | None = None, run: bool | None = None, bpm: float | None = None) -> None:
        t = self.now()
        with self._lock:
            self._anchor_beat, self._anchor_t = self._beat_at(t) if beat is None else beat, t
            self._running = self._running if run is None else run
            self._bpm = self._bpm if bpm is None else bpm
            anchor = self._anchor_beat
        self._emit(event, anchor)
