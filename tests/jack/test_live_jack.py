"""The live instrument end to end through a real JACK server (dummy driver).

The engine opens virtual "cocomposer in" / "cocomposer out" ports under a client name of its own per test; a test
client plays into the first and listens on the second, timestamping arrivals on the clock the engine uses. Last,
`cocomposer run` itself runs as a subprocess and is stopped with SIGINT and SIGTERM while its answer sounds.
"""

from __future__ import annotations

import collections
import contextlib
import math
import signal
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

import pytest
import rtmidi

from cocomposer.engine import commands as cmd
from cocomposer.engine import events as ev
from cocomposer.engine.core import Engine
from cocomposer.engine.scheduler import ScheduledNote
from cocomposer.engine.settings import Settings
from cocomposer.midi import ports
from cocomposer.model.runtime import OnnxModel
from tests.support.jack import unmatched
from tests.support.midi import note_ons

pytestmark = pytest.mark.jack

E = TypeVar("E")
BPM = 240.0
BEAT = 60.0 / BPM
TIMEOUT = 15.0
TOLERANCE = 0.06  # seconds: JACK periods, thread wake-ups and a loaded machine
ON, OFF, CC = 0x90, 0x80, 0xB0
PROBE: ports.Message = (0xBF, 119, 0)
LAST: ports.Message = (0xBF, 119, 1)
PHRASE = [(60, 0.0, 0.5), (62, 0.5, 1.0), (64, 1.0, 1.5), (67, 1.5, 2.0)]
ROOT = Path(__file__).resolve().parents[2]


class Arrivals:
    """What a listening port received, as (seconds, message), with waiting."""

    def __init__(self) -> None:
        self.events: list[tuple[float, ports.Message]] = []
        self.cond = threading.Condition()

    def __call__(self, t_ns: int, message: ports.Message) -> None:
        with self.cond:
            self.events.append((t_ns / 1e9, message))
            self.cond.notify_all()

    def wait(self, predicate: Callable[[list[tuple[float, ports.Message]]], bool], what: str) -> None:
        with self.cond:
            ok = self.cond.wait_for(lambda: predicate(self.events), TIMEOUT)
            assert ok, f"{what}; received {self.events[-40:]}"

    def snapshot(self) -> list[tuple[float, ports.Message]]:
        with self.cond:
            return [(t, m) for t, m in self.events if m != PROBE]


class PollingListener:
    """A JACK MIDI input read by polling on a thread of its own, handing ``(time_ns, message)`` to ``sink``.

    The tests listen this way rather than through a python-rtmidi callback: python-rtmidi 1.5.8's JACK input loses
    and garbles messages that arrive several in one JACK period when read through a callback (see
    ``test_a_burst_into_a_jack_input_arrives_whole``), while polling reads them exactly.
    """

    def __init__(self, sink: Callable[[int, ports.Message], None], client_name: str, port: str | None = None,
                 virtual_name: str = "listener") -> None:  # fmt: skip
        self._midi = rtmidi.MidiIn(rtmidi.API_UNIX_JACK, name=client_name)
        self._midi.ignore_types(sysex=False, timing=False, active_sense=True)
        if port is None:
            self._midi.open_virtual_port(virtual_name)
        else:
            self._midi.open_port(self._midi.get_ports().index(port), virtual_name)
        self._sink, self._stop = sink, threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"listener {client_name}", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            event = self._midi.get_message()
            if event is None:
                time.sleep(0.0005)
            else:
                self._sink(time.perf_counter_ns(), tuple(event[0]))

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self._midi.close_port()
        self._midi.delete()


def all_closed(events: list[tuple[float, ports.Message]]) -> bool:
    return not unmatched([(t, m) for t, m in events if m != PROBE])


def play(send: Callable[[ports.Message], None], notes: Sequence[tuple[int, float, float]], beat_time: Callable,
         start: float, lose: int | None = None) -> float:  # fmt: skip
    """Send (pitch, on, off) notes at ``beat_time(start + beat)``, except the note-off of pitch ``lose``; returns
    the time of the last note-off."""
    events = sorted([(on, 1, p) for p, on, _ in notes] + [(off, 0, p) for p, _, off in notes], key=lambda e: e[:2])
    for beat, is_on, pitch in events:
        due = beat_time(start + beat)
        while (left := due - time.perf_counter()) > 0:
            time.sleep(min(left, 0.003))
        if is_on or pitch != lose:
            send((ON, pitch, 90) if is_on else (OFF, pitch, 0))
    return time.perf_counter()


