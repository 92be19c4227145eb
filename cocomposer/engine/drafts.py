"""The engine's side of drafts: asking the generator to sample an answer before the phrase is known to have ended.

While the player is silent in the middle of a phrase (no key held, the mode listening), the engine asks the
generator for a :class:`~cocomposer.engine.worker.Draft` of the answer the mode would ask for if the phrase ended
now, and again whenever that answer would start on another tick of the model's grid (every 1/12 beat with quantize
off; at the next beat or bar line otherwise). When the phrase end is confirmed (the silence elapsed, the
end-of-phrase CC, a trigger), the answer takes the draft over if nothing reached the generator since (a player's
note, a new meter, a relocation: each makes the generator discard it), the settings and the panel's likes are the
same, and it starts on the draft's tick. Then its first notes are already sampled, and the answer
starts ``DRAFT_LEAD_SECONDS`` after the phrase end instead of ``ANSWER_LEAD_SECONDS``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np

from cocomposer.engine.jobs import Answer, Draft
from cocomposer.engine.modes import RequestAnswer
from cocomposer.engine.settings import Settings
from cocomposer.engine.worker import Generator
from cocomposer.music import codec

DRAFT_LEAD_SECONDS = 0.001  # a drafted answer starts this long after the phrase end: handing its first notes over


def bias_of(preferences: object | None) -> np.ndarray | None:
    """The logit bias of the panel's likes (``preferences.bias()``), or None."""
    return preferences.bias() if preferences is not None else None  # type: ignore[attr-defined]


class Drafts:
    """Keeps one draft asked for at a time and says whether an answer can take it over."""

    def __init__(self, generator: Generator) -> None:
        self.generator = generator
        self.job: Answer | None = None  # the draft the generator was asked for, if it may still hold it
        self._mark = -1  # generator.submitted right after asking for it
        self._settings: Settings | None = None
        self._bias: np.ndarray | None = None
        self._next = 0
        self.asked = 0
        self.taken = 0
        self._drafting = False

    def short_lead(self, settings: Settings) -> bool:
        """Whether an answer asked for now may start ``DRAFT_LEAD_SECONDS`` after the phrase end: a draft is being
        planned, or the generator still holds one sampled under these settings."""
        return self._drafting or (
            self.job is not None and self.generator.submitted == self._mark and settings is self._settings
        )

    def current(self, settings: Settings) -> int | None:
        """The id of the draft an answer asked for now would take over (the generator holds it, sampled under
        ``settings``), or None."""
        return self.job.request_id if self.job is not None and self.short_lead(settings) else None

    def refresh(
        self,
        speculate: Callable[[], RequestAnswer | None],
        settings: Settings,
        bias: np.ndarray | None,
        build: Callable[[RequestAnswer, int], Answer],
    ) -> None:
        """Ask for a draft of ``speculate()`` (the answer if the phrase ended now; None: no phrase end in sight)
        unless the one held already starts on the same tick, lasts as long and was sampled under the same settings."""
        self._drafting = True  # the answer's start is planned with the draft's lead
        try:
            action = speculate()
        finally:
            self._drafting = False
        if action is None:
            self.job = None
            return
        if self._matches(action, settings, bias):
            return
        self._next += 1
        job = build(action, self._next)
        self.generator.submit(Draft(job))
        self.job, self._mark, self._settings, self._bias = job, self.generator.submitted, settings, bias
        self.asked += 1

    def take(
        self,
        action: RequestAnswer,
        request_id: int,
        settings: Settings,
        bias: np.ndarray | None,
        velocity: Callable[[float], int],
    ) -> Answer | None:
        """The answer job for ``action`` that takes the draft over (starting at ``action.start_beat``), or None."""
        job, self.job = self.job, None
        if job is None or not self._matches(action, settings, bias, job=job):
            return None
        self.taken += 1
        return dataclasses.replace(
            job,
            request_id=request_id,
            start_beat=action.start_beat,
            channel=action.channel,
            replace=action.replace,
            velocity=velocity,
            draft=job.request_id,
        )

    def _matches(
        self, action: RequestAnswer, settings: Settings, bias: np.ndarray | None, job: Answer | None = None
    ) -> bool:
        job = job or self.job
        if job is None or self.generator.submitted != self._mark or settings is not self._settings:
            return False
        same_bias = (bias is None and self._bias is None) or (
            bias is not None and self._bias is not None and np.array_equal(bias, self._bias)
        )
        # on the tick the draft starts on (the generator checks the same on the model's timeline)
        near = codec.beats_to_ticks(action.start_beat) == codec.beats_to_ticks(job.start_beat)
        return same_bias and near and action.tag == job.tag and abs(action.beats - job.beats) < 1e-9
