"""Notochord's per-event step: the speed anchor of the model-step bench, timed in the same run as ours (issue 13).

Notochord (``pip install notochord``; Shepardson et al., NIME 2022) is the nearest published real-time MIDI model: a
GRU over (instrument, pitch, time, velocity) events, stepped one event at a time through ``feed`` and ``query``. One
timed **event** is what its own apps do for each note the player plays (``notochord/app/simple_harmonizer.py``, and
``Notochord.feed_query_feed``):

1. ``feed(piano, pitch, seconds since the previous player message, velocity)``: the player's message (velocity 0 for
   a note-off);
2. ``query(next_inst=piano)``: sample the next event, the instrument fixed, pitch, time and velocity drawn by the model;
3. ``feed`` that answer back, so the next query hears it.

That is our event in kind: ours feeds the 1-2 tokens of one player message, then samples tokens and feeds each back
until the model has produced one note event. One ``query`` gives Notochord one note event whole (its time is a
continuous value, not shift tokens), so both sides do all the work of one note, and nothing else, per event.

The model is ``Notochord()``: its default hyperparameters (embeddings 512, a 2-layer GRU of 1024, 2-layer heads, about
18M parameters) and random weights (``torch.manual_seed``); no checkpoint is downloaded. A step costs the same whatever
the weights: the same operations on tensors of the same shapes. Torch runs on one thread, as onnxruntime runs ours;
``feed`` and ``query`` take ``torch.inference_mode`` themselves. The player's messages are the ONNX session's
(:class:`EventScript`, beats turned into seconds at 120 BPM); Notochord's answers are its own.

Optional: without the package the bench says "not installed" and goes on (setup: benchmarks/README.md). torch and
notochord are imported inside the functions only.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from cocomposer.bench.model import WARMUP_EVENTS, EventScript, StepResult
from cocomposer.bench.report import Row, fmt, fmt_summary
from cocomposer.console.progress import Progress

LABEL = "Notochord default model (random weights)"
NOT_INSTALLED = "not installed (see benchmarks/README.md)"
SPEEDUP_AT_LEAST = 30.0  # issue 13: our event at least 30x cheaper than Notochord's, median and p99
PIANO = 1  # General MIDI acoustic grand piano, in Notochord's instrument numbering (1-128)
PLAYER_VELOCITY = 80
SECONDS_PER_BEAT = 0.5  # 120 BPM


def unavailable() -> str:
    """Why the Notochord anchor cannot run here, or "" when it can."""
    try:
        import notochord  # noqa: F401
    except ModuleNotFoundError as err:
        if err.name == "notochord":
            return NOT_INSTALLED
        return f"notochord is not importable ({err}); see benchmarks/README.md"
    except ImportError as err:
        return f"notochord is not importable ({err}); see benchmarks/README.md"
    return ""


def run_notochord(
    noto, script: EventScript, n_events: int, now_ns: Callable[[], int] = time.perf_counter_ns,
    progress: Progress | None = None,
) -> list[float]:  # fmt: skip
    """Seconds of each of the first ``n_events`` events of ``script`` on ``noto``, from a fresh state."""
    noto.reset()
    seconds: list[float] = []
    previous = 0.0
    for kind, pitch, beat in script.inputs[:n_events]:
        gap = min(max(beat - previous, 0.0) * SECONDS_PER_BEAT, noto.max_dt)
        previous = beat
        started = now_ns()
        noto.feed(PIANO, pitch, gap, PLAYER_VELOCITY if kind == "on" else 0)
        answer = noto.query(next_inst=PIANO)
        noto.feed(answer["inst"], answer["pitch"], answer["time"], answer["vel"])
        seconds.append((now_ns() - started) / 1e9)
        if progress is not None:  # outside the timed span
            progress.advance()
    return seconds


def measure_notochord(
    script: EventScript, n_events: int, seed: int = 0, progress: Progress | None = None
) -> StepResult:
    """A warm-up, then the timed events: the first ``n_events`` player messages of ``script`` (see the module)."""
    import notochord
    import torch

    n_events = min(n_events, len(script.inputs))
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        torch.manual_seed(seed)
        noto = notochord.Notochord().eval()
        run_notochord(noto, script, min(WARMUP_EVENTS, n_events))
        seconds = run_notochord(noto, script, n_events, progress=progress)
    finally:
        torch.set_num_threads(threads)
    parameters = sum(p.numel() for p in noto.parameters())
    version = getattr(notochord, "__version__", None) or _version("notochord")
    about = (
        f"Notochord {version} default hyperparameters ({parameters / 1e6:.1f}M parameters), random weights, "
        f"PyTorch {torch.__version__}, 1 thread: feed the player's message, query(next_inst={PIANO}), feed the answer"
    )
    # "tokens": the events fed to Notochord per timed event (the player's and its answer).
    return StepResult("notochord", seconds, [2] * len(seconds), 0, about)


def _version(package: str) -> str:
    from importlib import metadata

    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "?"


def speedup_verdict(entry: dict) -> str:
    """pass when onnxruntime is at least 30x faster than Notochord in median and in p99."""
    values = [entry.get("ratio_median"), entry.get("ratio_p99")]
    if any(v is None or math.isnan(v) for v in values):
        return "n/a"
    return "pass" if min(values) >= SPEEDUP_AT_LEAST else "MISS"


def notochord_rows(step: dict) -> list[Row]:
    """The anchor's rows of the model-step table: its cost on the same events and our speed-up over it."""
    entry = step.get("notochord")
    target = f">= {fmt(SPEEDUP_AT_LEAST)}x"
    if entry is None:
        return []
    if "skipped" in entry:
        return [Row(LABEL, entry["skipped"][:100], target, "n/a")]
    return [
        Row(f"{LABEL}, same events: median / p99 / max", fmt_summary(entry["per_event_ms"])),
        Row("onnxruntime speed-up over Notochord: median, p99",
            f"{fmt(entry['ratio_median'])}x, {fmt(entry['ratio_p99'])}x", target, speedup_verdict(entry)),
    ]  # fmt: skip


def notochord_target(step: dict | None) -> dict:
    """The speed-up target for the JSON, shaped like the others; its value is the smaller of median and p99."""
    entry = (step or {}).get("notochord") or {}
    verdict = speedup_verdict(entry)
    value = None if verdict == "n/a" else min(entry["ratio_median"], entry["ratio_p99"])
    return {"name": "onnxruntime speed-up over Notochord (median and p99)", "limit": SPEEDUP_AT_LEAST,
            "unit": "x, at least", "value": value, "verdict": verdict}  # fmt: skip
