"""Training windows from the prepared corpus: random crops with transposition and mode-switch augmentation.

Mode switch: the mood label alone says little to a model that can hear the mode in the music, so it learns to
ignore it. A share of windows therefore carries the *other* mood's label and, from a random point on (sometimes from
the start), is rewritten into that mode on the piece's tonic: a major piece loses its major third and sixth (to the
minor ones), a minor piece gains them and its leading tone. The model learns that the label says where the music is
going, which is what the mood control asks of it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cocomposer import codec
from cocomposer.keys import MAJOR_PROFILE, MINOR_PROFILE
from cocomposer.training.corpus import Piece

# Transposition range for augmentation: every key is reached from every piece.
TRANSPOSE_LOW, TRANSPOSE_HIGH = -6, 5


# Pitch-class steps above the tonic, rewritten when a window switches mode (the other classes stay).
TO_MINOR = {4: -1, 9: -1}  # major third and sixth down (the leading tone stays: harmonic minor)
TO_MAJOR = {3: 1, 8: 1, 10: 1}  # minor third, sixth and seventh up


def piece_tonic(tokens: np.ndarray, mood: int) -> int:
    """The tonic of the best-fitting key of the piece's own mode (Krumhansl-Schmuckler over its note-ons)."""
    t = tokens.astype(np.int64)
    ons = t[(t >= codec.ON_BASE) & (t < codec.OFF_BASE)] - codec.ON_BASE
    hist = np.bincount(ons % 12, minlength=12).astype(np.float64)
    if np.count_nonzero(hist) < 2:
        return 0
    profile = MINOR_PROFILE if codec.MOODS[mood] == "minor" else MAJOR_PROFILE
    return int(np.argmax([np.corrcoef(hist, np.roll(profile, tonic))[0, 1] for tonic in range(12)]))


def switch_mode(window: np.ndarray, tonic: int, mood: int, start: int) -> np.ndarray:
    """``window`` with every note that starts at token ``start`` or later moved into the other mode on ``tonic``.

    Notes keep their note-off partner (one that began before ``start`` ends on its own pitch), and a note that would
    land on a pitch already sounding keeps its own pitch, so the stream stays well formed."""
    steps = TO_MAJOR if codec.MOODS[mood] == "minor" else TO_MINOR
    out = window.copy()
    sounding: dict[int, int] = {}  # written pitch -> pitch it was in the source
    moved: dict[int, int] = {}  # source pitch -> written pitch, for the notes sounding now
    for i in range(len(out)):
        token = int(out[i])
        if codec.ON_BASE <= token < codec.OFF_BASE:
            pitch = token - codec.ON_BASE
            new = pitch
            if i >= start:
                new = pitch + steps.get((pitch - tonic) % 12, 0)
                if new in sounding or not 0 <= new < codec.N_PITCHES:
                    new = pitch
            moved[pitch] = new
            sounding[new] = pitch
            out[i] = codec.ON_BASE + new
        elif codec.OFF_BASE <= token < codec.VOCAB_SIZE:
            pitch = token - codec.OFF_BASE
            new = moved.pop(pitch, pitch)
            sounding.pop(new, None)
            out[i] = codec.OFF_BASE + new
    return out


def piece_phases(tokens: np.ndarray) -> np.ndarray:
    """Beat phase (0..11) after each token."""
    t = tokens.astype(np.int64)
    shifts = np.where((t >= codec.SHIFT_BASE) & (t < codec.ON_BASE), t - codec.SHIFT_BASE + 1, 0)
    return (np.cumsum(shifts) % codec.TICKS_PER_BEAT).astype(np.int64)


