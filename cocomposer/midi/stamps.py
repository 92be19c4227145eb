"""Arrival times from the driver: each incoming message stamped when the MIDI driver received it, not when a
Python thread got round to reading it.

RtMidi gives every message the time since the one before it, taken by the driver (JACK: ``jack_get_time()`` in the
process cycle that received it; ALSA: the sequencer's event time; CoreMIDI and WinMM: the driver's timestamp). Their
running sum is the driver's clock, counted from the first message; :class:`DriverClock` places that clock on ours
(``perf_counter``): every message was received no later than the poll that read it, so the driver clock's origin on
our clock is at most ``poll time - driver time`` of every message read so far, and the smallest of these bounds is
the estimate (it converges on the true origin within the shortest poll delay seen, tens of microseconds). The bound
may creep later by ``DRIFT`` (20 ppm) of the time since the last update, so a driver clock that runs a little slower
than ours is followed, not left behind. A message is never stamped later than the poll that read it.

The running sum is only whole while RtMidi queues every message it timed: one it drops (a message type it was told
to ignore, a full queue) takes its interval out of the sum, and the driver clock falls behind. So the input ignores
no message type (cocomposer drops active sensing itself), and when, for a whole ``WINDOW_SECONDS``, every message
was read more than ``RESYNC_SECONDS`` after its estimated arrival, the origin moves up by the smallest of those
delays (a poll is never that late for a second on end; time was lost from the sum).
"""

from __future__ import annotations


class DriverClock:
    """Turns RtMidi's delta times into stamps on the reader's clock (nanoseconds)."""

    DRIFT = 20e-6  # how fast (s/s) the origin may move later than its lowest bound: clock drift allowed
    WINDOW_SECONDS = 1.0
    RESYNC_SECONDS = 0.002

    def __init__(self) -> None:
        self._driver_ns = 0  # the driver's time of the last message, from the first message
        self._origin_ns: int | None = None  # the driver's time 0 on the reader's clock
        self._updated_ns = 0
        self._window_start_ns = 0
        self._window_min_ns: int | None = None  # the shortest read delay (bound - origin) in the current window
        self.resyncs = 0

    def stamp(self, delta_seconds: float, read_ns: int) -> int:
        """The reader-clock time at which a message arrived, given RtMidi's delta for it and when it was read."""
        if self._origin_ns is not None:
            self._driver_ns += max(0, round(delta_seconds * 1e9))
        bound = read_ns - self._driver_ns
        if self._origin_ns is None:
            self._origin_ns, self._window_start_ns = bound, read_ns
        else:
            crept = self._origin_ns + int((read_ns - self._updated_ns) * self.DRIFT)
            self._origin_ns = min(bound, crept)
            delay = bound - self._origin_ns
            self._window_min_ns = delay if self._window_min_ns is None else min(self._window_min_ns, delay)
            if read_ns - self._window_start_ns >= self.WINDOW_SECONDS * 1e9:
                if self._window_min_ns > self.RESYNC_SECONDS * 1e9:
                    self._origin_ns += self._window_min_ns
                    self.resyncs += 1
                self._window_start_ns, self._window_min_ns = read_ns, None
        self._updated_ns = read_ns
        return self._origin_ns + self._driver_ns
