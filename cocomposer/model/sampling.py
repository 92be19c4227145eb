"""Sampling controls and the one function that turns logits into the next token.

What a player turns (temperature, top-p, key lock, pitch range, density) acts here, on the logits of one step, so
every change is heard on the next note. Tokens that would make no sense (a note-off for a silent key, a note-on for
a sounding one) are masked too, so the model can never open a note twice or close one it did not open.

No blips or clicks by construction: a note may end only once it has sounded ``min_note_ticks`` (default 2 ticks,
1/6 beat: a sixteenth-note triplet), so a zero-length note cannot be sampled; and once ``max_polyphony`` of the
answer's notes sound, no note-on can be drawn, on the same tick or later, until one of them has closed.
"""

from __future__ import annotations

from collections.abc import Mapping, Set
from dataclasses import dataclass, field, replace

import numpy as np

from cocomposer.errors import ConfigError
from cocomposer.music import codec
from cocomposer.music.keys import Key

_PITCHES = np.arange(codec.N_PITCHES)
MAX_MIMIC = 2.0
# Chosen on the musical benchmark's validation prompts: the most targets met, then the most notes in key
# (models/eval_musical_sweep.json).
DEFAULT_MIMIC = 0.5


@dataclass(frozen=True)
class Controls:
    temperature: float = 1.0
    top_p: float = 0.95
    key: Key | None = None  # key lock: note-ons outside its pitch classes are masked
    low: int = 36  # lowest pitch the model may play
    high: int = 96  # highest pitch the model may play
    density: float = 1.0  # >1 more notes, <1 fewer: scales the odds of a note-on against waiting
    max_polyphony: int = 6
    min_note_ticks: int = 2  # shortest note the model may play, in ticks (1/12 beat); at least 1
    bias: np.ndarray | None = field(default=None, compare=False)  # additive logit bias (session preferences)
    mood_key: Key | None = None  # mood control: lean toward this key (the best fit of the chosen mode to the music)
    mood_strength: float = 5.0  # logits taken from notes outside its scale (see MOOD_STEPS)
    register: tuple[float, float] | None = None  # (centre pitch, half width): note-ons lean toward the centre
    mimic: float = DEFAULT_MIMIC  # weight of the player model (cocomposer.model.player); 0: the network alone

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
        if not 1 <= self.min_note_ticks <= codec.TICKS_PER_BEAT * 4:
            raise ConfigError(f"the shortest note must be 1..48 ticks (1/12 beat each), got {self.min_note_ticks}")
        if not 0.0 <= self.mimic <= MAX_MIMIC:
            raise ConfigError(f"mimic must be within 0..{MAX_MIMIC:g}, got {self.mimic}")

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


# Mood control, in scale steps above the tonic of the mood's key: a penalty on every step outside that mode's scale
# (major; harmonic minor) and a small lift for the tonic and fifth, each times ``mood_strength``. Penalising only the
# other mode's third and sixth, on the player's own tonic, left 61% of test answers in the intended mode (a minor tune
# asked to stay minor often drifted to its relative major). With this table on the best-fitting key of the mood, 202
# validation prompts gave 76.6 / 77.5 / 80.1 / 76.6% at strength 3 / 4 / 5 / 6 (pitch entropy 2.58 / 2.49 / 2.39 /
# 2.26 bits): 5 is the default.
MOOD_STEPS = {
    "major": {1: -1.0, 3: -1.0, 6: -1.0, 8: -1.0, 10: -1.0, 0: 0.3, 7: 0.15},
    "minor": {1: -1.0, 4: -1.0, 6: -1.0, 9: -1.0, 10: -1.0, 0: 0.3, 7: 0.15},
}


REGISTER_LEAN = 2.0  # logits taken from a note-on at the edge of a call's register, growing with the square


def register_lean(centre: float, half: float) -> np.ndarray:
    """Bias over pitches 0..127 that keeps note-ons near ``centre``: 0 there, minus :data:`REGISTER_LEAN` at
    ``half`` semitones away, at most four times that."""
    distance = (_PITCHES - centre) / max(1.0, half)
    return -REGISTER_LEAN * np.minimum(distance**2, 4.0)


def mood_bias(key: Key, strength: float) -> np.ndarray:
    """Bias over pitches 0..127 that leans toward ``key``'s mode: see :data:`MOOD_STEPS`."""
    per_class = np.zeros(12)
    for step, weight in MOOD_STEPS[key.mode].items():
        per_class[(key.tonic + step) % 12] = weight * strength
    return per_class[_PITCHES % 12]


