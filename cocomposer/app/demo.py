"""`cocomposer demo`: a bundled call phrase through the real engine and model, the answer to a MIDI file.

Where the MIDI backend can make virtual ports (ALSA, JACK, CoreMIDI), the phrase really travels through
"cocomposer in" and the answer comes back on "cocomposer out"; elsewhere an in-process loopback stands in.
"""

from __future__ import annotations

import argparse
import math
import threading
import time
from contextlib import ExitStack

from cocomposer.engine.core import Engine
from cocomposer.engine.events import AnswerPlanned, AnswerRequested
from cocomposer.engine.settings import Settings
from cocomposer.errors import CocomposerError
from cocomposer.midi import ports
from cocomposer.midi_bytes import NOTE_OFF, NOTE_ON
from cocomposer.model.runtime import OnnxModel
from cocomposer.music import codec
from cocomposer.music.keys import note_name
from cocomposer.music.midifile import write_tracks
from cocomposer.music.phrases import demo_phrase


class _Listener:
    """Collects what arrives on the listening port: (seconds, message)."""

    def __init__(self) -> None:
        self.events: list[tuple[float, ports.Message]] = []
        self.cond = threading.Condition()

    def __call__(self, t_ns: int, message: ports.Message) -> None:
        with self.cond:
            self.events.append((t_ns / 1e9, message))
            self.cond.notify_all()


def _open(
    api: str, loopback: bool, stack: ExitStack
) -> tuple[ports.MidiIn, ports.MidiOut, ports.MidiOut, ports.MidiIn, str]:
    """(engine in, engine out, player out, listener in, description)."""
    if not loopback:
        try:
            pair = ports.open_jack_pair(None, None, api)  # as `run` opens them: on JACK, one helper for both
            if pair is not None:
                engine_in, engine_out = stack.enter_context(pair[0]), stack.enter_context(pair[1])
            else:
                engine_in = stack.enter_context(ports.open_input(None, api, frames=True))
                engine_out = stack.enter_context(ports.open_output(None, api, timed=True))
            listener = stack.enter_context(
                ports.open_input(engine_out.name, api, virtual_name="demo listener", client_name="cocomposer-demo")
            )
            player = stack.enter_context(
                ports.open_output(engine_in.name, api, virtual_name="demo player", client_name="cocomposer-demo")
            )
            return engine_in, engine_out, player, listener, f"virtual ports '{engine_in.name}' / '{engine_out.name}'"
        except CocomposerError as err:
            why = f" ({first_sentence(err)})"
    else:
        why = ""
    engine_in, player = ports.loopback_pair("demo player")
    listener, engine_out = ports.loopback_pair("demo listener")
    for port in (engine_in, player, listener, engine_out):
        stack.enter_context(port)
    return engine_in, engine_out, player, listener, f"an in-process loopback{why}"


def first_sentence(err: object, limit: int = 120) -> str:
    """The gist of an error for a one-line note: its first sentence, at most ``limit`` characters."""
    text = str(err).split(". ")[0].rstrip(".")
    return text if len(text) <= limit else text[: limit - 3].rstrip() + "..."


def piano_roll(call: list[codec.Note], answer: list[codec.Note], steps_per_beat: int = 4) -> str:
    """A small text piano roll: 'o' the call, '#' the answer, one column a sixteenth, one row a pitch."""
    notes = [(n, "o") for n in call] + [(n, "#") for n in answer]
    if not notes:
        return "(no notes)"
    low, high = min(n.pitch for n, _ in notes), max(n.pitch for n, _ in notes)
    end = max(n.end for n, _ in notes)
    width = int(end * steps_per_beat) + 1
    lines = []
    for pitch in range(high, low - 1, -1):
        row = ["|" if c % (4 * steps_per_beat) == 0 else "." if c % steps_per_beat == 0 else " " for c in range(width)]
        for n, mark in notes:
            if n.pitch == pitch:
                for c in range(
                    int(round(n.start * steps_per_beat)),
                    max(int(round(n.end * steps_per_beat)), int(round(n.start * steps_per_beat)) + 1),
                ):
                    if c < width:
                        row[c] = mark
        lines.append(f"{note_name(pitch):>4}{''.join(row)}")
    return "\n".join(lines)


