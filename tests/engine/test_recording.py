"""`--record` with the real engine and model: each side's notes on the channel they were played or sent on, and the
session's provenance (seed, settings, a change made during the session) inside the file."""

from __future__ import annotations

from pathlib import Path

import mido

from cocomposer.engine import commands as cmd
from cocomposer.engine import events as ev
from cocomposer.engine.recorder import AI_TRACK, PLAYER_TRACK, Recorder
from cocomposer.midi import ports
from cocomposer.music import provenance
from tests.engine.test_engine import PHRASE, rig  # noqa: F401  (the fixture)


def test_the_recording_holds_each_note_on_the_channel_it_travelled_on(rig, tmp_path: Path) -> None:  # noqa: F811
    r = rig(out_channel=3, bars=1.0)
    recorder = Recorder(r.engine, seed=7)
    r.engine.command(cmd.Set("temperature", "0.9"))
    r.wait_hook(ev.SettingsChanged, where=lambda e: e.name == "temperature")
    r.answer(PHRASE, channel=5)
    sent = {ports.channel_of(m) + 1 for m in r.out.messages if ports.is_note_on(m) or ports.is_note_off(m)}
    assert sent == {3}
    out = tmp_path / "session.mid"
    recorder.save(out)
    written = {
        t.name: {m.channel + 1 for m in t if m.type in ("note_on", "note_off")}
        for t in mido.MidiFile(str(out)).tracks[1:]
    }
    assert written == {PLAYER_TRACK: {5}, AI_TRACK: sent}
    record = provenance.read_record(out)
    assert record["command"] == "run --record" and record["seed"] == 7 and record["sidecar_matches"]
    assert record["settings"]["out_channel"] == 3
    assert [(c["name"], c["value"]) for c in record["changes"]] == [("temperature", "0.9")]
    tracks = {t["name"]: (t["channel"], t["author"], t["notes"]) for t in record["tracks"]}
    assert tracks[PLAYER_TRACK] == (5, provenance.PLAYER, len(PHRASE))
    assert tracks[AI_TRACK][:2] == (3, provenance.GENERATED) and tracks[AI_TRACK][2] > 0
