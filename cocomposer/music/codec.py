"""The one token vocabulary of cocomposer, shared by training and the live engine.

Time is beat-relative: a beat (a quarter note) holds :data:`TICKS_PER_BEAT` = 12 ticks, so both sixteenths (3 ticks)
and eighth-note triplets (4 ticks) sit on the grid. A piece or a live session becomes a stream of tokens:

* ``SHIFT_k`` (k = 1..48): time moves on by k ticks (up to one 4/4 bar; longer gaps repeat it);
* ``ON_p`` / ``OFF_p`` (p = 0..127): note p starts / stops at the current time.

At one instant, note-offs come before note-ons and each group goes up by pitch, so the batch encoding of a set of
notes is unique. Velocity is not in the vocabulary: the corpus is made of scores, whose velocities carry no
information, so the engine chooses the velocity of what it plays (see ``cocomposer.model.sampling``).

Style and mood condition the model as side inputs of every step (see :data:`STYLES`, :data:`MOODS`), not as tokens
in the stream, so a player can turn the style knob in the middle of a phrase and the next step hears it. So do the
meter and the position in the bar (see :data:`METERS`, :func:`meter_of`, :func:`bar_position`): the model knows beat
one from beat three, and a waltz from a march.

:class:`StreamEncoder` turns live, timestamped note messages into tokens one message at a time with no look-ahead;
for the same notes it yields exactly :func:`encode_notes`. :func:`decode` turns tokens back into notes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from cocomposer.errors import CodecError, ConfigError

TICKS_PER_BEAT = 12
MAX_SHIFT = 48
N_PITCHES = 128

STYLES: tuple[str, ...] = ("folk", "celtic", "chorale", "renaissance", "classical")
MOODS: tuple[str, ...] = ("major", "minor")
# Meters the model tells apart. 2/2 plays as 4/4 and 6/4 as 3/2 (same bar, same beats); any other meter is "other",
# still with its own bar length. Bars are counted in ticks; positions of :data:`MAX_BAR_TICKS` or more are clipped.
METERS: tuple[str, ...] = ("4/4", "3/4", "2/4", "6/8", "3/2", "other")
MAX_BAR_TICKS = 96
_METER_ALIASES = {"2/2": "4/4", "6/4": "3/2"}

PAD = 0
SHIFT_BASE = 1  # SHIFT_k is SHIFT_BASE + k - 1
ON_BASE = SHIFT_BASE + MAX_SHIFT
OFF_BASE = ON_BASE + N_PITCHES
VOCAB_SIZE = OFF_BASE + N_PITCHES


def shift_token(ticks: int) -> int:
    """The token that moves time on by ``ticks`` (1..MAX_SHIFT)."""
    if not 1 <= ticks <= MAX_SHIFT:
        raise CodecError(f"a shift holds 1..{MAX_SHIFT} ticks, got {ticks}")
    return SHIFT_BASE + ticks - 1


def on_token(pitch: int) -> int:
    return ON_BASE + pitch


def off_token(pitch: int) -> int:
    return OFF_BASE + pitch


def is_shift(token: int) -> bool:
    return SHIFT_BASE <= token < ON_BASE


def is_on(token: int) -> bool:
    return ON_BASE <= token < OFF_BASE


def is_off(token: int) -> bool:
    return OFF_BASE <= token < VOCAB_SIZE


def shift_ticks(token: int) -> int:
    """How many ticks a shift token moves time on; 0 for any other token."""
    return token - SHIFT_BASE + 1 if is_shift(token) else 0


def token_pitch(token: int) -> int:
    if is_on(token):
        return token - ON_BASE
    if is_off(token):
        return token - OFF_BASE
    raise CodecError(f"token {token} is not a note token")


def token_name(token: int) -> str:
    if token == PAD:
        return "PAD"
    if is_shift(token):
        return f"SHIFT_{shift_ticks(token)}"
    if is_on(token):
        return f"ON_{token - ON_BASE}"
    if is_off(token):
        return f"OFF_{token - OFF_BASE}"
    raise CodecError(f"token {token} is outside the vocabulary of {VOCAB_SIZE}")


def vocabulary_hash() -> str:
    """A short hash of everything a model must agree on with this codec."""
    spec = (
        f"v1|tpb={TICKS_PER_BEAT}|maxshift={MAX_SHIFT}|pitches={N_PITCHES}|pad={PAD}|shift={SHIFT_BASE}|"
        f"on={ON_BASE}|off={OFF_BASE}|styles={','.join(STYLES)}|moods={','.join(MOODS)}|"
        f"meters={','.join(METERS)}|bar={MAX_BAR_TICKS}"
    )
    return hashlib.sha256(spec.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Meter:
    """A time signature as the model hears it: which of :data:`METERS` it is and how many ticks a bar holds."""

    numerator: int
    denominator: int

    def __post_init__(self) -> None:
        if not (1 <= self.numerator <= 32 and self.denominator in (1, 2, 4, 8, 16, 32)):
            raise ConfigError(f"a meter is N/D with N in 1..32 and D a power of two up to 32, got {self}")

    def __str__(self) -> str:
        return f"{self.numerator}/{self.denominator}"

    @property
    def index(self) -> int:
        """The model's meter input: the position of this meter (or its alias) in :data:`METERS`."""
        name = _METER_ALIASES.get(str(self), str(self))
        return METERS.index(name) if name in METERS else METERS.index("other")

    @property
    def bar_ticks(self) -> int:
        """Ticks in one bar (at least 1)."""
        return max(1, round(self.numerator * 4 * TICKS_PER_BEAT / self.denominator))

    @property
    def bar_beats(self) -> float:
        """Quarter-note beats in one bar."""
        return self.bar_ticks / TICKS_PER_BEAT

    @classmethod
    def parse(cls, text: str) -> Meter:
        """``"3/4"`` -> Meter(3, 4); raises :class:`ConfigError` (a ValueError) on anything else."""
        try:
            numerator, denominator = (int(part) for part in text.strip().split("/"))
        except ValueError as err:
            raise ConfigError(f"a meter is written N/D, e.g. 3/4 or 6/8; got {text!r}") from err
        return cls(numerator, denominator)

    @classmethod
    def of_beats(cls, beats_per_bar: int) -> Meter:
        """The meter a live player means by ``beats_per_bar`` quarter-note beats (6 is 3/2, not 6/8)."""
        return {6: cls(3, 2)}.get(beats_per_bar, cls(beats_per_bar, 4))


