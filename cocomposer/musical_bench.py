"""The musical benchmark: `cocomposer eval --musical` answers our own prompts and measures what a musician hears.

The prompts are MIDI files written for it (``benchmarks/prompts/``, not from the training corpus): melodies played
legato, detached and staccato, a waltz, a jig, a swung blues riff, a funk bass line, pop and jazz chords, a chromatic
line, a fast run, a held chord, a minor tune. Each is answered with the settings a player gets by default
(temperature 1.0, top-p 0.95, style folk, mood auto, key lock off), over several seeds, through the same code as
`cocomposer continue`: ``--bars`` bars of the prompt's own meter, from the next bar line. The figures are those of
:mod:`cocomposer.music_metrics`, per prompt and pooled, beside the corpus's own rate on real continuations where that
makes sense (measured with ``--corpus``, from 4-bar passages of the test split that follow 4 bars of the same piece).

Runs in about a minute on one CPU core; prints a table and writes JSON (default ``models/eval_musical.json``).
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import sys
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np

from cocomposer import codec
from cocomposer.errors import ConfigError
from cocomposer.midifile import read_phrase
from cocomposer.model import OnnxModel
from cocomposer.music_metrics import AnswerFigures, pooled
from cocomposer.offline import continue_notes
from cocomposer.sampling import Controls

PROMPTS = Path(__file__).resolve().parent.parent / "benchmarks" / "prompts"
DEFAULT_OUT = Path("models/eval_musical.json")
ARTICULATION_PAIRS = (("ode", "detached"), ("ode", "staccato"), ("tune", "detached"), ("tune", "staccato"))
TRIPLE = ("waltz_melody", "waltz_oompah", "jig")
FIGURES = (
    "notes_per_bar",
    "blips",
    "zero_length",
    "grid",
    "in_key",
    "register_shift",
    "keeps_meter",
    "starts_on_bar",
    "ends_on_bar",
)
# Targets of the issue "A model that hears how people really play".
ARTICULATION_TARGET = 1.2
METER_TARGET = 0.7
BLIP_FACTOR = 2.0


def answer_prompt(model: OnnxModel, path: Path, seed: int, bars: int, controls: Controls) -> AnswerFigures:
    phrase = read_phrase(path)
    answer, _ = continue_notes(model, phrase.notes, bars, controls, "folk", "auto", seed, meter=phrase.meter)
    shift = math.floor(min(n.start for n in phrase.notes) / phrase.meter.bar_beats + 1e-9) * phrase.meter.bar_beats
    start = answer.start_tick / codec.TICKS_PER_BEAT + shift
    end = answer.end_tick / codec.TICKS_PER_BEAT + shift
    return AnswerFigures.of(answer.notes, phrase.notes, phrase.meter, start, end)


def _summary(figures: list[AnswerFigures]) -> dict[str, float]:
    return {name: pooled(figures, name) for name in FIGURES}


def corpus_rates(cache: Path, passages: int = 400, seed: int = 0) -> dict:
    """The same figures on real continuations: 4-bar passages of test pieces, each after 4 bars of its piece."""
    from cocomposer.training.corpus import load_cache  # the train extra's corpus cache (numpy only)

    rng = np.random.default_rng(seed)
    pieces = [p for p in load_cache(cache) if p.split == "test"]
    rows: list[AnswerFigures] = []
    triple: list[AnswerFigures] = []
    for piece in rng.permutation(len(pieces)):
        p = pieces[int(piece)]
        notes = codec.decode(p.tokens.astype(np.int64).tolist())
        bar = p.meter.bar_beats
        origin = p.bar_origin / codec.TICKS_PER_BEAT
        last = max(n.end for n in notes)
        first_bar = origin + bar * math.ceil((4 * bar - origin) / bar)  # a bar line at least 4 bars in
        if first_bar + 4 * bar > last:
            continue
        start = first_bar + bar * int(rng.integers(0, max(1, int((last - first_bar) / bar) - 4) + 1))
        end = start + 4 * bar
        prompt = [n for n in notes if start - 4 * bar <= n.start < start]
        answer = [n for n in notes if start <= n.start < end]
        if len(prompt) < 4 or len(answer) < 4:
            continue
        shifted = codec.Meter(p.meter.numerator, p.meter.denominator)
        moved = [codec.Note(n.start - origin, n.end - origin, n.pitch) for n in answer]
        figure = AnswerFigures.of(moved, prompt, shifted, start - origin, end - origin)
        (triple if shifted.bar_ticks == 36 else rows).append(figure)
        if len(rows) + len(triple) >= passages:
            break
    return {
        "passages": len(rows) + len(triple),
        "all": _summary(rows + triple),
        "triple_meter": {"passages": len(triple), "keeps_meter": pooled(triple, "keeps_meter")},
    }


def run(model_path: Path | None, seeds: int, bars: int, corpus: Path | None, previous: dict | None) -> dict:
    model = OnnxModel.load(model_path)
    controls = Controls()
    files = sorted(PROMPTS.glob("*.mid"))
    if not files:
        raise ConfigError(f"no prompts in {PROMPTS}; run benchmarks/prompts/make_prompts.py")
    started = time.monotonic()
    per_prompt: dict[str, list[AnswerFigures]] = {}
    for path in files:
        per_prompt[path.stem] = [answer_prompt(model, path, seed, bars, controls) for seed in range(seeds)]
        print(f"  {path.stem:16s} {len(per_prompt[path.stem])} answers", file=sys.stderr, flush=True)
    everything = [f for figures in per_prompt.values() for f in figures]
    ratios = {}
    for melody, articulation in ARTICULATION_PAIRS:
        legato = pooled(per_prompt[f"{melody}_legato"], "notes_per_bar")
        other = pooled(per_prompt[f"{melody}_{articulation}"], "notes_per_bar")
        ratios[f"{melody}_{articulation}"] = other / legato if legato else float("nan")
    detached = [ratios[k] for k in ratios if k.endswith("detached")]
    staccato = [ratios[k] for k in ratios if k.endswith("staccato")]
    triple = [f for name in TRIPLE for f in per_prompt[name]]
    report = {
        "model": str(model.info.path),
        "model_training": {k: model.info.training.get(k) for k in ("steps", "tokens_seen", "train_minutes")},
        "when": time.strftime("%Y-%m-%d %H:%M:%S"),
        "machine": f"{platform.machine()}, {platform.python_version()}",
        "seconds": round(time.monotonic() - started, 1),
        "seeds": seeds,
        "bars": bars,
        "controls": {
            "temperature": controls.temperature,
            "top_p": controls.top_p,
            "style": "folk",
            "mood": "auto",
            "key_lock": "off",
            "min_note_ticks": controls.min_note_ticks,
        },
        "pooled": _summary(everything),
        "articulation_ratio": {
            "detached_over_legato": float(np.mean(detached)),
            "staccato_over_legato": float(np.mean(staccato)),
            "pairs": ratios,
        },
        "triple_meter": {
            "prompts": list(TRIPLE),
            "keeps_meter": pooled(triple, "keeps_meter"),
            "starts_on_bar": pooled(triple, "starts_on_bar"),
            "ends_on_bar": pooled(triple, "ends_on_bar"),
        },
        "per_prompt": {name: _summary(figures) for name, figures in per_prompt.items()},
        "answers": {name: [asdict(f) for f in figures] for name, figures in per_prompt.items()},
    }
    if corpus is not None:
        report["corpus"] = corpus_rates(corpus)
    elif previous and "corpus" in previous:
        report["corpus"] = {**previous["corpus"], "note": "carried over from the previous run's --corpus"}
    report["targets"] = targets(report)
    return report


def targets(report: dict) -> dict:
    corpus_blips = report.get("corpus", {}).get("all", {}).get("blips")
    out = {
        "articulation_ratio <= 1.2": report["articulation_ratio"]["detached_over_legato"] <= ARTICULATION_TARGET,
        "triple meters kept >= 70%": report["triple_meter"]["keeps_meter"] >= METER_TARGET,
        "zero-length notes = 0": report["pooled"]["zero_length"] == 0,
    }
    if corpus_blips is not None:
        out[f"blips <= {BLIP_FACTOR:g}x corpus ({corpus_blips:.3f})"] = (
            report["pooled"]["blips"] <= BLIP_FACTOR * corpus_blips
        )
    return out


def _fmt(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return "nan" if math.isnan(value) else f"{value:.3f}" if abs(value) < 10 else f"{value:.1f}"
    return str(value)


def table(report: dict) -> str:
    heads = ("prompt", "n/bar", "blips", "zero", "grid", "in key", "reg", "meter", "bar in", "bar out")
    lines = ["  ".join(f"{h:>8s}" if i else f"{h:16s}" for i, h in enumerate(heads))]

    def row(name: str, figures: dict) -> str:
        cells = [_fmt(figures.get(k)) for k in FIGURES]
        return "  ".join([f"{name:16s}", *(f"{c:>8s}" for c in cells)])

    for name, figures in report["per_prompt"].items():
        lines.append(row(name, figures))
    lines.append(row("ALL", report["pooled"]))
    if "corpus" in report:
        lines.append(row("corpus", report["corpus"]["all"]))
    a = report["articulation_ratio"]
    t = report["triple_meter"]
    lines += [
        "",
        f"articulation: notes per bar, detached / legato {a['detached_over_legato']:.2f}, "
        f"staccato / legato {a['staccato_over_legato']:.2f} (target <= {ARTICULATION_TARGET})",
        f"3/4 and 6/8 answers keeping their meter: {t['keeps_meter']:.0%} (target >= {METER_TARGET:.0%})"
        + (f"; corpus {report['corpus']['triple_meter']['keeps_meter']:.0%}" if "corpus" in report else ""),
        "targets: " + ", ".join(f"{k}: {'pass' if v else 'MISS'}" for k, v in report["targets"].items()),
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="cocomposer eval --musical", description=__doc__.split("\n\n")[0])
    parser.add_argument("--musical", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--model", type=Path, help="the ONNX model (default: the shipped one)")
    parser.add_argument("--seeds", type=int, default=6, help="answers per prompt (default 6)")
    parser.add_argument("--bars", type=int, default=4, help="bars per answer, in the prompt's meter (default 4)")
    parser.add_argument("--corpus", type=Path, help="a prepared corpus cache, to measure the corpus's own rates")
    parser.add_argument("-o", "--output", type=Path, default=DEFAULT_OUT, help="where to write the JSON")
    args = parser.parse_args(argv)
    if args.seeds < 1 or args.bars < 1:
        raise ConfigError("--seeds and --bars must be at least 1")
    previous = json.loads(args.output.read_text()) if args.output.exists() else None
    report = run(args.model, args.seeds, args.bars, args.corpus, previous)
    print(table(report))
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=1, default=_json_default) + "\n")
    print(f"wrote {args.output}", file=sys.stderr)
    return 0


def _json_default(value: object) -> object:
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(type(value))
