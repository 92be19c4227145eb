"""The engine with the real model on loopback ports at a fast tempo: a player port in, a recording port out.

Every test waits on a condition with a timeout (what arrived on the output, a hook, a call run on the engine thread),
never on a bare sleep. Nothing here depends on which notes the model picks: only on the contracts (range, key,
channel, timing window, every note-on closed).
"""

from __future__ import annotations

import math
import os
import signal
import threading
import time
from collections.abc import Callable, Sequence
from typing import TypeVar

import pytest

from cocomposer.engine import commands as cmd
from cocomposer.engine import events as ev
from cocomposer.engine.core import INBOUND_LIMIT, Engine
from cocomposer.engine.jobs import Answer, Listen
from cocomposer.engine.scheduler import ScheduledNote
from cocomposer.engine.settings import MODES, Settings
from cocomposer.engine.worker import Generator
from cocomposer.midi import ports
from cocomposer.model.runtime import OnnxModel
from cocomposer.model.sampling import Controls
from cocomposer.music import codec
from cocomposer.music.keys import parse_key
from tests.support.midi import note_ons, unmatched

E = TypeVar("E")
BPM = 240.0
BEAT = 60.0 / BPM
TIMEOUT = 15.0
ON, OFF, CC = 0x90, 0x80, 0xB0
PHRASE = [(60, 0.0, 0.5), (62, 0.5, 1.0), (64, 1.0, 1.5), (65, 1.5, 2.0)]  # (pitch, on beat, off beat)


class Rig:
    """An engine between a loopback player port and a recording output, with its events recorded."""

    def __init__(self, **settings: object) -> None:
        self.settings = Settings(**{"bpm": BPM, "bars": 2.0, "density": 2.0, **settings})
        engine_in, self.player = ports.loopback_pair("player")
        self.out = ports.RecordingOut("answers", now=time.perf_counter)
        self.engine = Engine(OnnxModel.load(), engine_in, self.out, self.settings, seed=7)
        self.events: list[ev.Event] = []
        self.cond = threading.Condition()
        self.engine.subscribe(self._on_event)
        self.engine.start()

    def _on_event(self, event: ev.Event) -> None:
        with self.cond:
            self.events.append(event)
            self.cond.notify_all()

    # -- waiting ---------------------------------------------------------------------------------------------------
    def hooked(self, kind: type[E]) -> list[E]:
        """The events of type ``kind`` so far."""
        with self.cond:
            return [e for e in self.events if isinstance(e, kind)]

    def wait_hook(self, kind: type[E], count: int = 1, where: Callable[[E], bool] = lambda e: True) -> list[E]:
        """Wait for ``count`` events of type ``kind`` for which ``where`` holds; returns them all."""
        with self.cond:
            found = lambda: sum(isinstance(e, kind) and where(e) for e in self.events)  # noqa: E731
            ok = self.cond.wait_for(lambda: found() >= count, TIMEOUT)
            seen = [type(e).__name__ for e in self.events][-30:]
            assert ok, f"no {count} {kind.__name__} events after {TIMEOUT} s; events: {seen}"
            return [e for e in self.events if isinstance(e, kind) and where(e)]

    def wait_out(self, predicate: Callable[[list[tuple[float, ports.Message]]], bool], what: str) -> None:
        assert self.out.wait_for(predicate, TIMEOUT), f"{what}; got {self.out.messages[-40:]}"

    def wait_closed(self) -> None:
        self.wait_out(lambda events: not unmatched(events), "every note-on gets its note-off")

    def on_engine_thread(self, fn: Callable[[Engine], object] = lambda engine: None) -> object:
        """``fn(engine)`` once the engine thread and the generator have handled everything queued before it."""
        assert self.engine.settle(TIMEOUT), "the engine did not get through its queue"
        return fn(self.engine)

    def wait_engine(self, predicate: Callable[[Engine], bool], what: str) -> None:
        deadline = time.monotonic() + TIMEOUT
        while not self.on_engine_thread(predicate):
            assert time.monotonic() < deadline, what
            time.sleep(0.01)

    def wait_generator_idle(self) -> None:
        """Until the engine, then the generator, have worked through everything queued so far."""
        assert self.engine.settle(TIMEOUT), "the generator did not get through its jobs"

    # -- playing ---------------------------------------------------------------------------------------------------
    def beat(self) -> float:
        return self.engine.beat_at(time.perf_counter())

    def wait_until_beat(self, beat: float) -> None:
        due = self.engine.time_at(beat)
        while (left := due - time.perf_counter()) > 0:
            time.sleep(min(left, 0.005))

    def play(self, notes: Sequence[tuple[int, float, float]], channel: int = 1, velocity: int = 90,
             zero_velocity_off: bool = False) -> tuple[float, float]:  # fmt: skip
        """Play (pitch, on, off) notes from the next beat; returns (beat, time) of the last note-off."""
        start = math.ceil(self.beat() + 0.25)
        status = channel - 1
        events = sorted(
            [(start + on, 1, p) for p, on, _ in notes] + [(start + off, 0, p) for p, _, off in notes],
            key=lambda e: e[:2],
        )
        for beat, is_on, pitch in events:
            self.wait_until_beat(beat)
            if is_on:
                self.player.send((ON | status, pitch, velocity))
            else:
                self.player.send((ON | status, pitch, 0) if zero_velocity_off else (OFF | status, pitch, 64))
        return events[-1][0], time.perf_counter()

    def answer(self, notes: Sequence[tuple[int, float, float]] = PHRASE, **play: object) -> float:
        """Play a phrase, wait until its answer has sounded to its end; returns the beat the phrase ended."""
        end, _ = self.play(notes, **play)
        planned = self.wait_hook(ev.AnswerPlanned, where=lambda d: d.tag == "answer")[-1]
        self.wait_until_beat(planned.end_beat)
        self.wait_closed()
        return end

    def answer_ons(self, after: float = 0.0) -> list[tuple[float, int]]:
        channel = self.engine.settings.out_channel
        return [(t, p) for t, p in note_ons(self.out.events, channel) if t >= after]

    def close(self) -> None:
        self.engine.stop()
        self.player.close()


