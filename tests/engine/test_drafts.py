"""Drafts (cocomposer.engine.drafts and the generator's Draft job): the start of an answer sampled while the phrase
might still go on, taken over when the phrase end is confirmed, and forgotten without a trace when it is not."""

from __future__ import annotations

import dataclasses
import math
import threading
import time

import numpy as np
import pytest

from cocomposer.engine import events as ev
from cocomposer.engine.core import ANSWER_LEAD_SECONDS
from cocomposer.engine.drafts import DRAFT_LEAD_SECONDS
from cocomposer.engine.jobs import Answer, Draft, Listen
from cocomposer.engine.scheduler import ScheduledNote
from cocomposer.engine.worker import Generator
from cocomposer.midi import ports
from cocomposer.model.runtime import OnnxModel
from cocomposer.model.sampling import Controls
from tests.engine import test_engine
from tests.engine.test_engine import CC, PHRASE, rig  # noqa: F401 (the fixture)
from tests.support.midi import unmatched

CALL = [(60, 0.0, 0.45), (64, 0.5, 0.95), (67, 1.0, 1.45), (65, 1.5, 2.4)]


@pytest.fixture(scope="module")
def model() -> OnnxModel:
    return OnnxModel.load()


def _generator(model: OnnxModel, seed: int) -> tuple[Generator, list]:
    scheduled: list = []
    model.reset()
    generator = Generator(model, lambda notes, request_id: scheduled.extend(notes) or True, lambda e: None, seed=seed)
    for pitch, on, off in CALL:
        generator._listen(Listen("on", pitch, on))
        generator._listen(Listen("off", pitch, off))
    return generator, scheduled


JOB = Answer(7, 4.0, 4.0, "answer", 1, Controls(mimic=0.5), 80, "folk", "major")


@pytest.mark.parametrize("seed", range(6))
def test_an_answer_taken_from_its_draft_is_the_answer_sampled_at_once(model: OnnxModel, seed: int) -> None:
    at_once, direct = _generator(model, seed)
    at_once._answer(JOB)
    drafted, taken = _generator(model, seed)
    drafted._draft(Draft(JOB))
    assert drafted.draft is not None and drafted.draft.sampler.tokens, "the draft sampled the answer's start"
    drafted._answer(dataclasses.replace(JOB, request_id=8, draft=7, start_beat=4.03))  # on the same tick
    assert drafted.drafts["taken"] == 1
    shifted = [dataclasses.replace(n, start_beat=n.start_beat - 0.03, end_beat=n.end_beat - 0.03) for n in taken]
    assert [(n.pitch, round(n.start_beat, 6), round(n.end_beat, 6)) for n in shifted] == [
        (n.pitch, round(n.start_beat, 6), round(n.end_beat, 6)) for n in direct
    ], "the same notes, from where the answer really starts"


@pytest.mark.parametrize("seed", range(4))
def test_note_ons_handed_before_their_ends_make_the_same_answer(model: OnnxModel, seed: int) -> None:
    """With early onsets each note-on reaches the scheduler before the model samples its end; the notes, once
    ended, are those of an answer handed over note by note, drafted or not."""
    plain, whole = _generator(model, seed)
    plain._answer(JOB)
    for drafted in (False, True):
        early, handed = _generator(model, seed)
        early.early_onsets = True
        if drafted:
            early._draft(Draft(JOB))
            assert early.draft is not None and early.draft.sampler.own and not early.draft.sampler.notes, (
                "a draft pauses at its first note-on"
            )
            early._answer(dataclasses.replace(JOB, request_id=8, draft=7))
            assert early.drafts["taken"] == 1
        else:
            early._answer(JOB)
        opened = [n for n in handed if not n.ended]
        ended = [n for n in handed if n.ended]
        assert opened and len(opened) == len(ended), "every note-on handed early, and every one ended after"
        for n in ended:
            first = next(i for i, m in enumerate(handed) if (m.pitch, m.start_beat) == (n.pitch, n.start_beat))
            assert not handed[first].ended and handed.index(n) > first, "the note-on went first"
        key = lambda n: (n.start_beat, n.pitch, n.end_beat)  # noqa: E731
        assert sorted(ended, key=key) == sorted(whole, key=key)


