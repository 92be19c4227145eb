"""The note the scheduler plays: pitch, velocity and channel, with its start and end in beats."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from cocomposer.errors import ConfigError


@dataclass(frozen=True)
class ScheduledNote:
    """One note to play, in beats on the scheduler's clock. Channel is 0..15. ``end_beat`` ``math.inf``: its end is
    not known yet (see the module's docstring)."""

    start_beat: float
    end_beat: float
    pitch: int
    velocity: int
    channel: int
    tag: str = "answer"

    def __post_init__(self) -> None:
        if not math.isfinite(self.start_beat) or math.isnan(self.end_beat) or self.end_beat == -math.inf:
            raise ConfigError(f"note beats must be finite (the end may be inf), got {self.start_beat}..{self.end_beat}")
        if self.end_beat < self.start_beat:
            raise ConfigError(f"a note must end at or after its start, got {self.start_beat}..{self.end_beat}")
        for name, value, low, high in (("pitch", self.pitch, 0, 127), ("velocity", self.velocity, 1, 127),
                                       ("channel", self.channel, 0, 15)):  # fmt: skip
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                raise ConfigError(f"note {name} must be an integer within {low}..{high}, got {value!r}")

    @property
    def key(self) -> tuple[int, int]:
        return self.channel, self.pitch

    @property
    def ended(self) -> bool:
        """Whether its end is known."""
        return self.end_beat != math.inf


@dataclass
class OpenNote:
    """A key the scheduler holds open: the note that opened it (None: a passed-through note), and since when."""

    note: ScheduledNote | None
    opened_at: float


def checked_notes(notes: Iterable[ScheduledNote]) -> list[ScheduledNote]:
    """``notes`` as a list; ConfigError for anything in it that is not a ScheduledNote."""
    batch = list(notes)
    for note in batch:
        if not isinstance(note, ScheduledNote):
            raise ConfigError(f"the scheduler takes ScheduledNote objects, got {note!r}")
    return batch
