"""The soak: `cocomposer run` in accompany mode for a long while, a player client playing phrases into it the whole
time, the process's memory and threads sampled; at the end it is stopped by SIGINT and nothing may be left sounding.

``cocomposer bench --soak MINUTES`` runs it (one hour for the record; CI runs two minutes) and writes the samples, the
memory slope (least squares over the samples after the first fifth, the warm-up), the thread counts and what the
listener heard. Memory and threads are read from ``/proc/PID/status`` (Linux only).
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from cocomposer.bench.client import ClientProcess
from cocomposer.bench.jack import full_port_name, jack_server
from cocomposer.console.progress import Progress
from cocomposer.errors import BenchError

PHRASE_NOTES = 8
NOTE_SECONDS = 0.25  # eighth notes at 120 BPM
REST_SECONDS = 1.5  # between phrases: accompaniment goes on through the rests


def _proc_status(pid: int) -> tuple[int, int]:
    """(resident memory in kB, threads) of process ``pid``."""
    fields: dict[str, str] = {}
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            key, _, value = line.partition(":")
            fields[key] = value.strip()
    return int(fields["VmRSS"].split()[0]), int(fields["Threads"])


def _slope(samples: list[tuple[float, int, int]]) -> float:
    """kB per minute, least squares over the samples after the first fifth of the run."""
    if len(samples) < 3:
        return 0.0
    start = samples[0][0] + (samples[-1][0] - samples[0][0]) / 5
    points = [(t / 60, rss) for t, rss, _ in samples if t >= start]
    if len(points) < 2:
        return 0.0
    n = len(points)
    mean_t = sum(t for t, _ in points) / n
    mean_r = sum(r for _, r in points) / n
    sxx = sum((t - mean_t) ** 2 for t, _ in points)
    return sum((t - mean_t) * (r - mean_r) for t, r in points) / sxx if sxx else 0.0


class _Ears:
    """What the listener heard: note-ons, and which notes are sounding now (CC 123 closes a channel)."""

    def __init__(self) -> None:
        self.note_ons = 0
        self.sounding: dict[tuple[int, int], int] = {}

    def hear(self, message: list[int]) -> None:
        status = message[0] & 0xF0 if message else 0
        channel = message[0] & 0x0F if message else 0
        if status == 0x90 and len(message) == 3 and message[2] > 0:
            self.note_ons += 1
            key = (channel, message[1])
            self.sounding[key] = self.sounding.get(key, 0) + 1
        elif (status == 0x80 or status == 0x90) and len(message) == 3:
            key = (channel, message[1])
            if self.sounding.get(key, 0) > 1:
                self.sounding[key] -= 1
            else:
                self.sounding.pop(key, None)
        elif status == 0xB0 and len(message) == 3 and message[1] == 123:
            for key in [k for k in self.sounding if k[0] == channel]:
                del self.sounding[key]


def _phrase(rng: random.Random, start_ns: int) -> list[tuple[int, list[int]]]:
    notes = []
    pitch = rng.randrange(57, 72)
    for i in range(PHRASE_NOTES):
        pitch = max(48, min(84, pitch + rng.choice((-4, -2, -1, 1, 2, 3, 5))))
        on = start_ns + int(i * NOTE_SECONDS * 1e9)
        notes.append((on, [0x90, pitch, rng.randrange(60, 110)]))
        notes.append((on + int(NOTE_SECONDS * 0.8e9), [0x80, pitch, 0]))
    return sorted(notes)


def run_soak(minutes: float, sample_seconds: float = 10.0, seed: int = 0, progress: Progress | None = None) -> dict:
    """Soak `cocomposer run --mode accompany` for ``minutes``; the report as a dict."""
    if not Path("/proc/self/status").exists():
        raise BenchError("the soak reads memory and threads from /proc, which this system does not have")
    rng = random.Random(seed)
    with jack_server() as info:
        command = [sys.executable, "-m", "cocomposer.app.cli", "run", "--api", "jack", "--mode", "accompany"]
        command += ["--bpm", "120", "--seed", str(seed)]
        proc = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, env=dict(os.environ))  # fmt: skip
        player = None
        try:
            assert proc.stdout is not None
            first = proc.stdout.readline()
            if "listening" not in first:
                raise BenchError(f"cocomposer run did not start: {first.strip()} {proc.stderr.read()[-500:]}")
            to, source = full_port_name("cocomposer in", "destination"), full_port_name("cocomposer out", "source")
            player = ClientProcess(["player", "--to", to, "--from", source])
            ears, samples, sent = _Ears(), [], 0
            started = time.perf_counter()
            next_sample = started
            while (elapsed := time.perf_counter() - started) < minutes * 60:
                if proc.poll() is not None:
                    raise BenchError(f"cocomposer run stopped during the soak (exit {proc.returncode})")
                if time.perf_counter() >= next_sample:
                    rss, threads = _proc_status(proc.pid)
                    samples.append((round(elapsed, 1), rss, threads))
                    next_sample += sample_seconds
                    if progress is not None:
                        progress.advance(max(0, int(elapsed) - progress.done))
                phrase = _phrase(rng, time.perf_counter_ns() + 50_000_000)
                sent += len(phrase) // 2
                player.ask({"play": phrase}, timeout=30)
                time.sleep(REST_SECONDS)
                for _, message in player.ask({"arrivals": True}, timeout=30)["arrivals"]:
                    ears.hear(message)
            proc.send_signal(signal.SIGINT)
            rc = proc.wait(30)
            time.sleep(0.5)
            for _, message in player.ask({"arrivals": True}, timeout=30)["arrivals"]:
                ears.hear(message)
        finally:
            if player is not None:
                player.finish({"quit": True})
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)
        stderr = proc.stderr.read() if proc.stderr else ""
        xruns = info.xruns()
    threads = [t for _, _, t in samples]
    return {
        "minutes": minutes,
        "jack": info.about,
        "load_average": list(os.getloadavg()),
        "exit_status": rc,
        "player_notes": sent,
        "answer_note_ons_heard": ears.note_ons,
        "sounding_at_end": sorted(ears.sounding),
        "rss_kb_first_last": [samples[0][1], samples[-1][1]] if samples else None,
        "rss_slope_kb_per_minute": round(_slope(samples), 1),
        "threads_min_max": [min(threads), max(threads)] if threads else None,
        "traceback": "Traceback" in stderr,
        "jack_xruns": xruns,
        "samples": samples,
    }


def main(minutes: float, output: Path) -> int:
    with Progress(int(minutes * 60), f"soak, {minutes:g} min", "s") as progress:
        report = run_soak(minutes, progress=progress)
    output.write_text(json.dumps(report, indent=1) + "\n")
    first, last = report["rss_kb_first_last"] or (0, 0)
    print(
        f"soak {minutes:g} min: exit {report['exit_status']}, {report['player_notes']} player notes, "
        f"{report['answer_note_ons_heard']} answer notes heard, {len(report['sounding_at_end'])} left sounding; "
        f"memory {first / 1024:.1f} -> {last / 1024:.1f} MB, slope {report['rss_slope_kb_per_minute']} kB/min; "
        f"threads {report['threads_min_max']}; load {report['load_average'][0]:.2f}; written to {output}"
    )
    ok = report["exit_status"] == 0 and not report["sounding_at_end"] and not report["traceback"]
    return 0 if ok else 1
