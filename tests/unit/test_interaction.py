"""Interaction modes as pure logic: beats in, actions out. No ports, no threads, no model."""

from __future__ import annotations

import math

import pytest

from cocomposer.engine.modes import (
    MODE_CLASSES,
    Accompany,
    CallResponse,
    CancelAnswer,
    ContinueOnDemand,
    Mode,
    RequestAnswer,
    make_mode,
)
from cocomposer.engine.settings import Settings


def on_beat(beat: float) -> float:
    return math.ceil(beat - 1e-9)


def on_bar(beat: float) -> float:
    return 4 * math.ceil(beat / 4 - 1e-9)


def unquantized(beat: float) -> float:
    return beat


def requests(actions: list) -> list[RequestAnswer]:
    return [a for a in actions if isinstance(a, RequestAnswer)]


def play(mode: Mode, notes: list[tuple[int, float, float]]) -> list:
    """Feed (pitch, on_beat, off_beat) notes in time order, polling at every event; returns all actions."""
    events = sorted([(on, 1, p) for p, on, _ in notes] + [(off, 0, p) for p, _, off in notes])
    actions = []
    for beat, is_on, pitch in events:
        actions += mode.poll(beat)
        actions += mode.on_note_on(pitch, beat) if is_on else mode.on_note_off(pitch, beat)
    return actions


PHRASE = [(60, 0.0, 0.5), (62, 0.5, 1.0), (64, 1.0, 1.75)]  # ends at 1.75: with one beat of silence, at 2.75


# --- call and response ---------------------------------------------------------------------------------------------


def test_phrase_ends_after_the_silence_and_the_answer_starts_on_the_next_beat() -> None:
    mode = CallResponse(Settings(bars=2, out_channel=5), on_beat)
    assert play(mode, PHRASE) == []
    assert mode.phrase_end_due() == pytest.approx(2.75)
    assert mode.poll(2.74) == []
    actions = mode.poll(2.76)
    assert actions == [RequestAnswer(3.0, 8.0, "answer", 5)]
    assert mode.state == "waiting"
    assert mode.phrase_end_due() is None, "one phrase, one answer"
    assert mode.poll(2.9) == []


def test_the_silence_is_configurable() -> None:
    mode = CallResponse(Settings(silence=0.25), unquantized)
    play(mode, PHRASE)
    assert mode.poll(1.99) == []
    assert requests(mode.poll(2.0))[0].start_beat == pytest.approx(2.0)


def test_the_answer_starts_on_the_next_bar_with_quantize_bar() -> None:
    mode = CallResponse(Settings(quantize="bar"), on_bar)
    play(mode, PHRASE)
    assert requests(mode.poll(2.8))[0].start_beat == 4.0


def test_a_held_key_keeps_the_phrase_open_until_the_maximum_length() -> None:
    mode = CallResponse(Settings(max_phrase_bars=2), on_beat)
    mode.on_note_on(60, 0.25)
    assert mode.phrase_end_due() is None
    assert mode.poll(3.0) == [] and mode.poll(8.0) == []
    actions = mode.poll(8.3)  # two bars after the phrase began
    assert requests(actions) and requests(actions)[0].start_beat == 9.0


def test_a_long_phrase_of_short_notes_ends_at_the_maximum_length() -> None:
    mode = CallResponse(Settings(max_phrase_bars=1), on_beat)
    actions = play(mode, [(60 + i % 5, i * 0.5, i * 0.5 + 0.25) for i in range(7)])  # 0 .. 3.25, never silent a beat
    actions += mode.poll(4.0)
    assert [a.start_beat for a in requests(actions)] == [4.0]


def test_the_phrase_end_cc_ends_the_phrase_at_once() -> None:
    mode = CallResponse(Settings(phrase_end_cc=67, bars=2), on_beat)
    assert mode.on_cc(67, 127, 0.1) == [], "no phrase yet, nothing to answer"
    mode.on_note_on(60, 0.2)
    assert mode.on_cc(66, 127, 0.6) == [], "another CC does nothing"
    assert mode.on_cc(67, 10, 0.6) == [], "a pedal release does nothing"
    assert requests(mode.on_cc(67, 127, 0.6)) == [RequestAnswer(1.0, 8.0, "answer", 1)]


@pytest.mark.parametrize(("phrase_end", "bars"), [(1.75, 1), (4.0, 1), (4.5, 2), (11.0, 3), (40.0, 8)])
def test_bars_auto_answers_with_as_many_bars_as_the_phrase(phrase_end: float, bars: int) -> None:
    mode = CallResponse(Settings(bars=0, phrase_end_cc=67, max_phrase_bars=32), unquantized)
    mode.on_note_on(60, 0.0)
    mode.on_note_off(60, phrase_end)
    [request] = requests(mode.on_cc(67, 127, phrase_end))
    assert request.beats == 4 * bars, "whole bars of the phrase, 1..8"
    assert mode.answer_end == phrase_end + 4 * bars


