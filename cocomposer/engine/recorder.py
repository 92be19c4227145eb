"""Session recording: the player's notes and cocomposer's, as two tracks of a MIDI file (`cocomposer run --record`).

The recorder subscribes to the engine's NoteIn and NoteOut events, so it sees exactly what was heard and what was
sent, with beats on the session's clock. Notes still held when the session ends are closed at its last beat.
"""

from __future__ import annotations

import threading
from pathlib import Path

from cocomposer.engine.events import NoteIn, NoteOut
from cocomposer.music.codec import Note
from cocomposer.music.midifile import write_tracks

PLAYER_TRACK = "player"
AI_TRACK = "cocomposer"


class Recorder:
    def __init__(self, engine) -> None:  # cocomposer.engine.core.Engine, untyped here to avoid an import cycle
        self._engine = engine
        self._lock = threading.Lock()
        self.player: list[Note] = []
        self.ai: list[Note] = []
        self._open: dict[tuple[str, int, int], tuple[float, int]] = {}
        self._last_beat = 0.0
        engine.subscribe(self._on_event, NoteIn, NoteOut)

    def _on_event(self, event: NoteIn | NoteOut) -> None:
        if isinstance(event, NoteIn):
            self._note(PLAYER_TRACK, 0, event.on, event.pitch, event.velocity, event.beat)
        else:
            self._note(AI_TRACK, event.channel, event.on, event.pitch, event.velocity, event.beat)

    def _note(self, track: str, channel: int, on: bool, pitch: int, velocity: int, beat: float) -> None:
        with self._lock:
            self._last_beat = max(self._last_beat, beat)
            key = (track, channel, pitch)
            started = self._open.pop(key, None)
            if started is not None:
                self._store(track, Note(started[0], max(beat, started[0]), pitch, started[1]))
            if on:
                self._open[key] = (beat, max(1, velocity))

    def _store(self, track: str, note: Note) -> None:
        (self.player if track == PLAYER_TRACK else self.ai).append(note)

    def save(self, path: Path | str) -> None:
        """Write both tracks (tempo: the clock's at the end of the session)."""
        self._engine.notifier.flush()
        with self._lock:
            for (track, _, pitch), (start, velocity) in self._open.items():
                self._store(track, Note(start, max(self._last_beat, start), pitch, velocity))
            self._open.clear()
            player, ai = sorted(self.player), sorted(self.ai)
        write_tracks(path, [(PLAYER_TRACK, player, 0), (AI_TRACK, ai, 1)], bpm=self._engine.status().bpm)
