"""What a musician hears in an answer, as numbers: blips, the grid, the key, the register, the notes per bar, whether
a meter is kept, and whether the answer starts and ends on bar lines.

Pure functions over :class:`cocomposer.music.codec.Note` lists (times in beats), used by the musical benchmark
(:mod:`cocomposer.bench.musicality`) on answers and on real continuations from the corpus alike.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from cocomposer.music import codec
from cocomposer.music.keys import Key, find_key, pitch_class_histogram

BLIP_BEATS = 2 / codec.TICKS_PER_BEAT  # a note of 1/6 beat or less is a blip
_EPS = 1e-6


def key_of(notes: Sequence[codec.Note]) -> Key | None:
    return find_key(pitch_class_histogram((n.pitch for n in notes), (n.end - n.start for n in notes)))


def duration_ticks(note: codec.Note) -> int:
    return codec.beats_to_ticks(note.end) - codec.beats_to_ticks(note.start)


def blip_share(notes: Sequence[codec.Note]) -> float:
    """Share of notes lasting 1/6 beat or less (zero-length notes included)."""
    return _share([duration_ticks(n) <= 2 for n in notes])


def zero_share(notes: Sequence[codec.Note]) -> float:
    """Share of notes that end on the tick they start: a click, not a note."""
    return _share([duration_ticks(n) <= 0 for n in notes])


def grid_share(notes: Sequence[codec.Note]) -> float:
    """Share of onsets on the 1/16 grid or the eighth-triplet grid."""
    ticks = [codec.beats_to_ticks(n.start) for n in notes]
    return _share([t % 3 == 0 or t % 4 == 0 for t in ticks])


def in_key_share(notes: Sequence[codec.Note], key: Key | None) -> float:
    if key is None:
        return float("nan")
    classes = key.pitch_classes()
    return _share([n.pitch % 12 in classes for n in notes])


def register_shift(answer: Sequence[codec.Note], prompt: Sequence[codec.Note]) -> float:
    """Median pitch of the answer minus the prompt's, in semitones."""
    if not answer or not prompt:
        return float("nan")
    return float(np.median([n.pitch for n in answer]) - np.median([n.pitch for n in prompt]))


def accent_signal(notes: Sequence[codec.Note], start: float, end: float) -> np.ndarray:
    """Per tick from ``start`` to ``end``: the accent of the onsets there (1 + the length of the longest note
    starting there, in beats, + 0.5 per extra voice). Long notes and chords mark strong beats."""
    n = max(1, codec.beats_to_ticks(end - start))
    signal = np.zeros(n)
    by_tick: dict[int, list[codec.Note]] = {}
    for note in notes:
        t = codec.beats_to_ticks(note.start - start)
        if 0 <= t < n:
            by_tick.setdefault(t, []).append(note)
    for t, group in by_tick.items():
        signal[t] = 1.0 + max(g.end - g.start for g in group) + 0.5 * (len(group) - 1)
    return signal


def periodicity(signal: np.ndarray, lag: int) -> float:
    """Normalised autocorrelation of ``signal`` (mean removed) at ``lag`` ticks, over the overlapping part."""
    if lag <= 0 or lag >= len(signal):
        return float("nan")
    x = signal - signal.mean()
    a, b = x[:-lag], x[lag:]
    denominator = float(np.sqrt((a * a).sum() * (b * b).sum()))
    return float((a * b).sum() / denominator) if denominator > 0 else 0.0


def keeps_meter(notes: Sequence[codec.Note], meter: codec.Meter, start: float, end: float) -> bool | None:
    """Whether the accents of ``notes`` repeat every bar of ``meter`` more than every bar of the other family's
    common meter (4/4 for a triple meter, 3/4 for a duple one): the simple accent-periodicity test of the benchmark.
    None when the passage is too short to hold two bars of either."""
    own = meter.bar_ticks
    other = codec.COMMON_TIME.bar_ticks if own % 36 == 0 or own == 18 else 36
    if own == other:
        return None
    signal = accent_signal(notes, start, end)
    if len(signal) < 2 * max(own, other):
        return None
    return periodicity(signal, own) > periodicity(signal, other)


def on_bar_line(beat: float, meter: codec.Meter) -> bool:
    return codec.beats_to_ticks(beat) % meter.bar_ticks == 0


@dataclass(frozen=True)
class AnswerFigures:
    """The figures of one answer (or one real continuation) to one prompt."""

    notes: int
    bars: float
    notes_per_bar: float
    blips: float
    zero_length: float
    grid: float
    in_key: float
    register_shift: float
    keeps_meter: bool | None
    starts_on_bar: bool
    ends_on_bar: bool

    @classmethod
    def of(
        cls,
        answer: Sequence[codec.Note],
        prompt: Sequence[codec.Note],
        meter: codec.Meter,
        start: float,
        end: float,
    ) -> AnswerFigures:
        """``start``/``end``: the span the answer was asked to fill (beats, on the same clock as the notes)."""
        bars = (end - start) / meter.bar_beats
        last = max((n.end for n in answer), default=start)
        first = min((n.start for n in answer), default=start)
        return cls(
            notes=len(answer),
            bars=bars,
            notes_per_bar=len(answer) / bars if bars > 0 else float("nan"),
            blips=blip_share(answer),
            zero_length=zero_share(answer),
            grid=grid_share(answer),
            in_key=in_key_share(answer, key_of(prompt)),
            register_shift=register_shift(answer, prompt),
            keeps_meter=keeps_meter(answer, meter, start, end),
            starts_on_bar=bool(answer) and on_bar_line(first, meter),
            ends_on_bar=on_bar_line(end, meter) and last <= end + _EPS,
        )


def _share(flags: Sequence[bool]) -> float:
    return float(np.mean(flags)) if len(flags) else float("nan")


def pooled(figures: Sequence[AnswerFigures], name: str) -> float:
    """The mean of one figure over answers, weighted by notes for the per-note shares, ignoring None and NaN."""
    per_note = {"blips", "zero_length", "grid", "in_key"}
    values, weights = [], []
    for f in figures:
        value = getattr(f, name)
        if value is None or (isinstance(value, float) and np.isnan(value)):
            continue
        values.append(float(value))
        weights.append(f.notes if name in per_note else 1.0)
    if not values or sum(weights) == 0:
        return float("nan")
    return float(np.average(values, weights=weights))
