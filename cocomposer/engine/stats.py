"""What the engine counts while it runs: messages received and dropped, notes heard, answers, errors, latency."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field


@dataclass
class Stats:
    received: int = 0
    dropped_inbound: int = 0
    notes_in: int = 0
    answers: int = 0
    errors: int = 0
    first_note_seconds: deque = field(default_factory=lambda: deque(maxlen=1000))
    # What `cocomposer bench` measures, inside the engine: from the phrase end (the stamp of the message that ended it,
    # or when the silence or a trigger did) to the answer's first note-on leaving, for answers meant to start at once
    # (quantize off, or a phrase that ended on a boundary) that open with a note.
    reaction_seconds: deque = field(default_factory=lambda: deque(maxlen=1000))
    _asked: tuple[float, float] | None = None  # (start beat, phrase end time) of the answer waiting for its first note

    def answer_asked(self, start_beat: float, ended: float) -> None:
        self._asked = (start_beat, ended)

    def note_sent(self, start_beat: float, t: float) -> None:
        """An answer note-on left at ``t``: the reaction, if it is the first note and sounds at the answer's start."""
        if self._asked is not None and abs(start_beat - self._asked[0]) < 1e-6:
            self.reaction_seconds.append(t - self._asked[1])
        self._asked = None
