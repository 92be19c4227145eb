"""The command line's flags for composing, choosing and keeping: `compose`, `provenance`, and the take flags
(`--variations`, `--wav`, `--soundfont`) that `continue` and `compose` share. Kept apart from ``cli.py`` so the
parser stays light (nothing here imports the model) and each command's flags read in one place."""

from __future__ import annotations

import argparse
from pathlib import Path

from cocomposer.console.helptext import HelpFormatter
from cocomposer.model.compose import COMPOSE_CADENCE

COMPOSE_MIMIC = 1.0  # a varied repeat leans on the earlier section's intervals and rhythms


def add_take_flags(parser: argparse.ArgumentParser) -> None:
    """--variations, --wav and --soundfont, for every command that writes takes."""
    parser.add_argument(
        "--variations",
        type=int,
        default=1,
        metavar="N",
        help="write N takes (seeds SEED, SEED+1, ...) as OUT-1.mid .. OUT-N.mid and list their figures (default 1)",
    )
    parser.add_argument(
        "--wav",
        type=Path,
        default=None,
        metavar="OUT.wav",
        help="also render each take to audio through a General MIDI SoundFont (needs the audio extra; default: off)",
    )
    parser.add_argument(
        "--soundfont",
        type=Path,
        default=None,
        metavar="FILE.sf2",
        help="the SoundFont for --wav (default: the first General MIDI SoundFont the system has)",
    )


def add_compose_parser(sub: argparse._SubParsersAction) -> None:
    text = "write a whole piece with no prompt, from a style, mood, length and form"
    p = sub.add_parser("compose", help=text, description=text, formatter_class=HelpFormatter)
    p.add_argument("-o", "--output", type=Path, required=True, metavar="OUT.mid", help="the MIDI file to write")
    p.add_argument("--style", default="folk", help="the model's style label: folk, celtic, chorale, renaissance, "
                   "classical (default folk)")  # fmt: skip
    p.add_argument(
        "--mood", default="auto", help="major or minor (default auto: the mode of --key, or major without one)"
    )
    p.add_argument("--bars", type=int, default=16, help="length in bars of --meter (default 16)")
    p.add_argument(
        "--seconds", type=float, default=None, help="length in seconds at --bpm instead of --bars (default: off)"
    )
    p.add_argument("--bpm", type=float, default=100.0, help="tempo written into the file, 20..300 (default 100)")
    p.add_argument("--meter", default="4/4", help="time signature: 4/4, 3/4, 2/4, 6/8 or 3/2 (default 4/4)")
    p.add_argument(
        "--key",
        default="auto",
        help="a key such as 'D minor': every note in its scale and the close on its tonic (default auto: the "
        "model's choice, found after the first section)",
    )
    p.add_argument(
        "--form",
        default="AABA",
        help="AABA, verse-chorus (verse chorus verse chorus) or through (new music every 4 bars) (default AABA)",
    )
    p.add_argument(
        "--vary",
        type=float,
        default=0.0,
        help="0..1: the fraction of each repeated section's bars sampled afresh (0: repeats note for note; "
        "the last bar always closes anew) (default 0)",
    )
    p.add_argument("--temperature", type=float, default=1.0, help="sampling temperature 0.05..3 (default 1)")
    p.add_argument("--density", type=float, default=1.0, help="more (>1) or fewer (<1) notes, 0.1..10 (default 1)")
    p.add_argument("--low", type=int, default=48, help="lowest MIDI pitch (default 48)")
    p.add_argument("--high", type=int, default=84, help="highest MIDI pitch (default 84)")
    p.add_argument(
        "--mimic",
        type=float,
        default=COMPOSE_MIMIC,
        help=f"0..2: how much a varied repeat borrows the earlier section (default {COMPOSE_MIMIC:g})",
    )
    p.add_argument(
        "--cadence",
        type=float,
        default=COMPOSE_CADENCE,
        help=f"0..4: how strongly the last bar closes on the tonic chord (default {COMPOSE_CADENCE:g})",
    )
    p.add_argument("--seed", type=int, default=0, help="random seed: the same seed writes the same file (default 0)")
    p.add_argument("--model", type=Path, default=None, help="an exported .onnx model (default: the shipped one)")
    add_take_flags(p)


def add_provenance_parser(sub: argparse._SubParsersAction) -> None:
    text = "print who made a MIDI file's notes, with which model, seed and settings"
    p = sub.add_parser("provenance", help=text, description=text, formatter_class=HelpFormatter)
    p.add_argument("input", type=Path, metavar="FILE.mid", help="a MIDI file written by cocomposer")
    p.add_argument("--json", action="store_true", help="print the record as JSON (default: in words)")
