"""Session preferences: like / dislike move a bounded logit bias toward or away from an answer's traits."""

from __future__ import annotations

import numpy as np

from cocomposer.model.preferences import LIMIT, Preferences, answer_traits, bias_vector
from cocomposer.model.sampling import Controls, masked_logits
from cocomposer.music import codec

# Sixteenth notes high up, leaping: dense, high, wide, short.
BUSY_HIGH = [(i * 0.25, i * 0.25 + 0.2, 84 + (7 if i % 2 else 0)) for i in range(16)]
# Half notes low down, by step: sparse, low, narrow, long.
CALM_LOW = [(i * 2.0, i * 2.0 + 2.0, 48 + i) for i in range(4)]


def on_probabilities(bias: np.ndarray | None) -> np.ndarray:
    logits = np.zeros(codec.VOCAB_SIZE)
    scores = masked_logits(logits, Controls(low=0, high=127, bias=bias), frozenset())
    probs = np.exp(scores - scores[np.isfinite(scores)].max())
    probs[~np.isfinite(scores)] = 0
    return probs / probs.sum()


def test_traits_read_what_a_player_hears() -> None:
    busy, calm = answer_traits(BUSY_HIGH), answer_traits(CALM_LOW)
    assert busy.density > 0 > calm.density
    assert busy.register > 0 > calm.register
    assert busy.leap > 0 > calm.leap
    assert busy.pace < 0 < calm.pace
    assert answer_traits([]).density == -LIMIT


def test_a_like_leans_toward_the_answer_and_a_dislike_away() -> None:
    prefs = Preferences()
    assert prefs.bias() is None
    neutral = on_probabilities(None)
    prefs.rate(BUSY_HIGH, liked=True)
    bias = prefs.bias()
    assert bias is not None and not bias.flags.writeable
    assert prefs.density_multiplier() > 1
    probs = on_probabilities(bias)
    on = slice(codec.ON_BASE, codec.OFF_BASE)
    assert probs[on].sum() > neutral[on].sum()  # more notes
    assert probs[codec.on_token(90)] > probs[codec.on_token(50)]  # higher
    shifts = bias[codec.SHIFT_BASE : codec.ON_BASE]
    assert shifts[0] > shifts[-1]  # shorter steps of time
    assert (bias[codec.OFF_BASE :] == 0).all() and bias[codec.PAD] == 0

    disliker = Preferences()
    disliker.rate(BUSY_HIGH, liked=False)
    assert disliker.density_multiplier() < 1
    np.testing.assert_allclose(disliker.preference.as_array(), -prefs.preference.as_array())  # the other way
    assert on_probabilities(disliker.bias())[codec.on_token(90)] < on_probabilities(None)[codec.on_token(90)]


def test_the_preference_stays_bounded_and_resets() -> None:
    prefs = Preferences()
    for _ in range(100):
        prefs.rate(BUSY_HIGH, liked=True)
    p = prefs.preference.as_array()
    assert (np.abs(p) <= LIMIT).all()
    assert np.isfinite(prefs.bias()).all() and np.abs(prefs.bias()).max() < 12
    np.testing.assert_allclose(bias_vector(prefs.preference), prefs.bias())
    assert prefs.likes == 100 and "100 liked" in prefs.summary()
    prefs.reset()
    assert prefs.bias() is None and prefs.summary() == "no ratings yet"
