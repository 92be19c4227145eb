"""The engine's side of the reflex (cocomposer.engine.reflex), over a fake JACK pair: armed with a draft's first
note-ons, told it fired before the control that fired it, the answer claims the note (no second note-on) or the
engine closes it; every note closes. The helper itself is tested through JACK in tests/jack/test_reflex_helper.py."""

from __future__ import annotations

import time

import pytest

from cocomposer.engine import commands as cmd
from cocomposer.engine.core import Engine
from cocomposer.engine.settings import Settings
from cocomposer.midi import ports
from cocomposer.model.runtime import OnnxModel
from tests.engine.test_drafts import CALL
from tests.engine.test_engine import TIMEOUT
from tests.support.midi import note_ons, unmatched


class FakeReflexOut(ports.RecordingOut):
    """The output of a JACK pair, as the engine sees it: timed, and armable; ``play_armed`` does what the helper
    does when the control comes."""

    timed = True
    reflex = True
    lead_seconds = 0.003
    period_seconds = 0.00133

    def __init__(self) -> None:
        super().__init__("fake pair", now=time.perf_counter)  # type: ignore[arg-type]
        self.armed: tuple | None = None
        self.arms = 0
        self.ops: list[object] = []  # "arm", "disarm" and each message handed over, in order

    def send_at(self, message, t: float | None) -> None:
        self.ops.append(tuple(message))
        self.send(message)

    def arm(self, ident: int, control: int, channel: int | None, deadline: float, messages) -> None:
        self.armed, self.arms = (ident, control, channel, deadline, [tuple(m) for m in messages]), self.arms + 1
        self.ops.append("arm")

    def disarm(self) -> None:
        self.armed = None
        self.ops.append("disarm")


class FakeReflexIn(ports.LoopbackIn):
    """The input of a JACK pair, as the engine sees it: on the thread that hands on a control, ``on_fired`` comes
    first when the helper fired (``fire_next``)."""

    def __init__(self) -> None:
        super().__init__("player")
        self.on_fired = None
        self.fire_next: tuple[int, float] | None = None

    def start(self, sink) -> None:
        def heard(t_ns: int, message) -> None:
            if self.fire_next is not None and message[0] & 0xF0 == 0xB0:
                fired, self.fire_next = self.fire_next, None
                self.on_fired(*fired)  # type: ignore[misc]
            sink(t_ns, message)

        super().start(heard)


class Setup:
    def __init__(self, **settings: object) -> None:
        base = {"bpm": 240.0, "quantize": "off", "phrase_end_cc": 85, "silence": 16.0, "bars": 1.0}
        self.engine_in = FakeReflexIn()
        self.player = ports.LoopbackOut("player", self.engine_in)
        self.out = FakeReflexOut()
        self.engine = Engine(OnnxModel.load(), self.engine_in, self.out, Settings(**{**base, **settings}), seed=3)
        self.engine.start()

    def play_call(self) -> None:
        start = self.engine.beat_at(time.perf_counter()) + 0.25
        for pitch, on, off in CALL:
            for beat, message in ((start + on, (0x90, pitch, 90)), (start + off, (0x80, pitch, 0))):
                while self.engine.beat_at(time.perf_counter()) < beat:
                    time.sleep(0.002)
                self.player.send(message)

    def wait_armed(self, margin: float = 0.0) -> tuple:
        """The arm, once there is one whose deadline is at least ``margin`` seconds away."""
        deadline = time.monotonic() + TIMEOUT
        while (armed := self.out.armed) is None or armed[3] - time.perf_counter() < margin:
            assert time.monotonic() < deadline, "the engine armed the reflex with a draft"
            time.sleep(0.001)
        return armed

    def fire(self, armed: tuple, control: tuple[int, ...] = (0xB0, 85, 127)) -> float:
        """What the helper does (before the arm's deadline): play the armed notes, tell the input, then hand on the
        control."""
        t = time.perf_counter()
        for message in armed[4]:
            self.out.send(message)
        self.out.armed = None
        self.engine_in.fire_next = (armed[0], t)
        self.player.send(control)
        return t

    def close(self) -> None:
        self.engine.stop()
        self.player.close()
        assert not unmatched(self.out.events), "every note is closed when the engine stops"


@pytest.fixture
def setup():
    made: list[Setup] = []

    def make(**settings: object) -> Setup:
        made.append(Setup(**settings))
        return made[-1]

    yield make
    for s in made:
        s.close()


