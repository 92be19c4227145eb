"""The bar and the meter: the codec's meters, ABC upbeats, MIDI time signatures, `continue` in 3/4 and 6/8."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import mido
import pytest

from cocomposer.app.offline import CONTINUATION_TRACK, continue_file
from cocomposer.errors import ConfigError
from cocomposer.model.continuation import continue_notes
from cocomposer.model.runtime import OnnxModel
from cocomposer.model.sampling import Controls
from cocomposer.music import codec
from cocomposer.music.midifile import read_phrase, write_tracks

ROOT = Path(__file__).resolve().parents[2]


def test_meters_the_model_tells_apart() -> None:
    assert codec.Meter(3, 4).bar_ticks == 36 and codec.Meter(6, 8).bar_ticks == 36
    assert codec.Meter(3, 4).index != codec.Meter(6, 8).index, "a waltz is not a jig"
    assert codec.Meter(2, 2).index == codec.COMMON_TIME.index and codec.Meter(6, 4).index == codec.Meter(3, 2).index
    assert codec.Meter(5, 4).index == codec.METERS.index("other") and codec.Meter(5, 4).bar_ticks == 60
    assert codec.Meter.parse("6/8") == codec.Meter(6, 8)
    assert codec.Meter.of_beats(3) == codec.Meter(3, 4) and codec.Meter.of_beats(6) == codec.Meter(3, 2)
    with pytest.raises(ConfigError, match="N/D"):
        codec.Meter.parse("waltz")
    with pytest.raises(ConfigError):
        codec.Meter(3, 5)


def test_bar_position_counts_from_the_bar_line() -> None:
    waltz = codec.Meter(3, 4)
    assert [codec.bar_position(t, waltz) for t in (0, 12, 35, 36, 37)] == [0, 12, 35, 0, 1]
    assert codec.bar_position(12, waltz, origin=12) == 0 and codec.bar_position(0, waltz, origin=12) == 24
    assert codec.bar_position(150, codec.Meter(4, 1)) == codec.MAX_BAR_TICKS - 1, "long bars are clipped"


@pytest.mark.parametrize(
    ("body", "header", "beats"),
    [
        ("D2|G2 G2 A2|B4 A2|G6|]", "M:3/4\nL:1/8", 1.0),  # a one-beat upbeat
        ("|:G2 G2 A2|B4 A2|G6:|", "M:3/4\nL:1/8", 3.0),  # a repeat sign first, then a full bar
        ("(3DEF|G2 G2|", "M:2/4\nL:1/8", 1.0),  # a triplet upbeat: three eighths in the time of two
        ("A/B/|c2 B2|", "M:2/4\nL:1/8", 0.5),
        ("[DG]2 z2|G4|", "M:4/4\nL:1/8", 2.0),  # a chord and a rest
        ("D|GAB|", "M:3/8", 0.5),  # no L: field, so 1/16 below 3/4 ... 3/8 is 0.375 < 0.75
    ],
)
def test_abc_upbeats_are_read_from_the_text(body: str, header: str, beats: float) -> None:
    from cocomposer.training.abc import pickup_beats

    expected = beats / 2 if "L:" not in header else beats  # 1/16 units for a short meter with no L: field
    assert pickup_beats(f"X:1\nT:t\n{header}\nK:G\n{body}\n") == pytest.approx(expected)


def test_midi_files_keep_their_time_signature(tmp_path: Path) -> None:
    path = tmp_path / "waltz.mid"
    notes = [codec.Note(i, i + 1, 60 + i) for i in range(6)]
    write_tracks(path, [("melody", notes, 0)], bpm=132, meter=codec.Meter(3, 4))
    phrase = read_phrase(path)
    assert phrase.meter == codec.Meter(3, 4) and phrase.bpm == pytest.approx(132, abs=0.01)
    assert [n.pitch for n in phrase.notes] == [60, 61, 62, 63, 64, 65]


@pytest.mark.parametrize(("meter", "quantize"), [(codec.Meter(3, 4), "bar"), (codec.Meter(6, 8), "beat")])
def test_continue_answers_in_bars_of_the_prompts_meter(model: OnnxModel, meter: codec.Meter, quantize: str) -> None:
    # a phrase of 2 bars and one beat: the answer starts on the next bar line (or beat) and ends on a bar line
    prompt = [codec.Note(b, b + 0.9, 60 + b % 7) for b in range(int(2 * meter.bar_beats) + 1)]
    answer, _ = continue_notes(model, prompt, 3, Controls(), "folk", "major", 4, meter=meter, quantize=quantize)
    start, end = answer.start_tick, answer.end_tick
    phrase_end = codec.beats_to_ticks(max(n.end for n in prompt))
    if quantize == "bar":
        assert start == 3 * meter.bar_ticks, "the next bar line after the phrase"
        assert end - start == 3 * meter.bar_ticks
    else:
        assert start == codec.beats_to_ticks(2 * meter.bar_beats + 1), "the next beat after the phrase"
        assert end == 6 * meter.bar_ticks, "still ends on a bar line, three bars on"
    assert start >= phrase_end and end % meter.bar_ticks == 0
    assert all(start <= codec.beats_to_ticks(n.start) < codec.beats_to_ticks(n.end) <= end for n in answer.notes)
    assert model.meter == meter


def test_continue_refuses_no_bars(model: OnnxModel) -> None:
    with pytest.raises(ConfigError, match="at least one bar"):
        continue_notes(model, [codec.Note(0, 1, 60)], 0, Controls(), "folk", "major", 0)


def test_continue_command_writes_the_prompts_meter_and_n_bars_of_it(tmp_path: Path) -> None:
    source, out = tmp_path / "waltz.mid", tmp_path / "answer.mid"
    write_tracks(
        source, [("melody", [codec.Note(i, i + 0.9, 67 - i % 3) for i in range(7)], 0)], 150, codec.Meter(3, 4)
    )
    result = subprocess.run(
        [sys.executable, "-m", "cocomposer.app.cli", "continue", str(source), "-o", str(out), "--bars", "2"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "2 bars of 3/4" in result.stdout
    midi = mido.MidiFile(str(out))
    signatures = [m for t in midi.tracks for m in t if m.type == "time_signature"]
    assert [(m.numerator, m.denominator) for m in signatures] == [(3, 4)]
    tempo = next(m.tempo for t in midi.tracks for m in t if m.type == "set_tempo")
    assert mido.tempo2bpm(tempo) == pytest.approx(150, abs=0.01)
    track = next(t for t in midi.tracks if t.name == CONTINUATION_TRACK)
    tick, ends = 0, []
    for message in track:
        tick += message.time
        if message.type == "note_off" or (message.type == "note_on" and message.velocity == 0):
            ends.append(tick / midi.ticks_per_beat)
    assert ends and max(ends) <= 9 + 6 + 1e-9, "the phrase ends in bar 3; the answer fills bars 4 and 5"


def test_continue_file_reports_the_meter(tmp_path: Path) -> None:
    source, out = tmp_path / "jig.mid", tmp_path / "answer.mid"
    write_tracks(
        source, [("jig", [codec.Note(i / 2, i / 2 + 0.45, 62 + i % 5) for i in range(12)], 0)], 110, codec.Meter(6, 8)
    )
    result = continue_file(source, out, bars=1, seed=2)
    assert result.meter == codec.Meter(6, 8)
    assert result.continuation.end_tick - result.continuation.start_tick == 36


def test_the_meter_setting_brings_its_beats_per_bar() -> None:
    from cocomposer.engine.settings import Settings

    jig = Settings().with_value("meter", "6/8")
    assert jig.beats_per_bar == 3 and jig.model_meter == codec.Meter(6, 8)
    assert Settings(beats_per_bar=3).model_meter == codec.Meter(3, 4)
    assert jig.with_value("beats_per_bar", "4").model_meter == codec.COMMON_TIME, "a new bar length: meter follows"
    with pytest.raises(ConfigError, match="beats per bar"):
        Settings(meter="6/8", beats_per_bar=4)
    with pytest.raises(ConfigError, match="whole number of beats"):
        Settings(meter="7/8", beats_per_bar=3)
    with pytest.raises(ConfigError, match="meter"):
        Settings().with_value("meter", "fast")
    assert Settings(min_note=3).controls(None).min_note_ticks == 3


def test_continue_bars_auto_answers_as_many_bars_as_the_phrase(tmp_path: Path) -> None:
    source, out = tmp_path / "waltz.mid", tmp_path / "answer.mid"
    write_tracks(
        source, [("melody", [codec.Note(i, i + 0.9, 67 - i % 3) for i in range(7)], 0)], 150, codec.Meter(3, 4)
    )
    result = continue_file(source, out, bars=None, seed=1)
    assert result.continuation.end_tick - result.continuation.start_tick == 3 * 36, "7 beats of 3/4 span 3 bars"
    command = [sys.executable, "-m", "cocomposer.app.cli", "continue", str(source), "-o", str(out)]
    done = subprocess.run([*command, "--bars", "auto", "--mimic", "1", "--cadence", "2"], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode == 0 and "3 bars of 3/4" in done.stdout, done.stderr
    refused = subprocess.run([*command, "--mimic", "5"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert refused.returncode == 2 and "mimic must be within 0..2" in refused.stderr