@pytest.fixture
def rig():
    made: list[Rig] = []

    def make(**settings: object) -> Rig:
        made.append(Rig(**settings))
        return made[-1]

    yield make
    for r in made:
        r.close()
        assert not unmatched(r.out.events), "every note is closed when the engine stops"


def first_answer_note(r: Rig) -> tuple[float, int]:
    r.wait_out(lambda events: bool(note_ons(events, r.engine.settings.out_channel)), "the answer sounds")
    return r.answer_ons()[0]


# --- call and response ---------------------------------------------------------------------------------------------


def test_a_subscriber_that_hangs_never_holds_up_a_note(rig) -> None:
    r = rig()
    release = threading.Event()
    r.engine.subscribe(lambda event: release.wait(TIMEOUT), ev.NoteOut)  # a panel frozen on the first note
    try:
        r.play(PHRASE)
        r.wait_out(lambda events: len(note_ons(events)) >= 2, "the answer plays on while the subscriber hangs")
        r.wait_closed()
    finally:
        release.set()


def test_a_phrase_is_answered_in_range_on_the_out_channel_with_every_note_closed(rig) -> None:
    r = rig(low=55, high=72, out_channel=16, bars=2.0)
    threads: set[str] = set()
    step = r.engine.model.step
    r.engine.model.step = lambda token: (threads.add(threading.current_thread().name), step(token))[1]
    end = r.answer()
    assert threads == {"cocomposer-generator"}, "the model runs on the generator worker only"
    requested = r.hooked(ev.AnswerRequested)
    assert len(requested) == 1, "one phrase, one answer"
    start = requested[0].start_beat
    phrase_end = end + r.settings.silence
    assert start == round(start), "quantize beat: the answer starts on a beat"
    assert phrase_end - 1e-6 <= start <= phrase_end + 1 + 0.1, f"answer starts at {start}, phrase ended {phrase_end}"
    ons = r.answer_ons()
    assert ons, "the answer has notes"
    assert all(55 <= p <= 72 for _, p in ons), ons
    assert r.engine.beat_at(ons[0][0]) >= start - 0.05, "no answer note before the answer starts"
    assert r.engine.beat_at(ons[0][0]) >= phrase_end - 0.05, "no answer note before the phrase ended"
    channels = {ports.channel_of(m) for m in r.out.messages}
    assert channels == {15}, f"answers go out on channel 16 only, got {channels}"
    assert not unmatched(r.out.events)
    assert r.engine.stats.notes_in == len(PHRASE) and r.engine.stats.errors == 0


