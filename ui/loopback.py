"""An in-process MIDI system: named devices made of loopback ports, which can be unplugged and plugged back.

`cocomposer ui --api loopback` runs the panel on it (no MIDI hardware or backend needed: the Demo button plays into
it); the tests and the screenshot script use it to play into the engine and to pull a port out from under it.
While installed, it stands in for :func:`cocomposer.midi.ports.list_ports`, ``open_input`` and ``open_output`` (and
turns down ``open_jack_pair``), so the
engine is still built by :func:`cocomposer.engine.factory.build_engine`.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from cocomposer.midi import ports

LOOPBACK_API = "loopback"


class LoopbackMidi:
    """Devices by name; each is both an input (cocomposer listens to it) and an output (cocomposer plays to it)."""

    def __init__(self, devices: Sequence[str] = ("Loopback keyboard",)) -> None:
        self._lock = threading.Lock()
        self._devices = list(devices)
        self._inputs: dict[str, list[ports.LoopbackIn]] = {}
        self._outputs: dict[str, ports.RecordingOut] = {}

    # -- the player's side ---------------------------------------------------------------------------------------
    def plug(self, name: str) -> None:
        with self._lock:
            if name not in self._devices:
                self._devices.append(name)

    def unplug(self, name: str) -> None:
        """The device vanishes from the port list; what is open on it stops working, like a pulled cable."""
        with self._lock:
            if name in self._devices:
                self._devices.remove(name)
            for port in self._inputs.pop(name, []):
                port.close()
            out = self._outputs.pop(name, None)
        if out is not None:
            out.close()

    def send(self, name: str, message: Sequence[int]) -> None:
        """Play ``message`` into every open input called ``name`` (a device, or "cocomposer in")."""
        msg = ports.as_message(message)
        with self._lock:
            targets = list(self._inputs.get(name, []))
        for port in targets:
            port.deliver(msg)

    def output(self, name: str) -> ports.RecordingOut | None:
        """The output last opened under ``name``: its ``events`` are what cocomposer sent there."""
        with self._lock:
            return self._outputs.get(name)

    # -- the stand-ins for cocomposer.midi.ports ----------------------------------------------------------------------
    def list_ports(self, api: str = LOOPBACK_API) -> tuple[list[str], list[str]]:
        with self._lock:
            return list(self._devices), list(self._devices)

    def open_input(
        self,
        name: str | None,
        api: str = LOOPBACK_API,
        virtual_name: str = "cocomposer in",
        client_name: str = "cocomposer",
        now_ns: object = None,
        skip_own: bool = False,
        frames: bool = False,
    ) -> ports.MidiIn:
        port_name = virtual_name if name is None else self._match(name, "input")
        port = ports.LoopbackIn(port_name)
        with self._lock:
            self._inputs.setdefault(port_name, []).append(port)
        return port

    def open_output(
        self,
        name: str | None,
        api: str = LOOPBACK_API,
        virtual_name: str = "cocomposer out",
        client_name: str = "cocomposer",
        skip_own: bool = False,
        timed: bool = False,
    ) -> ports.MidiOut:
        port_name = virtual_name if name is None else self._match(name, "output")
        out = ports.RecordingOut(port_name)
        with self._lock:
            self._outputs[port_name] = out
        return out

    def _match(self, name: str, kind: ports.Kind) -> str:
        with self._lock:
            devices = list(self._devices)
        return devices[ports.match_port(name, devices, kind)]

    @contextmanager
    def installed(self) -> Iterator[LoopbackMidi]:
        """Stand in for the real MIDI backend until the block ends."""
        saved = ports.list_ports, ports.open_input, ports.open_output, ports.open_jack_pair
        ports.list_ports, ports.open_input, ports.open_output = self.list_ports, self.open_input, self.open_output
        ports.open_jack_pair = lambda *args, **kwargs: None  # no JACK here: the two ports open apart, as above
        try:
            yield self
        finally:
            ports.list_ports, ports.open_input, ports.open_output, ports.open_jack_pair = saved
