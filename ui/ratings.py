"""Like / dislike: what the last answer was, and a JSONL log of every rating for future fine-tuning.

:class:`AnswerTracker` follows the notes that actually sounded (the engine's NoteOut and NoteIn events), so a rating
is about what the player heard. :class:`RatingLog` appends one JSON object per line; a write that fails (a full
disk, a read-only folder) raises :class:`RatingsWriteError`, which the panel shows without stopping anything.
"""

from __future__ import annotations

import itertools
import json
import os
import time
from collections import deque
from dataclasses import dataclass, fields
from pathlib import Path

from cocomposer.engine.events import NoteIn, NoteOut
from cocomposer.engine.settings import Settings
from cocomposer.errors import CocomposerError
from cocomposer.model.preferences import Preferences, Traits

NOTE_NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
CALL_BEATS = 16.0  # the player's notes this long before an answer are kept with it, as its call
ANSWER_BEATS = 32.0  # the longest stretch of AI notes one rating is about


class RatingsWriteError(CocomposerError, OSError):
    """The ratings file could not be written."""


@dataclass(frozen=True)
class HeardNote:
    start: float
    end: float
    pitch: int
    velocity: int
    channel: int = 0


class AnswerTracker:
    """The notes of the last answer (AI) and the player's notes before it, from the engine's events, in beats."""

    def __init__(self, limit: int = 256, ratings: int = 0) -> None:
        self._open: dict[tuple[str, int, int], tuple[float, int]] = {}
        self.current: list[HeardNote] = []
        self.previous: list[HeardNote] = []
        self.player: deque[HeardNote] = deque(maxlen=limit)
        self._limit = limit
        self.ratings = ratings  # likes and dislikes so far (the panel keeps it current)
        self.heard: deque[tuple[int, list[HeardNote]]] = deque(maxlen=64)  # (ratings when it began, its notes)
        self._began_after = ratings

    def answer_requested(self) -> None:
        """A new answer is on its way: what sounded so far becomes the previous answer."""
        if self.current:
            self.heard.append((self._began_after, self.current))
            self.previous, self.current = self.current, []
        self._began_after = self.ratings

    def answers(self) -> list[tuple[int, list[HeardNote]]]:
        """Every answer heard (the one sounding last), each with the number of ratings made before it began."""
        return [*self.heard, *([(self._began_after, list(self.current))] if self.current else [])]

    def note_out(self, event: NoteOut) -> None:
        key = ("ai", event.channel - 1, event.pitch)  # HeardNote counts channels 0..15, as the scheduler does
        if event.on:
            self._open[key] = (event.beat, event.velocity)
        elif key in self._open:
            start, velocity = self._open.pop(key)
            self.current.append(HeardNote(start, event.beat, key[2], velocity, key[1]))
            del self.current[: -self._limit]

    def note_in(self, event: NoteIn) -> None:
        key = ("player", 0, event.pitch)
        if event.on:
            self._open[key] = (event.beat, event.velocity)
        elif key in self._open:
            start, velocity = self._open.pop(key)
            self.player.append(HeardNote(start, event.beat, key[2], velocity))

    def last_answer(self) -> list[HeardNote]:
        """The answer sounding or last heard (notes still sounding end where they are now); in accompany mode,
        which has no separate answers, the last ``ANSWER_BEATS`` beats of it."""
        notes = list(self.current) or list(self.previous)
        notes += [HeardNote(s, s, k[2], v, k[1]) for k, (s, v) in self._open.items() if k[0] == "ai"]
        latest = max((n.start for n in notes), default=0.0)
        return sorted((n for n in notes if n.start >= latest - ANSWER_BEATS), key=lambda n: (n.start, n.pitch))

    def call_before(self, beat: float) -> list[HeardNote]:
        return [n for n in self.player if beat - CALL_BEATS <= n.start < beat]


