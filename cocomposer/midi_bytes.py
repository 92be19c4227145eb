"""MIDI's bytes, in one place: status bytes, the controllers cocomposer uses, and the predicates on raw messages.

A message is a sequence of ints, as python-rtmidi gives and takes it. Every layer (ports, clocks, engine, bench)
reads these names instead of writing hex of its own.
"""

from __future__ import annotations

from collections.abc import Sequence

# Channel messages: the high nibble of the status byte; the low nibble is the channel 0..15.
NOTE_OFF, NOTE_ON, CONTROL_CHANGE = 0x80, 0x90, 0xB0
# System messages.
SYSEX, SONG_POSITION, TIMING_CLOCK, START, CONTINUE, STOP = 0xF0, 0xF2, 0xF8, 0xFA, 0xFB, 0xFC
CLOCK = TIMING_CLOCK
TRANSPORT = (TIMING_CLOCK, START, CONTINUE, STOP, SONG_POSITION)  # what a MIDI clock follower reads
# Controllers.
SUSTAIN, ALL_SOUND_OFF, RESET_CONTROLLERS, ALL_NOTES_OFF = 64, 120, 121, 123


def kind_of(msg: Sequence[int]) -> int:
    """The status without its channel (NOTE_ON, CONTROL_CHANGE, ...), or the whole status of a system message."""
    return msg[0] & 0xF0 if msg and msg[0] < 0xF0 else (msg[0] if msg else 0)


def channel_of(msg: Sequence[int]) -> int | None:
    """The channel (0..15) of a channel message, None for system messages."""
    return msg[0] & 0x0F if msg and 0x80 <= msg[0] < 0xF0 else None


def is_note_on(msg: Sequence[int]) -> bool:
    """A note-on with a velocity above 0."""
    return len(msg) >= 3 and msg[0] & 0xF0 == NOTE_ON and msg[2] > 0


def is_note_off(msg: Sequence[int]) -> bool:
    """A note-off, or a note-on with velocity 0 (which means the same)."""
    return len(msg) >= 3 and (msg[0] & 0xF0 == NOTE_OFF or (msg[0] & 0xF0 == NOTE_ON and msg[2] == 0))


def is_control_change(msg: Sequence[int]) -> bool:
    return len(msg) >= 3 and msg[0] & 0xF0 == CONTROL_CHANGE


def well_formed(msg: Sequence[int]) -> bool:
    """A status byte (0x80..0xFF), then data bytes 0..127: what every channel message must be."""
    return bool(msg) and 0x80 <= msg[0] <= 0xFF and all(0 <= b <= 0x7F for b in msg[1:])


def data_length(status: int) -> int | None:
    """How many data bytes follow ``status`` in a message; None for a sysex (up to its 0xF7) or an undefined status
    (0xF4, 0xF5, 0xF9, 0xFD, or a lone 0xF7), which no well-formed message starts with."""
    if status < 0x80:
        return None
    if status < 0xF0:
        return 1 if status & 0xF0 in (0xC0, 0xD0) else 2
    return {0xF1: 1, 0xF2: 2, 0xF3: 1, 0xF6: 0, 0xF8: 0, 0xFA: 0, 0xFB: 0, 0xFC: 0, 0xFE: 0, 0xFF: 0}.get(status)


def split_messages(data: Sequence[int]) -> tuple[list[tuple[int, ...]], int]:
    """The well-formed messages in ``data`` (the bytes of one event as a driver handed it over), and how many
    malformed pieces were dropped on the way.

    Data bytes with no status before them, an undefined status, a message cut short, and a sysex that another
    status byte interrupts before its 0xF7 are each dropped (counted once) and reading resumes at the next status
    byte; a realtime byte inside a sysex is its own message, as MIDI allows. So one bad message never swallows the
    ones after it (RtMidi's JACK input keeps appending to an unterminated sysex until some later event ends in F7).
    """
    messages: list[tuple[int, ...]] = []
    dropped = 0
    i, n = 0, len(data)
    while i < n:
        status = data[i]
        if status < 0x80:  # stray data bytes: skip to the next status byte
            while i < n and data[i] < 0x80:
                i += 1
            dropped += 1
            continue
        if status == SYSEX:
            body = [status]
            j = i + 1
            while j < n and (data[j] < 0x80 or data[j] >= 0xF8):
                if data[j] >= 0xF8:  # a realtime byte may come inside a sysex; an undefined one is dropped
                    if data_length(data[j]) == 0:
                        messages.append((data[j],))
                    else:
                        dropped += 1
                else:
                    body.append(data[j])
                j += 1
            if j < n and data[j] == 0xF7:
                body.append(0xF7)
                messages.append(tuple(body))
                i = j + 1
            else:  # cut off by another status byte, or by the end of the event: no 0xF7, no sysex
                dropped += 1
                i = j
            continue
        length = data_length(status)
        if length is None or i + 1 + length > n or any(b >= 0x80 for b in data[i + 1 : i + 1 + length]):
            dropped += 1
            i += 1
            while i < n and data[i] < 0x80:  # its data bytes go with it
                i += 1
            continue
        messages.append(tuple(data[i : i + 1 + length]))
        i += 1 + length
    return messages, dropped