def test_a_bass_call_is_answered_in_the_bass_register_learned_by_the_player_model(rig) -> None:
    r = rig(bars=0.0)  # bars auto, default range: the answer follows the call
    bass = [(40, 0.0, 0.45), (43, 0.5, 0.95), (45, 1.0, 1.45), (43, 1.5, 1.95), (40, 2.0, 2.9)]
    for _ in range(4):  # a one-bar answer in the bass is often a bar of rest (9 of 16 seeds): call again
        end = r.answer(bass)
        planned = r.hooked(ev.AnswerPlanned)[-1]
        assert planned.end_beat - math.ceil(end - 1e-9) <= 4 + 1, "bars auto: one bar for a one-bar call"
        if pitches := [p for _, p in r.answer_ons()]:
            break
    assert pitches and all(35 <= p <= 50 for p in pitches), f"within the call's range +-5: {pitches}"
    r.wait_generator_idle()
    assert r.engine.generator.player.tokens_learned >= 10, "the player model learned the call as it was played"


def test_quantize_bar_starts_the_answer_on_a_bar_line(rig) -> None:
    r = rig(quantize="bar", bars=0.5)
    end = r.answer()
    start = r.hooked(ev.AnswerRequested)[0].start_beat
    assert start % 4 == 0 and end + 1 - 1e-6 <= start <= end + 1 + 4 + 0.1


def test_key_lock_keeps_the_answer_in_the_key(rig) -> None:
    r = rig(key="F# pentatonic", bars=2.0)
    r.answer()
    classes = parse_key("F# pentatonic").pitch_classes()
    ons = r.answer_ons()
    assert ons and all(p % 12 in classes for _, p in ons), ons


def test_fixed_velocity(rig) -> None:
    r = rig(velocity="33")
    r.answer()
    velocities = {m[2] for m in r.out.messages if ports.is_note_on(m)}
    assert velocities == {33}


def test_cc_bindings_move_settings_live(rig) -> None:
    r = rig(cc={21: "temperature", 22: "low", 23: "high", 24: "mode"})
    r.player.send((CC, 21, 0))
    r.player.send((CC, 22, 70))
    r.player.send((CC, 23, 80))
    r.wait_hook(ev.SettingsChanged, count=3)
    settings = r.on_engine_thread(lambda engine: engine.settings)
    assert (settings.temperature, settings.low, settings.high) == (0.1, 70, 80)
    r.answer()
    ons = r.answer_ons()
    assert ons and all(70 <= p <= 80 for _, p in ons), "the range set by the knobs holds"
    r.player.send((CC, 24, 127))  # the mode knob all the way up: the last mode
    r.wait_hook(ev.SettingsChanged, count=4)
    assert r.on_engine_thread(lambda engine: engine.mode.name) == MODES[-1]


