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
