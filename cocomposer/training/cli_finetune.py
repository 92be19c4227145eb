"""Sub-command `finetune` of `python -m cocomposer.training`: the panel's ratings turned into a model of one's own."""

from __future__ import annotations

import argparse
from pathlib import Path


def _finetune(args: argparse.Namespace) -> None:
    from cocomposer.model.runtime import default_model_path
    from cocomposer.training.finetune import run

    base = args.model or default_model_path()
    result = run(args.ratings, base, args.out, args.steps, args.lr, args.seed)
    before, after = result["before"], result["after"]

    def show(value: float | None) -> str:
        return "-" if value is None else f"{value:.3f}"

    print(
        f"fine-tuned {base.name} on {result['liked']} liked and {result['disliked']} disliked answers "
        f"({args.steps} steps): NLL per token of the liked answers {show(before['liked_nll'])} -> "
        f"{show(after['liked_nll'])}, of the disliked {show(before['disliked_nll'])} -> {show(after['disliked_nll'])}"
    )
    print(f"wrote {args.out}; play with it: cocomposer ui --model {args.out}")


def add_finetune(sub: argparse._SubParsersAction) -> None:
    from cocomposer.console.helptext import HelpFormatter
    from cocomposer.training.finetune import DEFAULT_LR, DEFAULT_STEPS

    text = "nudge a model toward the answers liked in the panel's ratings file"
    p = sub.add_parser("finetune", help=text, description=text, formatter_class=HelpFormatter)
    p.add_argument("--ratings", type=Path, required=True, metavar="FILE.jsonl", help="the panel's ratings log")
    p.add_argument("--model", type=Path, default=None, help="the model to start from (default: the shipped one)")
    p.add_argument(
        "--out", type=Path, default=Path("finetuned.onnx"), help="the new model (default finetuned.onnx; with "
        "its sidecar .json and golden vectors beside it)",
    )  # fmt: skip
    p.add_argument("--steps", type=int, default=DEFAULT_STEPS, help=f"Adam steps (default {DEFAULT_STEPS})")
    p.add_argument("--lr", type=float, default=DEFAULT_LR, help=f"learning rate (default {DEFAULT_LR:g})")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.set_defaults(func=_finetune)
