"""What the tests read from recorded MIDI: (time, message) pairs, as the loopback and JACK listeners keep them."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from cocomposer.midi_bytes import channel_of, is_note_off, is_note_on

Events = Sequence[tuple[float, Sequence[int]]]


def note_ons(events: Events, channel: int | None = None) -> list[tuple[float, int]]:
    """(time, pitch) of the note-ons, on ``channel`` (1..16) or any."""
    return [(t, m[1]) for t, m in events if is_note_on(m) and (channel is None or channel_of(m) == channel - 1)]


def unmatched(events: Events) -> set[tuple[int, int]]:
    """(channel 0..15, pitch) of every key with more note-ons than note-offs: a note left sounding (a second note-on
    on a sounding key counts, so one note-off cannot hide two)."""
    open_count: dict[tuple[int, int], int] = {}
    for _, m in events:
        key = (m[0] & 0x0F, m[1]) if len(m) >= 2 else None
        if is_note_on(m):
            open_count[key] = open_count.get(key, 0) + 1
        elif is_note_off(m) and open_count.get(key):
            open_count[key] -= 1
    return {key for key, count in open_count.items() if count}


def poll_until(predicate: Callable[[], bool], timeout: float, interval: float = 0.005) -> bool:
    """Wait until ``predicate`` holds, looking every ``interval`` s, for state nobody signals (a clock follower's
    transport); False after ``timeout``."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)
    return True
