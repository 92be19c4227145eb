"""Fault injection through a real JACK server: the engine on its JACK ports, a test client playing and listening, and
faults thrown at it while it answers. After every case: the engine is alive, it answers the next phrase, nothing is
left sounding at the listener, and it reported no error of its own.

Each case counts the faults it injected in ``INJECTED``; the last test prints the total (the closing note of issue
15 quotes it). Floods are sent through a plain python-rtmidi client, byte for byte, so malformed messages reach
cocomposer's input as a device would send them (RtMidi's JACK output carries at most 16,380 bytes in one message:
the sysex sizes stop there).
"""

from __future__ import annotations

import random
import subprocess
import sys
import time

import pytest
import rtmidi

from cocomposer.engine import commands as cmd
from cocomposer.engine import events as ev
from cocomposer.engine.settings import MODES
from tests.jack.test_live_jack import CC, OFF, ON, PHRASE, ROOT, TIMEOUT, JackRig, all_closed
from tests.support.faults import INJECTED, LOST_ON_THE_WAY
from tests.support.midi import note_ons, unmatched

pytestmark = pytest.mark.jack


@pytest.fixture
def rig(jack_server, request):
    """The engine's ports as `cocomposer run` opens them on JACK; a test parametrised indirectly with False gets
    python-rtmidi's, as the standalone app has them."""
    made = _traced(JackRig(jack_server, frames=getattr(request, "param", True), bars=1.0, hold_bars=1.0))
    yield made
    made.close()


def _traced(rig: JackRig) -> JackRig:
    """Keep every message the engine hands its output port in ``rig.sent``: what cocomposer sent, told apart from
    what reached the listener (JACK's dummy driver drops MIDI in an xrun on a loaded machine)."""
    out = rig.engine.midi_out
    rig.sent = []
    send, send_at = out.send, getattr(out, "send_at", None)

    def traced(message) -> None:
        rig.sent.append((time.perf_counter(), tuple(message)))
        if send_at is None:
            send(message)
        else:
            send_at(message, None)  # JackFramesOut.send calls send_at, which is traced

    def traced_at(message, t) -> None:  # a timed output (the frames helper): handed ahead, with its time
        rig.sent.append((time.perf_counter(), tuple(message)))
        send_at(message, t)

    out.send = traced  # the scheduler calls the port's send: the instance attribute stands in for the method
    if send_at is not None:
        out.send_at = traced_at
    return rig


def _every_note_closed(rig: JackRig, what: str) -> None:
    """Every note cocomposer sent has its note-off, in what it sent (exact) and at the listener, but for note-offs
    JACK lost on the way, which are counted in LOST_ON_THE_WAY and named in the terminal summary."""
    deadline = time.monotonic() + TIMEOUT
    while unmatched(rig.sent) or rig.engine.sounding():
        assert time.monotonic() < deadline, f"cocomposer left notes open after {what}: {unmatched(rig.sent)}"
        time.sleep(0.02)
    deadline = time.monotonic() + 2
    while not all_closed(rig.arrivals.snapshot()) and time.monotonic() < deadline:
        time.sleep(0.02)
    heard = rig.arrivals.snapshot()
    for key in unmatched(heard):
        sent_offs = sum(1 for _, m in rig.sent if _closes(m, key))
        heard_offs = sum(1 for _, m in heard if _closes(m, key))
        assert heard_offs < sent_offs, f"note {key} sounds at the listener after {what}, and no note-off was lost"
        LOST_ON_THE_WAY[what] += sent_offs - heard_offs


def _closes(message: tuple[int, ...], key: tuple[int, int]) -> bool:
    return (
        len(message) == 3
        and (message[0] & 0x0F, message[1]) == key
        and (message[0] & 0xF0 == OFF or (message[0] & 0xF0 == ON and message[2] == 0))
    )


def _raw_sender(rig: JackRig, name: str) -> rtmidi.MidiOut:
    out = rtmidi.MidiOut(rtmidi.API_UNIX_JACK, name=f"{name}-{rig.uid}")
    out.open_port(list(out.get_ports()).index(rig.in_name), name)
    time.sleep(0.1)
    return out


