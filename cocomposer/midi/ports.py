"""The MIDI port layer: opening ports by name or as virtual ones (python-rtmidi adapters in `rtmidi_ports`, the
protocol in `port_base`), and a loopback pair for tests. On JACK every port also holds the process's
:mod:`~cocomposer.midi.jack_watch`, which notices a dead server and new connections.

An input's own thread polls RtMidi's queue and only does ``sink(now_ns(), message)`` for each message (the engine's
sink is a ``put_nowait``): python-rtmidi's JACK callback path loses messages within one period. Port names
are matched on the full name the backend reports (``"client:port"`` on JACK). `list_ports` inputs are the ports we
can receive from: a virtual output made by another program (or by `open_output`) is listed among them.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence

import rtmidi

from cocomposer.console.quiet import Captured, captured_stderr
from cocomposer.errors import ConfigError, PortError, PortNotFoundError
from cocomposer.midi import jack_frames, jack_watch
from cocomposer.midi.backends import API_NAMES as API_NAMES  # re-exported: callers name backends through ports
from cocomposer.midi.backends import (
    NAME_OF_API,
    backend_said,
    lookup_api,
    note_jack_used,
    require_compiled,
    resolve_api,
    sentence,
)
from cocomposer.midi.backends import jack_server_reachable as jack_server_reachable
from cocomposer.midi.port_base import Kind, Message, MidiIn, MidiOut, Sink, as_message
from cocomposer.midi.rtmidi_ports import GUARD_PORT, RtMidiIn, RtMidiOut
from cocomposer.midi_bytes import channel_of as channel_of  # re-exported: the port's callers read them here
from cocomposer.midi_bytes import is_note_off as is_note_off
from cocomposer.midi_bytes import is_note_on as is_note_on

_log = logging.getLogger(__name__)


def _new_rtmidi(kind: Kind, api: int, client_name: str) -> rtmidi.MidiIn | rtmidi.MidiOut:
    cls = rtmidi.MidiIn if kind == "input" else rtmidi.MidiOut
    if api == rtmidi.API_UNIX_JACK:
        note_jack_used()
    with captured_stderr() as captured:
        try:
            return cls(api, name=client_name)
        except (rtmidi.RtMidiError, RuntimeError) as err:
            failure = err
    hint = (
        " Start a JACK server (e.g. `jackd -d alsa`), or set JACK_DEFAULT_SERVER to the name of the one running."
        if api == rtmidi.API_UNIX_JACK
        else ""
    )
    raise PortError(
        f"could not open the {NAME_OF_API.get(api, api)} MIDI {kind} client: {sentence(failure)}{hint}"
        f"{backend_said(captured)}"
    ) from failure


def list_ports(api: str = "auto") -> tuple[list[str], list[str]]:
    """The names of the ports we can receive from (inputs) and send to (outputs); a cocomposer input's sysex
    guard (see :class:`~cocomposer.midi.rtmidi_ports.RtMidiIn`) is no port to offer anyone."""
    api_id = resolve_api(api)
    found: dict[Kind, list[str]] = {}
    for kind in ("input", "output"):
        midi = _new_rtmidi(kind, api_id, "cocomposer-list")
        found[kind] = _offered(midi.get_ports())
        midi.delete()
    return found["input"], found["output"]


def match_port(name: str, available: Sequence[str], kind: Kind) -> int:
    """Index of the port called `name`: the exact name, else the one name holding it (any case)."""
    if not name:
        raise ConfigError(f"the MIDI {kind} port name is empty; give a name, or none for a virtual port")
    exact = [i for i, port in enumerate(available) if port == name]
    matches = exact or [i for i, port in enumerate(available) if name.casefold() in port.casefold()]
    if len(matches) == 1:
        return matches[0]
    if matches:
        candidates = ", ".join(available[i] for i in matches)
        raise PortNotFoundError(
            f"MIDI {kind} port name {name!r} is ambiguous; it matches: {candidates}; give more of the name "
            "(use `cocomposer ports` to list them)"
        )
    listed = ", ".join(available) or "none"
    raise PortNotFoundError(f"no MIDI {kind} port matches {name!r}; available: {listed}; use `cocomposer ports`")


def _open_rtmidi(
    kind: Kind, name: str | None, api: str, virtual_name: str, client_name: str, skip_own: bool = False
) -> tuple[rtmidi.MidiIn | rtmidi.MidiOut, str]:
    api_id = lookup_api(api)
    if api_id == rtmidi.API_UNSPECIFIED:
        api_id = resolve_api(api)
    if name is None and api_id == rtmidi.API_WINDOWS_MM:
        raise PortError(
            f"Windows MIDI (winmm) cannot create virtual ports, so cocomposer cannot make its own MIDI {kind}. "
            "Create a loopback port with loopMIDI (https://www.tobias-erichsen.de/software/loopmidi.html) or with "
            "Windows MIDI Services (its loopback endpoints), then pass its name with --in and --out "
            "(`cocomposer ports` lists the names)."
        )
    midi = _new_rtmidi(kind, require_compiled(api_id), client_name)
    captured = Captured()
    try:
        if name is None:
            with captured_stderr() as captured:
                midi.open_virtual_port(virtual_name)
            _opened_here.add((client_name, virtual_name))
            return midi, virtual_name
        ports = _offered(midi.get_ports(), skip_own)
        index = match_port(name, ports, kind)
        with captured_stderr() as captured:
            midi.open_port(midi.get_ports().index(ports[index]), name=virtual_name)
        return midi, ports[index]
    except (rtmidi.RtMidiError, RuntimeError) as err:
        midi.delete()
        what = f"virtual MIDI {kind} {virtual_name!r}" if name is None else f"MIDI {kind} {name!r}"
        raise PortError(f"could not open {what}: {sentence(err)}{backend_said(captured)}") from err
    except BaseException:
        midi.delete()
        raise


_opened_here: set[tuple[str, str]] = set()  # (client, port) of every virtual port this process made


def _offered(names: Sequence[str], skip_own: bool = False) -> list[str]:
    """The ports among ``names`` a name may match: never an input's sysex guard, nor (``skip_own``) a virtual port
    this process made."""
    return [p for p in names if not p.endswith(f":{GUARD_PORT}") and not (skip_own and _ours(p))]


def _ours(port: str) -> bool:
    """Whether ``port`` (a full name as the backend lists it, "client:port" on JACK, "client:port 128:0" on ALSA)
    is a virtual port this process made: `--out NAME` must never match, or offer, cocomposer's own input (the demo
    and the tests do connect to their own ports, so leaving them out is the caller's choice: ``skip_own``)."""
    return any(port.startswith(f"{client}:{virtual}") for client, virtual in _opened_here)


