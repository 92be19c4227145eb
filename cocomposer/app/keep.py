"""Choosing and keeping: `continue --variations N` (takes to pick from) and `cocomposer provenance FILE.mid`."""

from __future__ import annotations

import argparse
import json

from cocomposer.app.offline import continue_file
from cocomposer.app.takes import listing, take_paths
from cocomposer.model.continuation import Conversation
from cocomposer.model.sampling import Controls
from cocomposer.music import provenance


def continue_takes(args: argparse.Namespace, bars: float | None, controls: Controls, conversation: Conversation) -> int:
    """`continue` with its takes: one file per seed (``--variations``), each listed with its figures."""
    paths = take_paths(args.output, args.variations)
    for i, path in enumerate(paths):
        result = continue_file(
            args.input,
            path,
            bars,
            args.style,
            args.mood,
            controls,
            args.seed + i,
            args.model,
            key_lock=args.key,
            quantize=args.quantize,
            conversation=conversation,
        )
        notes = result.continuation.notes
        span = result.continuation.end_tick - result.continuation.start_tick
        bars_done = span / result.meter.bar_ticks
        print(
            f"continued {len(result.prompt)} notes with {len(notes)} notes over {bars_done:g} bars of {result.meter} "
            f"(style {result.style}, mood {result.mood}) -> {path}"
        )
        if len(paths) > 1:
            start = min((n.start for n in notes), default=0.0)
            bar = result.meter.bar_beats
            print(listing(i + 1, path, args.seed + i, notes, bars_done, start - start % bar, bar))
        if args.wav:
            from cocomposer.app.render import render_take

            print(render_take(path, args.wav, i, len(paths), args.soundfont))
    return 0


def run_provenance(args: argparse.Namespace) -> int:
    """Print the provenance record inside a MIDI file (and its sidecar's date), in words or as JSON."""
    record = provenance.read_record(args.input)
    print(json.dumps(record, indent=2, sort_keys=True) if args.json else provenance.describe(record))
    return 0
