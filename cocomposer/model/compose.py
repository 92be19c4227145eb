"""Whole pieces with no prompt: a form of sections, each sampled from the model or repeated from an earlier one.

A form names its sections (``AABA``: A, A, B, A). The first time a section's label is heard it is sampled with
:func:`cocomposer.model.continuation.continue_from`, the model hearing everything before it. A later section with the
same label repeats the first one: its first bars are the earlier notes again (and the model hears them, so what
follows continues from them), and its last ``vary`` fraction of bars is sampled afresh under the player model
(:mod:`cocomposer.model.player`) that has learned the piece so far, weighted by ``controls.mimic``: a varied repeat
that borrows the earlier material's intervals and rhythms. The piece's last bar is always sampled, under a
:class:`cocomposer.model.shape.Cadence` (a second ending), so the piece closes on the key's tonic chord even when its
last section repeats an earlier one.

Everything is drawn from one ``numpy`` generator seeded by ``seed``: the same arguments give the same notes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from cocomposer.errors import ConfigError
from cocomposer.model.continuation import continue_from
from cocomposer.model.player import PlayerModel
from cocomposer.model.runtime import OnnxModel
from cocomposer.model.sampling import Controls
from cocomposer.model.shape import Cadence
from cocomposer.music import codec
from cocomposer.music.keys import Key, find_key, pitch_class_histogram

# Each form's sections as labels; "through" gets a new label every SECTION_BARS bars.
FORMS = {"AABA": ("A", "A", "B", "A"), "verse-chorus": ("verse", "chorus", "verse", "chorus"), "through": ()}
SECTION_BARS = 4
# The close of a whole piece: at 2.0, 120 of 120 pieces (3 forms x 2 moods x seeds 0..19, 16 bars) end on a
# tonic-chord tone in the last bar; at 1.0 (the default of `continue`, where the call matters more) 118 of 120.
COMPOSE_CADENCE = 2.0
VELOCITY = 80


@dataclass(frozen=True)
class Section:
    """``bars`` bars from bar ``start_bar``; ``repeat_of``: the index of the earlier section it repeats (or None)."""

    label: str
    start_bar: int
    bars: int
    repeat_of: int | None = None


@dataclass(frozen=True)
class Piece:
    notes: list[codec.Note]  # times in beats from 0
    sections: list[Section]
    key: Key | None  # the key the cadence closes in
    meter: codec.Meter
    kept_bars: dict[int, int] = field(default_factory=dict)  # section index -> bars repeated note for note


def plan_form(form: str, bars: int) -> list[Section]:
    """Split ``bars`` into the sections of ``form``. Repeated sections get equal lengths (so a repeat fits note for
    note); bars left over go to the first section heard once (AABA's B) or, where every section repeats, to an
    outro; ``through`` cuts the piece into 4-bar sections A, B, C, ... (the last one takes what is left)."""
    if form not in FORMS:
        raise ConfigError(f"unknown form {form!r}; choose one of {', '.join(FORMS)}")
    labels = FORMS[form]
    if not labels:
        count = max(1, bars // SECTION_BARS)
        labels = tuple(chr(ord("A") + i % 26) + ("'" * (i // 26)) for i in range(count))
    if bars < len(labels):
        raise ConfigError(
            f"form {form} has {len(labels)} sections, so it needs at least {len(labels)} bars; got {bars}"
        )
    each, extra = divmod(bars, len(labels))
    lengths = [each] * len(labels)
    once = [i for i, label in enumerate(labels) if labels.count(label) == 1]
    if extra and once:
        lengths[once[-1]] += extra
    elif extra:
        labels, lengths = (*labels, "outro"), [*lengths, extra]
    sections: list[Section] = []
    first: dict[str, int] = {}
    start = 0
    for i, (label, length) in enumerate(zip(labels, lengths, strict=True)):
        sections.append(Section(label, start, length, first.get(label)))
        first.setdefault(label, i)
        start += length
    return sections


def _events(notes: list[codec.Note]) -> list[tuple[float, int, codec.Note]]:
    """Note-ons and note-offs in time order, offs first on a shared time (a repeated pitch re-strikes)."""
    return sorted([(n.start, 1, n) for n in notes] + [(n.end, 0, n) for n in notes], key=lambda e: (e[0], e[1]))


def _hear(model: OnnxModel, encoder: codec.StreamEncoder, notes: list[codec.Note], until: float) -> None:
    """The model hears ``notes`` (already in the piece) as if it had played them, then silence up to ``until``."""
    for beat, is_on, n in _events(notes):
        tokens = encoder.note_on(n.pitch, beat) if is_on else encoder.note_off(n.pitch, beat)
        model.feed(tokens)
    model.feed(encoder.advance(until))


def _copy(notes: list[codec.Note], start: float, end: float, offset: float) -> list[codec.Note]:
    """The notes that start within [start, end), cut at ``end``, moved by ``offset`` beats."""
    out = []
    for n in notes:
        if start - 1e-9 <= n.start < end - 1e-9:
            out.append(codec.Note(n.start + offset, min(n.end, end) + offset, n.pitch, n.velocity))
    return out


def compose(
    model: OnnxModel,
    sections: list[Section],
    controls: Controls,
    style: str,
    mood: str,
    seed: int,
    meter: codec.Meter = codec.COMMON_TIME,
    key: Key | None = None,
    vary: float = 0.0,
    cadence: float = COMPOSE_CADENCE,
) -> Piece:
    """Sample the piece ``sections`` describe. ``key`` (None: the model's choice, found after the first section)
    locks note-ons to its scale and sets the cadence's key; ``vary`` (0..1) is the fraction of each repeated
    section's bars sampled afresh (0: note for note, but the last bar of the piece always closes anew)."""
    if not 0.0 <= vary <= 1.0:
        raise ConfigError(f"vary must be within 0..1 (the fraction of a repeated section sampled afresh), got {vary}")
    if not 0.0 <= cadence <= 4.0:
        raise ConfigError(f"cadence must be within 0..4 (0: no close), got {cadence}")
    if mood not in model.info.moods:
        raise ConfigError(f"mood must be one of {', '.join(model.info.moods)} for compose, got {mood!r}")
    model.set_style(style)
    model.set_mood(mood)
    model.set_meter(meter, 0)
    model.reset(0)
    encoder = codec.StreamEncoder(0)
    player = PlayerModel(meter=meter)
    rng = np.random.default_rng(seed)
    bar = meter.bar_beats
    if key is not None:
        controls = controls.with_(key=key, mood_key=key)
    piece: list[codec.Note] = []
    kept: dict[int, int] = {}
    total = sum(s.bars for s in sections)
    for index, section in enumerate(sections):
        start, end = section.start_bar * bar, (section.start_bar + section.bars) * bar
        last = index == len(sections) - 1
        keep = 0
        if section.repeat_of is not None:
            keep = section.bars - math.ceil(vary * section.bars - 1e-9)
            keep = min(keep, section.bars - 1) if last else keep
        if keep:
            source = sections[section.repeat_of]
            origin = source.start_bar * bar
            copied = _copy(piece, origin, origin + keep * bar, start - origin)
            _hear(model, encoder, copied, start + keep * bar)
            player.learn_notes(copied)
            piece.extend(copied)
            kept[index] = keep
        if keep == section.bars:
            continue
        begin = start + keep * bar
        mimic = player.context() if section.repeat_of is not None else None
        if last and key is None and not piece and end - begin > bar:
            # A piece of one section: sample all but its last bar first, so the cadence knows the key.
            body = continue_from(model, encoder, controls, rng, end - bar - begin, begin, VELOCITY, mimic=mimic)
            player.learn_notes(body.notes)
            piece.extend(body.notes)
            begin, mimic = end - bar, None
        if key is None and piece:
            found = find_key(pitch_class_histogram((n.pitch for n in piece), (n.end - n.start for n in piece)), mood)
            controls = controls.with_(mood_key=found)
        close = None
        close_key = key or controls.mood_key or (Key(0, "major") if mood == "major" else Key(9, "minor"))
        if last and cadence > 0:
            end_tick = codec.beats_to_ticks(total * bar)
            close = Cadence(close_key, cadence, meter, end_tick, 0, codec.beats_to_ticks(begin))
        answer = continue_from(model, encoder, controls, rng, end - begin, begin, VELOCITY, mimic=mimic, cadence=close)
        player.learn_notes(answer.notes)
        piece.extend(answer.notes)
    piece.sort()
    final_key = key or controls.mood_key
    return Piece(piece, sections, final_key, meter, kept)
