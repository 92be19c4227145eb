"""The benchmark's pure parts (statistics, pairing, the table), a tiny model-step run, and a JACK smoke run.

No test asserts a timing: machines here are noisy. They check that the bench measures what it says it measures.
"""

from __future__ import annotations

import argparse
import json
import math

import numpy as np
import pytest

from cocomposer.app.demo import demo_phrase
from cocomposer.bench import model as bench_model
from cocomposer.bench import runner as bench
from cocomposer.bench.live import LiveConfig, analyse, measure_live
from cocomposer.bench.report import STEP_P99, Row, Target, fmt, fmt_summary, format_table, machine_facts
from cocomposer.bench.stats import Summary, median, percentile, ratio, token_split, window_median
from cocomposer.engine.scheduler import ScheduledNote
from cocomposer.model.runtime import OnnxModel
from cocomposer.music import codec

# -- statistics -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("q", [0, 1, 25, 50, 90, 99, 100])
def test_percentile_agrees_with_numpy(q: float) -> None:
    values = list(np.random.default_rng(3).exponential(size=257))
    assert percentile(values, q) == pytest.approx(float(np.percentile(values, q)))


def test_percentile_of_nothing_is_nan_and_bad_q_is_refused() -> None:
    assert math.isnan(percentile([], 50))
    with pytest.raises(ValueError):
        percentile([1.0], 101)


def test_summary_and_its_units() -> None:
    s = Summary.of([0.004, 0.001, 0.002, 0.003])
    assert (s.n, s.median, s.max, s.min) == (4, pytest.approx(0.0025), 0.004, 0.001)
    ms = s.scaled(1e3)
    assert ms.median == pytest.approx(2.5) and ms.max == pytest.approx(4.0)
    empty = Summary.of([]).to_dict()
    assert empty == {"n": 0, "median": None, "p99": None, "max": None, "min": None}


def test_window_median_is_local_and_clipped() -> None:
    values = [1.0] * 100 + [5.0] * 100
    assert window_median(values, 20, 10) == 1.0
    assert window_median(values, 180, 10) == 5.0
    assert window_median(values, 0, 3) == 1.0  # clipped at the start
    assert math.isnan(window_median(values, 200, 3))  # beyond the session


def test_ratio_guards_missing_values() -> None:
    assert ratio(3.0, 1.5) == 2.0
    assert math.isnan(ratio(1.0, 0.0)) and math.isnan(ratio(math.nan, 1.0))
    assert median([3, 1, 2]) == 2


# -- the table ------------------------------------------------------------------------------------------------------


def test_target_verdicts() -> None:
    target = Target("x", 2.0, "ms")
    assert (target.verdict(1.9), target.verdict(2.0), target.verdict(2.1)) == ("pass", "pass", "MISS")
    assert target.verdict(None) == "n/a" and target.verdict(math.nan) == "n/a"
    assert target.text() == "<= 2 ms"


def test_numbers_are_short() -> None:
    assert fmt(0.061234) == "0.0612"
    assert fmt(12.0) == "12"
    assert fmt(1234.5) == "1,234"  # three significant figures, thousands grouped
    assert fmt(None) == "n/a" and fmt(math.nan) == "n/a"
    assert fmt_summary({"n": 5000, "median": 0.5, "p99": 1.25, "max": 3.0}) == "0.5 / 1.25 / 3 ms (n=5,000)"
    assert fmt_summary({"n": 0}) == "n/a (no samples)"


def test_table_aligns_columns_under_headings() -> None:
    rows = [Row("Section A"), Row("short", "1 ms", "<= 2 ms", "pass"), Row("a longer label", "10 ms", "", "MISS")]
    lines = format_table(rows, title="title").splitlines()
    assert lines[0] == "title" and lines[1].startswith("measure")
    assert "Section A" in lines[3] and not lines[3].startswith(" ")
    value_column = {line.index(v) for line, v in ((lines[4], "1 ms"), (lines[5], "10 ms"))}
    assert len(value_column) == 1, "values start in one column"
    assert lines[4].endswith("pass") and lines[5].endswith("MISS")


def test_machine_facts_name_the_cpu_and_versions() -> None:
    facts = machine_facts()
    assert facts["cores"] >= 1 and facts["cpu"]
    assert facts["python"].count(".") == 2 and facts["onnxruntime"] != "not installed"


