"""Sampling controls and the one function that turns logits into the next token.

What a player turns (temperature, top-p, key lock, pitch range, density) acts here, on the logits of one step, so
every change is heard on the next note. Tokens that would make no sense (a note-off for a silent key, a note-on for
a sounding one) are masked too, so the model can never open a note twice or close one it did not open.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from cocomposer import codec
from cocomposer.errors import ConfigError
from cocomposer.keys import Key

_PITCHES = np.arange(codec.N_PITCHES)


@dataclass(frozen=True)
class Controls:
    temperature: float = 1.0
    top_p: float = 0.95
    key: Key | None = None  # key lock: note-ons outside its pitch classes are masked
    low: int = 36  # lowest pitch the model may play
    high: int = 96  # highest pitch the model may play
    density: float = 1.0  # >1 more notes, <1 fewer: scales the odds of a note-on against waiting
    max_polyphony: int = 6
    bias: np.ndarray | None = field(default=None, compare=False)  # additive logit bias (session preferences)
    mood_key: Key | None = None  # mood control: lean toward this key's mode (its tonic is the music's tonic)
    mood_strength: float = 3.0  # logits taken from the other mode's characteristic degrees

    def __post_init__(self) -> None:
        if not 0.05 <= self.temperature <= 3.0:
            raise ConfigError(f"temperature must be within 0.05..3.0, got {self.temperature}")
        if not 0.05 <= self.top_p <= 1.0:
            raise ConfigError(f"top-p must be within 0.05..1.0, got {self.top_p}")
        if not 0 <= self.low <= self.high <= 127:
            raise ConfigError(f"pitch range must satisfy 0 <= low <= high <= 127, got {self.low}..{self.high}")
        if not 0.1 <= self.density <= 10.0:
            raise ConfigError(f"density must be within 0.1..10, got {self.density}")
        if self.max_polyphony < 1:
            raise ConfigError(f"max polyphony must be at least 1, got {self.max_polyphony}")

    def with_(self, **changes: object) -> Controls:
        return replace(self, **changes)


def allowed_onsets(controls: Controls) -> np.ndarray:
    """Boolean mask over pitches 0..127 that the controls let the model start."""
    allowed = (controls.low <= _PITCHES) & (controls.high >= _PITCHES)
    if controls.key is not None:
        classes = np.zeros(12, dtype=bool)
        classes[list(controls.key.pitch_classes())] = True
        allowed &= classes[_PITCHES % 12]
    return allowed


# Scale degrees that tell major from minor: the third, sixth and seventh.
_MINOR_DEGREES = (3, 8, 10)


def mood_bias(key: Key, strength: float) -> np.ndarray:
    """Bias over pitches 0..127: -strength on the degrees that belong to the other mode on ``key``'s tonic.

    The major third and sixth are made rarer for a minor mood, the minor third, sixth and seventh for a major mood.
    Nothing is pushed up: raising a mode's own degrees only moved the music to the relative key (measured)."""
    # For minor, the leading tone (11) stays: it belongs to harmonic minor too.
    other = (4, 9) if key.mode == "minor" else _MINOR_DEGREES
    per_class = np.zeros(12)
    per_class[[(key.tonic + d) % 12 for d in other]] = -strength
    return per_class[_PITCHES % 12]


def masked_logits(
    logits: np.ndarray, controls: Controls, sounding: frozenset[int], closable: frozenset[int] | None = None
) -> np.ndarray:
    """Logits with impossible or forbidden tokens at -inf and density and bias applied (before temperature).

    ``sounding``: every pitch that sounds (nobody may start it again); ``closable``: the pitches this answer opened
    and may close (default: all sounding), so the model never ends a note the player is holding.
    """
    out = logits.astype(np.float64).copy()
    if controls.bias is not None:
        out += controls.bias
    out[codec.PAD] = -np.inf
    on = out[codec.ON_BASE : codec.OFF_BASE]
    off = out[codec.OFF_BASE : codec.VOCAB_SIZE]
    onset_ok = allowed_onsets(controls)
    is_sounding = np.zeros(codec.N_PITCHES, dtype=bool)
    if sounding:
        is_sounding[list(sounding)] = True
    onset_ok &= ~is_sounding
    may_close = is_sounding
    if closable is not None:
        may_close = np.zeros(codec.N_PITCHES, dtype=bool)
        if closable:
            may_close[list(closable)] = True
    if int(may_close.sum()) >= controls.max_polyphony:
        onset_ok[:] = False
    on[~onset_ok] = -np.inf
    off[~may_close] = -np.inf
    if controls.density != 1.0:
        on += np.log(controls.density)
    if controls.mood_key is not None and controls.mood_strength:
        on += mood_bias(controls.mood_key, controls.mood_strength)
    return out


def sample_token(
    logits: np.ndarray,
    controls: Controls,
    rng: np.random.Generator,
    sounding: frozenset[int] = frozenset(),
    closable: frozenset[int] | None = None,
) -> int:
    """One token drawn from ``logits`` under ``controls``: masks, temperature, then nucleus (top-p) sampling."""
    scores = masked_logits(logits, controls, sounding, closable) / controls.temperature
    finite = np.isfinite(scores)
    if not finite.any():
        return codec.shift_token(1)
    scores -= scores[finite].max()
    probs = np.where(finite, np.exp(scores), 0.0)
    probs /= probs.sum()
    if controls.top_p < 1.0:
        order = np.argsort(-probs)
        cumulative = np.cumsum(probs[order])
        keep = order[: int(np.searchsorted(cumulative, controls.top_p)) + 1]
        kept = np.zeros_like(probs)
        kept[keep] = probs[keep]
        probs = kept / kept.sum()
    return int(rng.choice(len(probs), p=probs))
