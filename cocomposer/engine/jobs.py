"""The jobs the engine hands the generator worker (:mod:`cocomposer.engine.worker`), one queue, in order."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from cocomposer.model.sampling import Controls
from cocomposer.music import codec
from cocomposer.music.keys import Key


@dataclass(frozen=True)
class Listen:
    """A player's note message (kind 'on' or 'off') at a beat of the session clock."""

    kind: str
    pitch: int
    beat: float


@dataclass(frozen=True)
class ForgetPlayer:
    """The player model forgets what it learned (the `forget` command, a new session)."""


@dataclass(frozen=True)
class SetMeter:
    """The music's meter from now on; bar lines fall on multiples of a bar from beat 0 (as every clock counts)."""

    meter: codec.Meter


@dataclass(frozen=True)
class Relocate:
    """The session clock jumped from beat ``old`` to ``new`` (a DAW's Start or Song Position Pointer). The model's
    own timeline never goes back: from now on it hears session beats moved by whole bars (so bar lines stay bar
    lines), placed where the old timeline stopped, so what the player plays next is not heard squashed into one
    tick (a jump back) nor after hundreds of bars of silence (a jump on)."""

    old: float
    new: float


@dataclass(frozen=True)
class Answer:
    request_id: int
    start_beat: float
    beats: float
    tag: str
    channel: int  # 1..16, as the player counts them
    controls: Controls
    velocity: int | Callable[[float], int]
    style: str
    mood: str
    replace: bool = True
    cadence: float = 0.0  # strength of the close in the answer's last bar (needs ``key``)
    key: Key | None = None  # the key the player is in, as the engine estimates it
    swing: float = 0.0  # the call's share of late off-beat eighths: a swung call gets a swung answer
    syncopation: float = 0.0  # the call's share of onsets on the sixteenth e and a (see Groove)
    draft: int = 0  # the Draft this answer takes over, if the generator still holds it at this start (0: none)


@dataclass(frozen=True)
class Draft:
    """The answer the engine would ask for if the phrase ended now, numbered by ``answer.request_id``. The worker
    samples its start ahead (up to its first finished note) and keeps it, unheard by anyone, until an :class:`Answer`
    whose ``draft`` is that number takes it over; any other job discards it first (see :class:`Generator`)."""

    answer: Answer
