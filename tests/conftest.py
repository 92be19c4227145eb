"""The test suite is laid out like the code, one folder per kind of test, each folder a marker:

* ``unit``: pure logic and single parts (codec, clocks, scheduler on a fake clock, modes, sampling, keys, notifier,
  the layer rules, the model file);
* ``engine``: the whole engine with the real model, on loopback ports or a fake clock;
* ``jack``: MIDI through a real JACK server (the dummy driver), the ports and Link;
* ``faults``: fault injection through a real JACK server (floods, lost note-offs, storms, transport, flapping, bad
  input), each case followed by an answer with nothing left sounding; the summary tallies the faults;
* ``panel``: the Qt panel (offscreen), also on real JACK ports;
* ``app``: the command line and the bench as a user runs them;
* ``training``: data preparation, training and export (the train extra);
* ``packaging``: the standalone app, built once by ``packaging/smoke.sh`` and run for real (CI runs it after the
  rest of the suite, which deselects it with ``-m "not packaging"``).

Select with ``-m``, e.g. ``pytest -m "unit or engine"``. Shared here: the private JACK server fixture; the JACK
harness is ``tests/support/jack.py``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from cocomposer.model.runtime import OnnxModel

try:  # `tests` is a package, or the repository root is on sys.path
    from tests.support.jack import JackServer, JackUnavailableError
except ImportError:  # pytest's default rootdir-less import: this folder is on sys.path
    from support.jack import JackServer, JackUnavailableError


FOLDERS = ("unit", "engine", "jack", "faults", "panel", "app", "training", "packaging")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "jack: end-to-end tests through a real JACK server (dummy driver)")
    for folder in FOLDERS:
        config.addinivalue_line("markers", f"{folder}: the tests under tests/{folder}/")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Each test carries the marker of its folder; a test outside the folders is a layout mistake."""
    root = Path(__file__).parent
    for item in items:
        folder = Path(str(item.fspath)).relative_to(root).parts[0]
        if folder not in FOLDERS:
            raise pytest.UsageError(f"{item.nodeid}: tests live in one of tests/{{{','.join(FOLDERS)}}}/")
        item.add_marker(getattr(pytest.mark, folder))


def jack_required() -> bool:
    """On CI with COCOMPOSER_REQUIRE_JACK=1, a JACK server that cannot start fails the run instead of skipping."""
    return os.environ.get("CI", "").lower() == "true" and os.environ.get("COCOMPOSER_REQUIRE_JACK") == "1"


@pytest.fixture(scope="module")
def model() -> OnnxModel:
    """The shipped model, loaded once per test module (a module's tests share its state, as they always did)."""
    return OnnxModel.load()


@pytest.fixture(scope="session")
def jack_server() -> Iterator[JackServer]:
    """A JACK server with the dummy driver, named for this test process and found through JACK_DEFAULT_SERVER."""
    server = JackServer(f"cocomposer-test-{os.getpid()}")
    try:
        server.start()
    except JackUnavailableError as err:
        reason = f"JACK server could not start, so the jack tests cannot run: {err}"
        if jack_required():
            pytest.fail(f"{reason} (CI=true and COCOMPOSER_REQUIRE_JACK=1 make this an error)", pytrace=False)
        pytest.skip(reason)
    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("JACK_DEFAULT_SERVER", server.name)
            patch.setenv("JACK_NO_START_SERVER", "1")
            yield server
    finally:
        server.stop()
