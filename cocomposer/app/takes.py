"""Several takes to choose from (`--variations N`): where each is written, and the figures that tell them apart.

A take is one file of its own (``out.mid`` becomes ``out-1.mid``, ``out-2.mid``, ...), drawn with seeds ``seed``,
``seed + 1``, ...; each is listed with what a musician compares first: notes per bar, pitch range, key, and the
rhythm of its first bars as a one-line roll.
"""

from __future__ import annotations

import datetime
from pathlib import Path

from cocomposer.errors import ConfigError
from cocomposer.music import codec
from cocomposer.music.keys import find_key, note_name, pitch_class_histogram

MAX_VARIATIONS = 16


def take_paths(output: Path, count: int) -> list[Path]:
    """``count`` files: ``output`` itself for one take, else ``output`` with ``-1``, ``-2``, ... before its suffix."""
    if not 1 <= count <= MAX_VARIATIONS:
        raise ConfigError(f"--variations must be 1..{MAX_VARIATIONS}, got {count}")
    if count == 1:
        return [output]
    return [output.with_name(f"{output.stem}-{i}{output.suffix or '.mid'}") for i in range(1, count + 1)]


def figures(notes: list[codec.Note], bars: float) -> dict[str, object]:
    """Notes per bar, lowest and highest pitch, and key of a take (the numbers the listing prints)."""
    if not notes:
        return {"notes": 0, "notes_per_bar": 0.0, "low": None, "high": None, "key": None}
    key = find_key(pitch_class_histogram((n.pitch for n in notes), (n.end - n.start for n in notes)))
    return {
        "notes": len(notes),
        "notes_per_bar": round(len(notes) / max(bars, 1e-9), 2),
        "low": note_name(min(n.pitch for n in notes)),
        "high": note_name(max(n.pitch for n in notes)),
        "key": str(key) if key else None,
    }


def rhythm_line(notes: list[codec.Note], start: float, beats: float, steps_per_beat: int = 4) -> str:
    """Onsets of ``beats`` beats from ``start`` on one line: 'x' an onset, '.' a beat, ' ' a sixteenth."""
    width = int(beats * steps_per_beat)
    row = ["." if c % steps_per_beat == 0 else " " for c in range(width)]
    for n in notes:
        column = int(round((n.start - start) * steps_per_beat))
        if 0 <= column < width:
            row[column] = "x"
    return "".join(row)


def listing(index: int, path: Path, seed: int, notes: list[codec.Note], bars: float, start: float, bar: float) -> str:
    """One take in the listing: its number, file, seed, figures, and the rhythm of its first two bars."""
    f = figures(notes, bars)
    span = f"{f['low']}..{f['high']}" if f["notes"] else "-"
    return (
        f"take {index}: {path} (seed {seed}): {f['notes']} notes, {f['notes_per_bar']:g} per bar, range {span}, "
        f"key {f['key'] or '-'}\n    |{rhythm_line(notes, start, min(2 * bar, bars * bar))}|"
    )


def now_iso() -> str:
    """The date of writing, for a provenance sidecar (UTC, to the second)."""
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
