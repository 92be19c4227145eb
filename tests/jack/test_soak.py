"""Two minutes of the soak (`cocomposer bench --soak`): `cocomposer run --mode accompany` under a player client,
memory and threads sampled; it must stop cleanly with nothing left sounding. The hour-long run is in the README."""

from __future__ import annotations

import pytest

from cocomposer.bench.soak import run_soak

pytestmark = pytest.mark.jack


def test_two_minutes_of_accompany_under_a_player(jack_server) -> None:
    report = run_soak(2.0, sample_seconds=10)
    print({key: value for key, value in report.items() if key != "samples"})
    assert report["exit_status"] == 0 and not report["traceback"]
    assert report["sounding_at_end"] == [], "every note cocomposer played is closed after SIGINT"
    assert report["answer_note_ons_heard"] > 0.2 * report["player_notes"], "it accompanied the whole time"
    low, high = report["threads_min_max"]
    assert high - low <= 2, f"threads stay put: {report['samples']}"
