"""Every setting a player can change, as flags, live commands and MIDI CC bindings, validated in one place."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field, fields, replace

from cocomposer.errors import ConfigError
from cocomposer.model.continuation import DEFAULT_CADENCE
from cocomposer.model.sampling import DEFAULT_MIMIC, Controls
from cocomposer.music import codec
from cocomposer.music.keys import Key, parse_key
from cocomposer.timing.clock import MAX_BEATS_PER_BAR

MODES = ("call-response", "accompany", "continue", "thru")
QUANTIZE = ("beat", "bar", "off")
MAX_CADENCE = 4.0
MAX_PHRASE_BARS = 64


@dataclass(frozen=True)
class Settings:
    mode: str = "call-response"
    temperature: float = 1.0
    top_p: float = 0.95
    style: str = "folk"
    mood: str = "auto"  # "auto" follows the key the player is in
    bars: float = 0.0  # answer length in bars; 0 = auto: as many bars as the call (1..8)
    key: str = "off"  # "off", "auto", or a key such as "D minor"
    low: int = 36
    high: int = 96
    density: float = 1.0
    velocity: str = "follow"  # "follow" the player's dynamics, or a fixed value 1..127
    in_channel: int = 0  # 0 = all channels, else 1..16
    out_channel: int = 1  # 1..16
    accompany_channel: int = 2
    quantize: str = "beat"
    silence: float = 1.0  # beats of silence that end a phrase
    max_phrase_bars: float = 8.0
    hold_bars: float = 2.0  # a key held this long stops holding the phrase open (a lost note-off); 0.5..32 bars
    barge_in: bool = True
    thru: bool = False
    horizon: float = 2.0  # beats the accompanist plans ahead
    trigger_cc: int = 64  # continue mode: this CC (default the sustain pedal) double-tapped, or any CC below
    phrase_end_cc: int | None = None  # a CC that ends the phrase at once (a footswitch)
    panic_cc: int | None = None
    bpm: float = 120.0
    beats_per_bar: int = 4
    meter: str = "auto"  # "auto": beats_per_bar quarter notes (see codec.Meter.of_beats), or e.g. "6/8"
    min_note: int = 2  # the shortest note the model may play, in ticks of 1/12 beat
    mimic: float = DEFAULT_MIMIC  # weight of the player model (cocomposer.model.player); 0: the network alone
    cadence: float = DEFAULT_CADENCE  # strength of the close in an answer's last bar; 0: none
    cc: dict[int, str] = field(default_factory=dict)  # CC number -> setting name

    def __post_init__(self) -> None:
        _check(self.mode in MODES, f"mode must be one of {', '.join(MODES)}, got {self.mode!r}")
        _check(self.style in codec.STYLES, f"style must be one of {', '.join(codec.STYLES)}, got {self.style!r}")
        _check(self.mood in (*codec.MOODS, "auto"), f"mood must be auto, major or minor, got {self.mood!r}")
        _check(
            self.bars == 0 or 0.25 <= self.bars <= 32, f"answer length must be auto or 0.25..32 bars, got {self.bars}"
        )
        _check(0 <= self.cadence <= MAX_CADENCE, f"cadence must be within 0..{MAX_CADENCE:g}, got {self.cadence}")
        _check(self.quantize in QUANTIZE, f"quantize must be one of {', '.join(QUANTIZE)}, got {self.quantize!r}")
        _check(0 <= self.in_channel <= 16, f"input channel must be 0 (all) or 1..16, got {self.in_channel}")
        _check(1 <= self.out_channel <= 16, f"output channel must be 1..16, got {self.out_channel}")
        _check(1 <= self.accompany_channel <= 16, f"accompany channel must be 1..16, got {self.accompany_channel}")
        _check(0.05 <= self.silence <= 16, f"silence must be 0.05..16 beats, got {self.silence}")
        _check(0.5 <= self.hold_bars <= 32, f"hold limit must be 0.5..32 bars, got {self.hold_bars}")
        _check(
            1 <= self.max_phrase_bars <= MAX_PHRASE_BARS,
            f"max phrase length must be 1..{MAX_PHRASE_BARS} bars, got {self.max_phrase_bars}",
        )
        _check(0.5 <= self.horizon <= 16, f"horizon must be 0.5..16 beats, got {self.horizon}")
        _check(20 <= self.bpm <= 300, f"tempo must be 20..300 BPM, got {self.bpm}")
        _check(
            1 <= self.beats_per_bar <= MAX_BEATS_PER_BAR,
            f"beats per bar must be 1..{MAX_BEATS_PER_BAR}, got {self.beats_per_bar}",
        )
        if self.meter != "auto":
            meter = codec.Meter.parse(self.meter)
            _check(
                meter.bar_ticks % codec.TICKS_PER_BEAT == 0 and 1 <= meter.bar_beats <= 16,
                f"meter {self.meter} does not fill a whole number of beats (1..16 quarter notes); the clock counts "
                "quarter-note beats",
            )
            _check(
                round(meter.bar_beats) == self.beats_per_bar,
                f"meter {self.meter} has {meter.bar_beats:g} beats per bar, but beats per bar is "
                f"{self.beats_per_bar}; set one of them",
            )
        if self.key not in ("off", "auto"):
            parse_key(self.key)
        if self.velocity != "follow":
            _check(
                self.velocity.isdigit() and 1 <= int(self.velocity) <= 127,
                f"velocity must be 'follow' or 1..127, got {self.velocity!r}",
            )
        self.controls(None)  # validates temperature, top-p, range, density
        for number, name in self.cc.items():
            _check(0 <= number <= 127, f"CC numbers are 0..127, got {number}")
            _check(
                name in CC_TARGETS,
                f"CC {number} is bound to {name!r}, which no knob can move; bindable: {', '.join(CC_TARGETS)}",
            )
        self._check_cc_roles()

    def _check_cc_roles(self) -> None:
        """Each CC number has one job: a knob binding, the panic CC or the phrase-end CC (the trigger CC only acts
        in continue mode, so a knob may share it)."""
        roles = {"trigger CC (--trigger-cc)": self.trigger_cc, "phrase-end CC (--phrase-end-cc)": self.phrase_end_cc}
        roles["panic CC (--panic-cc)"] = self.panic_cc
        for role, number in roles.items():
            _check(number is None or 0 <= number <= 127, f"the {role} must be a CC number 0..127, got {number}")
        jobs: dict[int, str] = {}
        for number, name in sorted(self.cc.items()):
            jobs[number] = f"bound to {name} (--cc {name}={number})"
        for role in ("panic CC (--panic-cc)", "phrase-end CC (--phrase-end-cc)"):
            number = roles[role]
            if number is None:
                continue
            _check(
                number not in jobs,
                f"CC {number} cannot be both the {role} and {jobs.get(number)}; give each job its own CC number",
            )
            jobs[number] = f"the {role}"

    def controls(self, auto_key: Key | None, bias=None, mood_key: Key | None = None) -> Controls:
        """The sampling controls these settings stand for. ``auto_key``: the key estimated from the player;
        ``mood_key``: the key of the chosen mood that best fits the player (``keys.find_key(hist, mood)``), used
        only when the mood is major or minor (see sampling.mood_bias)."""
        key = None if self.key == "off" else auto_key if self.key == "auto" else parse_key(self.key)
        if self.mood == "auto" or mood_key is None or mood_key.mode != self.mood:
            mood_key = None
        return Controls(
            self.temperature,
            self.top_p,
            key,
            self.low,
            self.high,
            self.density,
            bias=bias,
            mood_key=mood_key,
            min_note_ticks=self.min_note,
            mimic=self.mimic,
        )

    @property
    def model_meter(self) -> codec.Meter:
        """The meter the model hears: the ``meter`` setting, or ``beats_per_bar`` quarter notes."""
        return codec.Meter.of_beats(self.beats_per_bar) if self.meter == "auto" else codec.Meter.parse(self.meter)

    def with_value(self, name: str, value: object) -> Settings:
        """A copy with one setting changed; ``value`` may be text (from the command line or a command)."""
        kinds = {f.name: f.type for f in fields(self)}
        if name not in kinds or name == "cc":
            raise ConfigError(f"unknown setting {name!r}; settings: {', '.join(k for k in kinds if k != 'cc')}")
        coerced = _coerce(name, kinds[name], value)
        if name == "meter" and coerced != "auto":  # a meter brings its beats per bar along
            try:
                beats = codec.Meter.parse(str(coerced)).bar_beats
            except ConfigError as err:
                raise ConfigError(f"setting meter cannot take {value!r}: {err}") from err
            return replace(self, meter=str(coerced), beats_per_bar=max(1, round(beats)))
        if name == "beats_per_bar" and self.meter != "auto" and coerced != round(self.model_meter.bar_beats):
            return replace(self, beats_per_bar=coerced, meter="auto")  # a new bar length: the meter follows it
        return replace(self, **{name: coerced})

    def with_cc(self, name: str, cc_value: int) -> Settings:
        """A copy with ``name`` set from a 0..127 controller value (a hardware knob)."""
        return self.with_value(name, CC_TARGETS[name](cc_value))


def _check(ok: bool, message: str) -> None:
    if not ok:
        raise ConfigError(message)


def _coerce(name: str, kind: object, value: object) -> object:
    text = str(value).strip()
    try:
        if kind in ("bool", bool):
            if isinstance(value, bool):
                return value
            if text.lower() in ("1", "true", "on", "yes"):
                return True
            if text.lower() in ("0", "false", "off", "no"):
                return False
            raise ConfigError(f"setting {name} is on or off (1/0, true/false, yes/no), got {value!r}")
        if kind in ("int", int):
            return _whole(name, value, text)
        if kind in ("int | None",):
            return None if text.lower() in ("none", "off", "") else _whole(name, value, text)
        if name == "bars" and text.lower() == "auto":
            return 0.0
        if kind in ("float", float):
            number = float(text)
            if not math.isfinite(number):
                raise ConfigError(f"setting {name} needs a finite number, got {value!r}")
            return number
    except ConfigError:
        raise
    except (ValueError, OverflowError) as err:
        expected = "a whole number" if kind in ("int", int, "int | None") else "a number"
        raise ConfigError(f"setting {name} cannot take {value!r}; expected {expected}") from err
    return text


def _whole(name: str, value: object, text: str) -> int:
    """An integer setting from text: "3" or "3.0", never "3.7" silently cut to 3."""
    if isinstance(value, bool):
        raise ConfigError(f"setting {name} takes a whole number, got {value!r}")
    if isinstance(value, int):
        return value
    number = float(text)
    if not number.is_integer():
        raise ConfigError(f"setting {name} takes a whole number, got {value!r}")
    return int(number)


def _scale(low: float, high: float) -> Callable[[int], float]:
    return lambda v: round(low + (high - low) * max(0, min(127, v)) / 127, 3)


def _choice(options: tuple[str, ...]) -> Callable[[int], str]:
    return lambda v: options[min(len(options) - 1, max(0, v) * len(options) // 128)]


CC_TARGETS: dict[str, Callable[[int], object]] = {
    "temperature": _scale(0.1, 2.0),
    "top_p": _scale(0.5, 1.0),
    "density": _scale(0.25, 4.0),
    "bars": lambda v: float(max(0, min(127, v)) * 8 // 127),  # 0 = auto, then 1..8
    "mimic": _scale(0.0, 2.0),
    "cadence": _scale(0.0, MAX_CADENCE),
    "style": _choice(codec.STYLES),
    "mood": _choice(("auto", *codec.MOODS)),
    "mode": _choice(MODES),
    "key": _choice(("off", "auto")),
    "low": lambda v: int(max(0, min(127, v))),
    "high": lambda v: int(max(0, min(127, v))),
    "velocity": lambda v: "follow" if v == 0 else str(max(1, min(127, v))),
    "silence": _scale(0.25, 4.0),
    "quantize": _choice(QUANTIZE),
}


def parse_cc_bindings(specs: list[str]) -> dict[int, str]:
    """['temperature=21', 'style=22'] -> {21: 'temperature', 22: 'style'}."""
    out: dict[int, str] = {}
    for spec in specs:
        name, _, number = spec.partition("=")
        if not number.strip().isdigit():
            raise ConfigError(f"--cc takes NAME=NUMBER, e.g. temperature=21; got {spec!r}")
        out[int(number)] = name.strip()
    return out
