"""The `cocomposer` command line: ports, run, demo, continue, eval, bench, calibrate, ui."""

from __future__ import annotations

import argparse
import math
import os
import sys
from dataclasses import fields
from pathlib import Path

from cocomposer import __version__
from cocomposer.app.cli_compose import add_compose_parser, add_provenance_parser, add_take_flags
from cocomposer.app.frozen import check_command
from cocomposer.console.helptext import CommandParser, HelpFormatter
from cocomposer.engine.config import JACK_INPUTS, JACK_OUTPUTS
from cocomposer.engine.settings import CC_TARGETS, MODES, QUANTIZE, Settings, parse_cc_bindings
from cocomposer.errors import CocomposerError
from cocomposer.model.continuation import DEFAULT_CADENCE
from cocomposer.model.sampling import DEFAULT_MIMIC

SETTING_HELP = {
    "mode": f"interaction mode: {', '.join(MODES)}",
    "temperature": "sampling temperature (0.05..3; higher is wilder)",
    "top_p": "nucleus sampling mass (0.05..1)",
    "style": "style label the model plays in (folk, celtic, chorale, renaissance, classical)",
    "mood": "auto (follow the player's key), major or minor",
    "bars": "answer length in bars, or auto (as many bars as the call, 1..8)",
    "key": "key lock: off, auto (estimated from the player) or a key such as 'D minor'",
    "low": "lowest MIDI pitch the model may play",
    "high": "highest MIDI pitch the model may play",
    "density": "more (>1) or fewer (<1) notes",
    "velocity": "'follow' the player's dynamics, or a fixed velocity 1..127",
    "in_channel": "listen to this MIDI channel only (1..16; 0 = all)",
    "out_channel": "MIDI channel of the answers (1..16)",
    "accompany_channel": "MIDI channel of the accompaniment (1..16)",
    "quantize": f"answers start on the next {' / '.join(QUANTIZE)}",
    "silence": "beats of silence that end the player's phrase",
    "max_phrase_bars": "a phrase longer than this many bars is answered anyway",
    "hold_bars": "a key held this many bars (0.5..32) stops holding the phrase open: a lost note-off",
    "barge_in": "stop the answer when the player plays (true/false)",
    "thru": "also pass the player's notes to the output (true/false)",
    "horizon": "beats the accompanist plans ahead",
    "trigger_cc": "continue mode: double-tap this CC (64 = sustain pedal) to ask for an answer",
    "phrase_end_cc": "a CC (e.g. a footswitch) that ends the phrase at once",
    "panic_cc": "a CC that closes every note cocomposer opened",
    "bpm": "internal tempo in BPM",
    "beats_per_bar": "beats (quarter notes) in a bar, for --quantize bar and the model's sense of the bar",
    "meter": "time signature the model hears, e.g. 3/4 or 6/8 (auto: beats per bar over 4; sets beats per bar)",
    "min_note": "shortest note the model may play, in ticks of 1/12 beat",
    "mimic": "0..2: how much the answer borrows the player's own intervals and rhythms (0: the network alone)",
    "cadence": "0..4: how strongly the answer's last bar closes on the key's tonic chord (0: off)",
}


def _shown(value: object) -> str:
    """A Settings default as a player would type it."""
    if value is None:
        return "off"
    if isinstance(value, bool):
        return "true" if value else "false"
    return f"{value:g}" if isinstance(value, float) else str(value)


