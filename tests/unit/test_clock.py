"""Clock tests: beats <-> seconds, tempo changes, quantize boundaries, MIDI clock following and clock out.

All on a FakeClock: nothing here waits on real time, except through conditions with a timeout.
"""

from __future__ import annotations

import math
import random
import threading

import pytest

from cocomposer.errors import CocomposerError, ConfigError
from cocomposer.midi_bytes import CONTINUE, SONG_POSITION, START, STOP, TIMING_CLOCK
from cocomposer.timing.clock import PPQN, FakeClock, InternalClock
from cocomposer.timing.midi_clock import ClockSender, MidiClockFollower


class Events:
    """Records clock listener calls."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, float]] = []

    def __call__(self, event: str, beat: float) -> None:
        self.calls.append((event, beat))

    def names(self) -> list[str]:
        return [e for e, _ in self.calls]


class Wire:
    """A MidiOut-like sink recording (fake time, message), with a condition to wait on from the test thread."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.messages: list[tuple[float, tuple[int, ...]]] = []
        self.cond = threading.Condition()

    def send(self, message: tuple[int, ...]) -> None:
        with self.cond:
            self.messages.append((self.clock.now(), tuple(message)))
            self.cond.notify_all()

    def wait_for(self, count: int, timeout: float = 5.0) -> bool:
        with self.cond:
            return self.cond.wait_for(lambda: len(self.messages) >= count, timeout)


# -- FakeClock -------------------------------------------------------------------------------------------------


def test_fake_clock_is_settable_and_monotonic() -> None:
    fake = FakeClock(10.0)
    assert fake.now() == fake() == 10.0
    fake.advance(0.25)
    fake.set(11.0)
    assert fake.now() == 11.0
    with pytest.raises(ConfigError):
        fake.set(10.5)
    with pytest.raises(ConfigError):
        fake.advance(-1.0)


def test_fake_clock_wakes_a_waiting_thread_when_time_passes_its_deadline() -> None:
    fake = FakeClock()
    woke = threading.Event()

    def sleeper() -> None:
        fake.sleep_until(1.0)
        woke.set()

    thread = threading.Thread(target=sleeper, daemon=True)
    thread.start()
    fake.advance(0.5)
    assert not woke.wait(0.05), "woke before its deadline"
    fake.advance(0.5)
    assert woke.wait(5.0)
    thread.join(5.0)


# -- InternalClock ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("bpm", [20.0, 60.0, 90.0, 120.0, 150.0, 300.0])
def test_internal_clock_converts_beats_and_seconds(bpm: float) -> None:
    fake = FakeClock(100.0)
    clock = InternalClock(bpm, now=fake)
    seconds_per_beat = 60.0 / bpm
    assert clock.beat() == 0.0
    for beat in (0.0, 0.5, 1.0, 3.25, 17.0):
        assert clock.time_at(beat) == pytest.approx(100.0 + beat * seconds_per_beat)
        assert clock.beat_at(clock.time_at(beat)) == pytest.approx(beat)
    fake.advance(2 * seconds_per_beat)
    assert clock.beat() == pytest.approx(2.0)
    assert clock.bpm == bpm and clock.running


def test_set_bpm_keeps_the_beat_continuous_and_changes_the_rate() -> None:
    fake = FakeClock()
    clock = InternalClock(120, now=fake)
    events = Events()
    clock.add_listener(events)
    fake.advance(1.25)  # beat 2.5
    before = clock.beat()
    clock.set_bpm(60)
    assert clock.beat() == pytest.approx(before) == pytest.approx(2.5)
    assert events.calls == [("tempo", pytest.approx(2.5))]
    fake.advance(1.0)
    assert clock.beat() == pytest.approx(3.5)
    assert clock.time_at(4.0) == pytest.approx(1.25 + 1.5)
    clock.set_bpm(240)
    assert clock.beat() == pytest.approx(3.5)
    assert clock.time_at(4.5) == pytest.approx(2.25 + 0.25)


@pytest.mark.parametrize("bad", [19.9, 300.1, 0, -120, math.nan, math.inf, "fast", None])
def test_tempo_out_of_range_is_a_config_error(bad: object) -> None:
    with pytest.raises(ConfigError) as info:
        InternalClock(bad)  # type: ignore[arg-type]
    assert isinstance(info.value, ValueError) and isinstance(info.value, CocomposerError)
    clock = InternalClock(120, now=FakeClock())
    with pytest.raises(ConfigError):
        clock.set_bpm(bad)  # type: ignore[arg-type]
    assert clock.bpm == 120


