"""What the generator worker keeps of the answers it sampled: plans to rewind, and the draft it holds."""

from __future__ import annotations

from dataclasses import dataclass

from cocomposer.engine.jobs import Answer
from cocomposer.model.continuation import Continuer
from cocomposer.model.runtime import ModelState
from cocomposer.music import codec


@dataclass
class Drafted:
    """A draft being held: the model's and encoder's state before it, and the paused sampler."""

    job: Answer
    model_before: ModelState
    encoder_before: codec.StreamEncoder
    plan_tick: int
    lead: list[int]
    sampler: Continuer
    conditioning: tuple[int, int] = (0, 0)  # the model's style and mood before (a discarded draft leaves them)


@dataclass
class Plan:
    """An answer the model has sampled ahead of time, kept so it can be rewound if interrupted."""

    tag: str
    request_id: int
    model_before: ModelState
    encoder_before: codec.StreamEncoder
    tokens: list[int]  # from start_tick: the silence before the answer, then the answer
    start_tick: int
    end_tick: int
    swing: float = 0.0  # the player hears it swung (see shape.swing); the model's timeline is straight