def test_a_bad_value_from_a_knob_or_command_is_reported_and_the_session_goes_on(rig) -> None:
    r = rig(cc={22: "low"}, high=60)
    r.player.send((CC, 22, 100))  # low 100 above high 60
    r.engine.command(cmd.Set("temperature", "hot"))
    r.engine.command("nonsense")  # type: ignore[arg-type]: what a careless caller might send
    messages = " | ".join(d.message for d in r.wait_hook(ev.EngineError, count=3))
    assert "pitch range" in messages and "'hot'" in messages and "'nonsense'" in messages, messages
    r.answer()
    assert r.answer_ons()


def test_set_command_changes_a_setting(rig) -> None:
    r = rig()
    r.engine.command(cmd.Set("density", "0.5"))
    r.engine.command(cmd.Set("bpm", "200"))
    r.wait_hook(ev.SettingsChanged, count=2)
    assert r.on_engine_thread(lambda engine: (engine.settings.density, engine.clock.bpm)) == (0.5, 200.0)


# --- panic, mode switch, stop: no stuck notes ----------------------------------------------------------------------


def test_the_panic_command_closes_every_note_and_stops_the_answer(rig) -> None:
    r = rig(bars=4.0)
    r.play(PHRASE)
    first_answer_note(r)
    r.engine.command(cmd.Panic())
    panicked = r.wait_hook(ev.Panicked)
    r.wait_closed()
    t_panic = time.perf_counter()
    assert (CC | 0, 123, 0) in r.out.messages, "All Notes Off on the channel used"
    r.wait_until_beat(r.beat() + 2)
    assert not r.answer_ons(after=t_panic), "nothing plays after the panic"
    assert panicked and r.engine.state == "listening"


def test_the_panic_cc_closes_every_note(rig) -> None:
    r = rig(bars=4.0, panic_cc=119)
    r.play(PHRASE)
    first_answer_note(r)
    r.player.send((CC | 5, 119, 127))
    r.wait_hook(ev.Panicked)
    r.wait_closed()
    assert r.on_engine_thread(lambda engine: engine.scheduler.open_notes()) == set()


def test_switching_mode_closes_the_answer(rig) -> None:
    r = rig(bars=4.0)
    r.play(PHRASE)
    first_answer_note(r)
    r.engine.command(cmd.SetMode("continue"))
    r.wait_hook(ev.SettingsChanged)
    r.wait_closed()
    t_switch = time.perf_counter()
    r.wait_until_beat(r.beat() + 2)
    assert not r.answer_ons(after=t_switch), "the answer of the old mode stopped"
    assert r.engine.mode.name == "continue"


def test_stop_from_a_signal_handler_closes_every_note(rig) -> None:
    r = rig(bars=4.0)
    r.play(PHRASE)
    first_answer_note(r)
    previous = signal.signal(signal.SIGUSR1, lambda *_: r.engine.stop())
    try:
        os.kill(os.getpid(), signal.SIGUSR1)
        r.wait_closed()
    finally:
        signal.signal(signal.SIGUSR1, previous)
    assert r.engine.state == "stopped" and not r.engine.scheduler.alive
    assert r.engine.scheduler.open_notes() == set()


def test_stop_before_start_and_twice_is_harmless() -> None:
    engine_in, _ = ports.loopback_pair()
    out = ports.RecordingOut()
    engine = Engine(OnnxModel.load(), engine_in, out)
    engine.stop()
    engine.stop()
    assert engine.state == "stopped" and out.messages == [], "stopped, and nothing was sent"


def test_the_watchdog_closes_a_note_held_too_long(rig) -> None:
    r = rig()
    r.engine.scheduler.max_note_seconds = 0.2
    beat = r.beat() + 0.5
    r.engine.scheduler.schedule([ScheduledNote(beat, beat + 1000, 61, 80, 0, "answer")])
    r.wait_out(lambda events: bool(note_ons(events)), "the long note starts")
    r.wait_closed()
    assert r.engine.scheduler.watchdog_closed == 1