def _step_report(p99: float) -> dict:
    summary = {"n": 10, "median": 0.5, "p99": p99, "max": 2.0, "min": 0.1}
    return {
        "onnxruntime": {
            "about": "onnxruntime",
            "per_event_ms": summary,
            "at_event_ms": {"100": 0.5},
            "window": 101,
            "tokens_per_event_mean": 2.5,
            "capped_events": 0,
        },
        "pytorch": {"skipped": "torch is not importable"},
        "markov": {"about": "m", "per_event_ms": summary, "ratio_median": 2.0, "ratio_p99": 3.0},
    }


def test_rows_and_targets_judge_the_step_p99() -> None:
    for p99, verdict in ((1.0, "pass"), (2.0, "MISS")):
        report = {"step": _step_report(p99), "errors": {"live": "JackStartError: jackd is not installed"}}
        table = format_table(bench.build_rows(report, bench.QUICK))
        step_line = next(line for line in table.splitlines() if "per event" in line)
        assert step_line.endswith(verdict) and STEP_P99.text() in step_line
        assert "torch is not importable" in table and "jackd is not installed" in table
        judged = {t["name"]: t for t in bench.targets(report)}
        assert judged["model step p99"]["verdict"] == verdict
        assert judged["start-up to ready (median)"]["verdict"] == "n/a"


def test_sampling_is_judged_against_the_step_it_follows() -> None:
    with pytest.raises(ValueError):
        token_split([1e-4, 1e-4], [5e-5])
    for sampling, verdict in ((5e-5, "pass"), (2e-4, "MISS")):
        split = token_split([1e-4, 1e-4, 3e-4], [sampling] * 3)
        assert split["step_ms"]["median"] == pytest.approx(0.1)
        assert split["step_plus_sampling_ms"]["median"] == pytest.approx(0.1 + sampling * 1e3)
        report = {"step": _step_report(1.0)}
        report["step"]["onnxruntime"]["per_token"] = split
        table = format_table(bench.build_rows(report, bench.QUICK))
        line = next(line for line in table.splitlines() if "sampling / step" in line)
        assert line.endswith(verdict) and f"{split['sampling_over_step_median']:.3g}x" in line
        judged = {t["name"]: t for t in bench.targets(report)}
        assert judged["sampling / model step per token (median)"]["verdict"] == verdict


def test_config_from_args() -> None:
    args = argparse.Namespace(full=False, phrases=7, steps=500, only="step,live")
    config = bench.config_from_args(args)
    assert (config.phrases, config.steps, config.checkpoints, config.sections) == (7, 500, (100,), ("step", "live"))
    assert config.session_events == 500
    short = bench.config_from_args(argparse.Namespace(steps=120))
    assert short.session_events == 151  # the window around event 100 needs the 50 events after it
    assert bench.config_from_args(argparse.Namespace(full=True)).phrases >= 200
    with pytest.raises(ValueError):
        bench.config_from_args(argparse.Namespace(only="nope"))


# -- the model step -------------------------------------------------------------------------------------------------


def test_player_messages_loop_the_phrase_forward_in_time() -> None:
    phrase = demo_phrase()
    messages = bench_model.player_messages(phrase)
    first = [next(messages) for _ in range(4 * len(phrase))]
    assert all(gap >= 0 for _, _, gap in first)
    assert [k for k, _, _ in first].count("on") == [k for k, _, _ in first].count("off") == 2 * len(phrase)


def test_each_event_feeds_a_message_and_samples_one_note_event() -> None:
    model = OnnxModel.load()
    result, script = bench_model.run_events(
        bench_model.OnnxStepper(model), 40, messages=bench_model.player_messages(demo_phrase())
    )
    assert len(result.seconds) == len(result.tokens) == len(script.inputs) == 40
    for sampled in script.sampled:
        notes = [t for t in sampled if codec.is_on(t) or codec.is_off(t)]
        assert (len(notes) == 1 and sampled[-1] == notes[0]) or len(sampled) == bench_model.MAX_SAMPLES_PER_EVENT
    assert model.steps == sum(result.tokens), "every token fed and sampled went through the model once"
    # A replay does the same work: the same tokens per event.
    replayed, same = bench_model.run_events(bench_model.OnnxStepper(model), 40, script=script)
    assert same is script and replayed.tokens == result.tokens


