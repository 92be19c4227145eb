"""The stage panel, driven through its real widgets against a real engine and the shipped model.

MIDI goes through in-process loopback ports (`cocomposer_panel.loopback.LoopbackMidi`, made of `cocomposer.midi.ports`
loopback pairs), installed in place of the rtmidi backend so the engine is still built by
`cocomposer.engine.factory.build_engine`.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import mido
import pytest

pytest.importorskip("PyQt6")
pytest.importorskip("pytestqt")
pytest.importorskip("tomli_w")

from cocomposer_panel import learn
from cocomposer_panel.app import build_panel
from cocomposer_panel.loopback import LoopbackMidi
from cocomposer_panel.panel import Panel
from PyQt6.QtCore import QPoint, Qt, QTimer
from PyQt6.QtWidgets import QApplication, QWidget

from cocomposer.app.cli import build_parser, settings_from_args
from cocomposer.engine.events import AnswerRequested
from cocomposer.midi import ports
from cocomposer.music import codec

KEYS, OTHER = "Test keys", "Other keys"
PHRASE = [60, 62, 64, 65, 67]
WAIT = 20_000  # ms: an answer needs the model, and the machine may be busy


@pytest.fixture
def midi() -> LoopbackMidi:
    system = LoopbackMidi([KEYS, OTHER])
    with system.installed():
        yield system


@pytest.fixture
def open_panel(qtbot, midi, tmp_path):
    panels: list[Panel] = []

    def open_(*flags: str) -> Panel:
        argv = ["ui", "--api", "loopback", "--config", str(tmp_path / "panel.toml"), "--seed", "1"]
        if "--ratings" not in flags:
            argv += ["--ratings", str(tmp_path / "ratings.jsonl")]
        args = build_parser().parse_args([*argv, *flags])
        panel = build_panel(args, settings_from_args(args), poll_seconds=0.1)
        qtbot.addWidget(panel)
        panels.append(panel)
        return panel

    yield open_
    for panel in panels:
        panel.shutdown()


@pytest.fixture
def panel(open_panel) -> Panel:
    return open_panel("--in", KEYS, "--out", KEYS, "--silence", "0.5")


def play(midi: LoopbackMidi, qtbot, pitches: list[int] = PHRASE, port: str = KEYS) -> None:
    for pitch in pitches:
        midi.send(port, (0x90, pitch, 90))
        qtbot.wait(60)
        midi.send(port, (0x80, pitch, 0))
        qtbot.wait(40)


def get_an_answer(panel: Panel, midi: LoopbackMidi, qtbot) -> None:
    """Play a phrase and wait until the AI's notes have sounded (asking again if an answer was silent)."""
    play(midi, qtbot)
    for _ in range(3):
        try:
            qtbot.waitUntil(lambda: panel.roll.model.count("ai") >= 2, timeout=WAIT // 2)
            return
        except AssertionError:
            panel.trigger()
    qtbot.waitUntil(lambda: panel.roll.model.count("ai") >= 1, timeout=WAIT)


def test_moving_controls_changes_the_engine(panel: Panel, qtbot) -> None:
    engine = panel.engine
    panel.controls["temperature"].slider.setValue(30)  # 30 steps of 0.05
    panel.controls["density"].slider.setValue(50)  # 4 ** 0.5
    panel.controls["bars"].slider.setValue(8)  # half bars
    panel.controls["style"].choose("chorale")
    panel.controls["mode"].choose("accompany")
    key = panel.controls["key"]
    key.scale.setCurrentIndex(key.scale.findData("minor"))
    key.tonic.setCurrentIndex(key.tonic.findData("D"))
    key.tonic.activated.emit(key.tonic.currentIndex())
    qtbot.waitUntil(
        lambda: (
            (engine.settings.temperature, engine.settings.density, engine.settings.bars) == (1.5, 2.0, 4.0)
            and (engine.settings.style, engine.settings.mode, engine.settings.key)
            == ("chorale", "accompany", "D minor")
        ),
        timeout=5000,
    )
    high = panel.controls["high"]
    panel.controls["low"].slider.setValue(100)  # above the highest note: the highest follows
    qtbot.waitUntil(lambda: (engine.settings.low, engine.settings.high) == (100, 100), timeout=5000)
    # The engine's SettingsChanged events reach the panel in order through Qt's queue; one sent for an earlier move
    # may still be on its way when the engine already holds (100, 100): the last one shown is the engine's.
    qtbot.waitUntil(lambda: high.value == 100, timeout=5000)
    assert panel.engine is engine  # settings never rebuild the engine


def test_every_setting_is_reachable_from_the_more_section(panel: Panel, qtbot) -> None:
    engine = panel.engine
    panel.show()
    assert not panel.more.body.isVisible(), "folded until asked for"
    panel.more.toggle.click()
    assert panel.more.body.isVisible() and "▾" in panel.more.toggle.text()
    c = panel.controls
    c["top_p"].slider.setValue(16)  # 0.80
    c["velocity"].slider.setValue(100)
    c["silence"].slider.setValue(6)  # 1.5 beats
    for name, value in [("quantize", "bar"), ("thru", True), ("in_channel", 3), ("out_channel", 5),
                        ("accompany_channel", 7), ("barge_in", False)]:  # fmt: skip
        c[name].choose(value)
    wanted = {"top_p": 0.8, "velocity": "100", "silence": 1.5, "quantize": "bar", "thru": True, "in_channel": 3,
              "out_channel": 5, "accompany_channel": 7, "barge_in": False}  # fmt: skip
    qtbot.waitUntil(lambda: {k: getattr(engine.settings, k) for k in wanted} == wanted, timeout=5000)
    assert panel.engine is engine
    assert all(learn.bindable(name) for name in ("top_p", "velocity", "silence", "quantize")), "MIDI learn too"


def test_clock_out_offset_and_recording_start_a_new_engine_with_them(
    panel: Panel, midi: LoopbackMidi, qtbot, tmp_path: Path
) -> None:
    panel.more.clock_out.choose(True)
    qtbot.waitUntil(lambda: any(m == (0xF8,) for _, m in midi.output(KEYS).events), timeout=5000)
    assert panel.host.config.clock_out and panel.more.clock_out.combo.currentData() is True
    panel.set_sync("midi-clock")  # clock out sends the internal tempo: it turns off, and says why
    assert not panel.host.config.clock_out and not panel.more.clock_out.isEnabled()
    assert "clock out is now off" in panel.message_text()
    panel.set_sync("internal")
    panel.more.offset.slider.setValue(-40)
    qtbot.waitUntil(lambda: panel.engine.scheduler.output_offset == pytest.approx(-0.04), timeout=5000)
    take = tmp_path / "session.mid"
    panel.set_engine_option("record", take)
    assert panel.more.record_button.isChecked() and "session.mid" in panel.more.record_button.text()
    get_an_answer(panel, midi, qtbot)
    panel.set_ports(KEYS, OTHER)  # a rebuild while recording: the first take is written, a second one begins
    assert take.exists() and panel.host.recording == tmp_path / "session-take2.mid"
    panel.set_engine_option("record", None)
    assert (tmp_path / "session-take2.mid").exists() and not panel.more.record_button.isChecked()
    notes = [m for t in mido.MidiFile(take).tracks for m in t if m.type == "note_on" and m.velocity > 0]
    assert notes, "the take holds the session's notes"


def test_a_disabled_control_looks_disabled(panel: Panel, qtbot) -> None:
    panel.show()
    qtbot.waitExposed(panel)
    scale = panel.controls["key"].scale
    panel.controls["key"].show_value("C major")
    assert scale.isEnabled()
    enabled = scale.grab().toImage()
    panel.controls["key"].show_value("off")  # the scale box keeps "major", greyed out
    assert not scale.isEnabled() and scale.currentText() == "major"
    disabled = scale.grab().toImage()
    assert disabled != enabled, "the disabled scale box is drawn differently from an enabled one"


def right_click_and_choose(widget: QWidget, label: str) -> list[str]:
    """Open the widget's context menu and trigger the entry starting with ``label``; returns the entries."""
    entries: list[str] = []

    def choose() -> None:
        menu = QApplication.activePopupWidget()
        entries.extend(action.text() for action in menu.actions())
        next(action for action in menu.actions() if action.text().startswith(label)).trigger()
        menu.close()

    QTimer.singleShot(100, choose)
    widget.customContextMenuRequested.emit(QPoint(5, 5))  # the menu runs until choose() closes it
    return entries


def test_midi_learn_binds_a_cc_sent_through_the_port(panel: Panel, midi: LoopbackMidi, qtbot) -> None:
    panel.show()
    qtbot.waitExposed(panel)
    places = {name: panel.controls[name].geometry() for name in ("temperature", "density", "style")}
    roll = panel.roll.geometry()
    right_click_and_choose(panel.controls["temperature"].slider, "MIDI learn")
    assert panel.controls["temperature"].cc_label.text() == "CC ?"
    assert "move a knob, fader or pedal now" in panel.help_label.text() and "Temperature" in panel.help_label.text()
    assert panel.message_text() == "" and not panel.message_area.isVisible(), "an instruction, not a fault"
    QApplication.processEvents()
    assert panel.roll.geometry() == roll, "the instruction does not push the piano roll down"
    assert {name: panel.controls[name].geometry() for name in places} == places, "nor the sliders beside it"
    midi.send(KEYS, (0xB0, 21, 64))
    qtbot.waitUntil(lambda: panel.engine.settings.cc == {21: "temperature"}, timeout=5000)
    assert panel.controls["temperature"].cc_label.text() == "CC 21"
    assert "Esc panic" in panel.help_label.text(), "the shortcuts are back once the knob is bound"
    midi.send(KEYS, (0xB0, 21, 127))  # the knob now moves the setting, and the slider follows
    qtbot.waitUntil(lambda: panel.engine.settings.temperature == 2.0, timeout=5000)
    qtbot.waitUntil(lambda: panel.controls["temperature"].value == 2.0, timeout=5000)
    panel.start_learn(learn.PANIC)
    midi.send(KEYS, (0xB0, 20, 127))
    qtbot.waitUntil(lambda: panel.engine.settings.panic_cc == 20, timeout=5000)
    assert "CC 20" in panel.panic_button.text()
    entries = right_click_and_choose(panel.controls["temperature"].title, "Forget CC 21")
    assert entries == ["MIDI learn (move a knob)", "Forget CC 21"]
    qtbot.waitUntil(lambda: panel.engine.settings.cc == {}, timeout=5000)


def test_panic_closes_every_note(panel: Panel, midi: LoopbackMidi, qtbot) -> None:
    panel.set_setting("thru", True)  # the player's notes go out too, so cocomposer holds them open
    qtbot.waitUntil(lambda: panel.engine.settings.thru, timeout=5000)
    midi.send(KEYS, (0x90, 60, 100))
    midi.send(KEYS, (0x90, 67, 100))
    engine = panel.engine
    qtbot.waitUntil(lambda: engine.sounding() == {(1, 60), (1, 67)}, timeout=5000)
    panel.show()
    panel.activateWindow()
    qtbot.waitUntil(panel.isActiveWindow, timeout=5000)  # shortcuts work in the active window
    qtbot.keyClick(panel, Qt.Key.Key_Escape)  # the Esc shortcut, as the big button
    qtbot.waitUntil(lambda: not engine.sounding(), timeout=5000)
    out = midi.output(KEYS)
    offs = {m[1] for m in out.messages if ports.is_note_off(m)}
    assert {60, 67} <= offs


def test_changing_ports_closes_notes_and_rebuilds(panel: Panel, midi: LoopbackMidi, qtbot) -> None:
    panel.set_setting("thru", True)
    qtbot.waitUntil(lambda: panel.engine.settings.thru, timeout=5000)
    midi.send(KEYS, (0x90, 64, 100))
    old = panel.engine
    qtbot.waitUntil(lambda: old.scheduler.open_notes() == {(0, 64)}, timeout=5000)
    box = panel.port_boxes["output"]
    box.setCurrentIndex(box.findData(OTHER))
    box.activated.emit(box.currentIndex())
    assert panel.engine is not old and panel.engine.midi_out.name == OTHER
    assert any(ports.is_note_off(m) and m[1] == 64 for m in midi.output(KEYS).messages)
    assert panel.engine.settings.thru  # the settings survive the rebuild


def test_piano_roll_shows_player_and_ai_notes(panel: Panel, midi: LoopbackMidi, qtbot) -> None:
    panel.set_setting("quantize", "bar")  # the answer waits for the bar: its notes are pending for a while
    qtbot.waitUntil(lambda: panel.engine.settings.quantize == "bar", timeout=5000)
    play(midi, qtbot)
    qtbot.waitUntil(lambda: panel.roll.model.count("player") == len(PHRASE), timeout=5000)
    qtbot.waitUntil(lambda: panel.badge.state in ("waiting", "answering"), timeout=WAIT)
    qtbot.waitUntil(lambda: len(panel.roll.refresh_upcoming()) > 0, timeout=WAIT)
    now = panel._now_beat()
    assert all(n.tag == "answer" and n.start_beat >= now - 0.05 for n in panel.roll.upcoming)
    qtbot.waitUntil(lambda: panel.roll.model.count("ai") >= 1, timeout=WAIT)
    assert not panel.roll.grab().isNull()  # paints player notes, AI notes and what is coming
    qtbot.waitUntil(lambda: "sent vs due p99 -" not in panel.latency_label.text(), timeout=5000)
    assert "model step p50" in panel.latency_label.text() and "phrase end -> first note" in panel.latency_label.text()


def test_like_and_dislike_move_the_bias_and_write_jsonl(
    panel: Panel, midi: LoopbackMidi, qtbot, tmp_path, monkeypatch
) -> None:
    prefs = panel.host.preferences
    engine = panel.engine
    assert engine.preferences is prefs  # handed over: the engine passes its bias to Settings.controls
    assert prefs.bias() is None
    get_an_answer(panel, midi, qtbot)
    panel.like_button.click()
    liked = prefs.bias().copy()
    assert liked.shape == (codec.VOCAB_SIZE,) and abs(liked).max() > 0
    panel.dislike_button.click()
    assert not (prefs.bias() == liked).all()
    assert "1 liked, 1 disliked" in panel.preferences_label.text()
    lines = (tmp_path / "ratings.jsonl").read_text().splitlines()
    records = [json.loads(line) for line in lines]
    assert [r["rating"] for r in records] == ["like", "dislike"]
    assert records[0]["answer"] and {"start", "end", "pitch"} <= set(records[0]["answer"][0])
    assert records[0]["settings"]["silence"] == 0.5
    assert [n["pitch"] for n in records[0]["call"]] == PHRASE
    asked: list[AnswerRequested] = []
    engine.subscribe(asked.append, AnswerRequested)
    qtbot.waitUntil(lambda: engine.state == "listening", timeout=WAIT)
    panel.trigger()
    qtbot.waitUntil(lambda: bool(asked), timeout=5000)
    assert (
        asked[0].controls is not None and asked[0].controls.bias is prefs.bias()
    )  # the next answer is sampled under the session's bias


def test_an_unwritable_ratings_file_is_shown_not_fatal(open_panel, midi: LoopbackMidi, qtbot, tmp_path) -> None:
    full = Path("/dev/full") if Path("/dev/full").exists() else tmp_path / "a-file" / "ratings.jsonl"
    if full.parent.name == "a-file":
        (tmp_path / "a-file").write_text("not a folder")
    panel = open_panel("--in", KEYS, "--out", KEYS, "--silence", "0.5", "--ratings", str(full))
    get_an_answer(panel, midi, qtbot)
    assert panel.rate(True)
    assert "could not save the rating" in panel.message_text()
    assert panel.host.preferences.bias() is not None  # the rating still counts
    panel.set_setting("temperature", 0.5)  # and the engine plays on
    qtbot.waitUntil(lambda: panel.engine.settings.temperature == 0.5, timeout=5000)


def test_presets_round_trip_and_the_last_settings_return(open_panel, panel: Panel, qtbot, tmp_path) -> None:
    panel.controls["temperature"].slider.setValue(26)
    panel.controls["style"].choose("celtic")
    panel.set_setting("key", "A dorian")
    panel.update_settings(lambda s: learn.bind(learn.bind(s, "density", 22), learn.PANIC, 23))
    qtbot.waitUntil(lambda: panel.engine.settings.cc == {22: "density"}, timeout=5000)
    saved = panel.engine.settings
    assert (saved.temperature, saved.style, saved.key, saved.panic_cc) == (1.3, "celtic", "A dorian", 23)
    assert panel.save_preset(tmp_path / "presets" / "gig.toml")
    panel.controls["temperature"].slider.setValue(10)
    panel.update_settings(lambda s: learn.unbind(s, learn.PANIC))
    qtbot.waitUntil(lambda: panel.engine.settings.panic_cc is None, timeout=5000)
    assert panel.load_preset(tmp_path / "presets" / "gig.toml")
    qtbot.waitUntil(lambda: panel.engine.settings == saved, timeout=5000)
    panel.shutdown()  # autosaves
    again = open_panel()  # no flags: the ports and settings of last time
    assert again.engine.settings == saved and again.engine.midi_in.name == KEYS
    flagged = open_panel("--temperature", "0.7")  # a flag wins over what was saved
    assert flagged.engine.settings.temperature == 0.7 and flagged.engine.settings.style == "celtic"
    (tmp_path / "bad.toml").write_text('[settings]\nstyle = "polka"\n')
    assert not again.load_preset(tmp_path / "bad.toml")
    assert "polka" in again.message_text()


def test_a_missing_port_is_shown_and_picked_up_when_it_returns(open_panel, midi: LoopbackMidi, qtbot) -> None:
    panel = open_panel("--in", "Late keys", "--out", KEYS)
    assert "'Late keys' is missing" in panel.message_text()
    assert panel.engine is not None and panel.engine.midi_in.name == "cocomposer in"  # playing meanwhile
    midi.plug("Late keys")
    qtbot.waitUntil(lambda: panel.engine.midi_in.name == "Late keys", timeout=5000)
    qtbot.waitUntil(lambda: "Late keys" not in panel.message_text(), timeout=5000)
    play(midi, qtbot, [60], port="Late keys")
    qtbot.waitUntil(lambda: panel.roll.model.count("player") == 1, timeout=5000)
    midi.unplug("Late keys")
    qtbot.waitUntil(lambda: "'Late keys' disappeared" in panel.message_text(), timeout=5000)
    assert panel.engine is not None and panel.engine.midi_in.name == "cocomposer in"


def test_a_model_that_fails_to_load_is_shown(open_panel, tmp_path) -> None:
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(b"not a model")
    panel = open_panel("--model", str(broken))
    assert "failed to load" in panel.message_text()
    assert panel.engine is not None  # on the shipped model
    engine = panel.engine
    panel.set_model(broken)  # a swap that fails keeps the engine as it was
    assert panel.engine is engine and "failed to load" in panel.message_text()


def test_cocomposer_ui_runs_the_panel_on_loopback_where_no_backend_works(qapp, monkeypatch, tmp_path) -> None:
    from PyQt6.QtCore import QTimer

    from cocomposer.app.cli import main
    from cocomposer.errors import PortError

    def no_backend(api: str = "auto") -> tuple[list[str], list[str]]:
        raise PortError("no MIDI backend works on this machine")

    monkeypatch.setattr(ports, "list_ports", no_backend)
    seen: dict[str, object] = {}

    def look_and_close() -> None:
        shown = [w for w in qapp.topLevelWidgets() if isinstance(w, Panel) and w.isVisible()]
        if not shown or shown[0].engine is None or not shown[0].engine.midi_in:
            seen["panel"] = bool(shown)
        else:
            seen.update(engine=shown[0].engine.midi_in.name, message=shown[0].message_text())
        for panel in shown:
            panel.close()
        qapp.quit()

    QTimer.singleShot(1500, look_and_close)
    argv = ["ui", "--config", str(tmp_path / "panel.toml"), "--ratings", str(tmp_path / "ratings.jsonl")]
    assert main(argv) == 0
    # The panel's exit leaves Qt quitting: in the tests after this one every qtbot.wait returned at once (found by
    # tests/test_ui_jack.py, which runs next). One more application loop, quit at once, clears that.
    QTimer.singleShot(0, qapp.quit)
    qapp.exec()
    assert seen.get("engine") == "cocomposer in", seen
    assert "no MIDI backend works" in str(seen["message"]) and "in-process ports" in str(seen["message"])
    assert (tmp_path / "panel.toml").exists()  # the settings were saved on the way out
