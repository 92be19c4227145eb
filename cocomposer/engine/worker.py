"""The generator worker: the only thread that runs the model.

It listens (feeds the player's notes into the model, one token at a time, as they arrive) and plays (samples
answers and hands each finished note to the scheduler at once). Jobs come through a bounded queue. No lock is held
around a model step; the one small lock guards "is this answer still wanted?" against the engine cancelling it.

The model hears one timeline: the player's notes and its own answers, interleaved as they sound. Answers are sampled
ahead of time (plans), so a player's note usually arrives while the model is already past it. Then the model returns
to its state before the plan and hears the part that sounded, then the player's note, and then:

* nothing more if the plan was cancelled (barge-in, panic, a replan): the rest never sounds;
* the rest of the plan again if it plays on (barge-in off, an accompaniment between replans).

Drafts: while the player is silent in the middle of a phrase, the engine keeps asking for a :class:`Draft` of the
answer it would ask for if the phrase ended now (again whenever that answer would start on another tick). The worker
samples the draft's first note and pauses, holding the model as it stands. When the phrase end is confirmed (silence,
the end-of-phrase CC, a trigger), the :class:`Answer` names the draft, and the worker hands over the notes already
sampled and samples on from there: the first note is waiting. Any other job (a player's note, a new meter, ...)
first puts the model back as it was before the draft, which nobody heard.
"""

from __future__ import annotations

import copy
import dataclasses
import math
import queue
import threading
import time
from collections import deque
from collections.abc import Callable

import numpy as np

from cocomposer.engine.events import AnswerPlanned, DraftOnsets, EngineError, Event, FirstNote
from cocomposer.engine.jobs import Answer, Draft, ForgetPlayer, Listen, Relocate, SetMeter
from cocomposer.engine.plans import Drafted, Plan
from cocomposer.engine.reflex import opening
from cocomposer.engine.scheduler import ScheduledNote
from cocomposer.model.continuation import Continuer
from cocomposer.model.player import PlayerModel
from cocomposer.model.runtime import OnnxModel
from cocomposer.model.shape import Cadence, Groove, swing, unswung_tick
from cocomposer.music import codec

JOB_QUEUE_SIZE = 10_000  # jobs waiting for the worker; beyond this they are dropped and counted in dropped_jobs
MAX_PLANS = 64  # appended plans kept for rewinding; older ones count as played
DRAFT_TICKS = codec.TICKS_PER_BEAT  # a draft is sampled up to its first note-on (first finished note without early
# onsets), or this far into the answer


