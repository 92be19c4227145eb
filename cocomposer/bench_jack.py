"""The JACK server the benchmark plays through: the one ``JACK_DEFAULT_SERVER`` names, or a private one it starts.

A private server runs the dummy driver (``jackd --no-realtime -n NAME -d dummy -r 48000 -p 64``): it keeps real
time with a 64-frame period (1.33 ms) and needs no sound card. Its clients find it through ``JACK_DEFAULT_SERVER``,
set for this process (and so for every subprocess it starts) while the server runs, then restored.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from cocomposer.errors import CocomposerError

RATE, PERIOD = 48000, 64


class JackStartError(CocomposerError, RuntimeError):
    """jackd is missing, or the server it started did not answer."""


@dataclass(frozen=True)
class JackInfo:
    name: str
    started: bool  # True: this benchmark started it (private, dummy driver); False: it was running already
    about: str
    log: Path | None = None  # the private server's output

    def xruns(self) -> int | None:
        """Cycles the server reported late so far, a client or the driver itself (MIDI may be lost in them); None
        for a server this benchmark did not start."""
        if self.log is None:
            return None
        try:
            text = self.log.read_text(errors="replace")
        except OSError:
            return None
        late = ("ProcessGraphAsyncMaster: Process error", "JackTimedDriver::Process XRun")
        return sum(1 for line in text.splitlines() if any(mark in line for mark in late))


def _answers(env: dict[str, str]) -> bool:
    jack_lsp = shutil.which("jack_lsp")
    if jack_lsp is None:
        raise JackStartError("jack_lsp is not installed (apt install jackd2)")
    return subprocess.run([jack_lsp], env=env, capture_output=True, timeout=10).returncode == 0


def jackd_version() -> str:
    """'jackd 1.9.21', from ``jackd --version``; "jackd not installed" or "jackd (version unknown)" otherwise."""
    try:
        out = subprocess.run(["jackd", "--version"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return "jackd not installed"
    found = re.search(r"version\s+([0-9][0-9.]*)", out)
    return f"jackd {found.group(1)}" if found else "jackd (version unknown)"


@contextmanager
def jack_server(timeout: float = 15.0) -> Iterator[JackInfo]:
    """Use the server ``JACK_DEFAULT_SERVER`` names if it answers, else start a private one; stop what was started.

    A server running without that variable set (someone else's default server) is left alone: the benchmark wants
    no other clients on its graph and a known period.
    """
    named = os.environ.get("JACK_DEFAULT_SERVER")
    saved = {key: os.environ.get(key) for key in ("JACK_DEFAULT_SERVER", "JACK_NO_START_SERVER")}
    os.environ["JACK_NO_START_SERVER"] = "1"
    proc: subprocess.Popen[bytes] | None = None
    log = Path(tempfile.gettempdir()) / f"cocomposer-bench-jack-{os.getpid()}.log"
    try:
        if named and _answers(dict(os.environ)):
            yield JackInfo(named, False, f"JACK server '{named}' (already running)")
            return
        jackd = shutil.which("jackd")
        if jackd is None:
            raise JackStartError("jackd is not installed (apt install jackd2), so the end-to-end bench cannot run")
        name = f"cocomposer-bench-{os.getpid()}"
        os.environ["JACK_DEFAULT_SERVER"] = name
        command = [jackd, "--no-realtime", "-n", name, "-d", "dummy", "-r", str(RATE), "-p", str(PERIOD)]
        with log.open("wb") as out:
            proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=dict(os.environ))
        deadline = time.monotonic() + timeout
        while not _answers(dict(os.environ)):
            if proc.poll() is not None or time.monotonic() > deadline:
                tail = " | ".join(log.read_text(errors="replace").strip().splitlines()[-5:])
                raise JackStartError(f"jackd did not come up within {timeout:.0f} s: {tail or 'no output'}")
            time.sleep(0.05)
        about = f"a private JACK server (dummy driver, {RATE // 1000} kHz, {PERIOD}-frame period)"
        yield JackInfo(name, True, about, log)
    finally:
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
        log.unlink(missing_ok=True)
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def full_port_name(short: str, kind: str) -> str:
    """The JACK name ``client:port`` of the one port called ``short`` (kind "source" or "destination")."""
    from cocomposer import ports

    sources, destinations = ports.list_ports("jack")
    names = sources if kind == "source" else destinations
    found = [n for n in names if n.split(":", 1)[-1] == short]
    if len(found) != 1:
        raise JackStartError(
            f"expected one JACK {kind} port called {short!r}, found {found or 'none'} (is another cocomposer "
            f"running on server '{os.environ.get('JACK_DEFAULT_SERVER')}'?); ports: {', '.join(names)}"
        )
    return found[0]
