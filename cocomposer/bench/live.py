"""The end-to-end benchmark: a player ends phrases, cocomposer answers, a listener times every note, through JACK.

The engine runs in this process, built by :func:`cocomposer.engine.factory.build_engine` with its real ports on a
JACK server (see :mod:`cocomposer.bench.jack`); the player-listener and the flood are other processes (see
:mod:`cocomposer.bench.client`). Call-and-response, quantize off, 300 BPM. Each phrase is three sixteenth notes on
the engine's beat grid, then the end-of-phrase CC (``Settings.phrase_end_cc``, a footswitch) on the next beat; the
answer lasts one beat; the next phrase's first note comes a quarter beat after that beat (a cycle of 2 beats). Each
end-of-phrase CC comes up to ``CC_SPREAD_SECONDS`` late, at random (seeded): a beat at 300 BPM is 150 JACK periods
exactly, so without it every phrase would end at the same point of the period, and a run would measure that one
point (the medians of two runs differed by 1 ms).

Two numbers per condition (quiet input, then a second client flooding the input with 1,000 messages a second):

* **phrase end -> first answer note**: from the moment the player's client sent the end-of-phrase CC to the moment
  the first note of the answer reached the listening client. Counted over the answers whose first note is meant to
  sound at the phrase end; an answer that opens with a rest has no reaction time to measure (its first note is
  scheduled later, and counts in the next number).
* **arrival error**: for every answer note, its arrival at the listening client minus the time the scheduler meant
  it to sound (``clock.time_at(note.start_beat) + output_offset``). The target is judged on the notes the scheduler
  held before their time ("ahead": by at least the output's lead, ``Scheduler.ahead``, which a timed output needs
  to place a note on its frame; 0 for python-rtmidi); the first note of an immediate answer reaches the scheduler
  later than that (it is the reaction above) and is reported with all notes.

With both ports on JACK-Client (the default), one helper holds them, and an answer drafted with a note at its
start is armed there: the CC plays that note in the very period that reads it, at the CC's frame (the reflex, see
:mod:`cocomposer.engine.reflex`); ``reflex_fired`` and ``reflex_claimed`` count those. On the dummy driver a late
period's frames keep the times they should have had, so such a note can read as sounding before the player's client
sent the CC (a negative reaction, by up to the period's lateness); the frames listener's callback times beside it
never do.

"Reached the listening client" is the time of the frame the note landed on (``jack_frames_to_time``), read by a
JACK-Client listener in a process of its own (``bench.client frames``): when a synth would play it. The times two
listening programs saw each note (that listener's callback, and the player's python-rtmidi input) are reported
beside it (``other_listeners``); on the dummy driver, whose periods start when a sleeping thread wakes, a frame's
time and the time its period's callback ran differ by up to a period or more under load.
"""

from __future__ import annotations

import math
import random
import threading
import time
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from cocomposer.bench.client import ClientProcess
from cocomposer.bench.jack import full_port_name
from cocomposer.bench.stats import Summary
from cocomposer.console.progress import Progress
from cocomposer.engine import events as ev
from cocomposer.engine.scheduler import ScheduledNote
from cocomposer.engine.settings import Settings
from cocomposer.errors import CocomposerError
from cocomposer.midi_bytes import CONTROL_CHANGE, NOTE_OFF, NOTE_ON, is_note_on

CALL_NOTES = 3
CYCLE_BEATS = 2.0  # phrase (1 beat, ending with the CC) + answer (1 beat)
ANSWER_BARS = 0.25  # one beat in 4/4
EPS_BEATS = 1e-6
CC_SPREAD_SECONDS = 0.004  # three periods of 64 frames at 48 kHz: the phrase end falls anywhere in the period
OTHER_LISTENER_KEYS = ("phrase_end_to_first_note_ms", "arrival_error_ahead_ms", "notes_arrived")


class LiveBenchError(CocomposerError, RuntimeError):
    """The end-to-end bench could not run (a client did not start, the engine did not answer at all)."""


