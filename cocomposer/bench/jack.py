"""The JACK server the benchmark plays through: the one ``JACK_DEFAULT_SERVER`` names, or a private one it starts.

A private server runs the dummy driver (``jackd -R -n NAME -d dummy -r 48000 -p 64``, real-time where allowed): it
keeps real time with a 64-frame period (1.33 ms) and needs no sound card. Its clients find it through
``JACK_DEFAULT_SERVER``, set for this process (and so for every subprocess it starts) while the server runs, then
restored.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from cocomposer.bench.jackd import PERIOD, RATE, JackStartError, PrivateJackd, server_answers

__all__ = ["JackInfo", "JackStartError", "full_port_name", "jack_server", "jackd_version"]


@dataclass(frozen=True)
class JackInfo:
    name: str
    started: bool  # True: this benchmark started it (private, dummy driver); False: it was running already
    about: str
    server: PrivateJackd | None = None  # the private server

    def xruns(self) -> int | None:
        """Cycles the server reported late so far, a client or the driver itself (MIDI may be lost in them); None
        for a server this benchmark did not start."""
        return None if self.server is None else self.server.xruns()


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
    no other clients on its graph and a known period. While a private server runs, ``JACK_DEFAULT_SERVER`` names it
    in this process (and so in every subprocess it starts); both variables are restored after.
    """
    named = os.environ.get("JACK_DEFAULT_SERVER")
    saved = {key: os.environ.get(key) for key in ("JACK_DEFAULT_SERVER", "JACK_NO_START_SERVER")}
    os.environ["JACK_NO_START_SERVER"] = "1"
    server: PrivateJackd | None = None
    try:
        if named and server_answers(dict(os.environ)):
            yield JackInfo(named, False, f"JACK server '{named}' (already running)")
            return
        server = PrivateJackd(f"cocomposer-bench-{os.getpid()}")
        try:
            server.start(timeout)
        except JackStartError as err:
            raise JackStartError(f"{err}; the end-to-end bench cannot run") from err
        os.environ["JACK_DEFAULT_SERVER"] = server.name
        scheduling = "real-time" if server.realtime else "not real-time"
        about = f"a private JACK server (dummy driver, {RATE // 1000} kHz, {PERIOD}-frame period, {scheduling})"
        yield JackInfo(server.name, True, about, server)
    finally:
        if server is not None:
            server.stop()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def full_port_name(short: str, kind: str) -> str:
    """The JACK name ``client:port`` of the one port called ``short`` (kind "source" or "destination")."""
    from cocomposer.midi import ports

    sources, destinations = ports.list_ports("jack")
    names = sources if kind == "source" else destinations
    found = [n for n in names if n.split(":", 1)[-1] == short]
    if len(found) != 1:
        raise JackStartError(
            f"expected one JACK {kind} port called {short!r}, found {found or 'none'} (is another cocomposer "
            f"running on server '{os.environ.get('JACK_DEFAULT_SERVER')}'?); ports: {', '.join(names)}"
        )
    return found[0]
