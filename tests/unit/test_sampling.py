"""No blips or clicks by construction: the sampler's shortest note, its voice limit, and continuations built on it."""

from __future__ import annotations

import numpy as np
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from cocomposer.model.continuation import continue_from
from cocomposer.model.sampling import Controls, masked_logits, sample_token
from cocomposer.music import codec


class ScriptedModel:
    """A stand-in for the network at the model boundary: logits drawn at random, with a strong wish to close
    every note at once (the blip a real model makes after detached playing)."""

    def __init__(self, seed: int) -> None:
        self.rng = np.random.default_rng(seed)
        self.tick = 0
        self.logits = self._draw()

    def _draw(self) -> np.ndarray:
        logits = self.rng.normal(scale=3.0, size=codec.VOCAB_SIZE)
        logits[codec.OFF_BASE :] += 8.0  # note-offs first
        logits[codec.ON_BASE + 60 : codec.ON_BASE + 72] += 6.0
        return logits

    def sample(self, controls, rng, sounding=(), closable=None, onsets=True, lean=None) -> int:
        return sample_token(self.logits, controls, rng, frozenset(sounding), closable, onsets, lean)

    def step(self, token: int) -> np.ndarray:
        self.tick += codec.shift_ticks(token)
        self.logits = self._draw()
        return self.logits


def test_a_note_younger_than_the_shortest_note_cannot_close() -> None:
    logits = np.zeros(codec.VOCAB_SIZE)
    scores = masked_logits(logits, Controls(min_note_ticks=2), frozenset({60, 64}), {60: 0, 64: 2})
    assert np.isinf(scores[codec.off_token(60)]), "ending on the tick it started: a zero-length note"
    assert np.isfinite(scores[codec.off_token(64)])
    young = masked_logits(logits, Controls(min_note_ticks=3), frozenset({60}), {60: 2})
    assert np.isinf(young[codec.OFF_BASE :]).all() and np.isfinite(young[codec.shift_token(1)])


def test_every_voice_taken_by_young_notes_waits_for_one_to_come_of_age() -> None:
    logits = np.zeros(codec.VOCAB_SIZE)
    scores = masked_logits(logits, Controls(max_polyphony=2), frozenset({60, 64}), {60: 0, 64: 1})
    assert np.isinf(scores[codec.ON_BASE : codec.OFF_BASE]).all(), "no burst beyond the voice limit"
    assert np.isinf(scores[codec.OFF_BASE :]).all()
    assert np.isfinite(scores[codec.shift_token(1)])
    assert sample_token(logits, Controls(max_polyphony=2), np.random.default_rng(0), {60, 64}, {60: 0, 64: 1}) in (
        codec.shift_token(k) for k in range(1, codec.MAX_SHIFT + 1)
    )


def test_no_onsets_when_the_answer_ends_too_soon() -> None:
    scores = masked_logits(np.zeros(codec.VOCAB_SIZE), Controls(), frozenset(), {}, onsets=False)
    assert np.isinf(scores[codec.ON_BASE : codec.OFF_BASE]).all()


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    min_ticks=st.integers(1, 6),
    voices=st.integers(1, 6),
    temperature=st.floats(0.3, 3.0),
    beats=st.integers(1, 6),
)
def test_continuations_never_hold_a_note_shorter_than_the_minimum(
    seed: int, min_ticks: int, voices: int, temperature: float, beats: int
) -> None:
    controls = Controls(min_note_ticks=min_ticks, max_polyphony=voices, temperature=temperature, top_p=1.0)
    model = ScriptedModel(seed)
    encoder = codec.StreamEncoder()
    answer = continue_from(model, encoder, controls, np.random.default_rng(seed), beats)  # type: ignore[arg-type]
    assume(answer.notes)  # a draw that rests for the whole answer holds no note to check
    for note in answer.notes:
        length = codec.beats_to_ticks(note.end) - codec.beats_to_ticks(note.start)
        assert length >= min_ticks, note
    ticks: dict[int, int] = {}
    for note in answer.notes:
        ticks[codec.beats_to_ticks(note.start)] = ticks.get(codec.beats_to_ticks(note.start), 0) + 1
    assert max(ticks.values()) <= voices, "never more onsets on one tick than voices"
    assert answer.end_tick == beats * codec.TICKS_PER_BEAT and not encoder.sounding
