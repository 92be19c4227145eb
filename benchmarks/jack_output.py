"""Which output keeps time better here: python-rtmidi sent at the scheduler's wake-up (spinning its last 0.3 ms, as
cocomposer does), or JACK frame offsets written from a Python process callback (JACK-Client)?

A private real-time JACK server (48 kHz, 64 frames); a listener in a process of its own reads each note-on's frame
in its own process callback and turns it into JACK's microseconds (``jack_frames_to_time``), so the arrival is
exact to the frame. The sender plays the same notes, 5-25 ms apart, both ways:

* ``rtmidi``: cocomposer's own ``Scheduler`` over a python-rtmidi JACK output (RtMidi writes at frame 0 of the
  cycle after the send);
* ``frames``: the notes are queued ahead; a JACK-Client process callback writes each one at the frame of its time.

each on an idle interpreter, while a thread of the sender samples the shipped model without a pause (what the
generator does while it answers), and while a thread runs pure Python (the worst case for a Python callback, which
waits for the interpreter lock). Error = arrival - intended, in ms. Run on a quiet machine:

    python benchmarks/jack_output.py -o benchmarks/jack_output.json
"""

from __future__ import annotations

import argparse
import heapq
import json
import os
import random
import subprocess
import sys
import threading
import time

import numpy as np

from cocomposer.bench.jackd import PrivateJackd
from cocomposer.midi.jack_frames_child import jack_time_functions
from cocomposer.percentiles import percentile

RATE, PERIOD = 48000, 64


def listen() -> int:
    """The listener: prints its port's name, records note-on arrivals until stdin closes, prints them as JSON."""
    import jack

    client = jack.Client("frames-listener", no_start_server=True)
    port = client.midi_inports.register("in")
    _, frames_to_time = jack_time_functions(client)
    arrivals: list[tuple[int, int]] = []

    @client.set_process_callback
    def process(frames: int) -> None:
        base = client.last_frame_time
        for offset, buffer in port.incoming_midi_events():
            data = bytes(buffer)
            if len(data) == 3 and data[0] & 0xF0 == 0x90 and data[2] > 0:
                arrivals.append((frames_to_time(base + offset), data[1] | data[2] << 8))

    client.activate()
    print(port.name, flush=True)
    sys.stdin.read()
    client.deactivate()
    print(json.dumps(arrivals), flush=True)
    client.close()
    return 0


def _plan(count: int, seed: int) -> list[float]:
    """Note times in seconds from 0.2 s, 5-25 ms apart."""
    rng = random.Random(seed)
    times, t = [], 0.2
    for _ in range(count):
        times.append(t)
        t += rng.uniform(0.005, 0.025)
    return times