class _Uniform:
    """A stepper with flat logits that records what it was fed."""

    def __init__(self) -> None:
        self.fed: list[int] = []

    def reset(self) -> None:
        self.fed = []

    def step(self, token: int) -> None:
        self.fed.append(token)

    def logits(self) -> np.ndarray:
        return np.zeros(codec.VOCAB_SIZE, dtype=np.float32)


def test_replay_feeds_the_recorded_tokens_to_another_model() -> None:
    _, script = bench_model.run_events(_Uniform(), 30, messages=bench_model.player_messages(demo_phrase()), seed=4)
    other = _Uniform()
    bench_model.run_events(other, 30, script=script, seed=99)
    assert other.fed == script.tokens()


def test_markov_anchor_runs_on_the_same_events() -> None:
    model = OnnxModel.load()
    phrase = demo_phrase()
    onnx, script = bench_model.measure_onnx(model, phrase, 30)
    markov = bench_model.measure_markov(script, phrase, 30, order=3)
    assert markov.tokens == onnx.tokens and "order 3" in markov.about


def test_step_section_reports_every_model(tmp_path, capsys: pytest.CaptureFixture[str]) -> None:
    args = argparse.Namespace(full=False, output=tmp_path / "bench.json", model=None, steps=30, only="step")
    assert bench.run_bench(args) == 0
    shown = capsys.readouterr().err
    lockstep = "model step: mimic 0 / 0.5 in lockstep: 30/30 events (100%) in"
    assert lockstep in shown, "progress on stderr, plain lines off a terminal"
    report = json.loads((tmp_path / "bench.json").read_text())
    assert report["step"]["onnxruntime"]["per_event_ms"]["n"] == 30
    assert {"pytorch", "markov"} <= set(report["step"])
    assert report["machine"]["cpu"] and "Model step" in report["table"]


# -- pairing sent notes with arrivals (made-up times) ---------------------------------------------------------------


class _LinearClock:
    """120 BPM from t = 0: beat b sounds at b / 2 seconds."""

    def time_at(self, beat: float) -> float:
        return beat / 2

    def beat_at(self, t: float) -> float:
        return t * 2


def test_analyse_pairs_answers_with_their_phrase_ends() -> None:
    clock = _LinearClock()
    ms = 1_000_000
    # Phrase 1 ends at t = 10 s (CC sent); its answer starts at beat 20.05 (25 ms later) with a note at once and one
    # on the next beat. Phrase 2's answer opens with a rest: its first note is not a reaction time.
    phrases = [
        {"warmup": True, "cc_ns": 0, "requested": (0, 0.0)},
        {"warmup": False, "cc_ns": 10_000 * ms, "requested": (10_002 * ms, 20.05)},
        {"warmup": False, "cc_ns": 20_000 * ms, "requested": (20_002 * ms, 40.05)},
    ]
    notes = [ScheduledNote(20.05, 20.5, 60, 80, 0), ScheduledNote(21.05, 21.5, 62, 80, 0)]
    notes.append(ScheduledNote(40.25, 40.5, 64, 80, 0))
    handed = [(10_005 * ms, notes[0]), (10_006 * ms, notes[1]), (20_006 * ms, notes[2])]
    sent = [(10.0251, 60), (10.5251, 62), (20.1251, 64)]
    arrivals = [[10_026 * ms, [0x90, 60, 80]], [10_526 * ms, [0x90, 62, 80]], [20_126 * ms, [0x90, 64, 80]]]
    arrivals.insert(1, [10_100 * ms, [0x80, 60, 0]])  # note-offs are not counted
    r = analyse(phrases, arrivals, sent, handed, clock, 0.0, 0, 1.0)
    assert (r["phrases"], r["answered"], r["immediate_starts"], r["began_with_rest"]) == (2, 2, 1, 1)
    assert r["phrase_end_to_first_note_ms"]["n"] == 1
    assert r["phrase_end_to_first_note_ms"]["median"] == pytest.approx(26.0)
    assert r["phrase_end_to_answer_start_ms"]["median"] == pytest.approx(25.0)
    assert r["arrival_error_ahead_ms"]["n"] == 3 and r["arrival_error_ahead_ms"]["max"] == pytest.approx(1.0)
    assert r["notes_sent"] == r["notes_arrived"] == r["notes_matched"] == 3
    assert r["notes_lost"] == r["notes_unexpected"] == r["notes_unscheduled"] == 0