def test_internal_transport_stop_resume_start_and_position() -> None:
    fake = FakeClock()
    clock = InternalClock(120, now=fake)
    events = Events()
    clock.add_listener(events)
    fake.advance(1.0)
    clock.stop()
    assert not clock.running
    fake.advance(5.0)
    assert clock.beat() == pytest.approx(2.0)
    assert clock.time_at(3.0) == math.inf, "a stopped clock never reaches a later beat"
    clock.resume()
    assert clock.time_at(3.0) == pytest.approx(6.0 + 0.5)
    fake.advance(0.5)
    assert clock.beat() == pytest.approx(3.0)
    clock.set_position(8.0)
    assert clock.beat() == pytest.approx(8.0)
    clock.start()
    assert clock.beat() == 0.0 and clock.time_at(1.0) == pytest.approx(fake.now() + 0.5)
    assert events.names() == ["stop", "continue", "position", "start"]
    assert events.calls[0][1] == pytest.approx(2.0)


def test_a_failing_listener_does_not_stop_the_others() -> None:
    clock = InternalClock(120, now=FakeClock())
    events = Events()

    def broken(event: str, beat: float) -> None:
        raise RuntimeError("boom")

    clock.add_listener(broken)
    clock.add_listener(events)
    clock.stop()
    clock.remove_listener(broken)
    clock.remove_listener(broken)  # removing twice is harmless
    assert events.names() == ["stop"]


@pytest.mark.parametrize(
    ("beat", "quantize", "expected"),
    [
        (0.0, "beat", 0.0),
        (0.2, "beat", 1.0),
        (1.0, "beat", 1.0),
        (1.0 - 1e-12, "beat", 1.0),  # float noise below a line: that line
        (1.0 + 1e-12, "beat", 1.0),  # float noise above a line: still that line
        (1.0 + 1e-6, "beat", 2.0),  # passed: the next one
        (0.0, "bar", 0.0),
        (0.1, "bar", 4.0),
        (4.0, "bar", 4.0),
        (4.0 + 1e-6, "bar", 8.0),
        (7.99, "bar", 8.0),
        (-0.5, "bar", 0.0),
        (2.3, "off", 2.3),
    ],
)
def test_next_boundary(beat: float, quantize: str, expected: float) -> None:
    clock = InternalClock(120, now=FakeClock())
    assert clock.next_boundary(beat, quantize) == pytest.approx(expected, abs=1e-12)


def test_next_boundary_in_three_four_and_bad_mode() -> None:
    clock = InternalClock(120, now=FakeClock(), beats_per_bar=3)
    assert clock.next_boundary(3.5, "bar") == 6.0
    with pytest.raises(ConfigError):
        clock.next_boundary(1.0, "bars")
    with pytest.raises(ConfigError):
        InternalClock(120, now=FakeClock(), beats_per_bar=0)


# -- MidiClockFollower -----------------------------------------------------------------------------------------


def feed_ticks(follower: MidiClockFollower, times: list[float]) -> None:
    for t in times:
        follower.feed((TIMING_CLOCK,), t)


def steady(bpm: float, count: int, start: float = 0.0, jitter: float = 0.0, seed: int = 1) -> list[float]:
    rng = random.Random(seed)
    interval = 60.0 / bpm / PPQN
    return [start + k * interval + rng.uniform(-jitter, jitter) for k in range(count)]


def test_before_any_clock_the_follower_is_stopped_at_beat_zero() -> None:
    follower = MidiClockFollower(now=FakeClock())
    assert not follower.running and not follower.has_tempo
    assert follower.beat_at(10.0) == 0.0
    assert follower.time_at(1.0) == math.inf
    assert follower.bpm == 120.0  # the default until clock arrives
    assert not follower.feed((0x90, 60, 100), 0.0) and not follower.feed((), 0.0)


@pytest.mark.parametrize("bpm", [90.0, 120.0, 150.0])
def test_steady_clock_is_within_one_bpm_within_two_beats(bpm: float) -> None:
    follower = MidiClockFollower(now=FakeClock())
    feed_ticks(follower, steady(bpm, 2 * PPQN))
    assert follower.bpm == pytest.approx(bpm, abs=1.0)


