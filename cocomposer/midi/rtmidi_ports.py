"""The python-rtmidi ports behind :func:`cocomposer.midi.ports.open_input` and ``open_output``, with what they do
about RtMidi 5.0.0's JACK faults (an unterminated sysex that deafens the input, a long message dropped in silence,
a dead server's ports that hang on close); :mod:`cocomposer.midi.jack_watch` tells them when the server stops."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence

import rtmidi

from cocomposer.console.quiet import captured_stderr
from cocomposer.errors import BackendLostError, PortError
from cocomposer.midi import jack_watch
from cocomposer.midi.port_base import MidiIn, MidiOut, Sink, as_message
from cocomposer.midi.stamps import DriverClock
from cocomposer.midi_bytes import SYSEX, split_messages

_log = logging.getLogger(__name__)
GUARD_PORT = "sysex guard"  # the port of an input's sysex guard: never listed, never matched


class RtMidiIn(MidiIn):
    """An opened ``rtmidi.MidiIn``. Receives every message (the engine lets active sensing go).

    Messages are read by a small thread of its own that polls RtMidi's queue every ``POLL_SECONDS``, timestamps
    and hands them to the sink: python-rtmidi's callback path loses and garbles messages that arrive within one JACK
    period (a chord, a burst), while its queue keeps them all (measured: 15 of 6,000 lost through the callback, none
    by polling). Each message is stamped with the time the driver received it (RtMidi's delta times placed on our
    clock by :class:`~cocomposer.midi.stamps.DriverClock`), so the poll delays a message but does not mis-stamp it.
    What arrives is split into well-formed messages (:func:`~cocomposer.midi_bytes.split_messages`); the malformed
    pieces are dropped and counted in :attr:`malformed`.

    On JACK, RtMidi 5.0.0 appends every event after an unterminated sysex (``F0`` with no ``F7``) to that sysex until
    some event ends in ``F7``: one bad message deafens the input. :meth:`guard_sysex` connects a port of our own
    ("sysex guard") that sends an empty sysex (``F0 F7``) every ``GUARD_SECONDS``; that ends any sysex left open, the
    swallowed messages come out in one piece, and the split gives them back (late by at most ``GUARD_SECONDS``).
    The guard's own ``F0 F7`` is dropped here. (A sysex that a bridge splits over several JACK events, as a
    long dump can be, is cut by the guard and dropped as malformed: cocomposer uses no sysex.)
    """

    POLL_SECONDS = 0.0005
    GUARD_SECONDS = 0.02
    _GUARD = (SYSEX, 0xF7)

    def __init__(
        self,
        midi: rtmidi.MidiIn,
        name: str,
        now_ns: Callable[[], int] = time.perf_counter_ns,
        watch: jack_watch.JackWatch | None = None,
    ) -> None:
        self.name = name
        self._midi: rtmidi.MidiIn | None = midi
        self._now_ns = now_ns
        self._watch = watch
        self._guard: rtmidi.MidiOut | None = None
        self._started = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.malformed = 0
        midi.ignore_types(sysex=False, timing=False, active_sense=False)  # see stamps: RtMidi drops none

    @property
    def lost(self) -> str | None:
        return self._watch.lost if self._watch is not None else None

    def guard_sysex(self, client: str) -> None:
        """Connect the sysex guard (a JACK client ``"{client} guard"``) to this input's JACK port. Where that port's
        name is not known (:attr:`jack_name`), the input goes unguarded and a debug line says so."""
        if self.jack_name is None:
            _log.debug("no sysex guard for %r: its JACK port name is not known", self.name)
            return
        try:
            with captured_stderr():
                guard = rtmidi.MidiOut(rtmidi.API_UNIX_JACK, name=f"{client} guard")
        except (rtmidi.RtMidiError, RuntimeError) as err:
            _log.debug("no sysex guard for %r: %s", self.name, err)
            return
        try:
            with captured_stderr():
                guard.open_port(list(guard.get_ports()).index(self.jack_name), name=GUARD_PORT)
        except (rtmidi.RtMidiError, RuntimeError, ValueError) as err:
            guard.delete()
            _log.debug("no sysex guard for %r: %s", self.name, err)
            return
        self._guard = guard

    def start(self, sink: Sink) -> None:
        if self._midi is None or self._started:
            raise PortError(f"MIDI input {self.name!r} is closed or already started; open a new one to start it")
        self._started = True
        self._thread = threading.Thread(
            target=self._poll, args=(self._midi, sink), name=f"midi-in {self.name}", daemon=True
        )
        self._thread.start()

    def _poll(self, midi: rtmidi.MidiIn, sink: Sink) -> None:
        batch: list[tuple[list[int], float]] = []
        clock = DriverClock()
        guard, guard_due = self._guard, time.monotonic()
        while not self._stop.is_set():
            event = midi.get_message()
            while event is not None:
                batch.append(event)
                event = midi.get_message()
            if batch:
                now = self._now_ns()
                for data, delta in batch:
                    t_ns = clock.stamp(delta, now)
                    messages, dropped = split_messages(data)
                    self.malformed += dropped
                    for message in messages:
                        if message != self._GUARD:
                            sink(t_ns, message)
                batch.clear()
            # Not to a dead server: RtMidi's ring would fill, and its send then spins holding the GIL.
            if guard is not None and self.lost is None and time.monotonic() >= guard_due:
                guard_due = time.monotonic() + self.GUARD_SECONDS
                try:
                    guard.send_message(self._GUARD)
                except (rtmidi.RtMidiError, RuntimeError):
                    guard = None
            self._stop.wait(self.POLL_SECONDS)

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(1.0)
        midi, self._midi = self._midi, None
        guard, self._guard = self._guard, None
        if midi is not None:
            midi.close_port()
            midi.delete()
        if guard is not None:
            _close_output(guard, self.lost)
        jack_watch.release(self._watch)
        self._watch = None


class RtMidiOut(MidiOut):
    """An opened ``rtmidi.MidiOut``; ``send`` is safe from several threads (the scheduler, clock out, thru).

    On JACK, RtMidi 5.0.0 silently drops a message longer than its ring buffer allows (16,380 bytes) and busy-waits,
    holding the GIL, while the ring is full (a dead server never empties it): a longer message is refused here with
    an error, and nothing is sent once the JACK watch says the server stopped."""

    JACK_LARGEST = 16_380
    # RtMidi's JACK close waits for one cycle to write what is queued, but JACK2 (asynchronous by default) hands a
    # port's output to the ports it is connected to in the cycle after: closing sooner than that lost the last
    # note-off on the way (1 exit on SIGINT in 10 loaded runs of the JACK tests). Close this long after a send.
    JACK_SETTLE_SECONDS = 0.02

    def __init__(self, midi: rtmidi.MidiOut, name: str, watch: jack_watch.JackWatch | None = None) -> None:
        self.name = name
        self._last_send = -1.0
        self._midi: rtmidi.MidiOut | None = midi
        self._watch = watch
        self._largest = self.JACK_LARGEST if midi.get_current_api() == rtmidi.API_UNIX_JACK else None
        self._lock = threading.Lock()  # RtMidi's JACK backend breaks when two threads send at once

    @property
    def lost(self) -> str | None:
        return self._watch.lost if self._watch is not None else None

    def on_connect(self, listener: Callable[[str], None]) -> bool:
        watch, ours = self._watch, self.jack_name
        if watch is None or ours is None:
            return False
        watch.on_connect(ours, listener)
        return True

    def send(self, message: Sequence[int]) -> None:
        data = as_message(message)
        if self._largest is not None and len(data) > self._largest:
            raise PortError(
                f"a {len(data)}-byte MIDI message is longer than JACK MIDI through RtMidi carries ({self._largest} "
                f"bytes); it was not sent to {self.name!r}. Split the sysex into smaller ones."
            )
        if (lost := self.lost) is not None:
            raise BackendLostError(f"cannot send to MIDI output {self.name!r}: {lost}")
        with self._lock:
            if self._midi is None:
                raise PortError(f"MIDI output {self.name!r} is closed; cannot send {message!r}")
            try:
                self._midi.send_message(data)
                self._last_send = time.monotonic()
            except rtmidi.RtMidiError as err:
                raise PortError(f"could not send {message!r} to MIDI output {self.name!r}: {err}") from err

    def close(self) -> None:
        with self._lock:
            midi, self._midi = self._midi, None
        settle = self.JACK_SETTLE_SECONDS - (time.monotonic() - self._last_send)
        if midi is not None and self._largest is not None and self.lost is None and settle > 0:
            time.sleep(settle)
        if midi is not None:
            _close_output(midi, self.lost)
        if self._watch is not None and self.jack_name is not None:
            self._watch.forget(self.jack_name)
        jack_watch.release(self._watch)
        self._watch = None


_abandoned: list[rtmidi.MidiOut] = []  # outputs of a dead JACK server, never closed: see _close_output


def _close_output(midi: rtmidi.MidiOut, lost: str | None) -> None:
    """Close an RtMidi output, unless its JACK server has stopped: then RtMidi 5.0.0's JACK close waits a full
    second for a process cycle that never comes, so the port is left as it is (the server took it already) and
    kept referenced, so no destructor waits either while the process exits."""
    if lost is not None:
        _abandoned.append(midi)
        return
    midi.close_port()
    midi.delete()
