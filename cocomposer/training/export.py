"""Export a trained checkpoint to a single-step ONNX graph, its sidecar JSON and golden vectors.

Inputs: ``token``, ``phase``, ``bar_position``, ``style``, ``mood``, ``meter`` (int64, shape (1,)), ``state``
(float32, (layers, 1, hidden)) and ``cond_scale`` (float32, (2,): the weights of the style and mood embeddings).
Outputs: ``logits`` (1, vocab) and ``state_out``. The golden vectors (a fixed token sequence and the logits expected
for it) let CI check the ONNX file with onnxruntime alone.

Every export first writes the float32 graph and checks it against torch (max abs logit difference at most
``PARITY_TOLERANCE``). By default the weights of its matrix products are then quantized to int8 (onnxruntime dynamic
quantization, 7-bit range so that AVX2 and VNNI processors compute the same integers): a step takes about half the
time, and the test NLL of the shipped model moved by 0.2%. The goldens of an int8 model are what onnxruntime
computes for it, with the torch logits kept beside them.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from cocomposer.errors import ModelError
from cocomposer.music import codec
from cocomposer.training.net import CocomposerNet, StepNet

GOLDEN_STEPS = 64
PARITY_TOLERANCE = 1e-4  # float32 ONNX against torch
INT8_GOLDEN_TOLERANCE = 1e-3  # int8 ONNX against itself elsewhere (the float parts may sum in another order)
INPUTS = ("token", "phase", "bar_position", "style", "mood", "meter", "state", "cond_scale")
FORMAT = "cocomposer-step-v2"
GOLDEN_METER = codec.Meter(3, 4)  # the golden vectors run in 3/4, so a lost bar-position input shows


def golden_inputs(n: int = GOLDEN_STEPS, seed: int = 7) -> dict[str, np.ndarray]:
    """A fixed, valid-looking token sequence: a random walk of notes with shifts."""
    rng = np.random.default_rng(seed)
    notes = []
    t = 0.0
    pitch = 64
    while len(notes) < n:
        pitch = int(np.clip(pitch + rng.integers(-4, 5), 48, 84))
        length = float(rng.choice([0.25, 0.5, 1.0, 1 / 3]))
        notes.append(codec.Note(t, t + length, pitch))
        t += length
    tokens = np.array(codec.encode_notes(notes)[:n], dtype=np.int64)
    ticks = np.cumsum([codec.shift_ticks(int(t)) for t in tokens])
    return {
        "tokens": tokens,
        "phases": np.array(codec.phases(tokens.tolist()), dtype=np.int64),
        "bar_positions": np.array([codec.bar_position(int(t), GOLDEN_METER) for t in ticks], dtype=np.int64),
        "style": np.array([1], dtype=np.int64),
        "mood": np.array([0], dtype=np.int64),
        "meter": np.array([GOLDEN_METER.index], dtype=np.int64),
    }


@torch.no_grad()
def torch_step_logits(net: CocomposerNet, inputs: dict[str, np.ndarray]) -> np.ndarray:
    """Logits after each token of ``inputs``, computed by the full-sequence torch GRU."""
    net.eval()
    logits, _ = net(
        torch.from_numpy(inputs["tokens"])[None],
        torch.from_numpy(inputs["phases"])[None],
        torch.from_numpy(inputs["bar_positions"])[None],
        torch.from_numpy(inputs["style"]),
        torch.from_numpy(inputs["mood"]),
        torch.from_numpy(inputs["meter"]),
    )
    return logits[0].numpy().astype(np.float32)


def onnx_step_logits(path: Path, inputs: dict[str, np.ndarray]) -> np.ndarray:
    """Logits after each token of ``inputs``, stepped through the ONNX file at ``path`` by onnxruntime."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    state_input = next(i for i in session.get_inputs() if i.name == "state")
    state = np.zeros(state_input.shape, dtype=np.float32)
    rows = []
    for token, phase, bar in zip(inputs["tokens"], inputs["phases"], inputs["bar_positions"], strict=True):
        logits, state = session.run(
            None,
            {
                "token": np.array([token], dtype=np.int64),
                "phase": np.array([phase], dtype=np.int64),
                "bar_position": np.array([bar], dtype=np.int64),
                "style": inputs["style"],
                "mood": inputs["mood"],
                "meter": inputs["meter"],
                "state": state,
                "cond_scale": np.ones(2, dtype=np.float32),
            },
        )
        rows.append(logits[0])
    return np.stack(rows)


def quantize_int8(source: Path, out: Path) -> None:
    """Write ``source`` with its MatMul/Gemm weights as int8 (dynamic quantization, 7-bit range) to ``out``."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(str(source), str(out), weight_type=QuantType.QInt8, reduce_range=True)


def export(net: CocomposerNet, out: Path, facts: dict, int8: bool = True) -> dict:
    """Write ``out`` (.onnx), ``out.with_suffix('.json')`` and ``<stem>.golden.npz``; returns the sidecar dict.

    Raises :class:`ModelError` when the float32 graph does not match torch."""
    out.parent.mkdir(parents=True, exist_ok=True)
    cfg = net.config
    step = StepNet(net)
    state = torch.zeros(cfg.layers, 1, cfg.hidden)
    one = torch.zeros(1, dtype=torch.int64)
    fp32 = out.with_name(out.stem + ".fp32.onnx") if int8 else out
    torch.onnx.export(
        step,
        (one, one, one, one, one, one, state, torch.ones(2)),
        str(fp32),
        input_names=list(INPUTS),
        output_names=["logits", "state_out"],
        opset_version=17,
        dynamo=False,
        do_constant_folding=True,
    )
    inputs = golden_inputs()
    torch_logits = torch_step_logits(net, inputs)
    parity = float(np.abs(onnx_step_logits(fp32, inputs) - torch_logits).max())
    if parity > PARITY_TOLERANCE:
        raise ModelError(f"the float32 ONNX graph differs from torch by {parity:.2e} (allowed {PARITY_TOLERANCE})")
    weights = {"weights": "float32", "golden_tolerance": PARITY_TOLERANCE, "parity_with_torch": parity}
    expected = torch_logits
    if int8:
        quantize_int8(fp32, out)
        fp32.unlink()
        expected = onnx_step_logits(out, inputs)
        weights = {
            "weights": "int8 (onnxruntime dynamic quantization of MatMul/Gemm weights, 7-bit range)",
            "golden_tolerance": INT8_GOLDEN_TOLERANCE,
            "parity_with_torch": parity,
            "int8_max_logit_difference": float(np.abs(expected - torch_logits).max()),
        }
    np.savez_compressed(
        out.with_name(out.stem + ".golden.npz"), expected_logits=expected, torch_logits=torch_logits, **inputs
    )
    sidecar = {
        "format": FORMAT,
        "vocabulary_hash": codec.vocabulary_hash(),
        "vocab_size": cfg.vocab,
        "styles": list(codec.STYLES),
        "moods": list(codec.MOODS),
        "meters": list(codec.METERS),
        "ticks_per_beat": codec.TICKS_PER_BEAT,
        "state_shape": [cfg.layers, 1, cfg.hidden],
        "inputs": list(INPUTS),
        "outputs": ["logits", "state_out"],
        "net": cfg.to_dict(),
        "velocity": "not modelled: the corpus is made of scores; the engine sets velocity (follow or fixed)",
        **weights,
        "training": facts,
    }
    out.with_suffix(".json").write_text(json.dumps(sidecar, indent=2) + "\n")
    return sidecar