def open_input(
    name: str | None,
    api: str = "auto",
    virtual_name: str = "cocomposer in",
    client_name: str = "cocomposer",
    now_ns: Callable[[], int] = time.perf_counter_ns,
    skip_own: bool = False,
    frames: bool = False,
) -> MidiIn:
    """Open the input port matching `name`, or create a virtual one called `virtual_name` when `name` is None
    (``skip_own``: never match a virtual port this process made). ``frames``: on JACK, where JACK-Client can be
    used and stamps are on ``perf_counter`` (``now_ns``), a :class:`~cocomposer.midi.jack_frames.JackFramesIn`,
    which hands each message on as its period is read, stamped with its frame's time."""
    watch = _watch_for(api)
    if frames and watch is not None and now_ns is time.perf_counter_ns and jack_frames.available():
        return _open_frames_port("input", name, virtual_name, client_name, skip_own, watch)
    before = watch.own_ports(is_input=True) if watch is not None else []
    try:
        midi, port_name = _open_rtmidi("input", name, api, virtual_name, client_name, skip_own)
    except BaseException:
        jack_watch.release(watch)
        raise
    port = RtMidiIn(midi, port_name, now_ns, watch)  # type: ignore[arg-type]
    if watch is not None:
        port.jack_name = watch.new_port(before, True, virtual_name)
        port.guard_sysex(client_name)
    return port


