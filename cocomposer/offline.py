"""`cocomposer continue IN.mid -o OUT.mid`: continue a phrase from a MIDI file, offline and reproducibly.

The answer is counted in bars of the file's own time signature (4/4 when it has none), starts on the first bar line
after the phrase ends (or the first beat, with ``quantize="beat"``), ends on a bar line with every note closed, and
is written with the file's tempo and time signature. The model hears the meter and the position in the bar, with
bar lines where the file has them (from its start).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cocomposer import codec
from cocomposer.errors import ConfigError
from cocomposer.generate import Continuation, continue_from, prime
from cocomposer.keys import find_key, parse_key, pitch_class_histogram
from cocomposer.midifile import read_phrase, write_tracks
from cocomposer.model import OnnxModel
from cocomposer.sampling import Controls

CONTINUATION_TRACK = "cocomposer continuation"
PROMPT_TRACK = "prompt"
MAX_PROMPT_NOTES = 4000  # the model's context: the last notes of a very long file


@dataclass(frozen=True)
class OfflineResult:
    prompt: list[codec.Note]
    continuation: Continuation
    bpm: float
    style: str
    mood: str
    meter: codec.Meter


def mood_of(notes: list[codec.Note]) -> str:
    """'major' or 'minor' from the notes' key (Krumhansl-Schmuckler), 'major' when unclear."""
    key = find_key(pitch_class_histogram((n.pitch for n in notes), (n.end - n.start for n in notes)))
    return key.mode if key else "major"


def continue_notes(
    model: OnnxModel,
    prompt: list[codec.Note],
    bars: float,
    controls: Controls,
    style: str,
    mood: str,
    seed: int,
    meter: codec.Meter = codec.COMMON_TIME,
    key_lock: str = "off",
    quantize: str = "bar",
) -> tuple[Continuation, str]:
    """``bars`` bars of ``meter`` continuing ``prompt`` (bar lines at beat 0 and every bar after), from the first bar
    line (``quantize="bar"``) or beat (``"beat"``) after its last note ends; ends on a bar line of its own."""
    if bars <= 0:
        raise ConfigError(f"an answer needs at least one bar; got --bars {bars:g}")
    if quantize not in ("bar", "beat"):
        raise ConfigError(f"quantize must be bar or beat, got {quantize!r}")
    prompt = prompt[-MAX_PROMPT_NOTES:]
    resolved_mood = mood_of(prompt) if mood == "auto" else mood
    histogram = pitch_class_histogram((n.pitch for n in prompt), (n.end - n.start for n in prompt))
    key = find_key(histogram)
    if mood != "auto" and key is not None:
        controls = controls.with_(mood_key=find_key(histogram, mood))
    if key_lock == "auto":
        controls = controls.with_(key=key)
    elif key_lock != "off":
        controls = controls.with_(key=parse_key(key_lock))
    model.set_style(style)
    model.set_mood(resolved_mood)
    model.set_meter(meter, 0)
    bar = meter.bar_beats
    first = math.floor(min(n.start for n in prompt) / bar + 1e-9) * bar  # whole bars, so bar lines stay bar lines
    shifted = [codec.Note(n.start - first, n.end - first, n.pitch, n.velocity) for n in prompt]
    encoder = prime(model, shifted)
    last = max(n.end for n in shifted)
    unit = bar if quantize == "bar" else 1.0
    start = math.ceil(last / unit - 1e-9) * unit
    # Whole bars: an answer that starts on a beat ends on the bar line at least ``bars`` bars later.
    end = math.ceil((start + bars * bar) / bar - 1e-9) * bar
    velocity = int(round(np.mean([n.velocity for n in prompt])))
    answer = continue_from(
        model, encoder, controls, np.random.default_rng(seed), end - start, start_beat=start, velocity=velocity
    )
    notes = [codec.Note(n.start + first, n.end + first, n.pitch, n.velocity) for n in answer.notes]
    return Continuation(answer.tokens, notes, answer.start_tick, answer.end_tick), resolved_mood


def continue_file(
    source: Path,
    target: Path,
    bars: float = 4,
    style: str = "folk",
    mood: str = "auto",
    controls: Controls | None = None,
    seed: int = 0,
    model_path: Path | None = None,
    key_lock: str = "off",
    quantize: str = "bar",
) -> OfflineResult:
    """``key_lock``: "off", "auto" (the prompt's key) or a key such as "D minor"; ``bars`` of the file's meter."""
    phrase = read_phrase(source)
    model = OnnxModel.load(model_path)
    answer, resolved = continue_notes(
        model,
        phrase.notes,
        bars,
        controls or Controls(),
        style,
        mood,
        seed,
        meter=phrase.meter,
        key_lock=key_lock,
        quantize=quantize,
    )
    tracks = [(PROMPT_TRACK, phrase.notes, 0), (CONTINUATION_TRACK, answer.notes, 1)]
    write_tracks(target, tracks, bpm=phrase.bpm, meter=phrase.meter)
    return OfflineResult(phrase.notes, answer, phrase.bpm, style, resolved, phrase.meter)
