"""The conversation half of the musical benchmark: its conditions and its figures per answer and pooled.

Three conditions answer every prompt in the same run:

* ``default``: what a player gets (``mimic`` and ``cadence`` at their defaults, the call's register, voices and
  swing followed, ``bars`` as asked);
* ``network``: the network alone (mimic 0, cadence 0, no call shape: the model as it was before conversing);
* ``continuator``: the player model alone (network muted: flat logits), Pachet's Continuator in our vocabulary.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from cocomposer.model.continuation import DEFAULT_CADENCE, Conversation
from cocomposer.model.runtime import OnnxModel
from cocomposer.model.sampling import DEFAULT_MIMIC, Controls, sample_token
from cocomposer.music import codec, dialogue
from cocomposer.music.metrics import key_of
from cocomposer.music.midifile import Phrase

BASS_BELOW = 55  # a prompt whose median pitch is below G3 is a bass part
SWUNG_PROMPT = 0.5  # a prompt with at least this share of late off-beats is swung
MOTIF_TARGET = 2.5
SWING_TARGET = 0.7
REGISTER_TARGET = 3.0
BASS_RANGE_TARGET = 0.8
CADENCE_TARGET = 0.5
ECHO_TARGET = 0.2


class _Muted:
    """The network muted: every step's logits flat, so the player model alone chooses (the Continuator)."""

    def __init__(self, model: OnnxModel) -> None:
        self._model = model
        self._flat = np.zeros(codec.VOCAB_SIZE)

    def __getattr__(self, name: str) -> object:
        return getattr(self._model, name)

    def sample(self, controls, rng, sounding=(), closable=None, onsets=True, lean=None) -> int:
        if closable is not None and not isinstance(closable, Mapping):
            closable = frozenset(closable)
        return sample_token(self._flat, controls, rng, frozenset(sounding), closable, onsets, lean)


@dataclass(frozen=True)
class Condition:
    mimic: float
    conversation: Conversation = field(default_factory=Conversation)
    muted: bool = False

    def controls(self, base: Controls) -> Controls:
        return base.with_(mimic=self.mimic)

    def wrap(self, model: OnnxModel) -> OnnxModel:
        return _Muted(model) if self.muted else model  # type: ignore[return-value]


_OFF = Conversation(follow_call=False, cadence=0.0, groove=False, learn_call=False)
CONDITIONS: dict[str, Condition] = {
    "default": Condition(DEFAULT_MIMIC, Conversation(cadence=DEFAULT_CADENCE)),
    "network": Condition(0.0, _OFF),
    "continuator": Condition(1.0, Conversation(follow_call=False, cadence=0.0, groove=False), muted=True),
}


@dataclass(frozen=True)
class DialogueFigures:
    """One answer against its call."""

    intervals: list[tuple[int, ...]]
    rhythms: list[tuple[int, ...]]
    swing: float
    syncopation: float
    within_range: float
    cadence: bool | None
    echo: float

    @classmethod
    def of(
        cls, answer: Sequence[codec.Note], prompt: Sequence[codec.Note], meter: codec.Meter, start: float, end: float
    ) -> DialogueFigures:
        return cls(
            intervals=dialogue.interval_grams(answer),
            rhythms=dialogue.rhythm_grams(answer),
            swing=dialogue.swing_share(answer),
            syncopation=dialogue.syncopation_share(answer),
            within_range=dialogue.within_range(answer, prompt),
            cadence=dialogue.ends_on_tonic_chord(answer, key_of(prompt)),
            echo=dialogue.echo_share(answer, prompt, meter.bar_beats, start, end),
        )


def _mean(values: Sequence[float | bool | None]) -> float:
    kept = [float(v) for v in values if v is not None and not (isinstance(v, float) and math.isnan(v))]
    return float(np.mean(kept)) if kept else float("nan")


ARTICULATIONS = ("_legato", "_detached", "_staccato")


def family(name: str) -> str:
    """Prompts that are one melody played three ways (ode_legato, ode_detached, ...) are one family."""
    return next((name.removesuffix(a) for a in ARTICULATIONS if name.endswith(a)), name)


def motif_relation(answers: dict[str, list[DialogueFigures]], phrases: dict[str, Phrase]) -> dict:
    """4-grams an answer shares with its own prompt against those it shares with the other prompts (not the same
    melody played another way, whose 4-grams are its own)."""
    grams = {name: (dialogue.interval_grams(p.notes), dialogue.rhythm_grams(p.notes)) for name, p in phrases.items()}
    out = {}
    for kind, index in (("interval", 0), ("rhythm", 1)):
        own, other = [], []
        for name, figures in answers.items():
            for f in figures:
                mine = f.intervals if index == 0 else f.rhythms
                own.append(dialogue.shared(mine, grams[name][index]))
                other.append(
                    _mean([dialogue.shared(mine, g[index]) for n, g in grams.items() if family(n) != family(name)])
                )
        own_share, other_share = _mean(own), _mean(other)
        out[kind] = {
            "own": own_share,
            "other": other_share,
            "ratio": own_share / other_share if other_share > 0 else float("inf") if own_share > 0 else float("nan"),
        }
    return out


def dialogue_summary(answers: dict[str, list[DialogueFigures]], phrases: dict[str, Phrase]) -> dict:
    swung = [n for n, p in phrases.items() if (dialogue.swing_share(p.notes) or 0) >= SWUNG_PROMPT]
    bass = [n for n, p in phrases.items() if np.median([x.pitch for x in p.notes]) < BASS_BELOW]
    syncopated = [n for n, p in phrases.items() if dialogue.syncopation_share(p.notes) >= 0.2]
    return {
        "swung_prompts": swung,
        "swing_kept": _mean([f.swing for n in swung for f in answers[n]]),
        "syncopated_prompts": {
            n: {
                "call": dialogue.syncopation_share(phrases[n].notes),
                "answer": _mean([f.syncopation for f in answers[n]]),
            }
            for n in syncopated
        },
        "bass_prompts": bass,
        "bass_within_range": _mean([f.within_range for n in bass for f in answers[n]]),
        "cadence": _mean([f.cadence for figures in answers.values() for f in figures]),
        "echo": _mean([f.echo for figures in answers.values() for f in figures]),
    }


def conversation_targets(report: dict) -> dict[str, bool]:
    c = report["conversation"]
    sync_ok = all(abs(v["answer"] - v["call"]) <= v["call"] / 2 for v in c["syncopated_prompts"].values())
    return {
        f"motif 4-grams own/other >= {MOTIF_TARGET:g}x (interval and rhythm)": min(
            c["motif"]["interval"]["ratio"], c["motif"]["rhythm"]["ratio"]
        )
        >= MOTIF_TARGET,
        f"swung off-beats kept >= {SWING_TARGET:.0%}": c["swing_kept"] >= SWING_TARGET,
        "syncopation within half of the call's": sync_ok,
        f"|median register shift| <= {REGISTER_TARGET:g}": abs(report["pooled"]["register_shift"]) <= REGISTER_TARGET,
        f"bass answers within the call's range +-5 >= {BASS_RANGE_TARGET:.0%}": c["bass_within_range"]
        >= BASS_RANGE_TARGET,
        f"ends on the tonic chord >= {CADENCE_TARGET:.0%}": c["cadence"] >= CADENCE_TARGET,
        f"2-bar echoes <= {ECHO_TARGET:.0%}": c["echo"] <= ECHO_TARGET,
    }