def test_a_note_lost_on_the_way_does_not_shift_the_pairing() -> None:
    clock = _LinearClock()
    ms = 1_000_000
    phrases = [{"warmup": False, "cc_ns": 10_000 * ms, "requested": (10_001 * ms, 20.05)}]
    notes = [ScheduledNote(20.05 + 0.25 * i, 20.2 + 0.25 * i, 60 + i, 80, 0) for i in range(3)]
    handed = [(10_002 * ms, n) for n in notes]
    sent = [(10.025 + 0.125 * i, 60 + i) for i in range(3)]
    arrivals = [[10_026 * ms, [0x90, 60, 80]], [10_276 * ms, [0x90, 62, 80]]]  # the second note never came
    r = analyse(phrases, arrivals, sent, handed, clock, 0.0, 0, 1.0)
    assert (r["notes_sent"], r["notes_matched"], r["notes_lost"], r["notes_unexpected"]) == (3, 2, 1, 0)
    assert r["arrival_error_ahead_ms"]["max"] == pytest.approx(1.0), "the third note pairs with its own arrival"


def test_a_note_held_up_by_a_stall_is_late_not_lost_and_unexpected() -> None:
    clock = _LinearClock()
    ms = 1_000_000
    phrases = [{"warmup": False, "cc_ns": 10_000 * ms, "requested": (10_001 * ms, 20.05)}]
    notes = [ScheduledNote(20.05 + 0.25 * i, 20.2 + 0.25 * i, 60 + i, 80, 0) for i in range(2)]
    handed = [(10_002 * ms, n) for n in notes]
    sent = [(10.025 + 0.125 * i, 60 + i) for i in range(2)]
    arrivals = [[10_026 * ms, [0x90, 60, 80]], [10_450 * ms, [0x90, 61, 80]]]  # 300 ms late: a JACK stall
    r = analyse(phrases, arrivals, sent, handed, clock, 0.0, 0, 1.0)
    assert (r["notes_matched"], r["notes_lost"], r["notes_unexpected"]) == (2, 0, 0)
    assert r["arrival_error_all_ms"]["max"] == pytest.approx(300.0), "the stall shows as a timing error"


def test_analyse_counts_a_note_handed_over_after_its_time_apart() -> None:
    clock = _LinearClock()
    ms = 1_000_000
    phrases = [{"warmup": False, "cc_ns": 10_000 * ms, "requested": (10_001 * ms, 20.0)}]
    handed = [(10_004 * ms, ScheduledNote(20.0, 20.5, 60, 80, 0))]  # due at 10.000 s, handed at 10.004 s
    r = analyse(phrases, [[10_006 * ms, [0x90, 60, 80]]], [(10.0045, 60)], handed, clock, 0.0, 0, 1.0)
    assert r["arrival_error_ahead_ms"]["n"] == 0
    assert r["arrival_error_all_ms"]["median"] == pytest.approx(6.0)


def test_a_timed_outputs_notes_count_as_ahead_only_when_handed_a_whole_lead_early() -> None:
    """With a 2 ms lead (a timed output's), a note handed 1 ms before its time is not judged as held ahead; one
    handed 3 ms before is. A note landing on its frame a few microseconds before its send time still pairs."""
    clock = _LinearClock()
    ms = 1_000_000
    phrases = [{"warmup": False, "cc_ns": 10_000 * ms, "requested": (10_001 * ms, 20.0)}]
    notes = [ScheduledNote(20.01, 20.5, 60, 80, 0), ScheduledNote(21.0, 21.2, 62, 80, 0)]
    handed = [(10_004 * ms, notes[0]), (10_497 * ms, notes[1])]  # due 10.005 s and 10.5 s
    sent = [(10.005, 60), (10.5, 62)]
    arrivals = [[10_006 * ms, [0x90, 60, 80]], [10_500 * ms - 5_000, [0x90, 62, 80]]]
    r = analyse(phrases, arrivals, sent, handed, clock, 0.0, 0, 1.0, lead_s=0.002)
    assert r["notes_matched"] == 2 and r["notes_lost"] == r["notes_unexpected"] == 0
    assert r["arrival_error_ahead_ms"]["n"] == 1 and r["arrival_error_ahead_ms"]["max"] == pytest.approx(-0.005)
    assert r["arrival_error_all_ms"]["n"] == 2
    assert analyse(phrases, arrivals, sent, handed, clock, 0.0, 0, 1.0)["arrival_error_ahead_ms"]["n"] == 2


