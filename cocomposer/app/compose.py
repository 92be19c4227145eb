"""`cocomposer compose -o OUT.mid`: a whole piece with no prompt, from a style, a mood, a length and a form.

The music comes from :func:`cocomposer.model.compose.compose` (the shipped model under the live engine's controls);
this module checks the command line's values, writes each take with its provenance and lists the takes.
"""

from __future__ import annotations

import argparse

from cocomposer.app.takes import listing, now_iso, take_paths
from cocomposer.errors import ConfigError
from cocomposer.model.compose import FORMS, Piece, Section, compose, plan_form
from cocomposer.model.facts import base_record
from cocomposer.model.runtime import OnnxModel
from cocomposer.model.sampling import Controls
from cocomposer.music import codec, provenance
from cocomposer.music.keys import Key, parse_key

TRACK = "cocomposer compose"
MAX_BARS = 256


def bars_of(args: argparse.Namespace, meter: codec.Meter) -> int:
    """--bars, or --seconds at --bpm turned into whole bars of ``meter`` (at least one)."""
    if not 20 <= args.bpm <= 300:
        raise ConfigError(f"--bpm must be within 20..300, got {args.bpm:g}")
    if args.seconds is not None:
        if args.seconds <= 0:
            raise ConfigError(f"--seconds must be above 0, got {args.seconds:g}")
        bars = max(1, round(args.seconds * args.bpm / 60 / meter.bar_beats))
    else:
        bars = args.bars
    if not 1 <= bars <= MAX_BARS:
        raise ConfigError(f"a piece is 1..{MAX_BARS} bars long; got {bars} (from --bars or --seconds)")
    return bars


def _how(section: Section, index: int, piece: Piece, mimic: float) -> str:
    if section.repeat_of is None:
        return "new: sampled from the model"
    kept = piece.kept_bars.get(index, 0)
    source = f"section {section.repeat_of + 1}"
    if kept == section.bars:
        return f"repeats {source} note for note"
    return f"repeats {source}: {kept} bars note for note, {section.bars - kept} sampled afresh (mimic {mimic:g})"


def run_compose(args: argparse.Namespace) -> int:
    """Check the arguments, compose ``--variations`` takes, write each with its provenance and list them."""
    meter = codec.Meter.parse(args.meter)
    bars = bars_of(args, meter)
    key: Key | None = None if args.key == "auto" else parse_key(args.key)
    mood = args.mood if args.mood != "auto" else key.mode if key else "major"
    if key is not None and key.mode != mood:
        raise ConfigError(f"--key {args.key} is {key.mode} but --mood is {mood}; give a {mood} key, or --key auto")
    controls = Controls(
        temperature=args.temperature, density=args.density, low=args.low, high=args.high, mimic=args.mimic
    )
    if args.form not in FORMS:
        raise ConfigError(f"unknown form {args.form!r}; choose one of {', '.join(FORMS)}")
    sections = plan_form(args.form, bars)
    paths = take_paths(args.output, args.variations)
    model = OnnxModel.load(args.model)
    settings = {
        "style": args.style, "mood": mood, "bars": bars, "bpm": args.bpm, "meter": str(meter), "key": args.key,
        "form": args.form, "vary": args.vary, "temperature": args.temperature, "density": args.density,
        "low": args.low, "high": args.high, "mimic": args.mimic, "cadence": args.cadence,
    }  # fmt: skip
    date = now_iso()
    print(f"composing {bars} bars of {meter} at {args.bpm:g} BPM, form {args.form}: "
          + " ".join(s.label for s in sections))  # fmt: skip
    for i, path in enumerate(paths):
        seed = args.seed + i
        piece = compose(model, sections, controls, args.style, mood, seed, meter, key, args.vary, args.cadence)
        record = base_record("compose", args.model, seed, settings)
        record["key_closed_in"] = str(piece.key) if piece.key else None
        record["sections"] = [
            {"label": s.label, "start_bar": s.start_bar, "bars": s.bars, "how": _how(s, j, piece, args.mimic)}
            for j, s in enumerate(sections)
        ]
        markers = [(s.start_bar * meter.bar_beats, f"{s.label} ({record['sections'][j]['how']})")
                   for j, s in enumerate(sections)]  # fmt: skip
        provenance.save(path, [(TRACK, piece.notes, 0, provenance.GENERATED)], record, args.bpm, meter, date, markers)
        print(listing(i + 1, path, seed, piece.notes, bars, 0.0, meter.bar_beats))
        if getattr(args, "wav", None):
            from cocomposer.app.render import render_take

            print(render_take(path, args.wav, i, len(paths), args.soundfont))
    seconds = bars * meter.bar_beats * 60 / args.bpm
    print(f"{len(paths)} take(s), {seconds:.0f} s each; `cocomposer provenance FILE.mid` shows how each was made")
    return 0
