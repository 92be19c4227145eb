"""Whether an answer converses with its call, as numbers: shared motifs, kept groove, register, cadence, echo.

Pure functions over :class:`cocomposer.music.codec.Note` lists (times in beats), used by the musical benchmark
(:mod:`cocomposer.bench.musicality`) beside the figures of :mod:`cocomposer.music.metrics`.

* A line is the highest note of each onset (the melody a listener follows in chords too).
* Motifs: interval 4-grams (four successive intervals of the line, in semitones) and rhythm 4-grams (four successive
  inter-onset times, in ticks of 1/12 beat); an answer's share of its 4-grams found in a prompt.
* Swing: the share of off-beat eighth onsets played late (7 or 8 twelfths of the beat, not 6); syncopation: the
  share of onsets on a beat's second or fourth sixteenth.
* Cadence: the answer's last onset is a tonic-chord tone of the prompt's key (every note of it, for a chord).
* Echo: the share of the answer's 2-bar windows (from its bar lines) that repeat a 2-bar window of the call note for
  note (same rhythm, same intervals: transposed or not).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np

from cocomposer.music import codec
from cocomposer.music.keys import Key

N = 4


def line(notes: Sequence[codec.Note]) -> list[tuple[int, int]]:
    """(onset tick, pitch) of the highest note at each onset, in time order."""
    top: dict[int, int] = {}
    for n in notes:
        t = codec.beats_to_ticks(n.start)
        top[t] = max(top.get(t, -1), n.pitch)
    return sorted(top.items())


def interval_grams(notes: Sequence[codec.Note], n: int = N) -> list[tuple[int, ...]]:
    pitches = [p for _, p in line(notes)]
    steps = [b - a for a, b in itertools.pairwise(pitches)]
    return [tuple(steps[i : i + n]) for i in range(len(steps) - n + 1)]


def rhythm_grams(notes: Sequence[codec.Note], n: int = N) -> list[tuple[int, ...]]:
    ticks = [t for t, _ in line(notes)]
    gaps = [b - a for a, b in itertools.pairwise(ticks)]
    return [tuple(gaps[i : i + n]) for i in range(len(gaps) - n + 1)]


def shared(answer: list[tuple[int, ...]], prompt: list[tuple[int, ...]]) -> float:
    """Share of the answer's n-grams that the prompt holds too (NaN when the answer has none)."""
    if not answer:
        return float("nan")
    seen = set(prompt)
    return float(np.mean([g in seen for g in answer]))


def _phase(note: codec.Note) -> int:
    return codec.beats_to_ticks(note.start) % codec.TICKS_PER_BEAT


# Off-beat eighths, in beats after the beat: from a little before the straight one (1/2) to a little after the
# triplet one (2/3); late (swung) from 7/12 on, half way between the two. Unrounded times, so a straight player a
# few milliseconds behind the grid is not heard as swinging.
OFFBEAT = (5 / 12, 3 / 4)
SWUNG_FROM = 7 / 12


def swing_share(notes: Sequence[codec.Note]) -> float:
    """Share of off-beat eighth onsets that come late (NaN when there are none)."""
    offbeats = [f for f in (n.start % 1.0 for n in notes) if OFFBEAT[0] <= f < OFFBEAT[1]]
    return float(np.mean([f >= SWUNG_FROM - 1e-9 for f in offbeats])) if offbeats else float("nan")


def syncopation_share(notes: Sequence[codec.Note]) -> float:
    phases = [_phase(n) for n in notes]
    return float(np.mean([p in (3, 9) for p in phases])) if phases else float("nan")


def within_range(answer: Sequence[codec.Note], prompt: Sequence[codec.Note], margin: int = 5) -> float:
    """Share of the answer's notes within the prompt's lowest and highest pitch, +- ``margin`` semitones."""
    if not answer or not prompt:
        return float("nan")
    low, high = min(n.pitch for n in prompt) - margin, max(n.pitch for n in prompt) + margin
    return float(np.mean([low <= n.pitch <= high for n in answer]))


def tonic_triad(key: Key) -> set[int]:
    return {key.tonic % 12, (key.tonic + (3 if key.mode == "minor" else 4)) % 12, (key.tonic + 7) % 12}


def ends_on_tonic_chord(answer: Sequence[codec.Note], key: Key | None) -> bool | None:
    if not answer or key is None:
        return None
    last = max(n.start for n in answer)
    triad = tonic_triad(key)
    return all(n.pitch % 12 in triad for n in answer if abs(n.start - last) < 1e-6)


def _windows(notes: Sequence[codec.Note], start: float, end: float, bar_beats: float, bars: int = 2) -> list[tuple]:
    """Each 2-bar window from ``start`` on bar lines up to ``end``, as its notes relative to the window and its first
    pitch."""
    if not notes:
        return []
    out = []
    t = start
    while t < end - 1e-9 and (not out or t + bars * bar_beats <= end + 1e-9):  # whole windows, at least one
        inside = sorted(
            (codec.beats_to_ticks(n.start - t), n.pitch, codec.beats_to_ticks(n.end - n.start))
            for n in notes
            if t - 1e-9 <= n.start < t + bars * bar_beats - 1e-9
        )
        if inside:
            first = inside[0][1]
            out.append(tuple((s, p - first, d) for s, p, d in inside))
        t += bar_beats
    return out


def echo_share(
    answer: Sequence[codec.Note],
    prompt: Sequence[codec.Note],
    bar_beats: float,
    answer_start: float,
    answer_end: float,
) -> float:
    """Share of the answer's 2-bar windows (every bar line from ``answer_start`` to ``answer_end``) that repeat one of
    the call's (every bar line of the bars it spans) verbatim."""
    mine = _windows(answer, answer_start, answer_end, bar_beats)
    if not mine:
        return float("nan")
    call_start = min(n.start for n in prompt) // bar_beats * bar_beats
    call_end = -(-max(n.end for n in prompt) // bar_beats) * bar_beats
    theirs = set(_windows(prompt, call_start, call_end, bar_beats))
    return float(np.mean([w in theirs for w in mine]))
