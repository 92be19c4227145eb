"""Where the panel keeps its files: the autosaved settings, presets, and the ratings log (platform conventions)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

APP = "cocomposer"


def config_dir() -> Path:
    """``$XDG_CONFIG_HOME/cocomposer`` (~/.config/cocomposer), ~/Library/Application Support/cocomposer, %APPDATA%."""
    if sys.platform == "win32":
        return Path(os.environ.get("APPDATA", Path.home() / "AppData" / "Roaming")) / APP
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Application Support" / APP
    return Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config") / APP


def data_dir() -> Path:
    """``$XDG_DATA_HOME/cocomposer`` (~/.local/share/cocomposer), ~/Library/Application Support/cocomposer,
    %LOCALAPPDATA%."""
    if sys.platform == "win32":
        return Path(os.environ.get("LOCALAPPDATA", Path.home() / "AppData" / "Local")) / APP
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Application Support" / APP
    return Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share") / APP


def default_config_file() -> Path:
    return config_dir() / "panel.toml"


def default_presets_dir() -> Path:
    return config_dir() / "presets"


def default_ratings_file() -> Path:
    return data_dir() / "ratings.jsonl"
