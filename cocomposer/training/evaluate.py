"""The model's report card, on the test split only: NLL against n-gram baselines, style, mood and temperature control.

Printed as a table and returned as a dict (written to JSON by the CLI). Nothing here is used to pick a model.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from cocomposer.console.progress import Progress, track
from cocomposer.model.continuation import continue_from, prime
from cocomposer.model.markov import MarkovModel, unigram_nll
from cocomposer.model.runtime import PLAYING_STRENGTH, OnnxModel
from cocomposer.model.sampling import Controls
from cocomposer.music import codec
from cocomposer.music.keys import SCALES, Key, find_key, pitch_class_histogram
from cocomposer.training.corpus import Piece
from cocomposer.training.features import StyleClassifier, note_features

PROMPT_BEATS = 8.0  # two 4/4 bars of the held-out piece
ANSWER_BEATS = 16.0  # four bars
MARKOV_CANDIDATES = [(order, smoothing) for order in (1, 2, 3, 4, 6, 8, 12) for smoothing in ("wb", "abs")]


def _notes(piece: Piece) -> list[codec.Note]:
    return codec.decode(piece.tokens.astype(np.int64).tolist())


def _window(notes: list[codec.Note], start: float, end: float) -> list[codec.Note]:
    return [codec.Note(n.start - start, min(n.end, end) - start, n.pitch) for n in notes if start <= n.start < end]


def model_token_nll(model: OnnxModel, piece: Piece) -> np.ndarray:
    """NLL (nats) of tokens 1..n-1 of a piece under the ONNX model, conditioned on the piece's style and mood."""
    model.reset()
    model.set_strength(1.0, 1.0)  # score data as the model was trained
    model.style, model.mood = piece.style, piece.mood
    model.set_meter(piece.meter, piece.bar_origin)
    tokens = piece.tokens.astype(np.int64)
    out = np.empty(len(tokens) - 1)
    logits = model.step(int(tokens[0]))
    for i, token in enumerate(tokens[1:]):
        shifted = logits - logits.max()
        out[i] = np.log(np.exp(shifted).sum()) - shifted[token]
        logits = model.step(int(token))
    return out


def nll_table(model: OnnxModel, train: list[Piece], valid: list[Piece], test: list[Piece], log=print) -> dict:
    """NLL per note (sum of token NLLs over a piece's tokens 1..n-1, divided by its notes) on the test split."""
    notes = sum(p.n_notes for p in test)
    train_seqs = [p.tokens for p in train]

    def per_note(nlls: list[np.ndarray]) -> float:
        return float(sum(x[1:].sum() for x in nlls) / notes)

    result = {"test_pieces": len(test), "test_notes": notes, "test_tokens": int(sum(len(p.tokens) for p in test))}
    result["unigram"] = per_note(unigram_nll(train_seqs, [p.tokens for p in test]))
    best_name, best_valid = "", float("inf")
    valid_notes = sum(p.n_notes for p in valid)
    by_order = {}
    progress = Progress(len(MARKOV_CANDIDATES), "Markov baselines", "candidates")
    for order, smoothing in MARKOV_CANDIDATES:
        mm = MarkovModel(order, smoothing=smoothing).fit(train_seqs)
        v = float(sum(x[1:].sum() for x in mm.token_nll([p.tokens for p in valid])) / valid_notes)
        name = f"order {order} {smoothing}"
        by_order[name] = v
        (progress.write if progress.terminal else log)(f"  markov {name}: valid NLL/note {v:.4f}")
        progress.advance()
        if v < best_valid:
            best_name, best_valid, best_model = name, v, mm
    progress.close()
    result["markov_valid_by_candidate"] = by_order
    result["markov_best"] = best_name
    result["markov"] = per_note(best_model.token_nll([p.tokens for p in test]))
    started = time.monotonic()
    pieces = track(test, "model NLL on the test split", unit="pieces")
    result["model"] = per_note([np.concatenate([[0.0], model_token_nll(model, p)]) for p in pieces])
    result["model_seconds"] = round(time.monotonic() - started, 1)
    result["improvement_over_markov"] = 1.0 - result["model"] / result["markov"]
    return result


