"""The musical benchmark: `cocomposer eval --musical` answers our own prompts and measures what a musician hears.

The prompts are MIDI files written for it (``benchmarks/prompts/``, not from the training corpus): melodies played
legato, detached and staccato, a waltz, a jig, a swung blues riff, a funk bass line, pop and jazz chords, a chromatic
line, a fast run, a held chord, a minor tune. Each is answered with the settings a player gets by default
(temperature 1.0, top-p 0.95, style folk, mood auto, key lock off), over several seeds, through the same code as
`cocomposer continue`: ``--bars`` bars of the prompt's own meter, from the next bar line. The figures are those of
:mod:`cocomposer.music.metrics`, per prompt and pooled, beside the corpus's own rate on real continuations where that
makes sense (measured with ``--corpus``, from 4-bar passages of the test split that follow 4 bars of the same piece).

Conversation (the issue "Answers that converse"): each prompt is also answered by the network alone (mimic 0, no
cadence, no call shape) and by the Continuator alone (the player model of :mod:`cocomposer.model.player` with the
network muted), in the same run, and the figures of :mod:`cocomposer.music.dialogue` are printed for all three:
motifs shared with the own prompt against other prompts, swing and syncopation kept, register, cadence, echo.
Defaults (``mimic``, ``cadence``) are chosen with ``--validation --sweep`` on the prompts under
``benchmarks/prompts/validation/``, which the report never uses.

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

from cocomposer.bench.conversation import (
    CONDITIONS,
    Condition,
    DialogueFigures,
    conversation_targets,
    dialogue_summary,
    motif_relation,
)
from cocomposer.console.helptext import CommandParser, HelpFormatter
from cocomposer.console.progress import Progress
from cocomposer.errors import ConfigError
from cocomposer.model.continuation import Conversation, continue_notes
from cocomposer.model.runtime import OnnxModel
from cocomposer.model.sampling import Controls
from cocomposer.music import codec
from cocomposer.music.metrics import AnswerFigures, pooled
from cocomposer.music.midifile import Phrase, read_phrase

PROMPTS = Path(__file__).resolve().parents[2] / "benchmarks" / "prompts"
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


def answer_prompt(
    model: OnnxModel, phrase: Phrase, seed: int, bars: int | None, controls: Controls, condition: Condition
) -> tuple[AnswerFigures, DialogueFigures]:
    answer, _ = continue_notes(
        condition.wrap(model),
        phrase.notes,
        bars,
        condition.controls(controls),
        "folk",
        "auto",
        seed,
        meter=phrase.meter,
        conversation=condition.conversation,
    )
    shift = math.floor(min(n.start for n in phrase.notes) / phrase.meter.bar_beats + 1e-9) * phrase.meter.bar_beats
    start = answer.start_tick / codec.TICKS_PER_BEAT + shift
    end = answer.end_tick / codec.TICKS_PER_BEAT + shift
    return (
        AnswerFigures.of(answer.notes, phrase.notes, phrase.meter, start, end),
        DialogueFigures.of(answer.notes, phrase.notes, phrase.meter, start, end),
    )


def _summary(figures: list[AnswerFigures]) -> dict[str, float]:
    out = {name: pooled(figures, name) for name in FIGURES}
    shifts = [abs(f.register_shift) for f in figures if not math.isnan(f.register_shift)]
    out["register_shift_abs"] = float(np.median(shifts)) if shifts else float("nan")
    return out


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


def load_prompts(folder: Path = PROMPTS) -> dict[str, Phrase]:
    files = sorted(folder.glob("*.mid"))
    if not files:
        raise ConfigError(f"no prompts in {folder}; run benchmarks/prompts/make_prompts.py")
    return {path.stem: read_phrase(path) for path in files}


def musical_figures(per_prompt: dict[str, list[AnswerFigures]]) -> dict:
    """The figures of the issue "A model that hears how people really play", pooled and per prompt."""
    everything = [f for figures in per_prompt.values() for f in figures]
    ratios = {}
    for melody, articulation in ARTICULATION_PAIRS:
        if f"{melody}_legato" not in per_prompt:
            continue
        legato = pooled(per_prompt[f"{melody}_legato"], "notes_per_bar")
        other = pooled(per_prompt[f"{melody}_{articulation}"], "notes_per_bar")
        ratios[f"{melody}_{articulation}"] = other / legato if legato else float("nan")
    detached = [ratios[k] for k in ratios if k.endswith("detached")]
    staccato = [ratios[k] for k in ratios if k.endswith("staccato")]
    triple = [f for name in TRIPLE if name in per_prompt for f in per_prompt[name]]
    return {
        "pooled": _summary(everything),
        "articulation_ratio": {
            "detached_over_legato": float(np.mean(detached)) if detached else float("nan"),
            "staccato_over_legato": float(np.mean(staccato)) if staccato else float("nan"),
            "pairs": ratios,
        },
        "triple_meter": {
            "prompts": list(TRIPLE),
            "keeps_meter": pooled(triple, "keeps_meter"),
            "starts_on_bar": pooled(triple, "starts_on_bar"),
            "ends_on_bar": pooled(triple, "ends_on_bar"),
        },
        "per_prompt": {name: _summary(figures) for name, figures in per_prompt.items()},
    }


def run_condition(
    model: OnnxModel,
    phrases: dict[str, Phrase],
    seeds: int,
    bars: int | None,
    controls: Controls,
    condition: Condition,
    progress: Progress | None = None,
) -> dict:
    answers: dict[str, list] = {}
    for name, phrase in phrases.items():
        answers[name] = []
        for seed in range(seeds):
            answers[name].append(answer_prompt(model, phrase, seed, bars, controls, condition))
            if progress is not None:
                progress.advance()
    musical = musical_figures({name: [a for a, _ in rows] for name, rows in answers.items()})
    dialogue = {name: [d for _, d in rows] for name, rows in answers.items()}
    return {
        **musical,
        "conversation": {**dialogue_summary(dialogue, phrases), "motif": motif_relation(dialogue, phrases)},
        "answers": {name: [asdict(a) for a, _ in rows] for name, rows in answers.items()},
    }


def run(
    model_path: Path | None,
    seeds: int,
    bars: int | None,
    corpus: Path | None,
    previous: dict | None,
    folder: Path = PROMPTS,
    conditions: tuple[str, ...] = tuple(CONDITIONS),
) -> dict:
    model = OnnxModel.load(model_path)
    controls = Controls()
    phrases = load_prompts(folder)
    started = time.monotonic()
    results = {}
    with Progress(len(conditions) * len(phrases) * seeds, "musical benchmark", "answers") as progress:
        for name in conditions:
            results[name] = run_condition(model, phrases, seeds, bars, controls, CONDITIONS[name], progress)
            progress.write(f"  {name}: {len(phrases)} prompts x {seeds} seeds")
    main = results[conditions[0]]
    report = {
        "model": str(model.info.path),
        "model_training": {k: model.info.training.get(k) for k in ("steps", "tokens_seen", "train_minutes")},
        "when": time.strftime("%Y-%m-%d %H:%M:%S"),
        "machine": f"{platform.machine()}, {platform.python_version()}",
        "seconds": round(time.monotonic() - started, 1),
        "prompts": str(folder),
        "seeds": seeds,
        "bars": bars if bars is not None else "auto",
        "controls": {
            "temperature": controls.temperature,
            "top_p": controls.top_p,
            "style": "folk",
            "mood": "auto",
            "key_lock": "off",
            "min_note_ticks": controls.min_note_ticks,
            "mimic": CONDITIONS[conditions[0]].mimic,
            "cadence": CONDITIONS[conditions[0]].conversation.cadence,
        },
        **{k: v for k, v in main.items() if k != "answers"},
        "conditions": {
            name: {k: v for k, v in r.items() if k not in ("per_prompt", "answers")} for name, r in results.items()
        },
        "answers": main["answers"],
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
    if "conversation" in report:
        out.update(conversation_targets(report))
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
    for name, condition in report.get("conditions", {}).items():
        if name != "default":
            lines.append(row(f"ALL, {name}", condition["pooled"]))
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
    ]
    if report.get("conditions"):
        lines += ["", conversation_table(report["conditions"])]
    lines.append("targets: " + ", ".join(f"{k}: {'pass' if v else 'MISS'}" for k, v in report["targets"].items()))
    return "\n".join(lines)


def conversation_table(conditions: dict) -> str:
    rows = [
        ("motif: interval 4-grams own / other", lambda c: c["conversation"]["motif"]["interval"]["ratio"]),
        ("motif: rhythm 4-grams own / other", lambda c: c["conversation"]["motif"]["rhythm"]["ratio"]),
        ("swung prompts: off-beats swung", lambda c: c["conversation"]["swing_kept"]),
        ("register: median |shift|, semitones", lambda c: c["pooled"]["register_shift_abs"]),
        ("bass prompts: within call range +-5", lambda c: c["conversation"]["bass_within_range"]),
        ("cadence: ends on the tonic chord", lambda c: c["conversation"]["cadence"]),
        ("echo: 2-bar windows repeated", lambda c: c["conversation"]["echo"]),
        ("in key", lambda c: c["pooled"]["in_key"]),
        ("blips", lambda c: c["pooled"]["blips"]),
        ("articulation: detached / legato", lambda c: c["articulation_ratio"]["detached_over_legato"]),
        ("triple meters kept", lambda c: c["triple_meter"]["keeps_meter"]),
    ]
    names = list(conditions)
    out = [f"{'conversation':38s}" + "".join(f"{n:>13s}" for n in names)]
    for label, get in rows:
        out.append(f"{label:38s}" + "".join(f"{_fmt(get(conditions[n])):>13s}" for n in names))
    for prompt in next(iter(conditions.values()))["conversation"]["syncopated_prompts"]:
        cells = []
        for n in names:
            v = conditions[n]["conversation"]["syncopated_prompts"][prompt]
            cells.append(f"{v['answer']:.2f}/{v['call']:.2f}")
        out.append(f"{'syncopation ' + prompt + ' (answer/call)':38s}" + "".join(f"{c:>13s}" for c in cells))
    return "\n".join(out)


def sweep(model_path: Path | None, seeds: int, bars: int | None, folder: Path) -> list[dict]:
    """Every (mimic, cadence) pair of a small grid on ``folder``'s prompts: how the defaults are chosen."""
    model = OnnxModel.load(model_path)
    phrases = load_prompts(folder)
    out = []
    grid = [(mimic, cadence) for mimic in (0.0, 0.25, 0.5, 0.75, 1.0) for cadence in (0.0, 0.5, 1.0, 2.0)]
    progress = Progress(len(grid) * len(phrases) * seeds, "mimic and cadence sweep", "answers")
    for mimic, cadence in grid:
        condition = Condition(mimic, Conversation(cadence=cadence))
        r = run_condition(model, phrases, seeds, bars, Controls(), condition, progress)
        r = {k: v for k, v in r.items() if k not in ("answers", "per_prompt")}
        r["mimic"], r["cadence"] = mimic, cadence
        r["targets"] = targets(r)
        out.append(r)
        passed = sum(r["targets"].values())
        c = r["conversation"]
        say = progress.write if progress.terminal else print
        say(
            f"mimic {mimic:4.2f} cadence {cadence:3.1f}: targets {passed}/{len(r['targets'])}, "
            f"motif {c['motif']['interval']['ratio']:.2f}/{c['motif']['rhythm']['ratio']:.2f}, "
            f"swing {c['swing_kept']:.2f}, cadence {c['cadence']:.2f}, echo {c['echo']:.2f}, "
            f"in key {r['pooled']['in_key']:.2f}, blips {r['pooled']['blips']:.3f}"
        )
    progress.close()
    return out


