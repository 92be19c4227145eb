"""Scheduler tests: a fake clock and a fake port recording (time, message); run_due drives it without the thread."""

from __future__ import annotations

import threading
import time
from collections import Counter

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cocomposer.engine.scheduler import ScheduledNote, Scheduler
from cocomposer.errors import ConfigError
from cocomposer.timing.clock import FakeClock, InternalClock
from cocomposer.timing.midi_clock import MidiClockFollower

ON, OFF, CC = 0x90, 0x80, 0xB0


class FakeOut:
    """A MidiOut stand-in: records (clock time, message) and lets a test wait for a count of messages."""

    def __init__(self, now) -> None:
        self.now = now
        self.messages: list[tuple[float, tuple[int, ...]]] = []
        self.cond = threading.Condition()

    def send(self, message) -> None:
        with self.cond:
            self.messages.append((self.now(), tuple(message)))
            self.cond.notify_all()

    def wait_for(self, count: int, timeout: float = 5.0) -> bool:
        with self.cond:
            return self.cond.wait_for(lambda: len(self.messages) >= count, timeout)

    def only(self) -> list[tuple[int, ...]]:
        return [m for _, m in self.messages]


class FakeTimedOut(FakeOut):
    """A timed output (JACK frame offsets) stand-in: records (given time, message) in the order handed, and when
    each was handed in ``handed``."""

    timed = True

    def __init__(self, now, lead_seconds: float = 0.01) -> None:
        super().__init__(now)
        self.lead_seconds = lead_seconds
        self.handed: list[float] = []

    def send(self, message) -> None:
        raise AssertionError("a timed output is sent to with send_at")

    def send_at(self, message, t) -> None:
        with self.cond:
            self.messages.append((t, tuple(message)))
            self.handed.append(self.now())
            self.cond.notify_all()


def make(bpm: float = 120.0, timed: bool = False, **kwargs) -> tuple[FakeClock, InternalClock, FakeOut, Scheduler]:
    fake = FakeClock()
    clock = InternalClock(bpm, now=fake)
    out = FakeTimedOut(fake) if timed else FakeOut(fake)
    return fake, clock, out, Scheduler(out, clock, **kwargs)


def run_until(fake: FakeClock, scheduler: Scheduler, t_end: float) -> None:
    """Step fake time from due event to due event, as the thread would wake, then to ``t_end``."""
    for _ in range(100_000):
        due = scheduler.next_due()
        if due > t_end:
            break
        fake.set(max(fake.now(), due))
        scheduler.run_due()
    else:
        raise AssertionError("run_until made no progress")
    fake.set(max(fake.now(), t_end))
    scheduler.run_due()


def assert_each_note_on_closed_once(messages: list[tuple[float, tuple[int, ...]]]) -> None:
    """No note-on for a sounding key, no note-off for a silent one, nothing sounding at the end."""
    sounding: set[tuple[int, int]] = set()
    for _, (status, pitch, _velocity) in messages:
        key = (status & 0x0F, pitch)
        if status & 0xF0 == ON:
            assert key not in sounding, f"double note-on {key}"
            sounding.add(key)
        elif status & 0xF0 == OFF:
            assert key in sounding, f"note-off for a silent key {key}"
            sounding.remove(key)
    assert not sounding


def note(start: float, end: float, pitch: int = 60, channel: int = 0, tag: str = "answer", velocity: int = 100):
    return ScheduledNote(start, end, pitch, velocity, channel, tag)


def test_notes_are_sent_at_their_times_in_order() -> None:
    fake, _, out, scheduler = make(120)
    scheduler.schedule([note(1.0, 1.5, 62), note(0.0, 0.5, 60), note(2.0, 4.0, 64, channel=3)])
    run_until(fake, scheduler, 10.0)
    assert out.messages == [
        (0.0, (ON, 60, 100)),
        (0.25, (OFF, 60, 0)),
        (0.5, (ON, 62, 100)),
        (0.75, (OFF, 62, 0)),
        (1.0, (ON | 3, 64, 100)),
        (2.0, (OFF | 3, 64, 0)),
    ]
    assert scheduler.sent == 6 and scheduler.open_notes() == set()
    assert list(scheduler.lateness) == [0.0, 0.0, 0.0]


