"""State at a glance and the latency readout.

:func:`latency_figures` reads the engine's own measurements, the figures `cocomposer bench` reports: model step
durations (``generator.step_seconds``), the time from a phrase end to its answer's first note-on leaving
(``stats.reaction_seconds``, for answers meant to start at once), how far each note-on left from its time
(``scheduler.lateness``: the engine's part of the bench's arrival error; through the timed JACK output, which is given
each note's own time one period ahead, only a note handed over after its time counts) and the answers that came too
late to play (``scheduler.late_dropped``).
"""

from __future__ import annotations

from PyQt6.QtCore import Qt
from PyQt6.QtWidgets import QLabel, QWidget

from cocomposer.engine.status import EngineStatus
from cocomposer.percentiles import percentile

STATES = {
    "listening": ("LISTENING", "#1f7a4d"),
    "waiting": ("WAITING FOR THE BAR", "#8a6d00"),
    "answering": ("ANSWERING", "#b34700"),
    "stopped": ("ENGINE STOPPED", "#7a1f1f"),
}


def _quantile(values: list[float], q: float) -> float | None:
    return percentile(values, 100 * q) if values else None


def latency_figures(status: EngineStatus) -> dict[str, float | int | None]:
    """Model step, phrase end to first note, and note-on sent minus due: p50 / p99 in milliseconds; late answers."""
    steps = list(status.step_seconds)
    first = list(status.reaction_seconds)
    late = [abs(x) for x in status.lateness_seconds]

    def ms(value: float | None) -> float | None:
        return None if value is None else 1000 * value

    return {
        "step_p50_ms": ms(_quantile(steps, 0.5)),
        "step_p99_ms": ms(_quantile(steps, 0.99)),
        "first_note_p50_ms": ms(_quantile(first, 0.5)),
        "first_note_p99_ms": ms(_quantile(first, 0.99)),
        "sent_p99_ms": ms(_quantile(late, 0.99)),
        "late": status.late_dropped,
    }


def latency_text(figures: dict[str, float | int | None]) -> str:
    def show(key: str) -> str:
        value = figures.get(key)
        return "-" if value is None else f"{value:.1f} ms"

    return (
        f"model step p50 {show('step_p50_ms')} · p99 {show('step_p99_ms')}    "
        f"phrase end -> first note p50 {show('first_note_p50_ms')} · p99 {show('first_note_p99_ms')}    "
        f"notes sent vs due p99 {show('sent_p99_ms')}    "
        f"late answers {figures.get('late', 0)}"
    )


class StateBadge(QLabel):
    """A big coloured word: LISTENING / WAITING FOR THE BAR / ANSWERING."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("stateBadge")
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setMinimumWidth(360)
        self.state = ""
        self.show_state("listening")

    def show_state(self, state: str, quantize: str = "bar") -> None:
        self.state = state
        text, color = STATES.get(state, (state.upper(), "#444"))
        if state == "waiting":
            text = f"WAITING FOR THE {quantize.upper()}" if quantize in ("bar", "beat") else "WAITING"
        self.setText(text)
        self.setStyleSheet(f"background: {color};")
