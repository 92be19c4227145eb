"""The generator worker: the only thread that runs the model.

It listens (feeds the player's notes into the model, one token at a time, as they arrive) and plays (samples
answers and hands each finished note to the scheduler at once). Jobs come through a bounded queue. No lock is held
around a model step; the one small lock guards "is this answer still wanted?" against the engine cancelling it.

The model hears one timeline: the player's notes and its own answers, interleaved as they sound. A planned answer
the player interrupts is rewound: the model returns to its state before the answer and hears only the part that
actually sounded, then the player's new notes.
"""

from __future__ import annotations

import copy
import queue
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from cocomposer import codec
from cocomposer.generate import continue_from
from cocomposer.model import ModelState, OnnxModel
from cocomposer.sampling import Controls
from cocomposer.scheduler import ScheduledNote

JOB_QUEUE_SIZE = 4096


@dataclass(frozen=True)
class Listen:
    """A player's note message (kind 'on' or 'off') at a beat of the session clock."""

    kind: str
    pitch: int
    beat: float


@dataclass(frozen=True)
class Answer:
    request_id: int
    start_beat: float
    beats: float
    tag: str
    channel: int
    controls: Controls
    velocity: int | Callable[[float], int]
    style: str
    mood: str
    replace: bool = True


@dataclass
class _Plan:
    """An answer the model has sampled ahead of time, kept so it can be rewound if interrupted."""

    tag: str
    model_before: ModelState
    encoder_before: codec.StreamEncoder
    tokens: list[int]
    start_tick: int
    end_tick: int


class Generator:
    def __init__(
        self,
        model: OnnxModel,
        schedule: Callable[[list[ScheduledNote], int], bool],
        emit: Callable[[str, dict], None],
        seed: int | None = None,
    ) -> None:
        """``schedule(notes, request_id)`` hands notes to the scheduler and returns False once that request was
        cancelled (the generator then stops sampling it); ``emit(kind, data)`` reports to the engine's hooks."""
        self.model = model
        self.schedule = schedule
        self.emit = emit
        self.rng = np.random.default_rng(seed)
        self.jobs: queue.Queue = queue.Queue(maxsize=JOB_QUEUE_SIZE)
        self.encoder = codec.StreamEncoder()
        self.plan: _Plan | None = None
        self.step_seconds: deque[float] = deque(maxlen=2000)
        self.dropped_jobs = 0
        self._thread = threading.Thread(target=self._run, name="cocomposer-generator", daemon=True)
        self._stop = threading.Event()
        self.idle = threading.Event()
        self.idle.set()

    # -- the engine's side -----------------------------------------------------------------------------------------
    def start(self) -> None:
        self._thread.start()

    def submit(self, job: object) -> None:
        try:
            self.idle.clear()
            self.jobs.put_nowait(job)
        except queue.Full:
            self.dropped_jobs += 1

    def stop(self, timeout: float = 2.0) -> None:
        self._stop.set()
        self.jobs.put(None)
        self._thread.join(timeout)

    # -- the worker ------------------------------------------------------------------------------------------------
    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                job = self.jobs.get(timeout=0.5)
            except queue.Empty:
                self.idle.set()
                continue
            if job is None:
                break
            try:
                if isinstance(job, Listen):
                    self._listen(job)
                elif isinstance(job, Answer):
                    self._answer(job)
                elif callable(job):
                    job(self)
            except Exception as err:
                self.emit("error", {"where": "generator", "message": f"{type(err).__name__}: {err}"})
            if self.jobs.empty():
                self.idle.set()

    def _step_all(self, tokens: list[int]) -> None:
        for token in tokens:
            started = time.perf_counter()
            self.model.step(token)
            self.step_seconds.append(time.perf_counter() - started)

    def _rewind_to(self, tick: int) -> None:
        """Forget the part of the outstanding plan after ``tick``: it never sounded."""
        plan = self.plan
        if plan is None:
            return
        self.plan = None
        if tick >= plan.end_tick:
            return
        self.model.restore(plan.model_before)
        self.encoder = plan.encoder_before
        played: list[int] = []
        now = plan.start_tick
        for token in plan.tokens:
            if codec.is_shift(token):
                if now + codec.shift_ticks(token) > tick:
                    if tick > now:
                        played.extend(codec.shift_tokens(tick - now))
                    break
                now += codec.shift_ticks(token)
            played.append(token)
        self._step_all(played)
        self.encoder.observe(played)
        # Notes of the plan still sounding at the cut: the scheduler closed them, so the model hears them close.
        opened = {codec.token_pitch(t) for t in played if codec.is_on(t)}
        closing = [codec.off_token(p) for p in sorted(opened & set(self.encoder.sounding))]
        self._step_all(closing)
        self.encoder.observe(closing)

    def _listen(self, job: Listen) -> None:
        tick = codec.beats_to_ticks(job.beat)
        if self.plan is not None:
            self._rewind_to(tick)
        if job.kind == "on":
            tokens = self.encoder.note_on(job.pitch, job.beat)
        else:
            tokens = self.encoder.note_off(job.pitch, job.beat)
        self._step_all(tokens)

    def _answer(self, job: Answer) -> None:
        started = time.perf_counter()
        if self.plan is not None:
            if job.replace:
                self._rewind_to(codec.beats_to_ticks(job.start_beat))
            else:
                self.plan = None  # appended plans keep what was planned before them
        self.model.set_style(job.style)
        self.model.set_mood(job.mood)
        lead = self.encoder.advance(job.start_beat)
        self._step_all(lead)
        before_model, before_encoder = self.model.snapshot(), copy.deepcopy(self.encoder)
        start_tick = self.encoder.tick
        offset = job.start_beat - start_tick / codec.TICKS_PER_BEAT  # off-grid starts (quantize off) keep their time
        wanted = [True]
        first = [True]

        def velocity_at(beat: float) -> int:
            return job.velocity(beat) if callable(job.velocity) else job.velocity

        def on_note(note: codec.Note) -> None:
            if not wanted[0]:
                return
            beat = note.start + offset
            scheduled = ScheduledNote(beat, note.end + offset, note.pitch, velocity_at(beat), job.channel, job.tag)
            if not self.schedule([scheduled], job.request_id):
                wanted[0] = False
                return
            if first[0]:
                first[0] = False
                self.emit("first_note", {"request_id": job.request_id, "seconds": time.perf_counter() - started})

        steps_before = self.model.steps
        result = continue_from(
            self.model,
            self.encoder,
            job.controls,
            self.rng,
            job.beats,
            should_stop=lambda: not wanted[0],
            on_note=on_note,
        )
        self.step_seconds.extend([(time.perf_counter() - started) / max(1, self.model.steps - steps_before)])
        self.plan = _Plan(job.tag, before_model, before_encoder, result.tokens, start_tick, result.end_tick)
        self.emit(
            "answer_planned",
            {
                "request_id": job.request_id,
                "tag": job.tag,
                "notes": len(result.notes),
                "end_beat": result.end_tick / codec.TICKS_PER_BEAT + offset,
                "seconds": time.perf_counter() - started,
                "cancelled": not wanted[0],
            },
        )
