"""`cocomposer calibrate`: measure the MIDI round trip out -> in through a loopback route and suggest an offset.

Route cocomposer's calibration output back to its input (a cable, the DAW's MIDI monitoring, or `jack_connect`),
then run `cocomposer calibrate --out NAME --in NAME`. It sends numbered probes (CC 119, a controller no instrument
uses by convention) and times their return. Half the median round trip is a good first `--output-offset` (negative:
send that much early), assuming the way out and the way back are about equally slow.
"""

from __future__ import annotations

import argparse
import queue
import statistics
import time

from cocomposer.errors import CocomposerError
from cocomposer.midi import ports
from cocomposer.midi_bytes import CONTROL_CHANGE

PROBE_CC = 119


def measure_round_trip(
    midi_out: ports.MidiOut, midi_in: ports.MidiIn, count: int = 50, interval: float = 0.02, timeout: float = 1.0
) -> list[float]:
    """Round-trip times in seconds of ``count`` probes; raises when none comes back."""
    arrivals: queue.Queue = queue.Queue()
    midi_in.start(lambda t_ns, msg: arrivals.put((t_ns, msg)))
    trips: list[float] = []
    for i in range(count):
        value = i % 128
        sent = time.perf_counter_ns()
        midi_out.send((CONTROL_CHANGE | 15, PROBE_CC, value))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                t_ns, msg = arrivals.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                break
            if len(msg) == 3 and msg[0] == CONTROL_CHANGE | 15 and msg[1] == PROBE_CC and msg[2] == value:
                trips.append((t_ns - sent) / 1e9)
                break
        time.sleep(interval)
    if not trips:
        raise CocomposerError(
            f"no probe came back from '{midi_in.name}' within {timeout:g} s; route '{midi_out.name}' to it "
            "(a MIDI cable, the DAW's monitoring, or jack_connect) and try again"
        )
    return trips


def run_calibrate(args: argparse.Namespace) -> int:
    with (
        ports.open_output(args.out_port, args.api, virtual_name="cocomposer calibrate out") as out,
        ports.open_input(args.in_port, args.api, virtual_name="cocomposer calibrate in") as inp,
    ):
        trips = sorted(measure_round_trip(out, inp, args.count))
    median = statistics.median(trips) * 1000
    p99 = trips[min(len(trips) - 1, int(0.99 * len(trips)))] * 1000
    print(
        f"{len(trips)}/{args.count} probes came back: round trip median {median:.2f} ms, p99 {p99:.2f} ms, "
        f"max {trips[-1] * 1000:.2f} ms"
    )
    print(f"suggested: --output-offset {-median / 2:.1f}  (half the round trip, sent early)")
    return 0
