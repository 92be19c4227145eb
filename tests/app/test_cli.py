"""The `cocomposer` command as a user runs it: a subprocess, its exit status, what it prints and writes."""

from __future__ import annotations

import subprocess
import sys
import uuid
from pathlib import Path

import mido
import pytest

from cocomposer.app.offline import CONTINUATION_TRACK
from cocomposer.midi import ports

ROOT = Path(__file__).resolve().parents[2]
DEMO_PHRASE = ROOT / "cocomposer" / "data" / "demo_phrase.mid"


def cocomposer(*args: str, env: dict[str, str] | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "cocomposer.app.cli", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


def assert_clear_error(result: subprocess.CompletedProcess, *needles: str) -> None:
    """Exit status 2 and one paragraph on stderr that starts with 'cocomposer:', holds ``needles``, no traceback."""
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    message = result.stderr.strip()
    assert message.startswith("cocomposer: "), message
    assert "Traceback" not in result.stderr and "\n\n" not in message, message
    for needle in needles:
        assert needle in message, message


# --- live commands through JACK ------------------------------------------------------------------------------------


@pytest.mark.jack
def test_ports_lists_the_jack_ports(jack_server) -> None:
    uid = uuid.uuid4().hex[:8]
    with (
        ports.open_output(None, "jack", virtual_name=f"keys-{uid}", client_name=f"keyboard-{uid}"),
        ports.open_input(None, "jack", virtual_name=f"synth-{uid}", client_name=f"synth-{uid}"),
    ):
        result = cocomposer("ports", "--api", "jack", env=jack_server.env)
    assert result.returncode == 0, result.stderr
    inputs, _, outputs = result.stdout.partition("MIDI outputs")
    assert "MIDI inputs" in inputs and f"keyboard-{uid}:keys-{uid}" in inputs, result.stdout
    assert f"synth-{uid}:synth-{uid}" in outputs, result.stdout


@pytest.mark.jack
def test_run_with_a_missing_input_port_explains_and_exits_2(jack_server) -> None:
    name = f"nonexistent-{uuid.uuid4().hex[:8]}"
    result = cocomposer("run", "--api", "jack", "--in", name, env=jack_server.env)
    assert_clear_error(result, f"no MIDI input port matches '{name}'", "cocomposer ports")


def test_run_with_a_bad_setting_explains_and_exits_2() -> None:
    result = cocomposer("run", "--mode", "karaoke")
    assert_clear_error(result, "mode must be one of", "karaoke")


# --- offline continuation ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("content", [b"", b"not a MIDI file\n", None], ids=["empty", "text", "missing"])
def test_continue_on_an_unreadable_file_explains_and_exits_2(tmp_path: Path, content: bytes | None) -> None:
    source = tmp_path / "phrase.mid"
    if content is not None:
        source.write_bytes(content)
    result = cocomposer("continue", str(source), "-o", str(tmp_path / "out.mid"))
    assert_clear_error(result, str(source))
    assert not (tmp_path / "out.mid").exists()


def test_continue_on_a_file_without_notes_explains_and_exits_2(tmp_path: Path) -> None:
    source = tmp_path / "silence.mid"
    midi = mido.MidiFile()
    midi.tracks.append(mido.MidiTrack([mido.MetaMessage("end_of_track", time=0)]))
    midi.save(source)
    assert_clear_error(cocomposer("continue", str(source), "-o", str(tmp_path / "out.mid")), "holds no notes")


def test_continue_is_repeatable_with_a_seed_and_writes_the_continuation_track(tmp_path: Path) -> None:
    outputs = [tmp_path / "a.mid", tmp_path / "b.mid"]
    for output in outputs:
        result = cocomposer("continue", str(DEMO_PHRASE), "-o", str(output), "--bars", "2", "--seed", "11")
        assert result.returncode == 0, result.stderr
    assert outputs[0].read_bytes() == outputs[1].read_bytes(), "the same seed gives the same file"
    names = [track.name for track in mido.MidiFile(outputs[0]).tracks]
    assert CONTINUATION_TRACK == "cocomposer continuation" and CONTINUATION_TRACK in names, names


# --- demo ----------------------------------------------------------------------------------------------------------


def test_demo_over_the_loopback_writes_the_call_and_the_answer(tmp_path: Path) -> None:
    output = tmp_path / "demo.mid"
    result = cocomposer("demo", "--loopback", "--bars", "1", "--bpm", "240", "-o", str(output))
    assert result.returncode == 0, result.stderr
    assert f"wrote {output}" in result.stdout
    midi = mido.MidiFile(output)
    names = [track.name for track in midi.tracks]
    assert "call (demo phrase)" in names and "cocomposer answer" in names, names
    call = next(track for track in midi.tracks if track.name == "call (demo phrase)")
    assert any(msg.type == "note_on" and msg.velocity > 0 for msg in call)
