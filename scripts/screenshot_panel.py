"""Take docs/panel.png: the stage panel after a short session, with notes in the piano roll.

Runs the real panel, engine and shipped model on in-process loopback ports, plays the bundled demo phrase
(cocomposer/data/demo_phrase.mid) into the input twice, likes the first answer, and grabs the window while the
second answer waits for the bar (its notes outlined before they sound). ``--more`` also unfolds "More settings" and
starts MIDI learn on the temperature slider (the instruction line). Needs a display; on a headless machine:

    xvfb-run -a -s "-screen 0 1280x900x24" python scripts/screenshot_panel.py [-o docs/panel.png] [--seed 3]
    xvfb-run -a -s "-screen 0 1280x1024x24" python scripts/screenshot_panel.py --more -o docs/panel-more.png
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from cocomposer_panel.app import build_panel
from cocomposer_panel.loopback import LoopbackMidi
from cocomposer_panel.panel import Panel
from cocomposer_panel.phrase import PhrasePlayer
from PyQt6.QtWidgets import QApplication

from cocomposer.app.cli import build_parser, settings_from_args
from cocomposer.app.demo import demo_phrase

DEVICE = "Loopback keyboard"


def wait(app: QApplication, predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise SystemExit(f"screenshot: gave up waiting for {what} after {timeout:.0f} s")
        app.processEvents()
        time.sleep(0.01)


def play_phrase(app: QApplication, panel: Panel, midi: LoopbackMidi) -> None:
    bpm = panel.engine.clock.bpm
    player = PhrasePlayer(demo_phrase(), lambda message: midi.send(DEVICE, message), bpm).start()
    wait(app, player.done.is_set, 30, "the demo phrase to finish")


def answer_coming(app: QApplication, panel: Panel, midi: LoopbackMidi) -> bool:
    """Play the phrase; True once the answer's notes wait in the scheduler, False if none came."""
    play_phrase(app, panel, midi)
    give_up = time.monotonic() + 10
    wait(app, lambda: bool(panel.roll.refresh_upcoming()) or time.monotonic() > give_up, 15, "the answer")
    return bool(panel.roll.upcoming)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-o", "--output", type=Path, default=Path("docs/panel.png"))
    parser.add_argument("--seed", type=int, default=3, help="the engine's random seed")
    parser.add_argument("--more", action="store_true", help="unfold More settings and show MIDI learn")
    options = parser.parse_args(argv)
    app = QApplication(sys.argv[:1])
    midi = LoopbackMidi([DEVICE])
    with tempfile.TemporaryDirectory() as tmp, midi.installed():
        flags = ["ui", "--api", "loopback", "--in", DEVICE, "--out", DEVICE, "--seed", str(options.seed)]
        flags += ["--config", f"{tmp}/panel.toml", "--ratings", f"{tmp}/ratings.jsonl", "--quantize", "bar"]
        args = build_parser().parse_args(flags)
        panel = build_panel(args, settings_from_args(args))
        panel.resize(1260, 960 if options.more else 820)
        panel.show()
        if options.more:
            panel.more.unfold(True)
        try:
            play_phrase(app, panel, midi)
            wait(app, lambda: panel.roll.model.count("ai") >= 2, 30, "the first answer")
            wait(app, lambda: panel.badge.state == "listening", 30, "the first answer to end")
            panel.rate(True)
            for _ in range(3):  # an answer may be silent: then the player plays the phrase again
                if answer_coming(app, panel, midi):
                    break
            wait(app, lambda: "first note -" not in panel.latency_label.text(), 5, "the latency readout")
            if options.more:
                panel.start_learn("temperature")
            shown = time.monotonic() + 0.1  # deliver the hooks queued meanwhile (the state badge)
            wait(app, lambda: time.monotonic() > shown, 5, "the panel to catch up")
            options.output.parent.mkdir(parents=True, exist_ok=True)
            if not panel.grab().save(str(options.output)):
                raise SystemExit(f"screenshot: could not write {options.output}")
        finally:
            panel.shutdown()
    print(f"wrote {options.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
