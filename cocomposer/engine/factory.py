"""The one place an engine is put together from what the command line asked for: model, ports, clock, recorder."""

from __future__ import annotations

import argparse
from contextlib import ExitStack

from cocomposer.engine.core import Engine
from cocomposer.engine.settings import Settings
from cocomposer.errors import ConfigError
from cocomposer.midi import ports
from cocomposer.model.runtime import OnnxModel


def build_engine(args: argparse.Namespace, settings: Settings, stack: ExitStack) -> Engine:
    """Open ports and model as the flags say; everything opened is closed by ``stack``."""
    model = OnnxModel.load(args.model)
    midi_in = stack.enter_context(ports.open_input(args.in_port, args.api))
    midi_out = stack.enter_context(ports.open_output(args.out_port, args.api))
    sync = args.sync
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
        sync="midi-clock" if sync == "midi-clock" else sync,
        output_offset=args.output_offset / 1000.0,
        seed=args.seed,
    )
    if args.clock_in:
        if sync != "midi-clock":
            raise ConfigError("--clock-in only makes sense with --sync midi-clock")
        clock_port = stack.enter_context(ports.open_input(args.clock_in, args.api, virtual_name="cocomposer clock"))
        clock_port.start(engine.sink)
    if args.clock_out:
        from cocomposer.timing.clock import InternalClock
        from cocomposer.timing.midi_clock import ClockSender

        if not isinstance(engine.clock, InternalClock):
            raise ConfigError(
                "--clock-out sends the internal tempo; it cannot be combined with --sync midi-clock or link"
            )
        sender = ClockSender(midi_out.send, engine.clock)
        sender.start()
        stack.callback(sender.stop)
    if args.record:
        from cocomposer.engine.recorder import Recorder

        recorder = Recorder(engine)
        stack.callback(lambda: recorder.save(args.record))
    return engine
