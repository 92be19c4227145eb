"""`python -m cocomposer.training finetune --ratings ratings.jsonl`: nudge a model toward the answers a player liked.

Each line of the panel's ratings log (``cocomposer_panel.ratings.rating_record``) holds an answer as it sounded, the
player's call before it, the settings and "like" or "dislike". Each becomes one sequence: the call, then the answer,
encoded with the one codec, in the meter and style the player had set. A few steps of Adam then lower the model's
loss on the liked answers' tokens (the call is heard, not learned) and, more gently, raise it on the disliked ones
(the unlikelihood loss, ``-log(1 - p)``, which pushes down only what the model gave to the disliked token), while an
L2 pull toward the starting weights keeps a handful of ratings from rewriting the model. The result is exported as
a separate model (float32 ONNX, 6.6 MB, with its sidecar and golden vectors: int8 would round away what a few
small steps moved; the shipped model is never touched) that a player picks
with ``--model``.

What this can do from a handful of ratings: make the liked answers' own turns (their intervals, rhythms, register)
more likely after calls like theirs. What it cannot: learn a taste in general from five examples, or tell why an
answer was liked; with few ratings it mostly memorises them, which is why the step count is small and the pull to
the base weights is on. The sidecar records the ratings used and the losses before and after.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from cocomposer.errors import DataError
from cocomposer.model.continuation import mood_of
from cocomposer.music import codec
from cocomposer.training.dataset import bar_positions, token_ticks

DEFAULT_STEPS = 30
DEFAULT_LR = 3e-4
DISLIKE_WEIGHT = 0.5  # unlikelihood counts half as much as a like
ANCHOR = 10.0  # weight of the L2 pull toward the starting weights (sum of squared differences)


@dataclass(frozen=True)
class Rated:
    """One rated answer as the network sees it: tokens, and from which target on the loss counts."""

    tokens: np.ndarray
    answer_from: int  # index into the targets (tokens[1:]) of the answer's first token
    liked: bool
    style: int
    mood: int
    meter: codec.Meter


def _notes(items: list[dict], shift: float) -> list[codec.Note]:
    return [
        codec.Note(n["start"] + shift, n["end"] + shift, int(n["pitch"]), int(n.get("velocity", 80))) for n in items
    ]


def _meter(settings: dict) -> codec.Meter:
    text = str(settings.get("meter", "auto"))
    if text != "auto":
        return codec.Meter.parse(text)
    return codec.Meter.of_beats(int(settings.get("beats_per_bar", 4)))


def rated(record: dict, styles: tuple[str, ...], moods: tuple[str, ...]) -> Rated | None:
    """One line of the ratings log as a training sequence (None for a rating of an empty answer)."""
    if not record.get("answer"):
        return None
    settings = record.get("settings", {})
    meter = _meter(settings)
    earliest = min(n["start"] for n in record["answer"] + record.get("call", []))
    shift = math.ceil(max(0.0, -earliest) / meter.bar_beats - 1e-9) * meter.bar_beats  # the call from beat >= 0
    call, answer = _notes(record.get("call", []), shift), _notes(record["answer"], shift)
    tokens = np.asarray(codec.encode_notes(call + answer), dtype=np.int64)
    if len(tokens) < 2:
        return None
    ticks = token_ticks(tokens)
    answer_tick = codec.beats_to_ticks(shift)
    answer_from = int(np.searchsorted(ticks[1:], answer_tick, side="left"))
    style = str(settings.get("style", styles[0]))
    mood = str(settings.get("mood", "auto"))
    mood = mood if mood in moods else mood_of(call + answer)
    return Rated(
        tokens, answer_from, record.get("rating") == "like", styles.index(style) if style in styles else 0,
        moods.index(mood), meter,
    )  # fmt: skip


def read_ratings(path: Path, styles: tuple[str, ...], moods: tuple[str, ...]) -> list[Rated]:
    """Every usable rating in the log at ``path``; a line that is not JSON is named with its number."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as err:
        raise DataError(f"could not read the ratings file {path}: {err}") from err
    out = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            example = rated(json.loads(line), styles, moods)
        except (ValueError, KeyError, TypeError) as err:
            raise DataError(f"{path} line {number} is not a rating the panel wrote ({err})") from err
        if example is not None:
            out.append(example)
    if not any(r.liked for r in out):
        raise DataError(f"{path} holds no liked answer with notes; like a few answers in the panel (L) first")
    return out


