"""The stage panel over real JACK ports: a second JACK client plays into "cocomposer in" and listens on "cocomposer
out"; the panel shows both sides in its piano roll, and its panic button closes every note at the listener."""

from __future__ import annotations

import os
import threading

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest

pytest.importorskip("PyQt6")
pytest.importorskip("pytestqt")
pytest.importorskip("tomli_w")

from cocomposer_panel.app import build_panel

from cocomposer.app.cli import build_parser, settings_from_args
from cocomposer.midi import ports
from tests.support.jack import unmatched

pytestmark = pytest.mark.jack
PHRASE = [60, 62, 64, 65, 67]
PROBE: ports.Message = (0xBF, 119, 0)  # a CC no setting is bound to, on channel 16
WAIT = 20_000  # ms


def test_the_panel_plays_over_jack_and_its_panic_closes_every_note(jack_server, qtbot, tmp_path) -> None:
    argv = ["ui", "--api", "jack", "--config", str(tmp_path / "panel.toml"), "--ratings", str(tmp_path / "r.jsonl")]
    args = build_parser().parse_args([*argv, "--seed", "1", "--silence", "0.5", "--thru", "true"])
    panel = build_panel(args, settings_from_args(args), poll_seconds=0.1)
    qtbot.addWidget(panel)
    heard: list[tuple[float, ports.Message]] = []
    lock = threading.Lock()

    def arrive(t_ns: int, message: ports.Message) -> None:
        with lock:
            heard.append((t_ns / 1e9, message))

    def sounding() -> set[tuple[int, int]]:
        with lock:
            return unmatched(heard)

    player = listener = None
    try:
        assert panel.engine is not None, f"the panel opened its JACK ports: {panel.host.faults}"
        engine_in = jack_server.wait_for_port(":cocomposer in")
        engine_out = jack_server.wait_for_port(":cocomposer out")
        player = ports.open_output(engine_in, "jack", virtual_name="player", client_name="ui-test")
        listener = ports.open_input(engine_out, "jack", virtual_name="listener", client_name="ui-test")
        listener.start(arrive)
        engine = panel.engine
        for _ in range(200):  # a JACK connection takes a cycle or more to carry: probe both ways before playing
            with lock:
                routed = engine.stats.received > 0 and any(m == PROBE for _, m in heard)
            if routed:
                break
            player.send(PROBE)
            engine.scheduler.send_now(PROBE)
            qtbot.wait(25)
        assert routed, "the test client and the panel's ports were connected within 5 s"
        for pitch in PHRASE:
            player.send((0x90, pitch, 90))
            qtbot.wait(60)
            player.send((0x80, pitch, 0))
            qtbot.wait(40)
        qtbot.waitUntil(lambda: panel.roll.model.count("player") == len(PHRASE), timeout=10_000)
        qtbot.waitUntil(lambda: panel.roll.model.count("ai") >= 1, timeout=WAIT)
        out_channel = panel.engine.settings.out_channel - 1
        with lock:
            answer = [m for _, m in heard if ports.is_note_on(m) and ports.channel_of(m) == out_channel]
        assert answer, "the answer reached a JACK client"
        player.send((0x90, 48, 100))  # thru: cocomposer now holds the player's note open on its output
        qtbot.waitUntil(lambda: (0, 48) in sounding(), timeout=5000)
        panel.panic_button.click()
        qtbot.waitUntil(lambda: not sounding(), timeout=5000)
        assert not panel.engine.sounding()
    finally:
        for port in (player, listener):
            if port is not None:
                port.close()
        panel.shutdown()
