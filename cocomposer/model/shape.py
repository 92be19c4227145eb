"""The shape of an answer: how long, in what register and with how many voices, with what groove, and how it ends.

A musician answers a call in kind: as many bars as the call (``bars auto``), in its register (a bass line gets a
bass line), with its number of voices (a melody gets a melody, block chords get chords), with its swing, and closes
on the key's tonic chord. :func:`read_call` measures a call; :class:`Cadence` leans the last bar of an answer toward
a close; :func:`swing` moves an answer's straight off-beat eighths onto the call's swung ones; :class:`Groove` leans
the answer's time toward the sixteenth e and a when the call is syncopated.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from cocomposer.music import codec, dialogue
from cocomposer.music.keys import Key

MAX_AUTO_BARS = 8
REGISTER_MARGIN = 5  # semitones around the call's lowest and highest note that its answer may use
LEGATO_OVERLAP = 0.125  # beats a note may ring into the next one and still be the same voice
MIN_REGISTER_SPAN = 12  # a call narrower than this still leaves its answer an octave
SWUNG_SHARE = 0.6  # a call with at least this share of its off-beat eighths late is swung
SWUNG_MIN_OFFBEATS = 4  # and at least this many off-beat eighths
SYNCOPATED_CALL = 0.2  # a call with at least this share of its onsets on the sixteenth e and a is syncopated
# Logit lift per unit of the call's syncopation on time shifts that land on the sixteenth e or a: chosen on the
# validation prompts (``cocomposer eval --musical --validation``) so an answer keeps about the call's share.
SYNCOPATION_GAIN = 5.0
# Strong positions in the bar, in ticks from the bar line, where a closing note may land.
STRONG = {"4/4": (0, 24), "2/4": (0,), "3/4": (0,), "6/8": (0, 18), "3/2": (0,)}
# Cadence lean on note-ons in the answer's last bar, per unit of strength: tonic-chord tones lifted, the rest lowered.
CADENCE_LIFT = 1.5
CADENCE_DROP = 1.0


@dataclass(frozen=True)
class CallShape:
    """What an answer takes from its call."""

    bars: int  # whole bars the call spans, 1..MAX_AUTO_BARS
    low: int  # the register the answer may use
    high: int
    voices: int  # notes that sound together at a typical onset of the call
    swing: float  # share of the call's off-beat eighths played late (0: straight)
    syncopation: float  # share of the call's onsets on the sixteenth e and a
    centre: float  # the call's median pitch

    @property
    def swung(self) -> bool:
        return self.swing >= SWUNG_SHARE


def _phase(beat: float) -> int:
    return int(round(beat * codec.TICKS_PER_BEAT)) % codec.TICKS_PER_BEAT


def swing_share(notes: Sequence[codec.Note]) -> float:
    """Share of the call's off-beat eighths played late (see :func:`cocomposer.music.dialogue.swing_share`); 0 when
    it has none."""
    share = dialogue.swing_share(notes)
    return 0.0 if math.isnan(share) else share


def offbeat_count(notes: Sequence[codec.Note]) -> int:
    return sum(dialogue.OFFBEAT[0] <= n.start % 1.0 < dialogue.OFFBEAT[1] for n in notes)


def syncopation_share(notes: Sequence[codec.Note]) -> float:
    """Share of onsets on the second or fourth sixteenth of a beat (see :mod:`cocomposer.music.dialogue`)."""
    share = dialogue.syncopation_share(notes)
    return 0.0 if math.isnan(share) else share


def voices(notes: Sequence[codec.Note]) -> int:
    """Notes sounding together at a typical onset: the 80th percentile over onsets of the notes that sound from it
    to :data:`LEGATO_OVERLAP` after it (a note held a little into the next one, as legato playing does, does not
    make a melody two voices)."""
    if not notes:
        return 1
    starts = np.sort([n.start for n in notes])
    ends = np.sort([n.end for n in notes])
    onsets = np.unique(starts)
    counts = np.searchsorted(starts, onsets + 1e-9, "right") - np.searchsorted(ends, onsets + LEGATO_OVERLAP, "right")
    return max(1, int(math.floor(np.percentile(np.maximum(counts, 1), 80) + 1e-9)))


def read_call(notes: Sequence[codec.Note], meter: codec.Meter, low: int = 0, high: int = 127) -> CallShape:
    """Measure a call (times in beats, bar lines at multiples of ``meter``'s bar); ``low``/``high`` bound the
    register the answer may use. In compound meters (6/8, 9/8, 12/8) eighths are the pulse, not swing: no swing."""
    bar_beats = meter.bar_beats
    compound = meter.denominator == 8 and meter.numerator % 3 == 0
    first = math.floor(min(n.start for n in notes) / bar_beats + 1e-9)
    last = math.ceil(max(n.end for n in notes) / bar_beats - 1e-9)
    lo = min(n.pitch for n in notes) - REGISTER_MARGIN
    hi = max(n.pitch for n in notes) + REGISTER_MARGIN
    if hi - lo < MIN_REGISTER_SPAN:
        centre = (hi + lo) // 2
        lo, hi = centre - MIN_REGISTER_SPAN // 2, centre + MIN_REGISTER_SPAN // 2
    lo, hi = max(low, lo), min(high, hi)
    if lo > hi:  # the call lies outside the range the player set: the range wins
        lo, hi = low, high
    return CallShape(
        bars=max(1, min(MAX_AUTO_BARS, last - first)),
        low=lo,
        high=hi,
        voices=voices(notes),
        swing=0.0 if compound or offbeat_count(notes) < SWUNG_MIN_OFFBEATS else swing_share(notes),
        syncopation=syncopation_share(notes),
        centre=float(np.median([n.pitch for n in notes])),
    )


def register_of(call: CallShape) -> tuple[float, float]:
    """``Controls.register`` for a call: its median pitch, and half its register's width."""
    return call.centre, max(1.0, (call.high - call.low) / 2)


def swing(notes: Sequence[codec.Note], share: float) -> list[codec.Note]:
    """The call's groove on an answer: with a swung call (``share`` >= SWUNG_SHARE), every onset and end on a
    straight off-beat eighth moves to the swung one (2/3 of the beat); a note never ends before it starts."""
    if share < SWUNG_SHARE:
        return list(notes)
    late = 2 / codec.TICKS_PER_BEAT

    def moved(beat: float) -> float:
        return beat + late if _phase(beat) == 6 and abs(beat * codec.TICKS_PER_BEAT - round(beat * 12)) < 1e-6 else beat

    out = []
    for n in notes:
        start, end = moved(n.start), moved(n.end)
        if start != n.start:  # a later onset keeps at least the note's length (no blip from a short off-beat note)
            end = max(end, start + (n.end - n.start))
        out.append(codec.Note(start, end, n.pitch, n.velocity))
    return out


def unswung_tick(tick: int, share: float) -> int:
    """Where the model stands, on its straight timeline, when a swung answer (``share`` >= SWUNG_SHARE) has sounded
    up to ``tick``: a straight off-beat eighth (tick 6 of a beat) sounds at tick 8, so a cut at tick 6, 7 or 8 comes
    before it (at 6, where a note-on due at the cut counts as not sounded). Other ticks are where they were."""
    phase = tick % codec.TICKS_PER_BEAT
    if share >= SWUNG_SHARE and 6 <= phase <= 8:
        return tick - phase + 6
    return tick


class Cadence:
    """Leans an answer's last bar toward a close in ``key``: note-ons on the tonic chord lifted, the others lowered,
    by ``strength``; once a tonic-chord tone starts on a strong beat of the last bar, in the second half of the
    answer (a one-bar answer is not closed by its first note), no new note starts and the answer's notes ring to the
    bar line (where the answer closes them)."""

    def __init__(
        self,
        key: Key,
        strength: float,
        meter: codec.Meter,
        end_tick: int,
        bar_origin: int = 0,
        start_tick: int | None = None,
    ) -> None:
        self.key = key
        self.start_tick = end_tick - meter.bar_ticks if start_tick is None else start_tick
        self.strength = strength
        self.meter = meter
        self.end_tick = end_tick
        self.bar_origin = bar_origin
        self.closed = False
        triad = dialogue.tonic_triad(key)
        per_class = np.array([CADENCE_LIFT if pc in triad else -CADENCE_DROP for pc in range(12)]) * strength
        self._lean = np.zeros(codec.VOCAB_SIZE)
        self._lean[codec.ON_BASE : codec.OFF_BASE] = per_class[np.arange(codec.N_PITCHES) % 12]
        self._triad = triad

    def in_last_bar(self, tick: int) -> bool:
        return self.end_tick - tick <= self.meter.bar_ticks

    def lean(self, tick: int) -> np.ndarray | None:
        return self._lean if self.strength > 0 and self.in_last_bar(tick) else None

    def strong(self, tick: int) -> bool:
        position = (tick - self.bar_origin) % self.meter.bar_ticks
        return position in STRONG.get(codec.METERS[self.meter.index], (0,))

    def heard(self, pitch: int, tick: int) -> None:
        """An answer note-on at ``tick``: a tonic-chord tone on a strong beat of the last bar closes the answer."""
        late = 2 * (tick - self.start_tick) >= self.end_tick - self.start_tick
        if self.strength > 0 and self.in_last_bar(tick) and late and pitch % 12 in self._triad and self.strong(tick):
            self.closed = True


class Groove:
    """Leans an answer's time toward the sixteenth e and a (ticks 3 and 9 of a beat, counted from a bar line at
    ``bar_origin``) when the call is syncopated; else does nothing. Within the time shifts, those that land on e or
    a gain ``gain`` times the call's syncopation in log-odds, and all shifts together keep the probability the
    network gave them (exactly at temperature 1 before other leans and top-p; near it otherwise): the groove moves
    when notes happen, not how many (a plain lift on shifts starves a sparse call's answer of notes). The network
    still chooses what lands there: a note-on, a note-off or a further shift."""

    def __init__(self, syncopation: float, bar_origin: int = 0, gain: float = SYNCOPATION_GAIN) -> None:
        self.strength = gain * syncopation if syncopation >= SYNCOPATED_CALL else 0.0
        self.bar_origin = bar_origin
        self._lifts: list[np.ndarray] = []
        if self.strength > 0:
            ticks = np.arange(1, codec.MAX_SHIFT + 1)
            for phase in range(codec.TICKS_PER_BEAT):
                lands = (phase + ticks) % codec.TICKS_PER_BEAT
                self._lifts.append(np.isin(lands, (3, 9)) * self.strength)

    def lean(self, tick: int, logits: np.ndarray) -> np.ndarray | None:
        """The additive bias over the vocabulary at ``tick`` for the network's next-token ``logits``."""
        if not self._lifts:
            return None
        lift = self._lifts[(tick - self.bar_origin) % codec.TICKS_PER_BEAT]
        shifts = logits[codec.SHIFT_BASE : codec.SHIFT_BASE + codec.MAX_SHIFT]
        top = shifts.max()
        before = np.exp(shifts - top).sum()
        after = np.exp(shifts - top + lift).sum()
        lean = np.zeros(codec.VOCAB_SIZE)
        lean[codec.SHIFT_BASE : codec.SHIFT_BASE + codec.MAX_SHIFT] = lift - math.log(after / before)
        return lean
