"""Size and start-up time of the built app: ``python packaging/measure.py [--runs 5]`` after ``build.py --archive``.

Start-up is the median wall time of several runs, each from an empty folder: ``--version`` (the bootloader unpacks
nothing in one-folder mode, so this is Python's start plus the CLI's imports), ``demo`` to its first line (the model
loaded and the engine started) and to its end (it then plays an eight-beat phrase and the answer in real time, so
most of that is music), and the panel offscreen until it is shown. The same for the pip-installed ``cocomposer``
beside it, when there is one. Linux and macOS (it needs a pseudo-terminal). Prints a Markdown table and writes
``build/package/measure.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import pty
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from build import ROOT, app_executable, app_folder, archive_name, folder_bytes

CASES = {
    "--version": (["--version"], None),
    "demo, first line": (["demo", "--loopback", "-o", "demo.mid"], "playing the call phrase"),
    "demo, whole": (["demo", "--loopback", "-o", "demo.mid"], None),
    "panel shown (offscreen)": (["ui", "--api", "loopback", "--config", "p.toml", "--ratings", "r.jsonl"], None),
}


def one_run(command: list[str], first_line: str | None) -> float:
    """Seconds from start to ``first_line`` on stdout, or to the exit; a failed run stops the measurement.

    Standard output is a pseudo-terminal, as in a player's shell, so it is line-buffered in both builds (through a
    pipe, the frozen app, which ignores PYTHONUNBUFFERED, would hold its first line until it exits).
    """
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "COCOMPOSER_PANEL_QUIT_AFTER_SHOW": "1"}
    with tempfile.TemporaryDirectory() as folder:
        reader, writer = pty.openpty()
        started = time.perf_counter()
        proc = subprocess.Popen(command, cwd=folder, env=env, stdout=writer, stderr=subprocess.DEVNULL)
        os.close(writer)
        seen, seconds = b"", None
        while seconds is None:
            try:
                chunk = os.read(reader, 4096)
            except OSError:  # the terminal closes when the process exits
                chunk = b""
            if not chunk:
                break
            seen += chunk
            if first_line and first_line.encode() in seen:
                seconds = time.perf_counter() - started
        while True:  # drain, so the process never blocks on a full terminal
            try:
                if not os.read(reader, 4096):
                    break
            except OSError:
                break
        code = proc.wait(timeout=120)
        os.close(reader)
        if code != 0:
            raise SystemExit(f"measure.py: {' '.join(command)} exited with {code}")
        return seconds if seconds is not None else time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(prog="packaging/measure.py", description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--dist", type=Path, default=ROOT / "dist")
    args = parser.parse_args()
    app = app_executable(args.dist)
    if not app.is_file():
        print(f"measure.py: no built app at {app}; run python packaging/build.py --archive first", file=sys.stderr)
        return 2
    version = subprocess.run([str(app), "--version"], capture_output=True, text=True, check=True).stdout.split()[-1]
    archives = list(args.dist.glob(archive_name(version) + ".*"))
    report: dict = {
        "folder_mb": folder_bytes(app_folder(args.dist)) / 1e6,
        "archive_mb": archives[0].stat().st_size / 1e6 if archives else None,
        "runs": args.runs,
        "median_s": {},
    }
    installed = shutil.which("cocomposer")
    for who, exe in (("app", str(app)), ("pip install", installed)):
        if exe is None:
            continue
        for case, (command, first_line) in CASES.items():
            times = [one_run([exe, *command], first_line) for _ in range(args.runs)]
            report["median_s"].setdefault(case, {})[who] = statistics.median(times)
    out = ROOT / "build" / "package" / "measure.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    archive = f"{report['archive_mb']:.0f} MB" if report["archive_mb"] else "(no archive)"
    print(f"folder {report['folder_mb']:.0f} MB, tar.gz {archive}; medians of {args.runs} runs:")
    print("| | built app | pip install |\n|---|---:|---:|")
    for case, by in report["median_s"].items():
        cells = [f"{by[w]:.2f} s" if w in by else "-" for w in ("app", "pip install")]
        print(f"| {case} | {' | '.join(cells)} |")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