def build_parser() -> argparse.ArgumentParser:
    parser = CommandParser(
        prog="cocomposer eval --musical", description=__doc__.split("\n\n")[0], formatter_class=HelpFormatter
    )
    parser.add_argument("--musical", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--model", type=Path, help="the ONNX model (default: the shipped one)")
    parser.add_argument("--seeds", type=int, default=6, help="answers per prompt")
    parser.add_argument(
        "--bars", default="4", help="bars per answer, in the prompt's meter, or auto (as many as the prompt)"
    )
    parser.add_argument(
        "--corpus", type=Path, help="a prepared corpus cache, to measure the corpus's own rates (default: none)"
    )
    parser.add_argument("--validation", action="store_true", help="the validation prompts (for choosing defaults)")
    parser.add_argument("--sweep", action="store_true", help="try a grid of mimic and cadence values")
    parser.add_argument("-o", "--output", type=Path, help=f"where to write the JSON (default {DEFAULT_OUT})")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    bars = None if args.bars == "auto" else int(args.bars) if args.bars.isdigit() else 0
    if args.seeds < 1 or bars == 0:
        raise ConfigError(f"--seeds must be at least 1 and --bars a whole number of bars or auto; got {args.bars!r}")
    folder = PROMPTS / "validation" if args.validation else PROMPTS
    output = args.output or (DEFAULT_OUT.with_name("eval_musical_validation.json") if args.validation else DEFAULT_OUT)
    if args.sweep:
        grid = sweep(args.model, args.seeds, bars, folder)
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(json.dumps(grid, indent=1, default=_json_default) + "\n")
        print(f"wrote {output}", file=sys.stderr)
        return 0
    previous = json.loads(output.read_text()) if output.exists() else None
    report = run(args.model, args.seeds, bars, args.corpus, previous, folder)
    print(table(report))
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(report, indent=1, default=_json_default) + "\n")
    print(f"wrote {output}", file=sys.stderr)
    return 0


def _json_default(value: object) -> object:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, tuple):
        return list(value)
    raise TypeError(type(value))
