"""Takes: three more answers to the last call, to hear, drag into a DAW, or save.

"3 takes" (T) samples three answers to the call the player last played (the rated answer's call: what
:class:`cocomposer_panel.ratings.AnswerTracker` heard), as long as the last answer, with the panel's settings and
model, seeds 1..3, on a thread of its own (the shipped model in a session of its own: the engine's generator is not
touched). Each is written at once to a MIDI file with its provenance (the call as the player's track, the take as
cocomposer's, on the answer channel) in the panel's takes folder, so it can be dragged out as a file (a Qt drag
carrying the file's URL, which DAWs take as a MIDI clip), saved elsewhere, or played on request through the engine
(``PlayNotes``: scheduled like an answer, closed by panic).
"""

from __future__ import annotations

import math
import shutil
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from cocomposer_panel.ratings import HeardNote
from PyQt6.QtCore import QMimeData, Qt, QUrl, pyqtSignal
from PyQt6.QtGui import QDrag, QMouseEvent
from PyQt6.QtWidgets import QFileDialog, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from cocomposer.app.takes import figures, now_iso
from cocomposer.engine.commands import PlayNotes
from cocomposer.engine.settings import Settings
from cocomposer.errors import CocomposerError
from cocomposer.model.continuation import Conversation, continue_notes
from cocomposer.model.facts import base_record
from cocomposer.model.runtime import OnnxModel
from cocomposer.model.sampling import Controls
from cocomposer.music import codec, provenance

COUNT = 3


@dataclass(frozen=True)
class Take:
    index: int  # 1..COUNT
    seed: int
    notes: list[codec.Note]  # times in beats from the take's first bar line
    path: Path  # the MIDI file (its sidecar beside it)
    summary: str  # notes per bar, range, key


def make_takes(
    call: list[HeardNote], answer: list[HeardNote], settings: Settings, model: Path | None, folder: Path
) -> list[Take]:
    """``COUNT`` answers to ``call``, each as long (in bars) as ``answer``, written to ``folder`` with provenance."""
    if not call:
        raise CocomposerError("no call to answer yet: play a phrase, let cocomposer answer, then ask for takes")
    meter = settings.model_meter
    span = max(n.end for n in answer) - min(n.start for n in answer) if answer else meter.bar_beats
    bars = max(1, min(8, math.ceil(span / meter.bar_beats - 1e-9)))
    origin = math.floor(min(n.start for n in call) / meter.bar_beats) * meter.bar_beats
    prompt = [codec.Note(n.start - origin, max(n.end, n.start) - origin, n.pitch, n.velocity) for n in call]
    controls = Controls(
        temperature=settings.temperature, top_p=settings.top_p, density=settings.density, low=settings.low,
        high=settings.high, mimic=settings.mimic,
    )  # fmt: skip
    key = settings.key if isinstance(settings.key, str) else str(settings.key)
    onnx = OnnxModel.load(model)
    folder.mkdir(parents=True, exist_ok=True)
    takes = []
    for index in range(1, COUNT + 1):
        continuation, mood = continue_notes(
            onnx, prompt, bars, controls, settings.style, settings.mood, index, meter=meter, key_lock=key,
            conversation=Conversation(cadence=settings.cadence),
        )  # fmt: skip
        start = continuation.start_tick / codec.TICKS_PER_BEAT
        notes = [codec.Note(n.start - start, n.end - start, n.pitch, n.velocity) for n in continuation.notes]
        path = folder / f"take-{index}.mid"
        record = base_record("ui take", model, index, {**_plain(settings), "mood_played": mood})
        tracks = [
            ("player (call)", prompt, 0, provenance.PLAYER),
            (f"cocomposer take {index}", continuation.notes, settings.out_channel - 1, provenance.GENERATED),
        ]
        provenance.save(path, tracks, record, settings.bpm, meter, now_iso(), [(start, f"take {index}")])
        f = figures(notes, bars)
        summary = f"{f['notes']} notes, {f['notes_per_bar']:g}/bar, {f['low'] or '-'}..{f['high'] or '-'}, {f['key']}"
        takes.append(Take(index, index, notes, path, summary))
    return takes


def _plain(settings: Settings) -> dict[str, object]:
    return {name: getattr(settings, name) for name in settings.__dataclass_fields__ if name != "cc"}


