"""Training windows from the prepared corpus: random crops with transposition augmentation."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cocomposer import codec
from cocomposer.training.corpus import Piece

# Transposition range for augmentation: every key is reached from every piece.
TRANSPOSE_LOW, TRANSPOSE_HIGH = -6, 5


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
            n_notes=sum(p.n_notes for p in pieces),
        )

    def window_weights(self, length: int) -> np.ndarray:
        """Chance of each piece per window: by length (capped), with small styles lifted by square-root balancing,
        so a style with a tenth of the data still gets about a third of the windows of the largest."""
        weights = np.minimum(self.lengths, 4 * length).astype(np.float64)
        per_style = np.bincount(self.style, weights=weights, minlength=int(self.style.max()) + 1)
        weights = weights / np.sqrt(np.maximum(per_style[self.style], 1.0))
        return weights / weights.sum()

    def sample(self, rng: np.random.Generator, batch: int, length: int, augment: bool = True) -> dict[str, np.ndarray]:
        """A batch of windows of ``length + 1`` tokens (input and shifted target), chosen by piece length."""
        pieces = rng.choice(len(self.lengths), size=batch, p=self.window_weights(length))
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
            if augment:
                low = max(TRANSPOSE_LOW, -self.pitch_min[piece])
                high = min(TRANSPOSE_HIGH, 127 - self.pitch_max[piece])
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
            "mood": self.mood[pieces],
        }
