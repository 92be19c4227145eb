"""Progress on a long job: a bar with an estimate of the time left when the output is a terminal, and plain lines
every so often when it is not (a log file, CI), so neither a person nor a log is left guessing.

One small helper for every long command (`prepare`, `train`, `eval`, `eval --musical`, `bench`) instead of a
dependency that only the train extra brings (tqdm): `bench` and `eval --musical` run without it. Output goes to
stderr, so a command's table on stdout stays clean for a pipe.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterable, Iterator
from typing import TextIO, TypeVar

T = TypeVar("T")
BAR_WIDTH = 24


def _clock(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


def _is_terminal(stream: TextIO) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


class Progress:
    """``done`` of ``total`` units of a job called ``what``.

    On a terminal: one line redrawn in place (at most every ``redraw`` seconds) with a bar, the count and the time
    left. Elsewhere: a plain line every ``every`` seconds and one at the end. ``budget``: seconds the job may take at
    most (a training time limit), so the estimate never exceeds what is left of it. `note` and `write` print a
    line of their own without tearing the bar."""

    def __init__(
        self,
        total: int | None,
        what: str,
        unit: str = "",
        *,
        stream: TextIO | None = None,
        every: float = 15.0,
        redraw: float = 0.2,
        budget: float | None = None,
        start: int = 0,
        now: Callable[[], float] = time.monotonic,
        terminal: bool | None = None,
    ) -> None:
        self.total, self.what, self.unit = total, what, unit
        self.stream = stream if stream is not None else sys.stderr
        self.terminal = _is_terminal(self.stream) if terminal is None else terminal
        self.every, self.redraw, self.budget = every, redraw, budget
        self.done = self._first = start
        self._now = now
        self._started = now()
        self._shown_at = -float("inf") if self.terminal else self._started
        self._drawn = False
        self._closed = False

    def begin(self, total: int | None, done: int = 0, budget: float | None = None) -> None:
        """Start counting afresh, now that the job's size is known (a resumed training run starts at its step)."""
        self.total, self.done, self._first, self.budget = total, done, done, budget
        self._started = self._now()

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def elapsed(self) -> float:
        return self._now() - self._started

    def left(self) -> float | None:
        """Seconds left, from the pace so far (None until there is a pace to go by)."""
        made = self.done - self._first
        estimate = None
        if self.total is not None and made > 0:
            estimate = self.elapsed() / made * max(0, self.total - self.done)
        if self.budget is not None:
            rest = max(0.0, self.budget - self.elapsed())
            estimate = rest if estimate is None else min(estimate, rest)
        return estimate

    def advance(self, count: int = 1) -> None:
        self.done += count
        now = self._now()
        if now - self._shown_at >= (self.redraw if self.terminal else self.every):
            self._shown_at = now
            self._show()

    def write(self, line: str) -> None:
        """Print ``line`` (a log line) above the bar."""
        if self._drawn:
            self.stream.write("\r\x1b[2K")
        self.stream.write(line + "\n")
        self._drawn = False
        if self.terminal and not self._closed:
            self._show()
        self.stream.flush()

    def close(self) -> None:
        if self._closed:
            return
        self._show(final=True)
        self._closed = True

    def status(self, final: bool = False) -> str:
        count = f"{self.done:,}" + (f"/{self.total:,}" if self.total is not None else "")
        unit = f" {self.unit}" if self.unit else ""
        percent = f" ({100 * self.done / self.total:.0f}%)" if self.total else ""
        if final:
            return f"{self.what}: {count}{unit}{percent} in {_clock(self.elapsed())}"
        left = self.left()
        estimate = f", about {_clock(left)} left" if left is not None else ""
        return f"{self.what}: {count}{unit}{percent}, {_clock(self.elapsed())} so far{estimate}"

    def _show(self, final: bool = False) -> None:
        if not self.terminal:
            self.stream.write(self.status(final) + "\n")
        else:
            bar = ""
            if self.total:
                filled = min(BAR_WIDTH, int(BAR_WIDTH * self.done / self.total))
                bar = f"[{'#' * filled}{'.' * (BAR_WIDTH - filled)}] "
            self.stream.write(f"\r\x1b[2K{bar}{self.status(final)}" + ("\n" if final else ""))
            self._drawn = not final
        self.stream.flush()


def track(items: Iterable[T], what: str, total: int | None = None, unit: str = "", **options: object) -> Iterator[T]:
    """Yield ``items``, showing progress (``total`` defaults to ``len(items)`` where it has one)."""
    if total is None and hasattr(items, "__len__"):
        total = len(items)  # type: ignore[arg-type]
    with Progress(total, what, unit, **options) as progress:  # type: ignore[arg-type]
        for item in items:
            yield item
            progress.advance()