@dataclass(frozen=True)
class LiveConfig:
    phrases: int = 60
    warmup: int = 3
    bpm: float = 300.0  # fast, so that a quick run fits 2 x 60 phrases in under a minute
    flood_rate: float = 1000.0
    phrase_end_cc: int = 85
    seed: int = 1
    conditions: tuple[str, ...] = ("quiet", "flood")
    # Play on until ``phrases`` answers began at once (each gives one "phrase end -> first note"), at most
    # ``max_factor`` times as many phrases; False: play exactly ``phrases`` phrases.
    until_measured: bool = False
    max_factor: int = 3
    jack_output: str = "frames"  # how the engine sends on JACK (EngineConfig.jack_output)
    jack_input: str = "frames"  # how the engine listens on JACK (EngineConfig.jack_input)

    def settings(self) -> Settings:
        return Settings(
            mode="call-response",
            quantize="off",
            bars=ANSWER_BARS,
            silence=16.0,  # the CC ends each phrase long before the silence window would
            phrase_end_cc=self.phrase_end_cc,
            bpm=self.bpm,
        )


class _Recorder:
    """The engine's events, with the engine's own timestamps (its clock is ``time.perf_counter``, which the player
    process stamps with too): each answer request, note sent, end-of-phrase CC, and each answer note as it was handed
    to the scheduler (for its intended beat)."""

    def __init__(self, phrase_end_cc: int) -> None:
        self.cond = threading.Condition()
        self.phrase_end_cc = phrase_end_cc
        self.phrase_end_ccs: list[int] = []  # t_ns the engine heard each end-of-phrase CC
        self.notes_in = 0  # note-ons and note-offs the engine heard
        self.requested: list[tuple[int, float]] = []  # (t_ns, start_beat)
        self.note_ons: list[tuple[float, int]] = []  # (send time in s, pitch), tag "answer"
        self.handed: list[tuple[int, ScheduledNote]] = []  # (t_ns the generator handed it over, note)
        self._seen: set[tuple[float, int]] = set()
        self.late = 0
        self.errors: list[str] = []

    def on_event(self, event: ev.Event) -> None:
        with self.cond:
            if isinstance(event, ev.AnswerRequested) and event.tag == "answer":
                self.requested.append((int(event.time * 1e9), event.start_beat))
            elif isinstance(event, ev.NoteOut) and event.tag == "answer" and event.on:
                self.note_ons.append((event.time, event.pitch))
            elif isinstance(event, ev.NotesScheduled):  # a note-on handed early comes again with its end: once
                for note in event.notes:
                    if note.tag == "answer" and (note.start_beat, note.pitch) not in self._seen:
                        self._seen.add((note.start_beat, note.pitch))
                        self.handed.append((int(event.time * 1e9), note))
            elif isinstance(event, ev.ControlIn) and event.number == self.phrase_end_cc:
                self.phrase_end_ccs.append(int(event.time * 1e9))
            elif isinstance(event, ev.NoteIn):
                self.notes_in += 1
            elif isinstance(event, ev.Late):
                self.late += 1
            elif isinstance(event, ev.EngineError):
                self.errors.append(f"{event.where}: {event.message}")
            self.cond.notify_all()

    def marks(self) -> tuple[int, int, int, int]:
        with self.cond:
            return len(self.requested), len(self.note_ons), len(self.handed), self.late

    def wait_for(self, predicate: Callable[[], bool], timeout: float) -> bool:
        with self.cond:
            return self.cond.wait_for(predicate, timeout)


def _call(
    beat0: float, pitches: Sequence[int], cc: int, time_at: Callable[[float], float], cc_late: float = 0.0
) -> list:
    """The phrase's messages with their send times (ns); the CC ``cc_late`` seconds after its beat."""
    events = []
    for i, pitch in enumerate(pitches):
        on = beat0 + 0.25 * (i + 1)
        events += [(time_at(on), (NOTE_ON, pitch, 90)), (time_at(on + 0.2), (NOTE_OFF, pitch, 0))]
    events.append((time_at(beat0 + 1.0) + cc_late, (CONTROL_CHANGE, cc, 127)))
    return [[int(t * 1e9), list(msg)] for t, msg in sorted(events)]


