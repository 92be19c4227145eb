"""What the engine does with each command (:mod:`cocomposer.engine.commands`), on the engine thread."""

from __future__ import annotations

from typing import Any

from cocomposer.engine import commands as cmd
from cocomposer.engine.jobs import ForgetPlayer
from cocomposer.engine.settings import Settings
from cocomposer.errors import ConfigError


def carry_out(engine: Any, command: cmd.Command) -> None:
    """Carry out ``command`` on ``engine`` (an :class:`~cocomposer.engine.core.Engine`); a bad one raises
    :class:`~cocomposer.errors.ConfigError`."""
    if isinstance(command, cmd.Panic):
        engine.panic_now()
    elif isinstance(command, cmd.Trigger):
        engine._perform(engine.mode.trigger(engine.clock.beat_at(engine.now())))
    elif isinstance(command, cmd.Set):
        engine._set(command.name, engine.settings.with_value(command.name, command.value))
    elif isinstance(command, cmd.SetMode):
        engine._set("mode", engine.settings.with_value("mode", command.mode))
    elif isinstance(command, cmd.Forget):
        engine.generator.submit(ForgetPlayer())
    elif isinstance(command, cmd.ApplySettings | cmd.Update):
        settings = command.settings if isinstance(command, cmd.ApplySettings) else command.change(engine.settings)
        if not isinstance(settings, Settings):
            raise ConfigError(f"a preset is a whole Settings, got {settings!r}")
        engine._set("*", settings)
    elif isinstance(command, cmd.PlayNotes):
        engine.scheduler.replace("take", command.at(engine.beat_at(engine.now()), engine.settings), close_sounding=True)
    elif isinstance(command, cmd.Sync):
        engine.generator.submit(lambda worker: command.done.set())  # runs after every job queued before it
    else:
        raise ConfigError(f"unknown command {command!r}; commands: {cmd.WORDS}")
