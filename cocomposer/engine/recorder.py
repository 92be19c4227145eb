"""Session recording: the player's notes and cocomposer's, as tracks of a MIDI file (`cocomposer run --record`).

The recorder subscribes to the engine's NoteIn and NoteOut events, so it sees exactly what was heard and what was
sent, with beats on the session's clock, and each note on the channel it was played or sent on (one track per side
and channel). Notes still held when the session ends are closed at its last beat. It also hears every setting
change (SettingsChanged), which goes into the file's provenance with its beat, beside the model, the seed and the
settings the session started with (see :mod:`cocomposer.music.provenance`).
"""

from __future__ import annotations

import dataclasses
import datetime
import threading
from pathlib import Path

from cocomposer.engine.events import NoteIn, NoteOut, SettingsChanged
from cocomposer.model.facts import base_record
from cocomposer.music import provenance
from cocomposer.music.codec import COMMON_TIME, Note

PLAYER_TRACK = "player"
AI_TRACK = "cocomposer"


def _plain(settings: object) -> dict[str, object]:
    """A Settings as JSON-able values (the CC bindings and keys as text)."""
    if not dataclasses.is_dataclass(settings):
        return {}
    return {f.name: getattr(settings, f.name) for f in dataclasses.fields(settings)}


class Recorder:
    def __init__(self, engine, model: Path | None = None, seed: int | None = None) -> None:  # an Engine: untyped
        # here to avoid an import cycle. ``model`` and ``seed``: what the provenance says made the AI's notes.
        self._engine = engine
        self._lock = threading.Lock()
        self.notes: dict[tuple[str, int], list[Note]] = {}  # (track, channel 1..16) -> notes
        self._open: dict[tuple[str, int, int], tuple[float, int]] = {}
        self._last_beat = 0.0
        self._model, self._seed = model, seed
        status = engine.status()
        self._settings = _plain(getattr(status, "settings", None))
        self.changes: list[dict[str, object]] = []
        self._started = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
        engine.subscribe(self._on_event, NoteIn, NoteOut)
        engine.subscribe(self._on_setting, SettingsChanged)

    def _on_event(self, event: NoteIn | NoteOut) -> None:
        track = PLAYER_TRACK if isinstance(event, NoteIn) else AI_TRACK
        self._note(track, event.channel, event.on, event.pitch, event.velocity, event.beat)

    def _on_setting(self, event: SettingsChanged) -> None:
        beat = self._engine.beat_at(self._engine.now())  # on the notifier's thread, a moment after the change
        value = _plain(event.settings) if event.name == "*" else getattr(event.settings, event.name, None)
        with self._lock:
            self.changes.append({"beat": round(beat, 3), "name": event.name, "value": str(value)})

    def _note(self, track: str, channel: int, on: bool, pitch: int, velocity: int, beat: float) -> None:
        with self._lock:
            self._last_beat = max(self._last_beat, beat)
            key = (track, channel, pitch)
            started = self._open.pop(key, None)
            if started is not None:
                self._store(track, channel, Note(started[0], max(beat, started[0]), pitch, started[1]))
            if on:
                self._open[key] = (beat, max(1, velocity))

    def _store(self, track: str, channel: int, note: Note) -> None:
        self.notes.setdefault((track, channel), []).append(note)

    def save(self, path: Path | str) -> None:
        """Write a track per side and channel (tempo: the clock's at the end of the session), with provenance."""
        self._engine.notifier.flush()
        with self._lock:
            for (track, channel, pitch), (start, velocity) in self._open.items():
                self._store(track, channel, Note(start, max(self._last_beat, start), pitch, velocity))
            self._open.clear()
            groups = {key: sorted(notes) for key, notes in self.notes.items()}
            changes = list(self.changes)
        sides = {track: sorted(ch for t, ch in groups if t == track) for track in (PLAYER_TRACK, AI_TRACK)}
        sides = {track: channels or [1 if track == PLAYER_TRACK else 2] for track, channels in sides.items()}
        tracks = []
        for track, channels in sides.items():
            author = provenance.PLAYER if track == PLAYER_TRACK else provenance.GENERATED
            for channel in channels:
                name = track if len(channels) == 1 else f"{track} (channel {channel})"
                tracks.append((name, groups.get((track, channel), []), channel - 1, author))
        record = base_record("run --record", self._model, self._seed, self._settings)
        record["changes"] = changes
        record["session_started"] = self._started
        markers = [(float(c["beat"]), f"{c['name']} -> {c['value']}") for c in changes if c["name"] != "*"]
        now = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
        status = self._engine.status()
        meter = getattr(status.settings, "model_meter", COMMON_TIME)
        provenance.save(path, tracks, record, status.bpm, meter, now, markers, date_in_file=True)
