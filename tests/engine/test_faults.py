"""Faults a stage sees, on the whole engine (its thread, the generator's, the scheduler's) driven by a FakeClock:
a lost note-off, the player's channel-mode controllers (CC 123, 120, 121), and a DAW relocating its transport.

Time moves only when the test moves it; after each move the test waits (on conditions, never on a bare sleep) until
the engine, the generator and the scheduler have handled everything due by then, so what is asserted does not
depend on how busy the machine is.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Sequence

import pytest

from cocomposer.engine import commands as cmd
from cocomposer.engine import events as ev
from cocomposer.engine.core import Engine
from cocomposer.engine.settings import Settings
from cocomposer.midi import ports
from cocomposer.model.runtime import OnnxModel
from cocomposer.timing.clock import FakeClock
from tests.support.midi import poll_until

BPM = 120.0
SECONDS_PER_BEAT = 60.0 / BPM
T0 = 100.0
ON, OFF, CC = 0x90, 0x80, 0xB0
PHRASE = [(60, 0.0, 0.5), (62, 0.5, 1.0), (64, 1.0, 1.5), (67, 1.5, 2.0)]  # (pitch, on beat, off beat)


class FakeRig:
    """The engine between a loopback player port and a recording output, on a FakeClock at 120 BPM."""

    def __init__(self, model: OnnxModel, sync: str = "internal", **settings: object) -> None:
        self.fake = FakeClock(T0)
        self.settings = Settings(**{"bpm": BPM, "bars": 1.0, "low": 48, "high": 84, "cadence": 0.0, **settings})
        engine_in, self.player = ports.loopback_pair("player", now_ns=lambda: int(self.fake.now() * 1e9))
        self.out = ports.RecordingOut("answers", now=self.fake.now)
        self.engine = Engine(model, engine_in, self.out, self.settings, now=self.fake.now, sync=sync, seed=3)
        self.events: list[ev.Event] = []
        self.cond = threading.Condition()
        self.engine.subscribe(self._on_event)
        self.engine.start()
        self.sent = 0

    def _on_event(self, event: ev.Event) -> None:
        with self.cond:
            self.events.append(event)

    def of(self, kind: type) -> list:
        assert self.engine.notifier.flush(10)
        with self.cond:
            return [e for e in self.events if isinstance(e, kind)]

    def beat(self) -> float:
        return self.engine.beat_at(self.fake.now())

    def settle(self) -> None:
        """The engine thread, then the generator, have handled everything sent so far, and the scheduler has sent
        every note due by now."""
        assert self.engine.settle(10), "the engine did not get through its queue"
        sent = threading.Event()
        for _ in range(5000):
            now = self.fake.now()
            if all(self.engine.time_at(n.start_beat) > now + 1e-9 for n in self.engine.scheduled()):
                sent.set()
            if sent.wait(0.002):
                return
        raise AssertionError("the scheduler did not send what was due")

    def at(self, beat: float, tick: Callable[[float], None] | None = None) -> None:
        """Move the clock on to ``beat`` in sixteenths (``tick(beat)`` at each step), settling at each."""
        while self.beat() < beat - 1e-9:
            step = min(beat, self.beat() + 0.25) - self.beat()
            self.fake.advance(step * SECONDS_PER_BEAT)
            if tick is not None:
                tick(self.beat())
            self.settle()

    def send(self, message: ports.Message) -> None:
        """Send ``message`` and wait until the engine has taken it (the loopback delivers, and stamps the fake
        time, on a thread of its own: the clock must not move on before), then settle."""
        self.player.send(message)
        self.sent += 1
        assert poll_until(lambda: self.engine.status().received >= self.sent, 10), "the engine got the message"
        self.settle()

    def play(self, notes: Sequence[tuple[int, float, float]], start: float, lose: int | None = None) -> None:
        """Play (pitch, on, off) notes from beat ``start``; the note-off of pitch ``lose`` never arrives."""
        events = sorted([(start + on, 1, p) for p, on, _ in notes] + [(start + off, 0, p) for p, _, off in notes])
        for beat, is_on, pitch in events:
            self.at(beat)
            if is_on:
                self.send((ON, pitch, 90))
            elif pitch != lose:
                self.send((OFF, pitch, 64))

    def answers(self) -> list[ev.AnswerRequested]:
        return [e for e in self.of(ev.AnswerRequested) if e.tag == "answer"]

    def answer_ons(self, after: float = 0.0) -> list[tuple[float, int]]:
        """(beat, pitch) of the answer's note-ons sent after engine time ``after``."""
        return [(e.beat, e.pitch) for e in self.of(ev.NoteOut) if e.on and e.tag == "answer" and e.time > after]

    def close(self) -> None:
        self.engine.stop()
        self.player.close()


