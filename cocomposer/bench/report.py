"""What the benchmark prints: the machine it ran on, the targets, and one plain-text table.

Pure formatting over numbers already measured; the tests check it on made-up values.
"""

from __future__ import annotations

import math
import os
import platform
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from cocomposer.bench.jack import jackd_version


@dataclass(frozen=True)
class Target:
    """A limit a measured value must not exceed (``value <= limit``)."""

    name: str
    limit: float
    unit: str

    def verdict(self, value: float | None) -> str:
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return "n/a"
        return "pass" if value <= self.limit else "MISS"

    def text(self) -> str:
        return f"<= {fmt(self.limit)} {self.unit}"


# The targets of the issue "Numbers a musician can trust", on a 2-core machine.
STEP_P99 = Target("model step p99", 1.5, "ms")
FIRST_NOTE_P99 = {  # the issue "Instant answers": quiet input, and input flooded by a second client
    "quiet": Target("phrase end -> first answer note p99, quiet", 3.0, "ms"),
    "flood": Target("phrase end -> first answer note p99, flooded", 5.0, "ms"),
}
ARRIVAL_P99 = Target("arrival error p99", 1.0, "ms")
READY = Target("start-up to ready (median)", 0.5, "s")
RSS_HEADLESS = Target("resident memory headless", 150.0, "MB")
# Issue 13: drawing a token (temperature, top-p, masks, leans) costs no more than the model step it follows.
SAMPLING_OVER_STEP = Target("sampling / model step per token (median)", 1.0, "x")


@dataclass(frozen=True)
class Row:
    """One line of the table; a row with only ``label`` is a section heading."""

    label: str
    value: str = ""
    target: str = ""
    result: str = ""


def fmt(x: float | None, digits: int = 3) -> str:
    """A number to ``digits`` significant figures, without a trailing zero; "n/a" for None or NaN."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    if x == 0:
        return "0"
    magnitude = math.floor(math.log10(abs(x)))
    decimals = max(0, digits - 1 - magnitude)
    text = f"{x:,.{decimals}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def fmt_summary(summary: dict, keys: tuple[str, ...] = ("median", "p99", "max"), unit: str = "ms") -> str:
    """'0.61 / 1.2 / 3.4 ms (n=5,000)' from a :meth:`Summary.to_dict`."""
    if not summary or not summary.get("n"):
        return "n/a (no samples)"
    return f"{' / '.join(fmt(summary[k]) for k in keys)} {unit} (n={summary['n']:,})"


def format_table(rows: list[Row], title: str = "") -> str:
    """Rows as fixed-width text: headings flush left, measures indented, columns sized to their content."""
    measures = [r for r in rows if r.value or r.target or r.result]
    widths = [
        max([len("measure")] + [len(r.label) + 2 for r in measures]),
        max([len("value")] + [len(r.value) for r in measures]),
        max([len("target")] + [len(r.target) for r in measures]),
    ]
    lines = [title] if title else []
    header = f"{'measure':<{widths[0]}}  {'value':<{widths[1]}}  {'target':<{widths[2]}}  result"
    lines += [header, "-" * len(header)]
    for r in rows:
        if not (r.value or r.target or r.result):
            lines.append(r.label)
            continue
        line = f"{'  ' + r.label:<{widths[0]}}  {r.value:<{widths[1]}}  {r.target:<{widths[2]}}  {r.result}"
        lines.append(line.rstrip())
    return "\n".join(lines)


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def _memory_gb() -> float:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024 / 1e9
    except (OSError, ValueError):
        pass
    return float("nan")


def machine_facts() -> dict:
    """The facts a reader needs to compare two runs: CPU, cores, memory, load, OS and the versions that matter."""
    try:
        usable = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        usable = os.cpu_count() or 0
    load = os.getloadavg() if hasattr(os, "getloadavg") else (math.nan,) * 3
    return {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "cores_usable": usable,
        "memory_gb": round(_memory_gb(), 1),
        "load_average_1_5_15": [round(x, 2) for x in load],
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "onnxruntime": _version("onnxruntime"),
        "numpy": _version("numpy"),
        "torch": _version("torch"),
        "python-rtmidi": _version("python-rtmidi"),
        "jackd": jackd_version(),
    }


def machine_lines(facts: dict) -> list[str]:
    load = ", ".join(fmt(x, 2) for x in facts["load_average_1_5_15"])
    return [
        f"machine: {facts['cpu']}, {facts['cores']} cores ({facts['cores_usable']} usable), "
        f"{fmt(facts['memory_gb'])} GB, {facts['os']}, load average {load} at start",
        f"software: Python {facts['python']}, onnxruntime {facts['onnxruntime']}, numpy {facts['numpy']}, "
        f"torch {facts['torch']}, python-rtmidi {facts['python-rtmidi']}, {facts['jackd']}",
    ]