_static_cache: tuple[Controls, np.ndarray] | None = None  # the last controls seen and their static scores


def _static_scores(controls: Controls) -> np.ndarray:
    """What the controls alone add to every step's logits: bias, onsets they forbid at -inf, density and mood.

    Controls are frozen and replaced on every change, so the last one is kept by identity (a dozen samples per note
    event reuse it)."""
    global _static_cache
    cached = _static_cache
    if cached is not None and cached[0] is controls:
        return cached[1]
    out = np.zeros(codec.VOCAB_SIZE)
    if controls.bias is not None:
        out += controls.bias
    out[codec.PAD] = -np.inf
    on = out[codec.ON_BASE : codec.OFF_BASE]
    on[~allowed_onsets(controls)] = -np.inf
    if controls.density != 1.0:
        on += np.log(controls.density)
    if controls.mood_key is not None and controls.mood_strength:
        on += mood_bias(controls.mood_key, controls.mood_strength)
    if controls.register is not None:
        on += register_lean(*controls.register)
    out.flags.writeable = False
    _static_cache = (controls, out)
    return out


def masked_logits(
    logits: np.ndarray,
    controls: Controls,
    sounding: Set[int],
    closable: Mapping[int, int] | Set[int] | None = None,
    onsets: bool = True,
    lean: np.ndarray | None = None,
) -> np.ndarray:
    """Logits with impossible or forbidden tokens at -inf and density and bias applied (before temperature).

    ``sounding``: every pitch that sounds (nobody may start it again); ``closable``: the pitches this answer opened
    and may close (default: all sounding), so the model never ends a note the player is holding; as a mapping, each
    pitch's age in ticks, and a note younger than ``controls.min_note_ticks`` may not close yet. ``onsets`` False:
    no note may start (the answer ends too soon for one). ``lean``: a per-step additive bias over the vocabulary
    (the player model times ``mimic``, the cadence), added before the masks, which it can never lift.
    """
    out = logits + _static_scores(controls)  # a new float64 array
    if lean is not None:
        out += lean
    if sounding:
        out[codec.ON_BASE + np.fromiter(sounding, dtype=np.int64, count=len(sounding))] = -np.inf
    closers = sounding if closable is None else closable
    if isinstance(closers, Mapping):
        ready = [p for p, age in closers.items() if age >= controls.min_note_ticks]
    else:
        ready = list(closers)
    off = out[codec.OFF_BASE : codec.VOCAB_SIZE]
    if ready:
        index = np.asarray(ready, dtype=np.int64)
        kept = off[index]
        off[:] = -np.inf
        off[index] = kept
    else:
        off[:] = -np.inf
    if not onsets:
        out[codec.ON_BASE : codec.OFF_BASE] = -np.inf
    if len(closers) >= controls.max_polyphony:
        # Every voice is taken: no onset, and no waiting either. A model that wants a new note would otherwise wait
        # tick by tick for a voice that only its own note-off frees (measured: 75% of all samples in the step
        # benchmark were such waits). It must close one of its notes now, the one it likes least to hold; if each
        # is younger than the shortest note, it waits for the first to come of age.
        out[codec.ON_BASE : codec.OFF_BASE] = -np.inf
        if ready:
            out[codec.SHIFT_BASE : codec.ON_BASE] = -np.inf
    return out


def sample_token(
    logits: np.ndarray,
    controls: Controls,
    rng: np.random.Generator,
    sounding: Set[int] = frozenset(),
    closable: Mapping[int, int] | Set[int] | None = None,
    onsets: bool = True,
    lean: np.ndarray | None = None,
) -> int:
    """One token drawn from ``logits`` under ``controls``: masks (see :func:`masked_logits`), temperature, then
    nucleus (top-p) sampling."""
    scores = masked_logits(logits, controls, sounding, closable, onsets, lean)
    best = scores.max()
    if best == -np.inf:
        return codec.shift_token(1)
    probs = np.exp((scores - best) / controls.temperature)  # exp(-inf) = 0: masked tokens never drawn
    if controls.top_p < 1.0:
        order = np.argsort(-probs)
        cumulative = np.cumsum(probs[order])
        cut = int(np.searchsorted(cumulative, controls.top_p * cumulative[-1])) + 1
        cumulative = cumulative[:cut]
        pick = int(np.searchsorted(cumulative, rng.random() * cumulative[-1], side="right"))
        return int(order[min(pick, cut - 1)])
    cumulative = np.cumsum(probs)
    pick = int(np.searchsorted(cumulative, rng.random() * cumulative[-1], side="right"))
    return min(pick, len(probs) - 1)
