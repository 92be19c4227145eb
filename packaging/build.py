"""Build the standalone cocomposer app with PyInstaller: ``python packaging/build.py`` -> ``dist/cocomposer/``.

Three steps, each printed with its time: a wheel of this tree (the package layout pip installs: ``models/`` as
``cocomposer.models``, ``ui/`` as ``cocomposer_panel``), unpacked into a staging folder; PyInstaller on
``packaging/cocomposer.spec`` over that folder, with the Python that runs this script (which needs the runtime
dependencies, PyQt6 and PyInstaller: ``pip install -e '.[ui,link,package]'``); and, with ``--archive``, a ``.tar.gz``
(``.zip`` on Windows) of the folder. The same script builds on Linux, macOS and Windows; only Linux is tested here.
"""

from __future__ import annotations

import argparse
import importlib.util
import platform
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "packaging" / "cocomposer.spec"
APP = "cocomposer"


def app_folder(dist: Path) -> Path:
    """The built one-folder app inside ``dist``."""
    return dist / APP


def app_executable(dist: Path) -> Path:
    """The app's executable: ``cocomposer`` (``cocomposer.exe`` on Windows) in the app folder."""
    return app_folder(dist) / (APP + (".exe" if sys.platform == "win32" else ""))


def folder_bytes(folder: Path) -> int:
    """Bytes of the regular files under ``folder`` (what ``du --apparent-size`` counts; links not followed)."""
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file() and not p.is_symlink())


def archive_name(version: str) -> str:
    system = {"linux": "linux", "darwin": "macos", "win32": "windows"}.get(sys.platform, sys.platform)
    return f"{APP}-{version}-{system}-{platform.machine().lower()}"


def _step(number: int, text: str) -> float:
    print(f"[{number}/3] {text}", flush=True)
    return time.perf_counter()


def _done(started: float) -> None:
    print(f"      done in {time.perf_counter() - started:.1f} s", flush=True)


def _lines(path: Path) -> int:
    try:
        return path.read_bytes().count(b"\n")
    except OSError:
        return 0


def _run(command: list[str], log: Path) -> None:
    """Run a build tool with its output in ``log``, with progress counted in the lines it has written (the total,
    and so the estimate of the time left, is the previous build's count, where there was one); on failure, show the
    log's end and stop."""
    from cocomposer.console.progress import Progress

    expected = _lines(log) or None
    with log.open("w") as out, Progress(expected, command[2], "log lines") as progress:
        proc = subprocess.Popen(command, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
        while (code := proc.poll()) is None:
            time.sleep(0.5)
            written = _lines(log)
            if written > progress.done:
                progress.advance(written - progress.done)
    if code != 0:
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-25:])
        raise SystemExit(f"build.py: {command[2]} failed (exit {code}); the end of {log}:\n{tail}")


def stage_wheel(build: Path) -> Path:
    """Build this tree's wheel and unpack it; the folder PyInstaller reads cocomposer from."""
    wheels, stage = build / "wheel", build / "stage"
    for folder in (wheels, stage):
        shutil.rmtree(folder, ignore_errors=True)
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-w", str(wheels), str(ROOT)], build / "wheel.log")
    (wheel,) = wheels.glob(f"{APP}-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(stage)
    return stage


def make_archive(dist: Path, version: str) -> Path:
    kind = "zip" if sys.platform == "win32" else "gztar"
    return Path(shutil.make_archive(str(dist / archive_name(version)), kind, root_dir=dist, base_dir=APP))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="packaging/build.py", description=__doc__.splitlines()[0])
    parser.add_argument("--dist", type=Path, default=ROOT / "dist", help="where the app folder goes (default: dist/)")
    parser.add_argument(
        "--build", type=Path, default=ROOT / "build" / "package", help="work folder (default: build/package)"
    )
    parser.add_argument("--archive", action="store_true", help="also pack the folder into a .tar.gz (.zip on Windows)")
    args = parser.parse_args(argv)
    if importlib.util.find_spec("PyInstaller") is None:
        print(
            "build.py: PyInstaller is not installed in this Python; install the package extra "
            "(pip install -e '.[ui,link,package]') and run this script again",
            file=sys.stderr,
        )
        return 2
    dist, build = args.dist.resolve(), args.build.resolve()
    build.mkdir(parents=True, exist_ok=True)
    began = time.perf_counter()

    started = _step(1, "wheel of this tree, unpacked for PyInstaller")
    stage = stage_wheel(build)
    _done(started)

    started = _step(2, f"PyInstaller -> {app_folder(dist)} (log: {build / 'pyinstaller.log'})")
    command = [sys.executable, "-m", "PyInstaller", "--noconfirm", "--distpath", str(dist)]
    command += ["--workpath", str(build / "pyinstaller"), str(SPEC), "--", "--stage", str(stage)]
    _run(command, build / "pyinstaller.log")
    _done(started)

    started = _step(3, "archive" if args.archive else "archive skipped (--archive makes one)")
    version = subprocess.run(
        [str(app_executable(dist)), "--version"], capture_output=True, text=True, check=True, timeout=120
    ).stdout.split()[-1]
    archive = make_archive(dist, version) if args.archive else None
    _done(started)

    print(f"built {APP} {version} in {time.perf_counter() - began:.0f} s: {app_executable(dist)}")
    print(f"  folder {folder_bytes(app_folder(dist)) / 1e6:.0f} MB", end="")
    print(f", archive {archive.stat().st_size / 1e6:.0f} MB: {archive}" if archive else "")
    return 0


if __name__ == "__main__":
    sys.exit(main())