class JackRig:
    """The engine on virtual JACK ports "cocomposer in" / "cocomposer out", opened as ``cocomposer run`` opens them
    (one JACK-Client helper, client ``cc-UID``, with the reflex; ``frames=False``: python-rtmidi's, clients
    ``cc-in-UID`` and ``cc-out-UID``), and a test client playing and listening."""

    def __init__(self, jack_server, frames: bool = True, **settings: object) -> None:
        self.uid = uuid.uuid4().hex[:8]
        self.frames = frames  # the engine's ports as `cocomposer run` opens them on JACK (else python-rtmidi's)
        self.settings = Settings(**{"bpm": BPM, "bars": 2.0, "density": 2.0, "low": 48, "high": 84, **settings})
        self.opened: list[ports.MidiIn | ports.MidiOut] = []
        self.engine: Engine | None = None
        try:
            self._open(jack_server)
        except BaseException:
            self.close()
            raise

    def _open(self, jack_server) -> None:
        uid = self.uid
        if self.frames:  # one helper for both, with the reflex
            pair = ports.open_jack_pair(None, None, "jack", client_name=f"cc-{uid}")
            assert pair is not None, "JACK-Client is there"
            engine_in, engine_out = self._keep(pair[0]), self._keep(pair[1])
            in_client = out_client = f"cc-{uid}"
        else:
            in_client, out_client = f"cc-in-{uid}", f"cc-out-{uid}"
            engine_in = self._keep(ports.open_input(None, "jack", virtual_name="cocomposer in", client_name=in_client))
            engine_out = self._keep(
                ports.open_output(None, "jack", virtual_name="cocomposer out", client_name=out_client)
            )
        self.engine = Engine(OnnxModel.load(), engine_in, engine_out, self.settings, seed=5)
        self.scheduled: list[ScheduledNote] = []  # every note the generator handed to the scheduler
        self.events: list[ev.Event] = []
        self.hook_cond = threading.Condition()
        self.engine.subscribe(self._on_event)
        self.in_name = jack_server.wait_for_port(f"{in_client}:cocomposer in")
        out_name = jack_server.wait_for_port(f"{out_client}:cocomposer out")
        self.arrivals = Arrivals()
        self._keep(PollingListener(self.arrivals, f"hear-{uid}", out_name))
        self.player = self._keep(
            ports.open_output(self.in_name, "jack", virtual_name="player", client_name=f"play-{uid}")
        )
        self.engine.start()
        self._prime()

    def _keep(self, port):
        self.opened.append(port)
        return port

    def _prime(self) -> None:
        """Probe both connections until a message gets through each, so none under test is lost to set-up."""
        deadline = time.monotonic() + TIMEOUT
        while self.engine.stats.received == 0 or not any(m == PROBE for _, m in self.arrivals.events):
            assert time.monotonic() < deadline, "the JACK connections did not come up"
            self.player.send(PROBE)
            self.engine.scheduler.send_now(PROBE)
            time.sleep(0.02)

    def _on_event(self, event: ev.Event) -> None:
        with self.hook_cond:
            self.events.append(event)
            if isinstance(event, ev.NotesScheduled):
                self.scheduled.extend(n for n in event.notes if n.ended)  # as planned, once ended
            self.hook_cond.notify_all()

    def hooked_note_in(self) -> list[tuple[str, int]]:
        with self.hook_cond:
            return [("on" if e.on else "off", e.pitch) for e in self.events if isinstance(e, ev.NoteIn)]

    def wait_hook(self, kind: type[E], count: int = 1) -> list[E]:
        with self.hook_cond:
            ok = self.hook_cond.wait_for(lambda: sum(isinstance(e, kind) for e in self.events) >= count, TIMEOUT)
            seen = [type(e).__name__ for e in self.events][-30:]
            assert ok, f"no {kind.__name__} event after {TIMEOUT} s; events {seen}"
            return [e for e in self.events if isinstance(e, kind)]

    def play(self, notes: Sequence[tuple[int, float, float]] = PHRASE, lose: int | None = None) -> tuple[float, float]:
        """Play from the next beat (never sending the note-off of pitch ``lose``); returns (beat, time) of the
        phrase's last note-off."""
        clock = self.engine  # the facade: beat_at, time_at
        start = math.ceil(clock.beat_at(time.perf_counter()) + 0.25)
        t_end = play(self.player.send, notes, clock.time_at, start, lose)
        return start + max(off for _, _, off in notes), t_end

    def wait_first_note(self) -> float:
        self.arrivals.wait(lambda events: bool(note_ons(events)), "the answer arrives")
        return note_ons(self.arrivals.snapshot())[0][0]

    def close(self) -> None:
        """Stop the engine and close the ports, with no message in flight towards an input being closed.

        python-rtmidi's JACK input can hang when a message arrives while it closes (its callback races the close),
        so the engine's input is closed only after a last marker sent to it has arrived: all before it has too.
        """
        try:
            if self.engine is not None and self.engine.state != "stopped":
                received = self.engine.stats.received
                self.player.send(PROBE)
                deadline = time.monotonic() + 5
                while self.engine.stats.received <= received and time.monotonic() < deadline:
                    time.sleep(0.005)
                self.engine.stop()
                self.engine.midi_out.send(LAST)
                self.arrivals.wait(lambda events: any(m == LAST for _, m in events), "the last message arrives")
        finally:
            if self.engine is not None:
                self.engine.stop()
            for port in reversed(self.opened):
                port.close()


