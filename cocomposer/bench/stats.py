"""Statistics for the benchmark: one summary per measure and the median of a window of steps (the percentile
itself is :mod:`cocomposer.percentiles`).

Everything here is pure and takes plain sequences of numbers (seconds unless a name says otherwise), so the tests run
it on made-up values and never on timings.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass

from cocomposer.errors import ConfigError
from cocomposer.percentiles import median, percentile


@dataclass(frozen=True)
class Summary:
    """n, median, p99 and max of a set of values (NaN where there were none)."""

    n: int
    median: float
    p99: float
    max: float
    min: float

    @classmethod
    def of(cls, values: Sequence[float]) -> Summary:
        values = list(values)
        if not values:
            return cls(0, math.nan, math.nan, math.nan, math.nan)
        return cls(len(values), median(values), percentile(values, 99), max(values), min(values))

    def scaled(self, factor: float) -> Summary:
        """The same summary in other units (e.g. ``factor=1e3`` for seconds to milliseconds)."""
        return Summary(self.n, self.median * factor, self.p99 * factor, self.max * factor, self.min * factor)

    def to_dict(self) -> dict:
        return {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in asdict(self).items()}


def window_median(values: Sequence[float], center: int, half_width: int = 50) -> float:
    """The median of ``values[center - half_width : center + half_width + 1]`` (clipped to the sequence).

    Used for "the cost at step 100, 1,000 and 10,000 of one session": a window smooths out one unlucky step. NaN when
    ``center`` lies beyond the sequence.
    """
    if center < 0 or half_width < 0:
        raise ConfigError(f"center and half_width must be >= 0, got {center}, {half_width}")
    if center >= len(values):
        return math.nan
    return median(values[max(0, center - half_width) : center + half_width + 1])


def ratio(numerator: float, denominator: float) -> float:
    """``numerator / denominator``, NaN where either is missing or the denominator is not positive."""
    if math.isnan(numerator) or math.isnan(denominator) or denominator <= 0:
        return math.nan
    return numerator / denominator


def token_split(step_seconds: Sequence[float], sample_seconds: Sequence[float]) -> dict:
    """Per model token, in ms: the step alone, the sampling alone and both (``step_seconds[i]`` and
    ``sample_seconds[i]`` timed on the same token); and sampling / step, the ratio of the medians and of the p99s."""
    if len(step_seconds) != len(sample_seconds):
        raise ConfigError(f"one step per sampled token: {len(step_seconds)} steps, {len(sample_seconds)} samples")
    step, sample = Summary.of(step_seconds).scaled(1e3), Summary.of(sample_seconds).scaled(1e3)
    both = Summary.of([a + b for a, b in zip(step_seconds, sample_seconds, strict=True)]).scaled(1e3)
    return {
        "step_ms": step.to_dict(),
        "sampling_ms": sample.to_dict(),
        "step_plus_sampling_ms": both.to_dict(),
        "sampling_over_step_median": ratio(sample.median, step.median),
        "sampling_over_step_p99": ratio(sample.p99, step.p99),
    }


__all__ = ["Summary", "median", "percentile", "ratio", "token_split", "window_median"]