def test_a_model_error_after_a_note_on_was_handed_over_ends_that_note_at_once(rig) -> None:
    """A note-on goes to the scheduler before its end is sampled; if the model then fails, the note ends where the
    answer stopped (not at the watchdog, 8 s later)."""
    r = rig(bars=2.0)
    model, scheduler = r.engine.model, r.engine.scheduler
    sample, failed = model.sample, [False]

    def failing(*args: object, **kwargs: object) -> int:
        if not failed[0] and r.engine.generator.draft is None and scheduler._unended:
            failed[0] = True
            raise RuntimeError("the model broke")
        return sample(*args, **kwargs)

    model.sample = failing
    for _ in range(4):  # an answer that opens with a note whose end is still to come
        r.play(PHRASE)
        r.wait_until_beat(r.beat() + 6)
        if failed[0]:
            break
    assert failed[0], "no answer handed a note-on over before its end in 4 phrases"
    r.wait_closed()
    assert scheduler.watchdog_closed == 0 and not scheduler._unended


def test_a_model_error_mid_answer_leaves_no_note_open_and_the_session_goes_on(rig) -> None:
    r = rig(bars=2.0)
    model = r.engine.model
    sample, calls = model.sample, [0]

    def failing(*args: object, **kwargs: object) -> int:
        calls[0] += r.engine.generator.draft is None  # an answer's samples, not a draft's (tests/engine/test_drafts)
        if calls[0] == 2:  # two bars need at least two samples (a shift holds a bar at most)
            raise RuntimeError("the model broke")
        return sample(*args, **kwargs)

    model.sample = failing
    r.play(PHRASE)
    error = r.wait_hook(ev.EngineError)[0]
    assert error.where == "generator" and "the model broke" in error.message
    r.wait_closed()
    r.wait_until_beat(r.beat() + 2)
    r.wait_closed()
    r.answer()
    assert r.on_engine_thread(lambda engine: engine.stats.answers) == 2
    assert r.engine.last_answer and all(n.tag == "answer" for n in r.engine.last_answer)


def test_beyond_the_inbound_limit_messages_are_dropped_and_counted(rig) -> None:
    r = rig()
    release, blocked = threading.Event(), threading.Event()
    r.engine.command(cmd.Update(lambda settings: (blocked.set(), release.wait(TIMEOUT), settings)[-1]))
    assert blocked.wait(TIMEOUT)
    t_ns = time.perf_counter_ns()
    for i in range(INBOUND_LIMIT + 100):  # the driver's side: the engine thread is busy
        r.engine.sink(t_ns, (0xF8,) if i % 2 else (0xE0, 0, 64))
    release.set()
    r.wait_engine(lambda engine: engine.stats.received >= INBOUND_LIMIT, "the engine works through the backlog")
    assert r.engine.stats.dropped_inbound == 100
    r.answer()
    assert r.engine.stats.notes_in == len(PHRASE)


# --- barge-in ------------------------------------------------------------------------------------------------------


def test_barge_in_stops_the_answer_and_the_model_hears_the_player_not_the_unplayed_answer(rig) -> None:
    r = rig(bars=4.0, low=40, high=59)  # the answer below the player's notes, so pitches tell who played them
    r.play(PHRASE)
    planned = r.wait_hook(ev.AnswerPlanned)[0]
    first_answer_note(r)
    r.player.send((ON, 79, 100))
    barge_beat = r.wait_hook(ev.NoteIn, where=lambda d: d.pitch == 79)[0].beat
    r.wait_hook(ev.AnswerCancelled)
    t_cancel = time.perf_counter()
    r.wait_closed()
    r.wait_generator_idle()
    assert not r.answer_ons(after=t_cancel + 0.01), "no answer note after the barge-in"
    encoder = r.engine.generator.encoder
    assert set(encoder.sounding) == {79}, "the model hears the player's held note and no answer note"
    assert encoder.tick == pytest.approx(codec.beats_to_ticks(barge_beat), abs=1)
    assert encoder.tick < codec.beats_to_ticks(planned.end_beat), "the unplayed rest of the answer is forgotten"
    r.player.send((OFF, 79, 0))
    r.wait_hook(ev.AnswerPlanned, count=2)  # the new phrase is answered, from the player's note
    assert r.on_engine_thread(lambda engine: engine.stats.answers) == 2