@pytest.mark.parametrize("bpm", [90.0, 120.0, 150.0])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_jittered_clock_is_within_one_bpm(bpm: float, seed: int) -> None:
    follower = MidiClockFollower(now=FakeClock())
    times = steady(bpm, 8 * PPQN, jitter=0.001, seed=seed)
    for k, t in enumerate(times):
        follower.feed((TIMING_CLOCK,), t)
        if k >= 2 * PPQN:
            assert follower.bpm == pytest.approx(bpm, abs=1.0), f"tick {k}"


def test_ramp_is_followed() -> None:
    follower = MidiClockFollower(now=FakeClock())
    t, start_bpm, end_bpm, ticks = 0.0, 120.0, 150.0, 16 * PPQN
    rng = random.Random(7)
    for k in range(ticks):
        bpm = start_bpm + (end_bpm - start_bpm) * k / ticks
        follower.feed((TIMING_CLOCK,), t + rng.uniform(-0.0005, 0.0005))
        if k >= 2 * PPQN:
            assert follower.bpm == pytest.approx(bpm, abs=1.5), f"tick {k}"
        t += 60.0 / bpm / PPQN


@pytest.mark.parametrize(("before", "after"), [(120.0, 90.0), (120.0, 150.0), (90.0, 180.0)])
def test_tempo_jump_is_followed_within_two_beats(before: float, after: float) -> None:
    follower = MidiClockFollower(now=FakeClock())
    events = Events()
    follower.add_listener(events)
    first = steady(before, 4 * PPQN, jitter=0.0005)
    start = first[-1] + 60.0 / after / PPQN
    feed_ticks(follower, first)
    assert follower.bpm == pytest.approx(before, abs=1.0)
    feed_ticks(follower, steady(after, 2 * PPQN, start=start, jitter=0.0005, seed=5))
    assert follower.bpm == pytest.approx(after, abs=1.0)
    assert "tempo" in events.names()


def test_an_isolated_late_tick_does_not_move_the_tempo() -> None:
    follower = MidiClockFollower(now=FakeClock())
    times = steady(120.0, 4 * PPQN)
    times[60] += 0.008  # one tick 8 ms late
    feed_ticks(follower, times[:61])
    assert follower.bpm == pytest.approx(120.0, abs=0.1)
    feed_ticks(follower, times[61:])
    assert follower.bpm == pytest.approx(120.0, abs=0.1)


def test_start_positions_at_zero_and_the_first_clock_plays_beat_zero() -> None:
    follower = MidiClockFollower(now=FakeClock())
    events = Events()
    follower.add_listener(events)
    times = steady(120.0, 49, start=1.0)
    feed_ticks(follower, times[:24])  # clock while stopped: tempo only
    assert not follower.running and follower.beat_at(times[23]) == 0.0
    follower.feed((START,), times[24] - 0.001)
    assert follower.running and follower.beat_at(times[24] - 0.0005) == 0.0
    follower.feed((TIMING_CLOCK,), times[24])
    assert follower.beat_at(times[24]) == 0.0
    feed_ticks(follower, times[25:49])
    assert follower.beat_at(times[48]) == pytest.approx(1.0)
    assert follower.time_at(2.0) == pytest.approx(times[48] + 0.5, abs=1e-6)
    assert "start" in events.names()


def test_between_ticks_beat_is_smooth_monotonic_and_phase_locked() -> None:
    follower = MidiClockFollower(now=FakeClock())
    follower.feed((START,), 0.0)
    times = steady(120.0, 96, jitter=0.001, seed=9)
    previous = -1.0
    for k, t in enumerate(times):
        follower.feed((TIMING_CLOCK,), t)
        assert follower.beat_at(t) == pytest.approx(k / PPQN), "a tick's beat is ticks/24"
        nxt = times[k + 1] if k + 1 < len(times) else t + 0.03
        for i in range(5):
            probe = t + (nxt - t) * i / 5
            beat = follower.beat_at(probe)
            assert beat >= previous - 1e-12, "time -> beat must not go back"
            assert beat <= (k + 1) / PPQN + 1e-12, "never past the next tick's beat"
            previous = beat


