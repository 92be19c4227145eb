"""A variable-order Markov model over codec tokens: the Continuator's method, as a baseline and a live anchor.

Counts of every context up to ``order`` tokens, interpolated across orders with Witten-Bell smoothing (the
escape mechanism of PPM): p_k(w|h) = (c(h,w) + n(h) p_{k-1}(w|h')) / (c(h) + n(h)), where n(h) is the number of
distinct tokens seen after h; or with interpolated absolute discounting:
p_k(w|h) = (max(c(h,w) - D, 0) + D n(h) p_{k-1}(w|h')) / c(h).
Contexts are hashed into int64 keys and kept in sorted numpy arrays, so millions of tokens train in seconds and
score vectorised.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from cocomposer.errors import ConfigError
from cocomposer.music import codec

_MULT = np.int64(1_000_003)
_BOS = codec.PAD  # context padding before the first token of a piece


def _context_keys(seqs: Sequence[np.ndarray], order: int) -> tuple[list[np.ndarray], np.ndarray]:
    """For each k in 0..order the hash of the k tokens before each position, and the targets."""
    padded = [np.concatenate([np.full(order, _BOS, dtype=np.int64), s.astype(np.int64)]) for s in seqs]
    targets = np.concatenate([p[order:] for p in padded])
    keys = []
    for k in range(order + 1):
        parts = []
        for p in padded:
            n = len(p) - order
            h = np.full(n, k + 1, dtype=np.int64)  # distinct seed per order
            for j in range(1, k + 1):
                h = h * _MULT + p[order - j : order - j + n]
            parts.append(h)
        keys.append(np.concatenate(parts))
    return keys, targets


class MarkovModel:
    """``smoothing`` "wb" (Witten-Bell) or "abs" (interpolated absolute discounting with ``discount``)."""

    def __init__(
        self, order: int, vocab: int = codec.VOCAB_SIZE, smoothing: str = "wb", discount: float = 0.75
    ) -> None:
        if smoothing not in ("wb", "abs"):
            raise ConfigError(f"smoothing is 'wb' or 'abs', got {smoothing!r}")
        self.order = order
        self.vocab = vocab
        self.smoothing = smoothing
        self.discount = discount
        self._pair_keys: list[np.ndarray] = []
        self._pair_counts: list[np.ndarray] = []
        self._ctx_keys: list[np.ndarray] = []
        self._ctx_counts: list[np.ndarray] = []
        self._ctx_types: list[np.ndarray] = []

    def fit(self, seqs: Sequence[np.ndarray]) -> MarkovModel:
        keys, targets = _context_keys(seqs, self.order)
        for k in range(self.order + 1):
            pair = keys[k] * np.int64(self.vocab) + targets
            pk, pc = np.unique(pair, return_counts=True)
            ctx_of_pair = (pk - (pk % self.vocab)) // self.vocab
            ck, first, types = np.unique(ctx_of_pair, return_index=True, return_counts=True)
            counts = np.add.reduceat(pc, first)
            self._pair_keys.append(pk)
            self._pair_counts.append(pc)
            self._ctx_keys.append(ck)
            self._ctx_counts.append(counts)
            self._ctx_types.append(types)
        return self

    @staticmethod
    def _lookup(sorted_keys: np.ndarray, values: np.ndarray, queries: np.ndarray) -> np.ndarray:
        idx = np.searchsorted(sorted_keys, queries)
        idx = np.minimum(idx, len(sorted_keys) - 1)
        found = sorted_keys[idx] == queries
        return np.where(found, values[idx], 0)

    def _probs_of(self, keys: list[np.ndarray], targets: np.ndarray) -> np.ndarray:
        p = np.full(len(targets), 1.0 / self.vocab)
        for k in range(self.order + 1):
            c_hw = self._lookup(self._pair_keys[k], self._pair_counts[k], keys[k] * np.int64(self.vocab) + targets)
            c_h = self._lookup(self._ctx_keys[k], self._ctx_counts[k], keys[k])
            n_h = self._lookup(self._ctx_keys[k], self._ctx_types[k], keys[k])
            seen = c_h > 0
            if self.smoothing == "wb":
                p = np.where(seen, (c_hw + n_h * p) / np.maximum(c_h + n_h, 1), p)
            else:
                d = self.discount
                p = np.where(seen, (np.maximum(c_hw - d, 0) + d * n_h * p) / np.maximum(c_h, 1), p)
        return p

    def token_nll(self, seqs: Sequence[np.ndarray]) -> list[np.ndarray]:
        """Negative log-likelihood (nats) of every token of every sequence."""
        keys, targets = _context_keys(seqs, self.order)
        nll = -np.log(self._probs_of(keys, targets))
        out, start = [], 0
        for s in seqs:
            out.append(nll[start : start + len(s)])
            start += len(s)
        return out

    def next_distribution(self, history: Sequence[int]) -> np.ndarray:
        """The distribution of the next token after ``history`` (for sampling a live answer)."""
        ctx = np.array(([_BOS] * self.order + list(history))[-self.order :] if self.order else [], dtype=np.int64)
        targets = np.arange(self.vocab, dtype=np.int64)
        keys = []
        for k in range(self.order + 1):
            h = np.int64(k + 1)
            for j in range(1, k + 1):
                h = h * _MULT + ctx[len(ctx) - j]
            keys.append(np.full(self.vocab, h, dtype=np.int64))
        p = self._probs_of(keys, targets)
        return p / p.sum()


def unigram_nll(
    train: Sequence[np.ndarray], seqs: Sequence[np.ndarray], vocab: int = codec.VOCAB_SIZE
) -> list[np.ndarray]:
    counts = np.bincount(np.concatenate(train).astype(np.int64), minlength=vocab) + 1.0
    logp = np.log(counts / counts.sum())
    return [-logp[s.astype(np.int64)] for s in seqs]
