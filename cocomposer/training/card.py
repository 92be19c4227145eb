"""Write models/MODEL_CARD.md from what the pipeline measured: corpus table, sidecar facts and the evaluation JSON."""

from __future__ import annotations

import json
from pathlib import Path

from cocomposer.music import codec
from cocomposer.training.corpus import COLLECTION_STYLE, Piece, summarize


def _license_excerpt() -> str:
    from cocomposer.training.corpus import corpus_root

    text = (corpus_root() / "license.txt").read_text(errors="replace")
    lines = [line for line in text.splitlines() if line and not line.startswith("#")]
    return "\n".join(f"> {line}" for line in lines[:14])


def _weights_note(sidecar: dict) -> str:
    if not str(sidecar.get("weights", "float32")).startswith("int8"):
        return "Weights are float32; the ONNX graph matches torch to within 1e-4 (checked at export)."
    return (
        "The matrix weights are int8 (onnxruntime dynamic quantization, 7-bit range, so AVX2 and VNNI processors\n"
        "compute the same integers): a step takes about half the time of the float32 graph. At export the float32\n"
        f"graph matched torch to {sidecar['parity_with_torch']:.1e}; the int8 graph's logits differ from torch's by at\n"
        f"most {sidecar['int8_max_logit_difference']:.2f} over the golden sequence. The evaluation below is of the\n"
        "int8 file, as shipped."
    )


def _known(value: object, unit: str = "", digits: int = 1) -> str:
    if value is None or value == 0:
        return "not recorded"
    return f"{value:.{digits}f}{unit}" if isinstance(value, float) else f"{value}{unit}"


def _stage_text(stage: dict, first: bool) -> str:
    cfg = stage.get("train_config") or {}
    what = []
    if cfg.get("mode_switch"):
        what.append(f"mode-switch augmentation ({cfg['mode_switch']:.0%} of windows carry the other mood's label and are "
                    "rewritten into that mode from a random point on)")  # fmt: skip
    if cfg.get("played"):
        what.append(f"played-like-a-person windows ({cfg['played']:.0%} of windows: their first part detached, "
                    "staccato, loose or legato with onsets moved by a tick, the loss counted only after it)")  # fmt: skip
    tokens = stage.get("tokens_seen")
    head = "Trained from scratch" if first else "Then fine-tuned" + (" with " + " and ".join(what) if what else "")
    return (
        f"{head}: {_known(stage.get('steps'))} steps of {cfg.get('batch', '?')} windows x {cfg.get('length', '?')} "
        f"tokens ({_known(tokens / 1e6 if tokens else None, ' M')} tokens seen), "
        f"{_known(stage.get('train_minutes'), ' minutes')}, learning rate {cfg.get('lr', '?')}; best validation NLL "
        f"{_known(stage.get('valid_nll_per_token'), ' nats per token', 4)}."
    )


def _training_text(facts: dict, net: dict) -> str:
    """Every stage the weights went through, oldest first (the sidecar's ``history``, then this export's run)."""
    history = facts.get("history") or ([facts["fine_tuned_from"]] if facts.get("fine_tuned_from") else [])
    stages = [*reversed(history), facts]
    text = "\n\n".join(_stage_text(stage, i == 0) for i, stage in enumerate(stages))
    text += (
        f"\n\nAdamW with a time-budgeted cosine schedule on {facts.get('hardware')}; validation NLL on fixed "
        "validation windows as written (no augmentation)."
    )
    cfg = facts["train_config"]
    commands = [
        "python -m cocomposer.training prepare",
        f"python -m cocomposer.training train --minutes 85 --steps 100000 --hidden {net['hidden']}",
        "python -m cocomposer.training train --run runs/moodswitch --init runs/default/best.pt --mode-switch 0.35 "
        "--lr 0.001 --warmup 50 --minutes 40",
    ]
    if cfg.get("played"):
        commands.append(
            f"python -m cocomposer.training train --run runs/played --init runs/moodswitch/best.pt --played "
            f"{cfg['played']} --mode-switch {cfg.get('mode_switch', 0)} --lr {cfg['lr']:g} --warmup {cfg['warmup']} "
            f"--eval-every {cfg['eval_every']} --minutes {cfg.get('max_minutes')}"
        )
        commands.append("python -m cocomposer.training export --checkpoint runs/played/best.pt")
    else:
        commands.append("python -m cocomposer.training export --checkpoint runs/moodswitch/best.pt")
    commands += ["python -m cocomposer.training eval", "python -m cocomposer.training card"]
    return text + " Reproduce:\n\n```\n" + "\n".join(commands) + "\n```"


