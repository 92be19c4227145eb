"""What the world asks of the engine, as frozen dataclasses queued with ``engine.command(...)``.

Commands run on the engine thread in the order they were given; a bad one is reported as an
:class:`~cocomposer.engine.events.EngineError` event and the session goes on. :func:`parse` turns the text a player
types (``set temperature 0.9``, ``mode accompany``, ``panic``) into a command, checking the value at once.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Union

from cocomposer.engine.scheduler import ScheduledNote
from cocomposer.engine.settings import Settings
from cocomposer.errors import ConfigError


@dataclass(frozen=True)
class Set:
    """Move one setting (a value as typed, or already of the setting's type)."""

    name: str
    value: object


@dataclass(frozen=True)
class SetMode:
    mode: str


@dataclass(frozen=True)
class ApplySettings:
    """Replace every setting at once (a preset)."""

    settings: Settings


@dataclass(frozen=True)
class Update:
    """A new Settings computed on the engine thread from the ones it has then (MIDI learn: a control moved while
    the panel was computing is not lost)."""

    change: Callable[[Settings], Settings]


@dataclass(frozen=True)
class Panic:
    """Cancel every answer and close every note cocomposer opened."""


@dataclass(frozen=True)
class Trigger:
    """Answer now (on-demand mode), as the trigger CC does."""


@dataclass(frozen=True)
class Forget:
    """The player model starts afresh."""


@dataclass(frozen=True)
class PlayNotes:
    """Play these notes, ``(start, end, pitch, velocity)`` with times in beats from the next whole beat, on the
    answer channel (a take the panel offers). Scheduled like an answer: panic and stop close them, and a new
    PlayNotes replaces one still playing."""

    notes: tuple[tuple[float, float, int, int], ...]

    def at(self, beat: float, settings: Settings) -> list[ScheduledNote]:
        """The notes to schedule when the clock stands at ``beat``: from the next whole beat at least a quarter
        beat ahead (time to schedule), on the answer channel."""
        start, channel = int(beat + 1.25), settings.out_channel - 1
        return [ScheduledNote(start + a, start + b, p, v, channel, "take") for a, b, p, v in self.notes]


@dataclass(frozen=True)
class Sync:
    """``done`` is set once the engine thread, then the generator, have handled everything queued before this
    (a test, or a caller that must see the effect of its commands, waits on it)."""

    done: threading.Event = field(default_factory=threading.Event)

    def wait(self, timeout: float = 10.0) -> bool:
        return self.done.wait(timeout)


Command = Union[Set, SetMode, ApplySettings, Update, Panic, Trigger, Forget, PlayNotes, Sync]  # noqa: UP007
WORDS = "set NAME VALUE | mode NAME | panic | trigger | forget"


def parse(line: str, settings: Settings) -> Command:
    """The command a player typed, its value checked against ``settings`` (raises ConfigError with the usage)."""
    words = line.strip().split(maxsplit=2)
    if len(words) == 3 and words[0] == "set":
        settings.with_value(words[1], words[2])  # validates: the player hears of a bad value at once
        return Set(words[1], words[2])
    if len(words) == 2 and words[0] == "mode":
        settings.with_value("mode", words[1])
        return SetMode(words[1])
    simple = {"panic": Panic, "trigger": Trigger, "forget": Forget}
    if len(words) == 1 and words[0] in simple:
        return simple[words[0]]()
    raise ConfigError(f"unknown command {line.strip()!r}; commands: {WORDS}")
