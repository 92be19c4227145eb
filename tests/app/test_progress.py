"""The progress helper every long command uses: a bar with an estimate on a terminal, plain lines elsewhere."""

from __future__ import annotations

import io

from cocomposer.console.progress import Progress, track


class FakeClock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_plain_lines_come_every_so_often_with_an_estimate() -> None:
    clock, out = FakeClock(), io.StringIO()
    with Progress(100, "parsing corpus", "files", stream=out, every=10, now=clock) as progress:
        for _ in range(100):
            clock.t += 1.0  # one second a file
            progress.advance()
    lines = out.getvalue().splitlines()
    assert "\r" not in out.getvalue() and "[" not in out.getvalue(), "no bar where there is no terminal"
    assert len(lines) == 11, lines  # every 10 s of 100 s, and the end
    assert lines[0] == "parsing corpus: 10/100 files (10%), 0:10 so far, about 1:30 left", lines[0]
    assert lines[-1] == "parsing corpus: 100/100 files (100%) in 1:40", lines[-1]


def test_a_terminal_gets_one_redrawn_bar() -> None:
    clock, out = FakeClock(), Terminal()
    with Progress(4, "training", "steps", stream=out, redraw=0, now=clock) as progress:
        for _ in range(2):
            clock.t += 30
            progress.advance()
        progress.write("12:00:00 step 2 loss 3.1")
    text = out.getvalue()
    assert "\r\x1b[2K[############............] training: 2/4 steps (50%), 1:00 so far, about 1:00 left" in text
    assert "\r\x1b[2K12:00:00 step 2 loss 3.1\n" in text, "a log line clears the bar, then the bar comes back"
    assert text.endswith("training: 2/4 steps (50%) in 1:00\n"), text
    assert text.count("\n") == 2


def test_a_time_budget_caps_the_estimate_and_a_resumed_run_counts_from_its_step() -> None:
    clock, out = FakeClock(), io.StringIO()
    progress = Progress(None, "training", "steps", stream=out, every=60, now=clock)
    progress.begin(1000, done=400, budget=120.0)
    clock.t += 60
    progress.advance(10)  # 10 steps a minute: 59 minutes at this pace, but 1 minute of budget is left
    assert progress.left() == 60.0
    assert "410/1,000 steps (41%), 1:00 so far, about 1:00 left" in out.getvalue()


def test_track_passes_every_item_through() -> None:
    out = io.StringIO()
    assert list(track(["a", "b", "c"], "items", stream=out)) == ["a", "b", "c"]
    assert out.getvalue().endswith("items: 3/3 (100%) in 0:00\n")


def test_the_musical_benchmark_reports_progress_off_a_terminal(tmp_path) -> None:
    import re
    import subprocess
    import sys

    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "cocomposer.app.cli",
            "eval",
            "--musical",
            "--seeds",
            "1",
            "-o",
            str(tmp_path / "m.json"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 0, result.stderr
    assert re.search(r"^musical benchmark: (\d+)/\1 answers \(100%\) in \d+:\d\d$", result.stderr, re.M), result.stderr
    assert "\r" not in result.stderr
