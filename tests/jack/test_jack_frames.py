"""JackFramesOut through a real JACK server: each message at its frame, in order, everything written before close
returns; and the scheduler over it closes every note it opens."""

from __future__ import annotations

import threading
import time
import uuid

import pytest

from cocomposer.engine.notes import ScheduledNote
from cocomposer.engine.scheduler import Scheduler
from cocomposer.errors import BackendLostError, PortError
from cocomposer.midi import ports
from cocomposer.midi.jack_frames import JackFramesIn, JackFramesOut
from cocomposer.midi.jack_frames_child import clock_offset_ns, jack_time_functions
from cocomposer.timing.clock import InternalClock
from tests.support.jack import assert_jack_xrun_explains, lost_or_doubled, unmatched

pytestmark = pytest.mark.jack


class FrameListener:
    """A JACK-Client input that records each message with the time of its frame (``perf_counter`` ns): when a
    synth would play it, exact to the frame."""

    def __init__(self, name: str) -> None:
        import jack

        self.client = jack.Client(name, no_start_server=True)
        self.port = self.client.midi_inports.register("in")
        get_time, frames_to_time = jack_time_functions(self.client)
        self.events: list[tuple[int, tuple[int, ...]]] = []
        self.cond = threading.Condition()

        @self.client.set_process_callback
        def process(_frames: int) -> None:
            base = self.client.last_frame_time
            got = [
                (frames_to_time(base + offset), tuple(bytes(data))) for offset, data in self.port.incoming_midi_events()
            ]
            if got:
                with self.cond:
                    self.events.extend((us * 1000 + self.offset_ns, message) for us, message in got)
                    self.cond.notify_all()

        self.client.activate()
        self.offset_ns = clock_offset_ns(get_time)
        self.frame_ns = 1e9 / self.client.samplerate

    def wait_for(self, count: int, timeout: float = 5.0) -> list[tuple[int, tuple[int, ...]]]:
        """The events once ``count`` arrived, or all that did within ``timeout`` (JACK may lose some in an xrun)."""
        with self.cond:
            self.cond.wait_for(lambda: len(self.events) >= count, timeout)
            return list(self.events)

    def close(self) -> None:
        self.client.deactivate()
        self.client.close()


@pytest.fixture
def listener(jack_server):
    listen = FrameListener(f"frames-listener-{uuid.uuid4().hex[:6]}")
    yield listen
    listen.close()


def _connected(jack_server, out: JackFramesOut, listener: FrameListener) -> None:
    jack_server.connect(out.jack_name, listener.port.name)
    deadline = time.monotonic() + 5.0
    while not listener.client.get_all_connections(listener.port) and time.monotonic() < deadline:
        time.sleep(0.01)


def _play(jack_server, out: JackFramesOut, listener: FrameListener) -> list[tuple[float, tuple[int, ...]]]:
    """40 notes 3.1 ms apart, each handed a whole lead early with its note-off, then a CC with no time."""
    _connected(jack_server, out, listener)
    start = time.perf_counter() + 0.1
    plan = []
    for i in range(40):
        t = start + i * 0.0031
        plan.append((t, (0x90, 40 + i, 100)))
        time.sleep(max(0.0, t - out.lead_seconds - time.perf_counter()))
        out.send_at((0x90, 40 + i, 100), t)
        out.send_at((0x80, 40 + i, 0), t)  # the same time: after the note-on, in the order sent
    out.send((0xB0, 123, 0))  # no time: as soon as possible
    return plan


def test_messages_land_at_their_frame_never_early_and_in_the_order_sent(jack_server, listener) -> None:
    xruns = jack_server.xruns()
    with ports.open_output(None, "jack", virtual_name="frames", client_name="frames-test", timed=True) as out:
        assert isinstance(out, JackFramesOut) and 0 < out.period_seconds < out.lead_seconds < 0.05
        plan = _play(jack_server, out, listener)
    got = listener.wait_for(81, timeout=1.0)  # close wrote everything the helper held before it returned
    notes = [m for i in range(40) for m in ((0x90, 40 + i, 100), (0x80, 40 + i, 0))]
    cc = (0xB0, 123, 0)
    received = [m for _, m in got]
    try:
        lost, doubled = lost_or_doubled([*notes, cc], received)
    except AssertionError:  # the CC with no time may pass the last note's period
        lost, doubled = lost_or_doubled([*notes[:-2], cc, *notes[-2:]], received)
    due = {message: t for t, message in plan}
    for arrived, message in got:
        if message in due:
            early_ms = (due[message] * 1e9 - arrived) / 1e6
            assert arrived >= due[message] * 1e9 - 1.5 * listener.frame_ns, f"{message} landed {early_ms} ms early"
    if skip := assert_jack_xrun_explains(jack_server, xruns, lost, doubled, len(notes) + 1):
        pytest.skip(skip)


