"""The one percentile of cocomposer: the bench's tables, the panel's latency line and the CLI's status all read
their medians and p99s from here, so the same samples give the same figure everywhere."""

from __future__ import annotations

import math
from collections.abc import Sequence

from cocomposer.errors import ConfigError


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0..100) with linear interpolation between order statistics (numpy's default).

    NaN for no values. p99 of fewer than 100 values lies between the two largest: it says little, and the bench's
    report prints ``n`` beside it for that reason.
    """
    if not 0 <= q <= 100:
        raise ConfigError(f"a percentile is within 0..100, got {q}")
    ordered = sorted(values)
    if not ordered:
        return math.nan
    position = (len(ordered) - 1) * q / 100
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def median(values: Sequence[float]) -> float:
    return percentile(values, 50)
