"""Splitting a driver's event into MIDI messages: malformed pieces are dropped and counted, reading resumes at the
next status byte, so one bad message never swallows the ones after it."""

from __future__ import annotations

import random

import pytest

from cocomposer.midi_bytes import data_length, split_messages


@pytest.mark.parametrize(
    ("status", "length"),
    [
        *[(0x90, 2), (0x8F, 2), (0xB3, 2), (0xC0, 1), (0xDF, 1), (0xE0, 2), (0xF1, 1), (0xF2, 2), (0xF3, 1)],
        *[(0xF6, 0), (0xF8, 0), (0xFA, 0), (0xFC, 0), (0xFF, 0)],
        *[(0xF0, None), (0xF4, None), (0xF5, None), (0xF7, None), (0xF9, None), (0xFD, None), (0x40, None)],
    ],
)
def test_data_length(status: int, length: int | None) -> None:
    assert data_length(status) == length


@pytest.mark.parametrize(
    ("data", "messages", "dropped"),
    [
        ([0x90, 60, 100], [(0x90, 60, 100)], 0),
        ([0xF0, 1, 2, 3, 0xF7], [(0xF0, 1, 2, 3, 0xF7)], 0),
        ([0xF8], [(0xF8,)], 0),
        ([0xC0, 5, 0xB0, 7, 100], [(0xC0, 5), (0xB0, 7, 100)], 0),
        # an unterminated sysex, then a note-off: the sysex is dropped, the note-off kept
        ([0xF0, 1, 2, 3, 0x80, 60, 0], [(0x80, 60, 0)], 1),
        ([0xF0, 1, 2, 3], [], 1),
        # a realtime clock inside a sysex is its own message; an undefined realtime byte is dropped
        ([0xF0, 1, 0xF8, 2, 0xF7], [(0xF8,), (0xF0, 1, 2, 0xF7)], 0),
        ([0xF0, 1, 0xF9, 2, 0xF7], [(0xF0, 1, 2, 0xF7)], 1),
        # stray data bytes before a status
        ([60, 100, 0x90, 60, 100], [(0x90, 60, 100)], 1),
        # cut short: by the end, or by another status byte
        ([0x90, 60], [], 1),
        ([0x90, 60, 0x80, 61, 0], [(0x80, 61, 0)], 1),
        # an undefined status takes its data bytes with it
        ([0xF4, 1, 2, 0xFA], [(0xFA,)], 1),
        ([0xF7], [], 1),
        ([], [], 0),
    ],
)
def test_split_messages(data: list[int], messages: list[tuple[int, ...]], dropped: int) -> None:
    assert split_messages(data) == (messages, dropped)


def test_random_bytes_give_only_well_formed_messages_and_every_good_message_after_them() -> None:
    rng = random.Random(7)
    for _ in range(2000):
        junk = [rng.randrange(256) for _ in range(rng.randrange(0, 40))]
        if junk and junk[-1] == 0xF0:
            junk.append(0x10)
        good = [0x90, rng.randrange(128), rng.randrange(1, 128)]
        messages, _ = split_messages(junk + good)
        assert messages[-1] == tuple(good), junk
        for message in messages:
            length = data_length(message[0])
            if message[0] == 0xF0:
                assert message[-1] == 0xF7 and all(b < 0x80 for b in message[1:-1])
            else:
                assert length is not None and len(message) == 1 + length
                assert all(b < 0x80 for b in message[1:])
