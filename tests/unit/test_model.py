"""The shipped model, run by onnxruntime alone: golden vectors, the vocabulary check, and what sampling may emit."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from cocomposer.errors import ConfigError, ModelError
from cocomposer.model.runtime import OnnxModel, default_model_path
from cocomposer.model.sampling import Controls, masked_logits, sample_token
from cocomposer.music import codec
from cocomposer.music.keys import Key

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
    model.set_meter(codec.Meter.parse(codec.METERS[int(golden["meter"][0])]))  # bar positions from tick 0
    got = np.stack([model.step(int(t)).copy() for t in golden["tokens"]])
    steps = np.cumsum([codec.shift_ticks(int(t)) for t in golden["tokens"]])
    assert [codec.bar_position(int(t), model.meter) for t in steps] == golden["bar_positions"].tolist()
    tolerance = json.loads(MODEL.with_suffix(".json").read_text()).get("golden_tolerance", 1e-4)
    assert tolerance <= 1e-3
    assert np.abs(got - golden["expected_logits"]).max() <= tolerance


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
    assert np.isinf(full[codec.SHIFT_BASE : codec.ON_BASE]).all(), "every voice taken: close one now, do not wait"
    assert np.isfinite(full[[codec.off_token(60), codec.off_token(64)]]).all()
    player_holds = masked_logits(logits, Controls(max_polyphony=2), frozenset({60, 64}), closable=frozenset())
    assert np.isfinite(player_holds[codec.shift_token(1)]), "the player's own notes do not take the model's voices"
    dense = masked_logits(logits, Controls(density=2.0), frozenset())
    assert dense[codec.on_token(60)] > dense[codec.shift_token(1)]


def test_mood_bias_leans_away_from_the_other_mode() -> None:
    logits = np.zeros(codec.VOCAB_SIZE)
    minor = masked_logits(logits, Controls(mood_key=Key(9, "minor")), frozenset())  # A (harmonic) minor
    assert minor[codec.on_token(61)] < minor[codec.on_token(60)]  # C# below C
    assert minor[codec.on_token(67)] < minor[codec.on_token(68)]  # G below the leading tone G#
    assert minor[codec.on_token(57)] > minor[codec.on_token(59)] > minor[codec.on_token(58)]  # tonic lifted; Bb out
    major = masked_logits(logits, Controls(mood_key=Key(0, "major")), frozenset())
    assert major[codec.on_token(63)] < major[codec.on_token(64)]
    assert major[codec.on_token(60)] > major[codec.on_token(62)] > major[codec.on_token(61)]


def test_the_mood_key_is_the_best_fit_of_that_mode() -> None:
    from cocomposer.music.keys import find_key, pitch_class_histogram

    c_major_tune = pitch_class_histogram([60, 62, 64, 65, 67, 69, 71, 72, 67, 64, 60])
    assert find_key(c_major_tune) == Key(0, "major")
    assert find_key(c_major_tune, "minor") == Key(9, "minor")  # its relative minor: the notes it already has
    assert find_key(c_major_tune, "major") == Key(0, "major")
    with pytest.raises(ConfigError):
        find_key(c_major_tune, "dorian")
    assert find_key(np.ones(12)) is None, "all twelve alike: no key"
    a_minor = pitch_class_histogram([57, 59, 60, 62, 64, 65, 68, 69, 64, 57])  # harmonic minor, G#
    assert find_key(a_minor) == Key(9, "minor")


def test_a_primed_model_answers_in_range(model: OnnxModel) -> None:
    from cocomposer.model.continuation import continue_from, prime

    model.set_style("folk")
    model.set_mood("major")
    encoder = prime(model, [codec.Note(0, 1, 60), codec.Note(1, 2, 64), codec.Note(2, 4, 67)])
    answer = continue_from(model, encoder, Controls(low=55, high=79), np.random.default_rng(2), 8.0, start_beat=4.0)
    assert all(55 <= n.pitch <= 79 and 4.0 <= n.start < n.end <= 12.0 for n in answer.notes)
    assert not {codec.token_pitch(t) for t in answer.tokens if codec.is_on(t)} - {n.pitch for n in answer.notes}


@pytest.mark.parametrize(("temperature", "top_p"), [(1.0, 1.0), (0.5, 1.0), (1.0, 0.7)])
def test_draws_follow_the_softmax_under_temperature_and_top_p(temperature: float, top_p: float) -> None:
    logits = np.full(codec.VOCAB_SIZE, -50.0)
    choices = [codec.on_token(60), codec.on_token(62), codec.on_token(64), codec.shift_token(6)]
    logits[choices] = np.log([0.4, 0.3, 0.2, 0.1])
    controls = Controls(temperature=temperature, top_p=top_p, low=0, high=127)
    rng = np.random.default_rng(0)
    draws = [sample_token(logits, controls, rng) for _ in range(20_000)]
    assert set(draws) <= set(choices)
    weights = np.array([0.4, 0.3, 0.2, 0.1]) ** (1 / temperature)
    weights /= weights.sum()
    if top_p < 1.0:  # the smallest set of likeliest tokens that holds top_p of the mass: 0.4 + 0.3
        weights = np.array([0.4, 0.3, 0.0, 0.0]) / 0.7
    observed = np.array([draws.count(c) for c in choices]) / len(draws)
    assert np.abs(observed - weights).max() < 0.015


# --- models that load but do not fit their sidecar: refused at load, with one clear line and exit 2 ---------------


def _graph_model(path: Path, vocab: int = codec.VOCAB_SIZE, token_input: str = "token") -> Path:
    """A real ONNX model of the step contract (built with the onnx package): logits of ``vocab`` zeros, the state
    passed through, its token input named ``token_input``; saved at ``path`` with the shipped model's sidecar."""
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper

    state_shape = json.loads(MODEL.with_suffix(".json").read_text())["state_shape"]
    names = (token_input, "phase", "bar_position", "style", "mood", "meter")
    ints = [helper.make_tensor_value_info(n, TensorProto.INT64, [1]) for n in names]
    state = helper.make_tensor_value_info("state", TensorProto.FLOAT, state_shape)
    outputs = [
        helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, vocab]),
        helper.make_tensor_value_info("state_out", TensorProto.FLOAT, state_shape),
    ]
    zeros = helper.make_tensor("zeros", TensorProto.FLOAT, [1, vocab], [0.0] * vocab)
    nodes = [
        helper.make_node("Constant", [], ["logits"], value=zeros),
        helper.make_node("Identity", ["state"], ["state_out"]),
    ]
    graph = helper.make_graph(nodes, "step", [*ints, state], outputs)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, path)
    shutil.copy(MODEL.with_suffix(".json"), path.with_suffix(".json"))
    return path


