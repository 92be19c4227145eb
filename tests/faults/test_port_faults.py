"""Faults a stage sees, through a real JACK server: an unterminated sysex, a message too long for JACK, a server that
dies under `cocomposer run`, a follower that connects to the clock output after Start."""

from __future__ import annotations

import contextlib
import os
import random
import signal
import subprocess
import sys
import time
import uuid

import pytest
import rtmidi

from cocomposer.errors import PortError
from cocomposer.midi import ports
from cocomposer.midi_bytes import CONTINUE, SONG_POSITION, START, TIMING_CLOCK
from tests.jack.test_live_jack import BEAT, PHRASE, ROOT, Arrivals, Output, PollingListener, all_closed, play
from tests.support.faults import INJECTED
from tests.support.jack import JackServer, JackUnavailableError

pytestmark = pytest.mark.jack
SIGNAL_RUNS = 8


def _wait_or_dump(proc: subprocess.Popen, stderr: Output, timeout: float = 15.0) -> int:
    """The exit status of ``proc``, stopping; if it hangs, fail with every thread's stack (SIGABRT makes Python's
    fault handler print them)."""
    try:
        return proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGABRT)
        proc.wait(10)
        time.sleep(0.2)
        pytest.fail(f"cocomposer run did not stop within {timeout:.0f} s; its threads: " + "\n".join(stderr.lines))


def _sender(client: str, target: str) -> rtmidi.MidiOut:
    """A plain python-rtmidi client connected to ``target``: it sends what the test says, byte for byte."""
    out = rtmidi.MidiOut(rtmidi.API_UNIX_JACK, name=client)
    out.open_port(list(out.get_ports()).index(target), "bad source")
    return out


def test_an_unterminated_sysex_does_not_deafen_the_input(jack_server) -> None:
    uid = uuid.uuid4().hex[:8]
    arrivals = Arrivals()
    with ports.open_input(None, "jack", virtual_name=f"in-{uid}", client_name=f"cc-{uid}") as port:
        assert port.jack_name is not None and port.jack_name.endswith(f":in-{uid}")
        port.start(arrivals)
        source = _sender(f"src-{uid}", port.jack_name)
        try:
            time.sleep(0.2)  # the connection is up
            for message in ([0x90, 60, 90], [0xF0, 0x7D, 1, 2, 3], [0x80, 60, 0], [0x90, 62, 90], [0x80, 62, 0]):
                source.send_message(message)
                time.sleep(0.005)
            INJECTED["unterminated sysex"] += 1
            arrivals.wait(lambda events: (0x80, 62, 0) in [m for _, m in events], "the notes after the bad sysex")
        finally:
            source.close_port()
            source.delete()
        received = [m for _, m in arrivals.snapshot()]
        assert received == [(0x90, 60, 90), (0x80, 60, 0), (0x90, 62, 90), (0x80, 62, 0)]
        assert port.malformed == 1, "the unterminated sysex is counted, once"


def test_a_message_too_long_for_jack_is_refused_not_dropped(jack_server) -> None:
    uid = uuid.uuid4().hex[:8]
    arrivals = Arrivals()
    with (
        contextlib.closing(PollingListener(arrivals, f"hear-{uid}", virtual_name=f"dst-{uid}")),
        ports.open_output(f"dst-{uid}", "jack", virtual_name="out", client_name=f"cc-{uid}") as out,
    ):
        time.sleep(0.2)
        with pytest.raises(PortError, match="16380 bytes"):
            out.send((0xF0, *([1] * 20_000), 0xF7))
        INJECTED["sysex too long for JACK"] += 1
        fits = (0xF0, *([2] * 16_000), 0xF7)
        out.send(fits)
        arrivals.wait(lambda events: fits in [m for _, m in events], "the longest sysex that fits arrives whole")


def test_a_dead_jack_server_stops_cocomposer_run_with_one_line(tmp_path) -> None:
    # One name for every run: a killed server keeps its slot in JACK's registry of servers (8 slots), and only a new
    # server of the same name takes it back; a new name each run filled the registry after 8 runs ("Failed to open
    # server" for every private server after that, measured in a 10-run loop).
    server = JackServer("cocomposer-dies")
    try:
        server.start()
    except JackUnavailableError as err:
        pytest.skip(f"no private JACK server: {err}")
    env = {**server.env, "PYTHONUNBUFFERED": "1"}
    command = [sys.executable, "-X", "faulthandler", "-m", "cocomposer.app.cli", "run", "--api", "jack", "--clock-out",
               "--bpm", "200"]  # fmt: skip
    proc = subprocess.Popen(command, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)  # fmt: skip
    stdout, stderr = Output(proc.stdout), Output(proc.stderr)
    try:
        stdout.wait("cocomposer listening")
        time.sleep(0.5)  # clock out is ticking
        server.stop()
        INJECTED["JACK server killed"] += 1
        killed = time.perf_counter()
        try:
            rc = proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGABRT)  # -X faulthandler: every thread's stack goes to stderr
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(5)
            time.sleep(0.5)
            pytest.fail(f"cocomposer run did not exit within 15 s of the server's death; stderr: {stderr.lines[-60:]}")
        took = time.perf_counter() - killed
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)
        server.stop()
    ours = [line for line in stderr.lines if line.startswith("cocomposer")]
    assert rc == 1, f"exit status; stderr: {stderr.lines}"
    assert len(ours) == 1 and "the JACK server stopped" in ours[0], stderr.lines
    assert not any("Traceback" in line or "clock out" in line for line in stderr.lines), stderr.lines
    print(f"cocomposer run exited {took:.2f} s after the JACK server was killed")


