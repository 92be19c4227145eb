"""Start-up to ready and resident memory, measured on the real commands in subprocesses.

Ready: from starting ``python -m cocomposer.app.cli run --api jack`` to its "listening" line (the ports are open and the
model is loaded). Resident memory: ``VmRSS`` from ``/proc/PID/status`` of that process, the largest of a few readings
over half a second after ready. With the panel: the same for ``cocomposer ui`` under ``QT_QPA_PLATFORM=offscreen``,
ready when its input port shows up on the JACK server.
"""

from __future__ import annotations

import importlib.util
import os
import queue
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from cocomposer.bench.report import READY, RSS_HEADLESS, Row, fmt
from cocomposer.bench.stats import median
from cocomposer.console.progress import track
from cocomposer.errors import BenchError

RSS_SETTLE_SECONDS = 0.5
PANEL_SETTLE_SECONDS = 2.0


def memory_mb(pid: int) -> dict[str, float]:
    """Resident memory of a process in MB (10^6 bytes) from /proc/PID/status: ``rss`` (VmRSS) and its parts
    ``anon``, ``file`` and ``shmem`` (shared memory: for a JACK client, mostly the server's segment that every client
    maps). Empty where /proc cannot tell."""
    fields = {"VmRSS:": "rss", "RssAnon:": "anon", "RssFile:": "file", "RssShmem:": "shmem"}
    out: dict[str, float] = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key = line.split(":", 1)[0] + ":"
            if key in fields:
                out[fields[key]] = int(line.split()[1]) * 1024 / 1e6
    except (OSError, ValueError, IndexError):
        return {}
    return out


def _peak_memory(pid: int, seconds: float) -> dict[str, float]:
    """The reading with the largest VmRSS among a few over ``seconds``."""
    readings = []
    deadline = time.monotonic() + seconds
    while True:
        reading = memory_mb(pid)
        if "rss" in reading:
            readings.append(reading)
        if time.monotonic() >= deadline:
            break
        time.sleep(0.05)
    return max(readings, key=lambda r: r["rss"]) if readings else {}


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def _command(sub: str, model: Path | None) -> list[str]:
    command = [sys.executable, "-m", "cocomposer.app.cli", sub, "--api", "jack"]
    return [*command, "--model", str(model)] if model else command


def one_start(model: Path | None, timeout: float = 30.0) -> tuple[float, dict[str, float]]:
    """(seconds to the "listening" line, :func:`memory_mb` after ready) of one ``cocomposer run``."""
    lines: queue.Queue[str | None] = queue.Queue()
    with tempfile.TemporaryFile(mode="w+") as err:
        started = time.perf_counter()
        proc = subprocess.Popen(
            _command("run", model), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=err, text=True
        )

        def read() -> None:
            assert proc.stdout is not None
            for line in proc.stdout:
                lines.put(line)
            lines.put(None)

        threading.Thread(target=read, daemon=True).start()
        try:
            while True:
                left = timeout - (time.perf_counter() - started)
                try:
                    line = lines.get(timeout=max(left, 0.0))
                except queue.Empty:
                    line = None
                if line is None:
                    err.seek(0)
                    tail = " | ".join(err.read().strip().splitlines()[-4:]) or "no output"
                    raise BenchError(f"`cocomposer run` printed no 'listening' line within {timeout:.0f} s: {tail}")
                if "listening" in line:
                    ready = time.perf_counter() - started
                    break
            return ready, _peak_memory(proc.pid, RSS_SETTLE_SECONDS)
        finally:
            _stop(proc)


def measure_startup(model: Path | None, runs: int = 5) -> dict:
    results = [one_start(model) for _ in track(range(runs), "start-up", unit="runs")]
    ready = [r for r, _ in results]
    memory = [m for _, m in results]
    out = {"runs": runs, "ready_s": ready, "ready_median_s": median(ready), "memory_mb": memory}
    for part in ("rss", "anon", "file", "shmem"):
        values = [m[part] for m in memory if part in m]
        out[f"{part}_median_mb"] = median(values) if values else None
    return out


def panel_available() -> str:
    """'' where the panel can be measured, else why not."""
    try:
        if importlib.util.find_spec("cocomposer_panel") is None:
            return "panel not available (the package cocomposer_panel is not installed)"
    except (ImportError, ValueError) as err:
        return f"panel not available ({err})"
    if importlib.util.find_spec("PyQt6") is None:
        return "panel not available (PyQt6 is not installed)"
    return ""


def _port_up(short: str) -> bool:
    from cocomposer.midi import ports

    try:
        _, destinations = ports.list_ports("jack")
    except Exception:
        return False
    return any(n.split(":", 1)[-1] == short for n in destinations)


def _panel_state_flags(home: Path) -> list[str]:
    """Flags that keep the panel's saved settings and ratings in ``home``, where `cocomposer ui` takes them, so a
    benchmark never touches the player's own."""
    return ["--config", str(home / "panel.toml"), "--ratings", str(home / "ratings.jsonl")]


def measure_panel(model: Path | None, timeout: float = 30.0) -> dict:
    """Resident memory of ``cocomposer ui`` (offscreen) once its input port is up and it has settled."""
    why = panel_available()
    if why:
        return {"skipped": why}
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    with tempfile.TemporaryFile(mode="w+") as err, tempfile.TemporaryDirectory() as home:
        command = _command("ui", model) + _panel_state_flags(Path(home))
        started = time.perf_counter()
        proc = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err, env=env)
        try:
            while not _port_up("cocomposer in"):
                if proc.poll() is not None or time.perf_counter() - started > timeout:
                    err.seek(0)
                    tail = " | ".join(err.read().strip().splitlines()[-3:]) or "no output"
                    state = f"exited with {proc.returncode}" if proc.poll() is not None else "never opened its port"
                    return {"skipped": f"panel {state}: {tail}"}
                time.sleep(0.1)
            ready = time.perf_counter() - started
            memory = _peak_memory(proc.pid, PANEL_SETTLE_SECONDS)
            return {"ready_s": ready, "rss_mb": memory.get("rss"), "memory_mb": memory}
        finally:
            _stop(proc)


def startup_rows(startup: dict | None, panel: dict | None) -> list[Row]:
    rows = [Row("Start-up and memory: `cocomposer run --api jack` in a subprocess")]
    if startup:
        ready, rss = startup["ready_median_s"], startup["rss_median_mb"]
        rows += [
            Row(f"start-up to ready (ports open, model loaded), median of {startup['runs']}",
                f"{fmt(ready)} s", READY.text(), READY.verdict(ready)),
            Row("resident memory headless (VmRSS after ready, median)", f"{fmt(rss)} MB", RSS_HEADLESS.text(),
                RSS_HEADLESS.verdict(rss)),
        ]  # fmt: skip
        if startup.get("shmem_median_mb") is not None:
            own = (startup["anon_median_mb"] or 0) + (startup["file_median_mb"] or 0)
            rows.append(Row("  of it JACK's shared memory (RssShmem); the rest",
                            f"{fmt(startup['shmem_median_mb'])} MB; {fmt(own)} MB"))  # fmt: skip
    if panel is not None:
        if "skipped" in panel:
            value = f"n/a ({panel['skipped']})"[:100]
        else:
            memory = panel.get("memory_mb", {})
            own = memory.get("anon", 0) + memory.get("file", 0)
            value = f"{fmt(panel['rss_mb'])} MB ({fmt(own)} MB without shared memory)"
        rows.append(Row("resident memory with the panel (offscreen)", value))
    return rows