@pytest.fixture
def jack_rig(jack_server):
    made: list[JackRig] = []

    def make(**settings: object) -> JackRig:
        made.append(JackRig(jack_server, **settings))
        return made[-1]

    yield make
    for rig in made:
        rig.close()


def test_the_end_of_phrase_control_plays_the_drafted_first_note_through_the_reflex(jack_rig) -> None:
    """Through the real helper: the draft's first note-on is armed, the control fires it, the answer claims it
    (sounding once), and every note closes. The control must reach the helper while the draft is still the one to
    take over (its tick): a loaded machine may miss that, so up to five phrases are tried."""
    rig = jack_rig(quantize="off", phrase_end_cc=85, silence=16.0, bars=0.5)
    reflex = rig.engine.reflex
    assert reflex.enabled, "the pair gives the engine a reflex"
    for _ in range(5):
        rig.play()
        first = reflex.armed
        deadline = time.monotonic() + TIMEOUT
        while (armed := reflex.armed) is None or armed is first:  # a fresh arm: its tick has just begun
            assert time.monotonic() < deadline, "the engine armed the reflex with a draft"
            time.sleep(0.001)
        rig.player.send((0xB0, 85, 127))
        planned = rig.wait_hook(ev.AnswerPlanned)[-1]
        rig.arrivals.wait(lambda e, end=planned.end_beat: rig.engine.beat_at(time.perf_counter()) > end + 0.5, "end")
        if reflex.fired:
            break
    assert reflex.fired == 1 and reflex.claimed == 1, "it fired, and the answer took its note over"
    rig.arrivals.wait(all_closed, "every note-on gets its note-off")
    heard = rig.arrivals.snapshot()
    sounding: set[tuple[int, int]] = set()
    for _, m in heard:  # no key sounds twice over: the claimed note was not sent again
        key = (m[0] & 0x0F, m[1])
        if m[0] & 0xF0 == 0x90 and m[2] > 0:
            assert key not in sounding, f"{m} while it sounds: {heard}"
            sounding.add(key)
        elif m[0] & 0xF0 in (0x80, 0x90):
            sounding.discard(key)
    with rig.hook_cond:
        control = [e for e in rig.events if isinstance(e, ev.ControlIn) and e.number == 85][-1]
        out = [e for e in rig.events if isinstance(e, ev.NoteOut) and e.on and e.tag == "answer"]
    out = [e for e in out if e.time >= control.time]
    period = rig.engine.midi_out.period_seconds  # type: ignore[attr-defined]
    assert out[0].time - control.time >= period - 1e-4, "a period after the control was played, never sooner"
    assert (out[0].pitch, out[0].channel) == (armed.pitches[0], armed.channel + 1)


