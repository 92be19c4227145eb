"""The fault suite's tally, shared by its tests and its conftest (which prints it in the terminal summary)."""

from __future__ import annotations

import collections

INJECTED: collections.Counter[str] = collections.Counter()
LOST_ON_THE_WAY: collections.Counter[str] = collections.Counter()  # note-offs cocomposer sent that JACK dropped