# -- through JACK ---------------------------------------------------------------------------------------------------


@pytest.mark.jack
def test_end_to_end_bench_through_jack(jack_server) -> None:
    from cocomposer.bench.jack import jack_server as bench_jack_server

    config = LiveConfig(phrases=3, warmup=1)
    with bench_jack_server() as info:
        assert not info.started and info.name == jack_server.name, "the bench uses the server it is pointed at"
        result = measure_live(None, config, [60, 62, 64, 65, 67], log=lambda _: None)
    assert result["engine_errors"] == []
    for condition in ("quiet", "flood"):
        r = result[condition]
        # An overloaded machine can make JACK lose MIDI (xruns); the bench must then say so, not mis-measure.
        if r["input_unheard"] == 0:
            assert r["answered"] == r["phrases"] == 3, f"{condition}: unanswered phrase ends: {r['unanswered']}"
        assert r["answered"] >= 1
        assert r["notes_matched"] + r["notes_lost"] == r["notes_sent"] - r["notes_unscheduled"]
        assert r["notes_unscheduled"] == 0, f"{condition}: every note sent was one the generator scheduled"
        assert r["notes_unexpected"] == 0, f"{condition}: nothing arrives that the engine did not send"
        assert r["phrase_end_to_answer_start_ms"]["n"] == r["answered"]
        assert r["jack_xruns"] is None  # the fixture's server: the bench cannot read its log
        assert r["ahead_means_handed_ms_before"] > 1.0, "the engine's output is timed: notes land on their frame"
        for name, seen in r["other_listeners"].items():
            assert seen["notes_arrived"] == r["notes_arrived"], f"{condition}: the {name} heard what the frames one did"
    assert result["flood"]["flood_rate_achieved"] > 0


@pytest.mark.jack
def test_the_bench_starts_a_private_server_when_none_is_named(jack_server, monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    from cocomposer.bench.jack import jack_server as bench_jack_server
    from cocomposer.midi import ports

    monkeypatch.delenv("JACK_DEFAULT_SERVER")
    with bench_jack_server() as info:
        assert info.started and info.name.startswith("cocomposer-bench-") and info.name != jack_server.name
        assert os.environ["JACK_DEFAULT_SERVER"] == info.name and ports.jack_server_reachable()
        assert info.xruns() is not None
    assert "JACK_DEFAULT_SERVER" not in os.environ, "the environment is restored"


def test_memory_readings_and_the_panel_keeps_its_state_aside(tmp_path) -> None:
    import os

    from cocomposer.bench.startup import _panel_state_flags, memory_mb

    mine = memory_mb(os.getpid())
    assert mine["rss"] > 0 and mine["anon"] + mine["file"] + mine["shmem"] == pytest.approx(mine["rss"], rel=0.05)
    assert memory_mb(-1) == {}
    flags = _panel_state_flags(tmp_path)
    assert all(str(tmp_path) in f for f in flags[1::2]), "the panel writes its settings under the bench's folder"


def test_a_missing_jackd_is_a_clear_error_and_leaves_nothing_running(monkeypatch, tmp_path) -> None:
    from cocomposer.bench.jackd import PrivateJackd
    from cocomposer.errors import CocomposerError

    monkeypatch.setenv("PATH", str(tmp_path))  # no jackd, no jack_lsp here
    server = PrivateJackd("cocomposer-test-missing")
    with pytest.raises(CocomposerError, match=r"jackd is not installed \(apt install jackd2\)"):
        server.start(timeout=1)
    server.stop()  # harmless when nothing started
    assert not server.log.exists()
