"""A watch on the JACK server, through the JACK client library (JACK-Client): notices the server stopping, and new
connections to our ports. python-rtmidi, which carries the MIDI itself, tells neither.

The watch is one JACK client with no ports and no process callback, so it never takes part in an audio period and
never needs Python's GIL on JACK's real-time thread (a Python process callback misses periods whenever another
thread holds the GIL: measured here, a JACK-Client input received 692 of 2,000 notes sent 2 ms apart while a Python
thread computed, python-rtmidi's 1,986). Its one Python callback is JACK's shutdown callback, which only sets a flag.
Connections are polled (every ``POLL_SECONDS``, on a thread of the watch) rather than heard through JACK's port
connect callback: JACK waits for every client to take a notification, so a Python callback on libjack's thread,
waiting for the GIL while python-rtmidi closes a port holding it, hangs both (seen: `cocomposer run` stuck on SIGINT).

One watch serves every port of the process: :func:`acquire` opens it on first use, :func:`release` closes it with the
last port. Where JACK-Client or the system's libjack cannot be loaded, :func:`acquire` gives None and nothing is
watched (cocomposer works as before, but a dead server goes unnoticed).
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Sequence

from cocomposer.console.quiet import captured_stderr

log = logging.getLogger(__name__)

ConnectListener = Callable[[str], None]  # the full name of the port newly connected to the watched one


class JackWatch:
    """One port-less JACK client: :attr:`lost` says why the server went away; :meth:`on_connect` hears each new
    connection of a port."""

    POLL_SECONDS = 0.25

    def __init__(self, client_name: str = "cocomposer-watch") -> None:
        import jack

        self._lost: str | None = None
        self._watched: dict[str, tuple[ConnectListener, set[str]]] = {}  # port: (listener, its connections)
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._thread: threading.Thread | None = None
        with captured_stderr():
            self._client: jack.Client | None = jack.Client(client_name, no_start_server=True)
            self._client.set_shutdown_callback(self._shutdown)
            self._client.activate()

    @property
    def lost(self) -> str | None:
        """Why the JACK server went away ("the JACK server stopped (...)"), or None while it runs."""
        return self._lost

    def on_connect(self, port: str, listener: ConnectListener) -> None:
        """Call ``listener(other)`` (on the watch's thread, within ``POLL_SECONDS``) whenever a port ``other`` is
        newly connected to ``port`` (a full name); one listener per port."""
        with self._lock:
            self._watched[port] = (listener, set(self._connections(port)))
            if self._thread is None:
                self._thread = threading.Thread(target=self._poll, name="cocomposer-jack-watch", daemon=True)
                self._thread.start()

    def forget(self, port: str) -> None:
        with self._lock:
            self._watched.pop(port, None)

    def _connections(self, port: str) -> list[str]:
        client = self._client
        if client is None or self._lost is not None:
            return []
        try:
            return [other.name for other in client.get_all_connections(port)]
        except Exception:  # the port went away between two looks
            return []

    def _poll(self) -> None:
        while not self._closing.wait(self.POLL_SECONDS) and self._lost is None:
            with self._lock:
                watched = list(self._watched.items())
            for port, (listener, known) in watched:
                now = set(self._connections(port))
                for other in sorted(now - known):
                    try:
                        listener(other)
                    except Exception:  # a listener's bug must not end the watch
                        log.exception("a JACK connection listener failed")
                known.clear()
                known.update(now)

    def own_ports(self, is_input: bool) -> list[str]:
        """The full names of the server's MIDI ports that receive (``is_input``) or send."""
        client = self._client
        if client is None or self._lost is not None:
            return []
        return [port.name for port in client.get_ports(is_midi=True, is_input=is_input, is_output=not is_input)]

    def new_port(self, before: Sequence[str], is_input: bool, port_name: str) -> str | None:
        """The full name of the one port called ``port_name`` that was not among ``before``: the port an RtMidi
        client of ours just made (RtMidi does not say its JACK client's name, which JACK may have suffixed);
        None if that is not clear (another process made one of that name at the same moment)."""
        found = [p for p in self.own_ports(is_input) if p not in before and p.endswith(f":{port_name}")]
        return found[0] if len(found) == 1 else None

    def _shutdown(self, _status: object, reason: str) -> None:
        self._lost = f"the JACK server stopped ({reason.strip() or 'no reason given'})"

    def close(self) -> None:
        self._closing.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(2 * self.POLL_SECONDS + 1)
        client, self._client = self._client, None
        if client is not None:
            with captured_stderr():
                if self._lost is None:
                    client.deactivate()
                client.close()


_watches: dict[str, tuple[JackWatch, int]] = {}  # by server name: a test may run several private servers
_guard = threading.Lock()


def _server() -> str:
    return os.environ.get("JACK_DEFAULT_SERVER", "default")


def acquire() -> JackWatch | None:
    """The watch on this process's JACK server, opened on first use; None where JACK-Client, libjack or the server
    cannot be reached."""
    server = _server()
    with _guard:
        watch, users = _watches.get(server, (None, 0))
        if watch is None:
            try:
                watch = JackWatch()
            except Exception as err:  # ImportError, OSError (no libjack), jack.JackError (no server)
                log.debug("no JACK watch: %s", err)
                return None
        _watches[server] = (watch, users + 1)
        return watch


def release(watch: JackWatch | None) -> None:
    """Give back what :func:`acquire` gave; the last user closes the watch."""
    if watch is None:
        return
    with _guard:
        for server, (held, users) in list(_watches.items()):
            if held is watch:
                if users > 1:
                    _watches[server] = (held, users - 1)
                else:
                    del _watches[server]
                    watch.close()
                return
