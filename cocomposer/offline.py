"""`cocomposer continue IN.mid -o OUT.mid`: continue a phrase from a MIDI file, offline and reproducibly."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cocomposer import codec
from cocomposer.generate import Continuation, continue_from, prime
from cocomposer.keys import find_key, parse_key, pitch_class_histogram
from cocomposer.midifile import read_notes, write_tracks
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
    beats_per_bar: int = 4,
    key_lock: str = "off",
) -> tuple[Continuation, str]:
    """The continuation of ``prompt``, starting on the first beat after its last note ends."""
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
    first = math.floor(min(n.start for n in prompt))
    shifted = [codec.Note(n.start - first, n.end - first, n.pitch, n.velocity) for n in prompt]
    encoder = prime(model, shifted)
    start = math.ceil(max(n.end for n in shifted) - 1e-9)
    velocity = int(round(np.mean([n.velocity for n in prompt])))
    answer = continue_from(
        model, encoder, controls, np.random.default_rng(seed), bars * beats_per_bar, start_beat=start, velocity=velocity
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
) -> OfflineResult:
    """``key_lock``: "off", "auto" (the prompt's key) or a key such as "D minor"."""
    prompt, bpm = read_notes(source)
    model = OnnxModel.load(model_path)
    answer, resolved = continue_notes(model, prompt, bars, controls or Controls(), style, mood, seed, key_lock=key_lock)
    write_tracks(target, [(PROMPT_TRACK, prompt, 0), (CONTINUATION_TRACK, answer.notes, 1)], bpm=bpm)
    return OfflineResult(prompt, answer, bpm, style, resolved)
