"""Sub-commands `train`, `export` and `eval` of `python -m cocomposer.training`."""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

from cocomposer.console.helptext import HelpFormatter
from cocomposer.console.progress import Progress

DEFAULT_RUN = Path("runs/default")
DEFAULT_MODEL = Path("models/default.onnx")


def _logger(path: Path, progress: Progress | None = None):
    """Log to ``path`` and the terminal (above the progress bar, when there is one on the terminal)."""
    path.parent.mkdir(parents=True, exist_ok=True)

    def log(message: str) -> None:
        line = f"{time.strftime('%H:%M:%S')} {message}"
        if progress is not None and progress.terminal:
            progress.write(line)
        else:
            print(line, flush=True)
        with path.open("a") as f:
            f.write(line + "\n")

    return log


def _splits(cache: Path):
    from cocomposer.training.corpus import load_cache

    pieces = load_cache(cache)
    by_split: dict[str, list] = {"train": [], "valid": [], "test": []}
    for p in pieces:
        by_split[p.split].append(p)
    return by_split


def _train(args: argparse.Namespace) -> None:
    from cocomposer.training.net import NetConfig
    from cocomposer.training.train import TrainConfig, train

    splits = _splits(args.cache)
    net_cfg = NetConfig(embed=args.embed, hidden=args.hidden, layers=args.layers)
    cfg = TrainConfig(
        steps=args.steps,
        batch=args.batch,
        length=args.length,
        lr=args.lr,
        eval_every=args.eval_every,
        threads=args.threads,
        max_minutes=args.minutes,
        seed=args.seed,
        warmup=args.warmup,
        mode_switch=args.mode_switch,
        played=args.played,
    )
    with Progress(args.steps, "training", "steps", every=60) as progress:
        log = _logger(args.run / "train.log", progress)
        best = train(
            splits["train"],
            splits["valid"],
            args.run,
            net_cfg,
            cfg,
            resume=not args.no_resume,
            log=log,
            init=args.init,
            progress=progress,
        )
    log(f"done; best checkpoint {best}")


def _export(args: argparse.Namespace) -> None:
    from cocomposer.training.export import export
    from cocomposer.training.train import load_net

    net, state = load_net(args.checkpoint)
    facts = {
        "steps": state["step"],
        "tokens_seen": state.get("tokens_seen"),
        "train_minutes": round(state.get("elapsed", 0.0) / 60, 1),
        "valid_nll_per_token": state.get("best"),
        "hardware": f"{platform.machine()} CPU, torch threads {state['train_config'].get('threads')}",
        "train_config": state["train_config"],
        "checkpoint": str(args.checkpoint),
    }
    history = []  # the runs these weights went through before this one, newest first
    node = state.get("init")
    while node:
        elapsed = node.get("elapsed")
        history.append(
            {
                "checkpoint": node.get("checkpoint"),
                "steps": node.get("step", node.get("steps")),
                "tokens_seen": node.get("tokens_seen"),
                "train_minutes": round(elapsed / 60, 1) if elapsed else node.get("train_minutes"),
                "valid_nll_per_token": node.get("best", node.get("valid_nll_per_token")),
                "train_config": node.get("train_config"),
            }
        )
        node = node.get("init")
    if history:
        facts["fine_tuned_from"] = history[0]
        facts["history"] = history
    sidecar = export(net, args.out, facts, int8=not args.fp32)
    size = args.out.stat().st_size / 1e6
    print(f"wrote {args.out} ({size:.1f} MB, {sidecar['weights']}), {args.out.with_suffix('.json')} and golden vectors")
    print(f"float32 graph against torch: max abs logit difference {sidecar['parity_with_torch']:.2e}")
    print(json.dumps(sidecar["training"], indent=2))