def test_the_scheduler_over_frames_closes_every_note_it_opens(jack_server, listener) -> None:
    xruns = jack_server.xruns()
    with ports.open_output(None, "jack", virtual_name="frames", client_name="frames-test", timed=True) as out:
        sent: list[tuple[int, ...]] = []  # as handed: the scheduler's floor keeps their times in this order
        send_at = out.send_at
        out.send_at = lambda message, t: (sent.append(tuple(message)), send_at(message, t))[1]
        _play_and_cancel(jack_server, out, listener)
    sounding: set[int] = set()
    for status, pitch, *_rest in sent:  # what the scheduler sent: each note opened once, and closed
        if status & 0xF0 == 0x90:
            assert pitch not in sounding
            sounding.add(pitch)
        elif status & 0xF0 == 0x80:
            assert pitch in sounding
            sounding.discard(pitch)
    assert not sounding and any(m[0] & 0xF0 == 0x90 for m in sent)
    heard = listener.wait_for(len(sent), timeout=1.0)
    lost, doubled = lost_or_doubled(sent, [m for _, m in heard])  # what arrived is what was sent, in order
    left = unmatched(heard)  # so a note left sounding at the listener is one whose note-off JACK lost
    assert not left or lost or doubled, f"{left} left sounding at the listener, though nothing was lost or doubled"
    if skip := assert_jack_xrun_explains(jack_server, xruns, lost, doubled, len(sent)):
        pytest.skip(skip)


def _play_and_cancel(jack_server, out, listener: FrameListener) -> None:
    _connected(jack_server, out, listener)
    clock = InternalClock(300.0)
    scheduler = Scheduler(out, clock)
    assert scheduler.ahead == out.lead_seconds
    with scheduler:
        now = clock.beat_at(clock.now())
        scheduler.schedule(
            [ScheduledNote(now + 0.1 + i * 0.05, now + 0.1 + i * 0.05 + 0.2, 60 + i % 7, 90, 0, "a") for i in range(30)]
        )
        time.sleep(0.15)
        scheduler.cancel("a")  # mid-answer: sounding notes close, handed note-ons are closed after they sound
        scheduler.schedule([ScheduledNote(now + 2.0, now + 2.2, 72, 90, 0, "b")])
        time.sleep(0.1)


def test_a_helper_that_died_is_reported_lost_and_sends_fail_at_once(jack_server) -> None:
    out = JackFramesOut("frames-test", "x")
    try:
        assert out.lost is None
        out._process.kill()  # type: ignore[union-attr]
        out._process.wait(5)  # type: ignore[union-attr]
        assert "its JACK helper process ended" in (out.lost or "")
        with pytest.raises(BackendLostError, match="helper process ended"):
            out.send((0x90, 60, 100))
    finally:
        out.close()


def test_a_helper_that_cannot_start_is_a_port_error(jack_server, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JACK_DEFAULT_SERVER", "no-such-server-here")
    with pytest.raises(PortError, match="could not open virtual MIDI output 'x' through JACK-Client"):
        JackFramesOut("frames-test", "x")


def test_a_destination_that_vanished_is_a_port_error(jack_server) -> None:
    with pytest.raises(PortError, match="could not connect to 'gone:in'"):
        JackFramesOut("frames-test", "x", destination="gone:in")


# --- the input ------------------------------------------------------------------------------------------------------


def _sender(jack_server, name: str, to: str):
    import rtmidi

    midi = rtmidi.MidiOut(rtmidi.API_UNIX_JACK, name=name)
    midi.open_virtual_port("src")
    jack_server.connect(jack_server.wait_for_port(f"{name}:src"), to)
    return midi


def test_an_unterminated_sysex_is_counted_and_the_input_goes_on(jack_server) -> None:
    got: list[tuple[int, ...]] = []
    with ports.open_input(None, "jack", virtual_name="x", client_name="frames-in", frames=True) as port:
        port.start(lambda _t, message: got.append(message))
        sender = _sender(jack_server, f"snd-{uuid.uuid4().hex[:6]}", port.jack_name)
        try:
            deadline = time.monotonic() + 5
            while not got and time.monotonic() < deadline:  # until the connection carries
                sender.send_message((0xB0, 1, 2))
                time.sleep(0.02)
            sender.send_message((0xF0, 0x7D, 0x01))  # a sysex that never ends
            sender.send_message((0x90, 60, 100))
            deadline = time.monotonic() + 5
            while (0x90, 60, 100) not in got and time.monotonic() < deadline:
                time.sleep(0.01)
        finally:
            sender.close_port()
            sender.delete()
        assert (0x90, 60, 100) in got and port.malformed >= 1 and port.dropped == 0  # 2 if an xrun doubled it


def test_an_input_whose_helper_died_is_lost_and_its_reader_ends(jack_server) -> None:
    port = JackFramesIn("frames-in", "x")
    try:
        port.start(lambda _t, _message: None)
        assert port.lost is None
        port._process.kill()  # type: ignore[union-attr]
        port._process.wait(5)  # type: ignore[union-attr]
        assert "its JACK helper process ended" in (port.lost or "")
        port._thread.join(2)  # type: ignore[union-attr]
        assert not port._thread.is_alive()  # type: ignore[union-attr]
    finally:
        port.close()


def test_an_input_helper_that_cannot_start_is_a_port_error(jack_server, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JACK_DEFAULT_SERVER", "no-such-server-here")
    with pytest.raises(PortError, match="could not open virtual MIDI input 'x' through JACK-Client"):
        JackFramesIn("frames-in", "x")