def _run_phrases(
    engine, rec: _Recorder, player: ClientProcess, config: LiveConfig, pitches: Sequence[int]
) -> list[dict]:
    clock = engine  # the facade: beat_at, time_at, now
    lead = 0.08 * config.bpm / 60  # beats: time for the play command to reach the player
    beat0 = math.ceil(clock.beat_at(clock.now()) + lead)
    phrases: list[dict] = []
    limit = config.warmup + config.phrases * (config.max_factor if config.until_measured else 1)
    measured = 0
    progress = Progress(config.warmup + config.phrases, "end to end", "phrases")
    spread = random.Random(config.seed)
    for k in range(limit):
        # The answer to the phrase just played is still being sampled; the one before it is complete.
        if config.until_measured and len(phrases) >= 2 and _starts_at_once(phrases[-2], rec):
            measured += 1
            if measured >= config.phrases:
                break
        counted = min(k, config.warmup) + (measured if config.until_measured else max(0, k - config.warmup))
        progress.advance(counted - progress.done)
        if (
            beat0 + 0.25 < clock.beat_at(clock.now()) + lead
        ):  # fell behind: start on the next beat that can still be reached
            beat0 = math.ceil(clock.beat_at(clock.now()) + lead)
        call = [pitches[(k + i) % len(pitches)] for i in range(CALL_NOTES)]
        asked, ccs = rec.marks()[0], len(rec.phrase_end_ccs)
        late = spread.uniform(0.0, CC_SPREAD_SECONDS)
        sent = player.ask({"play": _call(beat0, call, config.phrase_end_cc, clock.time_at, late)}, timeout=15.0)["sent"]
        answered = rec.wait_for(lambda n=asked: len(rec.requested) > n, timeout=2.0)
        phrase = {
            "warmup": k < config.warmup,
            "cc_ns": sent[-1],
            "sent_count": len(sent),
            "requested": rec.requested[asked] if answered else None,
        }
        if not answered:  # what the mode thought when the phrase end went unanswered (read racily: a clue only)
            status = engine.status()
            phrase["unanswered"] = {
                "state": status.state, "held": list(status.held), "engine_saw_cc": len(rec.phrase_end_ccs) > ccs,
            }  # fmt: skip
        phrases.append(phrase)
        beat0 += CYCLE_BEATS
    progress.close()
    end = clock.time_at(beat0) + 0.1
    while (left := end - clock.now()) > 0:
        time.sleep(left)
    return phrases


def _starts_at_once(phrase: dict, rec: _Recorder) -> bool:
    """Whether the answer to ``phrase`` has a note meant to sound at its very start (known once it is sampled)."""
    if phrase["warmup"] or phrase["requested"] is None:
        return False
    start = phrase["requested"][1]
    with rec.cond:
        return any(abs(note.start_beat - start) <= EPS_BEATS for _, note in rec.handed)


def _match_scheduled(sent: list[tuple[float, int]], handed: list[tuple[int, ScheduledNote]], beat_at) -> list:
    """For each sent note-on, the scheduled note it played: same pitch, latest start at or before its send beat."""
    used: set[int] = set()
    out = []
    for t, pitch in sent:
        beat = beat_at(t)
        best = None
        for i, (_, note) in enumerate(handed):
            if i in used or note.pitch != pitch or note.start_beat > beat + EPS_BEATS:
                continue
            if best is None or note.start_beat > handed[best][1].start_beat:
                best = i
        if best is not None:
            used.add(best)
        out.append(None if best is None else handed[best])
    return out


def _pair_arrivals(
    sent: list[tuple[float, int]], arrived: list[tuple[int, int]], window_s: float = 1.0, early_s: float = 0.005
) -> list:
    """For each sent note-on (send time in s, pitch), the arrival (ns) of the same pitch that followed it first
    within ``window_s``, or None: a note lost on the way does not shift the pairing of the ones after it. An arrival
    up to ``early_s`` before the send time counts too: a timed output's send time is the note's time, handed over
    ahead, and its frame may fall a few microseconds before that.

    The window is wide on purpose: a JACK stall under the flood once delivered a note 100+ ms late, and a late note
    is a timing error to report in the arrival figures, not a lost note plus a stray one."""
    used: set[int] = set()
    out: list[int | None] = []
    for t_sent, pitch in sent:
        sent_ns = t_sent * 1e9
        match = next(
            (
                i
                for i, (t, p) in enumerate(arrived)
                if i not in used and p == pitch and sent_ns - early_s * 1e9 <= t <= sent_ns + window_s * 1e9
            ),
            None,
        )
        if match is not None:
            used.add(match)
        out.append(None if match is None else arrived[match][0])
    return out