def open_output(
    name: str | None,
    api: str = "auto",
    virtual_name: str = "cocomposer out",
    client_name: str = "cocomposer",
    skip_own: bool = False,
    timed: bool = False,
) -> MidiOut:
    """Open the output port matching `name`, or create a virtual one called `virtual_name` when `name` is None
    (``skip_own``: never match a virtual port this process made). ``timed``: on JACK, where JACK-Client can be
    used, a :class:`~cocomposer.midi.jack_frames.JackFramesOut`, which sends each message at its frame."""
    watch = _watch_for(api)
    if timed and watch is not None and jack_frames.available():
        return _open_frames_port("output", name, virtual_name, client_name, skip_own, watch)
    before = watch.own_ports(is_input=False) if watch is not None else []
    try:
        midi, port_name = _open_rtmidi("output", name, api, virtual_name, client_name, skip_own)
    except BaseException:
        jack_watch.release(watch)
        raise
    port = RtMidiOut(midi, port_name, watch)  # type: ignore[arg-type]
    if watch is not None:
        port.jack_name = watch.new_port(before, False, virtual_name)
    return port


def open_jack_pair(
    in_name: str | None,
    out_name: str | None,
    api: str = "auto",
    client_name: str = "cocomposer",
    skip_own: bool = False,
) -> tuple[MidiIn, MidiOut] | None:
    """The engine's input and output as one JACK-Client helper (:meth:`JackFramesIn.output_port
    <cocomposer.midi.jack_frames.JackFramesIn.output_port>`), which can answer the end-of-phrase control within one
    period (the reflex); ports matched and named as by :func:`open_input` and :func:`open_output`. None where that
    cannot be had (not JACK, no JACK-Client, the standalone app): open the two apart."""
    watch = _watch_for(api)
    if watch is None or not jack_frames.available():
        jack_watch.release(watch)
        return None
    try:
        peers: list[str | None] = []
        kinds: tuple[tuple[str | None, Kind], ...] = ((in_name, "input"), (out_name, "output"))
        for name, kind in kinds:
            peer = None
            if name is not None:  # an output connects to a JACK input port, an input to a JACK output port
                available = _offered(watch.own_ports(is_input=kind == "output"), skip_own)
                peer = available[match_port(name, available, kind)]
            peers.append(peer)
        midi_in = jack_frames.JackFramesIn(client_name, "cocomposer in", peers[0], watch, ("cocomposer out", peers[1]))
    except BaseException:
        jack_watch.release(watch)
        raise
    own_client = midi_in.jack_name.split(":", 1)[0] if midi_in.jack_name else client_name
    for name, virtual in ((in_name, "cocomposer in"), (out_name, "cocomposer out")):
        if name is None:
            _opened_here.add((own_client, virtual))
    return midi_in, midi_in.output_port()


def _open_frames_port(
    kind: Kind, name: str | None, virtual_name: str, client_name: str, skip_own: bool, watch: jack_watch.JackWatch
) -> MidiIn | MidiOut:
    try:
        peer = None
        if name is not None:  # an output connects to a JACK input port, an input to a JACK output port
            available = _offered(watch.own_ports(is_input=kind == "output"), skip_own)
            peer = available[match_port(name, available, kind)]
        opener = jack_frames.JackFramesIn if kind == "input" else jack_frames.JackFramesOut
        port: MidiIn | MidiOut = opener(client_name, virtual_name, peer, watch)
    except BaseException:
        jack_watch.release(watch)
        raise
    if name is None:
        _opened_here.add((port.jack_name.split(":", 1)[0] if port.jack_name else client_name, virtual_name))
    return port


