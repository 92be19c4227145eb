"""A private JACK server on the dummy driver, for the benchmark and the tests: started, waited for, stopped.

``jackd -R -n NAME -d dummy -r 48000 -p 64`` keeps real time with a 64-frame period (1.33 ms) and needs no sound
card. Its clients find it through ``JACK_DEFAULT_SERVER=NAME`` (:attr:`PrivateJackd.env`).

Real-time scheduling first (``-R``, as jackd runs on a musician's machine): without it, a JACK client thread that
the kernel schedules late misses its cycle and JACK drops the MIDI it wrote, whenever the machine is busy. Measured
here with two CPU burners: a python-rtmidi client sending 2,000 notes 2 ms apart lost 10 through a ``--no-realtime``
server and none through a real-time one; pairs of messages 1.5-5 ms apart lost 1-3% of their first messages without
real time, none with it. Where real time is refused (no privilege), the server is started again with
``--no-realtime`` and :attr:`PrivateJackd.realtime` says so.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from cocomposer.errors import CocomposerError

RATE, PERIOD = 48000, 64
CLIENT_TIMEOUT_MS = 5000
_LATE = ("ProcessGraphAsyncMaster: Process error", "JackTimedDriver::Process XRun")  # xrun lines in jackd's log


class JackStartError(CocomposerError, RuntimeError):
    """jackd or its tools are missing, or the server it started did not answer."""


def jack_tool(tool: str) -> str:
    """The path of a JACK command-line tool (jackd, jack_lsp, ...); JackStartError when it is not installed."""
    path = shutil.which(tool)
    if path is None:
        raise JackStartError(f"{tool} is not installed (apt install jackd2)")
    return path


def server_answers(env: dict[str, str]) -> bool:
    """Whether the server that ``env`` names takes a client (``jack_lsp`` succeeds)."""
    return subprocess.run([jack_tool("jack_lsp")], env=env, capture_output=True, timeout=10).returncode == 0


class PrivateJackd:
    """One ``jackd`` process with the dummy driver, its output in a log file (removed on :meth:`stop`)."""

    def __init__(self, name: str, rate: int = RATE, period: int = PERIOD) -> None:
        self.name, self.rate, self.period = name, rate, period
        self.log = Path(tempfile.gettempdir()) / f"{name}.log"
        self._proc: subprocess.Popen[bytes] | None = None
        self.realtime = False  # whether the running server got real-time scheduling

    @property
    def env(self) -> dict[str, str]:
        """The environment a JACK client needs to find this server (and never start another one)."""
        return {**os.environ, "JACK_DEFAULT_SERVER": self.name, "JACK_NO_START_SERVER": "1"}

    def start(self, timeout: float = 15.0) -> None:
        """Start jackd and wait until a client can connect; JackStartError (and no process left) if it cannot."""
        # A client that misses its deadline by more than the timeout is thrown out of the graph for good, and all it
        # sends after is lost (jackd's default is 500 ms, which a loaded CI machine can stall past): allow 5 s.
        if os.environ.get("COCOMPOSER_JACK_REALTIME", "1") != "0":
            try:
                self._start(True, min(timeout, 5.0))
                return
            except JackStartError:
                pass  # real time refused (no privilege, no rtprio): the same server without it
        self._start(False, timeout)

    def _start(self, realtime: bool, timeout: float) -> None:
        self.realtime = realtime
        command = [jack_tool("jackd"), "-R" if realtime else "--no-realtime", "-t", str(CLIENT_TIMEOUT_MS)]
        command += ["-n", self.name, "-d", "dummy", "-r", str(self.rate), "-p", str(self.period)]
        with self.log.open("wb") as out:
            self._proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=self.env)
        deadline = time.monotonic() + timeout
        while not server_answers(self.env):
            if self._proc.poll() is not None:
                tail = self.log_tail()
                self.stop()
                raise JackStartError(f"jackd exited: {tail}")
            if time.monotonic() > deadline:
                tail = self.log_tail()
                self.stop()
                raise JackStartError(f"jackd did not answer within {timeout:.0f} s: {tail}")
            time.sleep(0.05)
        if realtime and "cannot use real-time" in self.log_tail(40).lower():
            self.realtime = False  # jackd carries on without it

    def log_tail(self, lines: int = 8) -> str:
        try:
            text = self.log.read_text(errors="replace").strip()
        except OSError:
            return "(no log)"
        return " | ".join(text.splitlines()[-lines:]) or "(no output)"

    def xruns(self) -> int | None:
        """Cycles the server reported late so far, a client or the driver itself (MIDI may be lost in them)."""
        try:
            text = self.log.read_text(errors="replace")
        except OSError:
            return None
        return sum(1 for line in text.splitlines() if any(mark in line for mark in _LATE))

    def stop(self) -> None:
        """Terminate the server (kill it if it does not stop) and remove its log."""
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
        self.log.unlink(missing_ok=True)
