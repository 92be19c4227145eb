"""The panel on a dark stage: readable text (size and WCAG contrast, computed from the stylesheet), every octave
named on the piano roll, the like/dislike line saying what really moved, and a window that opens (or explains why
it cannot) and takes the keyboard at once."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest

pytest.importorskip("PyQt6")

from cocomposer_panel import theme
from cocomposer_panel.pianoroll import BACKGROUND, BLACK_KEY_ROW, LABEL_PX, TEXT, c_labels
from cocomposer_panel.ratings import AnswerTracker, heard_since
from cocomposer_panel.readout import STATES

from cocomposer.engine.events import NoteOut
from cocomposer.model.preferences import Preferences

ROOT = Path(__file__).resolve().parents[2]
LEARNING_BACKGROUND = "#3a2a00"  # a control waiting for MIDI learn: its title, value and tag sit on this


def _text_rules() -> list[tuple[str, str, str]]:
    """(selector, text colour, background it sits on) for every rule that colours text, disabled ones aside."""
    rules = theme.rules()
    base = {selector: props for selector, props in rules}
    out = []
    for selector, props in rules:
        if "color" not in props or ":disabled" in selector:
            continue
        background = props.get("background")
        if background is None:  # the same widget's own background, else the window's
            plain = selector.split(":")[0]
            background = base.get(plain, {}).get("background", theme.BACKGROUND)
        out.append((selector, props["color"], background))
    return out


def test_the_stylesheet_is_parsed_into_every_rule() -> None:
    selectors = [selector for selector, _ in theme.rules()]
    assert "QLabel#help" in selectors and "QComboBox:disabled" in selectors and len(selectors) >= 30


@pytest.mark.parametrize("selector, color, background", _text_rules())
def test_every_text_colour_has_4_5_to_1_contrast(selector: str, color: str, background: str) -> None:
    assert theme.contrast(color, background) >= theme.MIN_CONTRAST, (selector, color, background)


@pytest.mark.parametrize("selector", ["QLabel#controlTitle", "QLabel#valueLabel", "QLabel#ccLabel", "QWidget"])
def test_a_control_waiting_for_midi_learn_stays_readable(selector: str) -> None:
    color = dict(theme.rules())[selector]["color"]
    assert theme.contrast(color, LEARNING_BACKGROUND) >= theme.MIN_CONTRAST, selector


def test_every_font_size_is_at_least_15_px() -> None:
    sizes = {s: p["font-size"] for s, p in theme.rules() if "font-size" in p}
    assert "QLabel#help" in sizes and "QLabel#latency" in sizes and "QWidget" in sizes
    small = {s: size for s, size in sizes.items() if int(size.removesuffix("px")) < theme.MIN_TEXT_PX}
    assert small == {}, small
    assert LABEL_PX >= theme.MIN_TEXT_PX, "the piano roll's note names and legend"


def test_the_state_badge_and_the_roll_labels_are_readable() -> None:
    for state, (_, background) in STATES.items():
        assert theme.contrast("#ffffff", background) >= theme.MIN_CONTRAST, state
    for background in (BACKGROUND, BLACK_KEY_ROW):
        assert theme.contrast(TEXT.name(), background.name()) >= theme.MIN_CONTRAST


def test_wcag_contrast_matches_known_values() -> None:
    assert theme.contrast("#ffffff", "#000000") == pytest.approx(21.0)
    assert theme.contrast("#777777", "#ffffff") == pytest.approx(4.48, abs=0.01)  # the classic just-failing grey


def test_the_roll_names_the_c_of_every_octave() -> None:
    assert c_labels(36, 96) == [(36, "C2"), (48, "C3"), (60, "C4"), (72, "C5"), (84, "C6"), (96, "C7")]
    assert c_labels(49, 59) == [] and c_labels(47, 61) == [(48, "C3"), (60, "C4")]


def _answer(start: float, pitches: list[int]) -> list[NoteOut]:
    events = []
    for i, pitch in enumerate(pitches):
        events.append(NoteOut(True, pitch, 80, 1, "answer", 0.0, start + i))
        events.append(NoteOut(False, pitch, 0, 1, "answer", 0.0, start + i + 0.5))
    return events


def test_the_preference_line_shows_what_the_answers_really_did() -> None:
    tracker = AnswerTracker()
    assert "rate an answer" in heard_since(tracker)
    tracker.answer_requested()
    for event in _answer(0, [60, 62, 64, 65]):
        tracker.note_out(event)
    tracker.ratings = 1  # liked; the next answer is higher
    tracker.answer_requested()
    assert heard_since(tracker) == "heard since the last rating: no answer yet"
    for event in _answer(8, [72, 74, 76, 77]):
        tracker.note_out(event)
    line = heard_since(tracker)
    assert line.startswith("heard in 1 answer since: "), line
    assert "around D#5 (was D#4)" in line and "notes 0.50 (was 0.50) beat long" in line, line


def test_the_summary_names_a_direction_not_a_result() -> None:
    preferences = Preferences()
    preferences.rate([(0, 0.5, 84), (1, 1.5, 86), (2, 2.5, 88)], liked=True)
    summary = preferences.summary()
    assert summary.startswith("1 liked, 0 disliked: the model is asked for") and "higher" in summary, summary
    assert "register" not in summary and " st," not in summary, "no semitone figure the answers may not reach"


# --- a real window ---------------------------------------------------------------------------------------------------

SHOW_AND_PRESS = """
import sys, tempfile
from PyQt6.QtCore import Qt
from PyQt6.QtTest import QTest
from PyQt6.QtWidgets import QApplication
from cocomposer_panel.app import build_panel
from cocomposer_panel.loopback import LoopbackMidi
from cocomposer.app.cli import build_parser, settings_from_args
app = QApplication(sys.argv[:1])
with tempfile.TemporaryDirectory() as tmp, LoopbackMidi(["K"]).installed():
    args = build_parser().parse_args(["ui", "--api", "loopback", "--config", tmp + "/p.toml", "--ratings",
                                      tmp + "/r.jsonl"])
    panel = build_panel(args, settings_from_args(args))
    panel.show()
    for _ in range(100):
        QTest.qWait(20)
        if QApplication.focusWidget() is not None:
            break
    focus = QApplication.focusWidget()
    print("focus", type(focus).__name__ if focus else None, flush=True)
    if focus is not None:
        QTest.keyClick(focus, Qt.Key.Key_M)  # no click anywhere first: M is the next mode
        for _ in range(100):
            QTest.qWait(20)
            if panel.engine.settings.mode != "call-response":
                break
    print("mode", panel.engine.settings.mode, flush=True)
    panel.shutdown()
