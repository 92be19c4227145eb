"""What the engine tells the world, as frozen dataclasses: the panel, the recorder, the CLI and the bench subscribe
by type (``engine.subscribe(handler, NoteIn, NoteOut)``) and read typed fields, so a renamed field fails loudly.

Channels are counted 1..16, as players and the settings count them, everywhere in these events. Times are the
engine clock's seconds (``time.perf_counter`` unless a clock is injected); beats are the session clock's.
Events reach subscribers on the notifier's thread (see :mod:`cocomposer.engine.notifier`), never on a timing thread.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Union

if TYPE_CHECKING:
    from cocomposer.engine.scheduler import ScheduledNote
    from cocomposer.engine.settings import Settings
    from cocomposer.model.sampling import Controls


@dataclass(frozen=True)
class NoteIn:
    """A key the player pressed (``on``) or released, as the engine heard it."""

    on: bool
    pitch: int
    velocity: int  # 0 for a release
    channel: int  # 1..16
    time: float
    beat: float


@dataclass(frozen=True)
class NoteOut:
    """A note-on or note-off of a note cocomposer played (an answer's or an accompaniment's)."""

    on: bool
    pitch: int
    velocity: int
    channel: int  # 1..16
    tag: str  # "answer", "accompany" or "take" (a take the panel played on request)
    time: float
    beat: float


@dataclass(frozen=True)
class MessageOut:
    """Any other message cocomposer sent (the CCs of a panic, a passed-through controller)."""

    message: tuple[int, ...]
    time: float


@dataclass(frozen=True)
class Late:
    """A note-on that was due too long ago to be played; it was dropped and counted."""

    pitch: int
    time: float


@dataclass(frozen=True)
class ControlIn:
    """A control change from the player (after any binding or panic CC it triggered)."""

    number: int
    value: int
    channel: int  # 1..16
    time: float


@dataclass(frozen=True)
class StateChanged:
    state: str  # "listening", "waiting", "answering", "stopped"


@dataclass(frozen=True)
class SettingsChanged:
    name: str  # the setting that moved, or "*" for a whole new Settings
    settings: Settings


@dataclass(frozen=True)
class AnswerRequested:
    tag: str  # "answer" or "accompany"
    start_beat: float
    beats: float
    time: float  # when the engine asked for it
    controls: Controls | None = None  # what the answer is sampled under (key, range, bias, mood lean, mimic, ...)


@dataclass(frozen=True)
class TransportIn:
    """A MIDI clock or transport message (clock, start, continue, stop, song position) the clock follower read."""

    status: int
    time: float


@dataclass(frozen=True)
class NotesScheduled:
    """Notes the generator sampled and the engine handed to the scheduler, as the scheduler holds them (its
    ``ScheduledNote.channel`` counts 0..15, as MIDI status bytes do: the one exception to 1..16 here). An answer's
    note is handed over as soon as its note-on is sampled, with ``end_beat`` ``math.inf`` (``note.ended`` False),
    and again, ended, when its note-off is sampled."""

    notes: tuple[ScheduledNote, ...]
    request_id: int
    time: float


@dataclass(frozen=True)
class AnswerPlanned:
    """The generator finished sampling an answer (or stopped, ``cancelled``)."""

    request_id: int
    tag: str
    notes: int
    end_beat: float
    seconds: float  # sampling time
    cancelled: bool


@dataclass(frozen=True)
class AnswerCancelled:
    tag: str


@dataclass(frozen=True)
class DraftOnsets:
    """The generator drafted an answer (``request_id``: the draft's) that opens with these pitches at its very
    start: what the JACK helper's reflex can play the moment the phrase end is confirmed."""

    request_id: int
    pitches: tuple[int, ...]


@dataclass(frozen=True)
class FirstNote:
    """Latency: seconds from an answer's start of sampling to its first note handed to the scheduler."""

    request_id: int
    seconds: float


@dataclass(frozen=True)
class Panicked:
    time: float


@dataclass(frozen=True)
class EngineError:
    """Something failed and the session went on; ``where`` is the part ("engine", "generator", "scheduler", ...)."""

    where: str
    message: str


Event = Union[  # noqa: UP007 - a runtime alias; `X | Y` of forward references cannot be evaluated here
    NoteIn,
    NoteOut,
    MessageOut,
    Late,
    ControlIn,
    StateChanged,
    SettingsChanged,
    AnswerRequested,
    TransportIn,
    NotesScheduled,
    AnswerPlanned,
    AnswerCancelled,
    DraftOnsets,
    FirstNote,
    Panicked,
    EngineError,
]


def from_scheduler(
    kind: str, note: ScheduledNote | None, message: tuple[int, ...], t: float, beat: float
) -> Event | None:
    """The event for what the scheduler did (its hook's arguments): a scheduled note sent or dropped late, or
    another message sent; None for a passed-through note (the player's own, already a :class:`NoteIn`)."""
    if kind == "late" and note is not None:
        return Late(note.pitch, t)
    if kind in ("note_on", "note_off") and note is not None:
        on = kind == "note_on"
        return NoteOut(on, note.pitch, note.velocity if on else 0, note.channel + 1, note.tag, t, beat)
    if kind == "message":
        return MessageOut(tuple(message), t)
    return None
