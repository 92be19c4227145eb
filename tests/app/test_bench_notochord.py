"""The optional Notochord anchor of the model-step bench: it runs on the session's player messages when the package
is importable, and says "not installed" in the table and the JSON when it is not. No timing is asserted."""

from __future__ import annotations

import argparse
import json
import math
import sys

import numpy as np
import pytest

from cocomposer.app.demo import demo_phrase
from cocomposer.bench import model as bench_model
from cocomposer.bench import notochord as bench_notochord
from cocomposer.bench import runner as bench
from cocomposer.bench.stats import Summary
from cocomposer.music import codec


def _script(n: int) -> bench_model.EventScript:
    class Flat:  # a stepper with flat logits: the script needs messages, not a good model
        def reset(self) -> None: ...

        def step(self, token: int) -> None: ...

        def logits(self) -> np.ndarray:
            return np.zeros(codec.VOCAB_SIZE, dtype=np.float32)

    _, script = bench_model.run_events(Flat(), n, messages=bench_model.player_messages(demo_phrase()))
    return script


def _entry(result: bench_model.StepResult, reference_ms: float) -> dict:
    ms = [s * 1e3 for s in result.seconds]
    summary = Summary.of(ms)
    return {"about": result.about, "per_event_ms": summary.to_dict(),
            "ratio_median": summary.median / reference_ms, "ratio_p99": summary.p99 / reference_ms}  # fmt: skip


def test_notochord_times_one_feed_query_feed_per_player_message() -> None:
    pytest.importorskip("notochord")
    assert bench_notochord.unavailable() == ""
    import torch

    threads = torch.get_num_threads()
    script = _script(12)
    result = bench_notochord.measure_notochord(script, 12)
    assert torch.get_num_threads() == threads, "one thread while timed, the caller's count given back"
    assert result.name == "notochord" and len(result.seconds) == 12 and all(s > 0 for s in result.seconds)
    assert "default hyperparameters" in result.about and "random weights" in result.about
    assert result.tokens == [2] * 12, "the player's event and the answer, fed once each"
    step = {"notochord": _entry(result, reference_ms=0.01)}
    rows = bench_notochord.notochord_rows(step)
    assert len(rows) == 2 and rows[0].label.startswith("Notochord default model (random weights), same events")
    assert rows[1].target == ">= 30x" and rows[1].result in ("pass", "MISS")
    target = bench_notochord.notochord_target(step)
    assert target["verdict"] == rows[1].result and target["value"] == pytest.approx(
        min(step["notochord"]["ratio_median"], step["notochord"]["ratio_p99"])
    )


def test_a_missing_notochord_gives_a_clear_row_and_no_verdict(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "notochord", None)  # `import notochord` now fails as if not installed
    assert bench_notochord.unavailable() == "not installed (see benchmarks/README.md)"
    step = {"notochord": {"skipped": bench_notochord.unavailable()}}
    (row,) = bench_notochord.notochord_rows(step)
    assert (row.label, row.value, row.result) == (
        "Notochord default model (random weights)", "not installed (see benchmarks/README.md)", "n/a")  # fmt: skip
    assert bench_notochord.notochord_target(step)["verdict"] == "n/a"
    assert bench_notochord.notochord_rows({}) == [], "an older report without the anchor shows nothing"


@pytest.mark.parametrize(("median", "p99", "verdict"), [(40, 31, "pass"), (40, 29, "MISS"), (math.nan, 40, "n/a")])
def test_the_speedup_target_needs_both_median_and_p99(median: float, p99: float, verdict: str) -> None:
    assert bench_notochord.speedup_verdict({"ratio_median": median, "ratio_p99": p99}) == verdict


@pytest.mark.parametrize("installed", [True, False], ids=["notochord", "no-notochord"])
def test_the_step_section_reports_notochord_in_table_and_json(
    installed: bool, tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if installed:
        pytest.importorskip("notochord")
    else:
        monkeypatch.setitem(sys.modules, "notochord", None)
    args = argparse.Namespace(full=False, output=tmp_path / "bench.json", model=None, steps=30, only="step")
    assert bench.run_bench(args) == 0
    report = json.loads((tmp_path / "bench.json").read_text())
    entry = report["step"]["notochord"]
    judged = {t["name"]: t for t in report["targets"]}["onnxruntime speed-up over Notochord (median and p99)"]
    if installed:
        assert entry["per_event_ms"]["n"] == 30 and entry["onnxruntime_same_events_ms"]["n"] == 30
        assert entry["ratio_median"] > 0 and "random weights" in entry["about"]
        assert "onnxruntime speed-up over Notochord: median, p99" in report["table"]
        assert judged["verdict"] in ("pass", "MISS") and judged["limit"] == 30
    else:
        assert entry == {"skipped": "not installed (see benchmarks/README.md)"}
        line = next(x for x in report["table"].splitlines() if x.strip().startswith("Notochord default model"))
        assert "not installed (see benchmarks/README.md)" in line
        assert judged["verdict"] == "n/a" and judged["value"] is None
