"""Session preferences: a like or a dislike nudges what the model plays next, for the rest of the session.

The rule, exactly as the code applies it:

1. **Traits.** A rated answer (its notes: start and end in beats, pitch) becomes four numbers, each a signed
   distance from a neutral reference and clipped to -2..2:

   * ``density``  = log2(onsets per beat / 2), over the answer's span (at least one beat); an empty answer is -2;
   * ``register`` = (mean pitch - 66) / 12, in octaves from F#4 (the middle of the default 36..96 range);
   * ``leap``     = log2((mean |interval| between successive onsets, in semitones) + 1) - 2, i.e. 0 at 3
     semitones (0 with fewer than two notes);
   * ``pace``     = log2(mean note length / 0.5 beat), i.e. 0 for eighth notes.

2. **Session bias.** A like counts r = +1, a dislike r = -1. The session preference P (one number per trait, all 0
   at the start) moves toward the liked answer's traits and away from the disliked one's:
   ``P <- clip(DECAY * P + RATE * r * traits, -2, 2)`` with DECAY = 0.85 and RATE = 0.6, so recent ratings count most
   and no run of ratings can push the model past a fixed limit.

3. **Logit bias.** P becomes an additive bias over the codec vocabulary, applied to the logits of every step of an
   answer before temperature (``sampling.Controls.bias``); PAD and note-offs are never biased:

   * every note-on ``ON_p`` gets ``0.5 * ln 2 * P.density`` (the same as multiplying the density control by
     ``2 ** (0.5 * P.density)``, 0.5x .. 2x);
   * plus ``0.75 * P.register * (p - 66) / 12`` (a tilt toward the liked register, up to 1.5 per octave);
   * plus ``w * P.leap * min(((p - c) / 12) ** 2, 4)``, with c = 66 + 12 * P.register and w = 0.5 when P.leap < 0
     (liked small intervals: notes far from the liked register get less likely, so leaps shrink) and w = 0.25 when
     P.leap > 0 (liked leaps: the far notes get more likely);
   * every time shift ``SHIFT_k`` (k ticks of 1/12 beat) gets ``0.5 * P.pace * log2(k / 6)`` (liked long notes favour
     long steps of time, liked short notes short ones).

Thread safety: :meth:`Preferences.rate` (the panel's thread) builds a new bias array and swaps it in with one
assignment; :meth:`Preferences.bias` (the engine's thread) returns the current one, read-only, or None while no rating
moved anything.
"""

from __future__ import annotations

import itertools
import math
import threading
from collections.abc import Iterable
from dataclasses import asdict, dataclass

import numpy as np

from cocomposer.music import codec

DECAY = 0.85
RATE = 0.6
LIMIT = 2.0
CENTER_PITCH = 66
REFERENCE_ONSETS_PER_BEAT = 2.0
REFERENCE_LENGTH_BEATS = 0.5
REFERENCE_SHIFT_TICKS = 6

_PITCHES = np.arange(codec.N_PITCHES, dtype=np.float64)
_SHIFT_TICKS = np.arange(1, codec.MAX_SHIFT + 1, dtype=np.float64)


@dataclass(frozen=True)
class Traits:
    """What a player can hear of an answer, as signed distances from neutral (see the module docstring)."""

    density: float = 0.0
    register: float = 0.0
    leap: float = 0.0
    pace: float = 0.0

    def as_array(self) -> np.ndarray:
        return np.array([self.density, self.register, self.leap, self.pace], dtype=np.float64)

    @classmethod
    def from_array(cls, values: np.ndarray) -> Traits:
        return cls(*(round(float(v), 6) for v in values))

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


def _clip(value: float) -> float:
    return max(-LIMIT, min(LIMIT, value))