def _by_rtmidi(target: str, times: list[float], get_time) -> list[tuple[int, int]]:
    """Play through cocomposer's scheduler and a python-rtmidi JACK output; (intended JACK us, id) per note."""
    from cocomposer.engine.scheduler import ScheduledNote, Scheduler
    from cocomposer.midi import ports
    from cocomposer.timing.clock import InternalClock

    with ports.open_output(target, "jack", virtual_name="out", client_name="frames-rtmidi") as out:
        time.sleep(0.3)
        clock = InternalClock(60.0)  # one beat a second: a note's beat is its time in seconds from the clock's 0
        offset_us = get_time() - time.perf_counter_ns() / 1000  # JACK's clock minus perf_counter's
        scheduler = Scheduler(out, clock, late_tolerance=1.0)
        notes = [ScheduledNote(t, t + 0.002, 60 + i % 24, 1 + i // 24 % 100, 0) for i, t in enumerate(times)]
        with scheduler:
            scheduler.schedule(notes)
            time.sleep(times[-1] + 0.3)
        return [(int(clock.time_at(n.start_beat) * 1e6 + offset_us), n.pitch | n.velocity << 8) for n in notes]


def _by_frames(target: str, times: list[float]) -> list[tuple[int, int]]:
    """Play from a JACK-Client process callback at frame offsets; (intended JACK us, id) per note."""
    import jack

    client = jack.Client("frames-out", no_start_server=True)
    port = client.midi_outports.register("out")
    get_time, frames_to_time = jack_time_functions(client)
    queued: list[tuple[int, int, bytes]] = []
    lock = threading.Lock()

    @client.set_process_callback
    def process(frames: int) -> None:
        port.clear_buffer()
        start = frames_to_time(client.last_frame_time)
        end = start + frames * 1e6 / RATE
        with lock:
            while queued and queued[0][0] < end:
                due, _, data = heapq.heappop(queued)
                port.write_midi_event(min(frames - 1, max(0, round((due - start) * RATE / 1e6))), data)

    client.activate()
    client.connect(port, target)
    time.sleep(0.3)
    zero = get_time() + 50_000
    plan = []
    with lock:
        for i, t in enumerate(times):
            note_id = 60 + i % 24 | (1 + i // 24 % 100) << 8
            due = int(zero + t * 1e6)
            heapq.heappush(queued, (due, i, bytes([0x90, note_id & 0x7F, note_id >> 8])))
            plan.append((due, note_id))
    time.sleep(0.05 + times[-1] + 0.3)
    client.deactivate()
    client.close()
    return plan


class _Busy:
    """A thread that samples the shipped model without a pause, as the generator does while it answers (``model``),
    or runs pure Python, holding the interpreter lock for up to its switch interval at a time (``python``)."""

    def __init__(self, kind: str) -> None:
        from cocomposer.model.runtime import OnnxModel
        from cocomposer.model.sampling import Controls

        self.kind = kind
        self.model, self.controls = OnnxModel.load(), Controls()
        self.stop, self.steps = threading.Event(), 0
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        rng = np.random.default_rng(0)
        while not self.stop.is_set():
            if self.kind == "python":
                sum(i * i for i in range(10_000))
                continue
            self.model.reset()
            for _ in range(200):
                self.model.step(self.model.sample(self.controls, rng, (), {}, True, None))
                self.steps += 1

    def __enter__(self) -> _Busy:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join()


def _errors(plan: list[tuple[int, int]], arrivals: list[tuple[int, int]]) -> dict:
    pending: dict[int, list[int]] = {}
    for t, note_id in arrivals:
        pending.setdefault(note_id, []).append(t)
    errors = []
    for due, note_id in plan:
        times = pending.get(note_id, [])
        match = next((t for t in times if due - 2_000 <= t <= due + 100_000), None)
        if match is not None:
            times.remove(match)
            errors.append((match - due) / 1000)
    return {
        "sent": len(plan),
        "arrived": len(errors),
        "error_ms": {
            name: round(percentile(errors, q), 3) for name, q in (("min", 0), ("p50", 50), ("p99", 99), ("max", 100))
        }
        if errors
        else None,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--notes", type=int, default=600)
    parser.add_argument("-o", "--output")
    parser.add_argument("--listen", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.listen:
        return listen()
    server = PrivateJackd(f"cocomposer-frames-{os.getpid()}")
    server.start()
    os.environ.update(server.env)
    results: dict = {"server": {"realtime": server.realtime, "rate": RATE, "period": PERIOD}, "load": os.getloadavg()}
    try:
        import jack

        probe = jack.Client("frames-clock", no_start_server=True)
        get_time, _ = jack_time_functions(probe)
        for busy in ("idle", "model sampling in a thread", "pure Python in a thread"):
            for method in ("rtmidi", "frames"):
                listener = subprocess.Popen(
                    [sys.executable, __file__, "--listen"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
                )
                target = listener.stdout.readline().strip()
                times = _plan(args.notes, seed=len(results))
                name = f"{method}, {busy}"
                # seen once: frames under pure Python never finished (killed after 400 s); say so and stop
                watchdog = threading.Timer(times[-1] + 60, _give_up, (results, name, args.output, server))
                watchdog.daemon = True
                watchdog.start()
                context = None if busy == "idle" else _Busy("model" if busy.startswith("model") else "python")
                if context is not None:
                    context.__enter__()
                try:
                    plan = _by_rtmidi(target, times, get_time) if method == "rtmidi" else _by_frames(target, times)
                finally:
                    if context is not None:
                        context.__exit__()
                out, _ = listener.communicate("", timeout=30)
                arrivals = json.loads(out.strip().splitlines()[-1])
                watchdog.cancel()
                results[name] = _errors(plan, arrivals)
                print(name, results[name], flush=True)
                _write(results, args.output)
        probe.close()
        results["xruns"] = server.xruns()
    finally:
        server.stop()
    _write(results, args.output)
    return 0


def _write(results: dict, path: str | None) -> None:
    if path:
        with open(path, "w") as f:
            json.dump(results, f, indent=1)


def _give_up(results: dict, name: str, path: str | None, server: PrivateJackd) -> None:
    results[name] = {"did_not_finish": True}
    print(name, results[name], flush=True)
    _write(results, path)
    server.stop()
    os._exit(3)


if __name__ == "__main__":
    sys.exit(main())
