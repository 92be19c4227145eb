"""`cocomposer run`: open the ports, load the model, start the engine, and keep every note closed on the way out.

Live commands on standard input (one per line): `set NAME VALUE`, `mode NAME`, `panic`, `trigger`, `forget` (the
player model starts afresh), `status`, `quit`. They are read when standard input is a terminal, a pipe or a file
(`printf 'status\nquit\n' | cocomposer run`), and the end of that input stops cocomposer like `quit`. When standard
input is /dev/null or closed (a service, a test with no input), it is left alone and cocomposer runs until it is
signalled.

SIGINT and SIGTERM stop cleanly: every note cocomposer opened gets its note-off before the ports close, and the
exit status is 0.
"""

from __future__ import annotations

import argparse
import os
import signal
import stat
import sys
import threading
import time
from contextlib import ExitStack
from importlib.metadata import entry_points
from pathlib import Path

from cocomposer.engine import commands
from cocomposer.engine.config import EngineConfig
from cocomposer.engine.core import Engine
from cocomposer.engine.events import EngineError
from cocomposer.engine.factory import build_engine
from cocomposer.engine.settings import Settings
from cocomposer.errors import CocomposerError


def display_available() -> bool:
    if sys.platform in ("darwin", "win32"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def _read_commands(engine: Engine, done: threading.Event) -> None:
    for line in sys.stdin:
        words = line.strip().split(maxsplit=2)
        if not words:
            continue
        try:
            if words[0] in ("quit", "exit", "q"):
                break
            if words[0] == "status":
                print(engine.status().line(), flush=True)
            else:
                command = commands.parse(line, engine.settings)
                engine.command(command)
                _applied(engine, command)
        except CocomposerError as err:
            print(f"cocomposer: {err}; or status | quit", flush=True)
    done.set()


def _applied(engine: Engine, command: object, timeout: float = 2.0) -> None:
    """Wait (briefly) until the engine thread has taken a setting, so that the next line of a piped script, a
    `status` say, sees it: commands reach the engine through its queue."""
    if isinstance(command, commands.Set):
        name, value = command.name, getattr(engine.settings.with_value(command.name, command.value), command.name)
    elif isinstance(command, commands.SetMode):
        name, value = "mode", command.mode
    else:
        return
    wait_until(lambda: getattr(engine.settings, name) == value, timeout)


def stdin_commands_wanted() -> bool:
    """Whether to read live commands from standard input: a terminal, a pipe, a socket or a file, but not
    /dev/null (or another device that is no terminal), whose immediate end would stop a service at once."""
    try:
        if sys.stdin is None:
            return False
        if sys.stdin.isatty():
            return True
        mode = os.fstat(sys.stdin.fileno()).st_mode
    except (AttributeError, ValueError, OSError):  # a closed or replaced stdin
        return False
    return stat.S_ISFIFO(mode) or stat.S_ISREG(mode) or stat.S_ISSOCK(mode)


def run_live(args: argparse.Namespace, settings: Settings) -> int:
    done = threading.Event()
    signalled: list[int] = []  # the handler only appends: it takes no lock the interrupted code might hold

    def on_signal(signum: int, _frame: object) -> None:
        signalled.append(signum)

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    lost: str | None = None
    try:
        with ExitStack() as stack:
            engine = build_engine(EngineConfig.from_args(args), settings, stack)
            engine.subscribe(_print_error, EngineError)
            engine.start()
            stack.callback(engine.stop)  # runs before the ports close: every note gets its note-off
            status = engine.status()
            print(
                f"cocomposer listening on '{status.input_name}', playing to '{status.output_name}' "
                f"({settings.mode}, {status.bpm:.0f} BPM). Type 'status', 'panic' or 'quit'; Ctrl-C stops.",
                flush=True,
            )
            if stdin_commands_wanted():
                threading.Thread(target=_read_commands, args=(engine, done), daemon=True).start()
            while not signalled and not done.wait(0.01):  # a signal is seen within 10 ms: no answer starts after
                lost = backend_lost(engine)
                if lost is not None:
                    break
            if lost is not None:
                print(
                    f"cocomposer: {lost}; the MIDI ports went with it, so cocomposer stops. Start the server again, "
                    "then run cocomposer again (its ports come back when it starts).",
                    file=sys.stderr,
                    flush=True,
                )
            else:
                print("stopping: closing every note", flush=True)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if lost is not None:
        # Everything is closed that can be; RtMidi's JACK outputs would each wait a second in their destructors
        # for a process cycle of the dead server while the interpreter exits, so the process ends here.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(1)
    return 0


def backend_lost(engine: Engine) -> str | None:
    """Why the engine's MIDI backend went away (the JACK server stopped), or None while it works."""
    for port in (engine.midi_in, engine.midi_out):
        if port is not None and port.lost is not None:
            return port.lost
    return None


def _print_error(error: EngineError) -> None:
    print(f"cocomposer: {error.where}: {error.message}", file=sys.stderr, flush=True)


PANEL_ENTRY_POINTS = "cocomposer.panel"  # the panel (package cocomposer_panel) registers itself here


def run_ui(args: argparse.Namespace, settings: Settings) -> int:
    """Find the stage panel through its entry point (the engine never imports it) and run it."""
    if not display_available() and not os.environ.get("QT_QPA_PLATFORM"):
        raise CocomposerError(
            "the stage panel needs a display, and none is set here (no DISPLAY or WAYLAND_DISPLAY: a terminal over "
            "SSH, a service, a container). Start it from a desktop session or with `ssh -X`, run the engine "
            "headless with `cocomposer run` (same flags), or set QT_QPA_PLATFORM=offscreen to run the panel unseen"
        )
    found = list(entry_points(group=PANEL_ENTRY_POINTS))
    if not found:
        raise CocomposerError(
            "the stage panel is not installed; install cocomposer with pip (pip install 'cocomposer[ui]')"
        )
    try:
        run_panel = found[0].load()
    except ImportError as err:
        raise CocomposerError(f"the panel needs PyQt6: pip install 'cocomposer[ui]' ({err})") from err
    return run_panel(args, settings)


def wait_until(predicate, timeout: float, interval: float = 0.005) -> bool:
    """Poll ``predicate`` until it is true or ``timeout`` seconds pass (for demos and tools, not the engine)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return bool(predicate())


__all__ = ["Path", "display_available", "run_live", "run_ui", "stdin_commands_wanted", "wait_until"]