def test_without_barge_in_the_answer_plays_on_and_the_model_hears_both(rig) -> None:
    r = rig(bars=4.0, barge_in=False, low=40, high=59)
    r.play(PHRASE)
    planned = r.wait_hook(ev.AnswerPlanned)[0]
    first_answer_note(r)
    r.player.send((ON, 79, 100))
    r.wait_hook(ev.NoteIn, where=lambda d: d.pitch == 79)
    r.wait_generator_idle()
    encoder = r.engine.generator.encoder
    assert 79 in encoder.sounding, "the player's note is heard"
    assert encoder.tick >= codec.beats_to_ticks(planned.end_beat), "and the answer to its end"
    assert not r.hooked(ev.AnswerCancelled)
    r.player.send((OFF, 79, 0))
    r.wait_until_beat(planned.end_beat)
    r.wait_closed()


class History:
    """Wraps a model's step/snapshot/restore to keep the token history the model's state stands for."""

    def __init__(self, model: OnnxModel) -> None:
        self.tokens: list[int] = []
        step, snapshot, restore = model.step, model.snapshot, model.restore
        lengths: dict[int, int] = {}

        def recorded_step(token: int):
            self.tokens.append(token)
            return step(token)

        def recorded_snapshot():
            snap = snapshot()
            lengths[id(snap)] = len(self.tokens)
            return snap

        def recorded_restore(snap) -> None:
            del self.tokens[lengths[id(snap)] :]
            restore(snap)

        model.step, model.snapshot, model.restore = recorded_step, recorded_snapshot, recorded_restore

    def notes(self) -> list[codec.Note]:
        return codec.decode(self.tokens)

    def ticks(self) -> int:
        return sum(codec.shift_ticks(t) for t in self.tokens)


@pytest.mark.parametrize("plays_on", [False, True], ids=["cancelled", "barge-in-off"])
def test_the_generator_rewinds_or_merges_a_plan_the_player_interrupts(plays_on: bool) -> None:
    model = OnnxModel.load()
    history = History(model)
    scheduled: list[ScheduledNote] = []
    wanted = [True]
    generator = Generator(
        model, lambda notes, request_id: scheduled.extend(notes) or True, lambda event: None, seed=3,
        wanted=lambda tag, request_id: wanted[0],
    )  # fmt: skip
    for pitch, on, off in PHRASE:
        generator._listen(Listen("on", pitch, on))
        generator._listen(Listen("off", pitch, off))
    generator._answer(Answer(1, 3.0, 8.0, "answer", 1, Controls(low=40, high=59, density=2.0), 80, "folk", "major"))
    assert generator.plan is not None and generator.plan.end_tick == 11 * 12
    wanted[0] = plays_on  # barge-in cancels the answer, or (barge-in off) lets it play on
    generator._listen(Listen("on", 79, 6.0))
    heard = history.notes()
    answer_heard = [n for n in heard if n.pitch < 60]
    answer_planned = [codec.Note(n.start_beat, n.end_beat, n.pitch, 80) for n in scheduled]
    assert [(n.start, n.pitch) for n in heard if n.pitch == 79] == [(6.0, 79)], "the player's note at its time"
    if plays_on:
        assert history.ticks() == 11 * 12, "the model heard the answer to its end"
        assert sorted(answer_heard) == sorted(answer_planned), "and every note of it, as planned"
    else:
        assert history.ticks() == 6 * 12 and history.tokens[-1] == codec.on_token(79), "the player's note is last"
        sounded = [n for n in answer_planned if n.start < 6.0]  # one due at the barge-in itself counts as cancelled
        assert [(n.start, n.pitch) for n in answer_heard] == [(n.start, n.pitch) for n in sorted(sounded)]
        assert all(n.end <= 6.0 for n in answer_heard), "the notes cut at the barge-in end there"
        assert generator.plans == []
    assert set(generator.encoder.sounding) == {79}, "the player's note sounds on; the answer's notes are closed"


