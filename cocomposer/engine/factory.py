"""The one place an engine is put together from what the command line asked for: model, ports, clock, recorder."""

from __future__ import annotations

from contextlib import ExitStack

from cocomposer.engine.config import JACK_INPUTS, JACK_OUTPUTS, SYNC_SOURCES, EngineConfig
from cocomposer.engine.core import Engine
from cocomposer.engine.settings import Settings
from cocomposer.errors import ConfigError
from cocomposer.midi import ports
from cocomposer.model.runtime import OnnxModel


def build_engine(config: EngineConfig, settings: Settings, stack: ExitStack) -> Engine:
    """Open ports and model as ``config`` says; everything opened is closed by ``stack``."""
    if config.sync not in SYNC_SOURCES:
        raise ConfigError(f"sync must be one of {', '.join(SYNC_SOURCES)}, got {config.sync!r}")
    # Refused before any port opens: a bad-flag run that had opened JACK ports once died of SIGSEGV on its way out
    if config.clock_in and config.sync != "midi-clock":
        raise ConfigError("--clock-in only makes sense with --sync midi-clock")
    if config.clock_out and config.sync != "internal":
        raise ConfigError("--clock-out sends the internal tempo; it cannot be combined with --sync midi-clock or link")
    for what, value, valid in (("output", config.jack_output, JACK_OUTPUTS), ("input", config.jack_input, JACK_INPUTS)):
        if value not in valid:
            raise ConfigError(f"jack {what} must be one of {', '.join(valid)}, got {value!r}")
    model = OnnxModel.load(config.model)
    frames = config.jack_input == "frames"
    timed = config.jack_output == "frames"
    pair = None
    if frames and timed:
        pair = ports.open_jack_pair(config.in_port, config.out_port, config.api, skip_own=True)
    if pair is not None:  # one helper for both, with the reflex (see cocomposer.midi.jack_frames)
        midi_in, midi_out = stack.enter_context(pair[0]), stack.enter_context(pair[1])
    else:
        midi_in = stack.enter_context(ports.open_input(config.in_port, config.api, skip_own=True, frames=frames))
        midi_out = stack.enter_context(ports.open_output(config.out_port, config.api, skip_own=True, timed=timed))
    sync = config.sync
    if sync == "link":
        from cocomposer.timing.link import LinkClock

        clock = LinkClock(settings.bpm, beats_per_bar=settings.beats_per_bar)
    else:
        clock = None
    engine = Engine(
        model,
        midi_in,
        midi_out,
        settings,
        clock=clock,
        sync=sync,
        output_offset=config.output_offset_ms / 1000.0,
        seed=config.seed,
    )
    if config.clock_in:
        clock_port = stack.enter_context(
            ports.open_input(config.clock_in, config.api, virtual_name="cocomposer clock", skip_own=True, frames=frames)
        )
        clock_port.start(engine.sink)
    if config.clock_out:
        from cocomposer.timing.midi_clock import ClockSender

        sender = ClockSender(midi_out.send, engine.clock)
        midi_out.on_connect(lambda _destination: sender.rejoin())  # a follower connecting late joins the count
        sender.start()
        stack.callback(sender.stop)
    if config.record:
        from cocomposer.engine.recorder import Recorder

        recorder = Recorder(engine, config.model, config.seed)
        stack.callback(lambda: recorder.save(config.record))
    return engine
