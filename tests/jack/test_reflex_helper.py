"""The reflex of the engine's JACK helper (both ports in one JACK-Client helper, ``ports.open_jack_pair``): armed
with an answer's first notes, it plays them in the period that reads the end-of-phrase control, and tells the input
before the control itself; a note-on first, a disarm, or a deadline gone by keeps it quiet."""

from __future__ import annotations

import threading
import time
import uuid

import pytest

from cocomposer.midi import ports
from tests.jack.test_jack_frames import FrameListener, _connected, _sender

pytestmark = pytest.mark.jack

CC = 85


@pytest.fixture
def rig(jack_server):
    pair = ports.open_jack_pair(None, None, "jack", client_name=f"reflex-{uuid.uuid4().hex[:6]}")
    assert pair is not None, "JACK-Client is there: the pair opens as one helper"
    midi_in, midi_out = pair
    got: list[tuple[float, tuple[int, ...]]] = []
    fired: list[tuple[int, float, bool]] = []  # (id, sounds at, whether the input had handed the control on)
    cond = threading.Condition()

    def sink(t_ns: int, message: tuple[int, ...]) -> None:
        with cond:
            got.append((t_ns / 1e9, message))
            cond.notify_all()

    def on_fired(ident: int, t: float) -> None:
        with cond:
            fired.append((ident, t, any(m[:2] == (0xB0, CC) for _, m in got)))

    midi_in.on_fired = on_fired
    midi_in.start(sink)
    # python-rtmidi opens its JACK client holding the GIL: opened after a Python JACK client of this process, it
    # waited 10 s for that client's callback
    player = _sender(jack_server, f"snd-{uuid.uuid4().hex[:6]}", midi_in.jack_name)
    listener = FrameListener(f"reflex-listener-{uuid.uuid4().hex[:6]}")
    _connected(jack_server, midi_out, listener)  # type: ignore[arg-type]

    def heard(message: tuple[int, ...]) -> tuple[float, tuple[int, ...]]:
        with cond:
            assert cond.wait_for(lambda: any(m == message for _, m in got), 5.0), (
                f"the input heard {got}; {midi_in.lost}: {midi_in._end() if midi_in.lost else ''}"
            )
            return next(item for item in got if item[1] == message)

    def settle() -> None:  # until the player's connection carries (an unknown CC both ways)
        deadline = time.monotonic() + 5
        while not any(m == (0xB0, 3, 0) for _, m in got) and time.monotonic() < deadline:
            player.send_message((0xB0, 3, 0))
            time.sleep(0.02)

    settle()
    yield midi_in, midi_out, player, listener, fired, heard
    listener.close()  # first, for the same reason
    player.close_port()
    player.delete()
    midi_out.close()
    midi_in.close()


def test_the_armed_notes_sound_in_the_period_that_reads_the_control(rig) -> None:
    midi_in, midi_out, player, listener, fired, heard = rig
    assert midi_out.reflex and midi_in.jack_name.split(":")[0] == midi_out.jack_name.split(":")[0], "one client"
    midi_out.arm(7, CC, None, time.perf_counter() + 10, [(0x91, 64, 80), (0x91, 67, 80)])
    time.sleep(0.05)  # the arm reaches the helper
    sent = time.perf_counter()
    player.send_message((0xB0, CC, 127))
    stamp, _ = heard((0xB0, CC, 127))
    events = listener.wait_for(2)
    assert [m for _, m in events] == [(0x91, 64, 80), (0x91, 67, 80)], "the armed notes, once, in order"
    period = 1.0 / listener.frame_ns * 1e9 and listener.client.blocksize / listener.client.samplerate
    sounded = events[0][0] / 1e9
    assert len(fired) == 1 and fired[0][0] == 7 and not fired[0][2], "told before the control was handed on"
    assert abs(fired[0][1] - sounded) < 1e-4, "at the time it said"
    assert 0 <= sounded - stamp <= period + 1e-4, "one period after the control was played, at its frame"
    assert sounded - sent <= 2 * period + 0.002, f"{(sounded - sent) * 1e3:.2f} ms from the send"
    midi_out.send_at((0x81, 64, 0), None)
    midi_out.send_at((0x81, 67, 0), None)
    player.send_message((0xB0, CC, 127))  # fired once: a second control plays nothing
    heard_twice = listener.wait_for(5, timeout=0.5)
    assert [m for _, m in heard_twice] == [(0x91, 64, 80), (0x91, 67, 80), (0x81, 64, 0), (0x81, 67, 0)]


@pytest.mark.parametrize("first", ["note-on", "disarm", "deadline", "other control", "low value"])
def test_the_reflex_stays_quiet(rig, first: str) -> None:
    _, midi_out, player, listener, fired, heard = rig
    deadline = time.perf_counter() + (0.01 if first == "deadline" else 10)
    midi_out.arm(3, CC, 0, deadline, [(0x90, 70, 90)])
    time.sleep(0.05)
    if first == "note-on":
        player.send_message((0x90, 60, 100))
        heard((0x90, 60, 100))
    elif first == "disarm":
        midi_out.disarm()
        time.sleep(0.05)
    elif first == "other control":
        player.send_message((0xB0, CC + 1, 127))
        heard((0xB0, CC + 1, 127))
    elif first == "low value":
        player.send_message((0xB0, CC, 10))
        heard((0xB0, CC, 10))
    player.send_message((0xB0, CC, 127))
    heard((0xB0, CC, 127))
    time.sleep(0.05)
    expected = [] if first != "low value" and first != "other control" else [(0x90, 70, 90)]
    if first in ("other control", "low value"):  # neither fires it: the real control after them does
        assert [m for _, m in listener.wait_for(1)] == expected and len(fired) == 1
    else:
        assert listener.wait_for(1, timeout=0.2) == [] and fired == []


def test_the_reflex_listens_on_its_channel_only(rig) -> None:
    _, midi_out, player, listener, fired, heard = rig
    midi_out.arm(4, CC, 2, time.perf_counter() + 10, [(0x90, 70, 90)])
    time.sleep(0.05)
    player.send_message((0xB0, CC, 127))  # channel 1 (0): not the armed channel
    heard((0xB0, CC, 127))
    assert listener.wait_for(1, timeout=0.2) == [] and fired == []
    player.send_message((0xB2, CC, 127))
    heard((0xB2, CC, 127))
    assert [m for _, m in listener.wait_for(1)] == [(0x90, 70, 90)] and [f[0] for f in fired] == [4]


def test_a_struck_note_nothing_closed_is_closed_when_the_helper_ends(rig) -> None:
    midi_in, midi_out, player, listener, fired, heard = rig
    midi_out.arm(9, CC, None, time.perf_counter() + 10, [(0x90, 71, 80)])
    time.sleep(0.05)
    player.send_message((0xB0, CC, 127))
    heard((0xB0, CC, 127))
    assert [m for _, m in listener.wait_for(1)] == [(0x90, 71, 80)] and fired
    midi_out.close()
    midi_in.close()  # the engine died without closing it: the helper does, on its way out
    assert [m for _, m in listener.wait_for(2)] == [(0x90, 71, 80), (0x80, 71, 0)]