def _losses(net, example: Rated) -> torch.Tensor:
    """Per-target negative log-likelihood of the answer's tokens (the call only primes)."""
    tokens = torch.from_numpy(example.tokens[None, :-1])
    ticks = token_ticks(example.tokens)[:-1]
    phases = torch.from_numpy((ticks % codec.TICKS_PER_BEAT)[None])
    positions = torch.from_numpy(bar_positions(ticks, example.meter, 0)[None])
    one = lambda value: torch.tensor([value], dtype=torch.int64)  # noqa: E731
    logits, _ = net(tokens, phases, positions, one(example.style), one(example.mood), one(example.meter.index))
    targets = torch.from_numpy(example.tokens[1:])
    nll = -torch.log_softmax(logits[0], dim=-1).gather(1, targets[:, None])[:, 0]
    return nll[example.answer_from :]


def mean_nll(net, examples: list[Rated], liked: bool) -> float | None:
    """Mean per-token NLL of the liked (or disliked) answers under ``net``."""
    with torch.no_grad():
        values = [_losses(net, e) for e in examples if e.liked == liked]
    return float(torch.cat(values).mean()) if values else None


def finetune(net, examples: list[Rated], steps: int = DEFAULT_STEPS, lr: float = DEFAULT_LR, seed: int = 0) -> dict:
    """Move ``net`` (a CocomposerNet, in place) toward the liked answers; returns the losses before and after."""
    torch.manual_seed(seed)
    net.eval()  # no dropout: a handful of sequences, every step sees them all
    before = {"liked_nll": mean_nll(net, examples, True), "disliked_nll": mean_nll(net, examples, False)}
    start = [p.detach().clone() for p in net.parameters()]
    optimizer = torch.optim.Adam(net.parameters(), lr=lr)
    for _ in range(steps):
        optimizer.zero_grad()
        terms = []
        for example in examples:
            nll = _losses(net, example)
            if example.liked:
                terms.append(nll.mean())
            else:
                p = torch.exp(-nll).clamp(max=1 - 1e-6)
                terms.append(DISLIKE_WEIGHT * -torch.log1p(-p).mean())
        anchor = sum(((p - p0) ** 2).sum() for p, p0 in zip(net.parameters(), start, strict=True))
        loss = torch.stack(terms).mean() + ANCHOR * anchor
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
        optimizer.step()
    after = {"liked_nll": mean_nll(net, examples, True), "disliked_nll": mean_nll(net, examples, False)}
    return {"before": before, "after": after}


def run(ratings: Path, base: Path, out: Path, steps: int, lr: float, seed: int) -> dict:
    """Fine-tune the model at ``base`` on ``ratings`` and export it to ``out``; returns what the sidecar records."""
    from cocomposer.model.runtime import ModelInfo
    from cocomposer.training.export import export
    from cocomposer.training.warmstart import net_from_onnx

    if out.resolve() == base.resolve():
        raise DataError(f"--out {out} is the model being fine-tuned; write the fine-tuned model to a new file")
    info = ModelInfo.read(base)
    examples = read_ratings(ratings, info.styles, info.moods)
    net = net_from_onnx(base)
    losses = finetune(net, examples, steps, lr, seed)
    facts = {
        **info.training,
        "fine_tuned_on_ratings": {
            "ratings_file": ratings.name,
            "liked": sum(e.liked for e in examples),
            "disliked": sum(not e.liked for e in examples),
            "steps": steps,
            "lr": lr,
            "base_model": base.name,
            "base_sha256": hashlib.sha256(base.read_bytes()).hexdigest(),
            **losses,
        },
    }
    export(net, out, facts, int8=False)  # a few steps move weights by less than one int8 step: keep float32
    return facts["fine_tuned_on_ratings"]
