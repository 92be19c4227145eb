"""The engine's host inside the panel: builds it with `build_engine`, rebuilds it, and survives faults.

Changing a port, the sync source or the model stops the running engine first (every note it opened gets its
note-off), closes its ports, and builds a new one with the latest settings. Faults never end the session:

* a named port that is missing (or that disappears) is replaced by the virtual port meanwhile, and :meth:`poll`
  (the panel calls it every ~2 s) switches back as soon as the port list holds it again;
* a model that fails to load leaves the engine on the model it had (at start: on the shipped model);
* a sync source that cannot start falls back to the internal clock.

Each fault is kept in :attr:`EngineHost.faults` (where -> message) for the panel to show. Qt-free.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import replace
from pathlib import Path

from cocomposer.engine.config import EngineConfig
from cocomposer.engine.core import Engine
from cocomposer.engine.factory import build_engine
from cocomposer.engine.settings import Settings
from cocomposer.errors import CocomposerError, ModelError
from cocomposer.midi import ports
from cocomposer.model.preferences import Preferences
from cocomposer.model.runtime import OnnxModel

log = logging.getLogger(__name__)
SIDES = ("input", "output")


def _present(name: str, available: list[str], kind: ports.Kind) -> bool:
    try:
        ports.match_port(name, available, kind)
    except CocomposerError:
        return False
    return True


class EngineHost:
    def __init__(
        self,
        config: EngineConfig,
        settings: Settings,
        on_engine: Callable[[Engine], None] = lambda engine: None,
        preferences: Preferences | None = None,
    ) -> None:
        """``on_engine(engine)`` runs for each new engine before it starts (subscribe to its events there)."""
        self.config = config
        self.settings = settings
        self.on_engine = on_engine
        self.preferences = preferences or Preferences()
        self.wanted: dict[str, str | None] = {"input": config.in_port, "output": config.out_port}
        self.using_named: dict[str, bool] = {"input": False, "output": False}
        self.engine: Engine | None = None
        self.faults: dict[str, str] = {}
        self._stack: ExitStack | None = None
        self._seen_scheduler_error: str | None = None
        self._take = 0
        self._recording: Path | None = None

    # -- life cycle --------------------------------------------------------------------------------------------------
    def start(self) -> bool:
        """Build and start the engine; False (with a fault) when none could run."""
        return self._rebuild()

    def stop(self) -> None:
        """Stop the engine (every note closed) and close its ports."""
        if self.engine is not None:
            self.settings = self.engine.settings
        stack, self._stack, self.engine = self._stack, None, None
        if stack is not None:
            try:
                stack.close()
            except Exception as err:  # a port that vanished may refuse the last note-offs
                log.warning("closing the engine: %s", err)

    @property
    def current_settings(self) -> Settings:
        return self.engine.settings if self.engine is not None else self.settings

    # -- what the panel changes ----------------------------------------------------------------------------------------
    def set_ports(self, in_port: str | None, out_port: str | None) -> bool:
        self.wanted = {"input": in_port, "output": out_port}
        for side in SIDES:
            self.faults.pop(side, None)
        return self._rebuild()

    def set_sync(self, sync: str) -> bool:
        self.config = replace(self.config, sync=sync)
        self.faults.pop("sync", None)
        if sync != "internal" and self.config.clock_out:
            self.config = replace(self.config, clock_out=False)
            self.faults["options"] = "clock out is now off: it sends the internal tempo, and the tempo now follows " + {
                "midi-clock": "the MIDI clock", "link": "Ableton Link"}.get(sync, sync)  # fmt: skip
        return self._rebuild()

    def set_option(self, name: str, value: object) -> bool:
        """An engine option that only a new engine takes (``clock_out``, ``output_offset`` in ms, ``record``: a
        path or None): the engine is rebuilt with it. Clock out is refused unless the tempo is the internal one."""
        if name == "clock_out" and value and self.config.sync != "internal":
            self.faults["options"] = "clock out sends the internal tempo: choose the internal clock under Sync first"
            return False
        self.faults.pop("options", None)
        field = {"output_offset": "output_offset_ms"}.get(name, name)
        self.config = replace(self.config, **{field: value})
        if name == "record":
            self._take = 0
        return self._rebuild()

    @property
    def recording(self) -> Path | None:
        """The file the running engine records to (each new engine while recording is a new take)."""
        return self._recording if self.engine is not None else None

    def set_model(self, path: Path | None) -> bool:
        """Swap the model; one that fails to load is refused and the engine plays on with the old one."""
        try:
            OnnxModel.load(path)
        except (CocomposerError, OSError, RuntimeError, ValueError) as err:
            self.faults["model"] = f"model {path} failed to load: {err}; still playing with the model loaded before"
            return False
        self.config = replace(self.config, model=path)
        self.faults.pop("model", None)
        return self._rebuild()

    def available(self) -> tuple[list[str], list[str]]:
        """The port names the backend lists now ([] with a fault where it cannot)."""
        try:
            found = ports.list_ports(self.config.api)
        except CocomposerError as err:
            self.faults["midi"] = f"cannot list MIDI ports: {err}"
            return [], []
        self.faults.pop("midi", None)
        return found

    def poll(self) -> bool:
        """Reconnect a named port that came back, fall back from one that left; True when the engine was rebuilt."""
        need = False
        error = self.engine.status().scheduler_error if self.engine is not None else None
        if error is not None and error != self._seen_scheduler_error:  # each engine reports its own (see _open)
            self._seen_scheduler_error = error
            self.faults["output"] = f"the output stopped sending ({error}); reopening the ports"
            need = True
        if any(self.wanted.values()):
            inputs, outputs = self.available()
            if self.faults.get("midi"):
                return False
            for side, available in zip(SIDES, (inputs, outputs), strict=True):
                name = self.wanted[side]
                if name is None:
                    continue
                if self.using_named[side] != _present(name, available, side):  # type: ignore[arg-type]
                    need = True  # it left while in use, or it came back
        return self._rebuild() if need else False

    # -- building ------------------------------------------------------------------------------------------------------
    def _effective_ports(self) -> dict[str, str | None]:
        effective = dict(self.wanted)
        if not any(effective.values()):
            return effective
        inputs, outputs = self.available()
        for side, available in zip(SIDES, (inputs, outputs), strict=True):
            name = effective[side]
            if name is None or _present(name, available, side):  # type: ignore[arg-type]
                self.faults.pop(side, None)
                continue
            virtual = "cocomposer in" if side == "input" else "cocomposer out"
            was = "disappeared" if self.using_named[side] else "is missing"
            self.faults[side] = (
                f"MIDI {side} {name!r} {was} (ports now: {', '.join(available) or 'none'}); using the virtual port "
                f"{virtual!r} meanwhile, and switching back when {name!r} returns"
            )
            effective[side] = None
        return effective

    def _rebuild(self) -> bool:
        settings = self.current_settings
        self.stop()
        self.settings = settings
        effective = self._effective_ports()
        for _ in range(4):
            try:
                self._open(effective, settings)
                self.faults.pop("engine", None)
                return True
            except ModelError as err:
                if self.config.model is None:
                    self.faults["engine"] = f"the engine cannot run: {err}"
                    return False
                self.faults["model"] = (
                    f"model {self.config.model} failed to load: {err}; playing with the shipped model"
                )
                self.config = replace(self.config, model=None)
            except (ImportError, CocomposerError) as err:
                if self.config.sync == "link" and isinstance(err, ImportError):
                    self.faults["sync"] = f"Ableton Link is not available ({err}); following the internal clock"
                    self.config = replace(self.config, sync="internal")
                elif any(effective.values()):
                    for side in SIDES:
                        if effective[side]:
                            self.faults[side] = f"could not open MIDI {side} {effective[side]!r}: {err}; using virtual"
                    effective = {"input": None, "output": None}
                else:
                    self.faults["engine"] = f"the engine cannot run: {err}"
                    return False
            except Exception as err:
                self.faults["engine"] = f"the engine cannot run: {type(err).__name__}: {err}"
                return False
        return False

    def _open(self, effective: dict[str, str | None], settings: Settings) -> None:
        config = replace(self.config, in_port=effective["input"], out_port=effective["output"])
        if config.record is not None:  # a rebuild while recording starts a new take, never overwrites the last
            self._take += 1
            path = Path(config.record)
            config = replace(
                config, record=path if self._take == 1 else path.with_name(f"{path.stem}-take{self._take}{path.suffix}")
            )
        self._recording = config.record
        stack = ExitStack()
        self._seen_scheduler_error = None  # a new engine: the same error from it is news again
        try:
            engine = build_engine(config, settings, stack)
            engine.preferences = self.preferences  # the engine adds its bias() to every answer's logits
            self.on_engine(engine)
            engine.start()
            stack.callback(engine.stop)  # runs before the ports close: every note gets its note-off
        except BaseException:
            stack.close()
            raise
        self._stack, self.engine = stack, engine
        self.using_named = {side: effective[side] is not None for side in SIDES}