def test_output_offset_is_added_to_send_times() -> None:
    fake, _, out, scheduler = make(120, output_offset=-0.1)
    scheduler.schedule([note(1.0, 2.0)])
    run_until(fake, scheduler, 5.0)
    assert [t for t, _ in out.messages] == pytest.approx([0.4, 0.9])


def test_note_off_before_note_on_at_the_same_beat_and_zero_length_notes() -> None:
    fake, _, out, scheduler = make(120)
    scheduler.schedule([note(1.0, 2.0), note(0.0, 1.0), note(3.0, 3.0, 70)])
    run_until(fake, scheduler, 5.0)
    assert out.only() == [(ON, 60, 100), (OFF, 60, 0), (ON, 60, 100), (OFF, 60, 0), (ON, 70, 100), (OFF, 70, 0)]
    assert scheduler.open_notes() == set()


def test_overlapping_notes_on_one_key_never_double_on() -> None:
    fake, _, out, scheduler = make(120)
    first, second = note(0.0, 2.0), note(1.0, 3.0)
    scheduler.schedule([first, second])
    run_until(fake, scheduler, 10.0)
    assert out.messages == [
        (0.0, (ON, 60, 100)),
        (0.5, (OFF, 60, 0)),  # closed by the second note-on, not doubled
        (0.5, (ON, 60, 100)),
        (1.5, (OFF, 60, 0)),  # the second note's own off; the first's off at 1.0 is not sent
    ]


def test_pending_and_open_notes() -> None:
    fake, _, _, scheduler = make(120)
    a, b, c = note(0.0, 4.0, 60), note(1.0, 2.0, 62, tag="drums"), note(2.0, 3.0, 64)
    scheduler.schedule([c, a, b])
    assert scheduler.pending() == [a, b, c]
    assert scheduler.pending("drums") == [b]
    run_until(fake, scheduler, 0.6)  # beat 1.2
    assert scheduler.pending() == [c]
    assert scheduler.open_notes() == {(0, 60), (0, 62)}


def test_replace_swaps_the_future_and_keeps_sounding_notes_offs() -> None:
    fake, _, out, scheduler = make(120)
    old = [note(0.0, 1.5, 60), note(1.0, 2.0, 62), note(2.0, 3.0, 64)]
    other = note(2.5, 3.0, 36, channel=9, tag="drums")
    scheduler.schedule([*old, other])
    run_until(fake, scheduler, 0.25)  # beat 0.5: 60 is sounding
    new = [note(1.0, 1.75, 67), note(2.0, 2.5, 69)]
    scheduler.replace("answer", new)
    assert scheduler.pending("answer") == new and scheduler.pending("drums") == [other]
    run_until(fake, scheduler, 10.0)
    assert out.messages == [
        (0.0, (ON, 60, 100)),
        (0.5, (ON, 67, 100)),
        (0.75, (OFF, 60, 0)),  # the sounding note kept its scheduled off
        (0.875, (OFF, 67, 0)),
        (1.0, (ON, 69, 100)),
        (1.25, (OFF, 69, 0)),
        (1.25, (ON | 9, 36, 100)),
        (1.5, (OFF | 9, 36, 0)),
    ]


def test_replace_can_close_sounding_notes_and_checks_tags() -> None:
    fake, _, out, scheduler = make(120)
    scheduler.schedule([note(0.0, 4.0, 60), note(0.0, 4.0, 40, tag="bass")])
    run_until(fake, scheduler, 0.5)
    scheduler.replace("answer", [note(2.0, 3.0, 62)], close_sounding=True)
    assert out.messages[-1] == (0.5, (OFF, 60, 0))
    assert scheduler.open_notes() == {(0, 40)}
    with pytest.raises(ConfigError):
        scheduler.replace("answer", [note(5.0, 6.0, tag="bass")])


def test_cancel_closes_sounding_notes_now_and_drops_pending() -> None:
    fake, _, out, scheduler = make(120)
    scheduler.schedule([note(0.0, 8.0, 60), note(0.0, 8.0, 64, channel=2), note(3.0, 4.0, 67)])
    scheduler.schedule([note(0.0, 8.0, 48, tag="keep")])
    run_until(fake, scheduler, 1.0)
    scheduler.cancel("answer")
    assert sorted(out.messages[-2:]) == [(1.0, (OFF, 60, 0)), (1.0, (OFF | 2, 64, 0))]
    assert scheduler.pending("answer") == [] and scheduler.open_notes() == {(0, 48)}
    count = len(out.messages)
    run_until(fake, scheduler, 10.0)
    assert out.messages[count:] == [(4.0, (OFF, 48, 0))], "only the other tag plays on"


