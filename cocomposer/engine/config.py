"""How an engine is put together (model, ports, clock source, recording): what ``build_engine`` needs, as one
typed value. The CLI, the panel and the bench each make one; none of them hands the engine an argparse Namespace."""

from __future__ import annotations

import argparse
from dataclasses import dataclass, fields
from pathlib import Path

SYNC_SOURCES = ("internal", "midi-clock", "link")
JACK_OUTPUTS = ("frames", "rtmidi")
JACK_INPUTS = JACK_OUTPUTS  # the same two ways in


@dataclass(frozen=True)
class EngineConfig:
    model: Path | None = None  # an exported .onnx model; None: the shipped one
    in_port: str | None = None  # a port to listen on; None: a virtual port "cocomposer in"
    out_port: str | None = None  # a port to play to; None: a virtual port "cocomposer out"
    api: str = "auto"  # the MIDI backend (see cocomposer.midi.ports)
    jack_output: str = "frames"  # on JACK: "frames" (each message at its frame, cocomposer.midi.jack_frames), "rtmidi"
    jack_input: str = "frames"  # on JACK: "frames" (each message as its period is read, stamped by frame), "rtmidi"
    sync: str = "internal"  # one of SYNC_SOURCES
    output_offset_ms: float = 0.0  # every note is sent this much later (negative: earlier) than its beat
    seed: int | None = None  # the generator's random seed (repeatable answers)
    clock_in: str | None = None  # a separate port carrying MIDI clock (with sync "midi-clock")
    clock_out: bool = False  # send MIDI clock and start/stop at the internal tempo
    record: Path | None = None  # write the session (player and AI) to this MIDI file when it ends

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> EngineConfig:
        """The fields the command line gave (flags a subcommand does not have keep their defaults)."""
        given = {f.name: getattr(args, f.name) for f in fields(cls) if hasattr(args, f.name)}
        if hasattr(args, "output_offset"):
            given["output_offset_ms"] = args.output_offset
        return cls(**given)