# --- bad input -----------------------------------------------------------------------------------------------------


def test_the_channel_filter_hears_one_channel(rig) -> None:
    r = rig(in_channel=2)
    r.play(PHRASE, channel=1)
    r.play([(p + 12, on, off) for p, on, off in PHRASE], channel=2)
    r.wait_hook(ev.AnswerPlanned)
    stats = r.on_engine_thread(lambda engine: (engine.stats.notes_in, engine.stats.answers))
    assert stats == (len(PHRASE), 1), "only the channel 2 phrase was heard and answered"
    assert {d.pitch for d in r.hooked(ev.NoteIn)} == {p + 12 for p, _, _ in PHRASE}


def test_a_zero_velocity_note_on_is_a_note_off(rig) -> None:
    r = rig(thru=True)
    r.answer(zero_velocity_off=True)
    assert r.on_engine_thread(lambda engine: engine.mode.held) == set()
    thru = [m for m in r.out.messages if m[0] & 0x0F == 0 and m[1] in {p for p, _, _ in PHRASE}]
    assert (ON, 60, 90) in thru and (ON, 60, 0) in thru, "thru passes the note and its release"
    assert r.answer_ons(), "the released phrase was answered"


def test_thru_passes_the_players_notes_and_closes_them_on_panic(rig) -> None:
    r = rig(thru=True, out_channel=9)
    r.player.send((ON | 3, 50, 70))
    r.player.send((0xE3, 0, 64))  # pitch bend passes too
    r.wait_out(lambda events: any(m == (ON | 3, 50, 70) for _, m in events), "the note passes thru")
    r.wait_out(lambda events: any(m == (0xE3, 0, 64) for _, m in events), "the pitch bend passes thru")
    r.engine.command(cmd.Panic())
    r.wait_hook(ev.Panicked)
    r.wait_closed()
    r.player.send((OFF | 3, 50, 0))
    r.wait_hook(ev.NoteIn, where=lambda d: not d.on)
    assert not unmatched(r.out.events)


@pytest.mark.skipif("thru" not in MODES, reason="settings.MODES has no 'thru' mode yet")
def test_thru_mode_passes_notes_and_never_answers(rig) -> None:
    r = rig(mode="thru")
    r.play(PHRASE)
    r.wait_out(lambda events: len(note_ons(events, 1)) == len(PHRASE), "every note passes")
    r.wait_until_beat(r.beat() + 3)
    r.wait_closed()
    assert r.on_engine_thread(lambda engine: engine.stats.answers) == 0


def junk(count: int) -> list[ports.Message]:
    """Messages that carry nothing for the model, on every channel."""
    kinds: list[Callable[[int, int], ports.Message]] = [
        lambda i, ch: (0xF0, 0x7D, i % 128, 0x01, 0xF7),  # sysex
        lambda i, ch: (0xF8,),  # clock
        lambda i, ch: (0xFE,),  # active sensing
        lambda i, ch: (0xE0 | ch, i % 128, (i * 7) % 128),  # pitch bend
        lambda i, ch: (OFF | ch, (i * 5) % 128, 0),  # note-off with no note-on
        lambda i, ch: (ON | ch, (i * 3) % 128, 0),  # a velocity-0 note-on with no note-on
        lambda i, ch: (0xD0 | ch, i % 128),  # channel pressure
        lambda i, ch: (0xC0 | ch, i % 128),  # program change
        lambda i, ch: (0xA0 | ch, 60, i % 128),  # polyphonic aftertouch
        lambda i, ch: (CC | ch, 1, i % 128),  # mod wheel
        lambda i, ch: (0x40, 0x40),  # a stray data byte
        lambda i, ch: (ON | ch, 200 % 256, 90),  # malformed: a data byte above 127
    ]
    return [kinds[i % len(kinds)](i, i % 16) for i in range(count)]