@dataclass
class Split:
    """The pieces of one split, flattened for fast window sampling."""

    tokens: np.ndarray  # all tokens, int64
    phases: np.ndarray
    starts: np.ndarray  # start offset of each piece
    lengths: np.ndarray
    style: np.ndarray
    mood: np.ndarray
    pitch_min: np.ndarray
    pitch_max: np.ndarray
    tonic: np.ndarray  # of each piece, in its own mode (for mode switching)
    n_notes: int

    @classmethod
    def from_pieces(cls, pieces: list[Piece]) -> Split:
        if not pieces:
            raise ValueError("a split needs at least one piece")
        tokens = [p.tokens.astype(np.int64) for p in pieces]
        lengths = np.array([len(t) for t in tokens])
        starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
        pmin, pmax = [], []
        for t in tokens:
            notes = t[(t >= codec.ON_BASE) & (t < codec.OFF_BASE)] - codec.ON_BASE
            pmin.append(int(notes.min()) if len(notes) else 60)
            pmax.append(int(notes.max()) if len(notes) else 60)
        return cls(
            tokens=np.concatenate(tokens),
            phases=np.concatenate([piece_phases(t) for t in tokens]),
            starts=starts,
            lengths=lengths,
            style=np.array([p.style for p in pieces]),
            mood=np.array([p.mood for p in pieces]),
            pitch_min=np.array(pmin),
            pitch_max=np.array(pmax),
            tonic=np.array([piece_tonic(t, p.mood) for t, p in zip(tokens, pieces, strict=True)]),
            n_notes=sum(p.n_notes for p in pieces),
        )

    def window_weights(self, length: int) -> np.ndarray:
        """Chance of each piece per window: by length (capped), with small styles lifted by square-root balancing,
        so a style with a tenth of the data still gets about a third of the windows of the largest."""
        weights = np.minimum(self.lengths, 4 * length).astype(np.float64)
        per_style = np.bincount(self.style, weights=weights, minlength=int(self.style.max()) + 1)
        weights = weights / np.sqrt(np.maximum(per_style[self.style], 1.0))
        return weights / weights.sum()

    def sample(
        self, rng: np.random.Generator, batch: int, length: int, augment: bool = True, mode_switch: float = 0.0
    ) -> dict[str, np.ndarray]:
        """A batch of windows of ``length + 1`` tokens (input and shifted target), chosen by piece length.

        ``augment``: transpose each window; ``mode_switch``: the share of windows switched into the other mode and
        labelled with it (a third of those from their first token, the rest from 15..60% of the way in)."""
        pieces = rng.choice(len(self.lengths), size=batch, p=self.window_weights(length))
        moods = self.mood[pieces].copy()
        tokens = np.zeros((batch, length + 1), dtype=np.int64)
        phases = np.zeros((batch, length + 1), dtype=np.int64)
        mask = np.zeros((batch, length + 1), dtype=bool)
        for row, piece in enumerate(pieces):
            n = self.lengths[piece]
            take = min(n, length + 1)
            # A quarter of windows start at the piece's beginning, the rest anywhere.
            offset = 0 if n <= length + 1 or rng.random() < 0.25 else int(rng.integers(0, n - take + 1))
            lo = self.starts[piece] + offset
            window = self.tokens[lo : lo + take].copy()
            moved = 0  # how far a mode switch may have moved a pitch past the piece's range
            if mode_switch and rng.random() < mode_switch:
                start = 0 if rng.random() < 1 / 3 else int(take * rng.uniform(0.15, 0.6))
                window = switch_mode(window, int(self.tonic[piece]), int(moods[row]), start)
                moods[row] = 1 - moods[row]
                moved = 1
            if augment:
                low = max(TRANSPOSE_LOW, -(self.pitch_min[piece] - moved))
                high = min(TRANSPOSE_HIGH, 127 - (self.pitch_max[piece] + moved))
                semitones = int(rng.integers(low, high + 1)) if high >= low else 0
                notes = (window >= codec.ON_BASE) & (window < codec.VOCAB_SIZE)
                window[notes] += semitones
            tokens[row, :take] = window
            phases[row, :take] = self.phases[lo : lo + take]
            mask[row, :take] = True
        return {
            "tokens": tokens,
            "phases": phases,
            "mask": mask,
            "style": self.style[pieces],
            "mood": moods,
        }
