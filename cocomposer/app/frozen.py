"""What changes when cocomposer runs as the standalone app built by ``packaging/`` (PyInstaller sets ``sys.frozen``).

The app holds the player's commands (run, ui, demo, continue, ports, calibrate), not the developer's: ``eval`` needs
the training package and the benchmark prompts of a source checkout, and ``bench`` starts helper processes with
``python -m``, which a frozen app cannot do. Both are left out of the bundle, so the app says so in one line instead
of failing half way.
"""

from __future__ import annotations

import sys

from cocomposer.errors import CocomposerError

DEVELOPER_COMMANDS = ("eval", "bench")


def is_frozen() -> bool:
    """Whether this process is the standalone app (PyInstaller's bootloader sets ``sys.frozen``)."""
    return bool(getattr(sys, "frozen", False))


def check_command(command: str | None, frozen: bool | None = None) -> None:
    """Raise a clear CocomposerError for a developer command run inside the standalone app."""
    if command in DEVELOPER_COMMANDS and (is_frozen() if frozen is None else frozen):
        raise CocomposerError(
            f"`{command}` is a developer command and is not part of the standalone app; run it from a source "
            "checkout installed with pip (pip install -e '.[test,train]', see the README)"
        )
