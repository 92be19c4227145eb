"""Continuations: prime a model with notes, then sample until the answer has run for a number of beats.

Used by the offline `continue` command, the demo, the evaluation and the live engine's generator worker.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from cocomposer import codec
from cocomposer.model import OnnxModel
from cocomposer.sampling import Controls

MAX_NOTE_BEATS = 8.0  # a note the model holds longer than this is closed by the generator


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
) -> Continuation:
    """Sample from ``model`` (already primed) until ``beats`` beats have passed; every note it opens is closed.

    ``start_beat`` (default: where the encoder stands) is when the answer begins: time up to it is fed as silence.
    Notes the player holds stay untouched: the answer only closes the notes it opened. ``on_note`` receives each
    note as soon as its end is known (times in beats on the encoder's clock), so playback can start before the
    whole answer is sampled.
    """
    if start_beat is not None:
        lead = encoder.advance(start_beat)
        if lead:
            model.feed(lead)
    start_tick = encoder.tick
    end_tick = start_tick + codec.beats_to_ticks(beats)
    max_ticks = codec.beats_to_ticks(MAX_NOTE_BEATS)
    tokens: list[int] = []
    own: dict[int, int] = {}  # pitch -> onset tick, for the notes this answer opened
    notes: list[codec.Note] = []

    def close(pitch: int) -> None:
        onset = own.pop(pitch)
        note = codec.Note(onset / codec.TICKS_PER_BEAT, encoder.tick / codec.TICKS_PER_BEAT, pitch, velocity)
        notes.append(note)
        if on_note:
            on_note(note)

    budget = 40 * max(1, end_tick - start_tick)  # a hard stop far above any musical answer
    while encoder.tick < end_tick and budget > 0 and not (should_stop and should_stop()):
        budget -= 1
        ages = {pitch: encoder.tick - onset for pitch, onset in own.items()}
        onsets = end_tick - encoder.tick >= controls.min_note_ticks  # a note started now could not reach its length
        token = model.sample(controls, rng, encoder.sounding.keys(), ages, onsets)
        if codec.is_shift(token):
            # Never step past the end of the answer, and close notes held too long.
            token = codec.shift_token(min(codec.shift_ticks(token), end_tick - encoder.tick))
            later = encoder.tick + codec.shift_ticks(token)
            forced = [p for p, onset in own.items() if later - onset > max_ticks]
            if forced:
                token = codec.off_token(forced[0])
        model.step(token)
        encoder.observe([token])
        tokens.append(token)
        if codec.is_on(token):
            own[codec.token_pitch(token)] = encoder.tick
        elif codec.is_off(token):
            close(codec.token_pitch(token))
    for pitch in sorted(own):
        token = codec.off_token(pitch)
        model.step(token)
        encoder.observe([token])
        tokens.append(token)
        close(pitch)
    notes.sort()
    return Continuation(tokens, notes, start_tick, encoder.tick)
