"""What the engine heard of the player: their key, their dynamics, and the call an answer takes its shape from.

The engine thread tells it every player note. The key is a decaying pitch-class histogram (key lock "auto", mood,
cadence); the dynamics a smoothed velocity (velocity "follow"). Each note is kept as it closes (a bounded memory of
the newest notes); when the engine asks for an answer, :meth:`CallMemory.shape` reads the notes of the last
``max_phrase_bars`` bars with :func:`cocomposer.model.shape.read_call`. The answer sits in that register and plays
that many voices unless the player set a pitch range of their own (anything but the default 36..96), and keeps the
call's swing.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

import numpy as np

from cocomposer.engine.jobs import Answer
from cocomposer.engine.modes import RequestAnswer
from cocomposer.engine.settings import Settings
from cocomposer.model.sampling import Controls
from cocomposer.model.shape import CallShape, read_call, register_of
from cocomposer.music import codec
from cocomposer.music.keys import Key, find_key

MEMORY_NOTES = 256
DEFAULT_RANGE = (Controls.low, Controls.high)


class CallMemory:
    def __init__(self) -> None:
        self._open: dict[int, float] = {}  # pitch -> onset beat
        self._notes: deque[codec.Note] = deque(maxlen=MEMORY_NOTES)
        self.histogram = np.zeros(12)
        self.velocity = 80.0
        # The key per mode, with the count of notes it was found from: kept until the next note, and a key found
        # on another thread (status()) from an older histogram is never taken for a newer one.
        self._keys: dict[str | None, tuple[int, Key | None]] = {}
        self._notes_heard = 0

    def note_on(self, pitch: int, beat: float, velocity: int = 80) -> None:
        self._open[pitch] = beat
        self.velocity = 0.8 * self.velocity + 0.2 * velocity
        self.histogram *= 0.97
        self.histogram[pitch % 12] += 1.0
        self._notes_heard += 1

    def key(self, mode: str | None = None) -> Key | None:
        """The key the player is in (of ``mode``, "major" or "minor", when given); None before three notes."""
        heard = self._notes_heard
        cached = self._keys.get(mode)
        if cached is not None and cached[0] == heard:
            return cached[1]
        histogram = self.histogram.copy()
        key = find_key(histogram, mode) if histogram.sum() >= 3 else None
        self._keys[mode] = (heard, key)
        return key

    def velocity_at(self, beat: float, settings: Settings) -> int:
        """The velocity of an answer note at ``beat``: fixed, or the player's, a little accented on the bar line."""
        if settings.velocity != "follow":
            return int(settings.velocity)
        bar, on_beat = abs(beat % settings.beats_per_bar) < 1e-6, abs(beat % 1) < 1e-6
        accent = 1.1 if bar else 1.0 if on_beat else 0.9
        return int(max(1, min(127, round(self.velocity * accent))))

    def note_off(self, pitch: int, beat: float) -> None:
        start = self._open.pop(pitch, None)
        if start is not None:
            self._notes.append(codec.Note(start, max(beat, start), pitch))

    def shift(self, beats: float) -> None:
        """The session clock jumped by ``beats`` (a relocation): the call keeps its place before the new now."""
        self._open = {pitch: start + beats for pitch, start in self._open.items()}
        self._notes = deque((codec.Note(n.start + beats, n.end + beats, n.pitch, n.velocity) for n in self._notes),
                            maxlen=MEMORY_NOTES)  # fmt: skip

    def clear(self) -> None:
        self._open.clear()
        self._notes.clear()

    def shape(self, now: float, settings: Settings) -> CallShape | None:
        """The call: notes that ended in the last ``max_phrase_bars`` bars (None when there are none)."""
        notes = [n for n in self._notes if n.end >= now - settings.max_phrase_bars * settings.beats_per_bar]
        return read_call(notes, settings.model_meter, settings.low, settings.high) if notes else None


def follow(controls: Controls, call: CallShape | None) -> Controls:
    """``controls`` with the call's register and voices, unless the player set a range of their own."""
    if call is None or (controls.low, controls.high) != DEFAULT_RANGE:
        return controls
    return controls.with_(
        low=call.low,
        high=call.high,
        max_polyphony=min(controls.max_polyphony, call.voices),
        register=register_of(call),
    )


def answer_job(
    action: RequestAnswer,
    request_id: int,
    settings: Settings,
    memory: CallMemory,
    key: Key | None,
    mood_key: Key | None,
    bias: np.ndarray | None,
    velocity_at: Callable[[float], int],
) -> Answer:
    """What the generator is asked for: an accompaniment plays its own part; an answer answers in kind (the call's
    register, voices, swing and syncopation, and a cadence in ``key``)."""
    call = memory.shape(action.start_beat, settings) if action.tag == "answer" else None
    mood = settings.mood if settings.mood != "auto" else (key.mode if key else "major")
    return Answer(
        request_id,
        action.start_beat,
        action.beats,
        action.tag,
        action.channel,
        follow(settings.controls(key, bias=bias, mood_key=mood_key), call),
        velocity_at,
        settings.style,
        mood,
        action.replace,
        cadence=settings.cadence if action.tag == "answer" else 0.0,
        key=key,
        swing=call.swing if call is not None else 0.0,
        syncopation=call.syncopation if call is not None else 0.0,
    )