def test_stop_continue_and_song_position() -> None:
    follower = MidiClockFollower(now=FakeClock())
    events = Events()
    follower.add_listener(events)
    follower.feed((START,), 0.0)
    times = steady(120.0, 48, start=0.01)
    feed_ticks(follower, times)  # ticks 0..47 play beats 0 .. 47/24
    follower.feed((STOP,), times[-1] + 0.005)
    assert not follower.running
    assert follower.beat_at(times[-1] + 10.0) == pytest.approx(2.0), "stopped: holds the next tick's position"
    assert follower.time_at(2.5) == math.inf
    feed_ticks(follower, steady(120.0, 10, start=times[-1] + 0.02))  # clock keeps coming while stopped
    assert follower.beat_at(100.0) == pytest.approx(2.0)
    follower.feed((SONG_POSITION, 16 & 0x7F, 16 >> 7), 2.0)  # 16 sixteenths = beat 4
    assert follower.beat_at(2.0) == pytest.approx(4.0) and not follower.running
    follower.feed((SONG_POSITION, 0x10, 0x01), 2.1)  # 16 + 128 sixteenths = beat 36
    assert follower.beat_at(2.1) == pytest.approx(36.0)
    follower.feed((CONTINUE,), 3.0)
    assert follower.running
    follower.feed((TIMING_CLOCK,), 3.01)
    assert follower.beat_at(3.01) == pytest.approx(36.0), "the first clock after Continue plays the position"
    follower.feed((TIMING_CLOCK,), 3.01 + 60 / 120 / PPQN)
    assert follower.beat_at(3.01 + 60 / 120 / PPQN) == pytest.approx(36.0 + 1 / PPQN)
    assert [e for e in events.names() if e != "tempo"] == ["start", "stop", "position", "position", "continue"]
    assert not follower.feed((SONG_POSITION, 1), 4.0), "a truncated song position pointer is ignored"


def test_a_gap_in_the_clock_restarts_the_estimate() -> None:
    follower = MidiClockFollower(now=FakeClock())
    first = steady(120.0, 48)
    feed_ticks(follower, first)
    feed_ticks(follower, steady(100.0, 48, start=first[-1] + 2.0))
    assert follower.bpm == pytest.approx(100.0, abs=0.5)


def test_smoothing_is_validated() -> None:
    with pytest.raises(ConfigError):
        MidiClockFollower(now=FakeClock(), smoothing=1)


# -- ClockSender -----------------------------------------------------------------------------------------------


def test_clock_sender_ticks_at_the_tempo_without_drift_and_mirrors_transport() -> None:
    fake = FakeClock(5.0)
    clock = InternalClock(120, now=fake)
    wire = Wire(fake)
    sender = ClockSender(wire.send, clock)
    sender.start()
    try:
        assert wire.wait_for(2), "0xFA then the first tick at beat 0"
        assert wire.messages[0] == (5.0, (START,)) and wire.messages[1] == (5.0, (TIMING_CLOCK,))
        for k in range(1, 2 * PPQN + 1):
            fake.set(clock.time_at(k / PPQN))
            assert wire.wait_for(k + 2), f"tick {k}"
        clock.set_bpm(60)
        base = len(wire.messages)
        for k in range(2 * PPQN + 1, 2 * PPQN + 13):
            fake.set(clock.time_at(k / PPQN))
            assert wire.wait_for(base + k - 2 * PPQN), f"tick {k}"
    finally:
        sender.stop()
    ticks = [t for t, m in wire.messages if m == (TIMING_CLOCK,)]
    assert ticks[:49] == pytest.approx([5.0 + k * 0.5 / PPQN for k in range(49)], abs=1e-9), "no drift at 120 BPM"
    assert ticks[49:] == pytest.approx([ticks[48] + k * 1.0 / PPQN for k in range(1, 13)], abs=1e-9), "60 BPM"
    assert wire.messages[-1][1] == (STOP,)
    assert sender.ticks_sent == len(ticks) == 61


def test_clock_sender_feeds_a_follower_end_to_end() -> None:
    fake = FakeClock()
    clock = InternalClock(137, now=fake)
    follower = MidiClockFollower(now=fake)
    wire = Wire(fake)

    def send(message: tuple[int, ...]) -> None:
        follower.feed(message, fake.now())
        wire.send(message)

    sender = ClockSender(send, clock)
    sender.start()
    try:
        assert wire.wait_for(2) and follower.running
        for k in range(1, 3 * PPQN + 1):
            fake.set(clock.time_at(k / PPQN))
            assert wire.wait_for(k + 2), f"tick {k}"
        assert follower.bpm == pytest.approx(137.0, abs=0.01)
        assert follower.beat() == pytest.approx(3.0)
    finally:
        sender.stop()
    assert not follower.running


