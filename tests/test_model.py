"""The shipped model, run by onnxruntime alone: golden vectors, the vocabulary check, and what sampling may emit."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from cocomposer import codec
from cocomposer.errors import ModelError
from cocomposer.keys import Key
from cocomposer.model import OnnxModel, default_model_path
from cocomposer.sampling import Controls, masked_logits, sample_token

MODEL = default_model_path()


@pytest.fixture(scope="module")
def model() -> OnnxModel:
    return OnnxModel.load(MODEL)


def test_shipped_model_is_small_and_described() -> None:
    assert MODEL.stat().st_size <= 20 * 1024 * 1024
    sidecar = json.loads(MODEL.with_suffix(".json").read_text())
    assert sidecar["vocabulary_hash"] == codec.vocabulary_hash()
    assert tuple(sidecar["styles"]) == codec.STYLES and tuple(sidecar["moods"]) == codec.MOODS
    assert (MODEL.parent / "MODEL_CARD.md").exists()


def test_golden_vectors_match(model: OnnxModel) -> None:
    golden = np.load(MODEL.with_name(MODEL.stem + ".golden.npz"))
    model.reset()
    model.set_strength(1.0, 1.0)  # the golden vectors were computed as in training
    model.set_style(int(golden["style"][0]))
    model.set_mood(int(golden["mood"][0]))
    got = np.stack([model.step(int(t)).copy() for t in golden["tokens"]])
    assert np.abs(got - golden["expected_logits"]).max() <= 1e-4


def test_state_is_a_fixed_size_input_and_output(model: OnnxModel) -> None:
    model.reset()
    shapes = set()
    for i in range(300):
        model.step(codec.shift_token(3) if i % 2 else codec.on_token(60 + i % 12))
        shapes.add(model.state.shape)
    assert shapes == {tuple(model.info.state_shape)}


def test_a_model_for_another_vocabulary_is_refused(tmp_path: Path) -> None:
    copy = tmp_path / "other.onnx"
    shutil.copy(MODEL, copy)
    sidecar = json.loads(MODEL.with_suffix(".json").read_text())
    sidecar["vocabulary_hash"] = "0" * 16
    copy.with_suffix(".json").write_text(json.dumps(sidecar))
    with pytest.raises(ModelError, match="vocabulary"):
        OnnxModel.load(copy)


def test_missing_files_say_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="does not exist"):
        OnnxModel.load(tmp_path / "nothing.onnx")
    shutil.copy(MODEL, tmp_path / "lonely.onnx")
    with pytest.raises(ModelError, match="sidecar"):
        OnnxModel.load(tmp_path / "lonely.onnx")


def test_unknown_labels_are_refused(model: OnnxModel) -> None:
    with pytest.raises(ModelError, match="style"):
        model.set_style("dubstep")


def test_sampling_respects_key_lock_range_and_sounding_notes() -> None:
    rng = np.random.default_rng(0)
    logits = rng.normal(size=codec.VOCAB_SIZE)
    controls = Controls(key=Key(2, "major"), low=50, high=70, temperature=2.0, top_p=1.0)
    allowed = {(2 + d) % 12 for d in (0, 2, 4, 5, 7, 9, 11)}
    for _ in range(500):
        token = sample_token(logits, controls, rng, frozenset({62}), closable=frozenset())
        if codec.is_on(token):
            pitch = codec.token_pitch(token)
            assert 50 <= pitch <= 70 and pitch % 12 in allowed and pitch != 62
        assert not codec.is_off(token), "a note it did not open is never closed"
        assert token != codec.PAD


def test_polyphony_cap_and_density() -> None:
    logits = np.zeros(codec.VOCAB_SIZE)
    full = masked_logits(logits, Controls(max_polyphony=2), frozenset({60, 64}))
    assert np.isinf(full[codec.ON_BASE : codec.OFF_BASE]).all()
    dense = masked_logits(logits, Controls(density=2.0), frozenset())
    assert dense[codec.on_token(60)] > dense[codec.shift_token(1)]


def test_mood_bias_leans_away_from_the_other_mode() -> None:
    logits = np.zeros(codec.VOCAB_SIZE)
    minor = masked_logits(logits, Controls(mood_key=Key(0, "minor")), frozenset())
    assert minor[codec.on_token(64)] < minor[codec.on_token(63)]  # E below Eb in C minor
    major = masked_logits(logits, Controls(mood_key=Key(0, "major")), frozenset())
    assert major[codec.on_token(63)] < major[codec.on_token(64)]


def test_a_primed_model_answers_in_range(model: OnnxModel) -> None:
    from cocomposer.generate import continue_from, prime

    model.set_style("folk")
    model.set_mood("major")
    encoder = prime(model, [codec.Note(0, 1, 60), codec.Note(1, 2, 64), codec.Note(2, 4, 67)])
    answer = continue_from(model, encoder, Controls(low=55, high=79), np.random.default_rng(2), 8.0, start_beat=4.0)
    assert all(55 <= n.pitch <= 79 and 4.0 <= n.start < n.end <= 12.0 for n in answer.notes)
    assert not {codec.token_pitch(t) for t in answer.tokens if codec.is_on(t)} - {n.pitch for n in answer.notes}
