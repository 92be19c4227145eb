"""How close to the DAW's grid do answers land when cocomposer follows MIDI clock? (`python benchmarks/sync_onsets.py`)

A private JACK server (dummy driver, 48 kHz, 64-frame periods); a client plays 24 ppqn MIDI clock at 90, 120 and 150
BPM and a phrase every two bars into "cocomposer in"; cocomposer (`--sync midi-clock --quantize bar`, 1-bar answers)
answers on "cocomposer out". Each answer note's arrival is read off the clock the client itself sent (tick k is beat
k/24 when it was sent) and compared with the beat the model placed it on. Prints median, p99 and max in
milliseconds and writes benchmarks/sync_onsets.json. The test suite asserts a generous bound on the same measure
(tests/jack/test_sync_jack.py); this script reports the real figures.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cocomposer.engine.settings import Settings  # noqa: E402
from tests.jack.test_sync_jack import ClockPlayer, Rig, onset_errors, play_phrase  # noqa: E402
from tests.support.jack import JackServer  # noqa: E402

PHRASES = int(os.environ.get("SYNC_PHRASES", "10"))


def run_tempo(server: JackServer, bpm: int) -> list[float]:
    settings = Settings(quantize="bar", bars=1.0, silence=0.5, low=48, high=84, style="folk", bpm=bpm)
    rig = Rig(server, f"bench{bpm}", settings)
    clock = ClockPlayer(rig.player, lambda beat: bpm)
    try:
        clock.start()
        for k in range(PHRASES):
            play_phrase(rig, clock, 8.0 * k + 0.0)  # beats 8k..8k+2; the answer fills bar 8k+4..8k+8
        time.sleep(max(0.0, clock.time_at(8.0 * PHRASES + 0.5) - time.perf_counter()))
        return [e * 60.0 / bpm * 1000.0 for e in onset_errors(rig, clock)]
    finally:
        clock.close()
        rig.close()


def main() -> int:
    server = JackServer(f"cocomposer-sync-bench-{os.getpid()}")
    server.start()
    os.environ["JACK_DEFAULT_SERVER"] = server.name
    os.environ["JACK_NO_START_SERVER"] = "1"
    results = {}
    try:
        for bpm in (90, 120, 150):
            errors = sorted(run_tempo(server, bpm))
            absolute = sorted(abs(e) for e in errors)
            results[str(bpm)] = {
                "notes": len(errors),
                "median_ms": statistics.median(errors),
                "abs_p99_ms": absolute[min(len(absolute) - 1, int(0.99 * len(absolute)))],
                "abs_max_ms": absolute[-1],
            }
    finally:
        server.stop()
    print(f"answer onsets against the DAW's clock grid ({PHRASES} phrases per tempo; error = arrival - intended)")
    print(f"{'BPM':>5} {'notes':>6} {'median ms':>10} {'|p99| ms':>9} {'|max| ms':>9} {'1/24 beat ms':>13}")
    for bpm, row in results.items():
        print(
            f"{bpm:>5} {row['notes']:>6} {row['median_ms']:>10.2f} {row['abs_p99_ms']:>9.2f} {row['abs_max_ms']:>9.2f} "
            f"{60000 / int(bpm) / 24:>13.1f}"
        )
    out = ROOT / "benchmarks" / "sync_onsets.json"
    out.write_text(json.dumps({"phrases_per_tempo": PHRASES, "tempi": results}, indent=2) + "\n")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
