"""Features of a short passage of notes and a small style classifier (softmax regression) trained on real data.

The features are the ones a musician would name: how many notes sound at once, how dense the onsets are, where in
the beat they fall, the rhythm (inter-onset intervals and durations), the melodic intervals of the top voice, the
register, and the pitch classes relative to the passage's own key (so transposition does not matter).
"""

from __future__ import annotations

import numpy as np

from cocomposer.music import codec
from cocomposer.music.keys import find_key, pitch_class_histogram

_IOI_BINS = np.array([0.5, 1.5, 2.5, 3.5, 4.5, 6.5, 8.5, 12.5, 18.5, 24.5, 1e9])  # ticks
_DUR_BINS = np.array([1.5, 2.5, 3.5, 4.5, 6.5, 8.5, 12.5, 18.5, 24.5, 48.5, 1e9])
_INT_BINS = np.array([0.5, 1.5, 2.5, 3.5, 4.5, 5.5, 7.5, 9.5, 12.5, 1e9])


def _hist(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    h = np.histogram(values, bins=np.concatenate([[-1e9], edges]))[0].astype(np.float64)
    return h / max(h.sum(), 1.0)


def note_features(notes: list[codec.Note], span_beats: float) -> np.ndarray:
    """A fixed-length feature vector of a passage lasting ``span_beats``."""
    if not notes:
        return np.zeros(FEATURE_SIZE)
    starts = np.array([n.start for n in notes]) * codec.TICKS_PER_BEAT
    ends = np.array([n.end for n in notes]) * codec.TICKS_PER_BEAT
    pitches = np.array([n.pitch for n in notes], dtype=np.float64)
    durations = ends - starts
    onsets = np.unique(np.round(starts))
    polyphony = durations.sum() / max(span_beats * codec.TICKS_PER_BEAT, 1.0)
    chord_size = len(notes) / max(len(onsets), 1)
    phase = np.bincount((onsets % codec.TICKS_PER_BEAT).astype(int), minlength=12).astype(np.float64)
    phase /= max(phase.sum(), 1.0)
    ioi = _hist(np.diff(onsets), _IOI_BINS)
    dur = _hist(durations, _DUR_BINS)
    # Top voice: the highest pitch at each onset.
    top = np.array([pitches[np.round(starts) == o].max() for o in onsets])
    intervals = _hist(np.abs(np.diff(top)), _INT_BINS) if len(top) > 1 else np.zeros(len(_INT_BINS))
    pc = pitch_class_histogram(pitches.astype(int), durations)
    key = find_key(pc)
    rel = np.roll(pc, -key.tonic) if key else pc
    rel = rel / max(rel.sum(), 1e-9)
    scalar = np.array(
        [
            polyphony / 4.0,
            chord_size / 4.0,
            len(onsets) / max(span_beats, 1.0) / 4.0,
            (pitches.mean() - 60.0) / 12.0,
            pitches.std() / 12.0,
            (pitches.max() - pitches.min()) / 24.0,
            1.0 if key and key.mode == "minor" else 0.0,
        ]
    )
    return np.concatenate([scalar, phase, ioi, dur, intervals, rel])


FEATURE_SIZE = 7 + 12 + len(_IOI_BINS) + len(_DUR_BINS) + len(_INT_BINS) + 12


class StyleClassifier:
    """Multinomial logistic regression on standardised features, trained by full-batch gradient descent."""

    def __init__(self, n_classes: int, l2: float = 1e-3) -> None:
        self.n_classes = n_classes
        self.l2 = l2

    def fit(self, x: np.ndarray, y: np.ndarray, steps: int = 2000, lr: float = 0.5) -> StyleClassifier:
        self.mean = x.mean(axis=0)
        self.std = x.std(axis=0) + 1e-6
        z = (x - self.mean) / self.std
        self.w = np.zeros((z.shape[1], self.n_classes))
        self.b = np.zeros(self.n_classes)
        onehot = np.eye(self.n_classes)[y]
        for _ in range(steps):
            p = self._softmax(z @ self.w + self.b)
            grad = p - onehot
            self.w -= lr * (z.T @ grad / len(z) + self.l2 * self.w)
            self.b -= lr * grad.mean(axis=0)
        return self

    @staticmethod
    def _softmax(logits: np.ndarray) -> np.ndarray:
        logits = logits - logits.max(axis=1, keepdims=True)
        e = np.exp(logits)
        return e / e.sum(axis=1, keepdims=True)

    def predict(self, x: np.ndarray) -> np.ndarray:
        z = (np.atleast_2d(x) - self.mean) / self.std
        return np.argmax(z @ self.w + self.b, axis=1)
