"""A private JACK server (dummy driver) for end-to-end MIDI tests, and the CLI helpers that talk to it."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path


class JackUnavailableError(RuntimeError):
    """jackd is not installed, or the server did not come up."""


class JackServer:
    """``jackd --no-realtime -n NAME -d dummy``: clients reach it with ``JACK_DEFAULT_SERVER=NAME``."""

    def __init__(self, name: str, rate: int = 48000, period: int = 64) -> None:
        self.name = name
        self.rate = rate
        self.period = period
        self._proc: subprocess.Popen[bytes] | None = None
        self._log = Path(tempfile.gettempdir()) / f"{name}.log"

    @property
    def env(self) -> dict[str, str]:
        """The environment a JACK client needs to find this server (and never start another one)."""
        return {**os.environ, "JACK_DEFAULT_SERVER": self.name, "JACK_NO_START_SERVER": "1"}

    def _tool(self, tool: str) -> str:
        path = shutil.which(tool)
        if path is None:
            raise JackUnavailableError(f"{tool} is not installed (apt install jackd2)")
        return path

    def start(self, timeout: float = 15.0) -> None:
        """Start jackd and wait until a client can connect; JackUnavailableError if it cannot start."""
        jackd = self._tool("jackd")
        command = [jackd, "--no-realtime", "-n", self.name, "-d", "dummy", "-r", str(self.rate), "-p", str(self.period)]
        with self._log.open("wb") as log:
            self._proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=self.env)
        deadline = time.monotonic() + timeout
        while not self._answers():
            if self._proc.poll() is not None:
                raise JackUnavailableError(f"jackd exited with code {self._proc.returncode}: {self.log_tail()}")
            if time.monotonic() > deadline:
                self.stop()
                raise JackUnavailableError(f"jackd did not answer within {timeout:.0f} s: {self.log_tail()}")
            time.sleep(0.05)

    def _answers(self) -> bool:
        result = subprocess.run([self._tool("jack_lsp")], env=self.env, capture_output=True, timeout=10)
        return result.returncode == 0

    def log_tail(self, lines: int = 8) -> str:
        try:
            return " | ".join(self._log.read_text(errors="replace").strip().splitlines()[-lines:])
        except OSError:
            return "(no log)"

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
        self._log.unlink(missing_ok=True)

    def ports(self, *args: str) -> list[str]:
        """``jack_lsp ARGS``: the full names of the server's ports."""
        result = subprocess.run(
            [self._tool("jack_lsp"), *args], env=self.env, capture_output=True, text=True, timeout=10
        )
        if result.returncode != 0:
            raise JackUnavailableError(f"jack_lsp failed: {result.stderr.strip()}")
        return [line.strip() for line in result.stdout.splitlines() if line.strip()]

    def connect(self, src: str, dst: str) -> None:
        """``jack_connect SRC DST`` (full port names), raising with jack's own message if it fails."""
        result = subprocess.run(
            [self._tool("jack_connect"), src, dst], env=self.env, capture_output=True, text=True, timeout=10
        )
        if result.returncode != 0:
            raise RuntimeError(f"jack_connect {src!r} {dst!r} failed: {result.stderr.strip()}; ports: {self.ports()}")

    def wait_for_port(self, substring: str, timeout: float = 5.0) -> str:
        """The full name of the one port whose name holds `substring`, waiting for it to appear."""
        deadline = time.monotonic() + timeout
        while True:
            found = [port for port in self.ports() if substring in port]
            if len(found) == 1:
                return found[0]
            if len(found) > 1:
                raise RuntimeError(f"several JACK ports hold {substring!r}: {found}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"no JACK port holding {substring!r} after {timeout} s; ports: {self.ports()}")
            time.sleep(0.02)