def test_follower_counts_a_clock_lost_on_the_way() -> None:
    fake = FakeClock()
    follower = MidiClockFollower(now=fake.now)
    interval = 60 / 120 / 24
    follower.feed((0xFA,), 0.0)
    sent = [k * interval for k in range(96)]
    for k, t in enumerate(sent):
        if k == 50:
            continue  # this clock never arrives
        follower.feed((0xF8,), t)
    assert follower.beat_at(sent[-1]) == pytest.approx(95 / 24, abs=1e-6)
    assert follower.bpm == pytest.approx(120, abs=0.5)


def test_follower_does_not_mistake_a_slower_tempo_for_lost_clocks() -> None:
    fake = FakeClock()
    follower = MidiClockFollower(now=fake.now)
    follower.feed((0xFA,), 0.0)
    t, k = 0.0, 0
    for bpm in (120,) * 48 + (60,) * 48:  # the tempo halves: every interval doubles from tick 48 on
        follower.feed((0xF8,), t)
        t += 60 / bpm / 24
        k += 1
    assert follower.beat_at(t - 60 / 60 / 24) == pytest.approx((k - 1) / 24, abs=0.2)
    assert follower.bpm == pytest.approx(60, abs=2)


def ticks_with_tempo_change(before: float, after: float, change: int, count: int) -> list[float]:
    """Send times of ``count`` clocks: ``before`` BPM up to tick ``change``, ``after`` from there on."""
    times, t = [], 0.0
    for k in range(count):
        times.append(t)
        t += 60 / (before if k < change else after) / 24
    return times


@pytest.mark.parametrize(
    ("before", "after", "lost"),
    [(120.0, 96.0, 1), (120.0, 96.0, 2), (120.0, 60.0, 1), (120.0, 60.0, 2), (120.0, 150.0, 2), (96.0, 120.0, 2)],
)
def test_follower_counts_clocks_lost_at_a_tempo_change(before: float, after: float, lost: int) -> None:
    # One clock lost just as the tempo rises is not told apart: the faster ticks close the gap before it shows.
    follower = MidiClockFollower(now=FakeClock())
    follower.feed((START,), -0.001)
    sent = ticks_with_tempo_change(before, after, 48, 120)
    for k, t in enumerate(sent):
        if not 49 <= k < 49 + lost:  # the first clocks at the new tempo never arrive
            follower.feed((TIMING_CLOCK,), t)
    assert follower.beat_at(sent[-1]) == pytest.approx(119 / 24, abs=1e-6)
    assert follower.bpm == pytest.approx(after, abs=0.5)


def test_follower_counts_a_lost_clock_whose_neighbour_came_late() -> None:
    follower = MidiClockFollower(now=FakeClock())
    follower.feed((START,), -0.001)
    sent = steady(120.0, 96)
    for k, t in enumerate(sent):
        if k != 50:  # lost; the one before it came 5 ms late, so it cannot be told from jitter at once
            follower.feed((TIMING_CLOCK,), t + (0.005 if k == 49 else 0.0))
    assert follower.beat_at(sent[-1]) == pytest.approx(95 / 24, abs=1e-6)
    assert follower.bpm == pytest.approx(120.0, abs=0.5)


@pytest.mark.parametrize(("before", "after"), [(120.0, 96.0), (120.0, 60.0), (60.0, 120.0), (90.0, 180.0)])
def test_a_tempo_change_with_no_clock_lost_keeps_the_count(before: float, after: float) -> None:
    follower = MidiClockFollower(now=FakeClock())
    follower.feed((START,), -0.001)
    sent = ticks_with_tempo_change(before, after, 48, 120)
    feed_ticks(follower, sent)
    assert follower.beat_at(sent[-1]) == pytest.approx(119 / 24, abs=1e-6)
    assert follower.bpm == pytest.approx(after, abs=0.5)