def test_the_answer_ends_and_the_mode_listens_again() -> None:
    mode = CallResponse(Settings(bars=1), on_beat)
    play(mode, PHRASE)
    mode.poll(2.8)
    mode.answer_planned(7.0)
    mode.poll(3.0)
    assert mode.state == "answering"
    mode.poll(6.9)
    assert mode.state == "answering"
    mode.poll(7.0)
    assert mode.state == "listening"
    assert play(mode, [(67, 8.0, 8.5)]) == [] and requests(mode.poll(9.6))[0].start_beat == 10.0


@pytest.mark.parametrize("when", [2.9, 3.5], ids=["while-waiting", "while-answering"])
def test_barge_in_cancels_the_answer_and_starts_a_new_phrase(when: float) -> None:
    mode = CallResponse(Settings(), on_beat)
    play(mode, PHRASE)
    mode.poll(2.8)
    mode.poll(when)
    actions = mode.on_note_on(65, when)
    assert actions == [CancelAnswer("answer", when)]
    assert mode.state == "listening" and mode.phrase_start == when
    mode.on_note_off(65, when + 0.5)
    assert requests(mode.poll(when + 1.6))[0].start_beat == math.ceil(when + 1.5)


def test_without_barge_in_the_answer_plays_on_and_notes_under_it_start_no_phrase() -> None:
    mode = CallResponse(Settings(barge_in=False, bars=1), on_beat)
    play(mode, PHRASE)
    mode.poll(2.8)
    mode.answer_planned(7.0)
    mode.poll(3.2)
    assert mode.on_note_on(65, 3.5) == [] and mode.on_note_off(65, 3.75) == []
    assert mode.state == "answering"
    assert mode.poll(5.0) == [], "a note under the answer is not a phrase"
    mode.poll(7.0)
    assert mode.state == "listening"


def test_barge_in_is_a_live_setting() -> None:
    mode = CallResponse(Settings(barge_in=False), on_beat)
    play(mode, PHRASE)
    mode.poll(3.2)
    mode.update(Settings(barge_in=True))
    assert mode.on_note_on(65, 3.5) == [CancelAnswer("answer", 3.5)]


def test_a_command_trigger_answers_at_once_when_listening() -> None:
    mode = CallResponse(Settings(), on_beat)
    mode.on_note_on(60, 0.1)
    assert requests(mode.trigger(0.4))[0].start_beat == 1.0
    assert mode.trigger(0.5) == [], "one answer at a time"


def test_panic_forgets_the_answer_under_way() -> None:
    mode = CallResponse(Settings(), on_beat)
    play(mode, PHRASE)
    mode.poll(2.8)
    mode.panic()
    assert mode.state == "listening" and mode.answer_end is None
    assert mode.on_note_on(60, 3.5) == [], "nothing left to cancel"


# --- continue on demand --------------------------------------------------------------------------------------------


def continue_mode(**settings: object) -> ContinueOnDemand:
    mode = ContinueOnDemand(Settings(mode="continue", **{"bars": 2, **settings}), on_beat)
    play(mode, PHRASE)
    return mode


def test_continue_mode_does_not_answer_a_silence() -> None:
    mode = continue_mode()
    assert mode.poll(2.8) == [] and mode.poll(40.0) == []
    assert mode.state == "listening"


def test_continue_mode_answers_a_trigger_command() -> None:
    mode = continue_mode()
    assert requests(mode.trigger(5.2)) == [RequestAnswer(6.0, 8.0, "answer", 1)]


def test_continue_mode_answers_a_double_tap_of_the_pedal_within_a_beat() -> None:
    mode = continue_mode()
    assert mode.on_cc(64, 127, 3.0) == []
    assert mode.on_cc(64, 0, 3.2) == []
    assert requests(mode.on_cc(64, 127, 3.9))[0].start_beat == 4.0


def test_continue_mode_ignores_taps_more_than_a_beat_apart_and_a_held_pedal() -> None:
    mode = continue_mode()
    assert mode.on_cc(64, 127, 3.0) == [] and mode.on_cc(64, 0, 3.5) == []
    assert mode.on_cc(64, 127, 4.5) == [], "1.5 beats apart: a new first tap"
    assert mode.on_cc(64, 127, 4.6) == [], "still down: not a second tap"
    assert mode.on_cc(64, 0, 4.7) == []
    assert requests(mode.on_cc(64, 127, 5.0)), "the second tap of the new pair"