COMMON_TIME = Meter(4, 4)


def bar_position(tick: int, meter: Meter, origin: int = 0) -> int:
    """The model's bar-position input: ticks since the last bar line (bar lines at ``origin`` + k bars), clipped."""
    return min((tick - origin) % meter.bar_ticks, MAX_BAR_TICKS - 1)


def beats_to_ticks(beats: float) -> int:
    """Round a time in beats to the nearest grid tick."""
    return int(round(beats * TICKS_PER_BEAT))


@dataclass(frozen=True, order=True)
class Note:
    """A note with times in beats from the start of the piece or session."""

    start: float
    end: float
    pitch: int
    velocity: int = 80


def shift_tokens(ticks: int) -> list[int]:
    """Tokens that move time on by ``ticks`` (>= 0): full bars first, then the rest."""
    out: list[int] = []
    while ticks > 0:
        step = min(ticks, MAX_SHIFT)
        out.append(shift_token(step))
        ticks -= step
    return out


def _grid_events(notes: Iterable[Note]) -> list[tuple[int, int, int]]:
    """(tick, kind, pitch), kind 0 = off, 1 = on; each note lasts at least a tick; overlaps of one pitch merge."""
    by_pitch: dict[int, list[tuple[int, int]]] = {}
    for n in notes:
        if not 0 <= n.pitch < N_PITCHES:
            continue
        start = beats_to_ticks(n.start)
        end = max(beats_to_ticks(n.end), start + 1)
        by_pitch.setdefault(n.pitch, []).append((start, end))
    events: list[tuple[int, int, int]] = []
    for pitch, spans in by_pitch.items():
        spans.sort()
        merged: list[list[int]] = []
        for start, end in spans:
            if merged and start < merged[-1][1]:
                if start == merged[-1][0]:  # two onsets on one tick: one note
                    merged[-1][1] = max(merged[-1][1], end)
                    continue
                merged[-1][1] = start  # the key struck again before release: retrigger
            merged.append([start, end])
        for start, end in merged:
            events.append((start, 1, pitch))
            events.append((end, 0, pitch))
    events.sort()
    return events


def encode_notes(notes: Iterable[Note], start_tick: int = 0) -> list[int]:
    """The batch encoding of ``notes``, with time counted from ``start_tick``."""
    tokens: list[int] = []
    now = start_tick
    for tick, kind, pitch in _grid_events(notes):
        if tick > now:
            tokens.extend(shift_tokens(tick - now))
            now = tick
        tokens.append(on_token(pitch) if kind else off_token(pitch))
    return tokens


