"""The engine: wires ports, clock, mode, generator and scheduler, and runs on its own thread.

Everything reaches it through one bounded queue: MIDI messages (put there by the port's driver callback, which
does nothing else) and commands (from the CLI, the panel, a CC). It decides, the generator thinks, the scheduler
plays. Hooks report what happens (notes in and out, state, latency, errors) to the panel and the recorder.
"""

from __future__ import annotations

import queue
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from cocomposer import ports
from cocomposer.clock import InternalClock, MidiClockFollower
from cocomposer.errors import CocomposerError, ConfigError
from cocomposer.generator import Answer, Generator, Listen
from cocomposer.interaction import Action, CancelAnswer, RequestAnswer, make_mode
from cocomposer.keys import Key, find_key
from cocomposer.model import OnnxModel
from cocomposer.scheduler import ScheduledNote, Scheduler
from cocomposer.settings import Settings

INBOUND_LIMIT = 10_000  # messages waiting for the engine thread; beyond this the newest are dropped and counted
POLL_SECONDS = 0.002
Hook = Callable[[str, dict], None]


@dataclass
class Stats:
    received: int = 0
    dropped_inbound: int = 0
    notes_in: int = 0
    answers: int = 0
    first_note_seconds: deque = field(default_factory=lambda: deque(maxlen=1000))


