"""What the panel, the CLI and the bench read from the engine, from any thread: its state, a status snapshot, the
keys held and notes sounding, the notes waiting to play, and its clock (a mixin of
:class:`~cocomposer.engine.core.Engine`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cocomposer.engine.notes import ScheduledNote
from cocomposer.engine.status import EngineStatus

if TYPE_CHECKING:
    from cocomposer.engine.held import HeldKeys
    from cocomposer.engine.scheduler import Scheduler
    from cocomposer.timing.clock import Clock


class EngineQueries:
    _state: str
    _held: HeldKeys
    scheduler: Scheduler
    clock: Clock

    @property
    def state(self) -> str:
        return self._state

    def status(self) -> EngineStatus:
        """A snapshot of the engine, safe from any thread (see :class:`~cocomposer.engine.status.EngineStatus`)."""
        return EngineStatus.of(self)

    def held_keys(self) -> set[tuple[int, int]]:
        """(channel 1..16, pitch) of every key the player holds down now."""
        return set(self._held)

    def sounding(self) -> set[tuple[int, int]]:
        """(channel 1..16, pitch) of every note cocomposer holds open now (passed-through notes too)."""
        return {(channel + 1, pitch) for channel, pitch in self.scheduler.open_notes()}

    def scheduled(self, tag: str | None = None) -> list[ScheduledNote]:
        """The notes waiting to be played or to end (of ``tag``, or all), for the piano roll."""
        return self.scheduler.pending(tag)

    def beat_at(self, t: float) -> float:
        """The session clock's beat at engine time ``t``."""
        return self.clock.beat_at(t)

    def time_at(self, beat: float) -> float:
        """The engine time of ``beat`` on the session clock."""
        return self.clock.time_at(beat)
