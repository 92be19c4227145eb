"""The engine's side of the reflex: the first notes of a drafted answer, played by the JACK helper the moment the
end-of-phrase control arrives (see :mod:`cocomposer.midi.jack_frames`).

The engine's threads take milliseconds from a control's arrival to a note handed to the output (a wake-up per
thread, each waiting for the interpreter lock), and the note then waits for the next JACK period: two periods and
more in all. The helper reads the control in its process callback and can write to the output in the same one. So
when a draft opens with a note at its very start (:class:`~cocomposer.engine.events.DraftOnsets`), the engine arms
the output with those note-ons, the control number, the player's channel and a deadline (the draft's tick: the
answer takes a draft over only on the tick it was drafted for). A note-on from the player disarms the helper in
its callback; a new draft, a change of settings, or the draft no longer taken over disarm it from here.

When it fires, the input hands the engine the news before the control itself (``on_fired``, on its reader thread,
which only notes it: the engine's sink queues it with the control that follows from that thread). On the engine
thread the notes are adopted by the scheduler as sounding (:meth:`~cocomposer.engine.adopted.AdoptedNotes.adopt`)
before the control is handled; the answer it asks for starts when they sounded, takes the draft over, and its first
notes claim the adopted ones (no second note-on; their note-offs come as sampled). If the control asks for nothing,
or the draft is not taken over, the adopted notes are closed at once; any left unclaimed close after
``ADOPTED_SECONDS``. The engine disarms the helper before it hands the generator any answer, when the player plays
a note, and when it stops; the helper itself closes, when it ends, any note its reflex struck that no note-off
closed.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

from cocomposer.engine.notes import ScheduledNote
from cocomposer.errors import CocomposerError
from cocomposer.midi_bytes import NOTE_ON
from cocomposer.model.shape import swing
from cocomposer.music import codec

if TYPE_CHECKING:
    from cocomposer.engine.scheduler import Scheduler
    from cocomposer.engine.settings import Settings
    from cocomposer.model.continuation import Continuer
    from cocomposer.timing.clock import Clock

log = logging.getLogger(__name__)

MARGIN_SECONDS = 0.0005  # the deadline stays this far inside the draft's tick
REFLEX_MODES = ("call-response", "continue")  # the modes whose end-of-phrase control asks for a drafted answer


def opening(sampler: Continuer, swing_share: float) -> tuple[int, ...]:
    """The pitches a draft (its ``sampler``, paused) sounds at its very start; none if it opens with a rest (or
    swing moves its first note off the start)."""
    pitches = [p for p, tick in sampler.own.items() if tick == sampler.start_tick]
    pitches += [n.pitch for n in sampler.notes if codec.beats_to_ticks(n.start) == sampler.start_tick]
    ticks = [*sampler.own.values(), *(codec.beats_to_ticks(n.start) for n in sampler.notes)]
    if not pitches or min(ticks) < sampler.start_tick:
        return ()
    start = sampler.start_tick / codec.TICKS_PER_BEAT
    if abs(swing([codec.Note(start, start, pitches[0], 1)], swing_share)[0].start - start) > 1e-9:
        return ()
    return tuple(sorted(set(pitches)))


@dataclass(frozen=True)
class Armed:
    ident: int  # the draft's request id
    pitches: tuple[int, ...]
    channel: int  # 0..15, the output's
    velocity: int


@dataclass(frozen=True)
class Fired:
    ident: int
    t: float  # when the notes sounded (perf_counter seconds)
    armed: Armed | None  # what was armed as ``ident`` (None: not known here)


class Reflex:
    """Arms and disarms the output's reflex from the engine thread; hears it fire on the input's reader thread. Inert
    (``enabled`` False) unless the ports are a JACK pair (:func:`cocomposer.midi.ports.open_jack_pair`)."""

    def __init__(self, midi_in: object, out: object, scheduler: Scheduler, clock: Clock) -> None:
        self.enabled = bool(getattr(out, "reflex", False)) and hasattr(midi_in, "on_fired")
        self.out = out
        self.scheduler = scheduler
        self.clock = clock
        self.period = float(getattr(out, "period_seconds", 0.0))  # the notes sound a period after the control
        self.armed: Armed | None = None
        self._recent: dict[int, Armed] = {}  # what was armed lately, by id: a fire may come after a disarm
        self._lock = threading.Lock()
        self._pending: tuple[int, Fired] | None = None  # (reader thread, news) until the control after it is queued
        self.fired = 0

    @property
    def claimed(self) -> int:
        """Adopted notes an answer's first notes claimed."""
        return self.scheduler.claimed

    # -- the engine thread -------------------------------------------------------------------------------------
    def arm(self, ident: int, pitches: tuple[int, ...], start_beat: float, settings: Settings, velocity: int) -> None:
        """Arm for the draft ``ident`` (starting at ``start_beat``: the one the engine would take over now), if a
        control can end the phrase at once."""
        if (
            not self.enabled
            or settings.mode not in REFLEX_MODES
            or settings.quantize != "off"
            or settings.phrase_end_cc is None
        ):
            return
        channel = settings.out_channel - 1
        if {(channel, p) for p in pitches} & self.scheduler.open_notes():
            return  # a key still sounding: the scheduler plays it through the usual path
        tick = codec.beats_to_ticks(start_beat)
        tick_end = self.clock.time_at((tick + 0.5) / codec.TICKS_PER_BEAT)
        deadline = tick_end - self.period - MARGIN_SECONDS  # the control's time: its notes sound a period later
        armed = Armed(ident, pitches, channel, velocity)
        with self._lock:
            self._recent[ident] = armed
            while len(self._recent) > 8:
                del self._recent[min(self._recent)]
            self.armed = armed  # before the helper can fire it
        messages = [(NOTE_ON | channel, p, velocity) for p in pitches]
        in_channel = settings.in_channel - 1 if settings.in_channel else None
        try:
            self.out.arm(ident, settings.phrase_end_cc, in_channel, deadline, messages)  # type: ignore[attr-defined]
        except CocomposerError as err:
            log.debug("could not arm the reflex: %s", err)

    def check(self, current: int | None) -> None:
        """Disarm unless the armed draft is ``current``, the one a phrase end would take over now (None: none)."""
        if self.armed is not None and self.armed.ident != current:
            self.disarm()

    def disarm(self) -> None:
        if not self.enabled:
            return
        with self._lock:
            self.armed = None
        try:
            self.out.disarm()  # type: ignore[attr-defined]
        except CocomposerError as err:
            log.debug("could not disarm the reflex: %s", err)

    def disarm_if_armed(self) -> None:
        """Disarm (before the generator gets an answer, when the player plays a note, when the engine stops): the
        helper disarms itself on a note-on, but one that reached it before the arm did not."""
        if self.armed is not None:
            self.disarm()

    def adopt(self, fired: Fired | None) -> None:
        """The notes ``fired`` played sound: the scheduler holds them until the answer claims them, or closes them."""
        armed = fired.armed if fired is not None else None
        if fired is None or armed is None:
            return
        beat = self.clock.beat_at(fired.t)
        notes = [ScheduledNote(beat, beat, p, armed.velocity, armed.channel, "answer") for p in armed.pitches]
        self.scheduler.adopt(notes, fired.t)

    def settle(self, fired: Fired | None, taken_draft: int | None) -> None:
        """After the control that fired (``fired``) was handled: the answer took over draft ``taken_draft`` (its
        first notes claim the adopted ones), or nothing took them and they close now."""
        if fired is not None and taken_draft != fired.ident:
            self.scheduler.release_adopted()

    # -- the input's reader thread ---------------------------------------------------------------------------------
    def on_fired(self, ident: int, t: float) -> None:
        """The helper played the notes armed as ``ident`` at ``t`` (they sound, whatever the engine thinks of it);
        the control that fired them is the next message this thread hands on (see :meth:`take`)."""
        with self._lock:
            armed = self._recent.get(ident)
            if self.armed is not None and self.armed.ident == ident:
                self.armed = None
            self.fired += 1
            self._pending = (threading.get_ident(), Fired(ident, t, armed))

    def take(self, message: tuple[int, ...]) -> Fired | None:
        """On a reader thread handing ``message`` on: the reflex it fired, if it is a control and this thread just
        heard of one."""
        pending = self._pending
        if pending is None or pending[0] != threading.get_ident() or not message or message[0] & 0xF0 != 0xB0:
            return None
        self._pending = None
        return pending[1]

    def lost(self, fired: Fired | None) -> None:
        """The control that fired it was dropped (the engine's queue was full): its notes close at once."""
        if fired is None:
            return
        self.adopt(fired)
        self.scheduler.release_adopted()
