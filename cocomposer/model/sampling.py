"""Sampling controls and the one function that turns logits into the next token.

What a player turns (temperature, top-p, key lock, pitch range, density) acts here, on the logits of one step, so
every change is heard on the next note. Tokens that would make no sense (a note-off for a silent key, a note-on for
a sounding one) are masked too, so the model can never open a note twice or close one it did not open.

No blips or clicks by construction: a note may end only once it has sounded ``min_note_ticks`` (default 2 ticks,
1/6 beat: a sixteenth-note triplet), so a zero-length note cannot be sampled; and once ``max_polyphony`` of the
answer's notes sound, no note-on can be drawn, on the same tick or later, until one of them has closed.
"""

from __future__ import annotations

import threading
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


_WAITS, _NOTES, _CLOSES = "waits", "notes", "closes"  # what a draw may be, besides closing a note: see _Plan.choices
_CHOICES_KEPT = 128  # the token sets of one plan: one per kind of draw, notes sounding and notes that may close


@dataclass(frozen=True)
class _Plan:
    """What one :class:`Controls` fixes for every step it samples, worked out once (see :func:`_plan`)."""

    static: np.ndarray  # added to every step's logits: bias, density, mood, register; -inf where forbidden
    free: np.ndarray  # the shifts and onsets it lets through, in token order (the offs depend on the notes)
    shifts: int  # how many of ``free`` are shifts
    kept: dict = field(default_factory=dict)  # (kind, sounding, ready) -> (tokens, their static scores)

    def choices(self, kind: str, sounding: frozenset[int], ready: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
        """The tokens a draw may give, in token order, and what the controls add to each: the shifts (unless
        ``kind`` is closes), the onsets it allows but those of sounding notes (if ``kind`` is notes), and the offs
        of the ``ready`` notes. The same notes sound again and again in a session: each set is kept."""
        key = (kind, sounding if kind == _NOTES else None, ready)
        found = self.kept.get(key)
        if found is not None:
            return found
        free = self.free if kind == _NOTES else self.free[: self.shifts] if kind == _WAITS else self.free[:0]
        if kind == _NOTES and sounding:
            free = free[~np.isin(free, [codec.ON_BASE + p for p in sounding])]
        tokens = np.concatenate((free, np.array(ready, dtype=np.int64) + codec.OFF_BASE))
        found = (tokens, self.static[tokens])
        if len(self.kept) >= _CHOICES_KEPT:
            self.kept.clear()
        self.kept[key] = found
        return found


def _static_scores(controls: Controls) -> np.ndarray:
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
    return out


_PLANS: dict[int, tuple[Controls, _Plan]] = {}  # by id(controls), the controls held so that the id stays theirs
_PLANS_KEPT = 8
_plans_lock = threading.Lock()


def _plan(controls: Controls) -> _Plan:
    """The plan of ``controls``, kept by identity: controls are frozen and replaced on every change, and a dozen
    samples per note event (or two sessions taking turns, as in the benchmark's lockstep) reuse the same few."""
    kept = _PLANS.get(id(controls))
    if kept is not None and kept[0] is controls:
        return kept[1]
    static = _static_scores(controls)
    free = np.flatnonzero(np.isfinite(static[: codec.OFF_BASE]))
    plan = _Plan(static, free, int(np.count_nonzero(free < codec.ON_BASE)))
    with _plans_lock:
        _PLANS[id(controls)] = (controls, plan)
        while len(_PLANS) > _PLANS_KEPT:
            del _PLANS[next(iter(_PLANS))]
    return plan


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
    out = logits + _plan(controls).static  # a new float64 array
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


def _ready(closers: Mapping[int, int] | Set[int], min_ticks: int) -> tuple[int, ...]:
    """The pitches among ``closers`` that may close now, lowest first."""
    if isinstance(closers, Mapping):
        return tuple(sorted(p for p, age in closers.items() if age >= min_ticks))
    return tuple(sorted(closers))


def nucleus(
    logits: np.ndarray,
    controls: Controls,
    sounding: Set[int] = frozenset(),
    closable: Mapping[int, int] | Set[int] | None = None,
    onsets: bool = True,
    lean: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray] | None:
    """The tokens :func:`sample_token` may draw and their cumulative weights, in the order it draws them (likeliest
    first under top-p, else token order); None where every token is masked. Arguments as for :func:`masked_logits`.

    The same distribution as masking the whole vocabulary (:func:`masked_logits`), then temperature and top-p; but
    only the tokens the controls and the sounding notes leave possible are scored, exponentiated and sorted: the
    shifts and onsets the controls allow (found once per controls, see :func:`_plan`) and the offs of the notes that
    may close (a few). Each kept score is the same float as there, summed in the same order, so with no two weights
    tied the same random number draws the same token.
    """
    closers = sounding if closable is None else closable
    ready = _ready(closers, controls.min_note_ticks)
    full = len(closers) >= controls.max_polyphony  # every voice taken: close one now (see masked_logits)
    kind = (_CLOSES if ready else _WAITS) if full else (_NOTES if onsets else _WAITS)
    if not isinstance(sounding, frozenset):
        sounding = frozenset(sounding)
    tokens, static = _plan(controls).choices(kind, sounding, ready)
    if not len(tokens):
        return None
    scores = logits[tokens] + static  # float64, as logits + static over the whole vocabulary
    if lean is not None:
        scores += lean[tokens]
    best = scores.max()
    if best == -np.inf:
        return None
    # In place on the fresh array, each a method or ufunc call: at a few hundred numbers a draw costs what numpy's
    # calls do, not the arithmetic (np.searchsorted(a, x) takes three times a.searchsorted(x)).
    scores -= best
    scores /= controls.temperature
    weights = np.exp(scores, out=scores)  # exp(-inf) = 0: a lean's -inf is never drawn
    if controls.top_p < 1.0:
        order = weights.argsort()[::-1]  # likeliest first (tied weights in either order, as in any sort)
        cumulative = _accumulate(weights[order])
        cut = int(cumulative.searchsorted(controls.top_p * cumulative[-1])) + 1
        return tokens[order[:cut]], cumulative[:cut]
    return tokens, _accumulate(weights)


_accumulate = np.add.accumulate  # np.cumsum, without its dispatch


def token_probabilities(
    logits: np.ndarray,
    controls: Controls,
    sounding: Set[int] = frozenset(),
    closable: Mapping[int, int] | Set[int] | None = None,
    onsets: bool = True,
    lean: np.ndarray | None = None,
) -> np.ndarray:
    """The probability :func:`sample_token` draws each token of the vocabulary with (for tests and analysis)."""
    out = np.zeros(codec.VOCAB_SIZE)
    drawn = nucleus(logits, controls, sounding, closable, onsets, lean)
    if drawn is None:
        out[codec.shift_token(1)] = 1.0
        return out
    tokens, cumulative = drawn
    out[tokens] = np.diff(cumulative, prepend=0.0) / cumulative[-1]
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
    nucleus (top-p) sampling; one random number per draw (none where every token is masked: the shortest wait)."""
    drawn = nucleus(logits, controls, sounding, closable, onsets, lean)
    if drawn is None:
        return codec.shift_token(1)
    tokens, cumulative = drawn
    pick = int(cumulative.searchsorted(rng.random() * cumulative[-1], side="right"))
    return int(tokens[min(pick, len(tokens) - 1)])
