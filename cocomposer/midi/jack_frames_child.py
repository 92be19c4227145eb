"""The helper process behind :class:`~cocomposer.midi.jack_frames.JackFramesOut` and
:class:`~cocomposer.midi.jack_frames.JackFramesIn`: one JACK client with one MIDI port. An output's process callback
writes each message at the frame of its time inside the period; an input's reads each message with its frame's time
and hands it on at once.

It runs in a process of its own so that its Python callback never waits for an interpreter lock that the engine's
threads hold (measured: a JACK-Client callback in a process whose other thread ran pure Python missed its periods).
Here the only other thread is the reader, which sleeps in ``select`` and holds the lock for microseconds per message.

``python -m cocomposer.midi.jack_frames_child --client NAME --port NAME [--connect PORT]`` prints one line
(down the pipe that was its stdout; fd 1 itself is sent to stderr's file at once, for libjack's chatter),
``ready <full port name> <sample rate> <period frames>``, once the port exists (and is connected), then reads
records from stdin, each ``<q`` time in ``perf_counter`` nanoseconds (0: as soon as possible), ``<I`` length, and
that many bytes. A message whose time falls in a period is written at its frame; one whose time has passed goes at
frame 0 of the next period. Times on JACK's clock (``jack_get_time``, CLOCK_MONOTONIC in JACK2) are placed on
``perf_counter``'s (CLOCK_MONOTONIC too) by an offset measured at start and every second. When stdin closes, the
process writes what it still holds, waits two periods so the server hands it on, and exits 0; when the server stops,
it exits 3 with one line on stderr; when its callback fails, 4. A message that does not fit an empty period is
dropped with a line on stderr. It ignores SIGINT, SIGTERM and SIGHUP (see :func:`main`).

With ``--input``, the port is an input (``--connect`` names a source), and after the ready line stdout carries one
record per JACK MIDI event, in the same form: the time of its frame a period back, on ``perf_counter``'s clock (what
arrives in a period came in during the one before: JACK's input latency), never later than it was read, then the
bytes as they came. Records wait in the callback's backlog while the pipe is full; over ``BACKLOG_BYTES`` the newest
are dropped, and a record with time ``DROPPED`` and no bytes says how many so far (in its length field). stdin
then only tells the process when to end (it closes).

With ``--input`` and ``--output-port NAME [--output-connect PORT]``, one client holds both ports (the engine's input
and output): stdout carries what arrives, stdin what to send, and a reflex joins them. A record on stdin with time
``ARM`` arms it: its bytes are ``ARMED`` (an id, a control number, a channel or -1 for any, a deadline in
``perf_counter`` nanoseconds) then the messages to play. When that control arrives with a value of 64 or more
before the deadline, the callback that reads it writes those messages to the output in the same period, at the
control's frame there (one period after it was played), and puts a ``FIRED`` record (the id and the time the
messages sound) on stdout just before the control's own record (it does not fire when the backlog is too full to
take that record). A note-on that arrives first, a record with time ``DISARM``, a firing, and the end of stdin
disarm it. The process remembers the keys the reflex struck until a note-off for each passes through the output,
and sends note-offs for those left when it ends. This is how the first note of an answer already sampled sounds
within one period of the end-of-phrase control: the engine's threads take milliseconds to react.
"""

from __future__ import annotations

import argparse
import collections
import ctypes
import gc
import heapq
import itertools
import os
import select
import signal
import struct
import sys
import time
from collections.abc import Callable

from cocomposer.midi_bytes import split_messages

HEADER = struct.Struct("<qI")
SERVER_STOPPED = 3
FAILED = 4
STUCK_SECONDS = 10
BACKLOG_BYTES = 1 << 20
DROPPED = -1  # an input record with this time: its length is how many messages the backlog dropped so far
ARM = -2  # a record on stdin with this time arms the reflex: ARMED, then the messages
DISARM = -3  # a record on stdin with this time (and no bytes) disarms it
FIRED = -4  # a record on stdout with this time: the reflex played; its bytes are FIRED_AT
ARMED = struct.Struct("<Ibbq")  # id, control number, channel (0..15, -1: any), deadline (perf_counter ns)
FIRED_AT = struct.Struct("<Iq")  # id, the time its messages sound (perf_counter ns)