def rating_record(
    liked: bool,
    answer: list[HeardNote],
    call: list[HeardNote],
    settings: Settings,
    traits: Traits,
    preference: Traits,
    model: str | None,
) -> dict:
    """One line of the ratings log. Times are beats from the answer's first note (the call's are negative)."""
    origin = answer[0].start if answer else 0.0

    def notes(items: list[HeardNote]) -> list[dict]:
        return [
            {"start": round(n.start - origin, 4), "end": round(n.end - origin, 4), "pitch": n.pitch,
             "velocity": n.velocity, "channel": n.channel + 1}
            for n in items
        ]  # fmt: skip

    values = {f.name: getattr(settings, f.name) for f in fields(Settings) if f.name != "cc"}
    return {
        "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "rating": "like" if liked else "dislike",
        "answer": notes(answer),
        "call": notes(call),
        "settings": {**values, "cc": {str(k): v for k, v in settings.cc.items()}},
        "traits": traits.as_dict(),
        "preference_after": preference.as_dict(),
        "model": model,
    }


class RatingLog:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.written = 0

    def append(self, record: dict) -> None:
        line = json.dumps(record, separators=(",", ":")) + "\n"
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.path, "a", encoding="utf-8") as handle:
                handle.write(line)
                handle.flush()
                os.fsync(handle.fileno())
        except OSError as err:
            raise RatingsWriteError(
                f"could not save the rating to {self.path}: {err.strerror or err}; it still counts for this session "
                "(free some space or choose another file with --ratings)"
            ) from err
        self.written += 1


class Rater:
    """Rates the last answer: moves the session preferences, then logs the rating (which may fail on its own)."""

    def __init__(self, preferences: Preferences, log: RatingLog) -> None:
        self.preferences, self.log = preferences, log
        self.tracker = AnswerTracker()

    def rate(
        self, liked: bool, settings: Settings, model: str | None, fallback: list[HeardNote]
    ) -> tuple[Traits | None, RatingsWriteError | None]:
        """The answer's traits (None when no answer has sounded) and the error of the log if only the log failed."""
        answer = self.tracker.last_answer() or fallback
        if not answer:
            return None, None
        traits = self.preferences.rate([(n.start, n.end, n.pitch) for n in answer], liked)
        call = self.tracker.call_before(answer[0].start)
        try:
            self.log.append(rating_record(liked, answer, call, settings, traits, self.preferences.preference, model))
        except RatingsWriteError as err:
            return traits, err
        return traits, None


def _figures(answers: list[list[HeardNote]]) -> tuple[float, float, float, float]:
    """Mean over answers of: onsets a beat, pitch, |interval| between onsets (semitones), note length (beats)."""
    rows = []
    for notes in answers:
        notes = sorted(notes, key=lambda n: (n.start, n.pitch))
        span = max(1.0, max(n.end for n in notes) - notes[0].start)
        steps = [abs(b.pitch - a.pitch) for a, b in itertools.pairwise(notes)]
        rows.append(
            (
                len(notes) / span,
                sum(n.pitch for n in notes) / len(notes),
                sum(steps) / len(steps) if steps else 0.0,
                sum(n.end - n.start for n in notes) / len(notes),
            )
        )
    return tuple(sum(column) / len(rows) for column in zip(*rows, strict=True))  # type: ignore[return-value]


def heard_since(tracker: AnswerTracker) -> str:
    """What the answers since the last rating really did, measured on what sounded, beside the answers before any
    rating: the ratings ask the model for a direction, this line shows whether the music went there."""
    if tracker.ratings == 0:
        return "rate an answer (L / D): this line then shows what the answers did since"
    answers = [(began, notes) for began, notes in tracker.answers() if notes]
    since = [notes for began, notes in answers if began == tracker.ratings]
    if not since:
        return "heard since the last rating: no answer yet"
    before = [notes for began, notes in answers if began == 0]
    now = _figures(since)
    then = _figures(before) if before else None
    shown = (  # (how the figure reads, how its value reads)
        ("{} notes a beat", lambda v: f"{v:.1f}"),
        ("around {}", lambda v: f"{NOTE_NAMES[round(v) % 12]}{round(v) // 12 - 1}"),
        ("steps of {} semitones", lambda v: f"{v:.1f}"),
        ("notes {} beat long", lambda v: f"{v:.2f}"),
    )
    parts = [
        text.format(value(now[i]) + (f" (was {value(then[i])})" if then else ""))
        for i, (text, value) in enumerate(shown)
    ]
    return f"heard in {len(since)} answer{'s' if len(since) > 1 else ''} since: " + ", ".join(parts)
