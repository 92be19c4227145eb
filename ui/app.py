"""`cocomposer ui`: open the stage panel with the engine running in-process.

The same flags as `cocomposer run` apply. The settings saved when the panel last closed come back first; flags given
on the command line win over them. ``--api loopback`` (or a machine where no MIDI backend works) runs on in-process
ports: the Demo button (P) plays the bundled phrase into them.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import subprocess
import sys
from contextlib import ExitStack
from pathlib import Path

from cocomposer_panel.loopback import LOOPBACK_API, LoopbackMidi
from cocomposer_panel.panel import Panel
from cocomposer_panel.paths import default_config_file, default_presets_dir, default_ratings_file
from cocomposer_panel.presets import load_preset
from cocomposer_panel.theme import STYLESHEET
from PyQt6.QtCore import QTimer
from PyQt6.QtWidgets import QApplication

from cocomposer.app.cli import settings_from_args
from cocomposer.engine.settings import Settings
from cocomposer.errors import CocomposerError
from cocomposer.midi import ports

# Set (to anything) by smoke tests of the built app: show the panel, say so on stdout, close it cleanly.
QUIT_AFTER_SHOW = "COCOMPOSER_PANEL_QUIT_AFTER_SHOW"


def restore(args: argparse.Namespace, settings: Settings, config: Path) -> tuple[Settings, str | None]:
    """The autosaved settings, ports and sync source under the flags given now; a message if the file is unusable."""
    if not config.exists():
        return settings, None
    try:
        preset = load_preset(config)
    except CocomposerError as err:
        return settings, f"the saved settings could not be restored ({err}); starting from the defaults"
    for key in ("in_port", "out_port"):
        if getattr(args, key, None) is None and preset.panel.get(key):
            setattr(args, key, preset.panel[key])
    if getattr(args, "sync", "internal") == "internal" and preset.panel.get("sync"):
        args.sync = preset.panel["sync"]
    if getattr(args, "model", None) is None and preset.panel.get("model"):
        args.model = Path(preset.panel["model"])
    return settings_from_args(args, base=preset.settings), None


def build_panel(args: argparse.Namespace, settings: Settings, poll_seconds: float = 2.0) -> Panel:
    """The panel with its engine started (what `run_panel` shows; tests drive it directly)."""
    config = Path(getattr(args, "config", None) or default_config_file())
    ratings = Path(getattr(args, "ratings", None) or default_ratings_file())
    settings, problem = restore(args, settings, config)
    panel = Panel(args, settings, config, ratings, config.parent / default_presets_dir().name, poll_seconds)
    if problem:
        panel.show_message("config", problem)
    return panel


def _backend_works(api: str) -> str | None:
    try:
        ports.list_ports(api)
    except CocomposerError as err:
        return str(err)
    return None


HEADLESS_PLATFORMS = ("offscreen", "minimal")
_PROBE = "from PyQt6.QtWidgets import QApplication; QApplication([])"


def qt_problem(timeout: float = 30.0) -> str | None:
    """Why Qt cannot open a window here, or None. Qt aborts the whole process when its display plugin fails (with
    "Reinstalling the application may fix this problem", wrong advice for a missing library or display), so a
    child process tries first and its words are turned into a message that says what to do."""
    platform = os.environ.get("QT_QPA_PLATFORM", "").split(":")[0]
    if platform in HEADLESS_PLATFORMS or getattr(sys, "frozen", False):  # a frozen app has no `python -c`
        return None
    env = {**os.environ, "QT_DEBUG_PLUGINS": "1"}
    try:
        probe = subprocess.run(
            [sys.executable, "-c", _PROBE], env=env, capture_output=True, text=True, timeout=timeout, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None  # slow or odd, not known to be broken: let Qt itself try
    if probe.returncode == 0:
        return None
    missing = sorted(set(re.findall(r"(lib[\w.+-]+\.so[.\d]*): cannot open shared object file", probe.stderr)))
    display = os.environ.get("WAYLAND_DISPLAY") or os.environ.get("DISPLAY") or "(none)"
    if missing:
        why = (
            f"Qt's display plugin needs libraries this system lacks ({', '.join(missing)}); on Debian or Ubuntu "
            "`sudo apt install libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-image0 libxcb-render-util0 "
            "libxkbcommon-x11-0` installs them"
        )
    else:
        lines = probe.stderr.splitlines()
        said = [line.partition(": ")[2] for line in lines if line.startswith("qt.qpa.") and ": " in line]
        said += [line.strip() for line in lines if "platform plugin" in line]
        why = f"Qt could not open the display {display} ({said[0] if said else f'exit status {probe.returncode}'})"
    return (
        f"the stage panel cannot open a window: {why}. Meanwhile `cocomposer run` (same flags) runs the engine "
        "headless, and QT_QPA_PLATFORM=offscreen runs the panel unseen"
    )


def run_panel(args: argparse.Namespace, settings: Settings) -> int:
    """Open the panel and run until it closes; every note is closed and the settings saved on the way out."""
    if QApplication.instance() is None and (problem := qt_problem()) is not None:
        raise CocomposerError(problem)
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("cocomposer")
    app.setStyleSheet(STYLESHEET)  # type: ignore[union-attr]
    with ExitStack() as stack:
        problem = None
        if args.api != LOOPBACK_API:
            problem = _backend_works(args.api)
        if args.api == LOOPBACK_API or problem:
            stack.enter_context(LoopbackMidi().installed())
            args.api = LOOPBACK_API
        panel = build_panel(args, settings)
        stack.callback(panel.shutdown)
        if problem:
            panel.show_message("midi", f"{problem} Meanwhile the panel runs on in-process ports: press P for a demo.")
        panel.show()
        _quit_on_signals(app, stack)
        if os.environ.get(QUIT_AFTER_SHOW):
            QTimer.singleShot(0, lambda: _say_shown_and_quit(app, panel))
        return int(app.exec())  # type: ignore[union-attr]


def _say_shown_and_quit(app: QApplication, panel: Panel) -> None:
    """Runs inside the event loop, once the window has been shown: a test reads this line, then the app exits 0."""
    size = panel.size()
    shown = f"{panel.windowTitle()}, {size.width()}x{size.height()}, visible {panel.isVisible()}"
    print(f"panel shown: {shown}", flush=True)
    app.quit()


def _quit_on_signals(app: QApplication, stack: ExitStack) -> None:
    """Ctrl-C and SIGTERM close the panel cleanly (every note closed); a timer lets Python see the signal."""
    previous = {sig: signal.signal(sig, lambda *_: app.quit()) for sig in (signal.SIGINT, signal.SIGTERM)}
    stack.callback(lambda: [signal.signal(sig, handler) for sig, handler in previous.items()])
    ticker = QTimer(app, interval=200)
    ticker.timeout.connect(lambda: None)
    ticker.start()
    stack.callback(ticker.stop)