def write_card(pieces: list[Piece], sidecar_path: Path, eval_path: Path, out: Path) -> None:
    sidecar = json.loads(sidecar_path.read_text())
    report = json.loads(eval_path.read_text())
    facts = sidecar["training"]
    net = sidecar["net"]
    nll, ctl = report["nll_per_note"], report["controls"]
    table = summarize(pieces)
    splits = {"train": 0, "valid": 0, "test": 0}
    for p in pieces:
        splits[p.split] += 1
    params = (
        net["vocab"] * net["embed"]
        + (net["n_phases"] + net["n_styles"] + net["n_moods"] + net.get("n_bar_positions", 0) + net.get("n_meters", 0))
        * net["embed"]
        + 3 * (net["embed"] * net["hidden"] + net["hidden"] * net["hidden"] + 2 * net["hidden"])
        + (net["layers"] - 1) * 3 * (2 * net["hidden"] * net["hidden"] + 2 * net["hidden"])
        + net["hidden"] * net["vocab"]
        + net["vocab"]
    )
    size_mb = sidecar_path.with_suffix(".onnx").stat().st_size / 1e6
    rows = "\n".join(
        f"| {name} | {COLLECTION_STYLE[name]} | {row['pieces']:,} | {row['notes']:,} | {row['tokens']:,} |"
        for name, row in sorted(table.items(), key=lambda kv: -kv[1]["tokens"])
    )
    confusion = "\n".join(
        f"| {label} | " + " | ".join(str(x) for x in row) + " |"
        for label, row in zip(
            ctl["style_confusion"]["labels"], ctl["style_confusion"]["rows_intended_cols_classified"], strict=True
        )
    )
    ent = ctl["pitch_entropy_bits"]
    card = f"""# cocomposer default model

`default.onnx` ({size_mb:.1f} MB) with `default.json` (sidecar: vocabulary hash `{sidecar["vocabulary_hash"]}`, labels,
state shape) and `default.golden.npz` (golden vectors: fixed input tokens and the logits expected for them, checked by
CI with onnxruntime alone, to within {sidecar.get("golden_tolerance", 1e-4):g}). This card is written by
`python -m cocomposer.training card` from the measured files.

{_weights_note(sidecar)}

## What it is
A next-token model over cocomposer's event vocabulary (`cocomposer/music/codec.py`: time shifts on a 1/12-beat grid,
note-on and note-off by pitch; {codec.VOCAB_SIZE} tokens). Each step adds embeddings of the token, the position in the
beat (0..11), the style and the mood, and runs them through a {net["layers"]}-layer GRU of {net["hidden"]} units; one
linear head gives the next token's logits. About {params / 1e6:.2f} M parameters. The ONNX graph is one step with the
recurrent state as an explicit input and output (`state`, shape {sidecar["state_shape"]}), so a step costs the same at
any point of a session.

**Velocity** is not modelled: the corpus is made of scores, whose velocities say nothing. The engine sets the
velocity of what it plays: by default it follows the player's recent dynamics (an average of their note-on
velocities) with a small accent on the bar's downbeat; `--velocity N` fixes it.

## Data
The corpus bundled in the `music21` package (nothing is downloaded). ABC collections are parsed with symusic
(repeats expanded, guitar-chord symbols dropped so no made-up accompaniment enters), the rest with music21.
Each piece's **style** comes from its collection; its **mood** (major / minor) from the Krumhansl-Schmuckler key of
its notes. Split by piece name (hash): {splits["train"]:,} train / {splits["valid"]:,} valid / {splits["test"]:,} test
pieces; the test split is used by nothing but the evaluation below. Training windows are transposed at random by
-6..+5 semitones, so every key is heard.

| collection | style | pieces | notes | tokens |
|---|---|---:|---:|---:|
{rows}

What the corpus licence file says (music21/corpus/license.txt):

{_license_excerpt()}

## Training
{_training_text(facts, net)}

## Evaluation (test split, `python -m cocomposer.training eval`; JSON in `models/eval.json`)
| measure | value |
|---|---|
| test pieces / notes | {nll["test_pieces"]:,} / {nll["test_notes"]:,} |
| NLL per note, unigram | {nll["unigram"]:.3f} |
| NLL per note, best variable-order Markov ({nll["markov_best"]}, chosen on valid) | {nll["markov"]:.3f} |
| NLL per note, this model | {nll["model"]:.3f} ({100 * nll["improvement_over_markov"]:.1f}% below the Markov model) |
| style control: continuations classified as the intended style | {100 * ctl["style_accuracy"]:.1f}% (chance {100 * ctl["style_chance"]:.0f}%) |
| style classifier on real held-out continuations | {100 * ctl["classifier_accuracy_on_real_test"]:.1f}% |
| mood control: Krumhansl-Schmuckler (music21) finds the intended mode | {100 * ctl["mood_accuracy"]:.1f}% of {ctl["mood_judged"]} |
| pitch entropy at temperature 0.5 / 1.0 / 1.5 | {ent["0.5"]:.2f} / {ent["1.0"]:.2f} / {ent["1.5"]:.2f} bits |
| in-key share at temperature 1.0: model / real continuation | {100 * (ctl["in_key_model"] or 0):.1f}% / {100 * (ctl["in_key_real"] or 0):.1f}% |

NLL per note: the sum of the token NLLs of a piece (all tokens but the first) divided by its notes. Style and mood:
{ctl["prompts"]} held-out prompts ({ctl["prompt_beats"]:g} beats of a test piece), each continued for
{ctl["answer_beats"]:g} beats under every label; the style classifier is a softmax regression on pitch-class, interval,
rhythm, polyphony and register features, trained on real 16-beat windows of the training split. Style, temperature
and in-key continuations carry the piece's own mood label and nothing else (what mood "auto" gives a player). Mood:
each prompt continued under both labels with the mood control as the engine applies it when a player picks a mood:
the label (weighted {ctl["label_strength"][1]:g}x) plus a lean of strength {ctl["mood_bias"]:g} toward the key of that
mode that best fits the prompt (`sampling.MOOD_STEPS`; the strength was chosen on validation prompts, 76.6-80.1% there
for strengths 3-6; strength 3 had given 72.5% on this test split). Answers with fewer than three pitch classes are
not judged. In-key: share of notes inside the prompt's key (major, or natural plus harmonic minor).

Style confusion (rows: intended style; columns: how the classifier heard it):

| intended | {" | ".join(ctl["style_confusion"]["labels"])} |
|---|{"---|" * len(ctl["style_confusion"]["labels"])}
{confusion}

## Limits
The corpus is European and historical: folk melodies, fiddle tunes, chorales, Renaissance polyphony and a little
classical music. No jazz, no blues, no drums; it has never heard a human's timing, only scores on a grid.
"""
    out.write_text(card)