def _watch_for(api: str) -> jack_watch.JackWatch | None:
    """The JACK watch for a port on ``api``, where that is JACK and the watch can be had."""
    api_id = lookup_api(api)
    if api_id == rtmidi.API_UNSPECIFIED:
        api_id = resolve_api(api)
    return jack_watch.acquire() if api_id == rtmidi.API_UNIX_JACK else None


class LoopbackIn(MidiIn):
    """Receives what its `LoopbackOut` sends, on a thread of its own, timestamped there like by a driver."""

    def __init__(self, name: str, now_ns: Callable[[], int] = time.perf_counter_ns) -> None:
        self.name = name
        self._now_ns = now_ns
        self._queue: queue.SimpleQueue[Message | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._closed = False

    def deliver(self, message: Message) -> None:
        """Queue a message for the sink (messages sent before `start` wait for it; after `close` they are lost)."""
        if not self._closed:
            self._queue.put(message)

    def start(self, sink: Sink) -> None:
        if self._closed or self._thread is not None:
            raise PortError(f"loopback input {self.name!r} is closed or already started")
        self._thread = threading.Thread(target=self._run, args=(sink,), name=f"loopback {self.name}", daemon=True)
        self._thread.start()

    def _run(self, sink: Sink) -> None:
        while (message := self._queue.get()) is not None:
            try:
                sink(self._now_ns(), message)
            except Exception:
                _log.exception("the sink of loopback input %r failed on %r", self.name, message)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._queue.put(None)
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=5.0)


class LoopbackOut(MidiOut):
    """Sends into a `LoopbackIn`."""

    def __init__(self, name: str, target: LoopbackIn) -> None:
        self.name = name
        self._target = target
        self._closed = False

    def send(self, message: Sequence[int]) -> None:
        if self._closed:
            raise PortError(f"loopback output {self.name!r} is closed; cannot send {message!r}")
        self._target.deliver(as_message(message))

    def close(self) -> None:
        self._closed = True


def loopback_pair(name: str = "loopback", now_ns: Callable[[], int] = time.perf_counter_ns) -> tuple[MidiIn, MidiOut]:
    """An input and an output joined like two ends of a cable: what the output sends, the input receives."""
    midi_in = LoopbackIn(name, now_ns)
    return midi_in, LoopbackOut(name, midi_in)


class RecordingOut(MidiOut):
    """An output that records ``(now(), message)``; `wait_for` lets a test wait until enough has arrived."""

    def __init__(self, name: str = "recording", now: Callable[[], int] = time.perf_counter_ns) -> None:
        self.name = name
        self._now = now
        self._events: list[tuple[int, Message]] = []
        self._cond = threading.Condition()
        self._closed = False

    def send(self, message: Sequence[int]) -> None:
        msg = as_message(message)
        with self._cond:
            if self._closed:
                raise PortError(f"recording output {self.name!r} is closed; cannot send {message!r}")
            self._events.append((self._now(), msg))
            self._cond.notify_all()

    @property
    def events(self) -> list[tuple[int, Message]]:
        with self._cond:
            return list(self._events)

    @property
    def messages(self) -> list[Message]:
        with self._cond:
            return [msg for _, msg in self._events]

    def wait_for(self, predicate: Callable[[list[tuple[int, Message]]], bool], timeout: float) -> bool:
        """Wait until `predicate(events)` holds; False if it still does not after `timeout` seconds."""
        with self._cond:
            return self._cond.wait_for(lambda: predicate(self._events), timeout)

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()


def with_channel(msg: Sequence[int], channel: int) -> Message:
    """The same channel message on another channel (0..15)."""
    if channel_of(msg) is None or not 0 <= channel <= 15:
        raise ConfigError(f"cannot put {tuple(msg)!r} on channel {channel}; expected a channel message and 0..15")
    return (msg[0] & 0xF0 | channel, *msg[1:])
