"""The model contract: ``OnnxModel.load(path)``, ``reset()``, ``feed(tokens)``, ``sample(controls, rng)``.

One class wraps onnxruntime. The recurrent state is an explicit input and output of the graph, so one step costs the
same at the first note of a session as at the ten-thousandth. The sidecar JSON (``name.json`` beside ``name.onnx``)
is read into a frozen :class:`ModelInfo`; a model whose vocabulary does not match :mod:`cocomposer.music.codec` is
refused, and so is one that does not fit its sidecar (one real step at load checks the input names, the state shape,
the number of logits and the labels).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from cocomposer.errors import ModelError
from cocomposer.model.sampling import Controls, sample_token
from cocomposer.music import codec

MODEL_PACKAGE = "cocomposer.models"  # the top-level models/ folder, installed as this package
# Weights of the style and mood embeddings when playing. 1.0 is what training saw (used to score data); 2.0 makes
# the labels count against a prompt in another style: style control rose from 53% to 72% in the evaluation.
PLAYING_STRENGTH = (2.0, 2.0)
STEP_INPUTS = ("token", "phase", "bar_position", "style", "mood", "meter", "state")  # what every step feeds


def default_model_path() -> Path:
    """The shipped model, ``default.onnx`` of the package ``cocomposer.models`` (the source tree's ``models/``)."""
    try:
        root = resources.files(MODEL_PACKAGE)
    except ModuleNotFoundError as err:
        raise ModelError(
            f"this installation holds no shipped model (package {MODEL_PACKAGE} missing); reinstall cocomposer "
            "with pip, or pass --model PATH"
        ) from err
    return Path(str(root / "default.onnx"))  # installed as plain files (never zipped): onnxruntime reads a path


@dataclass(frozen=True)
class ModelInfo:
    path: Path
    vocabulary_hash: str
    vocab_size: int
    styles: tuple[str, ...]
    moods: tuple[str, ...]
    state_shape: tuple[int, ...]
    training: dict

    @classmethod
    def read(cls, onnx_path: Path) -> ModelInfo:
        sidecar = onnx_path.with_suffix(".json")
        if not onnx_path.exists():
            raise ModelError(f"model file {onnx_path} does not exist; pass --model PATH or reinstall cocomposer")
        if not sidecar.exists():
            raise ModelError(f"model {onnx_path} has no sidecar {sidecar.name}; export it with the training tools")
        try:
            raw = json.loads(sidecar.read_text())
            info = cls(
                path=onnx_path,
                vocabulary_hash=raw["vocabulary_hash"],
                vocab_size=int(raw["vocab_size"]),
                styles=tuple(raw["styles"]),
                moods=tuple(raw["moods"]),
                state_shape=tuple(int(x) for x in raw["state_shape"]),
                training=dict(raw.get("training", {})),
            )
        except (OSError, ValueError, KeyError, TypeError) as err:
            raise ModelError(f"sidecar {sidecar} is unreadable or incomplete: {err}") from err
        for kind, needed in (("styles", codec.STYLES), ("moods", codec.MOODS)):
            labels = raw[kind]
            if not isinstance(labels, list) or not all(isinstance(x, str) for x in labels) or set(needed) - set(labels):
                raise ModelError(
                    f"sidecar {sidecar}: {kind} must be a list of labels holding {', '.join(needed)}, got {labels!r}; "
                    "use a model exported by this version"
                )
        if info.vocabulary_hash != codec.vocabulary_hash() or info.vocab_size != codec.VOCAB_SIZE:
            raise ModelError(
                f"model {onnx_path.name} was trained for vocabulary {info.vocabulary_hash}, but this cocomposer "
                f"speaks {codec.vocabulary_hash()}; use a model exported by this version"
            )
        return info


@dataclass(frozen=True)
class ModelState:
    """A snapshot of everything the model carries between steps."""

    state: np.ndarray
    logits: np.ndarray
    tick: int


class _BoundStep:
    """One step on buffers bound once (onnxruntime's I/O binding): the inputs written in place, the state handed
    between two buffers by two bindings taken in turn, the logits written into one. No array and no feed dict is
    made per step, and onnxruntime's per-run checks of a feed dict are skipped: a step took a sixth less time
    (measured 120 -> 100 us, median, on the shipped model)."""

    def __init__(self, session, info: ModelInfo, cond_scale: np.ndarray | None) -> None:
        self._session = session
        self.ints = np.zeros(6, dtype=np.int64)  # token, phase, bar_position, style, mood, meter: STEP_INPUTS[:6]
        self.states = (np.zeros(info.state_shape, np.float32), np.zeros(info.state_shape, np.float32))
        self.logits = np.zeros((1, info.vocab_size), np.float32)
        self.turn = 0  # states[turn] is the input of the next step
        logits_name, state_name = (o.name for o in session.get_outputs())
        self.bindings = [session.io_binding(), session.io_binding()]
        for turn, binding in enumerate(self.bindings):
            for i, name in enumerate(STEP_INPUTS[:6]):
                binding.bind_cpu_input(name, self.ints[i : i + 1])  # backed by the array itself, not a copy
            binding.bind_cpu_input("state", self.states[turn])
            binding.bind_ortvalue_output(logits_name, _ort_value(self.logits))
            binding.bind_ortvalue_output(state_name, _ort_value(self.states[1 - turn]))
        self.scale = None
        if cond_scale is not None:
            self.bind_scale(cond_scale)

    def bind_scale(self, cond_scale: np.ndarray) -> None:
        self.scale = cond_scale
        for binding in self.bindings:
            binding.bind_cpu_input("cond_scale", np.ascontiguousarray(cond_scale, dtype=np.float32))

    def run(self, state: np.ndarray, run_options) -> np.ndarray:
        """One step from ``state`` (the inputs already in :attr:`ints`); returns the new state, a buffer of its own
        that the step after next overwrites."""
        if state is not self.states[self.turn]:  # set from outside: reset, restore
            np.copyto(self.states[self.turn], state)
        self._session.run_with_iobinding(self.bindings[self.turn], run_options)
        self.turn ^= 1
        return self.states[self.turn]


def _ort_value(array: np.ndarray):
    """An OrtValue backed by ``array``'s memory (onnxruntime on the CPU writes an output there, copying nothing)."""
    import onnxruntime as ort

    return ort.OrtValue.ortvalue_from_numpy(array)


class OnnxModel:
    """One model, one session of listening and playing, stepped one token at a time."""

    def __init__(self, session, info: ModelInfo) -> None:
        self._session = session
        self.info = info
        self.style = 0
        self.mood = 0
        self.meter = codec.COMMON_TIME
        self.bar_origin = 0  # a tick on which a bar line falls
        self.cond_scale = np.array(PLAYING_STRENGTH, dtype=np.float32)
        self._has_scale = "cond_scale" in {i.name for i in session.get_inputs()}
        self._run_options = None  # onnxruntime's RunOptions for each step (the check at load runs quietly)
        self._bound: _BoundStep | None = None  # once the model is known to fit (see load): steps on bound buffers
        self.reset()

    @classmethod
    def load(cls, path: Path | str | None = None, threads: int = 1) -> OnnxModel:
        import onnxruntime as ort

        onnx_path = Path(path) if path else default_model_path()
        info = ModelInfo.read(onnx_path)
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3
        try:
            session = ort.InferenceSession(str(onnx_path), options, providers=["CPUExecutionProvider"])
        except Exception as err:
            raise ModelError(f"onnxruntime could not load {onnx_path}: {err}") from err
        model = cls(session, info)
        model._run_options = ort.RunOptions()
        model._run_options.log_severity_level = 4  # a failing check is reported as one ModelError, not a log line
        try:
            model._check_fits()
        finally:
            model._run_options = None
        model._bound = _BoundStep(session, info, model.cond_scale if model._has_scale else None)
        return model

    def _check_fits(self) -> None:
        """One real step at load, with the last style, mood and meter, so that a model which does not fit its
        sidecar (its state shape, vocabulary size, input names or labels) is refused now with one line, instead of
        failing at every phrase of the session."""
        name, info = self.info.path.name, self.info
        inputs = {i.name for i in self._session.get_inputs()}
        if missing := [n for n in STEP_INPUTS if n not in inputs]:
            raise ModelError(
                f"model {name} has no input {', '.join(missing)} (it takes {', '.join(sorted(inputs))}); cocomposer "
                f"feeds {', '.join(STEP_INPUTS)}: use a model exported by this version"
            )
        self.style, self.mood = len(info.styles) - 1, len(info.moods) - 1
        self.meter = codec.Meter(5, 4)  # none of the named meters: the model's last meter input, "other"
        try:
            logits = self.step(codec.shift_token(1))
        except Exception as err:  # onnxruntime's own errors: their text says what did not fit
            detail = "; ".join(line.strip() for line in str(err).splitlines() if line.strip())
            raise ModelError(
                f"model {name} does not fit its sidecar {self.info.path.with_suffix('.json').name} ({len(info.styles)} "
                f"styles, {len(info.moods)} moods, state {list(info.state_shape)}): a step failed: {detail[:300]}"
            ) from err
        if logits.shape != (info.vocab_size,) or self.state.shape != info.state_shape:
            raise ModelError(
                f"model {name} gives {logits.shape[-1] if logits.ndim else 0} logits and a state of "
                f"{list(self.state.shape)} a step, but its sidecar says {info.vocab_size} logits (this cocomposer's "
                f"vocabulary) and a state of {list(info.state_shape)}; use a model exported by this version"
            )
        if not np.isfinite(logits).all():
            raise ModelError(f"model {name} gives logits that are not finite numbers; its weights are damaged")
        self.style = self.mood = 0
        self.meter = codec.COMMON_TIME
        self.reset()

    # -- conditioning ---------------------------------------------------------------------------------------------
    def set_style(self, style: str | int) -> None:
        self.style = self._index(style, self.info.styles, "style")

    def set_mood(self, mood: str | int) -> None:
        self.mood = self._index(mood, self.info.moods, "mood")

    def set_meter(self, meter: codec.Meter, bar_origin: int = 0) -> None:
        """The meter the music is in, and a tick on which one of its bar lines falls; heard from the next step on."""
        self.meter = meter
        self.bar_origin = bar_origin

    def set_strength(self, style: float = 1.0, mood: float = 1.0) -> None:
        """How much the style and mood labels count: 1 is what the model was trained with; more pulls harder."""
        self.cond_scale = np.array([style, mood], dtype=np.float32)

    @staticmethod
    def _index(value: str | int, labels: tuple[str, ...], what: str) -> int:
        if isinstance(value, int):
            if 0 <= value < len(labels):
                return value
        elif value in labels:
            return labels.index(value)
        raise ModelError(f"unknown {what} {value!r}; this model knows {', '.join(labels)}")

    # -- stepping -------------------------------------------------------------------------------------------------
    def reset(self, tick: int = 0) -> None:
        """Forget everything heard; time restarts at ``tick`` (its beat phase matters)."""
        self.state = np.zeros(self.info.state_shape, dtype=np.float32)
        self.tick = tick
        self.logits = np.zeros(self.info.vocab_size, dtype=np.float32)
        self.steps = 0

    def step(self, token: int) -> np.ndarray:
        """Feed one token; returns the logits for the next one (an array of their own)."""
        self.tick += codec.shift_ticks(token)
        bound = self._bound
        if bound is not None:
            bar = codec.bar_position(self.tick, self.meter, self.bar_origin)
            bound.ints[:] = (token, self.tick % codec.TICKS_PER_BEAT, bar, self.style, self.mood, self.meter.index)
            if self._has_scale and self.cond_scale is not bound.scale:
                bound.bind_scale(self.cond_scale)
            self.state = bound.run(self.state, self._run_options)
            self.logits = bound.logits[0].copy()
            self.steps += 1
            return self.logits
        feeds = {
            "token": np.array([token], dtype=np.int64),
            "phase": np.array([self.tick % codec.TICKS_PER_BEAT], dtype=np.int64),
            "bar_position": np.array([codec.bar_position(self.tick, self.meter, self.bar_origin)], dtype=np.int64),
            "style": np.array([self.style], dtype=np.int64),
            "mood": np.array([self.mood], dtype=np.int64),
            "meter": np.array([self.meter.index], dtype=np.int64),
            "state": self.state,
        }
        if self._has_scale:
            feeds["cond_scale"] = self.cond_scale
        logits, self.state = self._session.run(None, feeds, self._run_options)
        self.logits = logits[0]
        self.steps += 1
        return self.logits

    def feed(self, tokens: Iterable[int]) -> None:
        for token in tokens:
            self.step(token)

    def sample(
        self,
        controls: Controls,
        rng: np.random.Generator,
        sounding: Iterable[int] = (),
        closable: Mapping[int, int] | Iterable[int] | None = None,
        onsets: bool = True,
        lean: np.ndarray | None = None,
    ) -> int:
        """Draw the next token under ``controls`` (not fed: call :meth:`step` with it to play it); ``closable`` as a
        mapping gives each note's age in ticks (see :func:`cocomposer.model.sampling.masked_logits`)."""
        if closable is not None and not isinstance(closable, Mapping):
            closable = frozenset(closable)
        return sample_token(self.logits, controls, rng, frozenset(sounding), closable, onsets, lean)

    def snapshot(self) -> ModelState:
        return ModelState(self.state.copy(), self.logits.copy(), self.tick)

    def restore(self, snap: ModelState) -> None:
        self.state, self.logits, self.tick = snap.state.copy(), snap.logits.copy(), snap.tick