def analyse(
    phrases: list[dict],
    arrivals: list,
    sent: list[tuple[float, int]],
    handed: list[tuple[int, ScheduledNote]],
    clock,
    output_offset: float,
    channel: int,
    answer_beats: float,
    lead_s: float = 0.0,
) -> dict:
    """Pair what the engine sent with what the listener received, and each answer with its phrase end."""
    arrived = [(t, m[1]) for t, m in arrivals if len(m) == 3 and is_note_on(m) and m[0] & 0x0F == channel]
    scheduled = _match_scheduled(sent, handed, clock.beat_at)
    paired = _pair_arrivals(sent, arrived)
    notes = []  # (intended_ns, handed_ns, sent_s, arrival_ns or None, start_beat)
    for (t_sent, _), match, arrival_ns in zip(sent, scheduled, paired, strict=True):
        if match is not None:
            handed_ns, note = match
            intended_ns = (clock.time_at(note.start_beat) + output_offset) * 1e9
            notes.append((intended_ns, handed_ns, t_sent, arrival_ns, note.start_beat))
    came = [n for n in notes if n[3] is not None]
    errors_all = [(a - i) / 1e6 for i, _, _, a, _ in came]
    ahead = lead_s * 1e9  # a timed output places a note on its frame when it has it this long before its time
    errors_ahead = [(a - i) / 1e6 for i, h, _, a, _ in came if h <= i - ahead]
    send_ahead = [(t * 1e9 - i) / 1e6 for i, h, t, _, _ in notes if h <= i - ahead]
    reaction, engine_part, detection, lead, ready = [], [], [], [], []
    answered = immediate = silent = first_lost = 0
    for phrase in phrases:
        if phrase["warmup"] or phrase["requested"] is None:
            continue
        answered += 1
        requested_ns, start = phrase["requested"]
        detection.append((requested_ns - phrase["cc_ns"]) / 1e6)
        lead.append((clock.time_at(start) * 1e9 - phrase["cc_ns"]) / 1e6)
        mine = [n for n in notes if start - EPS_BEATS <= n[4] <= start + answer_beats + EPS_BEATS]
        if not mine:
            silent += 1
            continue
        first = min(mine, key=lambda n: n[4])
        ready.append((first[1] - phrase["cc_ns"]) / 1e6)
        if first[4] - start > EPS_BEATS:
            continue
        immediate += 1
        engine_part.append((first[2] * 1e9 - phrase["cc_ns"]) / 1e6)
        if first[3] is None:
            first_lost += 1
        else:
            reaction.append((first[3] - phrase["cc_ns"]) / 1e6)
    counted = [p for p in phrases if not p["warmup"]]
    return {
        "phrases": len(counted),
        "answered": answered,
        "unanswered": [p["unanswered"] for p in counted if "unanswered" in p],
        "immediate_starts": immediate,
        "began_with_rest": answered - immediate - silent,
        "silent_answers": silent,
        "first_note_lost": first_lost,
        "phrase_end_to_first_note_ms": Summary.of(reaction).to_dict(),
        "phrase_end_to_first_note_sent_ms": Summary.of(engine_part).to_dict(),
        "phrase_end_to_answer_requested_ms": Summary.of(detection).to_dict(),
        "phrase_end_to_answer_start_ms": Summary.of(lead).to_dict(),
        "phrase_end_to_first_note_ready_ms": Summary.of(ready).to_dict(),
        "arrival_error_ahead_ms": Summary.of(errors_ahead).to_dict(),
        "ahead_means_handed_ms_before": lead_s * 1e3,
        "arrival_error_all_ms": Summary.of(errors_all).to_dict(),
        "send_error_ahead_ms": Summary.of(send_ahead).to_dict(),
        "notes_sent": len(sent),
        "notes_arrived": len(arrived),
        "notes_matched": len(came),
        "notes_unscheduled": sum(m is None for m in scheduled),  # sent, but no scheduled note explains it
        "notes_lost": sum(a is None for a in paired),  # sent, never arrived
        "notes_unexpected": len(arrived) - sum(a is not None for a in paired),  # arrived, never sent
    }


