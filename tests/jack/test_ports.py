"""The port layer: name matching, backend choice and its errors, the fakes, and real ports through a JACK server."""

from __future__ import annotations

import bisect
import itertools
import os
import threading
import time
import uuid

import pytest
import rtmidi
from hypothesis import given
from hypothesis import strategies as st

from cocomposer.errors import ConfigError, PortError, PortNotFoundError
from cocomposer.midi import ports
from cocomposer.midi.jack_frames import JackFramesIn
from cocomposer.midi.ports import Message

TIMEOUT = 5.0
PROBE: Message = (0xBF, 119, 0)  # a CC on channel 16 that the tests send until the first one gets through
SEQUENCE: list[Message] = [(0x90, 60, 100), (0xF8,), (0xF0, 0x7D, 0x01, 0x02, 0xF7), (0x80, 60, 0)]


class Collector:
    """A sink that records ``(time, message)`` and lets a test wait on what arrived."""

    def __init__(self) -> None:
        self.events: list[tuple[int, Message]] = []
        self.threads: set[int] = set()
        self._cond = threading.Condition()

    def __call__(self, t: int, message: Message) -> None:
        with self._cond:
            self.events.append((t, message))
            self.threads.add(threading.get_ident())
            self._cond.notify_all()

    def wait_for_messages(self, count: int, timeout: float = TIMEOUT) -> list[tuple[int, Message]]:
        """The first `count` events that are not probes; fails the test if they do not come in time."""
        with self._cond:
            ok = self._cond.wait_for(lambda: len(self.real()) >= count, timeout)
            assert ok, f"got {self.real()} after {timeout} s, expected {count} messages"
            return self.real()[:count]

    def real(self) -> list[tuple[int, Message]]:
        return [(t, m) for t, m in self.events if m != PROBE]

    def has_probe(self) -> bool:
        with self._cond:
            return any(m == PROBE for _, m in self.events)

    def wait_probe(self, timeout: float) -> bool:
        with self._cond:
            return self._cond.wait_for(lambda: any(m == PROBE for _, m in self.events), timeout)


def prime(send, collector: Collector, timeout: float = TIMEOUT) -> None:
    """Send probes until one arrives, so the JACK connection is live before the messages under test."""
    deadline = time.monotonic() + timeout
    while not collector.has_probe():
        assert time.monotonic() < deadline, "no probe message got through the JACK connection"
        send(PROBE)
        collector.wait_probe(0.05)


# --- name matching -------------------------------------------------------------------------------------------------

AVAILABLE = [
    "Midi Through:Midi Through Port-0 14:0",
    "Keystation 49:Keystation 49 MIDI 1 20:0",
    "system:midi_capture_1",
]


def test_exact_name_wins_over_substring() -> None:
    assert ports.match_port("Keystation", ["Keystation 49", "Keystation"], "input") == 1


def test_unique_substring_matches_in_any_case() -> None:
    assert ports.match_port("keystation", AVAILABLE, "input") == 1


def test_jack_names_match_on_the_full_client_and_port_name() -> None:
    assert ports.match_port("system:midi_capture_1", AVAILABLE, "input") == 2
    assert ports.match_port("SYSTEM:midi", AVAILABLE, "input") == 2


def test_no_match_lists_the_available_ports() -> None:
    with pytest.raises(PortNotFoundError) as info:
        ports.match_port("Launchkey", AVAILABLE, "input")
    message = str(info.value)
    assert "no MIDI input port matches 'Launchkey'" in message
    assert all(name in message for name in AVAILABLE)
    assert "`cocomposer ports`" in message
    assert isinstance(info.value, LookupError)


def test_no_port_at_all_says_none() -> None:
    with pytest.raises(PortNotFoundError, match="no MIDI output port matches 'x'; available: none"):
        ports.match_port("x", [], "output")


def test_ambiguous_name_lists_the_candidates_only() -> None:
    with pytest.raises(PortNotFoundError, match="ambiguous") as info:
        ports.match_port("midi", AVAILABLE, "output")
    message = str(info.value)
    assert AVAILABLE[1] in message and AVAILABLE[2] in message and AVAILABLE[0] in message
    with pytest.raises(PortNotFoundError) as info:
        ports.match_port("49", [*AVAILABLE, "Keystation 49 (2)"], "output")
    assert "Keystation 49 (2)" in str(info.value) and "Midi Through" not in str(info.value)


def test_empty_name_is_a_config_error() -> None:
    with pytest.raises(ConfigError):
        ports.match_port("", AVAILABLE, "input")


@given(st.lists(st.text(min_size=1, max_size=12), min_size=1, max_size=8, unique=True), st.data())
def test_every_listed_name_opens_itself(names: list[str], data: st.DataObject) -> None:
    index = data.draw(st.integers(0, len(names) - 1))
    assert ports.match_port(names[index], names, "input") == index


