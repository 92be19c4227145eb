"""`--sync link`: follow an Ableton Link session's tempo and beat phase (through the optional `aalink` package).

aalink runs Link on an asyncio loop; this clock keeps that loop on a small thread of its own and re-anchors the
ordinary beat <-> seconds mapping of :class:`cocomposer.timing.clock.Clock` to Link's timeline every few milliseconds,
so the scheduler and the modes use it like any other clock. Link's beat is aligned to the session's quantum (the bar),
so `--quantize bar` lands on the session's bar lines.
"""

from __future__ import annotations

import asyncio
import threading
import time

from cocomposer.errors import ConfigError
from cocomposer.timing.clock import Clock, Now, validate_bpm

POLL_SECONDS = 0.005
JOIN_DELAY = 0.5


class LinkClock(Clock):
    def __init__(self, bpm: float = 120.0, now: Now = time.perf_counter, beats_per_bar: int = 4) -> None:
        super().__init__(now, beats_per_bar)
        try:
            import aalink
        except ImportError as err:
            raise ConfigError("--sync link needs the aalink package: pip install aalink") from err
        self._aalink = aalink
        self._bpm = validate_bpm(bpm)
        self._running = True
        self._ready = threading.Event()
        self._stop = threading.Event()
        self._link = None
        self._thread = threading.Thread(target=self._run, name="cocomposer-link", daemon=True)
        self._thread.start()
        if not self._ready.wait(5.0):
            raise ConfigError("Ableton Link did not start within 5 s")

    def _tempo(self) -> float:
        return self._bpm

    @property
    def peers(self) -> int:
        return int(self._link.num_peers) if self._link is not None else 0

    def set_bpm(self, bpm: float) -> None:
        """Propose a tempo to the Link session (every peer follows)."""
        bpm = validate_bpm(bpm)
        if self._link is not None:
            self._loop.call_soon_threadsafe(setattr, self._link, "tempo", bpm)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2.0)

    def _run(self) -> None:
        self._loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(self._follow())

    async def _follow(self) -> None:
        link = self._aalink.Link(self._bpm)
        link.quantum = self.beats_per_bar
        # Enabling Link at once sometimes imposes our tempo on a running session (aalink issue 7); half a second
        # between creating and enabling lets it join with the session's tempo instead.
        await asyncio.sleep(JOIN_DELAY)
        link.enabled = True
        self._link = link
        self._ready.set()
        while not self._stop.is_set():
            beat, tempo, t = float(link.beat), float(link.tempo), self.now()
            changed = abs(tempo - self._bpm) >= 0.01
            with self._lock:
                self._anchor_beat, self._anchor_t, self._bpm = beat, t, tempo
            if changed:
                self._emit("tempo", beat)
            await asyncio.sleep(POLL_SECONDS)
        link.enabled = False
