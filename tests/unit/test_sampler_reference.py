"""The fast sampler against a plain one written out here: every mask, lean, temperature and top-p it must honour.

The sampler scores only the tokens its controls and the sounding notes leave possible, with sets kept between
draws (see :func:`cocomposer.model.sampling.nucleus`). The reference below does it the slow way, over the whole
vocabulary, from the controls alone: the same probabilities, and with no two weights tied the same draws.
"""

from __future__ import annotations

import numpy as np
import pytest

from cocomposer.model.sampling import Controls, mood_bias, register_lean, sample_token, token_probabilities
from cocomposer.music import codec
from cocomposer.music.keys import Key

ONSETS = slice(codec.ON_BASE, codec.OFF_BASE)
OFFS = slice(codec.OFF_BASE, codec.VOCAB_SIZE)
SHIFTS = slice(codec.SHIFT_BASE, codec.ON_BASE)


def reference_scores(logits, controls: Controls, sounding, closable, onsets: bool, lean) -> np.ndarray:
    """Logits plus everything the controls add, -inf where a token may not be drawn."""
    scores = logits.astype(np.float64) + (0.0 if controls.bias is None else controls.bias)
    if lean is not None:
        scores = scores + lean
    pitches = np.arange(codec.N_PITCHES)
    on = scores[ONSETS]
    if controls.density != 1.0:
        on += np.log(controls.density)
    if controls.mood_key is not None and controls.mood_strength:
        on += mood_bias(controls.mood_key, controls.mood_strength)
    if controls.register is not None:
        on += register_lean(*controls.register)
    in_key = np.ones(codec.N_PITCHES, dtype=bool)
    if controls.key is not None:
        in_key = np.isin(pitches % 12, list(controls.key.pitch_classes()))
    on[(pitches < controls.low) | (pitches > controls.high) | ~in_key] = -np.inf
    on[list(sounding)] = -np.inf
    closers = sounding if closable is None else closable
    ready = [p for p in closers if not isinstance(closers, dict) or closers[p] >= controls.min_note_ticks]
    may_close = np.isin(pitches, ready)
    scores[OFFS][~may_close] = -np.inf
    scores[codec.PAD] = -np.inf
    if not onsets or len(closers) >= controls.max_polyphony:
        on[:] = -np.inf
    if len(closers) >= controls.max_polyphony and ready:
        scores[SHIFTS] = -np.inf
    return scores


def reference_probabilities(scores: np.ndarray, controls: Controls) -> np.ndarray:
    """Softmax at the temperature, then the smallest set of likeliest tokens holding top-p of the mass."""
    out = np.zeros(codec.VOCAB_SIZE)
    if np.isneginf(scores).all():
        out[codec.shift_token(1)] = 1.0  # nothing may be drawn: the shortest wait
        return out
    weights = np.exp((scores - scores.max()) / controls.temperature)
    order = np.argsort(-weights, kind="stable")
    mass = np.cumsum(weights[order]) / weights.sum()
    keep = order[: int(np.searchsorted(mass, controls.top_p)) + 1] if controls.top_p < 1.0 else order
    out[keep] = weights[keep]
    return out / out.sum()


def reference_draw(scores: np.ndarray, controls: Controls, u: float) -> int:
    """The token the uniform number ``u`` picks: likeliest first under top-p, else in token order."""
    probs = reference_probabilities(scores, controls)
    order = np.argsort(-probs, kind="stable") if controls.top_p < 1.0 else np.arange(codec.VOCAB_SIZE)
    cumulative = np.cumsum(probs[order])
    return int(order[min(int(np.searchsorted(cumulative, u * cumulative[-1], side="right")), len(order) - 1)])


