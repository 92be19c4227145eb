"""A private JACK server (dummy driver) for end-to-end MIDI tests, and the CLI helpers that talk to it."""

from __future__ import annotations

import difflib
import subprocess
import time
from collections.abc import Sequence

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


def lost_or_doubled(expected: Sequence[object], received: Sequence[object]) -> tuple[list[object], list[object]]:
    """What JACK lost (in ``expected``, not received) and doubled (received twice in a row) on the way: a late client
    in an xrun misses a period's MIDI or reads it twice. AssertionError for anything else (a message garbled, out of
    order, or never sent), which is never JACK's doing."""
    lost: list[object] = []
    doubled: list[object] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(a=expected, b=received, autojunk=False).get_opcodes():
        if op == "delete":
            lost.extend(expected[i1:i2])
        elif op == "insert" and _repeats(received, j1, j2):
            doubled.extend(received[j1:j2])
        elif op != "equal":
            raise AssertionError(f"received {list(received[j1:j2])} where {list(expected[i1:i2])} was sent")
    return lost, doubled


def _repeats(received: Sequence[object], j1: int, j2: int) -> bool:
    """Whether ``received[j1:j2]`` repeats what comes right before or after it (a period read twice)."""
    run = list(received[j1:j2])
    return run == list(received[max(0, 2 * j1 - j2) : j1]) or run == list(received[j2 : 2 * j2 - j1])


def assert_jack_xrun_explains(
    server: JackServer, xruns_before: int | None, lost: list, doubled: list, sent: int
) -> str:
    """When JACK lost or doubled a message, the server must have logged an xrun meanwhile, and most of the ``sent``
    messages (four in five) must have come through once (else it is our bug); returns a line naming exactly what it
    dropped and doubled ("" when nothing), for a skip after the other checks."""
    if not lost and not doubled:
        return ""
    assert len(lost) + len(doubled) <= sent // 5, f"lost {lost} and doubled {doubled} of {sent}: more than xruns do"
    xruns = server.xruns()
    assert xruns is not None and xruns_before is not None, "the JACK server's log cannot be read"
    assert xruns > xruns_before, f"lost {lost} and doubled {doubled} on the way, and JACK logged no xrun meanwhile"
    return f"JACK lost {lost} and doubled {doubled} in {xruns - xruns_before} xrun(s); everything else checked"
