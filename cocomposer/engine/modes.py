"""Interaction modes: when cocomposer answers, for how long, and when it stops to listen.

A mode is pure logic over beats: the engine tells it what the player did and what time it is, and it answers with
actions (ask for an answer, cancel one). It never touches ports, threads or the model, so it is tested with plain
numbers.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from cocomposer import midi_bytes as mb
from cocomposer.engine.settings import Settings
from cocomposer.model.shape import MAX_AUTO_BARS

AUTO_FALLBACK_BARS = 2.0  # bars auto, asked with no phrase to measure (a trigger before any note)
AUTO_LATE_RELEASE = 0.25  # beats


@dataclass(frozen=True)
class RequestAnswer:
    start_beat: float  # when the answer starts (already quantised by the engine's boundary function)
    beats: float
    tag: str  # "answer" or "accompany": the scheduler's name for these notes
    channel: int  # 1..16
    replace: bool = True  # drop what is planned under this tag from start_beat on


@dataclass(frozen=True)
class CancelAnswer:
    tag: str
    at_beat: float


Action = RequestAnswer | CancelAnswer
Boundary = Callable[[float], float]  # the next beat or bar line at or after a beat, per the quantize setting


def _no_lead(beat: float) -> float:
    return beat


class Mode:
    """Base: tracks what the player holds and when they last played. On its own it never answers ("thru")."""

    name = "thru"

    def __init__(self, settings: Settings, boundary: Boundary, earliest: Boundary = _no_lead) -> None:
        """``boundary(beat)``: where an answer asked for at ``beat`` may start (the next beat or bar line, per the
        quantize setting, leaving the generator time to think); ``earliest(beat)``: the same without quantizing."""
        self.settings = settings
        self.boundary = boundary
        self.earliest = earliest
        self.held: set[int] = set()
        self.last_event: float | None = None  # beat of the player's last note message
        self.phrase_start: float | None = None
        self.state = "listening"
        self.answer_end: float | None = None
        self.answer_beats = 0.0

    def update(self, settings: Settings) -> None:
        self.settings = settings

    def on_note_on(self, pitch: int, beat: float) -> list[Action]:
        if not self.held and self.phrase_start is None:
            self.phrase_start = beat
        self.held.add(pitch)
        self.last_event = beat
        return []

    def on_note_off(self, pitch: int, beat: float) -> list[Action]:
        self.held.discard(pitch)
        self.last_event = beat
        return []

    def on_cc(self, number: int, value: int, beat: float) -> list[Action]:
        return []

    def trigger(self, beat: float) -> list[Action]:
        """An explicit request for an answer (a command, a footswitch)."""
        return []

    def poll(self, beat: float) -> list[Action]:
        return []

    def speculation(self, beat: float) -> RequestAnswer | None:
        """The answer this mode would ask for if the phrase ended at ``beat`` (what the engine drafts ahead, see
        :mod:`cocomposer.engine.drafts`), or None when no phrase end is in sight."""
        return None

    def answer_planned(self, end_beat: float) -> None:
        """The generator says when the answer it planned ends."""
        self.answer_end = end_beat

    def panic(self) -> None:
        """Every answer was cancelled and every note closed: forget them and listen afresh."""
        self.state = "listening"
        self.answer_end = None
        self.phrase_start = None

    def relocate(self, old: float, new: float) -> list[Action]:
        """The session clock jumped from beat ``old`` to ``new`` (a DAW's Start or Song Position Pointer while it
        runs); the engine has released the held keys and cancels every answer. The phrase being played moves with the
        clock; an answer playing or waiting is asked for again at the new place, for what was left of it."""
        moved = lambda beat: None if beat is None else beat + new - old  # noqa: E731
        self.phrase_start, self.last_event = moved(self.phrase_start), moved(self.last_event)
        if self.state not in ("waiting", "answering") or self.answer_end is None or self.answer_end <= old:
            self.state, self.answer_end = "listening", None
            return []
        answer_start = self.answer_end - self.answer_beats
        left = self.answer_end - max(old, answer_start)
        start = self.boundary(new + max(0.0, answer_start - old))
        self.state = "waiting" if start > new + 1e-6 else "answering"
        self.answer_end = start + left
        return [RequestAnswer(start, left, "answer", self.settings.out_channel)]

    def answer_bars(self) -> float:
        """The answer's length: the ``bars`` setting, or with bars auto (0) as many whole bars as the phrase
        spans, 1..8."""
        if self.settings.bars:
            return self.settings.bars
        if self.phrase_start is None or self.last_event is None:
            return AUTO_FALLBACK_BARS
        # A last note released a little after a bar line (up to a quarter beat) does not add a bar.
        span = (self.last_event - self.phrase_start - AUTO_LATE_RELEASE) / self.settings.beats_per_bar
        return float(min(MAX_AUTO_BARS, max(1, math.ceil(span - 1e-6))))

    def _answer(self, beat: float) -> list[Action]:
        start = self.boundary(beat)
        self.state = "waiting" if start > beat + 1e-6 else "answering"
        self.answer_beats = self.answer_bars() * self.settings.beats_per_bar
        self.phrase_start = None
        self.answer_end = start + self.answer_beats
        return [RequestAnswer(start, self.answer_beats, "answer", self.settings.out_channel)]

    def _barge_in(self, beat: float) -> list[Action]:
        if self.state in ("waiting", "answering") and self.settings.barge_in:
            self.state = "listening"
            self.answer_end = None
            return [CancelAnswer("answer", beat)]
        return []

    def _follow_answer(self, beat: float) -> None:
        if self.state == "waiting" and self.answer_end is not None and beat >= self.answer_end - self.answer_beats:
            self.state = "answering"
        if self.state in ("waiting", "answering") and self.answer_end is not None and beat >= self.answer_end:
            self.state = "listening"
            self.answer_end = None


class CallResponse(Mode):
    """The player plays a phrase; after a silence (or at a maximum length) cocomposer answers for N bars."""

    name = "call-response"
    DRAFT_BARS = 2.0  # drafts stop this long after the silence window (see speculation)

    def on_note_on(self, pitch: int, beat: float) -> list[Action]:
        actions = self._barge_in(beat)
        if self.state != "listening":  # barge-in is off: the answer plays on, and this note starts no phrase
            return actions
        return actions + super().on_note_on(pitch, beat)

    def on_cc(self, number: int, value: int, beat: float) -> list[Action]:
        ends_phrase = number == self.settings.phrase_end_cc and value >= 64
        if ends_phrase and self.state == "listening" and self.phrase_start is not None:
            return self._answer(beat)
        return []

    def trigger(self, beat: float) -> list[Action]:
        return self._barge_in(beat) + self._answer(beat) if self.state == "listening" else []

    def speculation(self, beat: float) -> RequestAnswer | None:
        """While the player is silent within a phrase, the answer a phrase end at ``beat`` would bring."""
        if self.state != "listening" or self.phrase_start is None or self.held or self.last_event is None:
            return None
        if beat - self.last_event > self.settings.silence + self.DRAFT_BARS * self.settings.beats_per_bar:
            return None  # a long silence (continue mode waits for its trigger): no drafts, whose lead grows with it
        beats = self.answer_bars() * self.settings.beats_per_bar
        return RequestAnswer(self.boundary(beat), beats, "answer", self.settings.out_channel)

    def phrase_end_due(self) -> float | None:
        """The beat at which the current phrase will count as ended, if nothing else is played."""
        if self.state != "listening" or self.phrase_start is None or self.held or self.last_event is None:
            return None
        return self.last_event + self.settings.silence

    def poll(self, beat: float) -> list[Action]:
        self._follow_answer(beat)
        if self.state != "listening" or self.phrase_start is None:
            return []
        due = self.phrase_end_due()
        if due is not None and beat >= due:
            return self._answer(due)
        if beat - self.phrase_start >= self.settings.max_phrase_bars * self.settings.beats_per_bar:
            return self._answer(beat)
        return []


class ContinueOnDemand(CallResponse):
    """Answers only when asked: a trigger CC, a double tap of the sustain pedal, or a command."""

    name = "continue"
    DOUBLE_TAP_BEATS = 1.0

    def __init__(self, settings: Settings, boundary: Boundary, earliest: Boundary = _no_lead) -> None:
        super().__init__(settings, boundary, earliest)
        self._last_press: float | None = None
        self._pedal_down = False

    def on_cc(self, number: int, value: int, beat: float) -> list[Action]:
        if number == self.settings.phrase_end_cc and value >= 64:
            return self.trigger(beat)
        if number == mb.RESET_CONTROLLERS:  # every controller to its default: the pedal is up (it releases no key)
            self._pedal_down = False
        if number != self.settings.trigger_cc:
            return []
        pressed = value >= 64
        if pressed and not self._pedal_down:
            self._pedal_down = True
            if self._last_press is not None and beat - self._last_press <= self.DOUBLE_TAP_BEATS:
                self._last_press = None
                return self.trigger(beat)
            self._last_press = beat
        elif not pressed:
            self._pedal_down = False
        return []

    def trigger(self, beat: float) -> list[Action]:
        actions = self._barge_in(beat)
        self.state = "listening"
        return actions + self._answer(beat)

    def panic(self) -> None:
        super().panic()
        self._last_press = None

    def relocate(self, old: float, new: float) -> list[Action]:
        self._last_press = None
        return super().relocate(old, new)

    def poll(self, beat: float) -> list[Action]:
        self._follow_answer(beat)
        return []


class Accompany(Mode):
    """Plays alongside the player, planning a short horizon ahead and replanning when the player's input is new."""

    name = "accompany"
    REPLAN_BEATS = 0.5  # replan at most this often
    IDLE_BARS = 2.0  # stop planning after the player has been silent this long

    def __init__(self, settings: Settings, boundary: Boundary, earliest: Boundary = _no_lead) -> None:
        super().__init__(settings, boundary, earliest)
        self.planned_until: float | None = None
        self.last_replan: float | None = None

    def _plan(self, start: float, beat: float, replace: bool) -> list[Action]:
        self.state = "answering"
        self.planned_until = start + self.settings.horizon
        self.last_replan = beat
        channel = self.settings.accompany_channel
        return [RequestAnswer(start, self.settings.horizon, "accompany", channel, replace=replace)]

    def panic(self) -> None:
        """Silence until the player plays again."""
        super().panic()
        self.planned_until = self.last_replan = self.last_event = None

    def relocate(self, old: float, new: float) -> list[Action]:
        """The next poll plans afresh from the new place (the engine cancelled what was planned)."""
        if self.last_event is not None:
            self.last_event += new - old
        self.planned_until = self.last_replan = None
        self.state = "listening"
        return []

    def answer_planned(self, end_beat: float) -> None:
        if self.state == "answering":
            self.planned_until = end_beat

    def on_note_on(self, pitch: int, beat: float) -> list[Action]:
        super().on_note_on(pitch, beat)
        if self.last_replan is not None and beat - self.last_replan < self.REPLAN_BEATS:
            return []
        return self._plan(self.earliest(beat), beat, replace=True)

    def poll(self, beat: float) -> list[Action]:
        if self.last_event is None:
            return []
        idle = beat - self.last_event >= self.IDLE_BARS * self.settings.beats_per_bar and not self.held
        if idle:
            if self.planned_until is not None and beat >= self.planned_until:
                self.state, self.planned_until = "listening", None
            return []
        if self.planned_until is None or self.planned_until - beat <= self.settings.horizon / 2:
            if self.planned_until is not None and self.planned_until > beat:
                return self._plan(self.planned_until, beat, replace=False)  # follows the plan that is playing
            return self._plan(self.earliest(beat), beat, replace=True)
        return []


MODE_CLASSES: dict[str, type[Mode]] = {
    "call-response": CallResponse,
    "accompany": Accompany,
    "continue": ContinueOnDemand,
    "thru": Mode,  # passes the player's notes to the output and never answers
}


def make_mode(settings: Settings, boundary: Boundary, earliest: Boundary = _no_lead) -> Mode:
    return MODE_CLASSES[settings.mode](settings, boundary, earliest)
