"""The training loop: random windows, AdamW with a cosine schedule, progress in a log, checkpoints that resume."""

from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from torch.nn import functional as F

from cocomposer.console.progress import Progress
from cocomposer.training.corpus import Piece
from cocomposer.training.dataset import Split
from cocomposer.training.net import CocomposerNet, NetConfig


@dataclass(frozen=True)
class TrainConfig:
    steps: int = 4000
    batch: int = 64
    length: int = 256
    lr: float = 2e-3
    weight_decay: float = 0.01
    warmup: int = 200
    clip: float = 1.0
    eval_every: int = 250
    eval_batches: int = 8
    seed: int = 0
    threads: int = 2
    max_minutes: float = 0.0  # stop (after a checkpoint) when this much wall time has passed; 0 = no limit
    mode_switch: float = 0.0  # share of training windows switched into the other mode (see dataset.switch_mode)
    played: float = 0.0  # share of windows whose first part is played like a person (dataset.play_like_a_person)


def _lr(step: int, cfg: TrainConfig, minutes: float = 0.0) -> float:
    """Warm-up, then cosine decay over the steps or over the time budget, whichever runs out first."""
    if step < cfg.warmup:
        return cfg.lr * (step + 1) / cfg.warmup
    progress = min(1.0, (step - cfg.warmup) / max(1, cfg.steps - cfg.warmup))
    if cfg.max_minutes:
        progress = max(progress, min(1.0, minutes / cfg.max_minutes))
    return cfg.lr * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * progress)))


def _to_torch(batch: dict[str, np.ndarray]) -> dict[str, torch.Tensor]:
    return {k: torch.from_numpy(v) for k, v in batch.items()}


def batch_loss(net: CocomposerNet, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, int]:
    """Mean next-token cross-entropy over the counted targets (not padding, not a played part), and their count."""
    tokens = batch["tokens"]
    logits, _ = net(
        tokens[:, :-1],
        batch["phases"][:, :-1],
        batch["bar_positions"][:, :-1],
        batch["style"],
        batch["mood"],
        batch["meter"],
    )
    target_mask = batch["counted"][:, 1:] & batch["mask"][:, 1:]
    loss = F.cross_entropy(logits[target_mask], tokens[:, 1:][target_mask])
    return loss, int(target_mask.sum())


@torch.no_grad()
def evaluate_windows(net: CocomposerNet, split: Split, cfg: TrainConfig) -> float:
    """Mean token NLL (nats) on a fixed set of windows of ``split`` (no augmentation)."""
    net.eval()
    rng = np.random.default_rng(12345)
    total, count = 0.0, 0
    for _ in range(cfg.eval_batches):
        batch = _to_torch(split.sample(rng, cfg.batch, cfg.length, augment=False))
        loss, n = batch_loss(net, batch)
        total += float(loss) * n
        count += n
    net.train()
    return total / max(count, 1)


