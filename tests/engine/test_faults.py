"""Faults a stage sees, on the whole engine (its thread, the generator's, the scheduler's) driven by a FakeClock:
a lost note-off, the player's channel-mode controllers (CC 123, 120, 121), and a DAW relocating its transport.

Time moves only when the test moves it; after each move the test waits (on conditions, never on a bare sleep) until
the engine, the generator and the scheduler have handled everything due by then, so what is asserted does not
depend on how busy the machine is.
"""

from __future__ import annotations

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

BPM = 120.0
SECONDS_PER_BEAT = 60.0 / BPM
T0 = 100.0
ON, OFF, CC = 0x90, 0x80, 0xB0
PHRASE = [(60, 0.0, 0.5), (62, 0.5, 1.0), (64, 1.0, 1.5), (67, 1.5, 2.0)]  # (pitch, on beat, off beat)


class FakeRig:
    """The engine between a loopback player port and a recording output, on a FakeClock at 120 BPM."""

    def __init__(self, model: OnnxModel, clock=None, **settings: object) -> None:
        self.fake = FakeClock(T0)
        self.settings = Settings(**{"bpm": BPM, "bars": 1.0, "low": 48, "high": 84, "cadence": 0.0, **settings})
        engine_in, self.player = ports.loopback_pair("player", now_ns=lambda: int(self.fake.now() * 1e9))
        self.out = ports.RecordingOut("answers", now=self.fake.now)
        clock = clock(self.fake.now) if clock is not None else None
        self.engine = Engine(model, engine_in, self.out, self.settings, clock=clock, now=self.fake.now, seed=3)
        self.events: list[ev.Event] = []
        self.cond = threading.Condition()
        self.engine.subscribe(self._on_event)
        self.engine.start()

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
        self.player.send(message)
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
