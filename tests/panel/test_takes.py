"""The panel's takes: three more answers to the last call, each a MIDI file with provenance that can be played
through the engine on request, dragged out as a file URL, or saved."""

from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest

pytest.importorskip("PyQt6")
pytest.importorskip("pytestqt")
pytest.importorskip("tomli_w")

from cocomposer_panel.loopback import LoopbackMidi
from cocomposer_panel.panel import Panel
from cocomposer_panel.takes import COUNT, take_mime
from PyQt6.QtCore import Qt

from cocomposer.engine.events import NoteOut
from cocomposer.midi import ports
from cocomposer.music import provenance
from cocomposer.music.midifile import read_phrase
from tests.panel.test_ui import KEYS, WAIT, get_an_answer, midi, open_panel, panel  # noqa: F401


def test_three_takes_of_the_last_answer_play_drag_and_save(panel: Panel, midi: LoopbackMidi, qtbot, tmp_path) -> None:  # noqa: F811
    get_an_answer(panel, midi, qtbot)
    panel.show()
    panel.activateWindow()
    qtbot.waitUntil(panel.isActiveWindow, timeout=5000)
    qtbot.keyClick(panel, Qt.Key.Key_T)  # the T shortcut, as the button
    qtbot.waitUntil(lambda: len(panel.takes.takes) == COUNT, timeout=WAIT)
    takes = panel.takes.takes
    assert len({t.path.read_bytes() for t in takes}) == COUNT  # three different takes
    for take in takes:
        record = provenance.read_record(take.path)
        assert record["command"] == "ui take" and record["seed"] == take.index and record["sidecar_matches"]
        authors = [(t["author"], t["channel"]) for t in record["tracks"]]
        assert authors == [(provenance.PLAYER, 1), (provenance.GENERATED, panel.settings.out_channel)]
        assert take.notes and take.summary.startswith(f"{len(take.notes)} notes")
    # Drag: the file's URL, as a DAW takes a MIDI clip.
    urls = take_mime(takes[1]).urls()
    assert [u.toLocalFile() for u in urls] == [str(takes[1].path.resolve())]
    # Save: the MIDI file and its provenance sidecar, where asked.
    target = tmp_path / "kept.mid"
    panel.takes.save(takes[1], target)
    assert panel.takes.status.text() == f"saved {target}"
    assert target.read_bytes() == takes[1].path.read_bytes() and provenance.read_record(target)["seed"] == 2
    # Play: through the engine, on the answer channel, every note closed.
    played: list[NoteOut] = []
    panel.engine.subscribe(played.append, NoteOut)
    take = takes[0]
    panel.play_take(take)
    qtbot.waitUntil(lambda: sum(1 for e in played if e.tag == "take" and not e.on) == len(take.notes), timeout=WAIT)
    ons = sorted((e.beat, e.pitch) for e in played if e.tag == "take" and e.on)
    assert [p for _, p in ons] == [n.pitch for n in sorted(take.notes, key=lambda n: (n.start, n.pitch))]
    assert {e.channel for e in played if e.tag == "take"} == {panel.settings.out_channel}
    out = midi.output(KEYS)
    assert sum(1 for m in out.messages if ports.is_note_on(m)) >= len(take.notes)


def test_takes_before_any_answer_say_so(panel: Panel, qtbot) -> None:  # noqa: F811
    panel.takes.request()
    qtbot.waitUntil(lambda: "no call to answer yet" in panel.takes.status.text(), timeout=WAIT)
    assert panel.takes.takes == []


def test_a_take_file_reads_back_as_call_and_take(panel: Panel, midi: LoopbackMidi, qtbot) -> None:  # noqa: F811
    get_an_answer(panel, midi, qtbot)
    panel.takes.request()
    qtbot.waitUntil(lambda: len(panel.takes.takes) == COUNT, timeout=WAIT)
    phrase = read_phrase(panel.takes.takes[0].path)
    assert len(phrase.notes) == len(panel.takes.takes[0].notes) + 5  # the call's five notes and the take's
    assert isinstance(panel.takes.takes[0].path, Path)