def add_setting_flags(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("musical settings (all can change live)")
    defaults = Settings()
    for f in fields(Settings):
        if f.name == "cc":
            continue
        flag = "--" + f.name.replace("_", "-")
        default = "auto" if f.name == "bars" and defaults.bars == 0 else _shown(getattr(defaults, f.name))
        text = f"{SETTING_HELP[f.name]} (default: {default})"
        group.add_argument(flag, dest=f"setting_{f.name}", default=None, metavar="VALUE", help=text)
    group.add_argument(
        "--cc",
        action="append",
        default=[],
        metavar="NAME=NUMBER",
        help="bind a setting to a MIDI CC, e.g. --cc temperature=21 (repeatable; default: none); bindable: "
        + ", ".join(CC_TARGETS),
    )


def settings_from_args(args: argparse.Namespace, base: Settings | None = None) -> Settings:
    settings = base or Settings()
    for f in fields(Settings):
        value = getattr(args, f"setting_{f.name}", None)
        if value is not None:
            settings = settings.with_value(f.name, value)
    if getattr(args, "cc", None):
        settings = Settings(**{**settings.__dict__, "cc": {**settings.cc, **parse_cc_bindings(args.cc)}})
    return settings


def _number(kind: type, low: float, high: float, what: str):
    """An argparse type: a finite ``kind`` within low..high, else a clear usage error."""

    def parse(text: str) -> float:
        try:
            value = kind(text)
        except ValueError:
            value = None
        if value is None or not math.isfinite(value) or not low <= value <= high:
            kind_name = "whole number" if kind is int else "number"
            raise argparse.ArgumentTypeError(f"{what} must be a {kind_name} within {low:g}..{high:g}, got {text!r}")
        return value

    parse.__name__ = what  # argparse names the type in its messages
    return parse


def add_api_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--api",
        default="auto",
        help="MIDI backend: auto (ALSA on Linux if present, else a running JACK server; CoreMIDI on macOS, "
        "WinMM on Windows), alsa, jack, coremidi, winmm",
    )


def add_model_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", type=Path, metavar="FILE.onnx", help="an exported model (default: the shipped one)")


def add_port_flags(parser: argparse.ArgumentParser) -> None:
    add_api_flag(parser)
    parser.add_argument(
        "--in", dest="in_port", metavar="NAME", help="listen on this port (default: a virtual port 'cocomposer in')"
    )
    parser.add_argument(
        "--out", dest="out_port", metavar="NAME", help="play to this port (default: a virtual port 'cocomposer out')"
    )
    parser.add_argument(
        "--jack-output",
        default="frames",
        choices=JACK_OUTPUTS,
        help="on JACK, how answer notes leave: frames (each at its exact frame in the audio period, through a small "
        "helper process) or rtmidi (at the start of the next period)",
    )
    parser.add_argument(
        "--jack-input",
        default="frames",
        choices=JACK_INPUTS,
        help="on JACK, how the player's notes arrive: frames (each handed on as its audio period is read, stamped "
        "by its frame, through a small helper process) or rtmidi (python-rtmidi's queue, read every 0.5 ms)",
    )
    add_model_flag(parser)
    parser.add_argument(
        "--sync",
        default="internal",
        choices=("internal", "midi-clock", "link"),
        help="follow the internal tempo, the MIDI clock on the input (or --clock-in), or Ableton Link",
    )
    parser.add_argument("--clock-in", metavar="NAME", help="a separate port carrying MIDI clock (default: none)")
    parser.add_argument(
        "--clock-out", action="store_true", help="send MIDI clock and start/stop at the internal tempo (default: off)"
    )
    parser.add_argument(
        "--output-offset",
        type=_number(float, -1000, 1000, "--output-offset"),
        default=0.0,
        metavar="MS",
        help="shift everything sent by MS milliseconds, -1000..1000 (negative sends early)",
    )
    parser.add_argument(
        "--record", type=Path, metavar="FILE.mid", help="write the session (player and AI) here (default: no file)"
    )
    parser.add_argument("--seed", type=int, help="random seed, for repeatable answers (default: a new one each run)")
    add_setting_flags(parser)


