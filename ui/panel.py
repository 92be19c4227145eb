"""The stage panel: the window, its controls, and how each one reaches the engine.

Every control sends ``engine.command(Set(name, value))``. MIDI learn and presets send a whole new `Settings`,
computed on the engine thread (``engine.command(Update(change))``) from the settings it has then, so a control moved
just before is kept. What comes back from the engine (events, through :class:`EngineBridge`) is shown without
echoing back. Ports, sync source and model go through :class:`EngineHost`, which rebuilds the engine.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

from cocomposer_panel import learn
from cocomposer_panel.bridge import EngineBridge
from cocomposer_panel.controls import SliderControl
from cocomposer_panel.host import SIDES, EngineHost
from cocomposer_panel.messages import MessageArea
from cocomposer_panel.phrase import PhrasePlayer, play_demo
from cocomposer_panel.pianoroll import AI, PLAYER, RollModel
from cocomposer_panel.presets import load_preset, save_preset
from cocomposer_panel.ratings import AnswerTracker, HeardNote, Rater, RatingLog, heard_since
from cocomposer_panel.readout import latency_figures, latency_text
from cocomposer_panel.takes import Take, TakesBox, make_takes, play_command
from cocomposer_panel.window import PanelWindow
from PyQt6.QtCore import Qt, QTimer
from PyQt6.QtGui import QCloseEvent, QKeySequence, QShortcut, QShowEvent
from PyQt6.QtWidgets import QApplication, QFileDialog

from cocomposer.engine.commands import Panic, Set, Trigger, Update
from cocomposer.engine.config import EngineConfig
from cocomposer.engine.core import Engine
from cocomposer.engine.events import NoteIn, NoteOut
from cocomposer.engine.settings import MODES, Settings
from cocomposer.errors import CocomposerError, ConfigError


class Panel(PanelWindow):
    def __init__(
        self,
        args: argparse.Namespace,
        settings: Settings,
        config_path: Path,
        ratings_path: Path,
        presets_dir: Path,
        poll_seconds: float = 2.0,
    ) -> None:
        super().__init__()
        self.host = EngineHost(EngineConfig.from_args(args), settings, on_engine=self._on_engine)
        self.message_area = MessageArea(lambda: self.host.faults)
        self.messages_slot.addWidget(self.message_area)
        self.config_path, self.presets_dir = Path(config_path), Path(presets_dir)
        self.bridge = EngineBridge(self)
        self.learning = learn.MidiLearn()
        self.rater = Rater(self.host.preferences, RatingLog(ratings_path))
        self.takes_dir = Path(ratings_path).parent / "takes"
        self.takes = TakesBox(self._takes_job, self.play_take)
        self.messages_slot.addWidget(self.takes)
        self.phrase: PhrasePlayer | None = None
        self._connect()
        self._autosave_timer = QTimer(self, singleShot=True, interval=400, timeout=self.autosave)
        self._readout_timer = QTimer(self, interval=500, timeout=self._update_readout)
        self._poll_timer = QTimer(self, interval=int(poll_seconds * 1000), timeout=self.poll_ports)
        self.host.start()
        self._after_rebuild()
        self._readout_timer.start()
        self._poll_timer.start()

    def showEvent(self, event: QShowEvent | None) -> None:  # noqa: N802 (Qt's name)
        """Take the keyboard as soon as the window shows: the shortcuts (Esc: panic) must not wait for a click."""
        super().showEvent(event)
        QTimer.singleShot(0, self._take_keyboard)

    def _take_keyboard(self) -> None:
        self.raise_()
        self.activateWindow()
        root = self.centralWidget()
        if root is not None and QApplication.focusWidget() is None:
            root.setFocus(Qt.FocusReason.ActiveWindowFocusReason)

    def _connect(self) -> None:
        for name, control in self.controls.items():
            control.changed.connect(self.set_setting)
            if learn.bindable(name):
                learn.install_menu(control, name, self.start_learn, self.forget_binding, self._binding)
        learn.install_menu(self.panic_button, learn.PANIC, self.start_learn, self.forget_binding, self._binding)
        b = self.bridge
        b.note_in.connect(self._note_in)
        b.note_out.connect(self._note_out)
        b.state_changed.connect(self._state)
        b.settings_changed.connect(self._settings_changed)
        b.error.connect(lambda where, message: self.show_message("engine", f"{where}: {message}"))
        b.cc.connect(self._cc)
        b.answer_requested.connect(lambda event: event.tag == "answer" and self.rater.tracker.answer_requested())
        b.panicked.connect(lambda: self.roll.model.close_all(self._now_beat()))
        self.like_button.clicked.connect(lambda: self.rate(True))
        self.dislike_button.clicked.connect(lambda: self.rate(False))
        self.trigger_button.clicked.connect(self.trigger)
        self.demo_button.clicked.connect(self.play_demo)
        self.panic_button.clicked.connect(self.panic)
        self.refresh_button.clicked.connect(self.refresh_ports)
        for side, box in self.port_boxes.items():
            box.activated.connect(lambda _i, s=side: self._port_picked(s))
        self.sync_box.activated.connect(lambda _i: self.set_sync(self.sync_box.currentData()))
        self.model_button.clicked.connect(self._pick_model)
        self.more.option.connect(self.set_engine_option)
        self.save_button.clicked.connect(self._save_preset_dialog)
        self.load_button.clicked.connect(self._load_preset_dialog)
        keys = {
            "Escape": self.panic, "Space": self.trigger, "L": lambda: self.rate(True), "D": lambda: self.rate(False),
            "T": self.takes.request, "M": self._next_mode, "P": self.play_demo, "F11": self._toggle_full_screen,
            "[": lambda: self._nudge("temperature", -0.1), "]": lambda: self._nudge("temperature", 0.1),
            "-": lambda: self._scale("density", 1 / 1.25), "=": lambda: self._scale("density", 1.25),
        }  # fmt: skip
        for key, action in keys.items():
            QShortcut(QKeySequence(key), self, activated=action)

    # -- the engine ------------------------------------------------------------------------------------------------
    @property
    def engine(self) -> Engine | None:
        return self.host.engine

    @property
    def settings(self) -> Settings:
        return self.host.current_settings

    def _on_engine(self, engine: Engine) -> None:
        self.bridge.attach(engine)

    def _after_rebuild(self) -> None:
        """A new engine (or none): a fresh roll on its clock, and every control showing what it has."""
        self.roll.model = RollModel()
        self.rater.tracker = AnswerTracker(ratings=self.host.preferences.likes + self.host.preferences.dislikes)
        engine = self.engine
        if engine is not None:
            self.roll.set_source(self._now_beat, engine.scheduled)
        else:
            self.roll.set_source(lambda: self.roll.model.latest, list)
        self.badge.show_state(engine.state if engine else "stopped", self.settings.quantize)
        self._show_settings(self.settings)
        self.sync_box.setCurrentIndex(self.sync_box.findData(self.host.config.sync))
        self.controls["bpm"].setEnabled(self.host.config.sync == "internal")
        config = self.host.config
        self.more.show_options(
            config.clock_out, config.output_offset_ms, self.host.recording, config.sync == "internal"
        )
        self.refresh_ports()
        self.message_area.refresh()
        self.schedule_autosave()

    def _now_beat(self) -> float:
        engine = self.engine
        return engine.beat_at(engine.now()) if engine is not None else self.roll.model.latest

    def _note_in(self, event: NoteIn) -> None:
        (self.roll.model.note_on if event.on else self.roll.model.note_off)(PLAYER, event.pitch, event.beat)
        self.rater.tracker.note_in(event)

    def _note_out(self, event: NoteOut) -> None:
        # The roll and the ratings count channels 0..15, as the scheduler's notes do.
        (self.roll.model.note_on if event.on else self.roll.model.note_off)(
            AI, event.pitch, event.beat, event.channel - 1
        )
        self.rater.tracker.note_out(event)

    def _state(self, state: str) -> None:
        self.badge.show_state(state, self.settings.quantize)

    def _update_readout(self) -> None:
        engine = self.engine
        if engine is None:
            self.latency_label.setText("engine stopped")
            return
        status = engine.status()
        self.latency_label.setText(latency_text(latency_figures(status)))
        if self.rater.tracker.ratings:
            self._update_preferences()
        if self.host.config.sync != "internal":
            self.controls["bpm"].show_value(status.bpm)

    # -- settings --------------------------------------------------------------------------------------------------
    def set_setting(self, name: str, value: object) -> None:
        """A control moved: validate here (the message shows at once), then tell the engine."""
        current = self.settings
        changes = [(name, value)]
        if name == "low" and int(value) > current.high:  # type: ignore[call-overload]
            changes.insert(0, ("high", value))
        elif name == "high" and int(value) < current.low:  # type: ignore[call-overload]
            changes.insert(0, ("low", value))
        candidate = current
        try:
            for setting, raw in changes:
                candidate = candidate.with_value(setting, raw)
        except ConfigError as err:
            self.show_message("settings", str(err))
            self._show_settings(current)
            return
        self.clear_message("settings")
        if self.engine is None:
            self.host.settings = candidate
        else:
            for setting, raw in changes:
                self.engine.command(Set(setting, raw))
        self._show_settings(candidate)

    def update_settings(self, change: Callable[[Settings], Settings]) -> None:
        """Replace settings and bindings at once (MIDI learn, presets): ``change`` runs on the engine thread on the
        engine's settings of that moment, so a control moved just before is not undone."""
        engine = self.engine
        if engine is None:
            self.host.settings = change(self.host.settings)
        else:
            engine.command(Update(change))
        self._show_settings(change(self.settings))
        self.schedule_autosave()

    def _settings_changed(self, settings: Settings) -> None:
        self._show_settings(settings)
        self.schedule_autosave()

    def _show_settings(self, settings: Settings) -> None:
        for name, control in self.controls.items():
            if isinstance(control, SliderControl) and control.slider.isSliderDown():
                continue  # the player's hand is on it: do not pull it back to an older value
            control.show_value(getattr(settings, name))
            control.show_binding(learn.binding_of(settings, name), self.learning.armed == name)
        panic_cc = settings.panic_cc
        self.panic_button.setText("PANIC" if panic_cc is None else f"PANIC  (CC {panic_cc})")

    def _nudge(self, name: str, step: float) -> None:
        control = self.controls[name]
        if isinstance(control, SliderControl):
            value = round(float(getattr(self.settings, name)) + step, 3)
            control.slider.setValue(control.to_pos(value))

    def _scale(self, name: str, factor: float) -> None:
        self._nudge(name, float(getattr(self.settings, name)) * (factor - 1))

    def _toggle_full_screen(self) -> None:
        self.showNormal() if self.isFullScreen() else self.showFullScreen()

    def _next_mode(self) -> None:
        mode = MODES[(MODES.index(self.settings.mode) + 1) % len(MODES)]
        self.set_setting("mode", mode)

    # -- MIDI learn ------------------------------------------------------------------------------------------------
    def start_learn(self, name: str) -> None:
        """Wait for the next CC and bind it to ``name`` (a setting, or "panic")."""
        self.learning.arm(name)
        control = self.controls.get(name)
        title = control.title.text() if control is not None else "PANIC"
        self.show_instruction(f"MIDI learn: move a knob, fader or pedal now, and it will move {title}")
        self._show_settings(self.settings)

    def forget_binding(self, name: str) -> None:
        self.update_settings(lambda s: learn.unbind(s, name))

    def _binding(self, name: str) -> int | None:
        return learn.binding_of(self.settings, name)

    def _cc(self, number: int, value: int) -> None:
        taken = self.learning.take(number)
        if taken is None:
            return
        name, number = taken
        self.show_instruction(None)
        try:
            self.update_settings(lambda s: learn.bind(s, name, number))
        except ConfigError as err:
            self.show_message("learn", f"could not bind CC {number} to {name}: {err}")

    # -- performing ------------------------------------------------------------------------------------------------
    def panic(self) -> None:
        """Close every note cocomposer opened (the engine does it on its thread, at once)."""
        if self.phrase is not None:
            self.phrase.stop()
        if self.engine is not None:
            self.engine.command(Panic())
        self.roll.model.close_all(self._now_beat())

    def trigger(self) -> None:
        if self.engine is not None:
            self.engine.command(Trigger())

    def play_demo(self) -> None:
        """Play the bundled demo phrase into the engine, as if on its input."""
        engine = self.engine
        if engine is None:
            return
        if self.phrase is not None:
            self.phrase.stop()

        def send(message: tuple[int, int, int]) -> None:
            engine.sink(int(engine.now() * 1e9), message)

        self.phrase = play_demo(send, engine.status().bpm)

    def rate(self, liked: bool) -> bool:
        """Like or dislike the last answer: the session leans toward (or away from) it, and the log gets a line."""
        planned = self.engine.last_answer if self.engine is not None else []
        fallback = [HeardNote(n.start_beat, n.end_beat, n.pitch, n.velocity, n.channel) for n in planned]
        model = str(self.host.config.model) if self.host.config.model else None
        traits, error = self.rater.rate(liked, self.settings, model, fallback)
        if traits is None or error is not None:
            self.show_message("ratings", str(error) if error else "nothing to rate yet: no answer has sounded")
        else:
            self.clear_message("ratings")
        self.rater.tracker.ratings = self.host.preferences.likes + self.host.preferences.dislikes
        self._update_preferences()
        return traits is not None

    def _update_preferences(self) -> None:
        """What the ratings ask of the model, and what the answers heard since then really did."""
        self.preferences_label.setText(f"{self.host.preferences.summary()}\n{heard_since(self.rater.tracker)}")

    # -- takes ---------------------------------------------------------------------------------------------------------
    def _takes_job(self):
        """What the takes need, read now on the Qt thread; the job samples them on the takes thread."""
        answer = self.rater.tracker.last_answer()
        call = self.rater.tracker.call_before(answer[0].start) if answer else []
        settings, model = self.settings, self.host.config.model
        return lambda: make_takes(call, answer, settings, model, self.takes_dir)

    def play_take(self, take: Take) -> None:
        """Play a take through the engine from the next beat (panic stops it, like any answer)."""
        if self.engine is not None:
            self.engine.command(play_command(take))

    # -- ports, sync, model ----------------------------------------------------------------------------------------
    def refresh_ports(self) -> None:
        for side, names in zip(SIDES, self.host.available(), strict=True):
            self.show_ports(side, names, self.host.wanted[side])
        self.message_area.refresh()

    def set_ports(self, in_port: str | None, out_port: str | None) -> None:
        """Reopen the ports: the engine stops (closing its notes) and a new one starts on the new ports."""
        self.host.set_ports(in_port, out_port)
        self._after_rebuild()

    def _port_picked(self, side: str) -> None:
        chosen = {s: self.port_boxes[s].currentData() for s in SIDES}
        if chosen != self.host.wanted:
            self.set_ports(chosen["input"], chosen["output"])

    def set_sync(self, sync: str) -> None:
        if sync != self.host.config.sync:
            self.host.set_sync(sync)
            self._after_rebuild()

    def set_engine_option(self, name: str, value: object) -> None:
        """Clock out, output offset or recording: a new engine with the option (every note closed first)."""
        self.host.set_option(name, value)
        self._after_rebuild()

    def set_model(self, path: Path) -> None:
        if self.host.set_model(path):
            self._after_rebuild()
        self.message_area.refresh()

    def poll_ports(self) -> None:
        if self.host.poll():
            self._after_rebuild()
        self.message_area.refresh()

    def _pick_model(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Load a model", "", "ONNX models (*.onnx)")
        if path:
            self.set_model(Path(path))

    # -- presets and autosave --------------------------------------------------------------------------------------
    def save_preset(self, path: Path) -> bool:
        try:
            save_preset(path, self.settings)
        except OSError as err:
            self.show_message("preset", f"could not save the preset {path}: {err.strerror or err}")
            return False
        self.clear_message("preset")
        return True

    def load_preset(self, path: Path) -> bool:
        try:
            preset = load_preset(path)
        except CocomposerError as err:
            self.show_message("preset", str(err))
            return False
        self.clear_message("preset")
        self.update_settings(lambda _: preset.settings)
        return True

    def _save_preset_dialog(self) -> None:
        self.presets_dir.mkdir(parents=True, exist_ok=True)
        path, _ = QFileDialog.getSaveFileName(self, "Save preset", str(self.presets_dir), "Presets (*.toml)")
        if path:
            self.save_preset(Path(path).with_suffix(".toml"))

    def _load_preset_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Load preset", str(self.presets_dir), "Presets (*.toml)")
        if path:
            self.load_preset(Path(path))

    def schedule_autosave(self) -> None:
        self._autosave_timer.start()

    def autosave(self) -> None:
        """The settings, bindings, ports and sync source, back at the next start."""
        config = self.host.config
        panel = {"in_port": self.host.wanted["input"], "out_port": self.host.wanted["output"], "sync": config.sync,
                 "model": str(config.model) if config.model else None}  # fmt: skip
        try:
            save_preset(self.config_path, self.settings, panel)
        except OSError as err:
            self.show_message("config", f"could not save the settings to {self.config_path}: {err.strerror or err}")
        else:
            self.clear_message("config")

    # -- messages --------------------------------------------------------------------------------------------------
    def show_message(self, key: str, text: str) -> None:
        self.message_area.show_message(key, text)

    def clear_message(self, key: str) -> None:
        self.message_area.clear(key)

    def message_text(self) -> str:
        return self.message_area.text()

    # -- closing ---------------------------------------------------------------------------------------------------
    def shutdown(self) -> None:
        """Save, stop the engine (every note closed), close the ports. Safe to call twice."""
        for timer in (self._readout_timer, self._poll_timer, self._autosave_timer):
            timer.stop()
        if self.phrase is not None:
            self.phrase.stop()
        self.autosave()
        self.bridge.detach()
        self.host.stop()

    def closeEvent(self, event: QCloseEvent | None) -> None:  # noqa: N802 (Qt's name)
        self.shutdown()
        super().closeEvent(event)