def test_clock_sender_continues_and_rejoins_with_a_song_position_on_a_sixteenth() -> None:
    fake = FakeClock()
    clock = InternalClock(120, now=fake)
    wire = Wire(fake)
    sender = ClockSender(wire.send, clock)
    sender.start()
    try:
        assert wire.wait_for(2)
        fake.set(clock.time_at(2 / PPQN))  # ticks 1 and 2
        assert wire.wait_for(4)
        clock.stop()
        assert wire.wait_for(5)
        clock.resume()  # from beat 1/12: the next tick is 3, the next sixteenth is tick 6
        for k in range(3, 8):
            fake.set(clock.time_at(k / PPQN))
        assert wire.wait_for(5 + 5 + 2)
        after_stop = [m for _, m in wire.messages[5:]]
        assert after_stop == [(TIMING_CLOCK,)] * 3 + [(SONG_POSITION, 1, 0), (CONTINUE,)] + [(TIMING_CLOCK,)] * 2
        sender.rejoin()  # a follower connected late: SPP + Continue before the next tick on a sixteenth (12)
        for k in range(8, 13):
            fake.set(clock.time_at(k / PPQN))
        assert wire.wait_for(12 + 5 + 2)
        assert [m for _, m in wire.messages[12:]] == [(TIMING_CLOCK,)] * 4 + [(SONG_POSITION, 2, 0), (CONTINUE,)] + [
            (TIMING_CLOCK,)
        ]
    finally:
        sender.stop()


def test_a_follower_ignores_a_sender_retelling_where_it_is() -> None:
    fake = FakeClock()
    follower = MidiClockFollower(now=fake.now)
    events = Events()
    follower.add_listener(events)
    interval = 60 / 120 / PPQN
    follower.feed((START,), 0.0)
    for k in range(12):
        follower.feed((TIMING_CLOCK,), k * interval)
    follower.feed((SONG_POSITION, 2, 0), 12 * interval)  # sixteenth 2 = tick 12: where it is
    follower.feed((CONTINUE,), 12 * interval)
    assert [e for e in events.names() if e != "tempo"] == ["start"]
    follower.feed((SONG_POSITION, 8, 0), 12 * interval)  # elsewhere while running: a relocation
    assert [e for e in events.names() if e != "tempo"] == ["start", "position"]
    assert follower.beat_at(12 * interval) == pytest.approx(2.0)


@pytest.mark.parametrize("bpm", [90.0, 120.0, 150.0])
@pytest.mark.parametrize("spacing", [0.0, 0.00002, 0.00133, 0.0027])  # one burst, or one clock per JACK period
@pytest.mark.parametrize("held", [3.5, 5.5, 8.5])  # clock intervals the stall lasts
def test_clocks_held_up_by_a_stall_are_not_a_tempo_jump(bpm: float, spacing: float, held: float) -> None:
    # A busy machine or a JACK xrun holds the clock back, then lets the backlog through at once. Read as a new tempo
    # (it was: 125,000 BPM), every answer note planned in beats fell due together, up to a beat early.
    follower = MidiClockFollower(now=FakeClock())
    follower.feed((START,), -0.001)
    sent = steady(bpm, 6 * PPQN, jitter=0.0003)
    stalled, released = sent[2 * PPQN], sent[2 * PPQN] + held * 60.0 / bpm / PPQN
    held_back, last = 0, -math.inf
    for k, t in enumerate(sent):
        if t >= stalled:  # held until the release, then let through at most one per `spacing`
            held_back += t < released
            t = max(t, released if t < released else t, last + spacing)
        follower.feed((TIMING_CLOCK,), t)
        last = t
        if k >= PPQN:
            assert follower.bpm == pytest.approx(bpm, abs=1.0), f"tick {k}"
    assert held_back >= 3 and follower.ticks == len(sent)
    assert follower.beat_at(sent[-1]) == pytest.approx((len(sent) - 1) / PPQN, abs=1e-6)


@pytest.mark.parametrize("off", [-0.3, 0.3])
def test_a_lost_clock_is_counted_when_the_tick_after_the_next_is_off(off: float) -> None:
    follower = MidiClockFollower(now=FakeClock())
    follower.feed((START,), -0.001)
    sent = steady(120.0, 120)
    for k, t in enumerate(sent):
        if k != 50:  # lost; the second clock after it comes 30% of an interval early or late
            follower.feed((TIMING_CLOCK,), t + (off * 60.0 / 120.0 / PPQN if k == 52 else 0.0))
        if k > PPQN:
            assert follower.bpm == pytest.approx(120.0, abs=5.0), f"tick {k}"
    assert follower.ticks == len(sent)