def run_demo(args: argparse.Namespace, settings: Settings) -> int:
    """Play the bundled call and write it with the answer. Unless --key is given the answer is key-locked to the
    call's key ("auto"), and the seed is fixed (--seed, default 1): a first try sounds in key, the same every time."""
    if getattr(args, "setting_key", None) is None:
        settings = settings.with_value("key", "auto")
    phrase = demo_phrase()
    model = OnnxModel.load(args.model)
    bpm = settings.bpm
    with ExitStack() as stack:
        engine_in, engine_out, player, listener_port, how = _open(args.api, args.loopback, stack)
        engine = Engine(model, engine_in, engine_out, settings, seed=args.seed)
        planned = threading.Event()
        phrase_end: list[float] = []
        answer_end: list[float] = []

        def on_event(event: AnswerRequested | AnswerPlanned) -> None:
            if isinstance(event, AnswerRequested):
                phrase_end.append(event.time)  # the engine's clock: time.perf_counter, as the listener's stamps
            else:
                answer_end.append(event.end_beat)
                planned.set()

        engine.subscribe(on_event, AnswerRequested, AnswerPlanned)
        listener = _Listener()
        listener_port.start(listener)
        engine.start()
        stack.callback(engine.stop)
        print(f"playing the call phrase ({len(phrase)} notes, {bpm:.0f} BPM) through {how}...")
        beat0 = math.ceil(engine.beat_at(engine.now()) + 0.25)  # the next whole beat, a little ahead
        events = sorted([(n.start, 1, n) for n in phrase] + [(n.end, 0, n) for n in phrase], key=lambda e: e[:2])
        for beat, is_on, n in events:
            due = engine.time_at(beat0 + beat)
            while (left := due - engine.now()) > 0:
                time.sleep(min(left, 0.01))
            player.send((NOTE_ON, n.pitch, n.velocity) if is_on else (NOTE_OFF, n.pitch, 0))
        if not planned.wait(timeout=10 + settings.silence * 60 / bpm):
            raise CocomposerError("the engine did not answer the demo phrase within 10 s")
        end_time = engine.time_at(answer_end[0]) + 0.3
        while engine.now() < end_time:
            time.sleep(0.01)
        first_out = next((t for t, m in listener.events if ports.is_note_on(m)), None)
        answer_notes = _notes_from_events(listener.events, engine, beat0)
        call = [codec.Note(n.start, n.end, n.pitch, n.velocity) for n in phrase]
    write_tracks(args.output, [("call (demo phrase)", call, 0), ("cocomposer answer", answer_notes, 1)], bpm=bpm)
    print(piano_roll(call, answer_notes))
    print("o = call, # = answer; one column a sixteenth, '|' a bar line")
    if first_out is not None and phrase_end:
        print(
            f"answer: {len(answer_notes)} notes; first note {1000 * (first_out - phrase_end[0]):.1f} ms after the "
            f"phrase was known to have ended ({settings.silence:g} beat of silence), "
            f"quantize {settings.quantize}"
        )
    else:
        print("the answer held no notes")
    print(f"wrote {args.output}")
    return 0


def _notes_from_events(events: list[tuple[float, ports.Message]], engine: Engine, beat0: float) -> list[codec.Note]:
    """The answer as it arrived, each time put back on the model's grid (1/12 beat): the engine plays on that grid,
    and the few milliseconds the ports and threads add differ from run to run, which would change the file."""
    notes, open_notes = [], {}
    for t, msg in events:
        beat = round((engine.beat_at(t) - beat0) * codec.TICKS_PER_BEAT) / codec.TICKS_PER_BEAT
        if ports.is_note_on(msg):
            open_notes[msg[1]] = (beat, msg[2])
        elif ports.is_note_off(msg) and msg[1] in open_notes:
            start, vel = open_notes.pop(msg[1])
            notes.append(codec.Note(start, beat, msg[1], vel))
    return sorted(notes)
