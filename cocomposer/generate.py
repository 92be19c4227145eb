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
) -> Continuation:
    """Sample from ``model`` (already primed) until ``beats`` beats have passed; every note it opens is closed.

    ``start_beat`` (default: where the encoder stands) is when the answer begins: time up to it is fed as silence.
    """
    if start_beat is not None:
        lead = encoder.advance(start_beat)
        if lead:
            model.feed(lead)
    start_tick = encoder.tick
    end_tick = start_tick + codec.beats_to_ticks(beats)
    max_ticks = codec.beats_to_ticks(MAX_NOTE_BEATS)
    tokens: list[int] = []
    budget = 40 * max(1, end_tick - start_tick)  # a hard stop far above any musical answer
    while encoder.tick < end_tick and budget > 0 and not (should_stop and should_stop()):
        budget -= 1
        token = model.sample(controls, rng, encoder.sounding.keys())
        if codec.is_shift(token):
            # Never step past the end of the answer, and close notes held too long.
            token = codec.shift_token(min(codec.shift_ticks(token), end_tick - encoder.tick))
            forced = [p for p, on in encoder.sounding.items() if encoder.tick + codec.shift_ticks(token) - on > max_ticks]
            if forced:
                token = codec.off_token(forced[0])
        model.step(token)
        encoder.observe([token])
        tokens.append(token)
    for pitch in sorted(encoder.sounding):
        token = codec.off_token(pitch)
        model.step(token)
        encoder.observe([token])
        tokens.append(token)
    notes = codec.decode(tokens, start_tick=start_tick, velocity=velocity)
    return Continuation(tokens, notes, start_tick, encoder.tick)
