"""Ableton Link: our clock joins a session held by a second Link peer (another process on this machine)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time

import pytest

pytest.importorskip("aalink", reason="--sync link needs the aalink package (pip install aalink)")

from cocomposer.timing.link import LinkClock

PEER = textwrap.dedent(
    """
    import asyncio, sys
    from aalink import Link

    async def main():
        link = Link(float(sys.argv[1]), asyncio.get_running_loop())
        link.quantum = 4
        link.enabled = True
        print("ready", flush=True)
        await asyncio.sleep(float(sys.argv[2]))

    asyncio.run(main())
    """
)


def _wait(predicate, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


def test_link_clock_follows_a_second_peer_tempo_and_phase() -> None:
    peer = subprocess.Popen([sys.executable, "-c", PEER, "137", "20"], stdout=subprocess.PIPE, text=True)
    try:
        assert peer.stdout is not None and peer.stdout.readline().strip() == "ready"
        time.sleep(0.6)  # Link adopts an existing session's tempo reliably only after its first announcement
        clock = LinkClock(90.0)
        try:
            if not _wait(lambda: clock.peers >= 1, 10.0):
                pytest.skip("Link discovery found no peer on this machine (multicast blocked?)")
            assert _wait(lambda: abs(clock.bpm - 137.0) < 0.05, 5.0), f"tempo {clock.bpm}"
            before = clock.beat()
            assert _wait(lambda: clock.beat() > before + 1.0, 3.0), "the beat runs on"
            # quantize bar on a Link clock lands on a multiple of the quantum
            assert clock.next_boundary(clock.beat(), "bar") % 4 == 0
        finally:
            clock.close()
    finally:
        peer.terminate()
        peer.wait(5)