def build_parser() -> argparse.ArgumentParser:
    parser = CommandParser(
        prog="cocomposer", description="A real-time AI co-composer over MIDI.", formatter_class=HelpFormatter
    )
    parser.add_argument("--version", action="version", version=f"cocomposer {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    def command(name: str, text: str) -> argparse.ArgumentParser:
        return sub.add_parser(name, help=text, description=text, formatter_class=HelpFormatter)

    add_api_flag(command("ports", "list MIDI inputs and outputs"))
    add_port_flags(command("run", "listen and answer live over MIDI (headless; commands on standard input)"))

    p = command("ui", "open the stage panel with the engine running")
    add_port_flags(p)
    p.add_argument(
        "--config", type=Path, metavar="FILE.toml", help="where the panel keeps its last settings (default: per user)"
    )
    p.add_argument(
        "--ratings", type=Path, metavar="FILE.jsonl", help="where likes and dislikes are logged (default: per user)"
    )

    p = command("demo", "play a bundled phrase through the real engine and model; write the call and the answer")
    add_api_flag(p)
    p.add_argument("--loopback", action="store_true", help="use in-process ports even where virtual ports work")
    p.add_argument("-o", "--output", type=Path, default=Path("cocomposer-demo.mid"), help="the MIDI file to write")
    add_model_flag(p)
    p.add_argument("--seed", type=int, default=1, help="random seed (the same seed gives the same answer)")
    add_setting_flags(p)

    p = command("continue", "continue the phrase in a MIDI file (offline)")
    p.add_argument("input", type=Path, help="a MIDI file holding the phrase to continue")
    p.add_argument("-o", "--output", type=Path, required=True, help="the MIDI file to write (phrase + continuation)")
    p.add_argument(
        "--bars",
        default="4",
        help="bars of the file's own time signature (4/4 if none), 0.25..32, or auto: as many as the phrase",
    )
    p.add_argument(
        "--quantize",
        choices=("bar", "beat"),
        default="bar",
        help="start on the next bar line after the phrase, or the next beat (always ends on a bar line)",
    )
    p.add_argument("--style", default="folk", help=SETTING_HELP["style"])
    p.add_argument("--mood", default="auto", help=SETTING_HELP["mood"])
    p.add_argument("--temperature", type=float, default=1.0, help=SETTING_HELP["temperature"])
    p.add_argument("--top-p", type=float, default=0.95, help=SETTING_HELP["top_p"])
    p.add_argument("--key", default="off", help="key lock: off, auto or e.g. 'D minor'")
    p.add_argument("--mimic", type=float, default=DEFAULT_MIMIC, help=SETTING_HELP["mimic"])
    p.add_argument("--cadence", type=float, default=DEFAULT_CADENCE, help=SETTING_HELP["cadence"])
    p.add_argument(
        "--register",
        choices=("call", "wide"),
        default="call",
        help="call: answer in the phrase's register and number of voices; wide: anywhere in 36..96",
    )
    p.add_argument("--seed", type=int, default=0, help="random seed (the same seed gives the same file)")
    add_model_flag(p)
    add_take_flags(p)

    add_compose_parser(sub)
    add_provenance_parser(sub)

    p = command(
        "eval", "evaluate the model on the test split (needs the train extra); --musical: the musical benchmark"
    )
    p.add_argument(
        "args",
        nargs=argparse.REMAINDER,
        help="passed on: see `cocomposer eval --help` and `cocomposer eval --musical --help`",
    )

    p = command("bench", "measure step time, end-to-end latency and start-up (prints a table, writes JSON)")
    p.add_argument("--full", action="store_true", help="longer runs (several minutes)")
    p.add_argument("-o", "--output", type=Path, default=Path("bench.json"), help="where to write the JSON")
    p.add_argument(
        "--soak",
        type=_number(float, 0.1, 24 * 60, "--soak"),
        metavar="MINUTES",
        help="instead: run accompany mode this long under a player client; report memory, threads, what sounds",
    )
    add_model_flag(p)

    p = command("calibrate", "measure the round trip out->in through a loopback route; suggest an offset")
    add_api_flag(p)
    p.add_argument("--in", dest="in_port", metavar="NAME", required=True, help="the port the loopback route ends on")
    p.add_argument("--out", dest="out_port", metavar="NAME", required=True, help="the port it starts from")
    p.add_argument("--count", type=_number(int, 1, 10_000, "--count"), default=50, help="notes to send, 1..10000")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    argv = sys.argv[1:] if argv is None else argv
    eval_only = argv[:1] == ["eval"]  # its flags belong to the evaluation's own parser
    args = argparse.Namespace(command="eval", args=argv[1:]) if eval_only else parser.parse_args(argv)
    try:
        return _dispatch(parser, args)
    except CocomposerError as err:
        print(f"cocomposer: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def _dispatch(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    command = args.command
    check_command(command)  # the standalone app leaves out eval and bench
    if command is None:
        from cocomposer.app.run import display_available

        if display_available():
            command, args = "ui", parser.parse_args(["ui"])
        else:
            parser.print_help()
            return 0
    if command == "ports":
        from cocomposer.midi import ports

        inputs, outputs = ports.list_ports(args.api)
        print("MIDI inputs (cocomposer can listen to):")
        print("\n".join(f"  {name}" for name in inputs) or "  (none)")
        print("MIDI outputs (cocomposer can play to):")
        print("\n".join(f"  {name}" for name in outputs) or "  (none)")
        return 0
    if command == "run":
        from cocomposer.app.run import run_live

        return run_live(args, settings_from_args(args))
    if command == "ui":
        from cocomposer.app.run import run_ui

        return run_ui(args, settings_from_args(args))
    if command == "demo":
        from cocomposer.app.demo import run_demo

        return run_demo(args, settings_from_args(args))
    if command == "continue":
        return _continue(args)
    if command == "compose":
        from cocomposer.app.compose import run_compose

        return run_compose(args)
    if command == "provenance":
        from cocomposer.app.keep import run_provenance

        return run_provenance(args)
    if command == "eval" and "--musical" in args.args:
        from cocomposer.bench.musicality import main as musical_main

        return musical_main(args.args)
    if command == "eval":
        try:
            from cocomposer.training.__main__ import main as training_main
        except ImportError as err:
            raise CocomposerError("eval needs the train extra: pip install -e '.[train]'") from err
        return training_main(["eval", *args.args], prog="cocomposer")
    if command == "bench" and args.soak is not None:
        from cocomposer.bench.soak import main as soak_main

        return soak_main(args.soak, args.output)
    if command == "bench":
        from cocomposer.bench.runner import run_bench

        return run_bench(args)
    if command == "calibrate":
        from cocomposer.app.calibrate import run_calibrate

        return run_calibrate(args)
    parser.error(f"unknown command {command}")
    return 2


def _continue(args: argparse.Namespace) -> int:
    from cocomposer.model.continuation import Conversation
    from cocomposer.model.sampling import Controls
    from cocomposer.music.keys import parse_key

    if args.key not in ("off", "auto"):
        parse_key(args.key)  # a clear error before any work
    controls = Controls(temperature=args.temperature, top_p=args.top_p, mimic=args.mimic)
    settings = Settings(style=args.style, mood=args.mood, cadence=args.cadence)  # clear errors for bad values
    bars = None if args.bars == "auto" else settings.with_value("bars", args.bars).bars
    conversation = Conversation(follow_call=args.register == "call", cadence=args.cadence)
    from cocomposer.app.keep import continue_takes

    return continue_takes(args, bars, controls, conversation)


def run_as_program() -> None:
    """The `cocomposer` command: :func:`main`, then the process ends with its status. After JACK was used, without
    the interpreter's teardown (everything is closed and flushed by then): see
    :func:`cocomposer.midi.backends.jack_used`."""
    status = main()
    from cocomposer.midi.backends import jack_used

    if jack_used():
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(status)
    sys.exit(status)


if __name__ == "__main__":
    run_as_program()
