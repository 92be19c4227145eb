"""A private JACK server (dummy driver) for end-to-end MIDI tests, and the CLI helpers that talk to it."""

from __future__ import annotations

import subprocess
import time

from cocomposer.bench.jackd import JackStartError, PrivateJackd, jack_tool
from tests.support.midi import unmatched as unmatched  # re-exported for the JACK tests

JackUnavailableError = JackStartError  # jackd is not installed, or the server did not come up


class JackServer(PrivateJackd):
    """``jackd -R -n NAME -d dummy`` (real-time where allowed): clients reach it with ``JACK_DEFAULT_SERVER=NAME``;
    plus the JACK command-line tools the tests use to look at and wire its ports."""

    def ports(self, *args: str) -> list[str]:
        """``jack_lsp ARGS``: the full names of the server's ports."""
        result = subprocess.run(
            [jack_tool("jack_lsp"), *args], env=self.env, capture_output=True, text=True, timeout=10
        )
        if result.returncode != 0:
            raise JackUnavailableError(f"jack_lsp failed: {result.stderr.strip()}")
        return [line.strip() for line in result.stdout.splitlines() if line.strip()]

    def connect(self, src: str, dst: str) -> None:
        """``jack_connect SRC DST`` (full port names), raising with jack's own message if it fails."""
        result = subprocess.run(
            [jack_tool("jack_connect"), src, dst], env=self.env, capture_output=True, text=True, timeout=10
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