class Generator:
    def __init__(
        self,
        model: OnnxModel,
        schedule: Callable[[list[ScheduledNote], int], bool],
        emit: Callable[[Event], None],
        seed: int | None = None,
        wanted: Callable[[str, int], bool] | None = None,
        early_onsets: bool = False,
    ) -> None:
        """``schedule(notes, request_id)`` hands notes to the scheduler and returns False once that request was
        cancelled (the generator then stops sampling it); ``emit(event)`` reports to the engine's subscribers;
        ``wanted(tag, request_id)`` says whether an answer is still wanted: one that is not is no longer sampled, and
        a player's note rewinds it (without ``wanted``, answers are sampled until ``schedule`` refuses a note, and a
        player's note rewinds every plan). ``early_onsets``: each note is handed over as soon as its note-on is
        sampled (``end_beat`` ``math.inf``), then again with its end (see :mod:`cocomposer.engine.scheduler`);
        otherwise once, when its end is sampled."""
        self.model = model
        self.schedule = schedule
        self.emit = emit
        self.wanted = wanted
        self.seed = seed
        self.early_onsets = early_onsets
        self.answers = 0  # answers begun: the next one (or its draft) samples from its own seeded generator
        self.jobs: queue.Queue = queue.Queue(maxsize=JOB_QUEUE_SIZE)
        self.encoder = codec.StreamEncoder()
        self.player = PlayerModel()  # what the player played, learned here as it arrives (never on a timing thread)
        self.plans: list[Plan] = []  # sampled ahead, oldest first; each starts where the one before ended
        self.offset_ticks = 0  # the model's timeline minus the session clock's, in ticks (see Relocate)
        self.step_seconds: deque[float] = deque(maxlen=2000)
        self.dropped_jobs = 0
        self.submitted = 0
        self.draft: Drafted | None = None
        self.drafts = {"sampled": 0, "taken": 0, "discarded": 0}
        self._thread = threading.Thread(target=self._run, name="cocomposer-generator", daemon=True)
        self._stop = threading.Event()
        self.idle = threading.Event()
        self.idle.set()

    # -- the engine's side -----------------------------------------------------------------------------------------
    def start(self) -> None:
        self._thread.start()

    def submit(self, job: object) -> None:
        self.submitted += 1  # the engine tells from this whether a draft it asked for is still held
        try:
            self.idle.clear()
            self.jobs.put_nowait(job)
        except queue.Full:
            self.dropped_jobs += 1

    def stop(self, timeout: float = 2.0) -> None:
        """End the worker after the job it is running; safe before `start` and twice."""
        self._stop.set()
        try:
            self.jobs.put_nowait(None)
        except queue.Full:
            pass  # the worker sees the stop flag after its current job
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    @property
    def plan(self) -> Plan | None:
        """The newest plan not yet known to have sounded in full."""
        return self.plans[-1] if self.plans else None

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
                if not isinstance(job, Draft) and not (isinstance(job, Answer) and self._holds(job)):
                    self._discard_draft()
                if isinstance(job, Draft):
                    self._draft(job)
                elif isinstance(job, Listen):
                    self._listen(job)
                elif isinstance(job, SetMeter):
                    self.model.set_meter(job.meter, self.offset_ticks % job.meter.bar_ticks)
                    self.player.set_meter(job.meter)
                elif isinstance(job, ForgetPlayer):
                    self.player.reset()
                elif isinstance(job, Answer):
                    self._answer(job)
                elif isinstance(job, Relocate):
                    self._relocate(job)
                elif callable(job):
                    job(self)
            except Exception as err:
                self.emit(EngineError("generator", f"{type(err).__name__}: {err}"))
            if self.jobs.empty():
                self.idle.set()

    def _step_all(self, tokens: list[int]) -> None:
        for token in tokens:
            started = time.perf_counter()
            self.model.step(token)
            self.step_seconds.append(time.perf_counter() - started)

    def _cut_at(self, tick: int, hear: Callable[[], list[int]] | None = None) -> None:
        """Bring the model's timeline to ``tick`` within the outstanding plans: keep what sounded before it, hear
        the tokens ``hear()`` makes there (the player's), then the rest of the plans again if they still play."""
        if self.plans:  # a swung answer: where the player heard it, on the model's straight timeline
            tick = unswung_tick(tick, max(p.swing for p in self.plans))
        while self.plans and self.plans[0].end_tick <= tick:
            self.plans.pop(0)  # sounded in full: the model heard it as it was
        if not self.plans:
            if hear is not None:
                self._step_all(hear())
            return
        plans, self.plans = self.plans, []
        plays_on = self.wanted is not None and all(self.wanted(p.tag, p.request_id) for p in plans)
        self.model.restore(plans[0].model_before)
        self.encoder = copy.deepcopy(plans[0].encoder_before)
        tokens = [token for p in plans for token in p.tokens]  # each plan starts where the one before ended
        own: set[int] = set()  # pitches the plans hold on the model's timeline
        now, cut = plans[0].start_tick, len(tokens)
        for i, token in enumerate(tokens):  # the part that sounded, token for token as it was sampled
            if codec.is_shift(token):
                if now + codec.shift_ticks(token) > tick:
                    cut = i
                    break
                now += codec.shift_ticks(token)
            elif codec.is_on(token):
                if now >= tick and not plays_on:
                    cut = i  # due at the very moment of the cut: cancelled before it sounded
                    break
                own.add(codec.token_pitch(token))
            else:
                own.discard(codec.token_pitch(token))
            self._step_all([token])
            self.encoder.observe([token])
        later: list[tuple[int, int]] = []  # (tick, token) of the note tokens after the cut
        for token in tokens[cut:]:
            if codec.is_shift(token):
                now += codec.shift_ticks(token)
            else:
                later.append((now, token))
        if not plays_on:
            # The scheduler closed the plans' sounding notes when it cancelled them: the model hears them close.
            closing = [codec.off_token(p) for p in sorted(own & set(self.encoder.sounding))]
            if closing or hear is not None:
                self._step_advance(tick)
            self._step_all(closing)
            self.encoder.observe(closing)
            if hear is not None:
                self._step_all(hear())
            return
        if hear is not None:
            self._step_advance(tick)
            self._step_all(hear())
        own &= set(self.encoder.sounding)  # the player's note may have taken one of the plans' keys
        before_model, before_encoder, start_tick = self.model.snapshot(), copy.deepcopy(self.encoder), self.encoder.tick
        replayed: list[int] = []
        for t, token in later:
            replayed.extend(self._replay(t, token, own))
        end_tick = max(p.end_tick for p in plans)
        replayed.extend(self._step_advance(end_tick))
        last = plans[-1]
        self.plans = [Plan(last.tag, last.request_id, before_model, before_encoder, replayed, start_tick, end_tick)]

    def _replay(self, tick: int, token: int, own: set[int]) -> list[int]:
        """Move the model on to ``tick`` and hear one note token of a plan, unless the player changed that key."""
        out = self._step_advance(tick)
        pitch = codec.token_pitch(token)
        if codec.is_on(token):
            if pitch in self.encoder.sounding:
                return out
            own.add(pitch)
        elif pitch in own:
            own.discard(pitch)
        else:
            return out
        self._step_all([token])
        self.encoder.observe([token])
        return [*out, token]

    def _step_advance(self, tick: int) -> list[int]:
        tokens = self.encoder.advance(tick / codec.TICKS_PER_BEAT)
        self._step_all(tokens)
        return tokens

    def _relocate(self, job: Relocate) -> None:
        old = codec.beats_to_ticks(job.old) + self.offset_ticks
        self._cut_at(old)  # the engine cancelled the plans: the model keeps what sounded before the jump
        bar = self.model.meter.bar_ticks
        behind = max(old, self.encoder.tick) - codec.beats_to_ticks(job.new)
        self.offset_ticks = -(-behind // bar) * bar  # the fewest whole bars that keep the model's time going on

    def _listen(self, job: Listen) -> None:
        beat = job.beat + self.offset_ticks / codec.TICKS_PER_BEAT  # on the model's timeline
        if job.kind == "on":
            self.player.note_on(job.pitch, beat)
        else:
            self.player.note_off(job.pitch, beat)

        def player_tokens() -> list[int]:
            if job.kind == "on":
                return self.encoder.note_on(job.pitch, beat)
            return self.encoder.note_off(job.pitch, beat)

        self._cut_at(codec.beats_to_ticks(beat), player_tokens)

    def _model_beat(self, beat: float) -> float:
        return beat + self.offset_ticks / codec.TICKS_PER_BEAT

    def _start_tick(self, job: Answer) -> int:
        """The model tick at which ``job`` would start, from where the encoder stands now."""
        return max(codec.beats_to_ticks(self._model_beat(job.start_beat)), self.encoder.tick)

    def _holds(self, job: Answer) -> bool:
        """Whether the held draft is the one ``job`` takes over, starting on the same tick (the answer then plays
        from ``job.start_beat``, as one sampled afresh would)."""
        return (
            self.draft is not None
            and job.draft != 0
            and self.draft.job.request_id == job.draft
            and max(codec.beats_to_ticks(self._model_beat(job.start_beat)), self.draft.plan_tick)
            == self.draft.sampler.start_tick
        )

    def _discard_draft(self) -> None:
        """Put the model back as it was before the draft (nobody heard it)."""
        if self.draft is not None:
            self.model.restore(self.draft.model_before)
            self.model.style, self.model.mood = self.draft.conditioning
            self.encoder = self.draft.encoder_before
            self.draft = None
            self.drafts["discarded"] += 1

    def _begin(self, job: Answer) -> Drafted:
        """Move the model to ``job``'s start and make its sampler; the state before is kept for rewinding."""
        start_beat = self._model_beat(job.start_beat)
        conditioning = (self.model.style, self.model.mood)
        self.model.set_style(job.style)
        self.model.set_mood(job.mood)
        before_model, before_encoder = self.model.snapshot(), copy.deepcopy(self.encoder)
        plan_tick = self.encoder.tick
        lead = self.encoder.advance(start_beat)
        self._step_all(lead)
        start_tick = self.encoder.tick
        cadence = None
        if job.cadence > 0 and job.key is not None:
            end_tick = start_tick + codec.beats_to_ticks(job.beats)
            cadence = Cadence(job.key, job.cadence, self.model.meter, end_tick, self.model.bar_origin, start_tick)
        sampler = Continuer(
            self.model,
            self.encoder,
            job.controls,
            np.random.default_rng(None if self.seed is None else [self.seed, self.answers]),
            job.beats,
            mimic=self.player.context() if job.controls.mimic > 0 else None,
            cadence=cadence,
            groove=Groove(job.syncopation, self.model.bar_origin),
        )
        return Drafted(job, before_model, before_encoder, plan_tick, lead, sampler, conditioning)

    def _draft(self, job: Draft) -> None:
        self._discard_draft()  # a draft for another start
        if not self.jobs.empty():
            return  # a newer draft, or the player, is waiting: drafting this one would only hold them up
        tick = codec.beats_to_ticks(self._model_beat(job.answer.start_beat))
        while self.plans and self.plans[0].end_tick <= tick:
            self.plans.pop(0)  # sounded in full
        if self.plans:
            return  # an answer is still planned: the next one is asked for over it, not drafted
        drafted = self._begin(job.answer)
        sampler = drafted.sampler
        self.draft = drafted
        self.drafts["sampled"] += 1
        horizon = sampler.start_tick + DRAFT_TICKS
        steps_before, started = self.model.steps, time.perf_counter()
        try:
            sampler.run(pause=lambda: self._drafted_enough(sampler, horizon))
        except Exception:
            self._discard_draft()  # the model goes back as it was; the answer is sampled afresh
            raise
        self.step_seconds.append((time.perf_counter() - started) / max(1, self.model.steps - steps_before))
        if pitches := opening(sampler, job.answer.swing):
            self.emit(DraftOnsets(job.answer.request_id, pitches))

    def _drafted_enough(self, sampler: Continuer, horizon: int) -> bool:
        """A draft pauses at its first note-on (with early onsets; else at its first finished note), at ``horizon``,
        or when another job waits."""
        return (
            bool(sampler.notes)
            or (self.early_onsets and bool(sampler.own))
            or self.encoder.tick >= horizon
            or not self.jobs.empty()
        )

    def _answer(self, job: Answer) -> None:
        began = time.perf_counter()
        if self._holds(job):
            drafted, self.draft = self.draft, None
            self.drafts["taken"] += 1
        else:
            if self.plans and job.replace:
                self._cut_at(codec.beats_to_ticks(self._model_beat(job.start_beat)))  # else it follows the plans
            drafted = self._begin(job)
        self.answers += 1  # a draft and the answer that takes it over sample alike; discarded drafts change nothing
        del self.plans[: max(0, len(self.plans) - MAX_PLANS + 1)]
        sampler = drafted.sampler
        start_tick = sampler.start_tick
        offset = job.start_beat - start_tick / codec.TICKS_PER_BEAT  # off-grid starts (quantize off) keep their time
        wanted = [True]
        first = [True]
        early: dict[int, ScheduledNote] = {}  # pitch -> a note handed over before its end was sampled

        def stop_now() -> bool:
            if wanted[0] and self.wanted is not None and not self.wanted(job.tag, job.request_id):
                wanted[0] = False  # cancelled while it was waiting or being sampled
            return not wanted[0]

        def velocity_at(beat: float) -> int:
            return job.velocity(beat) if callable(job.velocity) else job.velocity

        def hand(note: ScheduledNote) -> bool:
            if not self.schedule([note], job.request_id):
                wanted[0] = False
                return False
            if first[0]:
                first[0] = False
                self.emit(FirstNote(job.request_id, time.perf_counter() - began))
            return True

        def on_onset(pitch: int, tick: int) -> None:
            if wanted[0]:
                beat = swing([codec.Note(tick / codec.TICKS_PER_BEAT, tick / codec.TICKS_PER_BEAT, pitch, 1)],
                             job.swing)[0].start + offset  # fmt: skip
                note = ScheduledNote(beat, math.inf, pitch, velocity_at(beat), job.channel - 1, job.tag)
                if hand(note):
                    early[pitch] = note

        def on_note(note: codec.Note) -> None:
            if not wanted[0]:
                return
            note = swing([note], job.swing)[0]  # the model hears its answer straight; the player hears it swung
            opened = early.pop(note.pitch, None)
            beat = note.start + offset
            velocity = velocity_at(beat) if opened is None else opened.velocity
            hand(ScheduledNote(beat, note.end + offset, note.pitch, velocity, job.channel - 1, job.tag))  # 0..15

        steps_before = self.model.steps
        try:
            for note in sorted(sampler.notes):  # a draft's notes, sampled before the phrase end was confirmed
                if not stop_now():
                    on_note(note)
            if self.early_onsets:
                for pitch, tick in sorted(sampler.own.items(), key=lambda item: item[1]):  # and its note-ons
                    if not stop_now():
                        on_onset(pitch, tick)
                sampler.on_onset = on_onset
            sampler.on_note = on_note
            sampler.run(should_stop=stop_now)
        except Exception:  # the model failed mid answer: the note-ons handed over end where it stopped
            now = self.encoder.tick / codec.TICKS_PER_BEAT + offset
            for opened in list(early.values()):
                hand(dataclasses.replace(opened, end_beat=max(opened.start_beat, now)))
            raise
        result = sampler.result()
        self.step_seconds.extend([(time.perf_counter() - began) / max(1, self.model.steps - steps_before)])
        self.plans.append(
            Plan(
                job.tag,
                job.request_id,
                drafted.model_before,
                drafted.encoder_before,
                drafted.lead + result.tokens,
                drafted.plan_tick,
                result.end_tick,
                job.swing,
            )
        )
        self.emit(
            AnswerPlanned(
                job.request_id,
                job.tag,
                len(result.notes),
                result.end_tick / codec.TICKS_PER_BEAT + offset,
                time.perf_counter() - began,
                stop_now(),
            )
        )
