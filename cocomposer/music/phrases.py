"""Phrases that ship with cocomposer: the demo's call (``cocomposer/data/demo_phrase.mid``)."""

from __future__ import annotations

from importlib import resources

from cocomposer.music.codec import Note
from cocomposer.music.midifile import read_notes

DEMO_PHRASE = "demo_phrase.mid"


def demo_phrase() -> list[Note]:
    """The notes of the bundled demo phrase (times in beats)."""
    with resources.as_file(resources.files("cocomposer") / "data" / DEMO_PHRASE) as path:
        notes, _ = read_notes(path)
    return notes