def _pick_prompts(test: list[Piece], n: int, rng: np.random.Generator) -> list[tuple[Piece, list[codec.Note]]]:
    """Up to ``n`` test pieces, balanced over styles, long enough for a prompt and a real continuation."""
    by_style: dict[int, list[tuple[Piece, list[codec.Note]]]] = {}
    for p in test:
        notes = _notes(p)
        if notes and notes[-1].end >= PROMPT_BEATS + ANSWER_BEATS and _window(notes, 0, PROMPT_BEATS):
            by_style.setdefault(p.style, []).append((p, notes))
    picked: list[tuple[Piece, list[codec.Note]]] = []
    per_style = max(1, n // max(len(by_style), 1))
    for style in sorted(by_style):
        items = by_style[style]
        order = rng.permutation(len(items))[:per_style]
        picked.extend(items[i] for i in order)
    return picked


def _continue(
    model: OnnxModel, prompt: list[codec.Note], style: int, mood: int, controls: Controls, rng, lean: bool = False
) -> list:
    """A continuation of ``prompt`` under the style and mood labels. ``lean``: the mood chosen by a player, as the
    engine applies it (also leaning toward the key of that mood that best fits the prompt); without it, what mood
    "auto" gives: the label alone."""
    model.set_style(style)
    model.set_mood(mood)
    if lean:
        histogram = pitch_class_histogram((n.pitch for n in prompt), (n.end - n.start for n in prompt))
        if (mood_key := find_key(histogram, codec.MOODS[mood])) is not None:
            controls = controls.with_(mood_key=mood_key)
    encoder = prime(model, prompt)
    return continue_from(model, encoder, controls, rng, ANSWER_BEATS, start_beat=PROMPT_BEATS).notes


def _train_classifier(train: list[Piece], rng: np.random.Generator, per_style: int = 400) -> StyleClassifier:
    xs, ys = [], []
    by_style: dict[int, list[Piece]] = {}
    for p in train:
        by_style.setdefault(p.style, []).append(p)
    for style, pieces in by_style.items():
        for i in rng.permutation(len(pieces))[: per_style * 2]:
            notes = _notes(pieces[i])
            if not notes or notes[-1].end < ANSWER_BEATS:
                continue
            start = float(rng.integers(0, int(notes[-1].end - ANSWER_BEATS) + 1))
            window = _window(notes, start, start + ANSWER_BEATS)
            if window:
                xs.append(note_features(window, ANSWER_BEATS))
                ys.append(style)
            if sum(1 for y in ys if y == style) >= per_style:
                break
    return StyleClassifier(len(codec.STYLES)).fit(np.array(xs), np.array(ys))


def music21_mode(notes: list[codec.Note]) -> str | None:
    """'major' / 'minor' by music21's Krumhansl-Schmuckler key finder."""
    import music21

    if len({n.pitch % 12 for n in notes}) < 3:
        return None
    stream = music21.stream.Stream()
    for n in notes:
        m = music21.note.Note(n.pitch)
        m.quarterLength = max(n.end - n.start, 1 / 12)
        stream.insert(n.start, m)
    solution = music21.analysis.discrete.KrumhanslSchmuckler().getSolution(stream)
    return solution.mode


def _in_key_share(notes: list[codec.Note], key: Key) -> float | None:
    if not notes:
        return None
    allowed = {(key.tonic + s) % 12 for s in SCALES["major" if key.mode == "major" else "minor"]}
    return sum(n.pitch % 12 in allowed for n in notes) / len(notes)


def control_tables(model: OnnxModel, train: list[Piece], test: list[Piece], n_prompts: int, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    model.set_strength(*PLAYING_STRENGTH)  # generate as the live engine does
    prompts = _pick_prompts(test, n_prompts, rng)
    classifier = _train_classifier(train, rng)
    styles = len(codec.STYLES)
    # Sanity: the classifier on real held-out continuations.
    real_x = [
        note_features(_window(notes, PROMPT_BEATS, PROMPT_BEATS + ANSWER_BEATS), ANSWER_BEATS) for _, notes in prompts
    ]
    real_acc = float(np.mean(classifier.predict(np.array(real_x)) == np.array([p.style for p, _ in prompts])))
    controls = Controls(temperature=1.0, top_p=0.95, low=21, high=108)
    confusion = np.zeros((styles, styles), dtype=int)
    for piece, notes in track(prompts, "style control", unit="prompts"):
        prompt = _window(notes, 0, PROMPT_BEATS)
        model.set_meter(piece.meter, piece.bar_origin)
        for style in range(styles):
            answer = _continue(model, prompt, style, piece.mood, controls, rng)
            shifted = [codec.Note(n.start - PROMPT_BEATS, n.end - PROMPT_BEATS, n.pitch) for n in answer]
            predicted = int(classifier.predict(note_features(shifted, ANSWER_BEATS))[0]) if shifted else -1
            if predicted >= 0:
                confusion[style, predicted] += 1
    style_acc = float(np.trace(confusion) / max(confusion.sum(), 1))
    # Mood control, temperature and in-key rate.
    mood_hits, mood_total = 0, 0
    entropy: dict[str, list[float]] = {"0.5": [], "1.0": [], "1.5": []}
    in_key_model, in_key_real = [], []
    for piece, notes in track(prompts, "mood, temperature and key", unit="prompts"):
        prompt = _window(notes, 0, PROMPT_BEATS)
        model.set_meter(piece.meter, piece.bar_origin)
        for mood in range(len(codec.MOODS)):
            answer = _continue(model, prompt, piece.style, mood, controls, rng, lean=True)
            found = music21_mode(answer)
            if found is not None:
                mood_total += 1
                mood_hits += found == codec.MOODS[mood]
        for temperature in entropy:
            answer = _continue(
                model, prompt, piece.style, piece.mood, controls.with_(temperature=float(temperature)), rng
            )
            if answer:
                counts = np.bincount([n.pitch for n in answer], minlength=128).astype(float)
                probs = counts[counts > 0] / counts.sum()
                entropy[temperature].append(float(-(probs * np.log2(probs)).sum()))
            if temperature == "1.0":
                key = find_key(pitch_class_histogram(n.pitch for n in prompt))
                if key:
                    real = _window(notes, PROMPT_BEATS, PROMPT_BEATS + ANSWER_BEATS)
                    share_model, share_real = _in_key_share(answer, key), _in_key_share(real, key)
                    if share_model is not None and share_real is not None:
                        in_key_model.append(share_model)
                        in_key_real.append(share_real)
    return {
        "prompts": len(prompts),
        "prompt_beats": PROMPT_BEATS,
        "answer_beats": ANSWER_BEATS,
        "label_strength": list(PLAYING_STRENGTH),
        "mood_bias": controls.mood_strength,
        "style_accuracy": style_acc,
        "style_chance": 1.0 / styles,
        "style_confusion": {"labels": list(codec.STYLES), "rows_intended_cols_classified": confusion.tolist()},
        "classifier_accuracy_on_real_test": real_acc,
        "mood_accuracy": mood_hits / max(mood_total, 1),
        "mood_judged": mood_total,
        "pitch_entropy_bits": {t: float(np.mean(v)) if v else None for t, v in entropy.items()},
        "in_key_model": float(np.mean(in_key_model)) if in_key_model else None,
        "in_key_real": float(np.mean(in_key_real)) if in_key_real else None,
    }


def run_evaluation(
    model_path: Path,
    train: list[Piece],
    test: list[Piece],
    valid: list[Piece] | None = None,
    n_prompts: int = 100,
    seed: int = 0,
    quick: bool = False,
    log=print,
) -> dict:
    model = OnnxModel.load(model_path)
    valid = valid if valid is not None else train[: max(1, len(train) // 20)]
    if quick:
        test, valid = test[:20], valid[:20]
        n_prompts = min(n_prompts, 10)
    log(f"evaluating {model_path} on {len(test)} test pieces")
    report = {"model": str(model_path), "nll_per_note": nll_table(model, train, valid, test, log=log)}
    report["controls"] = control_tables(model, train, test, n_prompts, seed)
    print_report(report, log)
    return report


def print_report(report: dict, log=print) -> None:
    nll, ctl = report["nll_per_note"], report["controls"]
    log("")
    log("| measure (test split) | value |")
    log("|---|---|")
    log(f"| NLL per note: unigram | {nll['unigram']:.3f} |")
    log(f"| NLL per note: best Markov ({nll['markov_best']}, chosen on valid) | {nll['markov']:.3f} |")
    log(f"| NLL per note: cocomposer | {nll['model']:.3f} ({100 * nll['improvement_over_markov']:.1f}% below Markov) |")
    log(f"| style control accuracy (chance {ctl['style_chance']:.2f}) | {ctl['style_accuracy']:.3f} |")
    log(f"| style classifier on real test continuations | {ctl['classifier_accuracy_on_real_test']:.3f} |")
    log(f"| mood control accuracy (Krumhansl-Schmuckler) | {ctl['mood_accuracy']:.3f} |")
    ent = ctl["pitch_entropy_bits"]
    log(f"| pitch entropy at T=0.5 / 1.0 / 1.5 (bits) | {ent['0.5']:.2f} / {ent['1.0']:.2f} / {ent['1.5']:.2f} |")
    if ctl["in_key_model"] is not None:
        log(f"| in-key share: model / real | {ctl['in_key_model']:.3f} / {ctl['in_key_real']:.3f} |")
    labels = ctl["style_confusion"]["labels"]
    log("")
    log("style confusion (rows: intended, columns: classified): " + " ".join(labels))
    for label, row in zip(labels, ctl["style_confusion"]["rows_intended_cols_classified"], strict=True):
        log(f"  {label:12s} {row}")