class StreamEncoder:
    """Live messages in, tokens out, one message at a time and without look-ahead.

    Times are in beats on the session's clock. A note-off that arrives on the tick of its own note-on is held back
    one tick (it becomes a one-tick note, as in :func:`encode_notes`); it is released by the next message or by
    :meth:`advance`. Note-offs for notes that are not sounding yield nothing; a note-on for a sounding pitch closes
    it first.
    """

    def __init__(self, start_tick: int = 0) -> None:
        self.tick = start_tick
        self.sounding: dict[int, int] = {}  # pitch -> tick of its onset
        self._held_offs: list[int] = []  # pitches whose off waits for the next tick

    def _move_to(self, tick: int) -> list[int]:
        out: list[int] = []
        if self._held_offs and tick > self.tick:
            out.extend(shift_tokens(1))
            self.tick += 1
            for pitch in sorted(self._held_offs):
                out.append(off_token(pitch))
                del self.sounding[pitch]
            self._held_offs.clear()
        if tick > self.tick:
            out.extend(shift_tokens(tick - self.tick))
            self.tick = tick
        return out

    def note_on(self, pitch: int, beats: float) -> list[int]:
        if not 0 <= pitch < N_PITCHES:
            return []
        tick = max(beats_to_ticks(beats), self.tick)
        out = self._move_to(tick)
        if pitch in self.sounding:
            if pitch in self._held_offs or self.sounding[pitch] == self.tick:
                return out  # struck twice on one tick: one note
            out.append(off_token(pitch))
        self.sounding[pitch] = self.tick
        out.append(on_token(pitch))
        return out

    def note_off(self, pitch: int, beats: float) -> list[int]:
        if pitch not in self.sounding or pitch in self._held_offs:
            return []
        tick = max(beats_to_ticks(beats), self.tick)
        out = self._move_to(tick)
        if self.sounding.get(pitch) == self.tick:
            self._held_offs.append(pitch)
            return out
        del self.sounding[pitch]
        out.append(off_token(pitch))
        return out

    def advance(self, beats: float) -> list[int]:
        """Move time on to ``beats`` (releasing held note-offs); used before the model takes over."""
        return self._move_to(max(beats_to_ticks(beats), self.tick))

    def observe(self, tokens: Sequence[int]) -> None:
        """Follow tokens that were produced elsewhere (the model's answer) so time and sounding notes stay right."""
        for token in tokens:
            if is_shift(token):
                self._move_to(self.tick + shift_ticks(token))
            elif is_on(token):
                self.sounding[token_pitch(token)] = self.tick
            elif is_off(token):
                self.sounding.pop(token_pitch(token), None)


def decode(tokens: Iterable[int], start_tick: int = 0, velocity: int = 80) -> list[Note]:
    """Notes (times in beats) from tokens; notes still sounding at the end close at the last time reached."""
    now = start_tick
    open_notes: dict[int, int] = {}
    notes: list[Note] = []
    for token in tokens:
        if is_shift(token):
            now += shift_ticks(token)
        elif is_on(token):
            pitch = token_pitch(token)
            if pitch in open_notes:
                notes.append(_note(open_notes.pop(pitch), now, pitch, velocity))
            open_notes[pitch] = now
        elif is_off(token):
            pitch = token_pitch(token)
            if pitch in open_notes:
                notes.append(_note(open_notes.pop(pitch), now, pitch, velocity))
    for pitch, start in open_notes.items():
        notes.append(_note(start, max(now, start + 1), pitch, velocity))
    notes.sort()
    return notes


def _note(start: int, end: int, pitch: int, velocity: int) -> Note:
    return Note(start / TICKS_PER_BEAT, max(end, start + 1) / TICKS_PER_BEAT, pitch, velocity)


def phases(tokens: Sequence[int], start_tick: int = 0) -> list[int]:
    """For each token, the position within the beat (0..11) after that token: a side input of the model."""
    out = []
    now = start_tick
    for token in tokens:
        now += shift_ticks(token)
        out.append(now % TICKS_PER_BEAT)
    return out


def transpose(tokens: Sequence[int], semitones: int) -> list[int]:
    """Tokens moved by ``semitones``; raises ValueError when a note would leave 0..127."""
    out = []
    for token in tokens:
        if is_on(token) or is_off(token):
            pitch = token_pitch(token) + semitones
            if not 0 <= pitch < N_PITCHES:
                raise CodecError(f"transposing by {semitones} moves a note out of MIDI range")
            out.append(token + semitones)
        else:
            out.append(token)
    return out