def play_command(take: Take) -> PlayNotes:
    """The engine command that plays ``take`` from the next beat on the answer channel."""
    return PlayNotes(tuple((n.start, n.end, n.pitch, n.velocity) for n in take.notes))


def take_mime(take: Take) -> QMimeData:
    """What a drag of ``take`` carries: the MIDI file's URL (a DAW or file manager takes the file itself)."""
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(take.path.resolve()))])
    mime.setText(str(take.path))
    return mime


def save_take(take: Take, target: Path) -> Path:
    """Copy the take's MIDI file and its provenance sidecar to ``target`` (a .mid path)."""
    target = target if target.suffix else target.with_suffix(".mid")
    try:
        shutil.copyfile(take.path, target)
        shutil.copyfile(provenance.sidecar_path(take.path), provenance.sidecar_path(target))
    except OSError as err:
        raise CocomposerError(f"could not save the take to {target}: {err}") from err
    return target


class DragHandle(QLabel):
    """A grip that starts a file drag of its take."""

    def __init__(self, take: Take) -> None:
        super().__init__("⠿ drag", objectName="takeDrag")
        self.take = take
        self.setToolTip(f"drag {take.path.name} into your DAW")

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802 (Qt's name)
        if event.button() == Qt.MouseButton.LeftButton:
            drag = QDrag(self)
            drag.setMimeData(take_mime(self.take))
            drag.exec(Qt.DropAction.CopyAction)


class TakesBox(QWidget):
    """The "3 takes" button and a row per take: its figures, Play, Save…, and a drag grip."""

    ready = pyqtSignal(object)  # list[Take] or a CocomposerError, from the worker thread

    def __init__(self, make: Callable[[], Callable[[], list[Take]]], play: Callable[[Take], None]) -> None:
        super().__init__()
        self._make, self._play = make, play
        self.takes: list[Take] = []
        self.button = QPushButton(f"{COUNT} takes of the last answer (T)")
        self.status = QLabel("", objectName="takesStatus")
        self.rows = QVBoxLayout()
        top = QHBoxLayout()
        top.addWidget(self.button)
        top.addWidget(self.status, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addLayout(self.rows)
        self.button.clicked.connect(self.request)
        self.ready.connect(self._show)
        self.worker: threading.Thread | None = None

    def request(self) -> None:
        """Sample the takes on a thread of its own (``make`` reads what it needs here, on the Qt thread, and returns
        the job); they appear when done."""
        if self.worker is not None and self.worker.is_alive():
            return
        self.status.setText("sampling takes…")
        job = self._make()

        def work() -> None:
            try:
                self.ready.emit(job())
            except CocomposerError as err:
                self.ready.emit(err)

        self.worker = threading.Thread(target=work, name="cocomposer-takes", daemon=True)
        self.worker.start()

    def _show(self, result: object) -> None:
        while self.rows.count():
            item = self.rows.takeAt(0)
            if item.layout() is not None:
                while item.layout().count():
                    widget = item.layout().takeAt(0).widget()
                    if widget is not None:
                        widget.deleteLater()
        if isinstance(result, CocomposerError):
            self.takes = []
            self.status.setText(str(result))
            return
        self.takes = list(result)  # type: ignore[arg-type]
        self.status.setText(f"{len(self.takes)} takes in {self.takes[0].path.parent}" if self.takes else "")
        for take in self.takes:
            row = QHBoxLayout()
            row.addWidget(QLabel(f"take {take.index}: {take.summary}"), 1)
            play, save = QPushButton("Play"), QPushButton("Save…")
            play.clicked.connect(lambda _=False, t=take: self._play(t))
            save.clicked.connect(lambda _=False, t=take: self.save(t))
            row.addWidget(play)
            row.addWidget(save)
            row.addWidget(DragHandle(take))
            self.rows.addLayout(row)

    def save(self, take: Take, target: Path | None = None) -> None:
        """Save ``take`` (MIDI file and sidecar) where the user chooses (or to ``target``); a failure is shown."""
        if target is None:
            chosen, _ = QFileDialog.getSaveFileName(self, "Save take", take.path.name, "MIDI files (*.mid)")
            if not chosen:
                return
            target = Path(chosen)
        try:
            self.status.setText(f"saved {save_take(take, target)}")
        except CocomposerError as err:
            self.status.setText(str(err))