@pytest.fixture
def rig(model: OnnxModel):
    made: list[FakeRig] = []

    def make(**settings: object) -> FakeRig:
        made.append(FakeRig(model, **settings))
        return made[-1]

    yield make
    for r in made:
        r.close()
        assert not r.engine.sounding(), "every note is closed when the engine stops"


# --- a lost note-off -----------------------------------------------------------------------------------------------


def test_a_lost_note_off_delays_one_phrase_end_by_the_hold_limit_and_the_next_phrases_are_answered(rig) -> None:
    r = rig()  # hold_bars at its default: a key held two bars no longer holds the phrase open
    limit = r.settings.hold_bars * r.settings.beats_per_bar
    r.play(PHRASE, start=1.0, lose=67)  # 67 goes down at beat 2.5 and never comes up
    assert r.engine.held_keys() == {(1, 67)}
    r.at(2.5 + limit - 0.25)
    assert not r.answers(), "a held key holds the phrase open until the limit"
    r.at(2.5 + limit + r.settings.silence + 1.0)
    assert len(r.answers()) == 1, "the phrase ends a silence after the key passed the limit"
    assert r.engine.held_keys() == set()
    for start in (20.0, 32.0):  # the phrases after it are answered as usual
        r.play(PHRASE, start=start)
        r.at(start + 2.0 + r.settings.silence + 1.0)
        assert len(r.answers()) == (2 if start == 20.0 else 3), f"the phrase at beat {start} is answered"
        assert r.answers()[-1].start_beat <= start + 2.0 + r.settings.silence + 1.0
        r.at(start + 8.0)
    assert r.answer_ons(), "the answers sound"


@pytest.mark.parametrize("recover", ["cc 123", "cc 120", "panic"])
def test_all_notes_off_all_sound_off_and_panic_release_a_lost_key_at_once(rig, recover: str) -> None:
    r = rig(hold_bars=32.0)  # only the recovery can release the key within this test
    r.play(PHRASE, start=1.0, lose=67)
    r.at(8.0)
    assert not r.answers() and r.engine.held_keys() == {(1, 67)}
    if recover == "panic":
        r.engine.command(cmd.Panic())
        r.settle()
    else:
        r.send((CC, int(recover.split()[1]), 0))
    assert r.engine.held_keys() == set(), f"{recover} releases the keys the engine thinks are held"
    r.play(PHRASE, start=9.0)
    r.at(9.0 + 2.0 + r.settings.silence + 1.0)
    assert len(r.answers()) == 1, "the next phrase is answered after its silence"


@pytest.mark.parametrize("number", [123, 120])
def test_the_players_all_notes_off_closes_the_answer_that_sounds(rig, number: int) -> None:
    r = rig(bars=4.0)
    r.play(PHRASE, start=1.0)
    while not r.engine.sounding():
        assert r.beat() < 20.0, "the answer sounds"
        r.at(r.beat() + 0.25)
    r.send((CC | 3, number, 0))  # on any channel the player uses
    assert not r.engine.sounding(), f"CC {number} closes every note cocomposer sounds"
    assert r.of(ev.Panicked)
    t = r.fake.now()
    r.at(r.beat() + 8.0)
    assert not r.answer_ons(after=t), "and the rest of the answer never plays"


def test_reset_all_controllers_releases_no_key_and_stops_nothing(rig) -> None:
    r = rig(bars=4.0)
    r.play(PHRASE, start=1.0)
    while not r.engine.sounding():
        assert r.beat() < 20.0, "the answer sounds"
        r.at(r.beat() + 0.25)
    r.send((CC, 121, 0))
    assert r.engine.sounding() and not r.of(ev.Panicked), "CC 121 resets controllers; it silences nothing"


# --- a DAW relocating its transport while it runs --------------------------------------------------------------------


class Daw:
    """A DAW sending MIDI clock (24 a beat) and transport into the rig's input, its time the rig's FakeClock."""

    def __init__(self, rig: FakeRig) -> None:
        self.rig, self.position = rig, 0  # in clock ticks

    def start(self) -> None:
        self.position = 0
        self.rig.send((0xFA,))

    def song_position(self, beat: float) -> None:
        sixteenths = round(beat * 4)
        self.position = sixteenths * 6
        self.rig.send((0xF2, sixteenths & 0x7F, sixteenths >> 7))

    def run_to(self, beat: float, until: Callable[[], bool] = lambda: False) -> None:
        """Send clocks, a tick's time apart, until the DAW's position reaches ``beat`` (or ``until()`` holds)."""
        while self.position < round(beat * 24) and not until():
            self.rig.fake.advance(SECONDS_PER_BEAT / 24)
            self.rig.send((0xF8,))
            self.position += 1

    def play(self, notes: Sequence[tuple[int, float, float]], start: float) -> None:
        events = sorted([(start + on, 1, p) for p, on, _ in notes] + [(start + off, 0, p) for p, _, off in notes])
        for beat, is_on, pitch in events:
            self.run_to(beat)
            self.rig.send((ON, pitch, 90) if is_on else (OFF, pitch, 64))


