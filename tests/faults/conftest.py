"""The fault suite's tally: how many faults its tests injected, printed in the terminal summary."""

from __future__ import annotations

import pytest

from tests.support.faults import INJECTED, LOST_ON_THE_WAY


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if INJECTED:
        counts = ", ".join(f"{what} {n}" for what, n in sorted(INJECTED.items()))
        terminalreporter.write_line(f"faults injected: {sum(INJECTED.values())} ({counts})")
    if LOST_ON_THE_WAY:
        lost = ", ".join(f"{what} {n}" for what, n in sorted(LOST_ON_THE_WAY.items()))
        terminalreporter.write_line(f"note-offs cocomposer sent that JACK lost on the way: {lost}")
