"""What a file's provenance says about the model that generated its notes: name, file hash, training data.

The training-data summary is read from the model card beside the model (``MODEL_CARD.md``: its "Data" section's
first paragraph and the corpus licence's words on commercial use), so a fine-tuned or user model without a card is
reported as such rather than described by the shipped model's card.
"""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path
from typing import Any

from cocomposer.errors import ModelError
from cocomposer.model.runtime import ModelInfo, default_model_path

CARD = "MODEL_CARD.md"


@functools.lru_cache(maxsize=8)
def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    try:
        with path.open("rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
    except OSError as err:
        raise ModelError(f"could not read the model file {path} to hash it: {err}") from err
    return digest.hexdigest()


def card_summary(onnx_path: Path) -> str:
    """The model card's first paragraph on its data, plus its licence line, in one line; or why there is none."""
    card = onnx_path.with_name(CARD)
    if not card.exists():
        return f"no model card beside {onnx_path.name}; see the sidecar {onnx_path.with_suffix('.json').name}"
    text = card.read_text(encoding="utf-8")
    _, _, data = text.partition("## Data")
    paragraph = " ".join(data.strip().split("\n\n")[0].split()) if data else ""
    restriction = " The corpus licence notes possible restrictions on commercial use." if "commercial" in text else ""
    return (paragraph or "(the card has no Data section)") + restriction + f" See {card.name}."


def model_facts(path: Path | str | None = None) -> dict[str, Any]:
    """The model's part of a provenance record: its name, file, sha256, vocabulary and training figures."""
    onnx_path = Path(path) if path else default_model_path()
    info = ModelInfo.read(onnx_path)
    training = info.training
    return {
        "name": onnx_path.stem,
        "file": str(onnx_path.name),
        "sha256": _sha256(onnx_path.resolve()),
        "vocabulary_hash": info.vocabulary_hash,
        "training_tokens_seen": training.get("tokens_seen"),
        "valid_nll_per_token": training.get("valid_nll_per_token"),
        "training_data": card_summary(onnx_path),
    }


def _plain(value: object) -> object:
    """A setting's value as JSON keeps it (numbers, text, booleans, None), anything else as text."""
    return value if value is None or isinstance(value, (int, float, str, bool)) else str(value)


def base_record(command: str, model_path: Path | str | None, seed: int | None, settings: dict[str, Any]) -> dict:
    """The start of every provenance record: the tool, the command, the model, the seed and every setting."""
    from cocomposer import __version__

    return {
        "tool": "cocomposer",
        "tool_version": __version__,
        "command": command,
        "model": model_facts(model_path),
        "seed": seed,
        "settings": {k: _plain(v) for k, v in settings.items()},
        "changes": [],
    }
