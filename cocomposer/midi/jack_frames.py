"""JACK MIDI ports through JACK-Client in a helper process: :class:`JackFramesOut` sends each message at the frame of
its time; :class:`JackFramesIn` hands each incoming message on the moment its period is read, stamped with its
frame's time a period back (JACK's input latency: so never later than it was read).

python-rtmidi writes every message at frame 0 of the period after the send, so a note lands up to one period
(1.33 ms at 64 frames, 48 kHz) after its time, wherever the sending thread woke. Here the scheduler hands each
message over ``lead_seconds`` ahead with its time (:meth:`JackFramesOut.send_at`), and a JACK-Client process
callback writes it at its frame. The callback runs in a helper process (:mod:`cocomposer.midi.jack_frames_child`)
so the engine's Python threads never keep it waiting for the interpreter lock. Measured with
``benchmarks/jack_output.py``: arrival minus intended time 0.000 / 0.012 ms (median / p99) against python-rtmidi's
0.69 / 1.36 ms.

A message sent without a time (:meth:`send`) goes out in the next period, at frame 0, like through python-rtmidi.
The helper keeps the messages in time order (those of one time in the order sent); the scheduler never hands a
message a time before one it handed earlier, so a note's off never overtakes its on.

On input, python-rtmidi's queue must be polled (every 0.5 ms: a note waits up to that long, more on a busy machine;
its callback path loses and garbles messages within one period). The helper's callback writes each event down a pipe
in the period it arrives, and a reader thread here, asleep in ``read``, hands it to the engine at once.

The engine's two ports live in one helper (:meth:`JackFramesIn.output_port`), and with them a reflex: the engine
arms the helper with the first notes of a drafted answer (:meth:`JackFramesOut.arm`), and the end-of-phrase control
plays them in the very period it is read, one period after it was played, without waiting for the engine; the
engine hears of it (``on_fired``) before it hears the control itself.

The helper is started with ``python -m``, so the standalone app, which cannot, uses python-rtmidi.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import select
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence

from cocomposer.errors import BackendLostError, PortError
from cocomposer.midi import jack_watch
from cocomposer.midi.jack_frames_child import (
    ARM,
    ARMED,
    BACKLOG_BYTES,
    DISARM,
    DROPPED,
    FAILED,
    FIRED,
    FIRED_AT,
    HEADER,
    SERVER_STOPPED,
)
from cocomposer.midi.port_base import MidiIn, MidiOut, Sink, as_message
from cocomposer.midi_bytes import split_messages

_log = logging.getLogger(__name__)

READY_SECONDS = 5.0
WRITE_SECONDS = 1.0  # a helper that takes nothing from the pipe for this long is stuck: the send fails


class _Helper:
    """The helper process of one port: started, waited for ("ready"), asked how it ended, ended."""

    def __init__(
        self,
        client_name: str,
        port_name: str,
        peer: str | None,
        watch: jack_watch.JackWatch | None,
        output: tuple[str, str | None] | None = None,
    ) -> None:
        self._watch = watch
        kind = "input" if self._is_input else "output"
        command = [sys.executable, "-m", "cocomposer.midi.jack_frames_child", "--client", client_name]
        command += ["--port", port_name] + (["--connect", peer] if peer else [])
        command += ["--input"] if self._is_input else []
        if output is not None:  # an input with the engine's output beside it (see JackFramesIn.output_port)
            command += ["--output-port", output[0]] + (["--output-connect", output[1]] if output[1] else [])
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 (closed by _end): a pipe nobody reads could fill
        self._process: subprocess.Popen[bytes] | None = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._stderr, start_new_session=True
        )
        assert self._process.stdin is not None
        os.set_blocking(self._process.stdin.fileno(), False)  # a stuck helper must not hang the engine
        line = _read_line(self._process, READY_SECONDS)
        if not line.startswith("ready "):
            error = self._end(kill=True)
            what = f"MIDI {kind} {peer!r}" if peer else f"virtual MIDI {kind} {port_name!r}"
            raise PortError(f"could not open {what} through JACK-Client: {error or line or 'no answer'}")
        full_name, rate, frames = line[len("ready ") :].rsplit(" ", 2)
        full_name, _, self.output_jack_name = full_name.partition("\t")
        self.jack_name: str | None = full_name
        self.period_seconds = int(frames) / float(rate)

    _is_input = False

    @property
    def lost(self) -> str | None:
        if self._watch is not None and self._watch.lost is not None:
            return self._watch.lost
        process = self._process
        if process is not None and process.poll() is not None:
            return f"its JACK helper process ended ({self._describe_exit()})"
        return None

    def _describe_exit(self) -> str:
        process = self._process
        if process is None or process.poll() is None:
            return "it is still running"
        if process.returncode == SERVER_STOPPED:
            return "the JACK server stopped, or dropped its client"
        if process.returncode == FAILED:
            return "its process callback failed"
        return f"exit status {process.returncode}"

    def _end(self, kill: bool = False) -> str:
        """Stop the helper (closing its stdin lets it finish what it holds and exit); its stderr, stripped."""
        process, self._process = self._process, None
        if process is None:
            return ""
        with contextlib.suppress(OSError):
            if process.stdin is not None:
                process.stdin.close()
        if kill:
            process.kill()
        try:
            process.wait(timeout=3.0)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()
        self._stderr.seek(0)
        err = self._stderr.read()
        self._stderr.close()
        return err.decode(errors="replace").strip()

    def _close_helper(self) -> None:
        """End the helper; what it said on its way out (a message it dropped, the server gone) goes to the log."""
        if said := self._end(kill=self.lost is not None):
            _log.info("JACK helper of %r: %s", self.name, said)

    def _release(self) -> None:
        if self._watch is not None and self.jack_name is not None:
            self._watch.forget(self.jack_name)
            if self.output_jack_name:  # the output port of a pair (its connect listener)
                self._watch.forget(self.output_jack_name)
        jack_watch.release(self._watch)
        self._watch = None


class JackFramesOut(_Helper, MidiOut):
    """A JACK MIDI output port of a helper process; ``send`` and ``send_at`` are safe from several threads."""

    timed = True
    JACK_LARGEST = 16_380  # what fits one 64-frame period's MIDI buffer with room to spare

    def __init__(
        self,
        client_name: str,
        port_name: str,
        destination: str | None = None,
        watch: jack_watch.JackWatch | None = None,
    ) -> None:
        self.name = destination or port_name
        self._lock = threading.Lock()
        self._host: JackFramesIn | None = None  # the input whose helper this port lives in, if it does
        self._closed = False
        super().__init__(client_name, port_name, destination, watch)
        # A message must reach the helper before the callback of the period holding its time starts: one period
        # ahead, plus what the pipe and the helper's wake-up take (well under a millisecond here).
        self.lead_seconds = self.period_seconds + 0.0007

    @classmethod
    def _sharing(cls, host: JackFramesIn, name: str) -> JackFramesOut:
        """The output port of ``host``'s helper (see :meth:`JackFramesIn.output_port`)."""
        port = cls.__new__(cls)
        port.name, port._lock, port._host, port._closed = name, threading.Lock(), host, False
        port._watch, port._process, port._stderr = None, None, None  # the host's helper: it ends and releases it
        port.jack_name, port.period_seconds = host.output_jack_name, host.period_seconds
        port.lead_seconds = port.period_seconds + 0.0007
        return port

    @property
    def reflex(self) -> bool:
        """Whether this port can be armed (:meth:`arm`): it shares its helper with the engine's input."""
        return self._host is not None

    @property
    def lost(self) -> str | None:
        return self._host.lost if self._host is not None else super().lost

    def _describe_exit(self) -> str:
        return self._host._describe_exit() if self._host is not None else super()._describe_exit()

    def on_connect(self, listener: Callable[[str], None]) -> bool:
        watch = self._host._watch if self._host is not None else self._watch
        if watch is None or self.jack_name is None:
            return False
        watch.on_connect(self.jack_name, listener)
        return True

    def arm(
        self, ident: int, control: int, channel: int | None, deadline: float, messages: Sequence[Sequence[int]]
    ) -> None:
        """Play ``messages`` the moment control ``control`` (value 64 or more, on ``channel`` 0..15 or any for None)
        arrives at the input, before ``deadline`` (``perf_counter`` seconds) and before any note-on; the input then
        tells its ``on_fired(ident, t)`` first. Replaces what was armed before."""
        payload = ARMED.pack(ident, control, -1 if channel is None else channel, round(deadline * 1e9))
        payload += b"".join(bytes(as_message(m)) for m in messages)
        self._write(HEADER.pack(ARM, len(payload)) + payload, "arm the reflex")

    def disarm(self) -> None:
        self._write(HEADER.pack(DISARM, 0), "disarm the reflex")

    def send(self, message: Sequence[int]) -> None:
        self.send_at(message, None)

    def send_at(self, message: Sequence[int], t: float | None) -> None:
        """Send ``message`` to sound at ``t`` (``perf_counter`` seconds), or as soon as possible for None."""
        data = as_message(message)
        if len(data) > self.JACK_LARGEST:
            raise PortError(
                f"a {len(data)}-byte MIDI message is longer than one JACK period carries here ({self.JACK_LARGEST} "
                f"bytes); it was not sent to {self.name!r}. Split the sysex into smaller ones."
            )
        if (lost := self.lost) is not None:
            raise BackendLostError(f"cannot send to MIDI output {self.name!r}: {lost}")
        t_ns = 0 if t is None else max(1, round(t * 1e9))
        self._write(HEADER.pack(t_ns, len(data)) + bytes(data), f"send {message!r}")

    def _write(self, record: bytes, what: str) -> None:
        with self._lock:
            process = self._host._process if self._host is not None else self._process
            if self._closed or process is None or process.stdin is None:
                raise PortError(f"MIDI output {self.name!r} is closed; cannot {what}")
            try:
                _write_all(process.stdin.fileno(), record, WRITE_SECONDS)
            except (OSError, ValueError) as err:
                raise PortError(
                    f"could not {what} to MIDI output {self.name!r}: its JACK helper process ended "
                    f"({self._describe_exit()})"
                ) from err
            except TimeoutError as err:
                raise PortError(
                    f"could not {what} to MIDI output {self.name!r}: its JACK helper process took nothing "
                    f"for {WRITE_SECONDS:g} s"
                ) from err

    def close(self) -> None:
        if self._host is not None and not self._closed:
            with contextlib.suppress(PortError):
                self.disarm()  # nothing fires once nobody hears of it
        with self._lock:
            self._closed = True
            if self._host is None:
                self._close_helper()
        if self._host is None:
            self._release()
        elif self._host._closed:  # the input stopped listening before: the helper ends now
            self._host._end_helper()