def jack_time_functions(client: object) -> tuple[Callable[[], int], Callable[[int], int]]:
    """``jack_get_time()`` and ``jack_frames_to_time(frames)`` of ``client`` (JACK-Client wraps neither), in
    microseconds."""
    import jack

    lib = ctypes.CDLL(getattr(jack, "_libname", None) or "libjack.so.0")  # the library JACK-Client loaded
    lib.jack_get_time.restype = ctypes.c_uint64
    lib.jack_frames_to_time.restype = ctypes.c_uint64
    lib.jack_frames_to_time.argtypes = [ctypes.c_void_p, ctypes.c_uint32]
    pointer = int(jack._ffi.cast("uintptr_t", client._ptr))  # type: ignore[attr-defined]
    return lib.jack_get_time, lambda frames: lib.jack_frames_to_time(pointer, frames)


def clock_offset_ns(get_time: Callable[[], int], tries: int = 20) -> int:
    """``perf_counter_ns() - jack_get_time() * 1000``, from the tightest of ``tries`` bracketed reads."""
    best: tuple[int, int] | None = None
    for _ in range(tries):
        before = time.perf_counter_ns()
        jack_us = get_time()
        after = time.perf_counter_ns()
        if best is None or after - before < best[0]:
            best = (after - before, (before + after) // 2 - jack_us * 1000)
    assert best is not None
    return best[1]


def _prefer_real_time() -> None:
    """Put the reader on the lowest real-time priority where the system allows (it does for a real-time JACK
    setup), so a busy machine does not keep a message from reaching the callback in time; else leave it be."""
    try:
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(1))
    except (AttributeError, OSError):
        pass


