"""Draw docs/mimic.png: one call and its answers, network alone (mimic 0, cadence 0) against the defaults.

Runs the shipped model through the same code as `cocomposer continue` on a benchmark prompt and paints the piano
rolls with Qt (offscreen, no display needed):

    QT_QPA_PLATFORM=offscreen python scripts/call_and_answers.py [--prompt blues_swung] [--seed 0] [-o docs/mimic.png]
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

from PyQt6.QtCore import QRectF, Qt
from PyQt6.QtGui import QColor, QFont, QGuiApplication, QImage, QPainter, QPen

from cocomposer.model.continuation import Conversation, continue_notes
from cocomposer.model.runtime import OnnxModel
from cocomposer.model.sampling import DEFAULT_MIMIC, Controls
from cocomposer.music import codec
from cocomposer.music.midifile import read_phrase

PROMPTS = Path(__file__).resolve().parent.parent / "benchmarks" / "prompts"
NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
CALL, ANSWER, GRID, BAR, TEXT, BACK = "#4fa3ff", "#ffb347", "#2a2f3a", "#59627a", "#e8e8e8", "#12151c"


Rows = list[tuple[str, list[codec.Note]]]


def answers(prompt: str, seed: int, bars: int | None) -> tuple[list[codec.Note], Rows, float]:
    phrase = read_phrase(PROMPTS / f"{prompt}.mid")
    model = OnnxModel.load()
    alone = Conversation(follow_call=False, cadence=0.0, groove=False, learn_call=False)
    out = []
    for label, controls, conversation in (
        ("network alone (mimic 0, cadence 0)", Controls(mimic=0.0), alone),
        (f"default (mimic {DEFAULT_MIMIC:g}, cadence, call's register and swing)", Controls(), Conversation()),
    ):
        answer, _ = continue_notes(
            model, phrase.notes, bars, controls, "folk", "auto", seed, meter=phrase.meter, conversation=conversation
        )
        out.append((label, answer.notes))
    return phrase.notes, out, phrase.meter.bar_beats


def paint(call: list[codec.Note], rows: Rows, bar: float, title: str, out: Path) -> None:
    notes = call + [n for _, ns in rows for n in ns]
    low, high = min(n.pitch for n in notes) - 2, max(n.pitch for n in notes) + 2
    end = max(n.end for n in notes)
    start = math.floor(min(n.start for n in call) / bar) * bar
    width, row_h, left, top = 1500, 260, 60, 40
    image = QImage(width, top + row_h * len(rows) + 20, QImage.Format.Format_RGB32)
    image.fill(QColor(BACK))
    p = QPainter(image)
    p.setFont(QFont("DejaVu Sans", 11))
    per_beat = (width - left - 20) / (end - start)
    for i, (label, answer) in enumerate(rows):
        y0 = top + i * row_h
        h = (row_h - 40) / (high - low + 1)
        p.setPen(QColor(TEXT))
        p.drawText(left, y0 + 16, f"{title}: the call (blue) and its answer (orange), {label}")
        for pitch in range(low, high + 1):
            if pitch % 12 == 0:
                y = y0 + 24 + (high - pitch) * h
                p.setPen(QPen(QColor(GRID)))
                p.drawLine(left, int(y + h), width - 20, int(y + h))
                p.setPen(QColor(TEXT))
                p.drawText(4, int(y + h), f"{NAMES[pitch % 12]}{pitch // 12 - 1}")
        b = start
        while b <= end + 1e-9:
            p.setPen(QPen(QColor(BAR)))
            x = left + (b - start) * per_beat
            p.drawLine(int(x), y0 + 24, int(x), y0 + row_h - 16)
            b += bar
        for notes_, colour in ((call, CALL), (answer, ANSWER)):
            for n in notes_:
                rect = QRectF(left + (n.start - start) * per_beat, y0 + 24 + (high - n.pitch) * h,
                              max(2.0, (n.end - n.start) * per_beat - 1), max(2.0, h - 1))  # fmt: skip
                p.fillRect(rect, QColor(colour))
    p.setPen(Qt.PenStyle.NoPen)
    p.end()
    out.parent.mkdir(parents=True, exist_ok=True)
    image.save(str(out))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--prompt", default="blues_swung", help="a prompt of benchmarks/prompts (its file name)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--bars", default="4", help="bars per answer, or auto")
    parser.add_argument("-o", "--output", type=Path, default=Path("docs/mimic.png"))
    args = parser.parse_args()
    app = QGuiApplication([])  # noqa: F841 (fonts need an application)
    call, rows, bar = answers(args.prompt, args.seed, None if args.bars == "auto" else int(args.bars))
    paint(call, rows, bar, args.prompt.replace("_", " "), args.output)
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