def train(
    train_pieces: list[Piece],
    valid_pieces: list[Piece],
    run_dir: Path,
    net_cfg: NetConfig,
    cfg: TrainConfig,
    resume: bool = True,
    log=print,
    init: Path | None = None,
    progress: Progress | None = None,
) -> Path:
    """Train, checkpointing to ``run_dir``; returns the path of the best checkpoint (by validation NLL).

    ``init``: start from the weights of this checkpoint (fine-tuning; its network shape wins over ``net_cfg``) when
    the run has no checkpoint of its own to resume. ``progress`` is told of every step (and, once known, of
    the resumed step and what is left of the time limit)."""
    torch.set_num_threads(cfg.threads)
    run_dir.mkdir(parents=True, exist_ok=True)
    train_split = Split.from_pieces(train_pieces)
    valid_split = Split.from_pieces(valid_pieces)
    torch.manual_seed(cfg.seed)
    last_path, best_path = run_dir / "last.pt", run_dir / "best.pt"
    start_from, init_facts = None, None
    resumed = torch.load(last_path, weights_only=False) if resume and last_path.exists() else None
    if resumed is not None:
        net_cfg = NetConfig(**resumed["net_config"])  # the run's own shape, whatever the flags say
    elif init is not None:
        start_from = torch.load(init, weights_only=False)
        net_cfg = NetConfig(**start_from["net_config"])
    net = CocomposerNet(net_cfg)
    if start_from is not None:
        net.load_state_dict(start_from["model"])
        init_facts = {  # what the weights went through before this run, for the model card
            "checkpoint": str(init),
            **{k: start_from.get(k) for k in ("step", "best", "tokens_seen", "elapsed", "train_config", "init")},
        }
        log(f"starting from the weights of {init} (its step {start_from['step']}, valid {start_from['best']:.4f})")
    opt = torch.optim.AdamW(net.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    step, best, tokens_seen, elapsed_before = 0, float("inf"), 0, 0.0
    if resumed is not None:
        state = resumed
        net.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        step, best = state["step"], state["best"]
        tokens_seen, elapsed_before = state.get("tokens_seen", 0), state.get("elapsed", 0.0)
        init_facts = state.get("init")
        log(f"resumed from {last_path} at step {step} (best valid {best:.4f})")
    rng = np.random.default_rng(cfg.seed + step)
    n_params = sum(p.numel() for p in net.parameters())
    log(
        f"training {n_params / 1e6:.2f} M parameters on {len(train_pieces)} pieces "
        f"({len(train_split.tokens) / 1e6:.2f} M tokens); {cfg.steps} steps of {cfg.batch}x{cfg.length}"
    )
    started = time.monotonic()
    window_start, window_tokens = started, 0
    if progress is not None:
        progress.begin(cfg.steps, step, cfg.max_minutes * 60 - elapsed_before if cfg.max_minutes else None)

    def save(path: Path) -> None:
        tmp = path.with_suffix(".tmp")
        torch.save(
            {
                "model": net.state_dict(),
                "optimizer": opt.state_dict(),
                "step": step,
                "best": best,
                "tokens_seen": tokens_seen,
                "elapsed": elapsed_before + time.monotonic() - started,
                "net_config": net_cfg.to_dict(),
                "train_config": asdict(cfg),
                "init": init_facts,
            },
            tmp,
        )
        tmp.replace(path)

    net.train()
    while step < cfg.steps:
        minutes = (elapsed_before + time.monotonic() - started) / 60
        for group in opt.param_groups:
            group["lr"] = _lr(step, cfg, minutes)
        batch = _to_torch(
            train_split.sample(rng, cfg.batch, cfg.length, mode_switch=cfg.mode_switch, played=cfg.played)
        )
        loss, n = batch_loss(net, batch)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), cfg.clip)
        opt.step()
        step += 1
        if progress is not None:
            progress.advance()
        tokens_seen += n
        window_tokens += n
        if step % 25 == 0:
            now = time.monotonic()
            log(
                f"step {step}/{cfg.steps} loss {loss.item():.4f} lr {opt.param_groups[0]['lr']:.2e} "
                f"{window_tokens / (now - window_start):.0f} tok/s"
            )
            window_start, window_tokens = now, 0
        out_of_time = cfg.max_minutes and (elapsed_before + time.monotonic() - started) / 60 > cfg.max_minutes
        if step % cfg.eval_every == 0 or step == cfg.steps or out_of_time:
            valid = evaluate_windows(net, valid_split, cfg)
            if valid < best:
                best = valid
                save(best_path)
            save(last_path)
            log(f"step {step} valid NLL {valid:.4f} nats/token (best {best:.4f}); checkpoint {last_path}")
            (run_dir / "progress.json").write_text(
                json.dumps({"step": step, "valid": valid, "best": best, "tokens_seen": tokens_seen})
            )
        if out_of_time:
            log(f"stopping at step {step}: the {cfg.max_minutes} minute budget is spent")
            break
    return best_path


def load_net(path: Path) -> tuple[CocomposerNet, dict]:
    state = torch.load(path, weights_only=False, map_location="cpu")
    net = CocomposerNet(NetConfig(**state["net_config"]))
    net.load_state_dict(state["model"])
    net.eval()
    return net, state