def test_continue_mode_takes_reset_all_controllers_as_the_pedal_coming_up() -> None:
    """A DAW (or a keyboard's reset) sends CC 121 rather than the pedal's own release: the pedal counts as up, so the
    next press is a tap (else the pedal would count as held and a double tap would never answer)."""
    mode = continue_mode()
    assert mode.on_cc(64, 127, 3.0) == [] and mode.on_cc(121, 0, 3.2) == []
    assert requests(mode.on_cc(64, 127, 3.9)), "the second tap"


def test_continue_mode_trigger_cc_is_configurable() -> None:
    mode = continue_mode(trigger_cc=80)
    assert mode.on_cc(64, 127, 3.0) == [] and mode.on_cc(64, 0, 3.1) == [] and mode.on_cc(64, 127, 3.2) == []
    mode.on_cc(80, 127, 3.3)
    mode.on_cc(80, 0, 3.4)
    assert requests(mode.on_cc(80, 127, 3.5))


def test_continue_mode_answers_the_phrase_end_cc_at_once() -> None:
    mode = continue_mode(phrase_end_cc=67)
    assert requests(mode.on_cc(67, 127, 3.0))[0].start_beat == 3.0


def test_continue_mode_trigger_during_an_answer_restarts_it() -> None:
    mode = continue_mode()
    mode.trigger(3.0)
    actions = mode.trigger(3.5)
    assert actions[0] == CancelAnswer("answer", 3.5) and requests(actions)[0].start_beat == 4.0


# --- accompany -----------------------------------------------------------------------------------------------------


def accompany(**settings: object) -> Accompany:
    return Accompany(Settings(mode="accompany", accompany_channel=3, horizon=2.0, **settings), on_beat)


def test_accompany_plans_a_horizon_ahead_on_its_own_channel() -> None:
    mode = accompany()
    assert mode.on_note_on(60, 0.0) == [RequestAnswer(0.0, 2.0, "accompany", 3, replace=True)]
    assert mode.state == "answering"


def test_accompany_starts_no_earlier_than_the_engine_allows() -> None:
    mode = Accompany(Settings(mode="accompany"), on_beat, earliest=lambda beat: beat + 0.1)
    assert requests(mode.on_note_on(60, 1.0))[0].start_beat == pytest.approx(1.1)


def test_accompany_replans_when_the_player_plays_but_not_more_often_than_half_a_beat() -> None:
    mode = accompany()
    mode.on_note_on(60, 0.0)
    assert mode.on_note_on(62, 0.25) == [], "too soon after the last plan"
    mode.on_note_off(60, 0.3)
    assert requests(mode.on_note_on(64, 0.75)) == [RequestAnswer(0.75, 2.0, "accompany", 3, replace=True)]


def test_accompany_extends_its_plan_before_it_runs_out() -> None:
    mode = accompany()
    mode.on_note_on(60, 0.0)
    mode.answer_planned(2.0)
    assert mode.poll(0.5) == []
    assert mode.poll(1.0) == [RequestAnswer(2.0, 2.0, "accompany", 3, replace=False)], "half the horizon left"
    assert mode.poll(1.1) == []


def test_accompany_goes_idle_when_the_player_stops() -> None:
    mode = accompany()
    mode.on_note_on(60, 0.0)
    mode.on_note_off(60, 1.0)
    beat, actions = 1.0, []
    while beat < 12.0:
        actions += mode.poll(beat)
        beat += 0.25
    starts = [a.start_beat for a in requests(actions)]
    assert starts and max(starts) < 1.0 + 8.0, "no plan begins after two idle bars"
    assert mode.state == "listening"
    assert requests(mode.on_note_on(62, 12.0)), "the next note wakes it"


def test_a_held_chord_keeps_the_accompaniment_going() -> None:
    mode = accompany()
    mode.on_note_on(60, 0.0)
    actions = []
    for i in range(1, 60):
        actions += mode.poll(i * 0.25)
    assert max(a.start_beat for a in requests(actions)) > 12.0


def test_accompany_panic_keeps_it_quiet_until_the_player_plays() -> None:
    mode = accompany()
    mode.on_note_on(60, 0.0)
    mode.panic()
    assert mode.poll(1.5) == [] and mode.state == "listening"
    assert requests(mode.on_note_on(62, 2.0))


# --- the mode table ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "cls"), [("call-response", CallResponse), ("accompany", Accompany), ("continue", ContinueOnDemand)]
)
def test_make_mode_builds_the_named_mode(name: str, cls: type) -> None:
    mode = make_mode(Settings(mode=name), on_beat)
    assert type(mode) is cls and mode.name == name


def test_thru_mode_never_answers() -> None:
    mode = MODE_CLASSES["thru"](Settings(), on_beat)
    actions = play(mode, PHRASE) + mode.poll(10.0) + mode.trigger(10.0) + mode.on_cc(64, 127, 10.0)
    assert actions == [] and mode.name == "thru"
