"""A live piano roll: the last bars of the player's notes and the AI's, and the AI's next notes before they sound.

:class:`RollModel` (Qt-free) keeps the notes in beats as the engine's events report them. :class:`PianoRoll` paints
a window that scrolls with the clock: the present is a vertical line, the past on its left, the coming bar on its
right, where the notes the scheduler holds (``engine.scheduled()``) are drawn as outlines until they sound.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from PyQt6.QtCore import QRectF, Qt, QTimer
from PyQt6.QtGui import QColor, QFont, QPainter, QPaintEvent, QPen
from PyQt6.QtWidgets import QSizePolicy, QWidget

from cocomposer.engine.scheduler import ScheduledNote

PLAYER, AI = "player", "ai"
COLORS = {PLAYER: QColor("#37c8f0"), AI: QColor("#ffb02e")}
BACKGROUND, BLACK_KEY_ROW = QColor("#101318"), QColor("#171b22")
BAR_LINE, BEAT_LINE, NOW_LINE, TEXT = QColor("#4a5160"), QColor("#252a33"), QColor("#f2f2f2"), QColor("#c3cad6")
LABEL_PX = 15  # note names and the legend: readable at arm's length (the stage theme's minimum)
GUTTER_PX = 48.0
BLACK_KEYS = {1, 3, 6, 8, 10}


@dataclass
class RollNote:
    source: str  # PLAYER or AI
    pitch: int
    start: float  # beats
    end: float | None  # None while it sounds
    channel: int = 0


def c_labels(low: int, high: int) -> list[tuple[int, str]]:
    """(pitch, name) for the C of every octave between ``low`` and ``high``: each octave of the roll is named."""
    first = low + (-low) % 12
    return [(pitch, f"C{pitch // 12 - 1}") for pitch in range(first, high + 1, 12)]


class RollModel:
    """The notes of the last ``keep_beats`` beats, by source."""

    def __init__(self, keep_beats: float = 64.0) -> None:
        self.keep_beats = keep_beats
        self.notes: list[RollNote] = []
        self._open: dict[tuple[str, int, int], RollNote] = {}
        self.latest = 0.0

    def note_on(self, source: str, pitch: int, beat: float, channel: int = 0) -> None:
        key = (source, channel, pitch)
        if key in self._open:
            self._open.pop(key).end = beat
        note = RollNote(source, pitch, beat, None, channel)
        self._open[key] = note
        self.notes.append(note)
        self.latest = max(self.latest, beat)
        self._trim()

    def note_off(self, source: str, pitch: int, beat: float, channel: int = 0) -> None:
        note = self._open.pop((source, channel, pitch), None)
        if note is not None:
            note.end = max(beat, note.start)
        self.latest = max(self.latest, beat)

    def close_all(self, beat: float) -> None:
        for note in self._open.values():
            note.end = max(beat, note.start)
        self._open.clear()

    def count(self, source: str) -> int:
        return sum(1 for n in self.notes if n.source == source)

    def visible(self, start: float, end: float, now: float) -> list[RollNote]:
        return [n for n in self.notes if n.start <= end and (now if n.end is None else n.end) >= start]

    def _trim(self) -> None:
        horizon = self.latest - self.keep_beats
        if self.notes and (self.notes[0].end or self.notes[0].start) < horizon:
            self.notes = [n for n in self.notes if n.end is None or n.end >= horizon]


class PianoRoll(QWidget):
    def __init__(self, model: RollModel | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = model or RollModel()
        self.bars_back, self.bars_ahead = 6.0, 1.5
        self.beats_per_bar = 4
        self.now_beat: Callable[[], float] = lambda: self.model.latest
        self.pending: Callable[[], Sequence[ScheduledNote]] = list
        self.upcoming: list[ScheduledNote] = []  # what the last paint showed as coming
        self.setMinimumHeight(220)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self._timer = QTimer(self)
        self._timer.timeout.connect(self.update)
        self._timer.start(33)

    def set_source(self, now_beat: Callable[[], float], pending: Callable[[], Sequence[ScheduledNote]]) -> None:
        self.now_beat, self.pending = now_beat, pending

    def refresh_upcoming(self) -> list[ScheduledNote]:
        try:
            self.upcoming = [n for n in self.pending() if n.ended]  # one whose end is not sampled yet: drawn later
        except Exception:  # an engine being rebuilt: show nothing coming
            self.upcoming = []
        return self.upcoming

    # -- painting --------------------------------------------------------------------------------------------------
    def paintEvent(self, event: QPaintEvent | None) -> None:  # noqa: N802 (Qt's name)
        now = self.now_beat()
        start = now - self.bars_back * self.beats_per_bar
        end = now + self.bars_ahead * self.beats_per_bar
        notes = self.model.visible(start, end, now)
        upcoming = [n for n in self.refresh_upcoming() if n.start_beat <= end]
        pitches = [n.pitch for n in notes] + [n.pitch for n in upcoming]
        low, high = (min(pitches), max(pitches)) if pitches else (60, 72)
        middle, span = (low + high) / 2, max(high - low + 4, 24)
        low, high = int(middle - span / 2), int(middle + span / 2)
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        w, h = float(self.width()), float(self.height())
        gutter = GUTTER_PX
        row = h / (high - low + 1)

        def x_of(beat: float) -> float:
            return gutter + (beat - start) / (end - start) * (w - gutter)

        def y_of(pitch: int) -> float:
            return (high - pitch) * row

        painter.fillRect(QRectF(0, 0, w, h), BACKGROUND)
        painter.setClipRect(QRectF(gutter, 0, w - gutter, h))
        for pitch in range(low, high + 1):
            if pitch % 12 in BLACK_KEYS:
                painter.fillRect(QRectF(gutter, y_of(pitch), w - gutter, row), BLACK_KEY_ROW)
        for beat in range(int(start) - 1, int(end) + 2):
            painter.setPen(QPen(BAR_LINE if beat % self.beats_per_bar == 0 else BEAT_LINE, 1))
            painter.drawLine(int(x_of(beat)), 0, int(x_of(beat)), int(h))
        for note in notes:
            color = COLORS.get(note.source, COLORS[AI])
            right = now if note.end is None else note.end
            rect = QRectF(x_of(note.start), y_of(note.pitch) + 1, max(3.0, x_of(right) - x_of(note.start)), row - 2)
            painter.fillRect(rect, color if note.end is not None else color.lighter(130))
        pen = QPen(COLORS[AI], 2, Qt.PenStyle.DashLine)
        for note in upcoming:
            x0 = max(x_of(note.start_beat), x_of(now))
            rect = QRectF(x0, y_of(note.pitch) + 1, max(3.0, x_of(note.end_beat) - x0), row - 2)
            painter.fillRect(rect, QColor(255, 176, 46, 60))
            painter.setPen(pen)
            painter.drawRect(rect)
        painter.setPen(QPen(NOW_LINE, 2))
        painter.drawLine(int(x_of(now)), 0, int(x_of(now)), int(h))
        painter.setClipping(False)
        painter.setFont(_font(self.font(), LABEL_PX))
        painter.setPen(TEXT)
        for pitch, name in c_labels(low, high):
            label = QRectF(2, y_of(pitch) + row / 2 - LABEL_PX, gutter - 6, 2 * LABEL_PX)
            painter.drawText(label, Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignRight, name)
        self._legend(painter, w)
        painter.end()

    def _legend(self, painter: QPainter, width: float) -> None:
        painter.setFont(_font(self.font(), LABEL_PX))
        x = width - 360
        for label, color, dashed in (("you", COLORS[PLAYER], False), ("cocomposer", COLORS[AI], False),
                                     ("coming up", COLORS[AI], True)):  # fmt: skip
            box = QRectF(x, 8, 14, 14)
            if dashed:
                painter.setPen(QPen(color, 2, Qt.PenStyle.DashLine))
                painter.drawRect(box)
            else:
                painter.fillRect(box, color)
            painter.setPen(TEXT)
            painter.drawText(QRectF(x + 20, 4, 120, 22), Qt.AlignmentFlag.AlignVCenter, label)
            x += 100 if label != "cocomposer" else 135


def _font(base: QFont, pixels: int) -> QFont:
    font = QFont(base)
    font.setPixelSize(pixels)
    return font