def test_a_draft_not_taken_leaves_the_model_as_if_it_never_was(model: OnnxModel) -> None:
    plain, _ = _generator(model, 3)
    plain._listen(Listen("on", 72, 3.0))
    expected = model.snapshot()
    drafted, scheduled = _generator(model, 3)
    drafted._draft(Draft(JOB))
    drafted._discard_draft()  # what the worker does before any other job: here, the player plays on
    drafted._listen(Listen("on", 72, 3.0))
    assert np.array_equal(model.state, expected.state) and model.tick == expected.tick
    assert drafted.drafts["discarded"] == 1 and not scheduled, "a draft is never played"
    taken = drafted._holds(dataclasses.replace(JOB, draft=7))
    assert not taken, "and cannot be taken over afterwards"


def test_a_phrase_end_cc_takes_the_draft_and_the_answer_starts_at_once(rig) -> None:  # noqa: F811
    r = rig(quantize="off", phrase_end_cc=85, silence=16.0, bars=1.0)
    end, _ = r.play(CALL)
    r.wait_until_beat(end + 0.5)  # silent for a while: the draft is waiting
    assert r.engine.settle(10)
    sent = time.perf_counter()
    r.player.send((CC, 85, 127))
    requested = r.wait_hook(ev.AnswerRequested)[-1]
    r.wait_hook(ev.AnswerPlanned)
    assert r.engine.drafts.taken == 1 and r.engine.generator.drafts["taken"] == 1, "the answer took its draft over"
    lead = r.engine.time_at(requested.start_beat) - sent
    assert 0 < lead < DRAFT_LEAD_SECONDS + 0.004 < ANSWER_LEAD_SECONDS, f"the answer starts {lead * 1e3:.2f} ms on"
    r.wait_out(lambda events: not unmatched(events) and len(events) > 2, "the answer plays and every note closes")
    reaction = r.engine.status().reaction_seconds
    planned = r.hooked(ev.NotesScheduled)[0].notes[0].start_beat
    if abs(planned - requested.start_beat) < 1e-6:  # the answer opens with a note: its reaction was timed
        assert len(reaction) == 1 and 0 < reaction[0] < 0.05, f"phrase end to first note-on sent: {reaction}"
    else:
        assert reaction == (), "an answer that opens with a rest has no reaction to time"


def test_a_note_played_after_a_draft_gets_an_answer_of_its_own(rig) -> None:  # noqa: F811
    r = rig(quantize="off", phrase_end_cc=85, silence=16.0, bars=1.0)
    end, _ = r.play(CALL)
    r.wait_until_beat(end + 0.5)
    assert r.engine.settle(10)
    asked = r.engine.drafts.asked
    assert asked >= 1, "drafted while the player was silent"
    r.play(PHRASE)  # the phrase goes on: the draft is discarded, the model hears the notes
    r.player.send((CC, 85, 127))
    r.wait_hook(ev.AnswerPlanned)
    assert r.engine.generator.drafts["discarded"] >= 1
    r.wait_out(lambda events: not unmatched(events), "every note closes")


class _TimedRecordingOut(ports.RecordingOut):
    """A timed output (like the JACK frames port): handed each message ``lead_seconds`` early with its time; it
    notes which thread handed over each note-on."""

    timed = True
    lead_seconds = 0.003

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.note_on_threads: list[str] = []

    def send_at(self, message, t: float | None) -> None:
        if message[0] & 0xF0 == 0x90 and message[2] > 0:
            self.note_on_threads.append(threading.current_thread().name)
        self.send(message)


def test_a_note_due_now_leaves_from_the_thread_that_hands_it_over(rig, monkeypatch) -> None:  # noqa: F811
    """A note due at once (a drafted answer's first) is sent by the thread that hands it to the engine (the
    generator's), not at the scheduler thread's next wake-up: that wake-up waited for the interpreter lock while the
    generator sampled on (from handed over to heard: 1.2-1.6 ms median before, 0.7 ms after, in the live bench)."""
    monkeypatch.setattr(test_engine.ports, "RecordingOut", _TimedRecordingOut)
    r = rig()
    request = 10**6
    with r.engine._lock:
        r.engine._request_ids.setdefault("answer", set()).add(request)
    beat = r.engine.beat_at(time.perf_counter())
    note = ScheduledNote(beat, math.inf, 61, 80, 0, "answer")
    assert r.engine._schedule([note], request)
    assert r.out.note_on_threads == [threading.current_thread().name], "sent before the hand-over returned"
    assert r.engine._schedule([dataclasses.replace(note, end_beat=beat + 0.25)], request)
    r.wait_closed()
