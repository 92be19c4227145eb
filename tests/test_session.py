"""Session recording: what the engine heard and played, as two MIDI tracks."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import mido

from cocomposer.engine.recorder import AI_TRACK, PLAYER_TRACK, Recorder
from cocomposer.music.midifile import read_notes


class FakeEngine:
    def __init__(self) -> None:
        self.hooks = []
        self.clock = SimpleNamespace(bpm=100.0)

    def add_hook(self, hook) -> None:
        self.hooks.append(hook)

    def emit(self, kind: str, data: dict) -> None:
        for hook in self.hooks:
            hook(kind, data)


def test_records_both_sides_and_closes_what_is_held(tmp_path: Path) -> None:
    engine = FakeEngine()
    recorder = Recorder(engine)
    engine.emit("note_in", {"kind": "on", "pitch": 60, "velocity": 90, "beat": 0.0})
    engine.emit("note_in", {"kind": "off", "pitch": 60, "velocity": 0, "beat": 1.0})
    engine.emit("note_out", {"kind": "note_on", "pitch": 67, "channel": 0, "velocity": 70, "beat": 2.0})
    engine.emit("note_out", {"kind": "note_off", "pitch": 67, "channel": 0, "velocity": 0, "beat": 2.5})
    engine.emit("note_in", {"kind": "on", "pitch": 62, "velocity": 80, "beat": 3.0})  # still held at the end
    engine.emit("note_out", {"kind": "message", "pitch": None, "beat": 3.5})  # not a note: ignored
    out = tmp_path / "session.mid"
    recorder.save(out)
    names = [t.name for t in mido.MidiFile(str(out)).tracks]
    assert PLAYER_TRACK in names and AI_TRACK in names
    notes, bpm = read_notes(out)
    assert bpm == 100.0
    assert [(n.pitch, n.start, n.end) for n in notes] == [(60, 0.0, 1.0), (67, 2.0, 2.5), (62, 3.0, 3.0 + 1 / 480)]
