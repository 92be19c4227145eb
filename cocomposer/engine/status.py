"""A snapshot of a running engine, for the panel, the CLI's ``status`` and the bench: read through
``engine.status()``, so nobody outside the engine reaches into its scheduler, generator or clock."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cocomposer.engine.settings import Settings
from cocomposer.music.keys import Key
from cocomposer.percentiles import median


@dataclass(frozen=True)
class EngineStatus:
    state: str  # "listening", "waiting", "answering", "stopped"
    settings: Settings
    bpm: float
    beat: float  # now, on the session clock
    time: float  # now, on the engine clock
    key: Key | None  # the key the player is in, as estimated from what was played
    held: tuple[int, ...]  # the pitches of the keys the player holds down now
    input_name: str  # "-" without an input
    output_name: str
    received: int  # MIDI messages received
    malformed: int  # pieces of what the input port received that were no MIDI message, dropped there
    notes_in: int  # player note-ons heard
    answers: int  # answers asked of the generator
    errors: int  # errors reported (the session went on)
    dropped: int  # player messages and model jobs dropped because a queue was full
    late_dropped: int  # note-ons due too long ago to be played
    output_offset: float  # seconds every note is sent ahead of (negative) or after its beat
    first_note_seconds: tuple[float, ...]  # recent: sampling start to an answer's first note
    reaction_seconds: tuple[float, ...]  # recent: phrase end to the answer's first note-on sent (as the bench measures)
    lateness_seconds: tuple[float, ...]  # recent: each note-on sent minus when it was due
    step_seconds: tuple[float, ...]  # recent: one model step
    scheduler_error: str | None  # why the scheduler stopped, if it did

    @classmethod
    def of(cls, engine: Any) -> EngineStatus:  # an Engine; not imported, as the engine imports this module
        now = engine.now()
        error = engine.scheduler.error
        return cls(
            state=engine.state,
            settings=engine.settings,
            bpm=engine.clock.bpm,
            beat=engine.clock.beat_at(now),
            time=now,
            key=engine.auto_key(),
            held=tuple(sorted({pitch for _, pitch in engine.held_keys()})),
            input_name=engine.midi_in.name if engine.midi_in is not None else "-",
            output_name=engine.midi_out.name,
            received=engine.stats.received,
            malformed=engine.midi_in.malformed if engine.midi_in is not None else 0,
            notes_in=engine.stats.notes_in,
            answers=engine.stats.answers,
            errors=engine.stats.errors,
            dropped=engine.stats.dropped_inbound + engine.generator.dropped_jobs,
            late_dropped=engine.scheduler.late_dropped,
            output_offset=engine.scheduler.output_offset,
            first_note_seconds=tuple(engine.stats.first_note_seconds.copy()),
            reaction_seconds=tuple(engine.stats.reaction_seconds.copy()),
            lateness_seconds=tuple(engine.scheduler.lateness.copy()),
            step_seconds=tuple(engine.generator.step_seconds.copy()),
            scheduler_error=None if error is None else f"{type(error).__name__}: {error}",
        )

    def first_note_median_ms(self) -> float | None:
        """Phrase end to the first note-on sent (as the bench measures), median; else sampling start to first note."""
        seconds = self.reaction_seconds or self.first_note_seconds
        return 1000 * median(seconds) if seconds else None

    def line(self) -> str:
        """One line for a terminal: what ``status`` prints."""
        s = self.settings
        first = self.first_note_median_ms()
        latency = f"{first:.1f} ms" if first is not None else "n/a"
        return (
            f"state {self.state}, mode {s.mode}, style {s.style}, temperature {s.temperature}, {self.bpm:.1f} BPM, "
            f"notes in {self.notes_in}, answers {self.answers}, first answer note median {latency}, "
            f"dropped {self.dropped}, late notes {self.late_dropped}, malformed MIDI {self.malformed}"
        )