def test_a_phrase_through_jack_is_answered_in_time(jack_rig) -> None:
    rig = jack_rig(quantize="beat")
    end_beat, _ = rig.play()
    phrase_end = end_beat + rig.settings.silence
    planned = rig.wait_hook(ev.AnswerPlanned)[0]
    first_arrival = rig.wait_first_note()
    rig.arrivals.wait(lambda e: rig.engine.beat_at(time.perf_counter()) > planned.end_beat, "answer end")
    rig.arrivals.wait(all_closed, "every note-on gets its note-off")
    clock = rig.engine
    start = rig.wait_hook(ev.AnswerRequested)[0].start_beat
    assert start == round(start) and phrase_end - 1e-6 <= start <= phrase_end + 1 + TOLERANCE / BEAT
    ons = note_ons(rig.arrivals.snapshot())
    assert all(48 <= p <= 84 for _, p in ons), ons
    first_pitch = ons[0][1]
    assert first_arrival == ons[0][0]
    first_beat = clock.beat_at(first_arrival)
    assert first_beat >= phrase_end - TOLERANCE / BEAT, "the first note never comes before the phrase ended"
    planned_note = min(
        (n for n in rig.scheduled if n.pitch == first_pitch),
        key=lambda n: abs(clock.time_at(n.start_beat) - first_arrival),
    )
    assert abs(first_arrival - clock.time_at(planned_note.start_beat)) <= TOLERANCE, "it arrives when planned"
    assert planned_note.start_beat >= start - 1e-6
    if planned_note.start_beat == start:  # the model began on the beat: the first note is in the window
        assert phrase_end - TOLERANCE / BEAT <= first_beat <= phrase_end + 1 + TOLERANCE / BEAT


def test_barge_in_through_jack_stops_the_answer_at_once(jack_rig) -> None:
    rig = jack_rig(bars=4.0, low=40, high=59)
    rig.play()
    rig.wait_first_note()
    rig.player.send((ON, 79, 100))
    t_barge = time.perf_counter()
    rig.wait_hook(ev.AnswerCancelled)
    rig.arrivals.wait(all_closed, "the answer's notes are closed")
    margin = 0.05
    late = [(t - t_barge, p) for t, p in note_ons(rig.arrivals.snapshot()) if t > t_barge + margin]
    assert not late, f"answer notes after the barge-in: {late}"
    rig.player.send((OFF, 79, 0))


def test_panic_through_jack_closes_everything(jack_rig) -> None:
    rig = jack_rig(bars=4.0)
    rig.play()
    rig.wait_first_note()
    rig.engine.command(cmd.Panic())
    rig.wait_hook(ev.Panicked)
    t_panic = time.perf_counter()
    rig.arrivals.wait(all_closed, "panic closes every note")
    rig.arrivals.wait(lambda events: any(m[1:] == (123, 0) and m[0] & 0xF0 == CC for _, m in events), "CC 123")
    late = [p for t, p in note_ons(rig.arrivals.snapshot()) if t > t_panic + 0.05]
    assert not late


def test_a_lost_note_off_through_jack_does_not_stop_the_next_phrase_being_answered(jack_rig) -> None:
    """A key goes down and its note-off is never sent (a cable pulled, a message JACK dropped): the phrase is
    answered once the key passes the hold limit, and the next phrase is answered after its own silence."""
    rig = jack_rig(bars=1.0, hold_bars=1.0)  # 1 bar = 1 s at 240 BPM
    rig.play(lose=PHRASE[-1][0])
    rig.wait_hook(ev.AnswerPlanned)
    assert rig.engine.held_keys() == set(), "the key past the hold limit counts as released"
    rig.arrivals.wait(all_closed, "the first answer closes")
    end_beat, _ = rig.play()
    requested = rig.wait_hook(ev.AnswerRequested, 2)[-1]
    assert requested.start_beat <= end_beat + rig.settings.silence + 1 + TOLERANCE / BEAT, "answered after its silence"
    rig.wait_hook(ev.AnswerPlanned, 2)
    rig.arrivals.wait(all_closed, "every note closed")


