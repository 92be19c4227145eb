"""Continuations: prime a model with notes, then sample until the answer has run for a number of beats.

Used by the offline `continue` command, the demo, the evaluation and the live engine's generator worker.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from cocomposer.errors import ConfigError
from cocomposer.model.player import MimicContext, PlayerModel
from cocomposer.model.runtime import OnnxModel
from cocomposer.model.sampling import Controls
from cocomposer.model.shape import Cadence, Groove, read_call, register_of, swing
from cocomposer.music import codec
from cocomposer.music.keys import find_key, parse_key, pitch_class_histogram

MAX_NOTE_BEATS = 8.0  # a note the model holds longer than this is closed by the generator
MAX_PROMPT_NOTES = 4000  # the model's context for a phrase continued offline: the last notes of a long file
DEFAULT_CADENCE = 1.0  # chosen on the musical benchmark's validation prompts (see cocomposer.bench.musicality)


@dataclass(frozen=True)
class Continuation:
    tokens: list[int]
    notes: list[codec.Note]  # times in beats on the same clock as the prompt
    start_tick: int
    end_tick: int


def prime(model: OnnxModel, notes: Sequence[codec.Note], start_tick: int = 0) -> codec.StreamEncoder:
    """Reset ``model`` and feed it ``notes``; returns an encoder positioned after them."""
    model.reset(start_tick)
    tokens = codec.encode_notes(notes, start_tick=start_tick)
    model.feed(tokens)
    encoder = codec.StreamEncoder(start_tick)
    encoder.observe(tokens)
    return encoder


def continue_from(
    model: OnnxModel,
    encoder: codec.StreamEncoder,
    controls: Controls,
    rng: np.random.Generator,
    beats: float,
    start_beat: float | None = None,
    velocity: int = 80,
    should_stop: Callable[[], bool] | None = None,
    on_note: Callable[[codec.Note], None] | None = None,
    mimic: MimicContext | None = None,
    cadence: Cadence | None = None,
    groove: Groove | None = None,
) -> Continuation:
    """Sample from ``model`` (already primed) until ``beats`` beats have passed; every note it opens is closed.

    ``start_beat`` (default: where the encoder stands) is when the answer begins: time up to it is fed as silence.
    Notes the player holds stay untouched: the answer only closes the notes it opened. ``on_note`` receives each
    note as soon as its end is known (times in beats on the encoder's clock), so playback can start before the
    whole answer is sampled.

    ``mimic``: the player model's view of this answer (see :mod:`cocomposer.model.player`), weighted by
    ``controls.mimic``; ``cadence``: leans the last bar toward a close (see :class:`cocomposer.model.shape.Cadence`);
    ``groove``: leans time toward a syncopated call's sixteenths (see :class:`cocomposer.model.shape.Groove`).
    """
    if start_beat is not None:
        lead = encoder.advance(start_beat)
        if lead:
            model.feed(lead)
    sampler = Continuer(model, encoder, controls, rng, beats, velocity, mimic, cadence, groove)
    sampler.on_note = on_note
    sampler.run(should_stop)
    return sampler.result()


class Continuer:
    """:func:`continue_from` as an object that can pause: the live generator samples the start of an answer before
    the phrase is known to have ended (a draft), and goes on from there once it is (see
    :mod:`cocomposer.engine.worker`). The answer starts where ``encoder`` stands."""

    def __init__(
        self,
        model: OnnxModel,
        encoder: codec.StreamEncoder,
        controls: Controls,
        rng: np.random.Generator,
        beats: float,
        velocity: int = 80,
        mimic: MimicContext | None = None,
        cadence: Cadence | None = None,
        groove: Groove | None = None,
    ) -> None:
        self.model, self.encoder, self.controls, self.rng = model, encoder, controls, rng
        self.velocity, self.mimic, self.cadence, self.groove = velocity, mimic, cadence, groove
        self.start_tick = encoder.tick
        if mimic is not None:
            mimic.advance_to(self.start_tick)
        self.end_tick = self.start_tick + codec.beats_to_ticks(beats)
        self.tokens: list[int] = []
        self.notes: list[codec.Note] = []  # closed so far, in the order they closed
        self.own: dict[int, int] = {}  # pitch -> onset tick, for the notes this answer opened and has not closed
        self.on_note: Callable[[codec.Note], None] | None = None
        self.on_onset: Callable[[int, int], None] | None = None  # (pitch, tick) as soon as a note-on is sampled
        self.done = False
        self._budget = 40 * max(1, self.end_tick - self.start_tick)  # a hard stop far above any musical answer
        self._max_ticks = codec.beats_to_ticks(MAX_NOTE_BEATS)

    def run(self, should_stop: Callable[[], bool] | None = None, pause: Callable[[], bool] | None = None) -> bool:
        """Sample on until the answer's end (then close what it holds), ``should_stop()`` (also closes), or
        ``pause()`` (leaves everything as it is, to go on with another ``run``). True once the answer is done."""
        while not self.done:
            if self.encoder.tick >= self.end_tick or self._budget <= 0 or (should_stop and should_stop()):
                self._close_all()
            elif pause is not None and pause():
                return False
            else:
                self._step()
        return True

    def result(self) -> Continuation:
        return Continuation(self.tokens, sorted(self.notes), self.start_tick, self.encoder.tick)

    def _step(self) -> None:
        model, encoder, controls, own = self.model, self.encoder, self.controls, self.own
        self._budget -= 1
        ages = {pitch: encoder.tick - onset for pitch, onset in own.items()}
        onsets = self.end_tick - encoder.tick >= controls.min_note_ticks  # a note started now could reach its length
        lean = None
        if self.mimic is not None and controls.mimic > 0:
            heard = self.mimic.log_probs()
            lean = None if heard is None else controls.mimic * heard
        if self.cadence is not None:
            if self.cadence.closed:  # the closing note rings to the bar line
                onsets, ages = False, {}
            elif (close_lean := self.cadence.lean(encoder.tick)) is not None:
                lean = close_lean if lean is None else lean + close_lean
        if self.groove is not None and (groove_lean := self.groove.lean(encoder.tick, model.logits)) is not None:
            lean = groove_lean if lean is None else lean + groove_lean
        token = model.sample(controls, self.rng, encoder.sounding.keys(), ages, onsets, lean)
        if codec.is_shift(token):
            # Never step past the end of the answer, and close notes held too long.
            token = codec.shift_token(min(codec.shift_ticks(token), self.end_tick - encoder.tick))
            later = encoder.tick + codec.shift_ticks(token)
            forced = [p for p, onset in own.items() if later - onset > self._max_ticks]
            if forced:
                token = codec.off_token(forced[0])
        self._take(token)
        if self.mimic is not None:
            self.mimic.push(token)
        if codec.is_on(token):
            own[codec.token_pitch(token)] = encoder.tick
            if self.cadence is not None:
                self.cadence.heard(codec.token_pitch(token), encoder.tick)
            if self.on_onset:
                self.on_onset(codec.token_pitch(token), encoder.tick)
        elif codec.is_off(token):
            self._close(codec.token_pitch(token))

    def _take(self, token: int) -> None:
        self.model.step(token)
        self.encoder.observe([token])
        self.tokens.append(token)

    def _close(self, pitch: int) -> None:
        onset = self.own.pop(pitch)
        tpb = codec.TICKS_PER_BEAT
        note = codec.Note(onset / tpb, self.encoder.tick / tpb, pitch, self.velocity)
        self.notes.append(note)
        if self.on_note:
            self.on_note(note)

    def _close_all(self) -> None:
        for pitch in sorted(self.own):
            self._take(codec.off_token(pitch))
            self._close(pitch)
        self.done = True


def mood_of(notes: list[codec.Note]) -> str:
    """'major' or 'minor' from the notes' key (Krumhansl-Schmuckler), 'major' when unclear."""
    key = find_key(pitch_class_histogram((n.pitch for n in notes), (n.end - n.start for n in notes)))
    return key.mode if key else "major"


@dataclass(frozen=True)
class Conversation:
    """How an answer converses with its call (each off gives the network alone, as before this existed)."""

    follow_call: bool = True  # the call's register (within the controls' range) and number of voices
    cadence: float = DEFAULT_CADENCE  # strength of the close in the last bar; 0: none
    groove: bool = True  # a swung call gets a swung answer
    learn_call: bool = True  # the player model learns the call (what ``controls.mimic`` weighs)


def continue_notes(
    model: OnnxModel,
    prompt: list[codec.Note],
    bars: float | None,
    controls: Controls,
    style: str,
    mood: str,
    seed: int,
    meter: codec.Meter = codec.COMMON_TIME,
    key_lock: str = "off",
    quantize: str = "bar",
    conversation: Conversation | None = None,
    player: PlayerModel | None = None,
) -> tuple[Continuation, str]:
    """``bars`` bars of ``meter`` continuing ``prompt`` (bar lines at beat 0 and every bar after), from the first bar
    line (``quantize="bar"``) or beat (``"beat"``) after its last note ends; ends on a bar line of its own.

    ``bars`` None: as many bars as the prompt spans (1..8). ``conversation`` (default: :class:`Conversation`) shapes
    the answer after its call; ``player``: a player model that has already learned more than the prompt."""
    conversation = conversation or Conversation()
    if bars is not None and bars <= 0:
        raise ConfigError(f"an answer needs at least one bar; got --bars {bars:g}")
    if quantize not in ("bar", "beat"):
        raise ConfigError(f"quantize must be bar or beat, got {quantize!r}")
    prompt = prompt[-MAX_PROMPT_NOTES:]
    resolved_mood = mood_of(prompt) if mood == "auto" else mood
    histogram = pitch_class_histogram((n.pitch for n in prompt), (n.end - n.start for n in prompt))
    key = find_key(histogram)
    if mood != "auto" and key is not None:
        controls = controls.with_(mood_key=find_key(histogram, mood))
    if key_lock == "auto":
        controls = controls.with_(key=key)
    elif key_lock != "off":
        controls = controls.with_(key=parse_key(key_lock))
    model.set_style(style)
    model.set_mood(resolved_mood)
    model.set_meter(meter, 0)
    bar = meter.bar_beats
    first = math.floor(min(n.start for n in prompt) / bar + 1e-9) * bar  # whole bars, so bar lines stay bar lines
    shifted = [codec.Note(n.start - first, n.end - first, n.pitch, n.velocity) for n in prompt]
    call = read_call(shifted, meter, controls.low, controls.high)
    if conversation.follow_call:
        controls = controls.with_(
            low=call.low,
            high=call.high,
            max_polyphony=min(controls.max_polyphony, call.voices),
            register=register_of(call),
        )
    bars = call.bars if bars is None else bars
    encoder = prime(model, shifted)
    if player is None:
        player = PlayerModel(meter=meter)
    if conversation.learn_call:
        player.learn_notes(shifted)
    last = max(n.end for n in shifted)
    unit = bar if quantize == "bar" else 1.0
    start = math.ceil(last / unit - 1e-9) * unit
    # Whole bars: an answer that starts on a beat ends on the bar line at least ``bars`` bars later.
    end = math.ceil((start + bars * bar) / bar - 1e-9) * bar
    velocity = int(round(np.mean([n.velocity for n in prompt])))
    close = None
    if conversation.cadence > 0 and key is not None:
        close = Cadence(key, conversation.cadence, meter, codec.beats_to_ticks(end), 0, codec.beats_to_ticks(start))
    answer = continue_from(
        model,
        encoder,
        controls,
        np.random.default_rng(seed),
        end - start,
        start_beat=start,
        velocity=velocity,
        mimic=player.context(),
        cadence=close,
        groove=Groove(call.syncopation) if conversation.groove else None,
    )
    notes = answer.notes
    if conversation.groove:
        notes = swing(notes, call.swing)
    notes = [codec.Note(n.start + first, n.end + first, n.pitch, n.velocity) for n in notes]
    return Continuation(answer.tokens, notes, answer.start_tick, answer.end_tick), resolved_mood
