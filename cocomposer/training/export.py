"""Export a trained checkpoint to a single-step ONNX graph, its sidecar JSON and golden vectors.

Inputs: ``token``, ``phase``, ``style``, ``mood`` (int64, shape (1,)), ``state`` (float32, (layers, 1, hidden)) and
``cond_scale`` (float32, (2,): the weights of the style and mood embeddings). Outputs: ``logits`` (1, vocab) and
``state_out``. The golden vectors (a fixed token sequence and the logits torch computed for it) let CI check the ONNX
file with onnxruntime alone.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from cocomposer import codec
from cocomposer.training.net import CocomposerNet, StepNet

GOLDEN_STEPS = 64


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
    return {
        "tokens": tokens,
        "phases": np.array(codec.phases(tokens.tolist()), dtype=np.int64),
        "style": np.array([1], dtype=np.int64),
        "mood": np.array([0], dtype=np.int64),
    }


@torch.no_grad()
def torch_step_logits(net: CocomposerNet, inputs: dict[str, np.ndarray]) -> np.ndarray:
    """Logits after each token of ``inputs``, computed by the full-sequence torch GRU."""
    net.eval()
    tokens = torch.from_numpy(inputs["tokens"])[None]
    phases = torch.from_numpy(inputs["phases"])[None]
    logits, _ = net(tokens, phases, torch.from_numpy(inputs["style"]), torch.from_numpy(inputs["mood"]))
    return logits[0].numpy().astype(np.float32)


def export(net: CocomposerNet, out: Path, facts: dict) -> dict:
    """Write ``out`` (.onnx), ``out.with_suffix('.json')`` and ``<stem>.golden.npz``; returns the sidecar dict."""
    out.parent.mkdir(parents=True, exist_ok=True)
    cfg = net.config
    step = StepNet(net)
    state = torch.zeros(cfg.layers, 1, cfg.hidden)
    one = torch.zeros(1, dtype=torch.int64)
    torch.onnx.export(
        step,
        (one, one, one, one, state, torch.ones(2)),
        str(out),
        input_names=["token", "phase", "style", "mood", "state", "cond_scale"],
        output_names=["logits", "state_out"],
        opset_version=17,
        dynamo=False,
        do_constant_folding=True,
    )
    inputs = golden_inputs()
    expected = torch_step_logits(net, inputs)
    np.savez_compressed(out.with_name(out.stem + ".golden.npz"), expected_logits=expected, **inputs)
    sidecar = {
        "format": "cocomposer-step-v1",
        "vocabulary_hash": codec.vocabulary_hash(),
        "vocab_size": cfg.vocab,
        "styles": list(codec.STYLES),
        "moods": list(codec.MOODS),
        "ticks_per_beat": codec.TICKS_PER_BEAT,
        "state_shape": [cfg.layers, 1, cfg.hidden],
        "inputs": ["token", "phase", "style", "mood", "state", "cond_scale"],
        "outputs": ["logits", "state_out"],
        "net": cfg.to_dict(),
        "velocity": "not modelled: the corpus is made of scores; the engine sets velocity (follow or fixed)",
        "training": facts,
    }
    out.with_suffix(".json").write_text(json.dumps(sidecar, indent=2) + "\n")
    return sidecar