def _with_sidecar(tmp_path: Path, **changes: object) -> Path:
    """A copy of the shipped model whose sidecar has ``changes``."""
    copy = tmp_path / "edited.onnx"
    shutil.copy(MODEL, copy)
    sidecar = json.loads(MODEL.with_suffix(".json").read_text())
    copy.with_suffix(".json").write_text(json.dumps({**sidecar, **changes}))
    return copy


def _refused_by_the_cli(model: Path, tmp_path: Path, *needles: str) -> None:
    from tests.app.test_cli import DEMO_PHRASE, assert_clear_error, cocomposer

    out = tmp_path / "out.mid"
    result = cocomposer("continue", str(DEMO_PHRASE), "-o", str(out), "--bars", "1", "--model", str(model))
    assert_clear_error(result, model.stem, *needles)
    assert not out.exists()


@pytest.mark.parametrize(
    ("broken", "needles"),
    [
        ("state shape", ("state",)),
        ("styles as a string", ("styles",)),
        ("a style the embedding lacks", ("style",)),
    ],
)
def test_a_sidecar_that_does_not_fit_its_model_is_refused_at_load(
    tmp_path: Path, broken: str, needles: tuple[str, ...]
) -> None:
    sidecar = json.loads(MODEL.with_suffix(".json").read_text())
    changes: dict[str, object] = {
        "state shape": {"state_shape": [2, 1, 256]},
        "styles as a string": {"styles": "folk"},
        "a style the embedding lacks": {"styles": [*sidecar["styles"], "jazz"]},
    }[broken]
    model = _with_sidecar(tmp_path, **changes)
    with pytest.raises(ModelError, match="|".join(needles)):
        OnnxModel.load(model)
    _refused_by_the_cli(model, tmp_path, *needles)


@pytest.mark.parametrize(("broken", "needles"), [("vocabulary size", ("logits", "305")), ("input names", ("token",))])
def test_a_graph_that_does_not_fit_the_step_contract_is_refused_at_load(
    tmp_path: Path, broken: str, needles: tuple[str, ...]
) -> None:
    if broken == "vocabulary size":
        model = _graph_model(tmp_path / "small.onnx", vocab=200)
    else:
        model = _graph_model(tmp_path / "renamed.onnx", token_input="tokens")
    with pytest.raises(ModelError):
        OnnxModel.load(model)
    _refused_by_the_cli(model, tmp_path, *needles)


def test_a_graph_of_the_step_contract_loads(tmp_path: Path) -> None:
    """The builder above makes a model that fits: what the two tests before it refuse is the fault, not the graph."""
    model = OnnxModel.load(_graph_model(tmp_path / "fits.onnx"))
    assert model.step(codec.shift_token(1)).shape == (codec.VOCAB_SIZE,)