def _answers_and_closes(rig: JackRig, what: str, refused: int = 0) -> None:
    """The engine is alive: a phrase gets an answer, every note it sent is closed, it reported no error but the
    ``refused`` commands it turned down."""
    planned = len(rig.wait_hook(ev.AnswerPlanned, 0))
    _every_note_closed(rig, what)
    ons = len(note_ons(rig.sent))
    rig.play()
    rig.wait_hook(ev.AnswerPlanned, planned + 1)
    deadline = time.monotonic() + TIMEOUT
    while len(note_ons(rig.sent)) == ons or rig.engine.scheduled():
        assert time.monotonic() < deadline, f"no answer played after {what}"
        time.sleep(0.02)
    _every_note_closed(rig, f"the answer after {what}")
    assert rig.engine.stats.errors == refused, (
        f"engine errors after {what}: {[e for e in rig.events if isinstance(e, ev.EngineError)]}"
    )


def _random_message(rng: random.Random) -> list[int]:
    kind = rng.random()
    if kind < 0.3:  # a valid channel message, on a channel the phrase does not use
        status = rng.choice((0x80, 0x90, 0xA0, 0xB0, 0xC0, 0xD0, 0xE0)) | rng.randrange(1, 16)
        return [status] + [rng.randrange(128) for _ in range(1 if status & 0xF0 in (0xC0, 0xD0) else 2)]
    if kind < 0.45:  # realtime and system common
        return rng.choice(([0xF8], [0xFE], [0xF6], [0xF1, 5], [0xF3, 1], [0xF4], [0xF5], [0xF9], [0xFD]))
    if kind < 0.6:  # sysex, 1 byte to 16 KB
        return [0xF0] + [rng.randrange(128) for _ in range(rng.choice((1, 10, 100, 1000, 16_000)))] + [0xF7]
    if kind < 0.7:  # unterminated sysex
        return [0xF0] + [rng.randrange(128) for _ in range(rng.randrange(1, 200))]
    if kind < 0.8:  # data bytes with no status
        return [rng.randrange(128) for _ in range(rng.randrange(1, 4))]
    if kind < 0.9:  # a message cut short, or with a data byte out of range
        return rng.choice(([0x92], [0xB3, 7], [0x94, 200, 1], [0xE1, 0x80, 0x80]))
    # anything at all (python-rtmidi sends more than 3 bytes only as a sysex: F0, then any bytes, statuses too)
    junk = [rng.randrange(256) for _ in range(rng.randrange(1, 40))]
    return junk[:3] if len(junk) <= 3 else [0xF0, *junk]


@pytest.mark.parametrize("rig", [True, False], ids=["frames", "rtmidi"], indirect=True)
def test_floods_of_random_valid_and_invalid_midi(rig: JackRig) -> None:
    rng = random.Random(15)
    sender = _raw_sender(rig, "junk")
    try:
        for burst in range(4):
            if burst % 2:
                rig.play()  # half the floods arrive while the engine answers
            for _ in range(200):
                message = _random_message(rng)
                if message[0] == 0xF0 and len(message) > 16_380:
                    continue
                sender.send_message(message)
                INJECTED["random MIDI messages"] += 1
                time.sleep(0.001)
            time.sleep(0.3)
    finally:
        sender.close_port()
        sender.delete()
    assert rig.engine.status().malformed > 0, "malformed messages were seen, counted and reported"
    _answers_and_closes(rig, "floods of random MIDI")


def test_lost_note_offs(rig: JackRig) -> None:
    for i in range(6):
        rig.play(lose=PHRASE[i % len(PHRASE)][0])
        INJECTED["lost note-offs"] += 1
        rig.wait_hook(ev.AnswerPlanned, i + 1)
        _every_note_closed(rig, "a lost note-off")
    rig.player.send((CC, 123, 0))  # the player's All Notes Off clears what the engine thinks is held
    INJECTED["player All Notes Off"] += 1
    assert rig.engine.held_keys() == set()
    _answers_and_closes(rig, "lost note-offs")


def test_panic_barge_in_and_mode_switch_storms(rig: JackRig) -> None:
    rng = random.Random(3)
    for round_ in range(3):
        rig.play()
        rig.wait_hook(ev.AnswerPlanned, round_ + 1)
        for _ in range(40):
            action = rng.random()
            if action < 0.35:
                rig.engine.command(cmd.Panic())
                INJECTED["panics"] += 1
            elif action < 0.7:
                rig.engine.command(cmd.SetMode(rng.choice(MODES)))
                INJECTED["mode switches"] += 1
            else:
                pitch = rng.randrange(48, 84)
                rig.player.send((ON, pitch, 100))
                rig.player.send((OFF, pitch, 0))
                INJECTED["barge-ins"] += 1
            time.sleep(rng.uniform(0, 0.02))
        rig.engine.command(cmd.SetMode("call-response"))
        time.sleep(0.2)
    _answers_and_closes(rig, "panic, barge-in and mode-switch storms")