def test_a_junk_flood_is_survived_and_the_phrase_after_it_is_answered(rig) -> None:
    r = rig()
    flood = junk(5000)
    for message in flood:
        r.player.send(message)
    r.wait_engine(lambda engine: engine.stats.received >= len(flood), "the engine works through the flood")
    stats = r.on_engine_thread(lambda engine: (engine.stats.dropped_inbound, engine.stats.errors, engine.stats.answers))
    assert stats == (0, 0, 0), "nothing dropped, no error, no answer to junk"
    assert len(flood) < INBOUND_LIMIT
    r.answer()
    assert r.answer_ons()
    assert r.engine.stats.notes_in == len(PHRASE), "every note of the phrase reached the model"
    assert r.engine.generator.dropped_jobs == 0


def test_notes_on_every_channel_are_heard(rig) -> None:
    r = rig()
    notes = [(48 + ch, ch * 0.125, ch * 0.125 + 0.1) for ch in range(16)]
    start = math.ceil(r.beat() + 0.25)
    for pitch, on, off in sorted(notes, key=lambda n: n[1]):
        r.wait_until_beat(start + on)
        r.player.send((ON | (pitch - 48), pitch, 80))
        r.wait_until_beat(start + off)
        r.player.send((OFF | (pitch - 48), pitch, 0))
    r.wait_hook(ev.AnswerPlanned)
    assert r.engine.stats.notes_in == 16


# --- continue and accompany ----------------------------------------------------------------------------------------


def test_continue_mode_answers_only_when_triggered(rig) -> None:
    r = rig(mode="continue")
    end, _ = r.play(PHRASE)
    r.wait_until_beat(end + r.settings.silence + 1)
    r.on_engine_thread()
    r.on_engine_thread()  # the mode has been polled after the silence
    assert r.engine.stats.answers == 0, "continue mode does not answer a silence"
    r.engine.command(cmd.Trigger())
    r.wait_hook(ev.AnswerPlanned)
    r.player.send((CC, 64, 127))
    r.player.send((CC, 64, 0))
    r.player.send((CC, 64, 127))  # a double tap of the sustain pedal
    r.wait_hook(ev.AnswerRequested, count=2)


def test_accompany_plays_alongside_on_its_own_channel(rig) -> None:
    r = rig(mode="accompany", accompany_channel=3, density=4.0)
    notes = [(60 + (i * 2) % 12, i * 0.5, i * 0.5 + 0.4) for i in range(24)]
    player = threading.Thread(target=r.play, args=(notes,), daemon=True)
    player.start()
    r.wait_out(lambda events: bool(note_ons(events, 3)), "the accompaniment plays on channel 3")
    player.join(TIMEOUT)
    r.wait_hook(ev.StateChanged, where=lambda d: d.state == "listening")  # idle after the player stops
    r.wait_closed()
    assert {ports.channel_of(m) for m in r.out.messages if ports.is_note_on(m)} == {2}
    tags = {d.tag for d in r.hooked(ev.AnswerRequested)}
    assert tags == {"accompany"}


@pytest.mark.parametrize("mood", ["minor", "major", "auto"])
def test_a_chosen_mood_leans_toward_its_best_fitting_key(rig, mood: str) -> None:
    r = rig(mood=mood, bars=1.0)
    r.answer()
    answers = r.hooked(ev.AnswerRequested)
    assert answers and answers[0].controls is not None, "the phrase was answered"
    mood_key = answers[0].controls.mood_key
    if mood == "auto":
        assert mood_key is None, "auto: the model follows the player, no lean"
    else:
        assert mood_key == r.engine._call.key(mood) and mood_key.mode == mood
