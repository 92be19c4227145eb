"""The keys the player holds down, each with the beat it went down, so that a lost note-off cannot hold a phrase
open forever.

A note-off can be lost on the way (a glitching USB keyboard, a cable pulled with a key down, JACK dropping a message
under load). Without a limit the engine would believe that key held for the rest of the session, and since silence
ends a phrase only when nothing is held, call-and-response would never answer again. So a key held longer than the
``hold_bars`` setting is taken as released at that beat: the model hears its note-off there, the phrase ends a
``silence`` after it, and the real note-off, if it ever comes, is let go as the release of a key nobody holds.
"""

from __future__ import annotations

from collections.abc import Iterator

Key = tuple[int, int]  # (channel 1..16, pitch)


class HeldKeys:
    """(channel, pitch) -> the beat the key went down."""

    def __init__(self) -> None:
        self._down: dict[Key, float] = {}

    def press(self, key: Key, beat: float) -> None:
        self._down[key] = beat

    def discard(self, key: Key) -> None:
        self._down.pop(key, None)

    def __contains__(self, key: object) -> bool:
        return key in self._down

    def __iter__(self) -> Iterator[Key]:
        return iter(list(self._down))

    def __len__(self) -> int:
        return len(self._down)

    def expired(self, beat: float, limit: float) -> list[tuple[Key, float]]:
        """The keys held ``limit`` beats or more by ``beat``, each with the beat it is taken as released, oldest
        first (the caller releases them)."""
        return sorted(((k, down + limit) for k, down in self._down.items() if beat >= down + limit), key=lambda e: e[1])
