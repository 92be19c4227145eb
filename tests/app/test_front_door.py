"""The front door as a new user meets it: a subprocess per command, its exit status, and what it prints."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import mido
import pytest

from cocomposer.music.keys import find_key, pitch_class_histogram

try:
    from tests.app.test_cli import ROOT, assert_clear_error, cocomposer
except ImportError:  # pytest's rootdir-less import
    from test_cli import ROOT, assert_clear_error, cocomposer


def no_jack_env() -> dict[str, str]:
    """The environment with JACK pointed at a server name nobody runs (and told not to start one)."""
    env = {k: v for k, v in os.environ.items() if k != "JACK_DEFAULT_SERVER"}
    return {**env, "JACK_DEFAULT_SERVER": f"cocomposer-nobody-{uuid.uuid4().hex[:8]}", "JACK_NO_START_SERVER": "1"}


def jack_lines(stderr: str) -> list[str]:
    """Lines libjack (or ALSA's library) printed on its own, outside a cocomposer message."""
    words = ("jack", "cannot connect", "alsa lib")
    return [
        line
        for line in stderr.splitlines()
        if not line.startswith("cocomposer:") and any(w in line.lower() for w in words)
    ]


def test_the_demo_with_no_jack_server_prints_no_jack_noise(tmp_path: Path) -> None:
    result = cocomposer("demo", "--bars", "1", "--bpm", "240", "-o", str(tmp_path / "d.mid"), env=no_jack_env())
    assert result.returncode == 0, result.stderr
    assert jack_lines(result.stderr) == [] and result.stderr.strip() == "", result.stderr
    first = result.stdout.splitlines()[0]
    assert first.startswith("playing the call phrase") and len(first) <= 240, first


def test_a_failing_jack_command_says_it_in_one_paragraph() -> None:
    result = cocomposer("ports", "--api", "jack", env=no_jack_env())
    assert_clear_error(result, "Start a JACK server", "JACK_DEFAULT_SERVER")
    assert ".." not in result.stderr and "?." not in result.stderr, result.stderr
    assert jack_lines(result.stderr) == [], result.stderr


def test_the_panel_with_no_display_explains_and_exits_2() -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    result = cocomposer("ui", "--api", "loopback", env=env, timeout=60)
    assert_clear_error(result, "needs a display", "cocomposer run", "QT_QPA_PLATFORM=offscreen")


def demo_pitches(path: Path) -> tuple[list[int], list[int]]:
    tracks = {track.name: track for track in mido.MidiFile(path).tracks}
    pitches = {
        name: [m.note for m in track if m.type == "note_on" and m.velocity > 0] for name, track in tracks.items()
    }
    return pitches["call (demo phrase)"], pitches["cocomposer answer"]


def assert_in_the_calls_key(path: Path) -> None:
    call, answer = demo_pitches(path)
    key = find_key(pitch_class_histogram(call))
    assert key is not None and answer, (call, answer)
    outside = [p for p in answer if p % 12 not in key.pitch_classes()]
    assert outside == [], f"answer notes outside the call's {key}: {outside}"


def test_the_demo_gives_the_same_file_every_run_and_answers_in_the_calls_key(tmp_path: Path) -> None:
    outputs = [tmp_path / "a.mid", tmp_path / "b.mid"]
    for output in outputs:
        result = cocomposer("demo", "--loopback", "-o", str(output))
        assert result.returncode == 0, result.stderr
    assert outputs[0].read_bytes() == outputs[1].read_bytes(), "the default seed gives the same file"
    assert_in_the_calls_key(outputs[0])


def test_the_demo_keeps_the_key_where_the_model_alone_leaves_it(tmp_path: Path) -> None:
    # With --key off, seed 4 plays F (65) against the call's E minor; the demo's default key lock keeps it out.
    output = tmp_path / "seed4.mid"
    result = cocomposer("demo", "--loopback", "--seed", "4", "--bpm", "240", "-o", str(output))
    assert result.returncode == 0, result.stderr
    assert_in_the_calls_key(output)


# --- through a real JACK server ------------------------------------------------------------------------------------


@pytest.mark.jack
def test_piped_commands_are_read_and_the_end_of_input_stops_run(jack_server) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "cocomposer.app.cli", "run", "--api", "jack"],
        cwd=ROOT,
        env=jack_server.env,
        input="status\nset in_channel 3.7\nset temperature 0.8\nstatus\nquit\n",
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    statuses = [line for line in result.stdout.splitlines() if line.startswith("state ")]
    assert len(statuses) == 2 and "temperature 0.8" in statuses[1], result.stdout
    assert "cocomposer: setting in_channel takes a whole number" in result.stdout, result.stdout
    assert "Traceback" not in result.stderr


@pytest.mark.jack
def test_a_missing_output_port_is_not_offered_cocomposers_own_ports(jack_server) -> None:
    name = f"nonexistent-{uuid.uuid4().hex[:8]}"
    result = cocomposer("run", "--api", "jack", "--out", name, env=jack_server.env)
    assert_clear_error(result, f"no MIDI output port matches '{name}'")
    assert "cocomposer in" not in result.stderr, result.stderr
