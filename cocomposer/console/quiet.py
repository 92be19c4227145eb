"""Keep what C libraries print on their own off the user's terminal, and keep it for when it explains a failure.

libjack writes "Cannot connect to server socket err = No such file or directory ..." to file descriptor 2 whenever a
client looks for a server that is not running, and ALSA's library writes "ALSA lib seq_hw.c ... failed" when the
sequencer is missing: on a machine where cocomposer then falls back to another backend and works, that noise makes
a success look like a failure. :func:`captured_stderr` points descriptor 2 at a temporary file for the length of a
block (a file, not a pipe, so a chatty library can never block on a full pipe) and hands back what was written.
Python's own ``sys.stderr`` writes through the same descriptor, so it is flushed at both ends; another thread
that prints to stderr inside the block is captured too, which is why the blocks stay short (opening a client).
"""

from __future__ import annotations

import os
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()  # one redirection at a time: nested or concurrent ones would restore the wrong target


class Captured:
    """What a C library printed inside a :func:`captured_stderr` block (``text`` is filled when the block ends)."""

    def __init__(self) -> None:
        self.text = ""

    @property
    def lines(self) -> list[str]:
        return [line.strip() for line in self.text.splitlines() if line.strip()]


@contextmanager
def captured_stderr() -> Iterator[Captured]:
    """Send file descriptor 2 to a temporary file inside the block; ``Captured.text`` then holds what came."""
    captured = Captured()
    try:
        fd = sys.stderr.fileno() if sys.stderr is not None else 2
    except (AttributeError, ValueError, OSError):  # a replaced stderr (pytest's capture): descriptor 2 it is
        fd = 2
    with _lock, tempfile.TemporaryFile(mode="w+b") as sink:
        _flush()
        saved = os.dup(fd)
        try:
            os.dup2(sink.fileno(), fd)
            yield captured
        finally:
            _flush()
            os.dup2(saved, fd)
            os.close(saved)
            sink.seek(0)
            captured.text = sink.read().decode("utf-8", "replace")


def _flush() -> None:
    try:
        if sys.stderr is not None:
            sys.stderr.flush()
    except (OSError, ValueError):
        pass