def measure_live(
    model: Path | None,
    config: LiveConfig,
    pitches: Sequence[int],
    log: Callable[[str], None] = print,
    xruns: Callable[[], int | None] = lambda: None,
) -> dict:
    """Run every condition of ``config`` against one engine; the JACK server must be up (``bench_jack.jack_server``).

    ``xruns()`` counts the server's xruns so far (cycles a client ran late in, when MIDI can be lost), if known.
    """
    from cocomposer.engine.config import EngineConfig
    from cocomposer.engine.factory import build_engine

    settings = config.settings()
    engine_config = EngineConfig(
        model=model, api="jack", seed=config.seed, jack_output=config.jack_output, jack_input=config.jack_input
    )
    results: dict = {
        "settings": {
            "bpm": config.bpm, "quantize": "off", "answer_beats": 1, "cycle_beats": CYCLE_BEATS,
            "jack_output": config.jack_output, "jack_input": config.jack_input,
        }
    }  # fmt: skip
    with ExitStack() as stack:
        engine = build_engine(engine_config, settings, stack)
        rec = _Recorder(settings.phrase_end_cc)
        engine.subscribe(rec.on_event)
        engine.start()
        stack.callback(engine.stop)
        engine_in = full_port_name(engine.status().input_name, "destination")
        engine_out = full_port_name(engine.status().output_name, "source")
        player = ClientProcess(["player", "--to", engine_in, "--from", engine_out])
        stack.callback(player.finish, {"quit": True})
        frames = ClientProcess(["frames", "--from", engine_out])
        stack.callback(frames.finish, {"quit": True})
        for condition in config.conditions:
            flood = None
            if condition == "flood":
                flood = ClientProcess(["flood", "--to", engine_in, "--rate", str(config.flood_rate)])
                time.sleep(0.2)
            log(f"  end to end, {condition}: {config.warmup} + {config.phrases} phrases at {config.bpm:g} BPM")
            before, xruns_before = rec.marks(), xruns()
            heard_before = rec.notes_in + len(rec.phrase_end_ccs)
            dropped_before = engine.status().dropped
            reflex = engine.reflex
            fired_before = (reflex.fired, reflex.claimed) if reflex.enabled else None
            try:
                phrases = _run_phrases(engine, rec, player, config, pitches)
            finally:
                flooded = flood.finish() if flood is not None else None
            heard = player.ask({"arrivals": True}, timeout=10.0)["arrivals"]
            framed = frames.ask({"arrivals": True}, timeout=10.0)["arrivals"]
            engine.notifier.flush()
            after = rec.marks()
            with rec.cond:
                sent = rec.note_ons[before[1] : after[1]]
                handed = rec.handed[before[2] : after[2]]
            analysed = partial(
                analyse, phrases, sent=sent, handed=handed, clock=engine,
                output_offset=engine.status().output_offset, channel=settings.out_channel - 1,
                answer_beats=ANSWER_BARS * settings.beats_per_bar, lead_s=engine.scheduler.ahead,
            )  # fmt: skip
            # Judged on the frame each note landed on; the times a listening program saw it are kept beside them.
            result = analysed([(t, m) for t, _, m in framed])
            result["other_listeners"] = {
                name: {key: analysed(arrivals)[key] for key in OTHER_LISTENER_KEYS}
                for name, arrivals in (
                    ("frames listener, when its callback ran", [(t, m) for _, t, m in framed]),
                    ("python-rtmidi listener (driver time of its callback)", heard),
                )
            }
            result["late_dropped"] = after[3] - before[3]
            played = sum(p["sent_count"] for p in phrases)
            result["input_unheard"] = played - (rec.notes_in + len(rec.phrase_end_ccs) - heard_before)
            xruns_after = xruns()
            result["jack_xruns"] = None if xruns_after is None else xruns_after - (xruns_before or 0)
            result["dropped"] = engine.status().dropped - dropped_before  # player messages and model jobs
            if fired_before is not None:  # first notes the JACK helper played on the CC
                result["reflex_fired"] = reflex.fired - fired_before[0]
                result["reflex_claimed"] = reflex.claimed - fired_before[1]
            if flooded:
                result["flood_rate_achieved"] = flooded["sent"] / max(flooded["seconds"], 1e-9)
            results[condition] = result
        results["engine_errors"] = list(rec.errors)
    if not any(results[c]["answered"] for c in config.conditions):
        raise LiveBenchError(f"the engine answered none of the phrases; its errors: {rec.errors or 'none'}")
    return results
