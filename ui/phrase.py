"""Play a phrase (the bundled demo phrase) into the engine as if a player played it, on a thread of its own."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence

from cocomposer.errors import CocomposerError
from cocomposer.midi_bytes import NOTE_OFF, NOTE_ON
from cocomposer.music import codec
from cocomposer.music.phrases import demo_phrase

log = logging.getLogger(__name__)

Send = Callable[[tuple[int, int, int]], None]


class PhrasePlayer:
    """Sends the note messages of ``notes`` (times in beats) through ``send`` at ``bpm``; :meth:`stop` ends early."""

    def __init__(self, notes: Sequence[codec.Note], send: Send, bpm: float, lead_seconds: float = 0.2) -> None:
        beat = 60.0 / bpm
        events = [(n.start * beat, 1, n) for n in notes] + [(n.end * beat, 0, n) for n in notes]
        self._events = sorted(events, key=lambda e: (e[0], e[1], e[2].pitch))
        self._send, self._lead = send, lead_seconds
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="cocomposer-phrase", daemon=True)
        self.done = threading.Event()

    def start(self) -> PhrasePlayer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(1.0)

    def _run(self) -> None:
        started = time.perf_counter() + self._lead
        held: set[int] = set()
        try:
            for at, is_on, note in self._events:
                if self._stop.wait(max(0.0, started + at - time.perf_counter())):
                    break
                self._send((NOTE_ON, note.pitch, note.velocity) if is_on else (NOTE_OFF, note.pitch, 0))
                (held.add if is_on else held.discard)(note.pitch)
            for pitch in sorted(held):  # stopped early: release what the phrase holds
                self._send((NOTE_OFF, pitch, 0))
        except CocomposerError as err:  # the port went away under the phrase: nothing left to play to
            log.info("the phrase stopped: %s", err)
        finally:
            self.done.set()


def play_demo(send: Send, bpm: float) -> PhrasePlayer:
    """Start playing the bundled demo phrase (cocomposer/data/demo_phrase.mid) through ``send``."""
    return PhrasePlayer(demo_phrase(), send, bpm).start()
