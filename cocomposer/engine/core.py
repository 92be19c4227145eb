"""The engine: wires ports, clock, mode, generator and scheduler, and runs on its own thread.

MIDI reaches it through one bounded queue, put there by the input port's polling thread, which does nothing else.
Commands (from the CLI, the panel, a CC binding) and the generator's news come through a second queue that never
blocks and never drops. The engine decides, the generator thinks, the scheduler plays. Hooks report what happens
(notes in and out, state, latency, errors) to the panel and the recorder as typed events
(:mod:`cocomposer.engine.events`), delivered on the notifier's thread, never on a timing thread.

What the player sends is never lost to the model while fewer than ``INBOUND_LIMIT`` messages wait for the engine
thread (and fewer than ``generator.JOB_QUEUE_SIZE`` notes wait for the model); beyond that the newest are dropped
and counted in ``stats.dropped_inbound`` and ``generator.dropped_jobs``. Messages that carry nothing for the model
(system messages, note-offs for keys nobody pressed, malformed messages) are counted in ``stats.received`` and let go.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable

import numpy as np

from cocomposer import midi_bytes as mb
from cocomposer.engine import commands as cmd
from cocomposer.engine import events as ev
from cocomposer.engine.call import CallMemory, answer_job
from cocomposer.engine.control import carry_out
from cocomposer.engine.drafts import DRAFT_LEAD_SECONDS, Drafts, bias_of
from cocomposer.engine.held import HeldKeys
from cocomposer.engine.jobs import Answer, Listen, SetMeter
from cocomposer.engine.modes import Action, CancelAnswer, RequestAnswer, make_mode
from cocomposer.engine.notifier import Handler, Notifier
from cocomposer.engine.queries import EngineQueries
from cocomposer.engine.reflex import Fired, Reflex
from cocomposer.engine.scheduler import ScheduledNote, Scheduler
from cocomposer.engine.settings import Settings
from cocomposer.engine.stats import Stats
from cocomposer.engine.transport import follow_transport
from cocomposer.engine.worker import Generator
from cocomposer.midi import ports
from cocomposer.model.runtime import OnnxModel
from cocomposer.music.keys import Key
from cocomposer.timing.clock import InternalClock
from cocomposer.timing.midi_clock import MidiClockFollower

INBOUND_LIMIT = 10_000  # MIDI messages waiting for the engine thread; beyond this the newest are dropped and counted
BATCH = 256  # MIDI messages handled in a row before commands and the mode get their turn
POLL_SECONDS = 0.002
ANSWER_LEAD_SECONDS = 0.008  # an answer starts at least this far ahead: time to sample its first note (about 1-3 ms)


class Engine(EngineQueries):
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
        bpb = self.settings.beats_per_bar
        if clock is None and sync == "midi-clock":
            clock = MidiClockFollower(now=now, beats_per_bar=bpb, default_bpm=self.settings.bpm)
        elif clock is None:
            clock = InternalClock(self.settings.bpm, now=now, beats_per_bar=bpb)
        self.clock = clock
        self.midi_in, self.midi_out = midi_in, midi_out
        self.model = model
        self.stats = Stats()
        self.notifier = Notifier()
        self._inbound: queue.Queue = queue.Queue(maxsize=INBOUND_LIMIT)
        self._control: queue.SimpleQueue = queue.SimpleQueue()  # reentrant: a signal handler may put here
        # Guards which requests are still wanted against cancel/schedule races; never held for a model step.
        self._lock = threading.RLock()
        self._request_ids: dict[str, set[int]] = {"answer": set(), "accompany": set()}
        self._next_request = 0
        self.scheduler = Scheduler(midi_out, clock, output_offset=output_offset, hooks=self._on_scheduler_event)
        self.generator = Generator(model, self._schedule, self._emit, seed, self._wanted, early_onsets=True)
        self.generator.submit(SetMeter(self.settings.model_meter))
        self.drafts = Drafts(self.generator)  # answers sampled before the phrase end is confirmed (engine.drafts)
        self.reflex = Reflex(midi_in, midi_out, self.scheduler, clock)  # the JACK helper plays a draft's first notes
        self._fired: Fired | None = None  # the reflex the message being handled fired
        self.mode = make_mode(self.settings, self._boundary, self._earliest)
        self._held = HeldKeys()  # (channel 1..16, pitch) of the keys the player holds, and since when
        self._call = CallMemory()  # what the player played: key, dynamics, and the call answers follow
        self._thread = threading.Thread(target=self._run, name="cocomposer-engine", daemon=True)
        self._running = threading.Event()
        self._stopped = self._scheduler_error_reported = False
        self._heard_at: float | None = None  # the stamp of the MIDI message being handled
        self._state, self._last_answer_id = "listening", None
        self.last_answer: list[ScheduledNote] = []  # the notes of the latest call-and-response answer, as planned
        self.preferences = None  # an object whose bias() is added to the logits of every answer (the panel's ratings)

    # -- life cycle ------------------------------------------------------------------------------------------------
    def start(self) -> None:
        self.notifier.start()
        self.generator.start()
        self.scheduler.start()
        self._running.set()
        self._thread.start()
        if self.midi_in is not None:
            if self.reflex.enabled:
                self.midi_in.on_fired = self.reflex.on_fired  # type: ignore[attr-defined]
            self.midi_in.start(self.sink)

    def stop(self) -> None:
        """Stop listening, close every note cocomposer opened, and stop the threads.

        Safe to call twice, before `start`, from any thread, and from a signal handler (a second call, such as a
        second Ctrl-C during the first, returns at once).
        """
        if self._stopped:
            return
        self._stopped = True
        self.reflex.disarm()  # nothing fires that nobody would hear of
        if self.midi_in is not None:
            try:
                self.midi_in.close()
            except Exception as err:  # a port that fails to close must not keep the notes open
                self._emit(ev.EngineError("stop", f"closing the input: {type(err).__name__}: {err}"))
        self._running.clear()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(2.0)
        with self._lock:
            for ids in self._request_ids.values():
                ids.clear()  # the generator's next note is refused, so it stops sampling
        self.generator.stop()
        self.scheduler.stop()  # ends its thread, then closes every note it opened
        self._set_state("stopped")
        self.notifier.stop()  # delivers what is queued (the last note-offs) first

    def sink(self, t_ns: int, message: ports.Message) -> None:
        """Where the input port's thread hands each message (time in ns): enqueue and return."""
        fired = self.reflex.take(message)  # what this control fired (the input heard of it just before)
        try:
            self._inbound.put_nowait((t_ns, message, fired))
        except queue.Full:
            self.stats.dropped_inbound += 1
            self.reflex.lost(fired)

    def command(self, command: cmd.Command) -> None:
        """Queue a command (see :mod:`cocomposer.engine.commands`) for the engine thread; never blocks. A bad
        command or value is reported as an :class:`~cocomposer.engine.events.EngineError` event."""
        self._control.put(("cmd", command, None))

    def subscribe(self, handler: Handler, *types: type) -> Callable[[], None]:
        """``handler(event)`` for each event of ``types`` (all events when none), on the notifier's thread; returns
        a function that unsubscribes. See :mod:`cocomposer.engine.events`."""
        return self.notifier.subscribe(handler, *types)

    def settle(self, timeout: float = 10.0) -> bool:
        """Wait until the engine thread, then the generator, have handled everything queued so far, and their
        events have reached the subscribers; False on timeout. (MIDI: the engine turns to commands every 32 messages
        of a flood, so with more than that waiting, the last ones may still be handled after.)"""
        barrier = cmd.Sync()
        self.command(barrier)
        return barrier.wait(timeout) and self.notifier.flush(timeout)

    # -- hooks -----------------------------------------------------------------------------------------------------
    def _emit(self, event: ev.Event) -> None:
        """Count what the engine itself needs from ``event``, then queue it for the subscribers (never blocks)."""
        if isinstance(event, ev.FirstNote):
            self.stats.first_note_seconds.append(event.seconds)
        elif isinstance(event, ev.EngineError):
            self.stats.errors += 1
        elif isinstance(event, ev.AnswerPlanned) and not event.cancelled:
            self._control.put(("planned", (event.tag, event.request_id), event.end_beat))
        elif isinstance(event, ev.DraftOnsets) and self.reflex.enabled:
            self._control.put(("draft", event, None))
        self.notifier.publish(event)

    def _on_scheduler_event(self, kind: str, note: ScheduledNote | None, message: tuple[int, ...], t: float) -> None:
        event = ev.from_scheduler(kind, note, message, t, self.clock.beat_at(t))
        if kind == "note_on" and note is not None and note.tag == "answer":
            self.stats.note_sent(note.start_beat, t)
        if event is not None:
            self._emit(event)

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
            handled = 0  # the MIDI taken is handled before the commands: a Sync queued after it waits for it
            while item is not None:
                self._heard_at = item[0] / 1e9  # what this message asks for answers the player at its stamp
                self._fired = item[2]
                self._safely(self.reflex.adopt, self._fired)  # its notes sound: the scheduler holds them
                self._safely(self._on_midi, item[0] / 1e9, item[1])
                self._safely(self.reflex.settle, self._fired, None)  # still here: it asked for nothing, they close
                self._heard_at = self._fired = None
                handled += 1
                if handled % 32 == 0:
                    self._drain_control()  # a panic in a flood is not kept waiting
                if handled >= BATCH:
                    break
                try:
                    item = self._inbound.get_nowait()
                except queue.Empty:
                    item = None
            self._drain_control()
            self._safely(self._poll)

    def _poll(self) -> None:
        beat = self.clock.beat_at(self.now())
        for (channel, pitch), at in self._held.expired(beat, self.settings.hold_bars * self.settings.beats_per_bar):
            self._note_off(channel, pitch, at, self.now(), None)  # its note-off was lost: see engine.held
        self._perform(self.mode.poll(beat))
        self._set_state(self.mode.state)
        speculate = lambda: self.mode.speculation(self.clock.beat_at(self.now()))  # noqa: E731 (the phrase ends now)
        bias = bias_of(self.preferences)
        self.drafts.refresh(speculate, self.settings, bias, lambda a, n: self._answer_job(a, n, bias))
        self.reflex.check(self.drafts.current(self.settings))
        if self.scheduler.error is not None and not self._scheduler_error_reported:
            self._scheduler_error_reported = True
            error = self.scheduler.error
            self._emit(ev.EngineError("scheduler", f"{type(error).__name__}: {error}"))

    def _drain_control(self) -> None:
        while True:
            try:
                kind, a, b = self._control.get_nowait()
            except queue.Empty:
                return
            if kind == "cmd":
                self._safely(self._on_command, a, b)
            elif kind == "planned" and self._wanted(*a):
                self._safely(self.mode.answer_planned, b)
            elif kind == "draft" and self.drafts.current(self.settings) == a.request_id:
                start = self.drafts.job.start_beat  # type: ignore[union-attr]
                self._safely(self.reflex.arm, a.request_id, a.pitches, start, self.settings, self._velocity_at(start))

    def _safely(self, fn: Callable, *args: object) -> None:
        """Run one step of the engine thread; an error is reported and the session goes on."""
        try:
            fn(*args)
        except Exception as err:
            self._emit(ev.EngineError("engine", f"{type(err).__name__}: {err}"))

    def _set_state(self, state: str) -> None:
        if state != self._state:
            self._state = state
            self._emit(ev.StateChanged(state))

    def _thru(self) -> bool:
        return self.settings.thru or self.settings.mode == "thru"

    def _on_midi(self, t: float, msg: ports.Message) -> None:
        self.stats.received += 1
        if not msg:
            return
        status = msg[0]
        if status >= 0xF0:
            if isinstance(self.clock, MidiClockFollower):
                follow_transport(self, msg, t)  # Stop closes everything; Start and Song Position relocate
            return  # sysex, active sensing and other system messages carry nothing for the model
        if not mb.well_formed(msg):
            return  # a data byte without its status, or a data byte out of range: malformed, nothing to go on
        channel = (mb.channel_of(msg) or 0) + 1  # 1..16, as the settings count
        is_on, is_off = mb.is_note_on(msg), mb.is_note_off(msg)
        if is_off and (channel, msg[1]) in self._held:
            # A key the engine saw go down always comes up, even if the channel filter changed meanwhile.
            self._note_off(channel, msg[1], self.clock.beat_at(t), t, msg)
            return
        if self.settings.in_channel and channel != self.settings.in_channel:
            return
        if is_on:
            self._note_on(channel, msg[1], msg[2], self.clock.beat_at(t), t, msg)
        elif is_off:  # the release of a key nobody pressed (or released by the hold limit): nothing to hear
            self.scheduler.send_now(msg)  # but a note passed through is closed (sent only if thru opened it)
        elif mb.is_control_change(msg):
            self._on_cc(channel, msg[1], msg[2], self.clock.beat_at(t), t)
            if self._thru():
                self.scheduler.send_now(msg)
        elif self._thru():
            self.scheduler.send_now(msg)

    def _note_on(self, channel: int, pitch: int, velocity: int, beat: float, t: float, msg: ports.Message) -> None:
        self._held.press((channel, pitch), beat)
        self.reflex.disarm_if_armed()
        if self._thru():
            self.scheduler.send_now(msg)
        self.stats.notes_in += 1
        self._call.note_on(pitch, beat, velocity)
        actions = self.mode.on_note_on(pitch, beat)
        # Cancel first, so the generator knows the interrupted answer stops when it hears this note; then the
        # note; then new answers, which continue from it.
        self._perform([a for a in actions if isinstance(a, CancelAnswer)])
        self.generator.submit(Listen("on", pitch, beat))
        self._perform([a for a in actions if not isinstance(a, CancelAnswer)])
        self._emit(ev.NoteIn(True, pitch, velocity, channel, t, beat))

    def _note_off(self, channel: int, pitch: int, beat: float, t: float, msg: ports.Message | None) -> None:
        """A key released: by the player's ``msg``, or (``msg`` None) by the engine for a note-off never heard."""
        self._held.discard((channel, pitch))
        self._call.note_off(pitch, beat)
        if msg is not None:  # sent only if a pass-through note-on opened this key (thru may be off by now)
            self.scheduler.send_now(msg)
        if any(p == pitch for _, p in self._held):
            return  # the same pitch is still held on another channel: the model hears one key per pitch
        self.generator.submit(Listen("off", pitch, beat))
        self._perform(self.mode.on_note_off(pitch, beat))
        self._emit(ev.NoteIn(False, pitch, 0, channel, t, beat))

    def _on_cc(self, channel: int, number: int, value: int, beat: float, t: float) -> None:
        panic_cc = self.settings.panic_cc is not None and number == self.settings.panic_cc and value >= 64
        if panic_cc or number in (mb.ALL_SOUND_OFF, mb.ALL_NOTES_OFF):  # the player's (or the DAW's) "silence, now"
            self.panic_now()
            return
        name = self.settings.cc.get(number)
        if name is not None:
            self._set(name, self.settings.with_cc(name, value))
        self._emit(ev.ControlIn(number, value, channel, t))
        self._perform(self.mode.on_cc(number, value, beat))

    def _on_command(self, command: cmd.Command, _: object = None) -> None:
        carry_out(self, command)

    def _set(self, name: str, settings: Settings) -> None:
        old = self.settings
        self.settings = settings
        if settings.mode != old.mode:
            self._cancel_all()  # every note of the old mode's answers is closed now
            self.mode = make_mode(settings, self._boundary, self._earliest)
        else:
            self.mode.update(settings)
        if settings.bpm != old.bpm and isinstance(self.clock, InternalClock):
            self.clock.set_bpm(settings.bpm)
        if settings.beats_per_bar != old.beats_per_bar:
            self.clock.beats_per_bar = settings.beats_per_bar
        if settings.model_meter != old.model_meter:
            self.generator.submit(SetMeter(settings.model_meter))
        self._emit(ev.SettingsChanged(name, settings))

    # -- actions ---------------------------------------------------------------------------------------------------
    def _earliest(self, beat: float) -> float:
        """``beat``, or later if the generator would not have time to sample the answer's first notes by then."""
        if self._fired is not None:  # its first notes sounded then (the reflex)
            return max(beat, self.clock.beat_at(self._fired.t))
        seconds = DRAFT_LEAD_SECONDS if self.drafts.short_lead(self.settings) else ANSWER_LEAD_SECONDS
        return max(beat, self.clock.beat_at(self.now()) + seconds * self.clock.bpm / 60.0)

    def _boundary(self, beat: float) -> float:
        return self.clock.next_boundary(self._earliest(beat), self.settings.quantize)

    def auto_key(self) -> Key | None:
        return self._call.key()

    def mood_key(self) -> Key | None:
        """The key of the chosen mood that best fits what the player played (None for mood "auto")."""
        return None if self.settings.mood == "auto" else self._call.key(self.settings.mood)

    def _velocity_at(self, beat: float) -> int:
        return self._call.velocity_at(beat, self.settings)

    def _perform(self, actions: list[Action]) -> None:
        for action in actions:
            if isinstance(action, CancelAnswer):
                self._cancel(action.tag)
            elif isinstance(action, RequestAnswer):
                self._request(action)

    def _request(self, action: RequestAnswer) -> None:
        with self._lock:
            self._next_request += 1
            request_id = self._next_request
            ids = self._request_ids.setdefault(action.tag, set())
            if action.replace:
                ids.clear()
                self.scheduler.replace(action.tag, [])
            ids.add(request_id)
            while len(ids) > 64:  # appended plans long since played
                ids.discard(min(ids))
        self.stats.answers += 1
        ended = self._heard_at or self.now()  # meant to start at once: timed
        if action.tag == "answer" and self.clock.time_at(action.start_beat) - ended <= 2 * ANSWER_LEAD_SECONDS:
            self.stats.answer_asked(action.start_beat, ended)
        bias = bias_of(self.preferences)
        job = self.drafts.take(action, request_id, self.settings, bias, self._velocity_at)
        if action.tag == "answer":
            self.reflex.settle(self._fired, job.draft if job is not None else None)
            self._fired = None
        job = job or self._answer_job(action, request_id, bias)
        self.reflex.disarm_if_armed()  # before the answer's first note-on can reach the helper
        self.generator.submit(job)
        self._emit(ev.AnswerRequested(action.tag, action.start_beat, action.beats, self.now(), job.controls))

    def _answer_job(self, action: RequestAnswer, request_id: int, bias: np.ndarray | None) -> Answer:
        call, key = self._call, self.auto_key()
        return answer_job(action, request_id, self.settings, call, key, self.mood_key(), bias, self._velocity_at)

    def _wanted(self, tag: str, request_id: int) -> bool:
        with self._lock:
            return request_id in self._request_ids.get(tag, ())

    def _schedule(self, notes: list[ScheduledNote], request_id: int) -> bool:
        """Called by the generator for each note-on as it is sampled, then with the note's end (see the scheduler);
        False once its request is no longer wanted."""
        with self._lock:
            if not notes or request_id not in self._request_ids.get(notes[0].tag, ()):
                return False
            self.scheduler.schedule(notes)
            if notes[0].tag == "answer":
                if request_id != self._last_answer_id:
                    self._last_answer_id, self.last_answer = request_id, []
                self.last_answer = [*self.last_answer, *(n for n in notes if n.ended)]  # a new list: read whole
        self._emit(ev.NotesScheduled(tuple(notes), request_id, self.now()))
        self.scheduler.run_due()  # a note due now leaves from here, not a thread's wake-up later (out of the lock)
        return True

    def _cancel(self, tag: str) -> None:
        with self._lock:
            self._request_ids.setdefault(tag, set()).clear()  # late notes of its requests are refused
            self.scheduler.cancel(tag)
        self._emit(ev.AnswerCancelled(tag))

    def _cancel_all(self) -> None:
        for tag in list(self._request_ids):
            self._cancel(tag)

    def panic_now(self) -> None:
        """Cancel every answer and close every note cocomposer opened (also the player's notes sent thru); every
        key the player held counts as released (one whose note-off was lost would otherwise hold the phrase open)."""
        self._release_held(self.clock.beat_at(self.now()))
        self._cancel_all()
        self.scheduler.panic()
        self.mode.panic()
        self._emit(ev.Panicked(self.now()))

    def _release_held(self, beat: float) -> None:
        for channel, pitch in self._held:
            self._note_off(channel, pitch, beat, self.now(), None)
