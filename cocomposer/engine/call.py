"""The player's last call, as the engine heard it: what an answer takes from it (register, voices, swing).

The engine thread records each player note as it closes (a bounded memory of the newest notes); when it asks for an
answer, :meth:`CallMemory.shape` reads the notes of the last ``max_phrase_bars`` bars with
:func:`cocomposer.model.shape.read_call`. The answer sits in that register and plays that many voices unless the
player set a pitch range of their own (anything but the default 36..96), and keeps the call's swing.
"""

from __future__ import annotations

from collections import deque

from cocomposer.model.sampling import Controls
from cocomposer.model.shape import CallShape, read_call, register_bias
from cocomposer.music import codec

MEMORY_NOTES = 512
DEFAULT_RANGE = (Controls.low, Controls.high)


class CallMemory:
    def __init__(self) -> None:
        self._open: dict[int, float] = {}  # pitch -> onset beat
        self._notes: deque[codec.Note] = deque(maxlen=MEMORY_NOTES)

    def note_on(self, pitch: int, beat: float) -> None:
        self._open[pitch] = beat

    def note_off(self, pitch: int, beat: float) -> None:
        start = self._open.pop(pitch, None)
        if start is not None:
            self._notes.append(codec.Note(start, max(beat, start), pitch))

    def clear(self) -> None:
        self._open.clear()
        self._notes.clear()

    def shape(self, now: float, beats_back: float, meter: codec.Meter, low: int, high: int) -> CallShape | None:
        """The call: notes that ended in the last ``beats_back`` beats (None when there are none)."""
        notes = [n for n in self._notes if n.end >= now - beats_back]
        return read_call(notes, meter, low, high) if notes else None


def follow(controls: Controls, call: CallShape | None) -> Controls:
    """``controls`` with the call's register and voices, unless the player set a range of their own."""
    if call is None or (controls.low, controls.high) != DEFAULT_RANGE:
        return controls
    return controls.with_(
        low=call.low,
        high=call.high,
        max_polyphony=min(controls.max_polyphony, call.voices),
        bias=register_bias(call, controls.bias),
    )