def test_panic_closes_every_note_and_resets_used_channels() -> None:
    fake, _, out, scheduler = make(120)
    scheduler.schedule([note(0.0, 8.0, 60), note(0.0, 8.0, 64, channel=3), note(6.0, 7.0, 67)])
    run_until(fake, scheduler, 0.1)
    assert scheduler.send_now((ON | 5, 72, 90))
    scheduler.panic()
    tail = out.only()[3:]
    assert sorted(tail[:3]) == [(OFF, 60, 0), (OFF | 3, 64, 0), (OFF | 5, 72, 0)]
    assert tail[3:] == [(CC, 123, 0), (CC, 64, 0), (CC | 3, 123, 0), (CC | 3, 64, 0), (CC | 5, 123, 0), (CC | 5, 64, 0)]
    assert scheduler.open_notes() == set() and scheduler.pending() == []
    count = len(out.messages)
    run_until(fake, scheduler, 20.0)
    assert len(out.messages) == count, "nothing plays after panic"


def test_send_now_tracks_thru_notes_and_never_sends_an_unowned_off() -> None:
    _, _, out, scheduler = make(120)
    assert not scheduler.send_now((OFF, 60, 0)), "a note-off for a note nobody opened is not sent"
    assert scheduler.send_now((ON, 60, 80))
    assert scheduler.send_now((ON, 60, 81)), "a second on closes the first"
    assert scheduler.send_now((ON, 60, 0)), "note-on velocity 0 is a note-off"
    assert scheduler.send_now((CC | 1, 1, 64)) and scheduler.send_now((0xF8,))
    assert out.only() == [(ON, 60, 80), (OFF, 60, 0), (ON, 60, 81), (ON, 60, 0), (CC | 1, 1, 64), (0xF8,)]
    scheduler.schedule([note(0.0, 4.0, 62)])
    scheduler.run_due()
    assert not scheduler.send_now((OFF, 62, 0)), "a thru note-off does not cut a scheduled note"
    with pytest.raises(ConfigError):
        scheduler.send_now((60, 100))
    with pytest.raises(ConfigError):
        scheduler.send_now(())


def test_tempo_change_mid_answer_moves_the_notes_to_come() -> None:
    fake, clock, out, scheduler = make(120)
    scheduler.schedule([note(float(b), b + 0.5, 60 + b) for b in range(4)])
    run_until(fake, scheduler, 0.75)  # beat 1.5
    clock.set_bpm(60)
    run_until(fake, scheduler, 10.0)
    assert out.messages == [
        (0.0, (ON, 60, 100)),
        (0.25, (OFF, 60, 0)),
        (0.5, (ON, 61, 100)),
        (0.75, (OFF, 61, 0)),
        (1.25, (ON, 62, 100)),  # beat 2, now one second per beat
        (1.75, (OFF, 62, 0)),
        (2.25, (ON, 63, 100)),
        (2.75, (OFF, 63, 0)),
    ]


def test_watchdog_closes_a_note_held_too_long() -> None:
    fake, _, out, scheduler = make(120, max_note_seconds=8.0)
    scheduler.schedule([note(0.0, 40.0, 60), note(1.0, 2.0, 62)])
    run_until(fake, scheduler, 30.0)
    assert (8.0, (OFF, 60, 0)) in out.messages
    assert [m for _, m in out.messages].count((OFF, 60, 0)) == 1, "the late scheduled off is not sent again"
    assert scheduler.watchdog_closed == 1 and scheduler.open_notes() == set()


def test_late_note_ons_are_dropped_and_counted_note_offs_still_sent() -> None:
    fake, _, out, scheduler = make(120, late_tolerance=0.02)
    scheduler.schedule([note(0.0, 1.0, 60), note(0.1, 1.0, 62)])  # 62 is due at 0.05 s
    fake.set(0.06)  # 60 is 60 ms late, 62 is 10 ms late
    scheduler.run_due()
    assert out.messages == [(0.06, (ON, 62, 100))]
    assert scheduler.late_dropped == 1
    assert list(scheduler.lateness) == pytest.approx([0.01])
    scheduler.send_now((ON, 64, 90))
    scheduler.schedule([note(0.0, 0.5, 64)])  # wholly in the past: its on is dropped, its off is not ours to send
    fake.set(1.0)
    scheduler.run_due()
    assert out.only()[1:] == [(ON, 64, 90), (OFF, 62, 0)]
    assert scheduler.late_dropped == 2