class JackFramesIn(_Helper, MidiIn):
    """A JACK MIDI input port of a helper process: each message reaches the sink the moment the helper read its
    period, stamped with its frame's time a period back (``perf_counter`` nanoseconds, never later than it was
    read). What arrives is split into well-formed messages (:func:`~cocomposer.midi_bytes.split_messages`); the
    malformed pieces are dropped and counted in :attr:`malformed`; :attr:`dropped` counts what the helper could not
    keep while this side read nothing (a warning says so once). No sysex guard is needed: JACK-Client hands each
    event as it came."""

    _is_input = True

    def __init__(
        self,
        client_name: str,
        port_name: str,
        source: str | None = None,
        watch: jack_watch.JackWatch | None = None,
        output: tuple[str, str | None] | None = None,
    ) -> None:
        self.name = source or port_name
        self.malformed = 0
        self.dropped = 0
        self._corrupt = ""
        self._thread: threading.Thread | None = None
        self._output = output
        self._view: JackFramesOut | None = None  # the output port of this helper, once asked for
        self._closed = False  # no longer listening (the helper lives on while its output is open)
        # Called on the reader thread with (id, perf_counter seconds) when the armed reflex played, before the
        # control that fired it reaches the sink.
        self.on_fired: Callable[[int, float], None] | None = None
        super().__init__(client_name, port_name, source, watch, output)

    def output_port(self) -> JackFramesOut:
        """The output port this input's helper holds (opened with ``output=(port name, destination or None)``).
        The helper ends when both are closed: closing the input only stops the listening, so the engine can still
        close its notes through the output."""
        if self._output is None:
            raise PortError(f"MIDI input {self.name!r} was opened without an output port beside it")
        self._view = JackFramesOut._sharing(self, self._output[1] or self._output[0])
        return self._view

    def start(self, sink: Sink) -> None:
        process = self._process
        if process is None or process.stdout is None or self._thread is not None:
            raise PortError(f"MIDI input {self.name!r} is closed or already started; open a new one to start it")
        self._thread = threading.Thread(
            target=self._read, args=(process.stdout, sink), name=f"midi-in {self.name}", daemon=True
        )
        self._thread.start()

    def _read(self, stream: io.BufferedReader, sink: Sink) -> None:
        pending = b""
        while True:
            try:
                chunk = stream.read1(65536)
            except (OSError, ValueError):  # closed under us by close()
                return
            if not chunk:
                return  # the helper ended (close, or the server went away: ``lost`` says which)
            pending += chunk
            at = 0
            while len(pending) - at >= HEADER.size:
                t_ns, length = HEADER.unpack_from(pending, at)
                if t_ns == DROPPED:
                    if not self.dropped:
                        _log.warning("MIDI input %r dropped messages: nothing read them for too long", self.name)
                    self.dropped, at = length, at + HEADER.size
                    continue
                if length > BACKLOG_BYTES:  # not a record: the stream is broken; end the helper so `lost` says so
                    self._corrupt = f"its records came garbled (a length of {length})"
                    with contextlib.suppress(OSError):
                        if self._process is not None:
                            self._process.kill()
                    return
                if len(pending) - at < HEADER.size + length:
                    break
                data = pending[at + HEADER.size : at + HEADER.size + length]
                at += HEADER.size + length
                if t_ns == FIRED:
                    if self.on_fired is not None and length == FIRED_AT.size and not self._closed:
                        ident, sounds_ns = FIRED_AT.unpack(data)
                        try:
                            self.on_fired(ident, sounds_ns / 1e9)
                        except Exception:  # the input must go on; the helper closes what it struck when it ends
                            _log.exception("the reflex's news could not be handled")
                    continue
                if self._closed:
                    continue  # no longer listening: the helper lives on for its output
                messages, dropped = split_messages(data)
                self.malformed += dropped
                for message in messages:
                    sink(t_ns, message)
            pending = pending[at:]

    @property
    def lost(self) -> str | None:
        return f"its JACK helper process was ended: {self._corrupt}" if self._corrupt else super().lost

    def close(self) -> None:
        """Stop listening; the helper ends too, unless its output port is still open (it ends when that closes:
        the engine stops listening first, then closes the notes it opened through the output)."""
        self._closed = True
        if self._view is not None and not self._view._closed:
            return
        self._end_helper()

    def _end_helper(self) -> None:
        self._close_helper()
        thread, self._thread = self._thread, None
        if thread is not None and thread is not threading.current_thread():
            thread.join(1.0)
        self._release()


def _write_all(fd: int, data: bytes, timeout: float) -> None:
    """Write all of ``data`` to the non-blocking ``fd``, waiting at most ``timeout`` seconds for room in all."""
    view, deadline = memoryview(data), time.monotonic() + timeout
    while view:
        try:
            view = view[os.write(fd, view) :]
        except BlockingIOError:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError from None
            select.select([], [fd], [], left)


def _read_line(process: subprocess.Popen[bytes], timeout: float) -> str:
    """The first line the helper prints, or "" if it prints none within ``timeout`` seconds or exits first."""
    assert process.stdout is not None
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(process.stdout.readline()), daemon=True)  # type: ignore[union-attr]
    reader.start()
    reader.join(timeout)
    return got[0].decode(errors="replace").strip() if got else ""


def available() -> bool:
    """Whether this process can start the helper: not in the standalone app, and JACK-Client imports."""
    if getattr(sys, "frozen", False):
        return False
    try:
        import jack  # noqa: F401
    except (ImportError, OSError):
        return False
    return True
