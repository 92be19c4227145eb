"""`cocomposer bench`: numbers a musician can trust, with the machine they came from.

Three sections, each in a module of its own: the cost of one note event for the model and its anchors
(:mod:`cocomposer.bench.model`), end to end through a real JACK server (:mod:`cocomposer.bench.live`), start-up and
memory (:mod:`cocomposer.bench.startup`). This module runs them, prints one table with each target and whether it is
met (:mod:`cocomposer.bench.report`), and writes everything to JSON. Quick mode takes under two minutes; ``--full``
measures longer. A section that fails is reported in the table and the JSON, and the others still run.

``python -m cocomposer.bench.runner`` takes extra flags for development: ``--phrases``, ``--steps``, ``--only``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from cocomposer import __version__
from cocomposer.bench.report import (
    ARRIVAL_P99,
    FIRST_NOTE_P99,
    READY,
    RSS_HEADLESS,
    SAMPLING_OVER_STEP,
    STEP_P99,
    Row,
    fmt,
    fmt_summary,
    format_table,
    machine_facts,
    machine_lines,
)
from cocomposer.bench.stats import Summary, ratio, token_split, window_median
from cocomposer.console.helptext import CommandParser, HelpFormatter
from cocomposer.console.progress import Progress
from cocomposer.errors import ConfigError

SECTIONS = ("step", "live", "startup")


@dataclass(frozen=True)
class BenchConfig:
    mode: str
    steps: int  # events in the step statistics (median, p99, max)
    checkpoints: tuple[int, ...]  # events of one session at which the cost is shown
    anchor_events: int  # events replayed by PyTorch and the Markov model
    phrases: int  # per condition of the end-to-end bench
    startup_runs: int = 5
    window: int = 50  # the cost at a checkpoint is the median of the events within this many of it
    sections: tuple[str, ...] = SECTIONS

    @property
    def session_events(self) -> int:
        return max([self.steps] + [c + self.window + 1 for c in self.checkpoints])


QUICK = BenchConfig("quick", steps=5_000, checkpoints=(100, 1_000, 10_000), anchor_events=1_000, phrases=60)
FULL = BenchConfig("full", steps=20_000, checkpoints=(100, 1_000, 10_000, 20_000), anchor_events=5_000, phrases=200)


def config_from_args(args: argparse.Namespace) -> BenchConfig:
    config = FULL if getattr(args, "full", False) else QUICK
    if getattr(args, "phrases", None):
        config = replace(config, phrases=args.phrases)
    if getattr(args, "steps", None):
        config = replace(config, steps=args.steps, checkpoints=tuple(c for c in config.checkpoints if c < args.steps))
    if getattr(args, "only", None):
        wanted = tuple(s.strip() for s in args.only.split(","))
        unknown = [s for s in wanted if s not in SECTIONS]
        if unknown:
            raise ConfigError(f"unknown bench section {unknown[0]!r}; sections: {', '.join(SECTIONS)}")
        config = replace(config, sections=wanted)
    return config


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def describe_model(model) -> dict:
    sidecar = json.loads(model.info.path.with_suffix(".json").read_text())
    net, training = sidecar.get("net", {}), model.info.training
    steps = training.get("steps")
    if steps is not None and (base := training.get("fine_tuned_from")):  # count the steps before fine-tuning too
        steps += base.get("steps") or 0
    shape = f"{net['layers']}-layer GRU {net['hidden']} hidden" if net else f"state {model.info.state_shape}"
    smoke = steps is not None and steps < 1000
    return {
        "path": str(model.info.path),
        "shape": shape,
        "net": net,
        "training_steps": steps,
        "valid_nll_per_token": training.get("valid_nll_per_token"),
        "smoke_test_model": smoke,
    }


# -- sections -------------------------------------------------------------------------------------------------------


def bench_step(model, config: BenchConfig, phrase, checkpoint: Path | None) -> dict:
    from cocomposer.bench import model as bench_model
    from cocomposer.bench import notochord as bench_notochord
    from cocomposer.model.sampling import DEFAULT_MIMIC

    _log(f"model step: onnxruntime, one session of {config.session_events:,} events")
    with Progress(config.session_events, "model step: onnxruntime", "events") as progress:
        onnx, script = bench_model.measure_onnx(model, phrase, config.session_events, mimic=0.0, progress=progress)
    ms = [s * 1e3 for s in onnx.seconds]
    out: dict = {
        "onnxruntime": {
            "about": onnx.about,
            "per_event_ms": Summary.of(ms[: config.steps]).to_dict(),
            "at_event_ms": {str(c): window_median(ms, c, config.window) for c in config.checkpoints},
            # The same windows per model token: an event's cost depends on how many tokens the model sampled (a long
            # rest is many), a token's cost on the model alone.
            "at_event_ms_per_token": {
                str(c): window_median([m / t for m, t in zip(ms, onnx.tokens, strict=True)], c, config.window)
                for c in config.checkpoints
            },
            "window": 2 * config.window + 1,
            "tokens_per_event_mean": sum(onnx.tokens) / len(onnx.tokens),
            "capped_events": onnx.capped,
            # The session's sampled tokens: the step alone, the sampling alone, both.
            "per_token": token_split(onnx.sampled_step_seconds, onnx.sample_seconds),
        }
    }
    _log(f"model step: mimic 0 and mimic {DEFAULT_MIMIC:g} in lockstep, {config.steps:,} events each")
    with Progress(config.steps, f"model step: mimic 0 / {DEFAULT_MIMIC:g} in lockstep", "events") as progress:
        zero, mimic = bench_model.measure_onnx_pair(
            model.info.path, phrase, config.steps, (0.0, DEFAULT_MIMIC), progress=progress
        )
    plain, with_mimic = Summary.of([s * 1e3 for s in zero.seconds]), Summary.of([s * 1e3 for s in mimic.seconds])
    out["onnxruntime_mimic"] = {
        "about": mimic.about,
        "per_event_ms": with_mimic.to_dict(),
        "mimic_0_same_session_ms": plain.to_dict(),  # its lockstep partner, not the long session above
        "ratio_median": ratio(with_mimic.median, plain.median),
        "ratio_p99": ratio(with_mimic.p99, plain.p99),
        "tokens_per_event_mean": sum(mimic.tokens) / len(mimic.tokens),
    }
    n = min(config.anchor_events, len(script.inputs))
    reference = Summary.of(ms[:n])

    def anchor(name: str, run) -> None:
        try:
            with Progress(n, f"model step: {name}", "events") as progress:
                result = run(progress)
        except Exception as err:  # an anchor that cannot run here is reported, not fatal
            out[name] = {"skipped": f"{type(err).__name__}: {err}"}
            return
        summary = Summary.of([s * 1e3 for s in result.seconds])
        out[name] = {
            "about": result.about,
            "per_event_ms": summary.to_dict(),
            "onnxruntime_same_events_ms": reference.to_dict(),
            "ratio_median": ratio(summary.median, reference.median),
            "ratio_p99": ratio(summary.p99, reference.p99),
        }

    _log(f"model step: PyTorch eager, replaying {n:,} events")
    plan = bench_model.plan_torch(model, checkpoint)
    if plan.skip:
        out["pytorch"] = {"skipped": plan.skip}
    else:
        anchor("pytorch", lambda progress: bench_model.measure_torch(plan, script, n, progress))
    _log(f"model step: Markov anchor, replaying {n:,} events")
    anchor("markov", lambda progress: bench_model.measure_markov(script, phrase, n, progress=progress))
    _log(f"model step: Notochord anchor, the same {n:,} player messages")
    if why := bench_notochord.unavailable():
        out["notochord"] = {"skipped": why}
    else:
        anchor("notochord", lambda progress: bench_notochord.measure_notochord(script, n, progress=progress))
    return out


def bench_jack_sections(model_path: Path | None, config: BenchConfig, phrase, report: dict, errors: dict) -> None:
    """The sections that need a JACK server: end to end, and start-up (``cocomposer run --api jack``)."""
    from cocomposer.bench.jack import jack_server

    wanted = [s for s in ("live", "startup") if s in config.sections]
    if not wanted:
        return
    try:
        with jack_server() as jack:
            report["jack"] = jack.about
            if "live" in wanted:
                from cocomposer.bench.live import LiveConfig, measure_live

                live = LiveConfig(phrases=config.phrases, until_measured=config.mode == "full")
                pitches = phrase_pitches(phrase)
                report["live"] = _guard(
                    "live", errors, lambda: measure_live(model_path, live, pitches, _log, jack.xruns)
                )
                if config.mode == "full":  # the same quiet run with notes sent through python-rtmidi, to compare
                    rtmidi = replace(live, conditions=("quiet",), jack_output="rtmidi", jack_input="rtmidi")
                    report["live_rtmidi"] = _guard(
                        "live_rtmidi", errors, lambda: measure_live(model_path, rtmidi, pitches, _log, jack.xruns)
                    )
            if "startup" in wanted:
                from cocomposer.bench.startup import measure_panel, measure_startup

                _log(f"start-up: {config.startup_runs} x `cocomposer run --api jack`, then the panel")
                report["startup"] = _guard("startup", errors, lambda: measure_startup(model_path, config.startup_runs))
                report["panel"] = _guard("panel", errors, lambda: measure_panel(model_path))
    except Exception as err:  # no JACK here: say why in the table; the model numbers still stand
        for section in wanted:
            errors.setdefault(section, f"{type(err).__name__}: {err}")


def _guard(name: str, errors: dict, run):
    try:
        return run()
    except Exception as err:  # one section failing must not hide the numbers of the others
        errors[name] = f"{type(err).__name__}: {err}"
        return None


def phrase_pitches(phrase) -> list[int]:
    return [n.pitch for n in sorted(phrase)]


# -- the table ------------------------------------------------------------------------------------------------------


def step_rows(step: dict, config: BenchConfig) -> list[Row]:
    onnx = step["onnxruntime"]
    per = onnx["per_event_ms"]
    checkpoints = " / ".join(f"{int(c):,}" for c in onnx["at_event_ms"])
    rows = [
        Row(f"Model step: feed one note message, sample until one note event ({onnx['about']})"),
        Row("per event: median / p99 / max", fmt_summary(per), STEP_P99.text(), STEP_P99.verdict(per["p99"])),
        Row("tokens per event, mean (events cut at 64 samples)",
            f"{fmt(onnx['tokens_per_event_mean'])} ({onnx['capped_events']})"),
    ]  # fmt: skip
    if onnx["at_event_ms"]:
        values = " / ".join(fmt(v) for v in onnx["at_event_ms"].values()) + " ms"
        rows.insert(2, Row(f"at event {checkpoints} of one session (median of {onnx['window']})", values))
        per_token = onnx.get("at_event_ms_per_token", {})
        if per_token:
            tokens = " / ".join(fmt(v) for v in per_token.values()) + " ms"
            rows.insert(3, Row("  the same, per model token (cost of one step of the model)", tokens))
    if split := onnx.get("per_token"):
        alone, both = split["step_ms"], split["step_plus_sampling_ms"]
        over = split["sampling_over_step_median"]
        rows += [
            Row("per model token: ONNX step alone / step plus sampling: median, p99",
                f"{fmt(alone['median'])}, {fmt(alone['p99'])} / {fmt(both['median'])}, {fmt(both['p99'])} ms"),
            Row("  sampling / step: median (target), p99", f"{fmt(over)}x, {fmt(split['sampling_over_step_p99'])}x",
                "<= 1x", SAMPLING_OVER_STEP.verdict(over)),
        ]  # fmt: skip
    if "onnxruntime_mimic" in step:
        m = step["onnxruntime_mimic"]
        rows += [
            Row(f"with the player model ({m['about']}): median / p99 / max", fmt_summary(m["per_event_ms"])),
            Row("  mimic / mimic 0, timed in lockstep: median, p99 (target p99 <= 1.5x)",
                f"{fmt(m['ratio_median'])}x, {fmt(m['ratio_p99'])}x", "<= 1.5x",
                "pass" if m["ratio_p99"] <= 1.5 else "MISS"),
        ]  # fmt: skip
    for name, label in (("pytorch", "PyTorch eager"), ("markov", "Markov anchor (Continuator-style)")):
        entry = step.get(name, {"skipped": "not run"})
        if "skipped" in entry:
            rows.append(Row(f"{label}: skipped", entry["skipped"][:100]))
            continue
        rows += [
            Row(f"{label}, same events: median / p99 / max", fmt_summary(entry["per_event_ms"])),
            Row(f"{label} / onnxruntime: median, p99",
                f"{fmt(entry['ratio_median'])}x, {fmt(entry['ratio_p99'])}x"),
        ]  # fmt: skip
    from cocomposer.bench.notochord import notochord_rows

    return rows + notochord_rows(step)


def live_rows(live: dict, config: BenchConfig, jack: str) -> list[Row]:
    s = live["settings"]
    if config.mode == "full":
        count = f"phrases until {config.phrases} answers began at once"
    else:
        count = f"{config.phrases} phrases each (quick mode; --full: until {FULL.phrases} answers began at once)"
    output = {"frames": "each note at its frame (JACK-Client)", "rtmidi": "notes sent through python-rtmidi"}
    heard = {"frames": "input read by period (JACK-Client)", "rtmidi": "input polled from python-rtmidi"}
    how = f"{output.get(s.get('jack_output', 'rtmidi'), '')}, {heard.get(s.get('jack_input', 'rtmidi'), '')}"
    rows = [Row(f"End to end through {jack}: call-and-response, quantize off, {fmt(s['bpm'])} BPM, {count}; {how}")]
    headings = {"quiet": "quiet input", "flood": "input flooded by a second client (clock, active sensing, CCs)"}
    for condition in ("quiet", "flood"):
        if condition not in live:
            continue
        r = live[condition]
        first, ahead, every = r["phrase_end_to_first_note_ms"], r["arrival_error_ahead_ms"], r["arrival_error_all_ms"]
        rate = f", {fmt(r['flood_rate_achieved'])} msg/s" if "flood_rate_achieved" in r else ""
        rows += [
            Row(f" {headings[condition]}{rate}"),
            Row("phrase end -> first answer note: median / p99 / max", fmt_summary(first),
                FIRST_NOTE_P99[condition].text(), FIRST_NOTE_P99[condition].verdict(first["p99"])),
            Row("  of it planned: answer start - phrase end, median",
                fmt(r["phrase_end_to_answer_start_ms"]["median"]) + " ms"),
            Row("  first note ready (handed to the scheduler)", fmt_summary(r["phrase_end_to_first_note_ready_ms"])),
            Row("arrival error (arrival - scheduled time)", fmt_summary(ahead), ARRIVAL_P99.text(),
                ARRIVAL_P99.verdict(ahead["p99"])),
            Row("  of it in the engine (sent - scheduled time)", fmt_summary(r["send_error_ahead_ms"])),
        ]  # fmt: skip
        if every.get("n") != ahead.get("n"):
            rows.append(Row("arrival error incl. notes handed over late", fmt_summary(every)))
        for name, seen in r.get("other_listeners", {}).items():
            rows.append(Row(f"  seen by the {name}: first note; arrival error",
                            f"{fmt_summary(seen['phrase_end_to_first_note_ms'])}; "
                            f"{fmt_summary(seen['arrival_error_ahead_ms'])}"))  # fmt: skip
        rows += [
            Row("answers: first note at once / after a rest / no notes / none",
                f"{r['immediate_starts']} / {r['began_with_rest']} / {r['silent_answers']} / "
                f"{r['phrases'] - r['answered']} of {r['phrases']}"),
            Row("answer notes sent / arrived / dropped late", f"{r['notes_sent']} / {r['notes_arrived']} / "
                f"{r['late_dropped']}"),
            Row("first notes played by the reflex (fired / claimed by the answer)",
                f"{r['reflex_fired']} / {r['reflex_claimed']}" if "reflex_fired" in r else "none (python-rtmidi)"),
            Row("JACK xruns; player messages the engine missed", f"{fmt(r['jack_xruns'])}; {r['input_unheard']}"),
        ]  # fmt: skip
    return rows


def build_rows(report: dict, config: BenchConfig) -> list[Row]:
    rows: list[Row] = []
    if report.get("step"):
        rows += step_rows(report["step"], config)
    for section in ("live", "live_rtmidi"):
        if report.get(section):
            rows += live_rows(report[section], config, report.get("jack", "JACK"))
    if report.get("startup") or report.get("panel"):
        from cocomposer.bench.startup import startup_rows

        rows += startup_rows(report.get("startup"), report.get("panel"))
    if report.get("errors"):
        rows.append(Row("Sections that could not run"))
        rows += [Row(section, message[:160], "", "n/a") for section, message in report["errors"].items()]
    return rows


def targets(report: dict) -> list[dict]:
    """Each target with the value it was judged on (None where not measured)."""

    def get(*path):
        node = report
        for key in path:
            node = node.get(key) if isinstance(node, dict) else None
            if node is None:
                return None
        return node

    judged = [(STEP_P99, get("step", "onnxruntime", "per_event_ms", "p99"))]
    judged.append((SAMPLING_OVER_STEP, get("step", "onnxruntime", "per_token", "sampling_over_step_median")))
    for condition in ("quiet", "flood"):
        judged += [
            (FIRST_NOTE_P99[condition], get("live", condition, "phrase_end_to_first_note_ms", "p99")),
            (ARRIVAL_P99, get("live", condition, "arrival_error_ahead_ms", "p99")),
        ]
    judged += [(READY, get("startup", "ready_median_s")), (RSS_HEADLESS, get("startup", "rss_median_mb"))]
    from cocomposer.bench.notochord import notochord_target  # at least 30x, not at most: shaped by hand

    at_most = [{**asdict(t), "value": v, "verdict": t.verdict(v)} for t, v in judged]
    return [*at_most, notochord_target(report.get("step"))]


# -- entry points ---------------------------------------------------------------------------------------------------


def run_bench(args: argparse.Namespace) -> int:
    from cocomposer.model.runtime import OnnxModel
    from cocomposer.music.phrases import demo_phrase

    config = config_from_args(args)
    started = time.perf_counter()
    facts = machine_facts()
    for line in machine_lines(facts):
        _log(line)
    load_started = time.perf_counter()
    model = OnnxModel.load(args.model)
    load_s = time.perf_counter() - load_started
    phrase = demo_phrase()
    report: dict = {
        "cocomposer": __version__,
        "mode": config.mode,
        "config": asdict(config),
        "started": time.strftime("%Y-%m-%d %H:%M:%S"),
        "machine": facts,
        "model": {**describe_model(model), "load_s": load_s},
    }
    errors: dict[str, str] = {}
    if "step" in config.sections:
        checkpoint = getattr(args, "checkpoint", None)
        report["step"] = _guard("step", errors, lambda: bench_step(model, config, phrase, checkpoint))
    bench_jack_sections(args.model, config, phrase, report, errors)
    report["errors"] = errors
    report["targets"] = targets(report)
    report["seconds"] = time.perf_counter() - started
    m = report["model"]
    title = "\n".join(
        [
            f"cocomposer {__version__} bench ({config.mode}), {report['started']}, {fmt(report['seconds'])} s",
            *machine_lines(facts),
            f"model: {m['path']}: {m['shape']}, {m['training_steps']} training steps, loads in {fmt(load_s)} s"
            + (" (a smoke-test model: a trained one will give other numbers)" if m["smoke_test_model"] else ""),
            "",
        ]
    )
    table = format_table(build_rows(report, config), title)
    report["table"] = table
    print(table)
    output = Path(args.output)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(report, indent=2, default=str) + "\n")
    print(f"\nwrote {output}")
    return 1 if errors else 0


def build_parser() -> argparse.ArgumentParser:
    parser = CommandParser(
        prog="python -m cocomposer.bench.runner", description=__doc__.splitlines()[0], formatter_class=HelpFormatter
    )
    parser.add_argument("--full", action="store_true", help="longer runs (several minutes)")
    parser.add_argument("-o", "--output", type=Path, default=Path("bench.json"), help="where to write the JSON")
    parser.add_argument("--model", type=Path, help="the ONNX model (default: the shipped one)")
    parser.add_argument("--checkpoint", type=Path, help="PyTorch checkpoint of the model (default: found)")
    parser.add_argument("--phrases", type=int, help="phrases per end-to-end condition (default: by --full)")
    parser.add_argument("--steps", type=int, help="events in the step statistics (default: by --full)")
    parser.add_argument("--only", help=f"comma-separated sections: {', '.join(SECTIONS)} (default: all)")
    return parser


def main(argv: list[str] | None = None) -> int:
    return run_bench(build_parser().parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
