"""Session recording: what the engine heard and played, as two MIDI tracks."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import mido

from cocomposer.engine import events as ev
from cocomposer.engine.notifier import Notifier
from cocomposer.engine.recorder import AI_TRACK, PLAYER_TRACK, Recorder
from cocomposer.engine.settings import Settings
from cocomposer.music import provenance
from cocomposer.music.midifile import read_notes


class FakeEngine:
    """What the recorder needs of an engine: events through a real notifier (no thread: delivered on flush), a
    status with the tempo and settings, and a fake clock (one beat a second)."""

    def __init__(self) -> None:
        self.notifier = Notifier()
        self.subscribe = self.notifier.subscribe
        self.t = 0.0

    def status(self) -> SimpleNamespace:
        return SimpleNamespace(bpm=100.0, settings=Settings(temperature=0.8))

    def now(self) -> float:
        return self.t

    def beat_at(self, t: float) -> float:
        return t

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


def _channels(path: Path) -> dict[str, set[int]]:
    """Each track's name -> the MIDI channels (1..16) of its notes, as written in the file."""
    return {
        t.name: {m.channel + 1 for m in t if m.type in ("note_on", "note_off")}
        for t in mido.MidiFile(str(path)).tracks[1:]
    }


def test_each_note_is_written_on_the_channel_it_was_played_or_sent_on(tmp_path: Path) -> None:
    engine = FakeEngine()
    recorder = Recorder(engine)
    engine.emit(ev.NoteIn(True, 60, 90, 5, 0.0, 0.0))
    engine.emit(ev.NoteIn(False, 60, 0, 5, 0.5, 1.0))
    engine.emit(ev.NoteOut(True, 67, 70, 1, "answer", 1.0, 2.0))  # the answer on channel 1, as sent
    engine.emit(ev.NoteOut(False, 67, 0, 1, "answer", 1.25, 2.5))
    engine.emit(ev.NoteOut(True, 48, 70, 3, "accompany", 1.0, 2.0))  # the accompaniment on channel 3
    engine.emit(ev.NoteOut(False, 48, 0, 3, "accompany", 1.25, 3.0))
    out = tmp_path / "session.mid"
    recorder.save(out)
    assert _channels(out) == {PLAYER_TRACK: {5}, f"{AI_TRACK} (channel 1)": {1}, f"{AI_TRACK} (channel 3)": {3}}
    record = provenance.read_record(out)
    assert [(t["name"], t["channel"], t["author"], t["notes"]) for t in record["tracks"]] == [
        (PLAYER_TRACK, 5, provenance.PLAYER, 1),
        (f"{AI_TRACK} (channel 1)", 1, provenance.GENERATED, 1),
        (f"{AI_TRACK} (channel 3)", 3, provenance.GENERATED, 1),
    ]


def test_the_recording_carries_its_settings_changes_model_and_date(tmp_path: Path) -> None:
    engine = FakeEngine()
    recorder = Recorder(engine, seed=11)
    engine.emit(ev.NoteIn(True, 60, 90, 1, 0.0, 0.0))
    engine.t = 2.5
    engine.emit(ev.SettingsChanged("temperature", Settings(temperature=1.4)))
    engine.emit(ev.NoteIn(False, 60, 0, 1, 3.0, 3.0))
    out = tmp_path / "session.mid"
    recorder.save(out)
    record = provenance.read_record(out)
    assert record["seed"] == 11 and record["settings"]["temperature"] == 0.8
    assert record["changes"] == [{"beat": 2.5, "name": "temperature", "value": "1.4"}]
    assert record["model"]["name"] == "default" and len(record["model"]["sha256"]) == 64
    assert record["date"] and record["sidecar_matches"]
    markers = [(m.time, m.text) for m in mido.MidiFile(str(out)).tracks[0] if m.type == "marker"]
    assert markers == [(round(2.5 * 480), "temperature -> 1.4")]
