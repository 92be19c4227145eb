"""The standalone app from ``packaging/`` runs for real: built with PyInstaller, then started as a player would.

The app comes from ``COCOMPOSER_APP`` (the executable ``packaging/smoke.sh`` built) or, where PyInstaller is
installed, from one build into a temporary folder for this test session (about a minute on 2 cores). Each command
runs in an empty folder with no virtualenv or PYTHONPATH in its environment, so nothing comes from this source tree.
Select them with ``-m packaging``; without PyInstaller they skip with the reason.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import sysconfig
from collections.abc import Iterator
from pathlib import Path

import mido
import pytest

from cocomposer import __version__
from cocomposer.app.frozen import check_command
from cocomposer.errors import CocomposerError

ROOT = Path(__file__).resolve().parents[2]
BUILD = ROOT / "packaging" / "build.py"
NOT_IN_THE_APP = ("torch", "music21", "symusic", "onnx", "pytest", "PyInstaller")


@pytest.fixture(scope="session")
def app(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The built app's executable: COCOMPOSER_APP, or a fresh build where PyInstaller is installed."""
    given = os.environ.get("COCOMPOSER_APP")
    if given:
        path = Path(given).resolve()
        if not path.is_file():
            pytest.fail(f"COCOMPOSER_APP={given} is not a file; build it with python packaging/build.py")
        return path
    if importlib.util.find_spec("PyInstaller") is None:
        pytest.skip("PyInstaller is not installed (pip install -e '.[ui,package]'), so the standalone app is not built")
    work = tmp_path_factory.mktemp("package")
    result = subprocess.run(
        [sys.executable, str(BUILD), "--dist", str(work / "dist"), "--build", str(work / "build")],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return work / "dist" / "cocomposer" / ("cocomposer.exe" if sys.platform == "win32" else "cocomposer")


def clean_env(**extra: str) -> dict[str, str]:
    """The environment without anything that points into a Python installation or this tree."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    venv_bin = sysconfig.get_path("scripts")  # this venv's bin/ (Scripts\\ on Windows)
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep) if p != venv_bin)
    return {**env, **extra}


def run_app(app: Path, cwd: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(app), *args],
        cwd=cwd,
        env=env or clean_env(),
        capture_output=True,
        text=True,
        timeout=180,
        stdin=subprocess.DEVNULL,
    )


def answer_notes(path: Path) -> int:
    tracks = {t.name: t for t in mido.MidiFile(path).tracks}
    assert "cocomposer answer" in tracks, list(tracks)
    return sum(1 for m in tracks["cocomposer answer"] if m.type == "note_on" and m.velocity > 0)


@pytest.fixture
def elsewhere(tmp_path: Path) -> Iterator[Path]:
    """An empty folder outside the source tree to run the app in."""
    folder = tmp_path / "elsewhere"
    folder.mkdir()
    yield folder


# --- the built app -------------------------------------------------------------------------------------------------


@pytest.mark.packaging
def test_app_prints_its_version(app: Path, elsewhere: Path) -> None:
    result = run_app(app, elsewhere, "--version")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"cocomposer {__version__}"


@pytest.mark.packaging
def test_app_demo_answers_through_the_bundled_model(app: Path, elsewhere: Path) -> None:
    result = run_app(app, elsewhere, "demo", "--loopback", "-o", "demo.mid", "--seed", "3")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    assert answer_notes(elsewhere / "demo.mid") > 0, result.stdout


@pytest.mark.packaging
def test_app_opens_the_panel_offscreen(app: Path, elsewhere: Path) -> None:
    env = clean_env(QT_QPA_PLATFORM="offscreen", COCOMPOSER_PANEL_QUIT_AFTER_SHOW="1")
    flags = ("--config", "panel.toml", "--ratings", "ratings.jsonl")
    result = run_app(app, elsewhere, "ui", "--api", "loopback", *flags, env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "panel shown: cocomposer" in result.stdout and "visible True" in result.stdout, result.stdout
    assert (elsewhere / "panel.toml").is_file(), "the panel saves its settings when it closes"


@pytest.mark.packaging
@pytest.mark.jack
def test_app_speaks_jack_with_the_libjack_it_bundles(app: Path, elsewhere: Path, jack_server) -> None:
    """python-rtmidi's wheel carries its own libjack; the bundle must still reach the machine's JACK server."""
    env = clean_env(**{k: jack_server.env[k] for k in ("JACK_DEFAULT_SERVER", "JACK_NO_START_SERVER")})
    result = run_app(app, elsewhere, "demo", "--api", "jack", "-o", "jack.mid", env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "through virtual ports 'cocomposer in'" in result.stdout, result.stdout
    assert answer_notes(elsewhere / "jack.mid") > 0, result.stdout
    listed = run_app(app, elsewhere, "ports", "--api", "jack", env=env)
    assert listed.returncode == 0 and "MIDI inputs" in listed.stdout, listed.stdout + listed.stderr


@pytest.mark.packaging
@pytest.mark.skipif(sys.platform != "win32", reason="Windows only: there winmm cannot make virtual ports")
def test_app_first_run_on_windows_names_the_loopback_drivers(app: Path, elsewhere: Path) -> None:
    """With no loopback driver installed, the demo still plays (in-process) and says what to install."""
    result = run_app(app, elsewhere, "demo", "-o", "demo.mid")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "loopMIDI" in result.stdout + result.stderr and "Windows MIDI Services" in result.stdout + result.stderr
    assert answer_notes(elsewhere / "demo.mid") > 0, result.stdout


@pytest.mark.packaging
def test_app_refuses_developer_commands_in_one_line(app: Path, elsewhere: Path) -> None:
    for command in ("bench", "eval"):
        result = run_app(app, elsewhere, command)
        assert result.returncode == 2, (command, result.stdout, result.stderr)
        message = result.stderr.strip()
        assert message.startswith(f"cocomposer: `{command}` is a developer command"), message
        assert "Traceback" not in message and "\n" not in message, message


@pytest.mark.packaging
def test_app_bundle_is_lean_and_holds_the_model(app: Path) -> None:
    internal = app.parent / "_internal"
    assert (internal / "cocomposer" / "models" / "default.onnx").is_file()
    assert (internal / "cocomposer" / "data" / "demo_phrase.mid").is_file()
    present = [name for name in NOT_IN_THE_APP if (internal / name).exists()]
    assert not present, f"the bundle holds {present}, which the runtime never imports"
    assert not (internal / "PyQt6" / "Qt6" / "translations").exists()
    assert not list(internal.rglob("*libqgtk3*")), "the GTK 3 theme plugin pulls the system's GTK into the bundle"
    assert not [p for p in internal.rglob("*") if p.is_symlink() and not p.exists()], "dangling links"


# --- the small hooks the app needs, run from source ----------------------------------------------------------------


def test_developer_commands_are_refused_only_in_the_frozen_app() -> None:
    for command in ("eval", "bench"):
        with pytest.raises(CocomposerError, match="developer command"):
            check_command(command, frozen=True)
        check_command(command, frozen=False)
    for command in ("run", "ui", "demo", "continue", "ports", "calibrate", None):
        check_command(command, frozen=True)


def test_panel_quit_after_show_hook_from_source(tmp_path: Path) -> None:
    pytest.importorskip("PyQt6", reason="the panel needs PyQt6 (the ui or test extra)")
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "COCOMPOSER_PANEL_QUIT_AFTER_SHOW": "1"}
    flags = ("--config", str(tmp_path / "panel.toml"), "--ratings", str(tmp_path / "ratings.jsonl"))
    result = subprocess.run(
        [sys.executable, "-m", "cocomposer.app.cli", "ui", "--api", "loopback", *flags],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "panel shown: cocomposer" in result.stdout and "visible True" in result.stdout, result.stdout
