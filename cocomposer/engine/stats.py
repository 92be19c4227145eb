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
