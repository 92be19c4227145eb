"""The benchmark's other JACK clients, each in a process of its own: the player-listener and the flood.

Outside the engine's process, so their Python never competes with the engine's for one interpreter lock, as a
keyboard and a synth would not. Times are ``perf_counter_ns``, the monotonic clock every process on the machine shares.

``python -m cocomposer.bench.client player --to PORT --from PORT`` reads one JSON command a line on stdin and answers
one JSON line on stdout:

* ``{"play": [[t_ns, [bytes...]], ...]}``: send each message at its time; answers ``{"sent": [t_ns, ...]}``, the time
  taken just before each send;
* ``{"arrivals": true}``: answers ``{"arrivals": [[t_ns, [bytes...]], ...]}``, everything received since the last ask;
* ``{"quit": true}``: closes its ports and exits.

``python -m cocomposer.bench.client frames --from PORT`` listens through a JACK-Client process callback and stamps
each message with the time of its frame (when a synth would play it, exact to the frame) and with the time its
callback ran (when a program reading MIDI sees it: the player's listener, python-rtmidi's, stamps that); answers
``{"arrivals": [[frame_ns, callback_ns, [bytes...]], ...]}`` to ``{"arrivals": true}``. Only its callback and a
clock thread run Python in it, so the callback does not wait for the interpreter lock.

``python -m cocomposer.bench.client flood --to PORT --rate 1000`` sends MIDI clock, active sensing and controller
junk on channel 16 at that rate until its stdin closes, then answers ``{"sent": n, "seconds": s}``.

:class:`ClientProcess` is the benchmark's side of that conversation.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import queue
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence

from cocomposer.errors import CocomposerError
from cocomposer.midi import ports


class ClientError(CocomposerError, RuntimeError):
    """A bench client did not start or stopped answering."""


FLOOD_MESSAGES: tuple[ports.Message, ...] = ((0xF8,), (0xFE,), (0xBF, 1, 0), (0xF8,), (0xDF, 0))


def _say(obj: object) -> None:
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def run_player(to: str, source: str) -> int:
    arrivals: list[tuple[int, list[int]]] = []
    lock = threading.Lock()

    def listen(t_ns: int, message: ports.Message) -> None:
        with lock:
            arrivals.append((t_ns, list(message)))

    with (
        ports.open_output(to, "jack", virtual_name="bench player", client_name="cocomposer-bench-player") as out,
        ports.open_input(source, "jack", virtual_name="bench listener", client_name="cocomposer-bench-listener") as inp,
    ):
        inp.start(listen)
        _say({"ready": True})
        for line in sys.stdin:
            command = json.loads(line)
            if "play" in command:
                sent = []
                for t_ns, message in command["play"]:
                    wait = (t_ns - time.perf_counter_ns()) / 1e9
                    if wait > 0:
                        time.sleep(wait)
                    sent.append(time.perf_counter_ns())
                    out.send(message)
                _say({"sent": sent})
            elif "arrivals" in command:
                with lock:
                    got, arrivals[:] = list(arrivals), []
                _say({"arrivals": got})
            elif "quit" in command:
                break
    return 0


def run_frames_listener(source: str) -> int:
    import jack

    from cocomposer.midi.jack_frames_child import clock_offset_ns, jack_time_functions

    arrivals: list[tuple[int, int, list[int]]] = []
    client = jack.Client("cocomposer-bench-frames", no_start_server=True)
    port = client.midi_inports.register("frames listener")
    get_time, frames_to_time = jack_time_functions(client)
    offset = [clock_offset_ns(get_time)]  # JACK's clock against perf_counter's: they drift apart by ~12 ppm here
    stop = threading.Event()

    @client.set_process_callback
    def process(_frames: int) -> None:
        ran = get_time() * 1000 + offset[0]
        base = client.last_frame_time
        for at, data in port.incoming_midi_events():
            arrivals.append((frames_to_time(base + at) * 1000 + offset[0], ran, list(bytes(data))))

    def follow_clock() -> None:
        while not stop.wait(0.2):
            offset[0] = clock_offset_ns(get_time, 5)

    client.activate()
    threading.Thread(target=follow_clock, daemon=True).start()
    gc.freeze()  # a collection on the callback's thread stays short
    client.connect(source, port)
    _say({"ready": True})
    try:
        for line in sys.stdin:
            command = json.loads(line)
            if "arrivals" in command:
                got = arrivals.copy()
                del arrivals[: len(got)]  # the callback only appends: what came after the copy stays
                _say({"arrivals": got})
            elif "quit" in command:
                break
    finally:
        stop.set()
        client.deactivate()
        client.close()
    return 0


def run_flood(to: str, rate: float) -> int:
    stop = threading.Event()

    def watch_stdin() -> None:
        sys.stdin.read()
        stop.set()

    with ports.open_output(to, "jack", virtual_name="bench flood", client_name="cocomposer-bench-flood") as out:
        threading.Thread(target=watch_stdin, daemon=True).start()
        _say({"ready": True})
        started = time.perf_counter()
        sent = 0
        while not stop.is_set():
            due = int((time.perf_counter() - started) * rate)
            while sent < due:
                message = FLOOD_MESSAGES[sent % len(FLOOD_MESSAGES)]
                if len(message) > 1:
                    message = (*message[:-1], sent % 128)
                out.send(message)
                sent += 1
            time.sleep(0.001)
        _say({"sent": sent, "seconds": time.perf_counter() - started})
    return 0


class ClientProcess:
    """The bench's handle on one of these processes (``role_args``: e.g. ``["flood", "--to", PORT]``)."""

    def __init__(self, role_args: Sequence[str], ready_timeout: float = 20.0) -> None:
        self._stderr = tempfile.TemporaryFile(mode="w+")  # noqa: SIM115 (closed by finish)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "cocomposer.bench.client", *role_args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            text=True,
            bufsize=1,
            env=dict(os.environ),
        )
        self._lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        self.read(ready_timeout)

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self._lines.put(line)
        self._lines.put(None)

    def _stderr_tail(self) -> str:
        self._stderr.seek(0)
        return " | ".join(self._stderr.read().strip().splitlines()[-5:]) or "no output"

    def read(self, timeout: float) -> dict:
        try:
            line = self._lines.get(timeout=timeout)
        except queue.Empty:
            line = None
        if line is None:
            raise ClientError(f"the bench client {self.proc.args[3]} did not answer: {self._stderr_tail()}")
        return json.loads(line)

    def ask(self, command: dict, timeout: float) -> dict:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(command) + "\n")
        self.proc.stdin.flush()
        return self.read(timeout)

    def finish(self, command: dict | None = None, timeout: float = 10.0) -> dict | None:
        """Send ``command`` (or close stdin), read the last answer, and wait for the process to end."""
        answer = None
        try:
            assert self.proc.stdin is not None
            if command is not None:
                self.proc.stdin.write(json.dumps(command) + "\n")
            self.proc.stdin.close()
            if command is None:
                answer = self.read(timeout)
            self.proc.wait(timeout)
        except (OSError, subprocess.TimeoutExpired, ClientError):
            self.proc.kill()
            self.proc.wait(timeout)
        finally:
            self._stderr.close()
        return answer


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cocomposer.bench.client")
    sub = parser.add_subparsers(dest="role", required=True)
    p = sub.add_parser("player")
    p.add_argument("--to", required=True, help="the engine's input port (full JACK name)")
    p.add_argument("--from", dest="source", required=True, help="the engine's output port (full JACK name)")
    p = sub.add_parser("frames")
    p.add_argument("--from", dest="source", required=True, help="the engine's output port (full JACK name)")
    p = sub.add_parser("flood")
    p.add_argument("--to", required=True)
    p.add_argument("--rate", type=float, default=1000.0, help="messages per second")
    args = parser.parse_args(argv)
    if args.role == "frames":
        return run_frames_listener(args.source)
    return run_player(args.to, args.source) if args.role == "player" else run_flood(args.to, args.rate)


if __name__ == "__main__":
    sys.exit(main())