# --- choosing a backend --------------------------------------------------------------------------------------------


def test_unknown_api_lists_the_valid_names() -> None:
    with pytest.raises(ConfigError) as info:
        ports.resolve_api("pipewire")
    assert isinstance(info.value, ValueError)
    for name in ("auto", "alsa", "jack", "coremidi", "winmm"):
        assert name in str(info.value)


def test_api_compiled_out_names_the_compiled_apis() -> None:
    missing = [name for name, api in ports.API_NAMES.items() if name != "auto" and api not in rtmidi.get_compiled_api()]
    if not missing:
        pytest.skip("every MIDI API is compiled into this python-rtmidi")
    with pytest.raises(PortError, match=r"not compiled.*get_compiled_api"):
        ports.resolve_api(missing[0])


def _no_jack() -> bool:
    raise AssertionError("JACK must not be probed when ALSA is there")


def test_auto_prefers_alsa_when_the_sequencer_exists(tmp_path) -> None:
    if rtmidi.API_LINUX_ALSA not in rtmidi.get_compiled_api():
        pytest.skip("ALSA is not compiled into this python-rtmidi")
    seq = tmp_path / "seq"
    seq.touch()
    assert (
        ports.resolve_api("auto", platform="linux", alsa_seq_path=seq, jack_reachable=_no_jack) == rtmidi.API_LINUX_ALSA
    )


def test_auto_falls_back_to_a_running_jack(tmp_path) -> None:
    api = ports.resolve_api("auto", platform="linux", alsa_seq_path=tmp_path / "seq", jack_reachable=lambda: True)
    assert api == rtmidi.API_UNIX_JACK


def test_auto_without_any_backend_says_what_to_do(tmp_path) -> None:
    with pytest.raises(PortError) as info:
        ports.resolve_api("auto", platform="linux", alsa_seq_path=tmp_path / "seq", jack_reachable=lambda: False)
    assert "jackd" in str(info.value) and "snd-seq" in str(info.value)


@pytest.mark.parametrize(("opener", "kind"), [(ports.open_input, "input"), (ports.open_output, "output")])
def test_windows_cannot_make_virtual_ports(opener, kind: str) -> None:
    with pytest.raises(PortError) as info:
        opener(None, api="winmm")
    message = str(info.value)
    assert f"MIDI {kind}" in message
    assert "loopMIDI" in message and "Windows MIDI Services" in message
    assert "--in" in message and "--out" in message


def test_explicit_jack_without_a_server_is_a_port_error(monkeypatch: pytest.MonkeyPatch) -> None:
    if rtmidi.API_UNIX_JACK not in rtmidi.get_compiled_api():
        pytest.skip("JACK is not compiled into this python-rtmidi")
    monkeypatch.setenv("JACK_DEFAULT_SERVER", f"cocomposer-absent-{uuid.uuid4().hex[:8]}")
    monkeypatch.setenv("JACK_NO_START_SERVER", "1")
    assert not ports.jack_server_reachable()
    with pytest.raises(PortError, match="Start a JACK server"):
        ports.open_input(None, api="jack")


# --- fakes ---------------------------------------------------------------------------------------------------------


def test_loopback_delivers_in_order_with_the_injected_clock() -> None:
    clock = itertools.count(1000, 10)
    midi_in, midi_out = ports.loopback_pair("loop", now_ns=lambda: next(clock))
    sink = Collector()
    with midi_in, midi_out:
        midi_in.start(sink)
        for message in SEQUENCE:
            midi_out.send(list(message))
        events = sink.wait_for_messages(len(SEQUENCE))
    assert events == [(1000 + 10 * i, m) for i, m in enumerate(SEQUENCE)]
    assert threading.get_ident() not in sink.threads


def test_loopback_keeps_what_was_sent_before_start() -> None:
    midi_in, midi_out = ports.loopback_pair("early")
    sink = Collector()
    with midi_in, midi_out:
        midi_out.send([0x90, 64, 1])
        midi_in.start(sink)
        assert [m for _, m in sink.wait_for_messages(1)] == [(0x90, 64, 1)]


def test_loopback_survives_a_failing_sink(caplog: pytest.LogCaptureFixture) -> None:
    midi_in, midi_out = ports.loopback_pair("fragile")
    sink = Collector()

    def fragile(t: int, message: Message) -> None:
        if message == (0xF8,):
            raise RuntimeError("boom")
        sink(t, message)

    with midi_in, midi_out:
        midi_in.start(fragile)
        midi_out.send([0xF8])
        midi_out.send([0xFA])
        assert [m for _, m in sink.wait_for_messages(1)] == [(0xFA,)]
    assert "fragile" in caplog.text