def test_hooks_see_every_event_and_their_errors_do_not_stop_sending() -> None:
    seen: list[tuple[str, int | None, tuple[int, ...], float]] = []

    def hook(kind, scheduled, message, t) -> None:
        seen.append((kind, None if scheduled is None else scheduled.pitch, message, t))
        if kind == "note_on":
            raise RuntimeError("a broken panel")

    fake = FakeClock()
    clock = InternalClock(120, now=fake)
    out = FakeOut(fake)
    scheduler = Scheduler(out, clock, hooks=hook)
    scheduler.schedule([note(0.0, 1.0, 60), note(1.0, 2.0, 62)])
    run_until(fake, scheduler, 5.0)
    scheduler.send_now((CC, 7, 100))
    assert [s[0] for s in seen] == ["note_on", "note_off", "note_on", "note_off", "message"]
    assert seen[1] == ("note_off", 60, (OFF, 60, 0), 0.5)
    assert scheduler.hook_errors == 2 and len(out.messages) == 5


def test_scheduled_notes_are_validated() -> None:
    for bad in (
        lambda: note(1.0, 0.5),
        lambda: note(0.0, 1.0, pitch=128),
        lambda: note(0.0, 1.0, channel=16),
        lambda: note(0.0, 1.0, velocity=0),
        lambda: note(float("nan"), 1.0),
    ):
        with pytest.raises(ConfigError):
            bad()
    _, _, _, scheduler = make()
    with pytest.raises(ConfigError):
        scheduler.schedule([(0.0, 1.0, 60, 100, 0)])  # type: ignore[list-item]
    with pytest.raises(ConfigError):
        Scheduler(object(), InternalClock(now=FakeClock()))  # type: ignore[arg-type]


def test_a_stopped_followed_clock_holds_every_note_to_come() -> None:
    fake = FakeClock()
    follower = MidiClockFollower(now=fake)
    out = FakeOut(fake)
    scheduler = Scheduler(out, follower)
    scheduler.schedule([note(1.0, 2.0)])
    assert scheduler.next_due() == float("inf")
    fake.set(100.0)
    assert scheduler.run_due() == 0 and out.messages == []