def test_a_fired_note_is_the_answers_first_and_sounds_once(setup) -> None:
    s = setup()
    s.play_call()
    armed = s.wait_armed(margin=0.008)
    assert armed[1] == 85 and armed[2] is None and armed[4], "the control, any channel, the draft's note-ons"
    fired_at = s.fire(armed)
    assert s.out.wait_for(lambda events: len(note_ons(events)) >= 3 and not unmatched(events), TIMEOUT)
    engine = s.engine
    assert engine.settle(TIMEOUT)
    assert engine.reflex.enabled and (engine.reflex.fired, engine.reflex.claimed) == (1, 1)
    assert engine.drafts.taken == 1, "the answer took the draft over"
    first = next(m for _, m in s.out.events if m[0] & 0xF0 == 0x90 and m[2] > 0)
    assert first == armed[4][0], "the answer opens with the note the reflex played"
    sounding: set[tuple[int, int]] = set()
    for _, m in s.out.events:  # and no key sounds twice over (the claimed note sent again would)
        key = (m[0] & 0x0F, m[1])
        if m[0] & 0xF0 == 0x90 and m[2] > 0:
            assert key not in sounding, f"{m} while {key} sounds: {s.out.events}"
            sounding.add(key)
        elif m[0] & 0xF0 in (0x80, 0x90):
            sounding.discard(key)
    assert abs(engine.time_at(engine.last_answer[0].start_beat) - fired_at) < 0.002, "the answer starts then"


@pytest.mark.parametrize("why", ["settings changed", "another control"])
def test_a_fired_note_nothing_claims_is_closed_at_once(setup, why: str) -> None:
    s = setup()
    s.play_call()
    armed = s.wait_armed()
    if why == "settings changed":  # the helper fired before the engine's disarm reached it
        s.engine.command(cmd.Set("temperature", 1.3))
        assert s.engine.settle(TIMEOUT)
        s.fire(armed)
    else:
        s.fire(armed, (0xB0, 20, 127))
    pitch = armed[4][0][1]  # closed by the engine, not by the scheduler's deadline for unclaimed notes (1 s)
    assert s.out.wait_for(lambda events: any(m[:2] == (0x80 | armed[4][0][0] & 0x0F, pitch) for _, m in events), 0.5)
    assert s.engine.reflex.enabled and (s.engine.reflex.fired, s.engine.reflex.claimed) == (1, 0)


def test_a_note_from_the_player_leaves_the_reflex_unarmed_until_the_next_draft(setup) -> None:
    s = setup()
    s.play_call()
    armed = s.wait_armed()
    s.player.send((0x90, 72, 90))
    s.out.armed = None  # the helper disarms itself on a note-on
    deadline = time.monotonic() + 2
    while s.engine.reflex.armed is not None and time.monotonic() < deadline:  # type: ignore[union-attr]
        time.sleep(0.005)
    assert s.engine.reflex.armed is None  # type: ignore[union-attr]
    s.player.send((0x80, 72, 0))
    assert s.wait_armed()[0] != armed[0], "armed again, for the draft after the note"


def test_the_helper_is_disarmed_before_an_answer_ended_by_silence_sends_a_note(setup) -> None:
    """A phrase ended by the silence window takes the draft over without the reflex: the helper is disarmed before
    the generator gets the answer (so before its first note-on goes down the same pipe), and a control arriving
    meanwhile cannot strike that key again."""
    s = setup(silence=0.5)
    submit = s.engine.generator.submit
    s.engine.generator.submit = lambda job: (s.out.ops.append(type(job).__name__), submit(job))  # type: ignore[method-assign]
    s.play_call()
    assert s.out.wait_for(lambda events: any(m[0] & 0xF0 == 0x90 and m[2] > 0 for _, m in events), TIMEOUT)
    ops = list(s.out.ops)
    answer = ops.index("Answer")
    assert "arm" in ops[:answer], "a draft was armed while the player was silent"
    last_arm = max(i for i, op in enumerate(ops[:answer]) if op == "arm")
    assert "disarm" in ops[last_arm:answer], f"disarmed before the generator got the answer: {ops[: answer + 1]}"


def test_stopping_disarms_the_helper(setup) -> None:
    s = setup()
    s.play_call()
    s.wait_armed()
    s.engine.stop()
    ops = s.out.ops
    last_arm = max(i for i, op in enumerate(ops) if op == "arm")
    assert s.out.armed is None and "disarm" in ops[last_arm:], "nothing fires once the engine stopped listening"