def test_bad_settings_live(rig: JackRig) -> None:
    bad = [("temperature", float("nan")), ("temperature", -1), ("bars", 0.1), ("bars", float("inf")), ("low", 200),
           ("high", -5), ("in_channel", 3.7), ("in_channel", 40), ("density", "loud"), ("mode", "jazz"),
           ("silence", -2), ("hold_bars", 0), ("bpm", 0), ("bpm", 10_000), ("no_such_setting", 1)]  # fmt: skip
    for _ in range(4):
        for name, value in bad:
            rig.engine.command(cmd.Set(name, value))
            INJECTED["bad live settings"] += 1
    rig.wait_hook(ev.EngineError, 4 * len(bad))  # each command is taken on the engine's thread, in order
    assert rig.engine.settings.bars == 1.0 and rig.engine.settings.mode == "call-response"
    refusals = [e.message for e in rig.events if isinstance(e, ev.EngineError)]
    assert len(refusals) == 4 * len(bad) and all(m.startswith("ConfigError: ") for m in refusals), refusals
    _answers_and_closes(rig, "bad live settings", refused=4 * len(bad))


def test_clock_transport_at_random_offsets_against_answers(jack_server) -> None:
    rig = _traced(JackRig(jack_server, bars=1.0))
    try:
        rng = random.Random(9)
        sender = _raw_sender(rig, "daw")
        try:
            for i in range(3):
                rig.play()
                rig.wait_hook(ev.AnswerPlanned, i + 1)
                for _ in range(25):
                    message = rng.choice(([0xFC], [0xFA], [0xFB], [0xF2, rng.randrange(128), rng.randrange(4)]))
                    sender.send_message(message)
                    INJECTED["clock Stop/Start/Continue/SPP"] += 1
                    time.sleep(rng.uniform(0, 0.04))
                sender.send_message([0xFA])
                time.sleep(0.3)
        finally:
            sender.close_port()
            sender.delete()
        _answers_and_closes(rig, "transport faults")
    finally:
        rig.close()


def test_connection_flapping(rig: JackRig, jack_server) -> None:
    player_port = jack_server.wait_for_port(f"play-{rig.uid}:player")
    for _ in range(12):
        rig.player.send((ON, 61, 90))
        subprocess.run(["jack_disconnect", player_port, rig.in_name], env=jack_server.env, capture_output=True)
        time.sleep(0.05)
        jack_server.connect(player_port, rig.in_name)
        rig.player.send((OFF, 61, 0))
        INJECTED["connection flaps"] += 1
        time.sleep(0.05)
    rig.engine.command(cmd.Panic())  # a note-off may have been sent while unplugged: panic clears the held key
    INJECTED["panics"] += 1
    _answers_and_closes(rig, "connection flapping")


def test_bad_files_and_settings_at_start_give_one_line_and_exit_2(tmp_path) -> None:
    bad_model = tmp_path / "bad.onnx"
    bad_model.write_bytes(b"not a model")
    bad_midi = tmp_path / "bad.mid"
    bad_midi.write_bytes(b"MThd\x00\x00\x00\x06\x00\x01\x00")
    runs = [
        ["demo", "--loopback", "--model", str(bad_model)],
        ["continue", str(bad_midi), "-o", str(tmp_path / "a.mid")],
        ["continue", str(tmp_path / "missing.mid"), "-o", str(tmp_path / "a.mid")],
        ["continue", str(bad_midi), "--bars", "nan", "-o", str(tmp_path / "a.mid")],
        ["run", "--api", "jack", "--max-phrase-bars", "0"],
        ["run", "--api", "jack", "--trigger-cc", "500"],
        ["run", "--api", "jack", "--panic-cc", "-1"],
        ["run", "--api", "jack", "--temperature", "nan"],
        ["run", "--api", "nosuchapi"],
        ["run", "--api", "jack", "--mode", "jazz"],
    ]
    for args in runs:
        result = subprocess.run([sys.executable, "-m", "cocomposer.app.cli", *args], cwd=ROOT, capture_output=True,
                                text=True, timeout=60, stdin=subprocess.DEVNULL)  # fmt: skip
        INJECTED["bad files and settings at start"] += 1
        assert result.returncode == 2, (args, result.stderr)
        assert "Traceback" not in result.stderr and result.stderr.strip(), (args, result.stderr)
