"""Session recording: what the engine heard and played, as two MIDI tracks."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import mido

from cocomposer.engine import events as ev
from cocomposer.engine.notifier import Notifier
from cocomposer.engine.recorder import AI_TRACK, PLAYER_TRACK, Recorder
from cocomposer.music.midifile import read_notes


class FakeEngine:
    """What the recorder needs of an engine: events through a real notifier (no thread: delivered on flush), and a
    status with the tempo."""

    def __init__(self) -> None:
        self.notifier = Notifier()
        self.subscribe = self.notifier.subscribe

    def status(self) -> SimpleNamespace:
        return SimpleNamespace(bpm=100.0)

    def emit(self, event: ev.Event) -> None:
        self.notifier.publish(event)


def test_records_both_sides_and_closes_what_is_held(tmp_path: Path) -> None:
    engine = FakeEngine()
    recorder = Recorder(engine)
    engine.emit(ev.NoteIn(True, 60, 90, 1, 0.0, 0.0))
    engine.emit(ev.NoteIn(False, 60, 0, 1, 0.5, 1.0))
    engine.emit(ev.NoteOut(True, 67, 70, 1, "answer", 1.0, 2.0))
    engine.emit(ev.NoteOut(False, 67, 0, 1, "answer", 1.25, 2.5))
    engine.emit(ev.NoteIn(True, 62, 80, 1, 1.5, 3.0))  # still held at the end
    engine.emit(ev.MessageOut((0xB0, 123, 0), 1.75))  # not a note: ignored
    out = tmp_path / "session.mid"
    recorder.save(out)
    names = [t.name for t in mido.MidiFile(str(out)).tracks]
    assert PLAYER_TRACK in names and AI_TRACK in names
    notes, bpm = read_notes(out)
    assert bpm == 100.0
    assert [(n.pitch, n.start, n.end) for n in notes] == [(60, 0.0, 1.0), (67, 2.0, 2.5), (62, 3.0, 3.0 + 1 / 480)]