def test_a_flood_from_another_client_does_not_stop_the_answer(jack_server, jack_rig) -> None:
    rig = jack_rig()
    flooder = ports.open_output(rig.in_name, "jack", virtual_name="flood", client_name=f"flood-{rig.uid}")
    stop = threading.Event()
    sent = [0]
    phrase_pitches = {p for p, _, _ in PHRASE}

    def flood() -> None:  # about 1000 messages a second, in 10 ms bursts
        i = 0
        while not stop.is_set():
            for _ in range(10):
                ch = i % 16
                pitch = 20 + i % 100
                message = [
                    (0xF0, 0x7D, i % 128, 0xF7),
                    (0xF8,),
                    (0xE0 | ch, i % 128, 64),
                    (OFF | ch, pitch if pitch not in phrase_pitches else 100, 0),
                    (CC | ch, 1, i % 128),
                ][i % 5]
                flooder.send(message)
                sent[0] += 1
                i += 1
            time.sleep(0.01)

    thread = threading.Thread(target=flood, daemon=True)
    try:
        thread.start()
        rig.play()
        rig.wait_hook(ev.AnswerPlanned)
        rig.wait_first_note()
        assert rig.engine.stats.notes_in == len(PHRASE)
    finally:
        stop.set()
        thread.join(5)
        flooder.close()
    rig.arrivals.wait(all_closed, "every note closed")
    assert sent[0] >= 500, "the flood ran"
    assert rig.engine.stats.dropped_inbound == 0 and rig.engine.stats.errors == 0


def test_a_burst_into_a_jack_input_arrives_whole(jack_rig) -> None:
    rig = jack_rig(mode="continue")  # no answers: only what the engine hears matters here
    sent: list[tuple[str, int]] = []
    for i in range(100):  # chords: three note-ons in one burst, then three note-offs
        chord = [36 + i % 24, 48 + i % 24, 60 + i % 24]
        for kind, status in (("on", ON), ("off", OFF)):
            for pitch in chord:
                rig.player.send((status, pitch, 80 if kind == "on" else 0))
                sent.append((kind, pitch))
            time.sleep(0.005)
    deadline = time.monotonic() + 3
    while len(rig.hooked_note_in()) < len(sent) and time.monotonic() < deadline:
        time.sleep(0.01)
    heard = collections.Counter(rig.hooked_note_in())
    assert not heard - collections.Counter(sent), "nothing garbled or doubled: every message heard was sent"
    # JACK's dummy driver drops MIDI in an xrun on a loaded machine (the bench counts them); python-rtmidi's callback
    # path lost far more and garbled what it kept. Allow the former, not the latter.
    assert sum(heard.values()) >= 0.98 * len(sent), f"heard {sum(heard.values())} of {len(sent)}"


# --- `cocomposer run` as a process, stopped by a signal ------------------------------------------------------------