notes_strategy = st.lists(
    st.builds(
        lambda start, length, pitch, channel, tag: ScheduledNote(start, start + length, pitch, 90, channel, tag),
        st.integers(0, 32).map(lambda q: q / 4),
        st.integers(0, 12).map(lambda q: q / 4),
        st.integers(58, 63),
        st.integers(0, 1),
        st.sampled_from(["answer", "drums"]),
    ),
    max_size=30,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(first=notes_strategy, second=notes_strategy, replace_at=st.integers(0, 40), bpm=st.sampled_from([60, 133]))
def test_every_note_on_is_matched_by_one_note_off(first, second, replace_at, bpm) -> None:
    fake, clock, out, scheduler = make(bpm)
    scheduler.schedule(first)
    run_until(fake, scheduler, clock.time_at(replace_at / 4))
    scheduler.replace("answer", [n for n in second if n.tag == "answer"])
    run_until(fake, scheduler, clock.time_at(50.0))
    assert scheduler.open_notes() == set()
    assert_each_note_on_closed_once(out.messages)
    ons = Counter((s & 0x0F, p) for _, (s, p, _) in out.messages if s & 0xF0 == ON)
    offs = Counter((s & 0x0F, p) for _, (s, p, _) in out.messages if s & 0xF0 == OFF)
    assert ons == offs


def test_thread_on_a_fake_clock_sends_as_time_advances() -> None:
    fake, clock, out, scheduler = make(120)
    with scheduler:
        scheduler.schedule([note(1.0, 2.0, 60), note(3.0, 4.0, 62)])
        fake.set(0.5)
        assert out.wait_for(1)
        assert out.messages == [(0.5, (ON, 60, 100))]
        fake.set(1.0)
        assert out.wait_for(2)
        clock.set_bpm(60)  # beat 2 now; beat 3 moves to 2.0 s
        fake.set(1.9)
        fake.set(2.0)
        assert out.wait_for(3)
        fake.set(3.0)
        assert out.wait_for(4)
    assert not scheduler.alive
    assert out.messages == [
        (0.5, (ON, 60, 100)),
        (1.0, (OFF, 60, 0)),
        (2.0, (ON, 62, 100)),
        (3.0, (OFF, 62, 0)),
        (3.0, (CC, 123, 0)),  # stop() panics: All Notes Off and sustain off on the channel used
        (3.0, (CC, 64, 0)),
    ]


def test_the_thread_waits_for_the_watchdog_without_spinning_over_a_timed_output() -> None:
    """The lead of a timed output moves only note events earlier, not the watchdog's deadline: the thread sleeps
    until the deadline instead of waking over and over in the lead before it (which it did)."""
    fake, _, out, scheduler = make(120, timed=True, max_note_seconds=2.0)
    passes = []
    process_due = scheduler._process_due
    scheduler._process_due = lambda now: passes.append(now) or process_due(now)  # type: ignore[method-assign]
    with scheduler:
        scheduler.schedule([note(0.0, INF, 60)])
        fake.set(0.0)
        assert out.wait_for(1)
        fake.set(2.0 - out.lead_seconds / 2)  # inside the lead before the watchdog's deadline (2.0 s)
        time.sleep(0.3)
        woken = len(passes)
        fake.set(2.0)
        assert out.wait_for(2)
    assert woken < 20, f"the scheduler woke {woken} times in 0.3 s with nothing to do"
    assert out.messages[:2] == [(0.0, (ON, 60, 100)), (2.0, (OFF, 60, 0))] and scheduler.watchdog_closed == 1


def test_thread_with_the_real_clock_plays_everything_then_stop_panics() -> None:
    clock = InternalClock(300)  # real perf_counter: 0.2 s per beat
    out = FakeOut(time.perf_counter)
    scheduler = Scheduler(out, clock, late_tolerance=0.5)  # a loaded CI machine must not drop notes here
    scheduler.start()
    try:
        start = clock.beat() + 0.25
        scheduler.schedule([note(start + i * 0.25, start + i * 0.25 + 0.2, 60 + i) for i in range(4)])
        scheduler.schedule([note(start, start + 100.0, 40)])  # still sounding at stop
        assert out.wait_for(9, timeout=10.0), f"only {out.messages}"
    finally:
        scheduler.stop()
    assert not scheduler.alive
    pitches = [m[1] for _, m in out.messages if m[0] == ON]
    assert pitches[0] in (40, 60) and sorted(pitches) == [40, 60, 61, 62, 63]
    assert [m[1] for _, m in out.messages if m[0] == ON and m[1] != 40] == [60, 61, 62, 63]
    assert out.messages[-3][1] == (OFF, 40, 0) and out.messages[-2:] == [
        (out.messages[-2][0], (CC, 123, 0)),
        (out.messages[-1][0], (CC, 64, 0)),
    ]
    assert scheduler.open_notes() == set() and scheduler.late_dropped == 0
    assert len(scheduler.lateness) == 5


class BlockingOut(FakeOut):
    """A port whose first send blocks until released (a slow driver, a full ring buffer)."""

    def __init__(self, now) -> None:
        super().__init__(now)
        self.entered, self.release = threading.Event(), threading.Event()

    def send(self, message) -> None:
        if not self.entered.is_set():
            self.entered.set()
            assert self.release.wait(10), "the test never released the send"
        super().send(message)


def test_a_slow_send_never_holds_the_lock_others_wait_on_and_order_is_kept() -> None:
    fake = FakeClock()
    clock = InternalClock(120.0, now=fake)
    out = BlockingOut(fake)
    scheduler = Scheduler(out, clock)
    scheduler.schedule([ScheduledNote(0.0, 1.0, 60, 90, 0)])
    sender = threading.Thread(target=scheduler.run_due)  # decides the note-on, then blocks inside send
    sender.start()
    assert out.entered.wait(5)
    panic = threading.Thread(target=scheduler.panic)  # decides its note-off now; sends it after the note-on
    panic.start()

    def others() -> None:  # what the engine and generator threads do meanwhile: both take the scheduler's lock
        scheduler.schedule([ScheduledNote(2.0, 3.0, 62, 90, 0)])
        scheduler.pending()

    other = threading.Thread(target=others)
    other.start()
    other.join(5)
    assert not other.is_alive(), "schedule and pending went on while the output was busy sending"
    out.release.set()
    sender.join(5)
    panic.join(5)
    assert out.only()[:2] == [(ON, 60, 90), (OFF, 60, 0)], "the note-off never overtakes its note-on"
    assert scheduler.open_notes() == set()


def test_a_refused_send_is_recorded_not_raised_and_the_rest_still_plays() -> None:
    fake = FakeClock()
    clock = InternalClock(120.0, now=fake)

    class Refusing(FakeOut):
        def send(self, message) -> None:
            if tuple(message) == (CC, 7, 100):
                raise OSError("the port refused it")
            super().send(message)

    out = Refusing(fake)
    seen: list[str] = []
    scheduler = Scheduler(out, clock, hooks=lambda kind, note, message, t: seen.append(kind))
    scheduler.schedule([note(0.0, 1.0, 60), note(1.0, 2.0, 62)])
    run_until(fake, scheduler, 0.1)
    assert scheduler.send_now((CC, 7, 100)) is True  # handed over; whoever drains it does not get the error
    run_until(fake, scheduler, 5.0)
    assert isinstance(scheduler.error, OSError) and scheduler.send_errors == 1
    assert out.only() == [(ON, 60, 100), (OFF, 60, 0), (ON, 62, 100), (OFF, 62, 0)], "the notes after it still play"
    assert seen == ["note_on", "message", "note_off", "note_on", "note_off"], "hooks fire in the order sent"


# -- notes handed over before their end is sampled (end_beat inf) --------------------------------------------------

INF = float("inf")


def test_a_note_on_is_sent_before_its_end_is_known_and_closed_when_it_comes() -> None:
    fake, _clock, out, scheduler = make(120)
    assert scheduler.schedule([note(0.0, INF, 60)]) == [note(0.0, INF, 60)]
    run_until(fake, scheduler, 0.2)
    assert out.messages == [(0.0, (ON, 60, 100))]
    assert scheduler.schedule([note(0.0, 1.0, 60)]) == []  # the completion is not a new note
    run_until(fake, scheduler, 2.0)
    assert out.messages == [(0.0, (ON, 60, 100)), (0.5, (OFF, 60, 0))]
    assert scheduler.open_notes() == set()


def test_a_completion_before_the_note_on_is_due_plays_the_whole_note_once() -> None:
    fake, _clock, out, scheduler = make(120)
    scheduler.schedule([note(1.0, INF, 60)])
    assert [n.end_beat for n in scheduler.pending()] == [INF]
    scheduler.schedule([note(1.0, 1.5, 60)])
    assert [n.end_beat for n in scheduler.pending()] == [1.5]
    run_until(fake, scheduler, 5.0)
    assert out.messages == [(0.5, (ON, 60, 100)), (0.75, (OFF, 60, 0))]


def test_cancel_closes_a_note_without_an_end_and_its_late_end_sends_nothing() -> None:
    fake, _clock, out, scheduler = make(120)
    scheduler.schedule([note(0.0, INF, 60), note(2.0, INF, 64)])
    run_until(fake, scheduler, 0.1)
    scheduler.cancel("answer")
    scheduler.schedule([note(0.0, 1.0, 60), note(2.0, 3.0, 64)])  # the generator's ends, after the cancel
    run_until(fake, scheduler, 5.0)
    assert out.only() == [(ON, 60, 100), (OFF, 60, 0)]


def test_a_replan_keeps_ended_notes_ringing_and_closes_a_note_without_an_end() -> None:
    fake, _clock, out, scheduler = make(120)
    scheduler.schedule([note(0.0, 2.0, 60), note(0.0, INF, 64)])
    run_until(fake, scheduler, 0.1)
    scheduler.replace("answer", [])
    assert out.only() == [(ON, 60, 100), (ON, 64, 100), (OFF, 64, 0)]
    scheduler.schedule([note(0.0, 1.0, 64)])
    run_until(fake, scheduler, 5.0)
    assert out.only()[3:] == [(OFF, 60, 0)]


def test_panic_and_a_late_drop_forget_a_note_without_an_end() -> None:
    fake, _clock, out, scheduler = make(120)
    scheduler.schedule([note(0.0, INF, 60)])
    run_until(fake, scheduler, 0.1)
    scheduler.panic()
    scheduler.schedule([note(0.0, 1.0, 60)])
    fake.set(5.0)
    scheduler.schedule([note(0.0, INF, 62)])  # due 5 s ago: dropped late
    scheduler.run_due()
    scheduler.schedule([note(0.0, 1.0, 62)])
    run_until(fake, scheduler, 10.0)
    notes = [m for m in out.only() if m[0] & 0xF0 in (ON, OFF)]
    assert notes == [(ON, 60, 100), (OFF, 60, 0)] and scheduler.late_dropped == 1
    assert scheduler.open_notes() == set()


def test_the_watchdog_closes_a_note_whose_end_never_comes() -> None:
    fake, _clock, out, scheduler = make(120, max_note_seconds=2.0)
    scheduler.schedule([note(0.0, INF, 60)])
    run_until(fake, scheduler, 3.0)
    assert out.messages == [(0.0, (ON, 60, 100)), (2.0, (OFF, 60, 0))] and scheduler.watchdog_closed == 1


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    notes=st.lists(st.tuples(st.integers(0, 30), st.integers(0, 8), st.integers(60, 64)), max_size=12),
    hand_end_at=st.lists(st.integers(0, 40), min_size=12, max_size=12),
    cancel_at=st.one_of(st.none(), st.integers(0, 40)),
    timed=st.booleans(),
)
def test_notes_handed_before_their_end_each_close_once(notes, hand_end_at, cancel_at, timed) -> None:
    """Note-ons handed over first, their ends at random later times (some after a cancel): every note-on sent is
    closed once, and no note-off is sent for a silent key; a timed output is never handed a time before one it got
    earlier (it sends in time order, so the order handed is the order played)."""
    fake, clock, out, scheduler = make(120, timed=timed, max_note_seconds=60.0)
    events = []
    for i, (start, length, pitch) in enumerate(notes):
        events.append((start, 0, note(start / 4, INF, pitch)))
        events.append((max(start, hand_end_at[i]), 1, note(start / 4, (start + length) / 4, pitch)))
    if cancel_at is not None:
        events.append((cancel_at, 2, None))
    for quarter, _, item in sorted(events, key=lambda e: (e[0], e[1])):
        run_until(fake, scheduler, clock.time_at(quarter / 4))
        if item is None:
            scheduler.cancel("answer")
        else:
            scheduler.schedule([item])
    run_until(fake, scheduler, clock.time_at(100.0))
    assert scheduler.open_notes() == set()
    assert_each_note_on_closed_once(out.messages)
    times = [t for t, _ in out.messages]
    assert times == sorted(times)


