"""Notes another part already sounded, adopted by the scheduler (a mixin of
:class:`~cocomposer.engine.scheduler.Scheduler`, on its state and under its lock).

A note another part already sounded (the JACK helper's reflex: an answer's first note played the moment the
end-of-phrase control arrived) is adopted (:meth:`AdoptedNotes.adopt`): it counts as sounding, and the note the
generator then hands over for that key and time claims it without a second note-on, keeping its note-off. One nobody
claims is closed by :meth:`AdoptedNotes.release_adopted`, a cancel, panic, a note scheduled past its time (the
answer went on without it), or after ``ADOPTED_SECONDS``.
"""

from __future__ import annotations

import dataclasses
import threading
from collections import deque
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from cocomposer.engine.notes import OpenNote, ScheduledNote, checked_notes
from cocomposer.midi_bytes import NOTE_OFF, NOTE_ON

if TYPE_CHECKING:
    from cocomposer.timing.clock import Clock

ADOPTED_SECONDS = 1.0  # an adopted note nobody claims is closed after this long
CLAIM_SECONDS = 0.003  # a note claims an adopted one that sounded this close to its time


class AdoptedNotes:
    _cond: threading.Condition
    _clock: Clock
    _open: dict[tuple[int, int], OpenNote]
    _unended: dict[tuple[str, int, int], ScheduledNote]
    _dropped: dict[tuple[str, int, int], ScheduledNote]
    _channels: set[int]
    _outbox: deque[tuple]
    _adopted: dict[tuple[int, int], tuple[ScheduledNote, float]]  # key -> (note, when it sounded)
    claimed = 0  # adopted notes an answer's note claimed

    def adopt(self, notes: Iterable[ScheduledNote], t: float) -> None:
        """``notes`` were sounded at ``t`` by another part (the JACK helper's reflex): they count as open, each until
        the generator hands over the note of that key at that time, which claims it (no second note-on: see
        :meth:`schedule`), or until :meth:`release_adopted`, a cancel, panic or ``ADOPTED_SECONDS`` close it. A key
        already open stays with the note that opened it, whose note-off closes the key (a race the engine narrows by
        disarming before it hands over an answer)."""
        batch = checked_notes(notes)
        with self._cond:
            for note in batch:
                if note.key in self._open:
                    continue
                self._adopted[note.key] = (note, t)
                self._channels.add(note.channel)
            self._cond.notify_all()  # the deadline of the adopted notes

    def release_adopted(self) -> None:
        """Close now every adopted note nobody claimed."""
        calls: list[tuple[str, ScheduledNote | None, tuple[int, ...], float]] = []
        with self._cond:
            self._close_adopted(lambda _t: True, self._clock.now(), calls)
        self._flush()

    def _claim(self, note: ScheduledNote) -> bool:
        """If ``note`` is the one an adopted note sounded for (same key, its time within ``CLAIM_SECONDS``), make
        it the open note of its key without a note-on (its hooks hear of it, at the time it sounded) and return True."""
        if not self._adopted:
            return False
        held, when = self._adopted.get(note.key), self._clock.time_at(note.start_beat)
        if held is None or abs(when - held[1]) > CLAIM_SECONDS:  # an answer past them will not claim them: closed
            self._close_adopted(lambda t: when - t > CLAIM_SECONDS, self._clock.now(), [])
            return False
        del self._adopted[note.key]
        self.claimed += 1
        note = dataclasses.replace(note, velocity=held[0].velocity)  # as it sounded
        self._open[note.key] = OpenNote(note, held[1])
        if note.ended:
            self._push_off(note)
        else:
            self._unended[(note.tag, *note.key)] = note
            self._dropped.pop((note.tag, *note.key), None)
        self._outbox.append(("adopted", note, (NOTE_ON | note.channel, note.pitch, held[0].velocity), held[1]))
        return True

    def _close_adopted(
        self, predicate: Callable[[float], bool], now: float, calls: list, only: tuple[int, int] | None = None
    ) -> None:
        for key, (note, t) in list(self._adopted.items()):
            if predicate(t) and (only is None or key == only):
                del self._adopted[key]
                self._send((NOTE_OFF | key[0], key[1], 0), "note_off", note, now, calls)

    def _close_key(self, key: tuple[int, int], current: OpenNote | None, at: float, calls: list) -> None:
        """Before a note-on for ``key``: close what sounds there (a scheduled, passed-through or adopted note)."""
        if current is not None:
            self._note_off_now(key, current, at, calls)
        self._close_adopted(lambda _t: True, at, calls, key)