def test_closed_ports_refuse_to_work() -> None:
    midi_in, midi_out = ports.loopback_pair("closed")
    midi_out.close()
    midi_in.close()
    midi_in.close()
    with pytest.raises(PortError, match="closed"):
        midi_out.send([0x90, 60, 1])
    with pytest.raises(PortError):
        midi_in.start(Collector())


@pytest.mark.parametrize("bad", [[], [256], [0x90, -1, 3], [0x90, 60.0, 3]])
def test_bad_messages_are_refused(bad: list) -> None:
    with ports.RecordingOut() as out, pytest.raises(ConfigError):
        out.send(bad)


def test_recording_out_records_times_and_wakes_waiters() -> None:
    clock = itertools.count(5)
    out = ports.RecordingOut("rec", now=lambda: next(clock))
    assert not out.wait_for(lambda events: len(events) >= 1, timeout=0.01)
    sender = threading.Thread(target=lambda: [out.send(m) for m in SEQUENCE])
    sender.start()
    assert out.wait_for(lambda events: events[-1:] == [(8, SEQUENCE[-1])], timeout=TIMEOUT)
    sender.join()
    assert out.events == [(5 + i, m) for i, m in enumerate(SEQUENCE)]
    assert out.messages == SEQUENCE
    out.close()
    with pytest.raises(PortError):
        out.send([0xF8])


def test_message_helpers() -> None:
    assert ports.is_note_on((0x93, 60, 1)) and not ports.is_note_off((0x93, 60, 1))
    assert ports.is_note_off((0x93, 60, 0)) and not ports.is_note_on((0x93, 60, 0))
    assert ports.is_note_off((0x8F, 60, 64))
    assert not ports.is_note_on((0xF8,)) and not ports.is_note_off((0xB0, 64, 0))
    assert ports.channel_of((0x9A, 60, 1)) == 10 and ports.channel_of((0xF8,)) is None and ports.channel_of(()) is None
    assert ports.with_channel((0x90, 60, 1), 9) == (0x99, 60, 1)
    with pytest.raises(ConfigError):
        ports.with_channel((0xF8,), 1)


# --- real ports through JACK ---------------------------------------------------------------------------------------


@pytest.fixture
def uid() -> str:
    return uuid.uuid4().hex[:8]


@pytest.fixture
def sender(jack_server, uid: str):
    """A JACK client outside cocomposer with one output port, `sender-UID:src-UID`."""
    midi = rtmidi.MidiOut(rtmidi.API_UNIX_JACK, name=f"sender-{uid}")
    midi.open_virtual_port(f"src-{uid}")
    yield midi
    midi.close_port()
    midi.delete()


@pytest.fixture
def receiver(jack_server, uid: str):
    """A JACK client outside cocomposer with one input port, `receiver-UID:dst-UID`, and what it received. Read by
    polling: python-rtmidi's callback path garbles messages that arrive several in one JACK period (seen here: one
    note-on delivered four times in place of a note-on, a clock, a sysex and a note-off)."""
    sink = Collector()
    midi = rtmidi.MidiIn(rtmidi.API_UNIX_JACK, name=f"receiver-{uid}")
    midi.ignore_types(sysex=False, timing=False, active_sense=True)
    midi.open_virtual_port(f"dst-{uid}")
    stop = threading.Event()

    def poll() -> None:
        while not stop.is_set():
            event = midi.get_message()
            if event is None:
                time.sleep(0.0005)
            else:
                sink(time.perf_counter_ns(), tuple(event[0]))

    reader = threading.Thread(target=poll, daemon=True)
    reader.start()
    yield midi, sink
    stop.set()
    reader.join(5)
    midi.close_port()
    midi.delete()


def _check_sequence(events: list[tuple[int, Message]]) -> None:
    assert [m for _, m in events] == SEQUENCE
    times = [t for t, _ in events]
    # Non-decreasing: messages that arrive in one JACK period carry one time.
    assert times == sorted(times), f"timestamps go backwards: {times}"


@pytest.mark.jack
def test_virtual_input_receives_in_order_through_rtmidi(jack_server, sender, uid: str) -> None:
    stamps: list[tuple[int, int]] = []

    def clock() -> int:
        stamps.append((threading.get_ident(), now := time.perf_counter_ns()))
        return now

    sink = Collector()
    with ports.open_input(None, api="jack", virtual_name=f"in-{uid}", client_name=f"cc-{uid}", now_ns=clock) as ours:
        assert ours.name == f"in-{uid}"
        ours.start(sink)
        jack_server.connect(jack_server.wait_for_port(f"src-{uid}"), jack_server.wait_for_port(f":in-{uid}"))
        prime(sender.send_message, sink)
        for message in SEQUENCE:
            sender.send_message(message)
        events = sink.wait_for_messages(len(SEQUENCE))
    _check_sequence(events)
    # Each batch is stamped from one reading of the injected clock, earlier messages backwards by RtMidi's deltas.
    readings = sorted(t for _, t in stamps)
    for t, _ in events:
        reading = readings[bisect.bisect_left(readings, t)] if t <= readings[-1] else None
        assert reading is not None and reading - t < 50_000_000, "timestamps come from the injected clock"
    assert threading.get_ident() not in sink.threads, "the sink runs on the port's own thread"


