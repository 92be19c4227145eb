"""Training windows from the prepared corpus: random crops with transposition, mode-switch and playing augmentation.

Playing (see :func:`play_like_a_person`): scores hold every note for its full value; people do not. A keyboard player
releases each note a little early (detached), some phrases are staccato, legato players hold a note into the next
one, and onsets wander by a tick. A share of windows is rewritten so that its first part sounds played, and the loss
counts only the part after it, which stays as written: the model learns to hear a played phrase and to answer it as
clean music, whatever the articulation of what it heard.

Mode switch: the mood label alone says little to a model that can hear the mode in the music, so it learns to
ignore it. A share of windows therefore carries the *other* mood's label and, from a random point on (sometimes from
the start), is rewritten into that mode on the piece's tonic: a major piece loses its major third and sixth (to the
minor ones), a minor piece gains them and its leading tone. The model learns that the label says where the music is
going, which is what the mood control asks of it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cocomposer.errors import DataError
from cocomposer.music import codec
from cocomposer.music.keys import MAJOR_PROFILE, MINOR_PROFILE
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


def token_ticks(tokens: np.ndarray, start_tick: int = 0) -> np.ndarray:
    """The time (in ticks) after each token."""
    t = tokens.astype(np.int64)
    shifts = np.where((t >= codec.SHIFT_BASE) & (t < codec.ON_BASE), t - codec.SHIFT_BASE + 1, 0)
    return start_tick + np.cumsum(shifts)


def piece_phases(tokens: np.ndarray) -> np.ndarray:
    """Beat phase (0..11) after each token."""
    return (token_ticks(tokens) % codec.TICKS_PER_BEAT).astype(np.int64)


def bar_positions(ticks: np.ndarray, meter: codec.Meter, origin: int) -> np.ndarray:
    """The model's bar-position input for each time in ``ticks`` (see :func:`codec.bar_position`)."""
    return np.minimum((ticks - origin) % meter.bar_ticks, codec.MAX_BAR_TICKS - 1)


# Articulations of a played phrase: (chance, shortest and longest share of the written length kept).
ARTICULATIONS = (
    (0.45, 0.80, 0.97),  # detached: each key released a little before the next note
    (0.25, 0.35, 0.65),  # staccato
    (0.15, 0.55, 0.85),  # loose, uneven
    (0.15, 1.00, 1.00),  # legato, held into the next note
)
ONSET_JITTER = 0.2  # chance that an onset moves one tick either way
LEGATO_OVERLAP = (1, 3)  # ticks a legato note is held past the next onset


def play_like_a_person(
    tokens: np.ndarray, start_tick: int, rng: np.random.Generator, played_share: tuple[float, float] = (0.3, 0.7)
) -> tuple[np.ndarray, int]:
    """``tokens`` (a window starting at ``start_tick``) with the notes of its first part played as a person would:
    shortened by one articulation of :data:`ARTICULATIONS` (with some spread per note), or held over into the next
    note, and onsets moved by a tick now and then. Returns the new tokens and the tick from which the music is as
    written (the first onset after the played part); notes that sounded before the window are dropped."""
    notes = codec.decode(tokens.tolist(), start_tick)
    if len(notes) < 4:
        return tokens, start_tick
    onsets = sorted({codec.beats_to_ticks(n.start) for n in notes})
    cut = onsets[min(len(onsets) - 1, max(1, int(len(onsets) * rng.uniform(*played_share))))]
    weights = np.array([a[0] for a in ARTICULATIONS])
    low, high = ARTICULATIONS[int(rng.choice(len(ARTICULATIONS), p=weights / weights.sum()))][1:]
    legato = low >= 1.0
    out: list[codec.Note] = []
    for n in notes:
        start, end = codec.beats_to_ticks(n.start), codec.beats_to_ticks(n.end)
        if start >= cut:
            out.append(n)
            continue
        if legato:
            later = [o for o in onsets if o >= end]
            if later and later[0] == end:  # the next note starts as this one ends: hold it over
                end += int(rng.integers(LEGATO_OVERLAP[0], LEGATO_OVERLAP[1] + 1))
        elif end - start > 1:  # released early: by at least a tick
            end = start + max(1, min(end - start - 1, round((end - start) * rng.uniform(low, high))))
        if rng.random() < ONSET_JITTER:
            move = int(rng.choice((-1, 1)))
            if start + move >= start_tick:
                start, end = start + move, end + move
        out.append(codec.Note(start / codec.TICKS_PER_BEAT, end / codec.TICKS_PER_BEAT, n.pitch))
    return np.asarray(codec.encode_notes(out, start_tick=start_tick), dtype=np.int64), cut


