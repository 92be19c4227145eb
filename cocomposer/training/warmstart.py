"""A training checkpoint rebuilt from a shipped ONNX model, so a new run can start from what the old one learned.

The checkpoints of earlier runs are not kept in the repository (only the exported model is), so fine-tuning with a
new input (the bar position and the meter) starts from the weights inside ``models/default.onnx``: the int8 matrices
and embeddings are de-quantized (``(q - zero_point) * scale``), the GRU's matrices found by what they multiply (the
state of layer k, or the layer's input), and every embedding the old model did not have starts at zero, so the
rebuilt network computes what the old model computed until training moves it. Works for graphs written by
:func:`cocomposer.training.export.export`, int8 or float32.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from cocomposer.errors import ModelError
from cocomposer.training.net import CocomposerNet, NetConfig


def _weights(graph) -> dict[str, np.ndarray]:
    """Every initializer, de-quantized where it has a scale and zero point beside it."""
    import onnx

    raw = {init.name: onnx.numpy_helper.to_array(init) for init in graph.initializer}
    out: dict[str, np.ndarray] = {}
    for name, value in raw.items():
        if name.endswith("_quantized"):
            stem = name[: -len("_quantized")]
            scale, zero = raw[stem + "_scale"], raw[stem + "_zero_point"]
            out[stem] = (value.astype(np.float32) - zero.astype(np.float32)) * scale.astype(np.float32)
        elif not name.endswith(("_scale", "_zero_point")):
            out[name] = value
    return out


def _state_layer(graph, tensor: str) -> int | None:
    """The layer k when ``tensor`` is (a quantization of) ``state[k]``, else None."""
    producers = {out: node for node in graph.node for out in node.output}
    constants = {node.output[0]: node for node in graph.node if node.op_type == "Constant" and node.attribute}
    node = producers.get(tensor)
    while node is not None and node.op_type == "DynamicQuantizeLinear":
        node = producers.get(node.input[0])
    if node is None or node.op_type != "Gather" or node.input[0] != "state":
        return None
    import onnx

    return int(onnx.numpy_helper.to_array(constants[node.input[1]].attribute[0].t))


def net_from_onnx(path: Path) -> CocomposerNet:
    """The network inside the ONNX model at ``path`` (and its sidecar), with zero embeddings for any new input."""
    import onnx

    sidecar = json.loads(path.with_suffix(".json").read_text())
    known = set(NetConfig.__dataclass_fields__)
    config = NetConfig(**{k: v for k, v in sidecar["net"].items() if k in known and k not in ("vocab",)})
    graph = onnx.load(str(path)).graph
    weights = _weights(graph)
    net = CocomposerNet(config)
    state = {k: v.clone() for k, v in net.state_dict().items()}
    for key in list(state):
        if key.endswith(".weight") and key.split(".")[0] in (
            "token",
            "phase",
            "style",
            "mood",
            "bar_position",
            "meter",
        ):
            source = weights.get(f"net.{key}")
            if source is None:
                state[key].zero_()  # an input the old model did not have: no effect until trained
            else:
                state[key] = torch.from_numpy(source.copy())
    state["head.bias"] = torch.from_numpy(weights["net.head.bias"].copy())
    if "net.head.weight" in weights:  # float32: a Gemm over the weight as torch holds it
        state["head.weight"] = torch.from_numpy(weights["net.head.weight"].copy())
    else:  # int8: quantization wrote it transposed for a MatMul
        state["head.weight"] = torch.from_numpy(weights["net.head.weight_Transposed"].T.copy())
    for layer in range(config.layers):
        for kind in ("ih", "hh"):
            state[f"gru.bias_{kind}_l{layer}"] = torch.from_numpy(weights[f"net.gru.bias_{kind}_l{layer}"].copy())
    for node in graph.node:
        if node.op_type not in ("MatMulInteger", "MatMul"):
            continue
        name = node.input[1].removesuffix("_quantized")
        if name.startswith("net.head"):
            continue
        matrix = weights[name]
        layer = _state_layer(graph, node.input[0])
        if layer is not None:
            key = f"gru.weight_hh_l{layer}"
        elif matrix.shape[0] == config.embed:
            key = "gru.weight_ih_l0"
        else:
            key = "gru.weight_ih_l1"
        state[key] = torch.from_numpy(matrix.T.copy())
    try:
        net.load_state_dict(state)
    except RuntimeError as err:
        raise ModelError(f"{path} does not hold the weights of a {config}: {err}") from err
    return net.eval()


def write_checkpoint(onnx_path: Path, out: Path) -> Path:
    """A checkpoint (as :func:`cocomposer.training.train.train` writes them) of the network inside ``onnx_path``."""
    sidecar = json.loads(onnx_path.with_suffix(".json").read_text())
    net = net_from_onnx(onnx_path)
    facts = sidecar.get("training", {})
    out.parent.mkdir(parents=True, exist_ok=True)
    torch.save(
        {
            "model": net.state_dict(),
            "step": facts.get("steps", 0),
            "best": facts.get("valid_nll_per_token") or float("nan"),
            "tokens_seen": facts.get("tokens_seen", 0),
            "elapsed": 60 * (facts.get("train_minutes") or 0.0),
            "net_config": net.config.to_dict(),
            "train_config": facts.get("train_config"),
            "init": {"checkpoint": f"{onnx_path} (de-quantized)", **(facts.get("fine_tuned_from") or {})},
        },
        out,
    )
    return out
