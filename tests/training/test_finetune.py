"""Likes that teach: the panel's ratings log turned into a fine-tuned model that prefers the liked answers."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch", reason="the train extra (torch) is not installed")
pytest.importorskip("onnx", reason="the train extra (onnx) is not installed")

from cocomposer_panel.ratings import HeardNote, RatingLog, rating_record

from cocomposer.engine.settings import Settings
from cocomposer.model.continuation import continue_notes
from cocomposer.model.preferences import Preferences
from cocomposer.model.runtime import OnnxModel, default_model_path
from cocomposer.model.sampling import Controls
from cocomposer.music import codec
from cocomposer.music.phrases import demo_phrase
from cocomposer.training.__main__ import main as training_main
from cocomposer.training.finetune import read_ratings

pytestmark = pytest.mark.train


def heard(notes: list[codec.Note]) -> list[HeardNote]:
    return [HeardNote(n.start, n.end, n.pitch, n.velocity) for n in notes]


def write_ratings(path: Path) -> None:
    """Five answers to the demo phrase, as the panel logs them: seeds 0..2 liked, 3..4 disliked."""
    model = OnnxModel.load()
    call = [codec.Note(n.start, n.end, n.pitch, n.velocity) for n in demo_phrase()]
    log, preferences = RatingLog(path), Preferences()
    for seed in range(5):
        answer, _ = continue_notes(model, call, 2, Controls(), "folk", "auto", seed)
        liked = seed < 3
        traits = preferences.rate([(n.start, n.end, n.pitch) for n in answer.notes], liked)
        record = rating_record(
            liked, heard(answer.notes), heard(call), Settings(), traits, preferences.preference, "default"
        )
        log.append(record)


def answer_nll(model: OnnxModel, example) -> float:
    """Mean NLL of an answer's tokens after its call, stepped through the exported ONNX model."""
    model.set_style(example.style)
    model.set_mood(example.mood)
    model.set_meter(example.meter, 0)
    model.reset(0)
    total = []
    for i, token in enumerate(example.tokens[:-1]):
        logits = model.step(int(token))
        if i >= example.answer_from:
            target = int(example.tokens[i + 1])
            log_probs = logits - np.log(np.exp(logits - logits.max()).sum()) - logits.max()
            total.append(-log_probs[target])
    return float(np.mean(total))


def test_finetune_on_ratings_moves_the_model_toward_liked_answers(tmp_path: Path) -> None:
    ratings = tmp_path / "ratings.jsonl"
    write_ratings(ratings)
    out = tmp_path / "mine.onnx"
    assert training_main(["finetune", "--ratings", str(ratings), "--out", str(out), "--steps", "20"]) == 0
    base, tuned = OnnxModel.load(), OnnxModel.load(out)  # loads: vocabulary, sidecar and graph are sound
    examples = read_ratings(ratings, base.info.styles, base.info.moods)
    assert sum(e.liked for e in examples) == 3 and len(examples) == 5
    liked = [e for e in examples if e.liked]
    disliked = [e for e in examples if not e.liked]
    before = np.mean([answer_nll(base, e) for e in liked])
    after = np.mean([answer_nll(tuned, e) for e in liked])
    assert after < before - 0.05, (before, after)  # the liked answers became more likely
    assert np.mean([answer_nll(tuned, e) for e in disliked]) > np.mean([answer_nll(base, e) for e in disliked]) - 0.05
    sidecar = json.loads(out.with_suffix(".json").read_text())["training"]["fine_tuned_on_ratings"]
    assert (sidecar["liked"], sidecar["disliked"], sidecar["steps"]) == (3, 2, 20)
    assert default_model_path().read_bytes() != out.read_bytes()


def test_a_ratings_file_with_no_like_is_refused_with_a_reason(tmp_path: Path, capsys) -> None:
    ratings = tmp_path / "ratings.jsonl"
    ratings.write_text(json.dumps({"rating": "dislike", "answer": [], "call": [], "settings": {}}) + "\n")
    assert training_main(["finetune", "--ratings", str(ratings), "--out", str(tmp_path / "x.onnx")]) == 2
    assert "holds no liked answer" in capsys.readouterr().err
    ratings.write_text("not json\n")
    assert training_main(["finetune", "--ratings", str(ratings), "--out", str(tmp_path / "x.onnx")]) == 2
    assert "line 1 is not a rating the panel wrote" in capsys.readouterr().err
