"""MIDI clock in and out: :class:`MidiClockFollower` follows a DAW's 24 ppqn clock and transport, and
:class:`ClockSender` sends clock and transport for an :class:`~cocomposer.timing.clock.InternalClock`.

Both read time through the injected monotonic ``now`` of :mod:`cocomposer.timing.clock`.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence

from cocomposer.errors import BackendLostError, CocomposerError, ConfigError
from cocomposer.midi_bytes import CONTINUE, SONG_POSITION, START, STOP, TIMING_CLOCK
from cocomposer.timing.clock import (
    _TRANSPORT,
    BOUNDARY_EPSILON,
    MAX_BPM,
    MIN_BPM,
    PPQN,
    Clock,
    InternalClock,
    Now,
    validate_bpm,
)

log = logging.getLogger(__name__)


class MidiClockFollower(Clock):
    """Follows incoming MIDI clock (24 ppqn) and transport; feed it every realtime message with its arrival time.

    Tempo: the least-squares slope of the last ``smoothing`` tick times; a tick far from the fitted line is ignored,
    ``JUMP_TICKS`` of them in a row mean a jump, and the window restarts from them. Position: phase-locked, ticks/24 at
    each tick's arrival, running on at the estimate but never past the next tick's beat (so monotonic). Start,
    Continue and Song Position set the position the next clock plays; Stop holds it."""

    OUTLIER_RATIO = 0.25  # a tick further than this many tick intervals from the fitted line is an outlier...
    MIN_OUTLIER_S = 0.003  # ...and further than this many seconds (so jitter at fast tempi is not an outlier)
    JUMP_TICKS = 3  # this many outliers in a row: the tempo jumped
    MAX_GAP_S = 0.5  # no tick for this long: the clock was absent, estimate afresh
    TEMPO_EVENT_BPM = 0.5  # emit "tempo" when the estimate moved this far from the last one announced

    def __init__(
        self, now: Now = time.perf_counter, smoothing: int = 24, beats_per_bar: int = 4, default_bpm: float = 120.0
    ) -> None:
        super().__init__(now, beats_per_bar)
        if isinstance(smoothing, bool) or not isinstance(smoothing, int) or not 2 <= smoothing <= 1000:
            raise ConfigError(f"smoothing is a window of clock ticks within 2..1000, got {smoothing!r}")
        self._default_bpm = validate_bpm(default_bpm)
        self._window: deque[tuple[int, float]] = deque(maxlen=smoothing + 1)  # (tick index, arrival time)
        self._outliers: list[tuple[int, float]] = []
        self._ticks, self._last_tick_t = 0, -math.inf  # ticks received, running or not
        self._slope: float | None = None  # seconds per tick, from the fit
        self._intercept = 0.0
        self._announced_bpm: float | None = None
        self._next_tick = 0  # song position (in ticks) that the next clock plays
        self._suspect = 0  # 1: the last clock came one interval late (was one lost?); 2: so did the one after it

    def _tempo(self) -> float:  # the estimate, or ``default_bpm`` before two clock ticks have arrived
        return self._default_bpm if self._slope is None else 60.0 / (PPQN * self._slope)

    def _limit(self) -> float:
        return self._next_tick / PPQN

    @property
    def has_tempo(self) -> bool:
        return self._slope is not None

    @property
    def ticks(self) -> int:
        """Clock ticks counted so far, running or not: those received plus those judged lost on the way."""
        with self._lock:
            return self._ticks

    def feed(self, message: Sequence[int], t: float | None = None) -> bool:
        """Take one MIDI message that arrived at monotonic time ``t`` (default: now). Returns whether it was used."""
        status = message[0] if message else None
        t = self.now() if t is None else float(t)
        with self._lock:
            if status == TIMING_CLOCK:
                event = "tempo" if self._tick(t) else None
            elif status in (START, CONTINUE, STOP) or (status == SONG_POSITION and len(message) >= 3):
                if self._running and (
                    status == CONTINUE
                    or (status == SONG_POSITION and _sixteenths(message) * (PPQN // 4) == self._next_tick)
                ):
                    return True  # a sender re-telling a new follower where it is: nothing moves here
                self._suspect = 0
                if status == START:
                    self._next_tick = 0
                elif status == SONG_POSITION:  # in MIDI beats (sixteenths) = 6 ticks
                    self._next_tick = _sixteenths(message) * (PPQN // 4)
                if status != SONG_POSITION:
                    self._running = status != STOP
                self._anchor_beat, self._anchor_t = self._next_tick / PPQN, t  # the next clock plays this beat
                event = _TRANSPORT[status]
            else:
                return False
            beat = self._next_tick / PPQN
        if event is not None:
            self._emit(event, beat)
        return True

    def _tick(self, t: float) -> bool:  # count one clock; returns whether the tempo moved enough to announce
        # A clock lost on the way (a JACK xrun, a busy USB interface): a tick one interval late is suspect, and when
        # the next two sit on the old grid, the lost one is counted too (one is not enough: after a stall, a late
        # tick and a less late one look the same). A slower tempo moves all of them: nothing added.
        if self._suspect:
            shifted = self._slope is not None and (
                abs(t - (self._intercept + self._slope * (self._ticks + 1))) < 0.25 * self._slope
            )
            self._suspect = 2 if shifted and self._suspect == 1 else 0
            if shifted and not self._suspect:
                self._ticks += 1
                if self._running:
                    self._next_tick += 1
        elif self._missed_one(t):
            self._suspect = 1
        self._update_tempo(self._ticks, t)
        self._ticks += 1
        if self._running:
            self._anchor_beat, self._anchor_t = self._next_tick / PPQN, t
            self._next_tick += 1
        bpm = self._tempo()
        if self._slope is None or (self._announced_bpm and abs(bpm - self._announced_bpm) < self.TEMPO_EVENT_BPM):
            return False
        self._announced_bpm = bpm
        return True

    def _missed_one(self, t: float) -> bool:
        """Whether this clock arrived one tick interval after its place on a steady fit, the one before it on time."""
        if self._slope is None or len(self._window) < 8 or self._outliers:
            return False
        last_index, last_t = self._window[-1]
        if (
            last_index != self._ticks - 1
            or abs(last_t - (self._intercept + self._slope * last_index)) > 0.2 * self._slope
        ):
            return False
        residual = t - (self._intercept + self._slope * self._ticks)
        return 0.75 * self._slope < residual < 1.25 * self._slope

    def _update_tempo(self, index: int, t: float) -> None:
        if t - self._last_tick_t > self.MAX_GAP_S:  # first tick, or the clock was absent: start afresh
            self._window.clear()
            self._outliers.clear()
        self._last_tick_t = t
        if self._slope is not None and len(self._window) >= 4:
            residual = t - (self._intercept + self._slope * index)
            if abs(residual) > max(self.OUTLIER_RATIO * self._slope, self.MIN_OUTLIER_S):
                self._outliers.append((index, t))
                if len(self._outliers) < self.JUMP_TICKS:
                    return  # an isolated late or early tick: ignored for tempo
                if not self._plausible_jump():  # late clocks a stall let through: the next ones may yet be a jump
                    self._outliers.pop(0)
                    return
                if lost := self._lost_before_jump():  # the "jump" is (partly) clocks lost on the way: count them
                    self._outliers = [(k + lost, when) for k, when in self._outliers]
                    self._ticks += lost
                    if self._running:
                        self._next_tick += lost
                self._window.clear()  # several in a row: the tempo jumped; restart from the new ticks
                self._window.extend(self._outliers[:-1])
                index, t = self._outliers[-1]
        self._outliers.clear()
        self._window.append((index, t))
        self._fit()

    def _plausible_jump(self) -> bool:
        """Whether the outliers in a row tick evenly (each interval within half their mean) at a tempo a sender
        could play (``MIN_BPM``..``MAX_BPM``, with a quarter's slack). Clocks held up by a stall (a busy machine, a
        JACK xrun, a USB hiccup) arrive in a burst, one per audio period, or unevenly: taken for a new tempo they read
        as hundreds or thousands of BPM, every note planned in beats falls due at once, and the gap before them is
        counted as lost clocks."""
        steps = [(t2 - t1) / (k2 - k1) for (k1, t1), (k2, t2) in zip(self._outliers, self._outliers[1:], strict=False)]
        (first_index, first_t), (end_index, end_t) = self._outliers[0], self._outliers[-1]
        new = (end_t - first_t) / (end_index - first_index) if end_index > first_index else 0.0
        if new <= 0.0 or not 0.75 * MIN_BPM <= 60.0 / (PPQN * new) <= 1.25 * MAX_BPM:
            return False
        return all(abs(step - new) <= 0.5 * new for step in steps)

    def _lost_before_jump(self) -> int:
        """How many clocks (0..2) went missing just before ticks that look like a tempo jump: 0 unless that is clear.

        The gap from the last tick on the old line to the first jumped one spans ``steps`` intervals at the new tempo,
        plus one per lost clock, old or new length (a lost clock can hide where the tempo changed). The fewest losses
        that fill the gap, within 30% of an interval, count. At a steady tempo the ticks after an uncounted lost clock
        sit one interval late, which also shows here as a jump. One clock lost just as the tempo rises is not found:
        the faster ticks close the gap before it shows."""
        if self._slope is None or not self._window:
            return 0
        last_index, last_t = self._window[-1]
        (first_index, first_t), (end_index, end_t) = self._outliers[0], self._outliers[-1]
        if end_index <= first_index or first_index <= last_index:
            return 0
        old, new = self._slope, (end_t - first_t) / (end_index - first_index)
        if new <= 0:
            return 0
        gap, steps, tolerance = first_t - last_t, first_index - last_index, 0.3 * min(old, new)
        for lost in range(3):
            if any(abs(gap - (steps + lost - j) * new - j * old) <= tolerance for j in range(lost + 1)):
                return lost
        return 0

    def _fit(self) -> None:
        if (n := len(self._window)) < 2:
            return  # keep the last estimate until a second tick arrives
        k_mean = sum(k for k, _ in self._window) / n
        t_mean = sum(t for _, t in self._window) / n
        sxx = sum((k - k_mean) ** 2 for k, _ in self._window)
        sxt = sum((k - k_mean) * (t - t_mean) for k, t in self._window)
        slope = sxt / sxx
        if slope > 0:
            self._slope, self._intercept = slope, t_mean - slope * k_mean


def _sixteenths(song_position: Sequence[int]) -> int:
    """The position a Song Position Pointer (0xF2, LSB, MSB) names, in MIDI beats (sixteenths, 6 clocks each)."""
    return (song_position[1] & 0x7F) | ((song_position[2] & 0x7F) << 7)


class ClockSender:
    """Sends MIDI clock for an :class:`InternalClock`: 0xF8 24 times a beat on its own thread, plus transport.

    Tick ``k`` is sent at ``clock.time_at(k / 24)``: no drift accumulates and a tempo change applies from the next
    tick. Transport is mirrored (start 0xFA, stop 0xFC, position SPP); ticks only while it runs. Continue is sent as
    a Song Position Pointer and 0xFB just before the first tick on a sixteenth (so the follower resumes where the
    clock is, not where it stopped), and :meth:`rejoin` does the same while running: a follower that connects late
    (which `cocomposer run` notices on JACK) learns the position and joins; followers already running ignore both,
    as MIDI asks."""

    def __init__(self, send: Callable[[Sequence[int]], object], clock: InternalClock) -> None:
        self._send, self._clock = send, clock
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self._closing = self._transport = False
        self._next_tick = self.ticks_sent = 0
        self._rejoin = False  # send SPP and Continue before the next tick on a sixteenth
        self.error: Exception | None = None

    def start(self) -> None:
        """Start the thread and restart the clock at beat 0, sending 0xFA."""
        if self._thread is not None:
            raise ConfigError("this ClockSender was already started; make a new one")
        self._clock.add_listener(self._on_clock)
        self._thread = threading.Thread(target=self._run, name="cocomposer-clock-out", daemon=True)
        self._thread.start()
        self._clock.start()

    def stop(self, stop_transport: bool = True, timeout: float = 2.0) -> None:
        """Stop the clock (sending 0xFC) unless told not to, and end the thread."""
        if stop_transport and self._clock.running:
            self._clock.stop()
        with self._cond:
            self._closing = True
            self._cond.notify_all()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)
        self._clock.remove_listener(self._on_clock)

    def rejoin(self) -> None:
        """Tell followers where the clock is (SPP, then Continue, before the next tick on a sixteenth) while it
        runs: for one that connected after Start. Safe from any thread; nothing while the transport is stopped (a
        follower hears Start when it starts)."""
        with self._cond:
            if self._transport:
                self._rejoin = True
                self._cond.notify_all()

    def _on_clock(self, event: str, beat: float) -> None:
        tick = 0 if event == "start" else math.ceil(beat * PPQN - BOUNDARY_EPSILON)
        with self._cond:
            if event == "start":
                self._next_tick, self._transport = tick, True
                self._send_or_stop((START,))
            elif event == "continue":  # from where it stopped: a tick already sent there is not sent again
                self._next_tick, self._transport, self._rejoin = max(tick, self._next_tick), True, True
            elif event == "stop":
                self._transport = False
                self._send_or_stop((STOP,))
            elif event == "position":
                sixteenths = max(0, min(0x3FFF, math.floor(beat * 4 + BOUNDARY_EPSILON)))
                self._next_tick = tick
                self._send_or_stop((SONG_POSITION, sixteenths & 0x7F, sixteenths >> 7))
            self._cond.notify_all()  # "tempo" too: the next tick's time has moved

    def _send_or_stop(self, message: tuple[int, ...]) -> bool:
        """Send; on the first failure (the port is gone: a dead JACK server) say so in one line and stop for good."""
        if self.error is not None:
            return False
        try:
            self._send(message)
            return True
        except BackendLostError as err:  # `cocomposer run` says so in a line of its own, and stops
            log.debug("MIDI clock output stops: %s", err)
            self.error = err
        except CocomposerError as err:
            log.error("MIDI clock output failed, clock out stops: %s", err)
            self.error = err
        except Exception as err:
            log.exception("MIDI clock output failed; clock out stops")
            self.error = err
        self._closing = True
        return False

    def _run(self) -> None:
        with self._cond:
            while not self._closing:
                if not self._transport:
                    self._clock.wait_until(self._cond, math.inf)
                    continue
                due = self._clock.time_at(self._next_tick / PPQN)
                if self._clock.now() < due:
                    self._clock.wait_until(self._cond, due)
                    continue
                if self._rejoin and self._next_tick % (PPQN // 4) == 0:
                    self._rejoin = False
                    sixteenths = min(0x3FFF, self._next_tick // (PPQN // 4))
                    if not self._send_or_stop((SONG_POSITION, sixteenths & 0x7F, sixteenths >> 7)):
                        return
                    if not self._send_or_stop((CONTINUE,)):
                        return
                if not self._send_or_stop((TIMING_CLOCK,)):
                    return
                self._next_tick += 1
                self.ticks_sent += 1
