"""The model-step benchmark: the cost of one note event, for the ONNX model and for its anchors.

One *event* is what the live engine does per note: feed the tokens that one incoming note message produces (through
:class:`codec.StreamEncoder`: a time shift and a note-on or note-off, typically 1-2 tokens), then sample tokens,
feeding each back, until the model has produced one note event (an ON or an OFF). The whole of that is timed.

The player is the bundled demo phrase, looped. The ONNX session samples its own answers and records what it did
(an :class:`EventScript`); the anchors (PyTorch eager of the same network, a variable-order Markov model) replay that
script: the same messages, the same number of samples per event (each draws from its own logits, then feeds the
recorded token), so the only difference left is the model.

Within each event every model token's sampling and the step that feeds it back are timed apart too
(:func:`cocomposer.bench.stats.token_split`), so one run tells what the sampler costs against the model step it follows.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np

from cocomposer.console.progress import Progress
from cocomposer.errors import ConfigError
from cocomposer.model.player import PlayerModel
from cocomposer.model.runtime import OnnxModel
from cocomposer.model.sampling import Controls, sample_token
from cocomposer.music import codec

MAX_SAMPLES_PER_EVENT = 64  # a model that only waits is stopped here (counted as "capped")
WARMUP_EVENTS = 200


class Stepper(Protocol):
    """What the event loop needs of a model: forget, take one token, give the logits for the next."""

    def reset(self) -> None: ...

    def step(self, token: int) -> None: ...

    def logits(self) -> np.ndarray: ...


@dataclass
class EventScript:
    """What one session did: each player message (kind, pitch, beat) and the tokens sampled after it."""

    inputs: list[tuple[str, int, float]] = field(default_factory=list)
    sampled: list[list[int]] = field(default_factory=list)

    def tokens(self) -> list[int]:
        """Every token of the session in order (the player's and the model's), re-encoded from the script."""
        encoder = codec.StreamEncoder()
        out: list[int] = []
        for (kind, pitch, beat), sampled in zip(self.inputs, self.sampled, strict=True):
            out.extend(encoder.note_on(pitch, beat) if kind == "on" else encoder.note_off(pitch, beat))
            encoder.observe(sampled)
            out.extend(sampled)
        return out


@dataclass
class StepResult:
    """Seconds and tokens per event of one session; ``about`` says what exactly ran."""

    name: str
    seconds: list[float]
    tokens: list[int]
    capped: int = 0
    about: str = ""
    # Per model token the model sampled (inside the events' times): drawing it, then the step that fed it back.
    sample_seconds: list[float] = field(default_factory=list)
    sampled_step_seconds: list[float] = field(default_factory=list)


def player_messages(notes: Sequence[codec.Note], rest_beats: float = 1.0) -> Iterator[tuple[str, int, float]]:
    """Endless (kind, pitch, beats since the previous message) from ``notes`` played again and again."""
    if not notes:
        raise ConfigError("the player needs at least one note")
    events = sorted([(n.start, 1, n.pitch) for n in notes] + [(max(n.end, n.start), 0, n.pitch) for n in notes])
    length = max(t for t, _, _ in events) + rest_beats
    previous, offset = 0.0, 0.0
    while True:
        for t, is_on, pitch in events:
            yield ("on" if is_on else "off"), pitch, offset + t - previous
            previous = offset + t
        offset += length


def run_events(
    stepper: Stepper,
    n_events: int,
    messages: Iterator[tuple[str, int, float]] | None = None,
    script: EventScript | None = None,
    controls: Controls | None = None,
    seed: int = 0,
    now_ns: Callable[[], int] = time.perf_counter_ns,
    progress: Progress | None = None,
    after_event: Callable[[], None] | None = None,
) -> tuple[StepResult, EventScript]:
    """Run ``n_events`` events on ``stepper`` from a fresh state; replay ``script`` if given, else play ``messages``.
    ``after_event()`` runs after each event, outside its timed span (see :func:`measure_onnx_pair`).

    With ``controls.mimic`` above 0 the player model learns every player message and leans every sample, as the
    live generator does (its cost is inside each event's time). Returns the timings and the script of what happened
    (the same script when replaying).
    """
    if (messages is None) == (script is None):
        raise ConfigError("give either messages (a new session) or script (a replay), not both")
    if script is not None and n_events > len(script.inputs):
        raise ConfigError(f"the script holds {len(script.inputs)} events; cannot replay {n_events}")
    controls = controls or Controls()
    rng = np.random.default_rng(seed)
    stepper.reset()
    encoder = codec.StreamEncoder()
    player = PlayerModel() if controls.mimic > 0 else None
    own: set[int] = set()  # pitches the model opened and may close
    recorded = script or EventScript()
    seconds: list[float] = []
    tokens_per_event: list[int] = []
    capped = 0
    sample_ns: list[int] = []
    step_ns: list[int] = []
    for i in range(n_events):
        started = now_ns()
        if script is not None:
            kind, pitch, beat = script.inputs[i]
        else:
            kind, pitch, gap = next(messages)  # type: ignore[arg-type]
            beat = encoder.tick / codec.TICKS_PER_BEAT + gap
        fed = encoder.note_on(pitch, beat) if kind == "on" else encoder.note_off(pitch, beat)
        mimic = None
        if player is not None:
            (player.note_on if kind == "on" else player.note_off)(pitch, beat)
            mimic = player.context()
            mimic.advance_to(encoder.tick)
        if kind == "on":
            own.discard(pitch)  # the player's key now, even if the model held it
        for token in fed:
            stepper.step(token)
        wanted = script.sampled[i] if script is not None else None
        sampled: list[int] = []
        while True:
            heard = mimic.log_probs() if mimic is not None else None
            lean = None if heard is None else controls.mimic * heard
            drawing = now_ns()
            token = sample_token(
                stepper.logits(), controls, rng, frozenset(encoder.sounding), frozenset(own), lean=lean
            )
            drawn = now_ns()
            if wanted is not None:
                token = wanted[len(sampled)]
            stepper.step(token)
            stepped = now_ns()
            sample_ns.append(drawn - drawing)
            step_ns.append(stepped - drawn)
            encoder.observe([token])
            if mimic is not None:
                mimic.push(token)
            sampled.append(token)
            if codec.is_on(token):
                own.add(codec.token_pitch(token))
            elif codec.is_off(token):
                own.discard(codec.token_pitch(token))
            if wanted is not None:
                if len(sampled) == len(wanted):
                    break
            elif codec.is_on(token) or codec.is_off(token):
                break
            elif len(sampled) >= MAX_SAMPLES_PER_EVENT:
                capped += 1
                break
        seconds.append((now_ns() - started) / 1e9)
        tokens_per_event.append(len(fed) + len(sampled))
        if progress is not None:  # outside the timed span
            progress.advance()
        if after_event is not None:
            after_event()
        if script is None:
            recorded.inputs.append((kind, pitch, beat))
            recorded.sampled.append(sampled)
    split = {"sample_seconds": [t / 1e9 for t in sample_ns], "sampled_step_seconds": [t / 1e9 for t in step_ns]}
    return StepResult("", seconds, tokens_per_event, capped, **split), recorded


# -- the three models ---------------------------------------------------------------------------------------------


class OnnxStepper:
    """:class:`OnnxModel` (onnxruntime, one thread), exactly as the live engine steps it."""

    def __init__(self, model: OnnxModel) -> None:
        self.model = model

    def reset(self) -> None:
        self.model.reset()

    def step(self, token: int) -> None:
        self.model.step(token)

    def logits(self) -> np.ndarray:
        return self.model.logits


class TorchStepper:
    """The same network in PyTorch eager: ``CocomposerNet.forward`` on one token, the GRU state carried along."""

    def __init__(self, net) -> None:
        import torch

        self._torch = torch
        self.net = net.eval()
        self._style = torch.zeros(1, dtype=torch.int64)
        self._mood = torch.zeros(1, dtype=torch.int64)
        self._meter = torch.full((1,), codec.COMMON_TIME.index, dtype=torch.int64)
        self.reset()

    def reset(self) -> None:
        cfg = self.net.config
        self.state = self._torch.zeros(cfg.layers, 1, cfg.hidden)
        self.tick = 0
        self._logits = np.zeros(cfg.vocab, dtype=np.float32)

    def step(self, token: int) -> None:
        torch = self._torch
        self.tick += codec.shift_ticks(token)
        with torch.inference_mode():
            tokens = torch.tensor([[token]], dtype=torch.int64)
            phases = torch.tensor([[self.tick % codec.TICKS_PER_BEAT]], dtype=torch.int64)
            bars = torch.tensor([[codec.bar_position(self.tick, codec.COMMON_TIME)]], dtype=torch.int64)
            logits, self.state = self.net(tokens, phases, bars, self._style, self._mood, self._meter, self.state)
        self._logits = logits[0, 0].numpy()

    def logits(self) -> np.ndarray:
        return self._logits


class MarkovStepper:
    """A Continuator-style variable-order Markov model: the history is its state, the distribution its logits."""

    def __init__(self, model) -> None:
        self.model = model
        self.history: deque[int] = deque(maxlen=max(1, model.order))

    def reset(self) -> None:
        self.history.clear()

    def step(self, token: int) -> None:
        self.history.append(token)

    def logits(self) -> np.ndarray:
        with np.errstate(over="ignore"):  # the context hash wraps around in int64 on purpose
            return np.log(self.model.next_distribution(list(self.history)))


# -- measurements ---------------------------------------------------------------------------------------------------


def measure_onnx(
    model: OnnxModel,
    phrase: Sequence[codec.Note],
    n_events: int,
    seed: int = 0,
    mimic: float = 0.0,
    progress: Progress | None = None,
) -> tuple[StepResult, EventScript]:
    """A warm-up session, then one measured session of ``n_events`` events from a fresh state; ``mimic`` weighs the
    player model (0: the network alone)."""
    stepper = OnnxStepper(model)
    controls = Controls(mimic=mimic)
    run_events(stepper, min(WARMUP_EVENTS, n_events), messages=player_messages(phrase), seed=seed + 1,
               controls=controls)  # fmt: skip
    result, script = run_events(
        stepper, n_events, messages=player_messages(phrase), seed=seed, controls=controls, progress=progress
    )
    result.name = "onnxruntime"
    result.about = f"onnxruntime, 1 thread, {model.info.path.name}, mimic {mimic:g}"
    return result, script


def measure_onnx_pair(
    path: Path | None,
    phrase: Sequence[codec.Note],
    n_events: int,
    mimics: tuple[float, float],
    seed: int = 0,
    progress: Progress | None = None,
) -> tuple[StepResult, StepResult]:
    """Two sessions of ``n_events`` events, one per ``mimics`` value (each its own copy of the model), timed in
    lockstep: event i of the first, then event i of the second, and so on. A ratio of the two then compares them
    under the same machine load, which two sessions run one after the other do not (on a shared machine the load
    moves within a minute, and moved a sequential mimic/mimic-0 ratio between 1.37x and 1.77x p99)."""
    models = [OnnxModel.load(path), OnnxModel.load(path)]
    for model, mimic in zip(models, mimics, strict=True):  # warm-ups, one after the other
        run_events(OnnxStepper(model), min(WARMUP_EVENTS, n_events), messages=player_messages(phrase),
                   seed=seed + 1, controls=Controls(mimic=mimic))  # fmt: skip
    turns, finished = [threading.Semaphore(1), threading.Semaphore(0)], [False, False]
    results: list[StepResult | None] = [None, None]
    errors: list[BaseException] = []

    def hand_over(i: int) -> None:
        if not finished[1 - i]:
            turns[1 - i].release()
            turns[i].acquire()

    def session(i: int) -> None:
        turns[i].acquire()
        try:
            results[i], _ = run_events(
                OnnxStepper(models[i]),
                n_events,
                messages=player_messages(phrase),
                seed=seed,
                controls=Controls(mimic=mimics[i]),
                progress=progress if i == 0 else None,
                after_event=lambda: hand_over(i),
            )
        except BaseException as err:  # reported below, after the other session is let go
            errors.append(err)
        finally:
            finished[i] = True
            turns[1 - i].release()

    threads = [threading.Thread(target=session, args=(i,), name=f"bench-session-{i}", daemon=True) for i in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    done = [r for r in results if r is not None]
    for result, model, mimic in zip(done, models, mimics, strict=True):
        result.name = "onnxruntime"
        result.about = f"onnxruntime, 1 thread, {model.info.path.name}, mimic {mimic:g}, in lockstep"
    return done[0], done[1]


def replay(
    name: str, stepper: Stepper, script: EventScript, n_events: int, about: str, progress: Progress | None = None
) -> StepResult:
    """A warm-up replay, then the timed replay of the first ``n_events`` events of ``script``."""
    run_events(stepper, min(WARMUP_EVENTS, n_events), script=script)
    result, _ = run_events(stepper, n_events, script=script, progress=progress)
    result.name, result.about = name, about
    return result


def markov_training_tokens(script: EventScript, phrase: Sequence[codec.Note]) -> list[np.ndarray]:
    """The Markov anchor's corpus: the demo phrase in all 12 keys, and the tokens of the ONNX session."""
    seqs = []
    base = codec.encode_notes(phrase)
    for semitones in range(-6, 6):
        try:
            seqs.append(np.array(codec.transpose(base, semitones), dtype=np.int64))
        except ValueError:
            continue
    seqs.append(np.array(script.tokens(), dtype=np.int64))
    return seqs


def measure_markov(
    script: EventScript, phrase: Sequence[codec.Note], n_events: int, order: int = 6, progress: Progress | None = None
) -> StepResult:
    from cocomposer.model.markov import MarkovModel

    seqs = markov_training_tokens(script, phrase)
    model = MarkovModel(order).fit(seqs)
    n_tokens = sum(len(s) for s in seqs)
    about = f"MarkovModel order {order} (Witten-Bell), trained on {n_tokens:,} tokens (demo phrase x12 keys + session)"
    return replay("markov", MarkovStepper(model), script, n_events, about, progress)


@dataclass(frozen=True)
class TorchPlan:
    """How the PyTorch anchor is built, or why it cannot be: ``skip`` holds the reason."""

    net: object | None
    about: str
    skip: str = ""


def _checkpoint_candidates(model_path: Path, sidecar_training: dict, extra: Path | None) -> list[Path]:
    candidates = [extra] if extra else []
    if sidecar_training.get("checkpoint"):
        candidates.append(Path(sidecar_training["checkpoint"]))
    candidates += [model_path.resolve().parent.parent / "runs" / "default" / "best.pt", Path("runs/default/best.pt")]
    return list(dict.fromkeys(p for p in candidates if p is not None))


def plan_torch(model: OnnxModel, checkpoint: Path | None = None) -> TorchPlan:
    """The network of ``model`` in PyTorch: its checkpoint's weights where one matches, else its shape.

    The cost of a step does not depend on the weights, so a network of the same shape times the same; the table says
    which it was.
    """
    import json

    try:
        import torch

        from cocomposer.training.net import CocomposerNet, NetConfig
        from cocomposer.training.train import load_net
    except ImportError as err:
        return TorchPlan(None, "", f"torch is not importable ({err}); pip install -e '.[train]'")
    sidecar = json.loads(model.info.path.with_suffix(".json").read_text())
    if "net" not in sidecar:
        return TorchPlan(None, "", f"{model.info.path.with_suffix('.json').name} does not record the network shape")
    wanted = NetConfig(**sidecar["net"])
    shape = f"{wanted.layers}-layer GRU {wanted.hidden} hidden"
    mismatched = []
    for path in _checkpoint_candidates(model.info.path, model.info.training, checkpoint):
        if not path.exists():
            continue
        try:
            net, _ = load_net(path)
        except Exception as err:  # a checkpoint being written, or from another version: say so, go on
            mismatched.append(f"{path} unreadable ({type(err).__name__})")
            continue
        if net.config == wanted:
            return TorchPlan(net, f"PyTorch {torch.__version__} eager, 1 thread, weights {path} ({shape})")
        mismatched.append(f"{path} is {net.config.layers}x{net.config.hidden}")
    torch.manual_seed(0)
    why = "; ".join(mismatched) if mismatched else "no checkpoint found"
    return TorchPlan(
        CocomposerNet(wanted).eval(),
        f"PyTorch {torch.__version__} eager, 1 thread, {shape} with random weights ({why}; a step costs the same "
        "whatever the weights)",
    )


def measure_torch(plan: TorchPlan, script: EventScript, n_events: int, progress: Progress | None = None) -> StepResult:
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return replay("pytorch", TorchStepper(plan.net), script, n_events, plan.about, progress)
    finally:
        torch.set_num_threads(threads)