@dataclass
class Split:
    """The pieces of one split, flattened for fast window sampling."""

    tokens: np.ndarray  # all tokens, int64
    ticks: np.ndarray  # time after each token, in ticks from its piece's first note
    starts: np.ndarray  # start offset of each piece
    lengths: np.ndarray
    style: np.ndarray
    mood: np.ndarray
    pitch_min: np.ndarray
    pitch_max: np.ndarray
    tonic: np.ndarray  # of each piece, in its own mode (for mode switching)
    meters: list[codec.Meter]
    bar_origin: np.ndarray
    n_notes: int

    @classmethod
    def from_pieces(cls, pieces: list[Piece]) -> Split:
        if not pieces:
            raise DataError("a split needs at least one piece")
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
            ticks=np.concatenate([token_ticks(t) for t in tokens]),
            starts=starts,
            lengths=lengths,
            style=np.array([p.style for p in pieces]),
            mood=np.array([p.mood for p in pieces]),
            pitch_min=np.array(pmin),
            pitch_max=np.array(pmax),
            tonic=np.array([piece_tonic(t, p.mood) for t, p in zip(tokens, pieces, strict=True)]),
            meters=[p.meter for p in pieces],
            bar_origin=np.array([p.bar_origin for p in pieces]),
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
        self,
        rng: np.random.Generator,
        batch: int,
        length: int,
        augment: bool = True,
        mode_switch: float = 0.0,
        played: float = 0.0,
    ) -> dict[str, np.ndarray]:
        """A batch of windows of ``length + 1`` tokens (input and shifted target), chosen by piece length.

        ``augment``: transpose each window; ``mode_switch``: the share of windows switched into the other mode and
        labelled with it (a third of those from their first token, the rest from 15..60% of the way in);
        ``played``: the share of windows whose first part is played like a person (:func:`play_like_a_person`),
        with the loss mask (``counted``) off over that part."""
        pieces = rng.choice(len(self.lengths), size=batch, p=self.window_weights(length))
        moods = self.mood[pieces].copy()
        tokens = np.zeros((batch, length + 1), dtype=np.int64)
        phases = np.zeros((batch, length + 1), dtype=np.int64)
        bars = np.zeros((batch, length + 1), dtype=np.int64)
        mask = np.zeros((batch, length + 1), dtype=bool)
        counted = np.zeros((batch, length + 1), dtype=bool)
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
            ticks = self.ticks[lo : lo + take]
            first = 0
            if played and rng.random() < played:
                start_tick = int(self.ticks[lo - 1]) if offset else 0
                window, cut = play_like_a_person(window, start_tick, rng)
                window = window[: length + 1]
                ticks = token_ticks(window, start_tick)
                first = int(np.searchsorted(ticks, cut))  # the first target at or after the written part
            take = len(window)
            tokens[row, :take] = window
            phases[row, :take] = ticks % codec.TICKS_PER_BEAT
            bars[row, :take] = bar_positions(ticks, self.meters[piece], int(self.bar_origin[piece]))
            mask[row, :take] = True
            counted[row, first:take] = True
        return {
            "tokens": tokens,
            "phases": phases,
            "bar_positions": bars,
            "mask": mask,
            "counted": counted,
            "style": self.style[pieces],
            "mood": moods,
            "meter": np.array([self.meters[p].index for p in pieces], dtype=np.int64),
        }
