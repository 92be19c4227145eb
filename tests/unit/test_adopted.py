"""Notes another part sounded (the JACK helper's reflex), adopted by the scheduler: claimed by the answer's first
note without a second note-on, or closed (release, cancel, panic, after ADOPTED_SECONDS); never left sounding."""

from __future__ import annotations

import math

import pytest

from cocomposer.engine.adopted import ADOPTED_SECONDS, CLAIM_SECONDS
from tests.unit.test_scheduler import OFF, ON, assert_each_note_on_closed_once, make, note, run_until


def _with_hooks(timed: bool):
    fake, clock, out, scheduler = make(120, timed=timed)
    hooked: list[tuple[str, int, float]] = []
    scheduler._hooks = lambda kind, n, message, t: hooked.append((kind, message[1], t))
    return fake, clock, out, scheduler, hooked


def _heard(out, adopted: list[tuple[float, tuple[int, ...]]]):
    """What a listener hears: the adopted notes' note-ons (the helper played them) and what the scheduler sent."""
    return sorted(adopted + out.messages, key=lambda m: m[0])


@pytest.mark.parametrize("timed", [False, True])
def test_the_answers_first_note_claims_the_adopted_one(timed: bool) -> None:
    fake, clock, out, scheduler, hooked = _with_hooks(timed)
    fake.set(1.0)
    beat = clock.beat_at(1.0)
    scheduler.adopt([note(beat, beat, 64, channel=1, velocity=70)], 1.0)
    assert scheduler.open_notes() == {(1, 64)}, "it sounds"
    fake.set(1.002)
    scheduler.schedule([note(beat, math.inf, 64, channel=1, velocity=90), note(beat + 0.5, beat + 1, 67, channel=1)])
    scheduler.run_due()
    assert ("note_on", 64, 1.0) in hooked, "its hooks hear of it, at the time it sounded"
    scheduler.schedule([note(beat, beat + 0.5, 64, channel=1, velocity=90)])  # its end, as sampled
    run_until(fake, scheduler, 5.0)
    heard = _heard(out, [(1.0, (ON | 1, 64, 70))])
    assert [m for _, m in heard] == [(ON | 1, 64, 70), (OFF | 1, 64, 0), (ON | 1, 67, 100), (OFF | 1, 67, 0)]
    assert_each_note_on_closed_once(heard)
    assert scheduler.open_notes() == set()


@pytest.mark.parametrize("closer", ["release", "cancel", "panic", "deadline", "another time", "a later note"])
def test_an_adopted_note_nobody_claims_is_closed(closer: str) -> None:
    fake, clock, out, scheduler, _ = _with_hooks(timed=True)
    fake.set(1.0)
    beat = clock.beat_at(1.0)
    scheduler.adopt([note(beat, beat, 64)], 1.0)
    if closer == "release":
        scheduler.release_adopted()
    elif closer == "cancel":
        scheduler.cancel("answer")
    elif closer == "panic":
        scheduler.panic()
    elif closer == "deadline":
        run_until(fake, scheduler, 1.0 + ADOPTED_SECONDS / 2)
        assert scheduler.open_notes() == {(0, 64)}
        run_until(fake, scheduler, 1.0 + ADOPTED_SECONDS + 0.01)
    elif closer == "a later note":  # the answer went on without claiming it (it was sampled afresh): closed now
        later = clock.beat_at(1.0 + CLAIM_SECONDS * 4)
        scheduler.schedule([note(later, later + 0.25, 67)])
        scheduler.run_due()
        assert scheduler.open_notes() == set() and out.only() == [(OFF, 64, 0)]
        run_until(fake, scheduler, 5.0)
    else:  # a note of that key for another time is a note of its own; the adopted one closes before it sounds
        later = clock.beat_at(1.0 + CLAIM_SECONDS * 4)
        scheduler.schedule([note(later, later + 0.25, 64)])
        run_until(fake, scheduler, 1.0 + ADOPTED_SECONDS + 1)
    heard = _heard(out, [(1.0, (ON, 64, 100))])
    assert_each_note_on_closed_once(heard)
    assert (OFF, 64, 0) in [m for _, m in out.messages] and scheduler.open_notes() == set()
    scheduler.schedule([note(beat, beat + 0.5, 64)])  # an end coming after it closed claims nothing
    run_until(fake, scheduler, 5.0)
    assert_each_note_on_closed_once(_heard(out, [(1.0, (ON, 64, 100))]))


def test_a_key_already_open_stays_with_its_note() -> None:
    """The reflex struck a key the answer had just opened (a control a hair after the silence ended the phrase): the
    open note keeps the key and its note-off closes it; nothing is adopted that would close it early or twice."""
    fake, clock, out, scheduler, _ = _with_hooks(timed=False)
    scheduler.schedule([note(0.0, 1.0, 64)])
    run_until(fake, scheduler, 0.1)
    scheduler.adopt([note(clock.beat_at(0.1), clock.beat_at(0.1), 64)], 0.1)
    scheduler.release_adopted()
    run_until(fake, scheduler, 5.0)
    assert out.only() == [(ON, 64, 100), (OFF, 64, 0)], "one note-off, at the open note's end"
    assert out.messages[-1][0] == 0.5 and scheduler.open_notes() == set()
