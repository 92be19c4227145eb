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

from cocomposer.app.takes import now_iso
from cocomposer.model.continuation import Continuation, Conversation, continue_notes
from cocomposer.model.facts import base_record
from cocomposer.model.runtime import OnnxModel
from cocomposer.model.sampling import Controls
from cocomposer.music import codec, provenance
from cocomposer.music.midifile import read_phrase

CONTINUATION_TRACK = "cocomposer continuation"
PROMPT_TRACK = "prompt"


@dataclass(frozen=True)
class OfflineResult:
    prompt: list[codec.Note]
    continuation: Continuation
    bpm: float
    style: str
    mood: str
    meter: codec.Meter


def continue_file(
    source: Path,
    target: Path,
    bars: float | None = 4,
    style: str = "folk",
    mood: str = "auto",
    controls: Controls | None = None,
    seed: int = 0,
    model_path: Path | None = None,
    key_lock: str = "off",
    quantize: str = "bar",
    conversation: Conversation | None = None,
) -> OfflineResult:
    """``key_lock``: "off", "auto" (the prompt's key) or a key such as "D minor"; ``bars`` of the file's meter
    (None: as many as the phrase spans); ``conversation``: how the answer follows its call (see
    :class:`cocomposer.model.continuation.Conversation`)."""
    phrase = read_phrase(source)
    model = OnnxModel.load(model_path)
    controls = controls or Controls()
    conversation = conversation or Conversation()
    answer, resolved = continue_notes(
        model,
        phrase.notes,
        bars,
        controls,
        style,
        mood,
        seed,
        meter=phrase.meter,
        key_lock=key_lock,
        quantize=quantize,
        conversation=conversation,
    )
    settings = {
        "input": source.name, "bars": "auto" if bars is None else bars, "style": style, "mood": mood,
        "mood_played": resolved, "key": key_lock, "quantize": quantize, "temperature": controls.temperature,
        "top_p": controls.top_p, "density": controls.density, "mimic": controls.mimic,
        "cadence": conversation.cadence, "register": "call" if conversation.follow_call else "wide",
    }  # fmt: skip
    record = base_record("continue", model_path, seed, settings)
    tracks = [
        (PROMPT_TRACK, phrase.notes, 0, provenance.PLAYER),
        (CONTINUATION_TRACK, answer.notes, 1, provenance.GENERATED),
    ]
    bar = phrase.meter.bar_beats
    first = math.floor(min(n.start for n in phrase.notes) / bar + 1e-9) * bar  # continue_notes counts from here
    start = first + answer.start_tick / codec.TICKS_PER_BEAT
    markers = [(start, "cocomposer continues here")]
    provenance.save(target, tracks, record, phrase.bpm, phrase.meter, now_iso(), markers)
    return OfflineResult(phrase.notes, answer, phrase.bpm, style, resolved, phrase.meter)