class Output:
    """Collects a text stream's lines on a thread."""

    def __init__(self, stream) -> None:
        self.lines: list[str] = []
        self.cond = threading.Condition()
        threading.Thread(target=self._read, args=(stream,), daemon=True).start()

    def _read(self, stream) -> None:
        for line in stream:
            with self.cond:
                self.lines.append(line.rstrip("\n"))
                self.cond.notify_all()

    def wait(self, text: str, timeout: float = 60.0) -> str:
        with self.cond:
            ok = self.cond.wait_for(lambda: any(text in line for line in self.lines), timeout)
            assert ok, f"no line holding {text!r} after {timeout} s: {self.lines}"
            return next(line for line in self.lines if text in line)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_stops_cocomposer_run_with_every_note_closed(jack_server, sig: signal.Signals) -> None:
    uid = uuid.uuid4().hex[:8]
    arrivals = Arrivals()
    with (
        ports.open_output(None, "jack", virtual_name=f"src-{uid}", client_name=f"player-{uid}") as player,
        contextlib.closing(PollingListener(arrivals, f"listener-{uid}", virtual_name=f"dst-{uid}")),
    ):
        commands = sig == signal.SIGINT  # one run reads commands from a pipe, the other has no terminal at all
        env = {**jack_server.env, "PYTHONUNBUFFERED": "1"}
        command = [sys.executable, "-m", "cocomposer.app.cli", "run", "--api", "jack", "--bpm", "240", "--in",
                   f"src-{uid}", "--out", f"dst-{uid}", "--bars", "4", "--low", "48", "--high", "84", "--seed", "2",
                   "--density", "2"]  # fmt: skip
        proc = subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdin=subprocess.PIPE if commands else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        stdout, stderr = Output(proc.stdout), Output(proc.stderr)
        try:
            stdout.wait("cocomposer listening")
            if commands:
                proc.stdin.write("set temperature 0.9\n")
                proc.stdin.flush()
            t0 = time.perf_counter() + 0.05
            play(player.send, PHRASE, lambda beat, t0=t0: t0 + beat * BEAT, 0.0)
            arrivals.wait(lambda events: bool(unmatched(events)), "a note of the answer sounds")
            assert proc.poll() is None, "cocomposer is still running (it must not stop at the end of stdin)"
            if commands:
                proc.stdin.write("status\n")
                proc.stdin.flush()
                status = stdout.wait("notes in")
                assert "temperature 0.9" in status and "answers 0" not in status, status
            proc.send_signal(sig)
            assert proc.wait(TIMEOUT) == 0, f"exit status; stderr: {stderr.lines}"
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(5)
        arrivals.wait(all_closed, "every note-on cocomposer sent has its note-off")
        # Its last messages (All Notes Off, sustain off) have arrived too before the listener closes.
        arrivals.wait(lambda events: (CC, 64, 0) in [m for _, m in events], "the sustain reset after the panic")
        assert note_ons(arrivals.snapshot())
        stdout.wait("stopping: closing every note")
        assert not any("Traceback" in line for line in stderr.lines), stderr.lines


def test_clock_out_sends_start_and_24_ticks_a_beat(jack_server) -> None:
    uid = uuid.uuid4().hex[:8]
    arrivals = Arrivals()
    with contextlib.closing(PollingListener(arrivals, f"clock-listener-{uid}", virtual_name=f"clk-{uid}")):
        command = [sys.executable, "-m", "cocomposer.app.cli", "run", "--api", "jack", "--bpm", "150", "--clock-out",
                   "--out", f"clk-{uid}"]  # fmt: skip
        env = {**jack_server.env, "PYTHONUNBUFFERED": "1"}
        proc = subprocess.Popen(command, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)  # fmt: skip
        stdout, stderr = Output(proc.stdout), Output(proc.stderr)
        try:
            stdout.wait("cocomposer listening")
            arrivals.wait(lambda events: sum(m == (0xF8,) for _, m in events) >= 144, "six beats of clock")
            proc.send_signal(signal.SIGINT)
            assert proc.wait(TIMEOUT) == 0, f"exit status; stderr: {stderr.lines}"
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(5)
        arrivals.wait(lambda events: (0xFC,) in [m for _, m in events], "Stop when cocomposer stops")
        events = arrivals.snapshot()
        assert (0xFA,) in [m for _, m in events], "Start first"
        ticks = [t for t, m in events if m == (0xF8,)][24:]  # from the second beat, once cocomposer is running
        # The median over one-beat windows, not the mean span nor the median gap: a stall on a loaded machine moves
        # the span of a few beats (seen in CI: 145 BPM), and the burst that catches up after it makes many gaps
        # short (seen at load 10: the median gap off by more than 3 BPM); a beat's width of ticks is neither. Seen in
        # a loaded loop: 159 BPM over four beats from the first clock (why was not found); now five, from the second.
        seconds_per_tick = statistics.median((ticks[i + 24] - ticks[i]) / 24 for i in range(len(ticks) - 24))
        bpm = 60 / (seconds_per_tick * 24)
        assert bpm == pytest.approx(150, abs=3), f"the internal tempo, 150 BPM: {bpm:.1f} from {len(ticks)} clocks"


def test_clock_out_refuses_a_followed_clock(jack_server) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "cocomposer.app.cli", "run", "--api", "jack", "--sync", "midi-clock", "--clock-out"],
        cwd=ROOT, env=jack_server.env, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=TIMEOUT,
    )  # fmt: skip
    assert result.returncode == 2 and "--clock-out" in result.stderr and "Traceback" not in result.stderr