def main(argv: list[str] | None = None) -> int:
    """Run the helper; its exit status is 0, 2 (could not open), SERVER_STOPPED or FAILED.

    A JACK server that dies while this process closes its client, or under its callback, can leave the process
    waiting for ever on a lock a vanished JACK thread held (seen: one thread left, in a futex wait, after the engine
    and then the server were killed). So the main loop re-arms ``alarm(STUCK_SECONDS)`` on every round (at least five
    times a second) and once more before closing: if the process stops coming round, the kernel's SIGALRM ends it,
    with no Python needed."""
    # A terminal's Ctrl-C goes to the whole process group: this process must outlive the engine, which closes every
    # note it opened on its way out, through here. It ends when its stdin closes (the engine closed the port, or died).
    for number in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(number, signal.SIG_IGN)
    parser = argparse.ArgumentParser(prog="python -m cocomposer.midi.jack_frames_child")
    parser.add_argument("--client", required=True)
    parser.add_argument("--port", required=True)
    parser.add_argument("--connect", default=None)
    parser.add_argument("--input", action="store_true", help="an input port; stdout carries what arrives")
    parser.add_argument("--output-port", default=None, help="with --input: an output port too, and the reflex")
    parser.add_argument("--output-connect", default=None)
    args = parser.parse_args(argv)
    # The pipe to the engine is kept apart from fd 1 before libjack is loaded: JACK2's info callback prints to
    # stdout from its own threads, and in the record stream one such line would read as a record's header.
    channel = os.dup(sys.stdout.fileno())
    sys.stdout.flush()
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())

    import jack

    try:
        client = jack.Client(args.client, no_start_server=True)
    except jack.JackError as err:
        print(f"could not open a JACK client: {err}", file=sys.stderr)
        return 2
    port = (client.midi_inports if args.input else client.midi_outports).register(args.port)
    duplex = args.input and args.output_port is not None
    out_port = client.midi_outports.register(args.output_port) if duplex else port
    get_time, frames_to_time = jack_time_functions(client)
    incoming: collections.deque[tuple[int, int, bytes]] = collections.deque()
    order = itertools.count()
    state = {"offset_ns": clock_offset_ns(get_time), "stopped": "", "failed": "", "written": 0, "dropped": 0}
    armed: list[tuple | None] = [None]  # (id, control, channel, deadline_ns, messages): read once per event
    struck: set[tuple[int, int]] = set()  # (channel, pitch) the reflex played and no note-off has closed since
    heap: list[tuple[int, int, bytes]] = []
    rate_ns = client.samplerate / 1e9
    data_fd = -1  # an input's records go here (the channel, once 'ready' went down it)
    backlog = bytearray()
    told = [0]  # the dropped count the engine was last told

    def read_arrived(frames: int) -> None:
        # What arrives in this period came in during the one before (JACK's input latency, for a keyboard's driver):
        # its frame, a period back, is when it was played. Never later than now: on a loaded machine JACK's estimate
        # of a frame's time can run ahead of the clock (seen: 18 ms).
        base, now_us = max(0, client.last_frame_time - frames), get_time()
        for offset, data in port.incoming_midi_events():
            t_ns = min(frames_to_time(base + offset), now_us) * 1000 + state["offset_ns"]
            if armed[0] is not None:
                reflex(offset, data, t_ns)
            if len(backlog) < BACKLOG_BYTES:
                backlog.extend(HEADER.pack(t_ns, len(data)))
                backlog.extend(data)
            else:
                state["dropped"] += 1
        if state["dropped"] != told[0] and len(backlog) < BACKLOG_BYTES:
            told[0] = state["dropped"]
            backlog.extend(HEADER.pack(DROPPED, told[0]))  # no bytes: the length field is the count so far
        if backlog and data_fd >= 0:
            try:
                del backlog[: os.write(data_fd, backlog)]
            except BlockingIOError:
                pass  # the reader is behind: the rest goes next period

    def reflex(offset: int, data: bytes, t_ns: int) -> None:
        """Fire on the armed control (its messages go out this period, a period after it was played), or disarm
        on a note-on."""
        arm = armed[0]
        if arm is None or len(data) < 3:
            return
        data = bytes(data[:3])  # JACK-Client's buffer hands out bytes, not ints
        kind = data[0] & 0xF0
        if kind == 0x90 and data[2] > 0:
            armed[0] = None  # the phrase goes on
        elif kind == 0xB0 and data[1] == arm[1] and data[2] >= 64 and arm[2] in (-1, data[0] & 0x0F):
            armed[0] = None
            if t_ns < arm[3] and len(backlog) < BACKLOG_BYTES:  # the control's own record must follow
                due = frames_to_time(client.last_frame_time + offset) * 1000 + state["offset_ns"]
                for message in arm[4]:
                    heapq.heappush(heap, (due, next(order), message))
                    if message[0] & 0xF0 == 0x90:
                        struck.add((message[0] & 0x0F, message[1]))
                backlog.extend(HEADER.pack(FIRED, FIRED_AT.size) + FIRED_AT.pack(arm[0], due))

    def write_due(frames: int) -> None:
        out_port.clear_buffer()
        while incoming:
            heapq.heappush(heap, incoming.popleft())
        if not heap:
            return
        start_ns = frames_to_time(client.last_frame_time) * 1000 + state["offset_ns"]
        end_ns = start_ns + frames / rate_ns
        floor, wrote = 0, False
        while heap and heap[0][0] < end_ns:
            due, _, data = heap[0]
            frame = min(frames - 1, max(floor, round((due - start_ns) * rate_ns)))
            try:
                out_port.write_midi_event(frame, data)
            except jack.JackError:
                if wrote:  # the period's buffer is full: the rest waits for the next one
                    return
                state["dropped"] += 1  # it does not fit an empty period: it never will, and must not block the rest
                print(f"dropped a {len(data)}-byte message that does not fit one JACK period", file=sys.stderr)
            else:
                floor, wrote = frame, True
                state["written"] += 1
                if struck and len(data) >= 3 and (data[0] & 0xF0 == 0x80 or (data[0] & 0xF0 == 0x90 and data[2] == 0)):
                    struck.discard((data[0] & 0x0F, data[1]))
            heapq.heappop(heap)

    def read_and_write(frames: int) -> None:
        read_arrived(frames)
        write_due(frames)

    handle = read_and_write if duplex else read_arrived if args.input else write_due

    @client.set_process_callback
    def process(frames: int) -> None:
        try:
            handle(frames)
        except Exception as err:  # JACK-Client would stop calling us: say so, and let the reader end the process
            state["failed"] = f"{type(err).__name__}: {err}"
            raise jack.CallbackExit from err

    @client.set_shutdown_callback
    def shutdown(_status: object, reason: str) -> None:
        state["stopped"] = reason.strip() or "no reason given"

    client.activate()
    connections = [(args.connect, port, args.input)] + ([(args.output_connect, out_port, False)] if duplex else [])
    for peer, own, is_input in connections:
        if not peer:
            continue
        try:
            client.connect(*((peer, own) if is_input else (own, peer)))
        except jack.JackError as err:
            print(f"could not connect to {peer!r}: {err}", file=sys.stderr)
            client.deactivate()
            client.close()
            return 2
    names = f"{port.name}\t{out_port.name}" if duplex else port.name
    os.write(channel, f"ready {names} {client.samplerate} {client.blocksize}\n".encode())
    if args.input:
        os.set_blocking(channel, False)  # the callback never waits for the reader
        data_fd = channel
    else:
        os.close(channel)  # an output's engine reads nothing more from here
    gc.freeze()  # what exists now is never collected: a collection on the callback's thread stays short

    _prefer_real_time()
    stdin = sys.stdin.fileno()
    pending = b""
    checked = time.monotonic()
    while not state["stopped"] and not state["failed"]:
        signal.alarm(STUCK_SECONDS)  # a dead man's switch: see main's docstring
        readable, _, _ = select.select([stdin], [], [], 0.2)
        if time.monotonic() - checked > 1.0:
            state["offset_ns"], checked = clock_offset_ns(get_time), time.monotonic()
        if not readable:
            continue
        chunk = os.read(stdin, 65536)
        if not chunk:
            break
        pending += chunk
        at = 0
        while len(pending) - at >= HEADER.size:
            t_ns, length = HEADER.unpack_from(pending, at)
            if len(pending) - at < HEADER.size + length:
                break
            data = pending[at + HEADER.size : at + HEADER.size + length]
            at += HEADER.size + length
            if t_ns == ARM and duplex and len(data) >= ARMED.size:
                ident, control, chan, deadline = ARMED.unpack_from(data)
                messages, _ = split_messages(data[ARMED.size :])
                armed[0] = (ident, control, chan, deadline, [bytes(m) for m in messages])
            elif t_ns == DISARM:
                armed[0] = None
            elif t_ns >= 0:
                incoming.append((t_ns or time.perf_counter_ns(), next(order), data))
        pending = pending[at:]
    armed[0] = None
    for channel_, pitch in sorted(struck):  # struck by the reflex and never closed: closed with the rest below
        incoming.append((time.perf_counter_ns(), next(order), bytes((0x80 | channel_, pitch, 0))))
    signal.alarm(STUCK_SECONDS)  # the last writes, the wait and the close below take about a second
    if state["dropped"] and args.input:
        print(f"dropped {state['dropped']} incoming messages: the engine read none for too long", file=sys.stderr)
    if state["failed"]:
        print(f"the JACK process callback failed ({state['failed']})", file=sys.stderr)
        client.close()
        return FAILED
    if state["stopped"]:
        print(f"the JACK server stopped ({state['stopped']})", file=sys.stderr)
        return SERVER_STOPPED
    period = client.blocksize / client.samplerate
    deadline = time.monotonic() + 1.0
    while (incoming or heap) and time.monotonic() < deadline and not state["stopped"]:
        time.sleep(period / 2)
    time.sleep(2 * period + 0.005)
    client.deactivate()
    client.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
