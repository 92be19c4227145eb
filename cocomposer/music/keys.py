"""Keys and scales: Krumhansl-Schmuckler key finding and the pitch sets that key lock allows.

Used to label the corpus's mood (major / minor) and, live, to estimate the key the player is in (key lock "auto").
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from cocomposer.errors import ConfigError

PITCH_CLASSES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")


def note_name(pitch: int) -> str:
    """Scientific pitch notation: 60 is C4, 63 is Eb4 (the names key names use)."""
    return f"{PITCH_CLASSES[pitch % 12]}{pitch // 12 - 1}"


_ALIASES = {"DB": 1, "D#": 3, "GB": 6, "G#": 8, "A#": 10, "CB": 11, "E#": 5, "FB": 4, "B#": 0}

# Krumhansl-Kessler probe-tone profiles.
MAJOR_PROFILE = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
MINOR_PROFILE = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])

SCALES: dict[str, tuple[int, ...]] = {
    "major": (0, 2, 4, 5, 7, 9, 11),
    "minor": (0, 2, 3, 5, 7, 8, 10, 11),  # natural minor plus the leading tone of harmonic minor
    "dorian": (0, 2, 3, 5, 7, 9, 10),
    "mixolydian": (0, 2, 4, 5, 7, 9, 10),
    "pentatonic": (0, 2, 4, 7, 9),
    "minor-pentatonic": (0, 3, 5, 7, 10),
    "blues": (0, 3, 5, 6, 7, 10),
}


@dataclass(frozen=True)
class Key:
    tonic: int  # pitch class 0..11
    scale: str  # a key of SCALES

    @property
    def mode(self) -> str:
        """'major' or 'minor': the mood this key stands for."""
        return "minor" if self.scale in ("minor", "dorian", "minor-pentatonic", "blues") else "major"

    def pitch_classes(self) -> frozenset[int]:
        return frozenset((self.tonic + step) % 12 for step in SCALES[self.scale])

    def __str__(self) -> str:
        return f"{PITCH_CLASSES[self.tonic]} {self.scale}"


def parse_key(text: str) -> Key:
    """'D minor', 'Eb major', 'A dorian', 'f#m' -> Key."""
    words = text.strip().replace("_", " ").split()
    if not words:
        raise ConfigError("a key needs a tonic and a scale, e.g. 'D minor'")
    name = words[0]
    scale = " ".join(words[1:]).lower() or "major"
    if len(words) == 1 and len(name) > 1 and name.endswith("m") and name[:-1].upper() not in ("", "B"):
        name, scale = name[:-1], "minor"
    upper = name.upper()
    if upper in _ALIASES:
        tonic = _ALIASES[upper]
    else:
        table = {pc.upper(): i for i, pc in enumerate(PITCH_CLASSES)}
        if upper not in table:
            raise ConfigError(f"unknown tonic {name!r}; use one of {', '.join(PITCH_CLASSES)}")
        tonic = table[upper]
    if scale not in SCALES:
        raise ConfigError(f"unknown scale {scale!r}; use one of {', '.join(SCALES)}")
    return Key(tonic, scale)


def pitch_class_histogram(pitches: Iterable[int], weights: Iterable[float] | None = None) -> np.ndarray:
    hist = np.zeros(12)
    if weights is None:
        for p in pitches:
            hist[p % 12] += 1.0
    else:
        for p, w in zip(pitches, weights, strict=True):
            hist[p % 12] += w
    return hist


# Every major and minor key's profile, z-scored, in the order tonic C major, C minor, C# major, ...: a histogram's
# correlation with all 24 keys is then one matrix-vector product (microseconds; the engine asks at every answer).
_KEYS = [(tonic, scale) for tonic in range(12) for scale in ("major", "minor")]
_PROFILES = np.stack([np.roll(MAJOR_PROFILE if s == "major" else MINOR_PROFILE, t) for t, s in _KEYS])
_PROFILES = (_PROFILES - _PROFILES.mean(axis=1, keepdims=True)) / _PROFILES.std(axis=1, keepdims=True)
_MODE_ROWS = {None: np.arange(24), "major": np.arange(0, 24, 2), "minor": np.arange(1, 24, 2)}


def find_key(hist: np.ndarray, mode: str | None = None) -> Key | None:
    """The best-correlating major or minor key for a pitch-class histogram (None when it is empty or flat).

    ``mode`` ("major" or "minor") keeps to keys of that mode: the key of a mood that best fits what was played (for a
    C major tune asked to be minor, A minor, whose notes it already has)."""
    if mode not in _MODE_ROWS:
        raise ConfigError(f"mode is 'major' or 'minor', got {mode!r}")
    if hist.sum() <= 0 or np.count_nonzero(hist) < 2 or hist.std() == 0:
        return None
    z = (hist - hist.mean()) / hist.std()
    rows = _MODE_ROWS[mode]
    tonic, scale = _KEYS[int(rows[np.argmax(_PROFILES[rows] @ z)])]
    return Key(tonic, scale)
