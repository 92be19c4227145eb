"""Shared fixtures: a private JACK server for the end-to-end MIDI tests."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

try:  # `tests` is a package, or the repository root is on sys.path
    from tests.jack import JackServer, JackUnavailableError
except ImportError:  # pytest's default rootdir-less import: this folder is on sys.path
    from jack import JackServer, JackUnavailableError


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "jack: end-to-end tests through a real JACK server (dummy driver)")


def jack_required() -> bool:
    """On CI with COCOMPOSER_REQUIRE_JACK=1, a JACK server that cannot start fails the run instead of skipping."""
    return os.environ.get("CI", "").lower() == "true" and os.environ.get("COCOMPOSER_REQUIRE_JACK") == "1"


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