def test_clock_out_tells_a_follower_that_connects_late_where_the_clock_is(jack_server) -> None:
    uid = uuid.uuid4().hex[:8]
    arrivals = Arrivals()
    env = {**jack_server.env, "PYTHONUNBUFFERED": "1"}
    command = [sys.executable, "-X", "faulthandler", "-m", "cocomposer.app.cli", "run", "--api", "jack", "--clock-out",
               "--bpm", "150"]  # fmt: skip
    proc = subprocess.Popen(command, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)  # fmt: skip
    stdout, stderr = Output(proc.stdout), Output(proc.stderr)
    launched = time.perf_counter()  # the clock starts after this, and before the "listening" line
    try:
        stdout.wait("cocomposer listening")
        started_by = time.perf_counter()
        out_port = jack_server.wait_for_port(":cocomposer out")
        time.sleep(1.0)  # about 2.5 beats after Start, which nobody heard
        connecting = time.perf_counter()
        INJECTED["clock follower connecting late"] += 1
        with contextlib.closing(PollingListener(arrivals, f"late-{uid}", out_port)):
            arrivals.wait(lambda events: (CONTINUE,) in [m for _, m in events], "Continue for the late follower")
            told = next(t for t, m in arrivals.snapshot() if m[0] == SONG_POSITION)
            arrivals.wait(lambda events: len(events) >= 30, "clocks after it")
        events = [m for _, m in arrivals.snapshot()]
    finally:
        proc.terminate()
        _wait_or_dump(proc, stderr)
    assert (START,) not in events, "Start restarts every follower already running; a late one gets SPP + Continue"
    spp = next(i for i, m in enumerate(events) if m[0] == SONG_POSITION)
    assert events[spp + 1] == (CONTINUE,) and events[spp + 2] == (TIMING_CLOCK,), events[spp - 2 : spp + 4]
    sixteenths = events[spp][1] | events[spp][2] << 7
    per_second = 150 / 60 * 4
    earliest, latest = (connecting - started_by) * per_second - 1, (told - launched) * per_second + 1
    assert earliest <= sixteenths <= latest, f"SPP {sixteenths}: the clock's place, within {earliest:.0f}..{latest:.0f}"
    assert not any("Traceback" in line for line in stderr.lines), stderr.lines


def test_signals_at_random_moments_of_an_answer(jack_server) -> None:
    """SIGINT or SIGTERM while an answer sounds, at a random moment: exit 0, every note closed, no traceback. SIGINT
    goes to the whole process group, as a terminal's Ctrl-C does (the JACK output's helper process must outlive it
    and send the note-offs the engine closes with)."""
    rng = random.Random(21)
    for run in range(SIGNAL_RUNS):
        uid = uuid.uuid4().hex[:8]
        arrivals = Arrivals()
        with (
            ports.open_output(None, "jack", virtual_name=f"src-{uid}", client_name=f"player-{uid}") as player,
            contextlib.closing(PollingListener(arrivals, f"listener-{uid}", virtual_name=f"dst-{uid}")),
        ):
            command = [sys.executable, "-X", "faulthandler", "-m", "cocomposer.app.cli", "run", "--api", "jack",
                       "--bpm", "240", "--in", f"src-{uid}", "--out", f"dst-{uid}", "--bars", "4",
                       "--seed", str(run)]  # fmt: skip
            proc = subprocess.Popen(command, cwd=ROOT, env={**jack_server.env, "PYTHONUNBUFFERED": "1"},
                                    stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                    text=True, start_new_session=True)  # fmt: skip
            stdout, stderr = Output(proc.stdout), Output(proc.stderr)
            try:
                stdout.wait("cocomposer listening")
                t0 = time.perf_counter() + 0.05
                play(player.send, PHRASE, lambda beat, t0=t0: t0 + beat * BEAT, 0.0)
                arrivals.wait(lambda events: any(m[0] & 0xF0 == 0x90 for _, m in events), "the answer begins")
                time.sleep(rng.uniform(0.0, 1.5))  # somewhere in its 4 bars (4 s)
                if run % 2:
                    os.killpg(proc.pid, signal.SIGINT)
                else:
                    proc.send_signal(signal.SIGTERM)
                INJECTED["signals mid-answer"] += 1
                assert _wait_or_dump(proc, stderr) == 0, f"exit status; stderr: {stderr.lines}"
            finally:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait(5)
            arrivals.wait(all_closed, "every note-on cocomposer sent has its note-off")
            assert not any("Traceback" in line for line in stderr.lines), stderr.lines
