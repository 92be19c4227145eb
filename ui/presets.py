"""Presets: every setting and every CC binding in a TOML file, plus the panel's own choices (ports, sync, model).

The autosave (the last settings, back at the next start) is a preset too. A preset file looks like::

    [settings]
    mode = "call-response"
    temperature = 1.1
    panic_cc = "off"        # TOML has no null: an unset CC is "off"

    [cc]                    # CC number -> the setting its knob moves
    21 = "temperature"

    [panel]
    in_port = "Keystation"  # absent: the virtual port
    sync = "internal"
"""

from __future__ import annotations

import os
import sys
import tempfile
from dataclasses import dataclass, field, fields
from pathlib import Path

import tomli_w

from cocomposer.engine.settings import Settings
from cocomposer.errors import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

PANEL_KEYS = ("in_port", "out_port", "sync", "model")


@dataclass(frozen=True)
class Preset:
    settings: Settings
    panel: dict[str, str] = field(default_factory=dict)


def settings_to_tables(settings: Settings) -> dict[str, dict[str, object]]:
    values: dict[str, object] = {}
    for f in fields(Settings):
        if f.name == "cc":
            continue
        value = getattr(settings, f.name)
        values[f.name] = "off" if value is None else value
    return {"settings": values, "cc": {str(number): name for number, name in sorted(settings.cc.items())}}


def settings_from_tables(data: dict, where: str = "preset") -> Settings:
    """Settings from the [settings] and [cc] tables; a missing setting keeps its default, an unknown one is refused."""
    settings = Settings()
    table = data.get("settings", {})
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: [settings] must be a table")
    for name, value in table.items():
        settings = settings.with_value(name, value)  # ConfigError names the setting and the allowed values
    cc: dict[int, str] = {}
    for number, name in dict(data.get("cc", {})).items():
        if not str(number).isdigit():
            raise ConfigError(f"{where}: [cc] keys are CC numbers 0..127, got {number!r}")
        cc[int(number)] = str(name)
    return Settings(**{**settings.__dict__, "cc": cc})


def save_preset(path: Path, settings: Settings, panel: dict[str, str | None] | None = None) -> None:
    """Write atomically (a temporary file, then a rename), so a full disk never leaves half a preset."""
    tables: dict[str, object] = dict(settings_to_tables(settings))
    kept = {key: str(value) for key, value in (panel or {}).items() if value is not None and key in PANEL_KEYS}
    if kept:
        tables["panel"] = kept
    text = tomli_w.dumps(tables)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load_preset(path: Path) -> Preset:
    """Read a preset; ConfigError (with the file's name) when it is unreadable or holds a value no setting takes."""
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as err:
        raise ConfigError(f"cannot read preset {path}: {err.strerror or err}") from err
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"preset {path} is not valid TOML: {err}") from err
    try:
        settings = settings_from_tables(data, str(path))
    except ConfigError as err:
        raise ConfigError(f"preset {path}: {err}") from err
    panel = {key: str(value) for key, value in dict(data.get("panel", {})).items() if key in PANEL_KEYS}
    return Preset(settings, panel)