def random_controls(rng: np.random.Generator) -> Controls:
    """Every mask and lean on or off."""
    keys = [Key(int(rng.integers(12)), scale) for scale in ("major", "minor", "dorian")]
    return Controls(
        temperature=float(rng.choice([1.0, rng.uniform(0.05, 3.0)])),
        top_p=float(rng.choice([1.0, rng.uniform(0.05, 1.0)])),
        key=keys[int(rng.integers(3))] if rng.random() < 0.5 else None,
        low=int(rng.integers(0, 64)),
        high=int(rng.integers(64, 128)),
        density=float(rng.choice([1.0, rng.uniform(0.1, 10.0)])),
        max_polyphony=int(rng.integers(1, 7)),
        min_note_ticks=int(rng.integers(1, 5)),
        bias=rng.normal(size=codec.VOCAB_SIZE) if rng.random() < 0.3 else None,
        mood_key=keys[int(rng.integers(2))] if rng.random() < 0.3 else None,
        register=(float(rng.uniform(40, 80)), float(rng.uniform(2, 20))) if rng.random() < 0.3 else None,
    )


def random_case(rng: np.random.Generator, pool: list[Controls]):
    """One of ``pool`` (the sampler keeps what each controls fixes, so each is met again with other notes), logits
    and notes drawn at random, some notes too young to close."""
    controls = pool[int(rng.integers(len(pool)))]
    logits = (3 * rng.normal(size=codec.VOCAB_SIZE)).astype(np.float32)
    sounding = frozenset(int(p) for p in rng.choice(128, size=int(rng.integers(0, 8)), replace=False))
    shape = rng.integers(3)
    closable = (
        None
        if shape == 0
        else frozenset(p for p in sounding if rng.random() < 0.6)
        if shape == 1
        else {p: int(rng.integers(0, 5)) for p in sounding}
    )
    lean = rng.normal(size=codec.VOCAB_SIZE) if rng.random() < 0.4 else None
    return controls, logits, sounding, closable, bool(rng.random() < 0.8), lean


@pytest.mark.parametrize("seed", range(4))
def test_the_sampler_draws_from_the_reference_distribution(seed: int) -> None:
    rng = np.random.default_rng(seed)
    pool = [random_controls(rng) for _ in range(12)]
    for _ in range(150):
        controls, logits, sounding, closable, onsets, lean = random_case(rng, pool)
        scores = reference_scores(logits, controls, sounding, closable, onsets, lean)
        expected = reference_probabilities(scores, controls)
        got = token_probabilities(logits, controls, sounding, closable, onsets, lean)
        np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-12, err_msg=str(controls))
        # The same random numbers draw the same tokens (no weights are tied in random logits).
        draws = np.random.default_rng(seed)
        us = np.random.default_rng(seed)
        for _ in range(8):
            token = sample_token(logits, controls, draws, sounding, closable, onsets, lean)
            u = us.random() if np.isfinite(scores).any() else 0.0
            assert token == reference_draw(scores, controls, u), controls


def test_what_is_kept_between_draws_is_each_draws_own() -> None:
    """Masks are kept per controls and per notes between draws: two sessions taking turns never get each other's,
    nor a draw the notes that may close of the draw before."""
    logits = np.zeros(codec.VOCAB_SIZE, dtype=np.float32)
    controls = Controls(min_note_ticks=2)
    for young, old in ((60, 64), (64, 60), (60, 64)):
        offs = token_probabilities(logits, controls, frozenset({60, 64}), {young: 1, old: 2})[OFFS]
        assert offs[young] == 0 < offs[old], "a note younger than the shortest note may not close"
    locked = Controls(key=Key(0, "major"), low=60, high=72, top_p=1.0)
    free = Controls(low=0, high=127, top_p=1.0)
    for _ in range(3):
        in_key = token_probabilities(logits, locked)[ONSETS]
        anything = token_probabilities(logits, free)[ONSETS]
        assert {int(p) for p in np.flatnonzero(in_key)} == {60, 62, 64, 65, 67, 69, 71, 72}
        assert np.count_nonzero(anything) == codec.N_PITCHES
    hot, cold = Controls(temperature=3.0, top_p=0.5), Controls(temperature=0.05, top_p=0.5)
    ramp = np.arange(codec.VOCAB_SIZE, dtype=np.float32)  # each token e^(1 / temperature) likelier than the last
    assert np.count_nonzero(token_probabilities(ramp, hot)) > np.count_nonzero(token_probabilities(ramp, cold)) == 1