@pytest.mark.jack
def test_virtual_input_receives_in_order_through_frames(jack_server, sender, uid: str) -> None:
    sink = Collector()
    with ports.open_input(None, api="jack", virtual_name=f"in-{uid}", client_name=f"cc-{uid}", frames=True) as ours:
        assert isinstance(ours, JackFramesIn) and ours.name == f"in-{uid}" and ours.jack_name.endswith(f":in-{uid}")
        ours.start(sink)
        jack_server.connect(jack_server.wait_for_port(f"src-{uid}"), ours.jack_name)
        prime(sender.send_message, sink)
        sent_at = []
        for message in SEQUENCE:
            sent_at.append(time.perf_counter_ns())
            sender.send_message(message)
        events = sink.wait_for_messages(len(SEQUENCE))
        handed = time.perf_counter_ns()
    _check_sequence(events)
    # Stamped by the frame each message came in (on perf_counter), never after the sink had it.
    assert all(sent_at[0] - 5_000_000 <= t <= handed for t, _ in events), (sent_at[0], handed, events)
    assert threading.get_ident() not in sink.threads, "the sink runs on the port's own thread"


@pytest.mark.jack
@pytest.mark.parametrize("timed", [False, True], ids=["rtmidi", "frames"])
def test_virtual_output_sends_in_order(jack_server, receiver, uid: str, timed: bool) -> None:
    _, sink = receiver
    with ports.open_output(None, api="jack", virtual_name=f"out-{uid}", client_name=f"cc-{uid}", timed=timed) as ours:
        assert getattr(ours, "timed", False) is timed
        jack_server.connect(jack_server.wait_for_port(f":out-{uid}"), jack_server.wait_for_port(f"dst-{uid}"))
        prime(ours.send, sink)
        for message in SEQUENCE:
            ours.send(message)
        _check_sequence(sink.wait_for_messages(len(SEQUENCE)))


@pytest.mark.jack
@pytest.mark.parametrize("timed", [False, True], ids=["rtmidi", "frames"])
def test_open_existing_ports_by_unique_substring(jack_server, sender, receiver, uid: str, timed: bool) -> None:
    _, received = receiver
    sink = Collector()
    with (
        ports.open_input(f"SRC-{uid}", api="jack", client_name=f"cc-{uid}", frames=timed) as ours_in,
        ports.open_output(f"dst-{uid}", api="jack", client_name=f"cc-{uid}", timed=timed) as ours_out,
    ):
        assert ours_in.name == f"sender-{uid}:src-{uid}"
        assert ours_out.name == f"receiver-{uid}:dst-{uid}"
        ours_in.start(sink)
        prime(sender.send_message, sink)
        prime(ours_out.send, received)
        for message in SEQUENCE:
            sender.send_message(message)
            ours_out.send(message)
        _check_sequence(sink.wait_for_messages(len(SEQUENCE)))
        _check_sequence(received.wait_for_messages(len(SEQUENCE)))


@pytest.mark.jack
@pytest.mark.parametrize("frames", [False, True], ids=["rtmidi", "frames"])
def test_unknown_port_on_jack_lists_what_is_there(jack_server, sender, uid: str, frames: bool) -> None:
    with pytest.raises(PortNotFoundError, match=rf"no MIDI input port matches 'nothing-{uid}'.*src-{uid}"):
        ports.open_input(f"nothing-{uid}", api="jack", frames=frames)


@pytest.mark.jack
def test_list_ports_shows_the_virtual_ports(jack_server, uid: str) -> None:
    with (
        ports.open_input(None, api="jack", virtual_name=f"in-{uid}", client_name=f"cc-{uid}"),
        ports.open_output(None, api="jack", virtual_name=f"out-{uid}", client_name=f"cc-{uid}"),
    ):
        inputs, outputs = ports.list_ports("jack")
        # our virtual output is a source others receive from; our virtual input is a destination others send to
        assert [p for p in inputs if p.endswith(f":out-{uid}")], inputs
        assert [p for p in outputs if p.endswith(f":in-{uid}")], outputs
    inputs, outputs = ports.list_ports("jack")
    assert not [p for p in inputs + outputs if uid in p], "closed ports must disappear"


@pytest.mark.jack
def test_auto_picks_the_running_jack(jack_server) -> None:
    if os.path.exists("/dev/snd/seq"):
        pytest.skip("this machine has the ALSA sequencer, which auto prefers")
    assert ports.resolve_api("auto") == rtmidi.API_UNIX_JACK
    assert ports.jack_server_reachable()