@pytest.mark.parametrize("jump", ["start", "song position back", "song position on"])
def test_a_relocation_while_the_answer_sounds_closes_it_at_once_and_replans_the_rest_at_the_new_place(
    rig, jump: str
) -> None:
    r = rig(sync="midi-clock", bars=4.0)
    daw = Daw(r)
    daw.start()
    daw.play(PHRASE, start=1.0)
    daw.run_to(40.0, until=lambda: bool(r.engine.sounding()) and len(r.engine.scheduled("answer")) >= 2)
    assert r.engine.sounding(), "the answer sounds"
    old_plan = r.engine.scheduled("answer")  # its notes still to come, in beats of the old timeline
    old_beat, requested = r.beat(), len(r.answers())
    old_end = r.of(ev.AnswerPlanned)[-1].end_beat
    t_jump = r.fake.now()
    {"start": daw.start, "song position back": lambda: daw.song_position(0.0),
     "song position on": lambda: daw.song_position(64.0)}[jump]()  # fmt: skip
    new_beat = r.beat()
    assert not r.engine.sounding(), "every note the answer sounded is closed at once"
    left = [n for n in r.engine.scheduled() if any(n is m for m in old_plan)]
    assert not left, f"the old answer's notes never play on the new timeline: {left}"
    again = r.answers()[requested:]
    assert len(again) == 1, "the rest of the answer is asked for again"
    assert new_beat <= again[0].start_beat <= new_beat + 1.0 + 1e-6, "at the new place"
    assert again[0].beats == pytest.approx(old_end - old_beat, abs=0.05), "for what was left of it"
    daw.run_to(new_beat + 20.0)
    ons = r.answer_ons(after=t_jump)
    assert ons and all(new_beat - 1e-6 <= b <= again[0].start_beat + again[0].beats for b, _ in ons), ons
    assert not r.engine.sounding() and r.engine.state == "listening"


def test_a_relocation_releases_the_keys_the_player_holds(rig) -> None:
    r = rig(sync="midi-clock", hold_bars=32.0)  # only the relocation can release the key here
    daw = Daw(r)
    daw.start()
    daw.run_to(2.0)
    r.send((ON, 60, 90))
    daw.run_to(3.0)
    assert r.engine.held_keys() == {(1, 60)}
    daw.song_position(16.0)
    assert r.engine.held_keys() == set()
    daw.play(PHRASE, start=17.0)
    daw.run_to(17.0 + 2.0 + r.settings.silence + 1.0)
    assert r.answers(), "the phrase after it is answered"


def test_after_a_jump_back_the_model_hears_the_players_rhythm_not_every_note_on_one_tick(model: OnnxModel) -> None:
    """The clock jumped from beat 101 back to 0: the notes played next are heard half a beat apart, as played (the
    model's own timeline goes on from where it was, moved by whole bars), not squashed onto the tick it had reached."""
    from cocomposer.engine.jobs import Listen, Relocate
    from cocomposer.engine.worker import Generator
    from cocomposer.music import codec

    generator = Generator(model, lambda notes, request_id: True, lambda event: None, seed=1)
    ticks: list[int] = []
    jobs = [Listen("on", 60, 100.0), Listen("off", 60, 100.5), Relocate(101.0, 0.0)]
    jobs += [job for beat in (1.0, 1.5, 2.0) for job in (Listen("on", 62, beat), Listen("off", 62, beat + 0.25))]
    generator.start()
    try:
        for job in jobs:
            generator.submit(job)
            generator.submit(lambda worker: ticks.append(worker.encoder.tick))
        done = threading.Event()
        generator.submit(lambda worker: done.set())
        assert done.wait(10)
    finally:
        generator.stop()
    onsets = [ticks[i] for i in (3, 5, 7)]
    assert [b - a for a, b in itertools.pairwise(onsets)] == [codec.TICKS_PER_BEAT // 2] * 2, ticks
    assert onsets[0] > ticks[1] and (onsets[0] - codec.beats_to_ticks(1.0)) % model.meter.bar_ticks == 0, ticks