class Engine:
    def __init__(
        self,
        model: OnnxModel,
        midi_in: ports.MidiIn | None,
        midi_out: ports.MidiOut,
        settings: Settings | None = None,
        clock: InternalClock | MidiClockFollower | None = None,
        now: Callable[[], float] = time.perf_counter,
        sync: str = "internal",
        output_offset: float = 0.0,
        seed: int | None = None,
    ) -> None:
        self.settings = settings or Settings()
        self.now = now
        self.sync = sync
        if clock is None:
            clock = MidiClockFollower(now=now) if sync == "midi-clock" else InternalClock(self.settings.bpm, now=now)
        self.clock = clock
        self.midi_in, self.midi_out = midi_in, midi_out
        self.model = model
        self.stats = Stats()
        self._hooks: list[Hook] = []
        self._inbound: queue.Queue = queue.Queue(maxsize=INBOUND_LIMIT)
        self._lock = threading.Lock()  # guards request ids against cancel/schedule races; never held for a model step
        self._request_ids: dict[str, int] = {"answer": 0, "accompany": 0}
        self._next_request = 0
        self.scheduler = Scheduler(midi_out, clock, output_offset=output_offset, hooks=self._on_scheduler_event)
        self.generator = Generator(model, self._schedule, self._emit, seed=seed)
        self.mode = make_mode(self.settings, self._boundary)
        self._pc_histogram = np.zeros(12)
        self._velocity = 80.0
        self._thread = threading.Thread(target=self._run, name="cocomposer-engine", daemon=True)
        self._running = threading.Event()
        self._state = "listening"
        self.last_answer: list[ScheduledNote] = []

    # -- life cycle ------------------------------------------------------------------------------------------------
    def start(self) -> None:
        self.generator.start()
        self.scheduler.start()
        self._running.set()
        self._thread.start()
        if self.midi_in is not None:
            self.midi_in.start(self.sink)

    def stop(self) -> None:
        """Stop listening, close every note cocomposer opened, and stop the threads."""
        if self.midi_in is not None:
            try:
                self.midi_in.close()
            except CocomposerError:
                pass
        self._running.clear()
        if self._thread.is_alive():
            self._thread.join(2.0)
        self.generator.stop()
        self.scheduler.stop()

    def sink(self, t_ns: int, message: ports.Message) -> None:
        """The MIDI driver's callback target: enqueue and return."""
        try:
            self._inbound.put_nowait(("midi", t_ns, message))
        except queue.Full:
            self.stats.dropped_inbound += 1

    def command(self, name: str, value: object = None) -> None:
        """Queue a command: ``set`` (value: (setting, value)), ``panic``, ``trigger``, ``mode``."""
        self._inbound.put(("cmd", name, value))

    def add_hook(self, hook: Hook) -> None:
        self._hooks.append(hook)

    @property
    def state(self) -> str:
        return self._state

    # -- hooks -----------------------------------------------------------------------------------------------------
    def _emit(self, kind: str, data: dict) -> None:
        if kind == "first_note":
            self.stats.first_note_seconds.append(data["seconds"])
        if kind == "answer_planned" and data["tag"] == "answer" and not data["cancelled"]:
            self._inbound.put(("planned", data["end_beat"], None))
        for hook in list(self._hooks):
            try:
                hook(kind, data)
            except Exception:
                pass

    def _on_scheduler_event(self, kind: str, note: ScheduledNote | None, message: object, t: float) -> None:
        if kind == "late":
            self._emit("late", {"pitch": note.pitch if note else None, "time": t})
        elif note is not None:
            self._emit(
                "note_out",
                {
                    "kind": kind,
                    "pitch": note.pitch,
                    "channel": note.channel,
                    "tag": note.tag,
                    "velocity": note.velocity,
                    "time": t,
                    "beat": self.clock.beat_at(t),
                },
            )

    # -- the engine thread -----------------------------------------------------------------------------------------
    def _run(self) -> None:
        while self._running.is_set():
            timeout = POLL_SECONDS
            due = getattr(self.mode, "phrase_end_due", lambda: None)()
            if due is not None:
                timeout = max(0.0, min(timeout, self.clock.time_at(due) - self.now()))
            try:
                item = self._inbound.get(timeout=timeout)
            except queue.Empty:
                item = None
            try:
                while item is not None:
                    self._handle(item)
                    item = self._inbound.get_nowait() if not self._inbound.empty() else None
                self._perform(self.mode.poll(self.clock.beat_at(self.now())))
                self._set_state(self.mode.state)
            except CocomposerError as err:
                self._emit("error", {"where": "engine", "message": str(err)})
            except Exception as err:
                self._emit("error", {"where": "engine", "message": f"{type(err).__name__}: {err}"})

    def _set_state(self, state: str) -> None:
        if state != self._state:
            self._state = state
            self._emit("state", {"state": state})

    def _handle(self, item: tuple) -> None:
        kind, a, b = item
        if kind == "midi":
            self._on_midi(a / 1e9, b)
        elif kind == "cmd":
            self._on_command(a, b)
        elif kind == "planned":
            self.mode.answer_planned(a)

    def _on_midi(self, t: float, msg: ports.Message) -> None:
        self.stats.received += 1
        if not msg:
            return
        status = msg[0]
        if status >= 0xF0:
            if isinstance(self.clock, MidiClockFollower) and status in (0xF8, 0xFA, 0xFB, 0xFC, 0xF2):
                self.clock.feed(msg, t)
                if status == 0xFC:
                    self._cancel_all()
                    self.scheduler.panic()
            return  # sysex, active sensing and other system messages carry nothing for the model
        channel = (status & 0x0F) + 1
        if self.settings.in_channel and channel != self.settings.in_channel:
            return
        beat = self.clock.beat_at(t)
        if ports.is_note_on(msg) and len(msg) >= 3:
            self._note_in("on", msg[1], msg[2], beat, t, msg)
        elif ports.is_note_off(msg) and len(msg) >= 2:
            self._note_in("off", msg[1], 0, beat, t, msg)
        elif status & 0xF0 == 0xB0 and len(msg) >= 3:
            self._on_cc(msg[1], msg[2], beat)
            if self.settings.thru:
                self.scheduler.send_now(msg)
        elif self.settings.thru:
            self.scheduler.send_now(msg)

    def _note_in(self, kind: str, pitch: int, velocity: int, beat: float, t: float, msg: ports.Message) -> None:
        if self.settings.thru:
            self.scheduler.send_now(msg)
        self.generator.submit(Listen(kind, pitch, beat))
        if kind == "on":
            self.stats.notes_in += 1
            self._velocity = 0.8 * self._velocity + 0.2 * velocity
            self._pc_histogram *= 0.97
            self._pc_histogram[pitch % 12] += 1.0
            actions = self.mode.on_note_on(pitch, beat)
        else:
            actions = self.mode.on_note_off(pitch, beat)
        self._emit("note_in", {"kind": kind, "pitch": pitch, "velocity": velocity, "time": t, "beat": beat})
        self._perform(actions)

    def _on_cc(self, number: int, value: int, beat: float) -> None:
        if self.settings.panic_cc is not None and number == self.settings.panic_cc and value >= 64:
            self.panic_now()
            return
        name = self.settings.cc.get(number)
        if name is not None:
            self._set(name, self.settings.with_cc(name, value))
        self._emit("cc", {"number": number, "value": value})
        self._perform(self.mode.on_cc(number, value, beat))

    def _on_command(self, name: str, value: object) -> None:
        beat = self.clock.beat_at(self.now())
        if name == "panic":
            self.panic_now()
        elif name == "trigger":
            self._perform(self.mode.trigger(beat))
        elif name == "set":
            setting, raw = value  # type: ignore[misc]
            self._set(setting, self.settings.with_value(setting, raw))
        elif name == "settings":
            self._set("*", value)  # type: ignore[arg-type]
        elif name == "call":
            value(self)  # type: ignore[operator]
        else:
            raise ConfigError(f"unknown command {name!r}; commands: set, panic, trigger")

    def _set(self, name: str, settings: Settings) -> None:
        old = self.settings
        self.settings = settings
        if settings.mode != old.mode:
            self._cancel_all()
            self.mode = make_mode(settings, self._boundary)
        else:
            self.mode.update(settings)
        if settings.bpm != old.bpm and isinstance(self.clock, InternalClock):
            self.clock.set_bpm(settings.bpm)
        self._emit("settings", {"name": name, "settings": settings})

    # -- actions ---------------------------------------------------------------------------------------------------
    def _boundary(self, beat: float) -> float:
        return self.clock.next_boundary(beat, self.settings.quantize)

    def auto_key(self) -> Key | None:
        return find_key(self._pc_histogram) if self._pc_histogram.sum() >= 3 else None

    def _velocity_at(self, beat: float) -> int:
        if self.settings.velocity != "follow":
            return int(self.settings.velocity)
        accent = 1.1 if abs(beat % self.settings.beats_per_bar) < 1e-6 else 1.0 if abs(beat % 1) < 1e-6 else 0.9
        return int(max(1, min(127, round(self._velocity * accent))))

    def _perform(self, actions: list[Action]) -> None:
        for action in actions:
            if isinstance(action, CancelAnswer):
                self._cancel(action.tag)
            elif isinstance(action, RequestAnswer):
                self._request(action)

    def _request(self, action: RequestAnswer) -> None:
        key = self.auto_key()
        mood = self.settings.mood if self.settings.mood != "auto" else (key.mode if key else "major")
        with self._lock:
            self._next_request += 1
            request_id = self._next_request
            self._request_ids[action.tag] = request_id
            if action.replace:
                self.scheduler.replace(action.tag, [])
        self.stats.answers += 1
        self.generator.submit(
            Answer(
                request_id,
                action.start_beat,
                action.beats,
                action.tag,
                action.channel,
                self.settings.controls(key),
                self._velocity_at,
                self.settings.style,
                mood,
                action.replace,
            )
        )
        self._emit("answer_requested", {"tag": action.tag, "start_beat": action.start_beat, "beats": action.beats})

    def _schedule(self, notes: list[ScheduledNote], request_id: int) -> bool:
        """Called by the generator for each finished note: False once its request is no longer wanted."""
        with self._lock:
            if not notes or self._request_ids.get(notes[0].tag) != request_id:
                return False
            self.scheduler.schedule(notes)
        return True

    def _cancel(self, tag: str) -> None:
        with self._lock:
            self._next_request += 1
            self._request_ids[tag] = self._next_request  # no request has this id: late notes are refused
            self.scheduler.cancel(tag)
        self._emit("cancelled", {"tag": tag})

    def _cancel_all(self) -> None:
        for tag in list(self._request_ids):
            self._cancel(tag)

    def panic_now(self) -> None:
        """Cancel every answer and close every note cocomposer opened (also the player's notes sent thru)."""
        self._cancel_all()
        self.scheduler.panic()
        self.mode.state = "listening"
        self._emit("panic", {})