"""


def test_shortcuts_work_as_soon_as_the_window_shows_under_x() -> None:
    """Under Xvfb with no window manager nothing gives a new window the keyboard: the panel must take it."""
    if shutil.which("xvfb-run") is None:
        pytest.skip("xvfb-run is not installed, so no X server can be started for this test")
    env = {**os.environ, "QT_QPA_PLATFORM": "xcb"}
    command = ["xvfb-run", "-a", "-s", "-screen 0 1280x800x24", sys.executable, "-c", SHOW_AND_PRESS]
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    if "cannot open a window" in result.stderr or "could not load the Qt platform plugin" in result.stderr.lower():
        pytest.skip(f"Qt's xcb plugin cannot start under Xvfb here: {result.stderr.strip().splitlines()[-1]}")
    assert result.returncode == 0, result.stderr[-2000:]
    assert "focus None" not in result.stdout and "mode accompany" in result.stdout, result.stdout


def test_a_display_qt_cannot_open_is_a_clear_error_not_an_abort() -> None:
    env = {**os.environ, "DISPLAY": ":987", "QT_QPA_PLATFORM": "xcb"}
    env.pop("WAYLAND_DISPLAY", None)
    result = subprocess.run(
        [sys.executable, "-m", "cocomposer.app.cli", "ui", "--api", "loopback"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert result.returncode == 2, (result.returncode, result.stderr[-2000:])
    assert result.stderr.startswith("cocomposer: the stage panel cannot open a window"), result.stderr
    assert "Reinstalling" not in result.stderr and "Traceback" not in result.stderr