def _eval(args: argparse.Namespace) -> None:
    from cocomposer.training.evaluate import run_evaluation

    splits = _splits(args.cache)
    report = run_evaluation(
        args.model,
        splits["train"],
        splits["test"],
        splits["valid"],
        n_prompts=args.prompts,
        seed=args.seed,
        quick=args.quick,
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {args.out}", file=sys.stderr)


def _card(args: argparse.Namespace) -> None:
    from cocomposer.training.card import write_card
    from cocomposer.training.corpus import load_cache

    write_card(load_cache(args.cache), args.model.with_suffix(".json"), args.eval, args.out)
    print(f"wrote {args.out}")


def _share(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"a share is a number within 0..1, got {text!r}")
    return value


def add_commands(sub: argparse._SubParsersAction) -> None:
    from cocomposer.training.__main__ import DEFAULT_CACHE

    p = sub.add_parser(
        "train", help="train the model (resumes from the run's last checkpoint)", formatter_class=HelpFormatter
    )
    p.add_argument("--cache", type=Path, default=DEFAULT_CACHE, help="the prepared token cache")
    p.add_argument("--run", type=Path, default=DEFAULT_RUN, help="folder for the log and checkpoints")
    p.add_argument("--steps", type=int, default=4000, help="optimizer steps to train for")
    p.add_argument("--batch", type=int, default=64, help="windows per step")
    p.add_argument("--length", type=int, default=256, help="tokens per window")
    p.add_argument("--lr", type=float, default=2e-3, help="peak learning rate")
    p.add_argument("--embed", type=int, default=128, help="token embedding size")
    p.add_argument("--hidden", type=int, default=384, help="GRU units per layer")
    p.add_argument("--layers", type=int, default=2, help="GRU layers")
    p.add_argument("--eval-every", type=int, default=250, help="steps between validation passes and checkpoints")
    p.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    p.add_argument("--minutes", type=float, default=0.0, help="stop after this much time (0: no limit)")
    p.add_argument("--seed", type=int, default=0, help="random seed")
    p.add_argument("--no-resume", action="store_true", help="start afresh even if the run has a checkpoint")
    p.add_argument("--warmup", type=int, default=200, help="steps of linear learning-rate warm-up")
    p.add_argument(
        "--init", type=Path, help="fine-tune: start from this checkpoint's weights and shape (default: from scratch)"
    )
    p.add_argument(
        "--mode-switch", type=_share, default=0.0, help="share of windows switched into the other mode (0..1)"
    )
    p.add_argument(
        "--played", type=_share, default=0.0, help="share of windows whose first part is played like a person (0..1)"
    )
    p.set_defaults(func=_train)

    p = sub.add_parser(
        "export", help="write the ONNX model, its sidecar JSON and golden vectors", formatter_class=HelpFormatter
    )
    p.add_argument("--checkpoint", type=Path, default=DEFAULT_RUN / "best.pt", help="the trained checkpoint")
    p.add_argument("--out", type=Path, default=DEFAULT_MODEL, help="the .onnx file to write (sidecar beside it)")
    p.add_argument("--fp32", action="store_true", help="keep float32 weights (default: int8 matrix weights)")
    p.set_defaults(func=_export)

    p = sub.add_parser(
        "eval", help="evaluate a model on the test split against n-gram baselines", formatter_class=HelpFormatter
    )
    p.add_argument("--cache", type=Path, default=DEFAULT_CACHE, help="the prepared token cache")
    p.add_argument("--model", type=Path, default=DEFAULT_MODEL, help="the ONNX model to evaluate")
    p.add_argument("--out", type=Path, default=Path("models/eval.json"), help="where to write the JSON report")
    p.add_argument("--prompts", type=int, default=100, help="held-out prompts per condition")
    p.add_argument("--seed", type=int, default=0, help="random seed")
    p.add_argument("--quick", action="store_true", help="a small evaluation (for smoke tests)")
    p.set_defaults(func=_eval)

    from cocomposer.training.cli_finetune import add_finetune

    add_finetune(sub)

    p = sub.add_parser(
        "card",
        help="write the model card from the corpus, the sidecar and the evaluation",
        formatter_class=HelpFormatter,
    )
    p.add_argument("--cache", type=Path, default=DEFAULT_CACHE, help="the prepared token cache")
    p.add_argument("--model", type=Path, default=DEFAULT_MODEL, help="the ONNX model (its sidecar is read)")
    p.add_argument("--eval", type=Path, default=Path("models/eval.json"), help="the evaluation report")
    p.add_argument("--out", type=Path, default=Path("models/MODEL_CARD.md"), help="the card to write")
    p.set_defaults(func=_card)