def answer_traits(notes: Iterable[tuple[float, float, int]]) -> Traits:
    """The traits of an answer given as ``(start_beat, end_beat, pitch)`` triples."""
    notes = sorted((float(s), float(e), int(p)) for s, e, p in notes)
    if not notes:
        return Traits(density=-LIMIT)
    span = max(1.0, max(e for _, e, _ in notes) - notes[0][0])
    density = math.log2(len(notes) / span / REFERENCE_ONSETS_PER_BEAT)
    register = (sum(p for _, _, p in notes) / len(notes) - CENTER_PITCH) / 12
    intervals = [abs(b[2] - a[2]) for a, b in itertools.pairwise(notes)]
    leap = math.log2(sum(intervals) / len(intervals) + 1) - 2 if intervals else 0.0
    lengths = [max(e - s, 1 / codec.TICKS_PER_BEAT) for s, e, _ in notes]
    pace = math.log2(sum(lengths) / len(lengths) / REFERENCE_LENGTH_BEATS)
    return Traits(_clip(density), _clip(register), _clip(leap), _clip(pace))


def bias_vector(preference: Traits) -> np.ndarray:
    """The additive logit bias over the codec vocabulary that a session preference stands for (rule 3)."""
    bias = np.zeros(codec.VOCAB_SIZE, dtype=np.float64)
    offset = (_PITCHES - CENTER_PITCH) / 12
    on = 0.5 * math.log(2) * preference.density + 0.75 * preference.register * offset
    center = CENTER_PITCH + 12 * preference.register
    weight = 0.5 if preference.leap < 0 else 0.25
    on = on + weight * preference.leap * np.minimum(((_PITCHES - center) / 12) ** 2, 4.0)
    bias[codec.ON_BASE : codec.OFF_BASE] = on
    bias[codec.SHIFT_BASE : codec.ON_BASE] = 0.5 * preference.pace * np.log2(_SHIFT_TICKS / REFERENCE_SHIFT_TICKS)
    bias.flags.writeable = False
    return bias


class Preferences:
    """The session's like/dislike memory; ``bias()`` is what the engine passes to ``Settings.controls``."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._preference = Traits()
        self._bias: np.ndarray | None = None
        self.likes = 0
        self.dislikes = 0

    @property
    def preference(self) -> Traits:
        return self._preference

    def rate(self, notes: Iterable[tuple[float, float, int]], liked: bool) -> Traits:
        """Record a like (``liked``) or a dislike of an answer; returns the answer's traits."""
        traits = answer_traits(notes)
        sign = 1.0 if liked else -1.0
        with self._lock:
            moved = DECAY * self._preference.as_array() + RATE * sign * traits.as_array()
            self._preference = Traits.from_array(np.clip(moved, -LIMIT, LIMIT))
            self._bias = bias_vector(self._preference)
            if liked:
                self.likes += 1
            else:
                self.dislikes += 1
        return traits

    def reset(self) -> None:
        with self._lock:
            self._preference, self._bias = Traits(), None
            self.likes = self.dislikes = 0

    def bias(self) -> np.ndarray | None:
        """The current logit bias (read-only), or None before any rating."""
        return self._bias

    def density_multiplier(self) -> float:
        """The factor on the odds of a note-on that the density part of the bias stands for."""
        return 2 ** (0.5 * self._preference.density)

    def summary(self) -> str:
        """A short line for the panel: what the ratings ask the model for. It names a direction, not a result: the
        bias is one lean among others (the call's register, the key lock, the groove), so how far the answers
        really move is measured on what sounds (the panel's "heard since" line)."""
        p = self._preference
        if self._bias is None:
            return "no ratings yet"

        def lean(value: float, more: str, less: str) -> str | None:
            return more if value > 0.05 else less if value < -0.05 else None

        parts = [
            lean(
                p.density,
                f"more notes (x{self.density_multiplier():.2f})",
                f"fewer notes (x{self.density_multiplier():.2f})",
            ),
            lean(p.register, "higher", "lower"),
            lean(p.leap, "wider leaps", "smaller steps"),
            lean(p.pace, "longer notes", "shorter notes"),
        ]
        asked = ", ".join(part for part in parts if part) or "nothing yet (the ratings cancel out)"
        return f"{self.likes} liked, {self.dislikes} disliked: the model is asked for {asked}"
