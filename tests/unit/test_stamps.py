"""Arrival stamps from RtMidi's delta times (cocomposer.midi.stamps): on the reader's clock, within the shortest poll
delay seen, never after the poll that read them."""

from __future__ import annotations

import random

from cocomposer.midi.stamps import DriverClock


def _session(rate: float = 1.0, seed: int = 1) -> list[tuple[int, int, int]]:
    """(true arrival ns, read ns, stamp ns) for 2,000 messages read by a poll 0.05-2 ms late; the driver's clock
    runs at ``rate`` times ours."""
    rng = random.Random(seed)
    clock, out = DriverClock(), []
    t, last_driver = 5_000_000_000, None
    for _ in range(2000):
        t += rng.choice((0, 0, 300_000, 2_000_000, 20_000_000, 250_000_000))  # chords, runs, rests
        driver = t * rate
        delta = 0.0 if last_driver is None else (driver - last_driver) / 1e9
        last_driver = driver
        read = t + rng.randint(50_000, 2_000_000)
        out.append((t, read, clock.stamp(delta, read)))
    return out


def test_stamps_are_the_arrival_times_not_the_poll_times() -> None:
    session = _session()
    errors = [stamp - true for true, _, stamp in session[50:]]
    assert all(stamp <= read for _, read, stamp in session), "never stamped after the poll that read it"
    errors.sort(key=abs)
    assert abs(errors[len(errors) // 2]) <= 150_000, f"median: shortest poll delay + drift: {errors[:9]}"
    assert abs(errors[-1]) <= 250_000, f"at most the drift allowance off (20 ppm between good reads): {errors[-1]}"
    poll_errors = sorted(read - true for true, read, _ in session[50:])
    assert poll_errors[len(poll_errors) // 2] > 900_000, "the poll time itself would be off by about a millisecond"


def test_a_driver_clock_slower_than_ours_is_followed() -> None:
    session = _session(rate=1 - 10e-6)  # 10 ppm slow: 5 ms behind after the 500-odd seconds of this session
    errors = [abs(stamp - true) for true, _, stamp in session[-500:]]
    assert max(errors) <= 1_000_000, f"the drift is followed within 1 ms: {max(errors)} ns"


def test_the_first_message_is_stamped_at_its_read_time() -> None:
    clock = DriverClock()
    assert clock.stamp(0.0, 1_000) == 1_000


def test_time_lost_from_the_sum_is_found_again_within_two_windows() -> None:
    """A message RtMidi timed but did not queue (a full queue) takes its interval out of the running sum."""
    rng = random.Random(2)
    clock = DriverClock()
    t, errors = 1_000_000_000, []
    for i in range(400):  # a message every 20 ms (the sysex guard alone sends that many), 8 s
        step = 20_000_000
        t += step
        delta = step / 1e9 if i != 100 else 0.0  # at 2 s, 20 ms vanish from the sum
        read = t + rng.randint(50_000, 1_500_000)
        errors.append(clock.stamp(delta, read) - t)
    assert min(errors[101:140]) < -15_000_000, "the lost time shows: stamps 20 ms early"
    assert max(abs(e) for e in errors[250:]) <= 1_600_000, f"found again: {errors[250:260]}"
    assert clock.resyncs >= 1