def test_a_timed_output_is_handed_each_event_its_lead_early_with_its_time() -> None:
    fake, _, out, scheduler = make(120, timed=True)
    assert scheduler.ahead == 0.01
    scheduler.schedule([note(1.0, 1.5, 60)])  # on at 0.5 s, off at 0.75 s
    fake.set(0.489)
    scheduler.run_due()
    assert out.messages == []
    fake.set(0.49)
    scheduler.run_due()
    fake.set(0.74)
    scheduler.run_due()
    assert out.messages == [(0.5, (ON, 60, 100)), (0.75, (OFF, 60, 0))] and out.handed == [0.49, 0.74]
    assert list(scheduler.lateness) == [0.0]


def test_a_timed_output_never_gets_a_cancel_panic_or_thru_before_an_event_it_holds() -> None:
    """A note-on handed for 0.5 s, then at 0.492 s a cancel: its note-off is given 0.5 s, not 0.492 s, or it would
    go out before its note-on and the note would hang; later messages are not given earlier times either."""
    fake, _, out, scheduler = make(120, timed=True)
    scheduler.schedule([note(1.0, 3.0, 60), note(1.0, 3.0, 64, tag="other")])
    fake.set(0.49)
    scheduler.run_due()
    fake.set(0.492)
    scheduler.cancel("answer")
    scheduler.send_now((ON | 1, 70, 90))
    scheduler.panic()
    assert all(t == 0.5 for t, _ in out.messages)
    assert out.only()[:3] == [(ON, 60, 100), (ON, 64, 100), (OFF, 60, 0)]
    assert_each_note_on_closed_once([(t, m) for t, m in out.messages if m[0] & 0xF0 in (ON, OFF)])
    fake.set(1.0)
    scheduler.send_now((0xB0, 1, 0))
    assert out.messages[-1] == (1.0, (0xB0, 1, 0))
