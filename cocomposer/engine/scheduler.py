"""The note scheduler: a heap of note events kept in beats, sent at their time by one thread.

Events stay in beats until they are due: each wake-up resolves the head of the heap through ``clock.time_at``, so a
tempo change moves every note still to come. The thread waits on a condition (through the clock, so a
:class:`~cocomposer.timing.clock.FakeClock` drives it in tests) until the next due event, and is woken early by new
events and by clock events. :meth:`Scheduler.run_due` does one pass synchronously; the thread calls it in its loop.

The scheduler owns every note it opens: a note-on for a sounding (channel, pitch) first closes it, a note-off is sent
only by the note that holds the key, and :meth:`Scheduler.panic` closes everything it opened.

A note may be scheduled before its end is known (``end_beat`` = ``math.inf``: the generator hands each note-on over
as soon as it is sampled). The same note scheduled again with its end (same tag, channel, pitch and start) completes
it: its note-off is scheduled then, unless it was dropped or closed meanwhile. A note still without an end is closed
when its tag is cancelled or replaced, by the watchdog, and by panic; its end, when it comes after that, plays nothing.

Notes another part already sounded (the JACK helper's reflex) are adopted: see :mod:`cocomposer.engine.adopted`.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import math
import threading
from collections import deque
from collections.abc import Callable, Iterable, Sequence

from cocomposer.engine.adopted import ADOPTED_SECONDS, AdoptedNotes
from cocomposer.engine.notes import OpenNote, ScheduledNote, checked_notes
from cocomposer.errors import ConfigError
from cocomposer.midi.port_base import MidiSink
from cocomposer.midi_bytes import ALL_NOTES_OFF, CONTROL_CHANGE, NOTE_OFF, NOTE_ON, SUSTAIN, well_formed
from cocomposer.timing.clock import Clock

log = logging.getLogger(__name__)

_ON, _OFF = "on", "off"

Hook = Callable[[str, "ScheduledNote | None", tuple[int, ...], float], None]


# heap entry: (beat, phase, seq, kind, note); at one beat note-offs (phase 0) go before note-ons (phase 1), except a
# zero-length note's own off (phase 2), which follows its on
_Entry = tuple[float, int, int, str, ScheduledNote]


class Scheduler(AdoptedNotes):
    """Sends scheduled notes to ``out`` at ``clock.time_at(beat) + output_offset`` seconds.

    ``output_offset`` is added to every send time: a negative value sends early to make up for latency downstream.
    A note-on found due more than ``late_tolerance`` seconds ago is dropped and counted in ``late_dropped``
    (note-offs are always sent). A scheduled note open longer than ``max_note_seconds`` is closed (watchdog).
    ``hooks(kind, note, message, t)`` is called after each send, outside the lock, with kind "note_on", "note_off",
    "message" (a control or pass-through message) or "late" (a dropped note-on, not sent); its errors are logged and
    counted in ``hook_errors``, never raised. A send the output refuses is counted in ``send_errors`` and the first
    such error kept in ``error``; it is never raised on the thread that happened to send it.

    Nothing is sent under the lock that guards the heap and the open notes (which the engine and generator threads
    wait on to schedule, cancel or panic): what to send is decided under it and queued on an outbox in that order;
    after letting go, a thread that queued something drains the outbox (all of it, whoever queued it) under a second
    lock that only senders take, so messages leave, and their hooks fire, in the order they were decided (a note-off
    never overtakes its note-on).

    A timed output (:class:`~cocomposer.midi.port_base.TimedMidiSink`) gets each event ``lead_seconds`` early with
    its due time, and a message decided now (a cancel, panic, thru) the time now; no time comes before one handed
    earlier (``_floor``), so the output, which sends in time order, keeps the order decided here.
    """

    def __init__(
        self,
        out: MidiSink,
        clock: Clock,
        output_offset: float = 0.0,
        max_note_seconds: float = 8.0,
        hooks: Hook | None = None,
        *,
        late_tolerance: float = 0.02,
        max_wait: float = 0.05,
        lateness_size: int = 1000,
    ) -> None:
        if not callable(getattr(out, "send", None)):
            raise ConfigError(f"out must have a send(message) method, got {out!r}")
        if not math.isfinite(output_offset) or abs(output_offset) > 1.0:
            raise ConfigError(f"output offset must be within -1..1 seconds, got {output_offset!r}")
        if not max_note_seconds > 0 or not late_tolerance >= 0 or not max_wait > 0:
            raise ConfigError(
                "max_note_seconds and max_wait must be > 0 and late_tolerance >= 0, got "
                f"{max_note_seconds!r}, {max_wait!r}, {late_tolerance!r}"
            )
        self._out, self._clock, self._hooks = out, clock, hooks
        self.output_offset, self.max_note_seconds, self.late_tolerance = output_offset, max_note_seconds, late_tolerance
        self._max_wait = max_wait
        self._timed = bool(getattr(out, "timed", False)) and callable(getattr(out, "send_at", None))
        self.ahead = float(getattr(out, "lead_seconds", 0.0)) if self._timed else 0.0  # events leave this early
        self._floor = -math.inf  # the latest time handed to a timed output
        self._cond = threading.Condition()
        self._outbox: deque[tuple] = deque()  # (kind, note, message, t): decided under _cond, sent under _sending
        self._sending = threading.Lock()
        self._heap: list[_Entry] = []
        self._seq = itertools.count()
        self._open: dict[tuple[int, int], OpenNote] = {}
        self._unended: dict[tuple[str, int, int], ScheduledNote] = {}  # (tag, channel, pitch): end not known yet
        self._dropped: dict[tuple[str, int, int], ScheduledNote] = {}  # the same, cancelled: their end plays nothing
        self._adopted: dict[tuple[int, int], tuple[ScheduledNote, float]] = {}  # key -> (note, when it sounded)
        self._channels: set[int] = set()
        self._thread: threading.Thread | None = None
        self._stopping = False
        self.sent = self.late_dropped = self.watchdog_closed = self.hook_errors = 0
        self.send_errors = 0  # messages the output refused (the first error is kept in ``error``)
        self.lateness: deque[float] = deque(maxlen=lateness_size)  # actual - due seconds of sent note-ons
        self.error: Exception | None = None

    # -- the thread --------------------------------------------------------------------------------------------
    def start(self) -> None:
        if self._thread is not None:
            raise ConfigError("this Scheduler was already started; make a new one")
        self._clock.add_listener(self._on_clock_event)
        self._thread = threading.Thread(target=self._run, name="cocomposer-scheduler", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 2.0) -> None:
        """End the thread, then panic: every note this scheduler opened is closed. Safe to call twice."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)
            if self._thread.is_alive():
                log.warning("scheduler thread did not end within %s s", timeout)
        self._clock.remove_listener(self._on_clock_event)
        self.panic()

    def __enter__(self) -> Scheduler:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _on_clock_event(self, event: str, beat: float) -> None:
        with self._cond:
            self._cond.notify_all()  # tempo or position changed: re-resolve the head of the heap

    def _run(self) -> None:
        while True:
            with self._cond:
                if self._stopping:
                    return
                try:
                    now = self._clock.now()
                    calls = self._process_due(now)
                    if not calls:
                        self._clock.wait_until(self._cond, min(self._next_due(self.ahead), now + self._max_wait))
                except Exception as err:
                    log.exception("the scheduler failed; it stops (notes it opened stay tracked)")
                    self.error = err
                    return
            if calls:
                self._flush()

    # -- commands ----------------------------------------------------------------------------------------------
    def schedule(self, notes: Iterable[ScheduledNote]) -> list[ScheduledNote]:
        """Schedule ``notes``; one with its end that completes a note scheduled without one (see the module's
        docstring) only schedules that end. Returns the notes that were new (not completions)."""
        batch = checked_notes(notes)
        new = []
        with self._cond:
            for note in batch:
                if self._claim(note):
                    continue
                if not self._complete(note):
                    self._push(note)
                    new.append(note)
            self._cond.notify_all()
        return new

    def replace(self, tag: str, notes: Iterable[ScheduledNote], *, close_sounding: bool = False) -> None:
        """Swap the pending future of ``tag`` for ``notes`` (all of that tag), atomically.

        Pending note-ons of the tag are dropped; its sounding notes keep their scheduled note-offs, or are closed now
        with ``close_sounding``. Other tags are untouched.
        """
        batch = checked_notes(notes)
        wrong = [n for n in batch if n.tag != tag]
        if wrong:
            raise ConfigError(f"replace({tag!r}) got notes tagged {wrong[0].tag!r}; tag the new notes {tag!r}")
        calls: list[tuple[str, ScheduledNote | None, tuple[int, ...], float]] = []
        with self._cond:
            self._drop_pending(tag, keep_sounding_offs=not close_sounding)

            def closes(o: OpenNote) -> bool:  # a sounding note without an end has no note-off to keep
                return o.note is not None and o.note.tag == tag and (close_sounding or not o.note.ended)

            self._close_where(closes, self._clock.now(), calls)
            for key in [k for k in self._unended if k[0] == tag]:
                self._dropped[key] = self._unended.pop(key)
            for note in batch:
                self._push(note)
            self._cond.notify_all()
        self._flush()

    def cancel(self, tag: str) -> None:
        """Drop every pending event of ``tag`` and send note-offs now for its sounding notes (and adopted ones)."""
        self.replace(tag, [], close_sounding=True)
        self.release_adopted()

    def panic(self) -> None:
        """Drop everything pending, close every note this scheduler opened, then CC 123 and CC 64 = 0 on every
        channel it has used."""
        calls: list[tuple[str, ScheduledNote | None, tuple[int, ...], float]] = []
        with self._cond:
            now = self._clock.now()
            self._heap.clear()
            self._dropped.update(self._unended)
            self._unended.clear()
            self._close_where(lambda o: True, now, calls)
            self._close_adopted(lambda _t: True, now, calls)
            for channel in sorted(self._channels):
                self._send((CONTROL_CHANGE | channel, ALL_NOTES_OFF, 0), "message", None, now, calls)
                self._send((CONTROL_CHANGE | channel, SUSTAIN, 0), "message", None, now, calls)
            self._cond.notify_all()
        self._flush()

    def send_now(self, message: Sequence[int]) -> bool:
        """Send a pass-through message now; note-ons and note-offs are tracked so panic covers them.

        A note-on for a sounding key closes it first; a note-off is sent only if a pass-through note-on opened the
        key (it is not sent for a key a scheduled note holds, or that nobody opened). Returns whether it was handed to
        the output (a send the output refuses is counted in ``send_errors``).
        """
        msg = tuple(message)
        if not all(isinstance(b, int) for b in msg) or not well_formed(msg):
            raise ConfigError(f"a MIDI message is a status byte then data bytes (0..255), got {message!r}")
        calls: list[tuple[str, ScheduledNote | None, tuple[int, ...], float]] = []
        kind, channel = msg[0] & 0xF0, msg[0] & 0x0F
        with self._cond:
            now = self._clock.now()
            if kind in (NOTE_ON, NOTE_OFF) and len(msg) >= 3:
                key = (channel, msg[1])
                current = self._open.get(key)
                if kind == NOTE_ON and msg[2] > 0:
                    self._close_key(key, current, now, calls)
                    self._send(msg, "note_on", None, now, calls)
                    self._open[key] = OpenNote(None, now)
                elif current is not None and current.note is None:
                    self._send(msg, "note_off", None, now, calls)
                    del self._open[key]
                else:
                    return False
            else:
                self._send(msg, "message", None, now, calls)
        self._flush()
        return True

    def run_due(self, now: float | None = None) -> int:
        """Send everything due at ``now`` (default: the clock's now) and run the watchdog. Returns messages sent."""
        with self._cond:
            sent_before = self.sent
            self._process_due(self._clock.now() if now is None else now)
            sent = self.sent - sent_before
        self._flush()
        return sent

    # -- queries -----------------------------------------------------------------------------------------------
    def next_due(self) -> float:
        """The time the next event or watchdog deadline is due (``math.inf`` if none)."""
        with self._cond:
            return self._next_due()

    def open_notes(self) -> set[tuple[int, int]]:
        """The (channel, pitch) keys sounding now."""
        with self._cond:
            return set(self._open) | set(self._adopted)

    def pending(self, tag: str | None = None) -> list[ScheduledNote]:
        """Scheduled notes not yet started (of ``tag``, or all), by start beat (a note whose end is not known yet
        has ``end_beat`` inf)."""
        with self._cond:
            entries = sorted(e for e in self._heap if e[3] == _ON and (tag is None or e[4].tag == tag))
        return [e[4] for e in entries]

    # -- inside the lock ---------------------------------------------------------------------------------------
    def _push(self, note: ScheduledNote) -> None:
        heapq.heappush(self._heap, (note.start_beat, 1, next(self._seq), _ON, note))
        if note.ended:
            self._push_off(note)
        else:
            self._unended[(note.tag, *note.key)] = note
            self._dropped.pop((note.tag, *note.key), None)

    def _push_off(self, note: ScheduledNote) -> None:
        phase = 0 if note.end_beat > note.start_beat else 2
        heapq.heappush(self._heap, (note.end_beat, phase, next(self._seq), _OFF, note))

    def _complete(self, note: ScheduledNote) -> bool:
        """If ``note`` gives the end of a note scheduled without one, schedule that end (where the note is still
        pending or sounding) and return True."""
        key = (note.tag, *note.key)
        dropped = self._dropped.get(key)
        if note.ended and dropped is not None and abs(dropped.start_beat - note.start_beat) <= 1e-9:
            del self._dropped[key]
            return True  # the note was closed or dropped before its end came: nothing to play
        started = self._unended.get(key)
        if started is None or not note.ended or abs(started.start_beat - note.start_beat) > 1e-9:
            return False
        del self._unended[key]
        found = False
        for i, entry in enumerate(self._heap):
            if entry[3] == _ON and entry[4] is started:
                self._heap[i] = (*entry[:4], note)  # same beat and order: the heap stays a heap
                found = True
                break
        current = self._open.get(note.key)
        if current is not None and current.note is started:
            current.note = note
            found = True
        if found:
            self._push_off(note)
        return True

    def _due(self, beat: float) -> float:
        return self._clock.time_at(beat) + self.output_offset

    def _next_due(self, ahead: float = 0.0) -> float:  # the heap's head, `ahead` early, or the watchdog, if sooner
        due = self._due(self._heap[0][0]) - ahead if self._heap else math.inf
        opened = [o.opened_at for o in self._open.values() if o.note is not None]
        if self._adopted:
            due = min(due, min(t for _, t in self._adopted.values()) + ADOPTED_SECONDS)
        return min(due, min(opened) + self.max_note_seconds) if opened else due

    def _process_due(self, now: float) -> list[tuple[str, ScheduledNote | None, tuple[int, ...], float]]:
        calls: list[tuple[str, ScheduledNote | None, tuple[int, ...], float]] = []
        while self._heap:
            due = self._due(self._heap[0][0])
            if due > now + self.ahead:
                break
            _, _, _, kind, note = heapq.heappop(self._heap)
            if kind == _ON:
                self._note_on(note, due, now, calls)
            else:
                current = self._open.get(note.key)
                if current is not None and current.note is note:
                    self._note_off_now(note.key, current, max(due, now) if self._timed else now, calls)
        self._close_where(
            lambda o: o.note is not None and now - o.opened_at >= self.max_note_seconds, now, calls, watchdog=True
        )
        if self._adopted:
            self._close_adopted(lambda t: now - t >= ADOPTED_SECONDS, now, calls)
        return calls

    def _note_on(self, note: ScheduledNote, due: float, now: float, calls: list) -> None:
        message = (NOTE_ON | note.channel, note.pitch, note.velocity)
        if now - due > self.late_tolerance:
            self._forget_unended(note)
            self.late_dropped += 1
            call = ("late", note, message, now)
            calls.append(call)
            self._outbox.append(call)  # not sent; its hook fires in order with the sends around it
            return
        at = max(due, now) if self._timed else now
        if (current := self._open.get(note.key)) is not None or self._adopted:
            self._close_key(note.key, current, at, calls)
        at = self._send(message, "note_on", note, at, calls)
        self._open[note.key] = OpenNote(note, at)
        self.lateness.append(at - due)

    def _note_off_now(self, key: tuple[int, int], current: OpenNote, at: float, calls: list) -> None:
        self._send((NOTE_OFF | key[0], key[1], 0), "note_off", current.note, at, calls)
        del self._open[key]
        if current.note is not None:
            self._forget_unended(current.note)

    def _forget_unended(self, note: ScheduledNote) -> None:
        """A note without an end that will not sound (on): its end, when it comes, schedules nothing."""
        if not note.ended and self._unended.get((note.tag, *note.key)) is note:
            self._dropped[(note.tag, *note.key)] = self._unended.pop((note.tag, *note.key))

    def _close_where(
        self, predicate: Callable[[OpenNote], bool], now: float, calls: list, *, watchdog: bool = False
    ) -> None:
        for key, current in list(self._open.items()):
            if predicate(current):
                self._note_off_now(key, current, now, calls)
                self.watchdog_closed += watchdog

    def _drop_pending(self, tag: str, keep_sounding_offs: bool) -> None:
        def keep(entry: _Entry) -> bool:
            note = entry[4]
            if note.tag != tag:
                return True
            current = self._open.get(note.key)
            return keep_sounding_offs and entry[3] == _OFF and current is not None and current.note is note

        for entry in self._heap:
            if not keep(entry) and entry[3] == _ON:
                self._forget_unended(entry[4])
        self._heap = [e for e in self._heap if keep(e)]
        heapq.heapify(self._heap)

    def _send(self, message: tuple[int, ...], kind: str, note: ScheduledNote | None, at: float, calls: list) -> float:
        """Decide to send ``message`` at ``at`` (under ``_cond``): it joins the outbox, which :meth:`_flush` sends.
        Returns the time it was given (for a timed output, never before the last one handed)."""
        if self._timed:
            at = self._floor = max(at, self._floor)
        call = (kind, note, message, at)
        self._outbox.append(call)
        self.sent += 1
        if message[0] < 0xF0:
            self._channels.add(message[0] & 0x0F)
        calls.append(call)
        return at

    def _flush(self) -> None:
        """Send the outbox in order, outside ``_cond``, and fire each message's hook right after it, so hooks see
        what went out in the order it went out. Whoever holds ``_sending`` drains it all: a message queued by another
        thread meanwhile leaves after the ones decided before it. A send that fails is logged (the first one) and
        kept in ``error`` for whoever watches the output (the engine reports it, the panel reopens the ports); the
        other messages are still tried, and no thread is handed an error of another thread's message."""
        with self._sending:
            while True:
                try:
                    kind, note, message, t = self._outbox.popleft()
                except IndexError:
                    return
                if kind == "adopted":
                    kind = "note_on"  # sounded by another part: its hooks hear of it as sent at its time
                elif kind != "late":
                    try:
                        if self._timed:
                            self._out.send_at(message, t)  # type: ignore[attr-defined]
                        else:
                            self._out.send(message)
                    except Exception as err:
                        self.send_errors += 1
                        if self.error is None:
                            log.exception("the output refused %s; the scheduler goes on", message)
                            self.error = err
                if self._hooks is not None:
                    try:
                        self._hooks(kind, note, message, t)
                    except Exception:
                        self.hook_errors += 1
                        log.exception("scheduler hook failed on %s %s", kind, message)
