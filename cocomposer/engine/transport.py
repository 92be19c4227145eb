"""What the engine does when a DAW's transport moves (``--sync midi-clock``): the clock follower takes every clock
and transport message; Stop closes everything; Start and Song Position Pointer move the session's beats.

The scheduler keeps its notes in beats, so a relocation while an answer sounds (a DAW looping, or the player clicking
elsewhere on its timeline) would leave the sounding notes open until the new timeline reached their old note-off
beats, and play the rest of the old answer when it reached their old beats, seconds later. So a relocation is a
cut: the keys the player holds count as released, every answer is cancelled (its sounding notes close at once), each
part that keeps beats (the call memory, the mode, the model's timeline) moves with the clock, and the mode asks for
what was left of the answer again, at the new place. A Start or Song Position Pointer while stopped moves the beats
the same way, with nothing sounding to close.
"""

from __future__ import annotations

from typing import Any

from cocomposer import midi_bytes as mb
from cocomposer.engine import events as ev
from cocomposer.engine.jobs import Relocate
from cocomposer.midi import ports


def follow_transport(engine: Any, msg: ports.Message, t: float) -> None:
    """Feed ``msg`` (a system message, at engine time ``t``) to ``engine``'s MIDI clock follower and act on it.
    ``engine`` is an :class:`~cocomposer.engine.core.Engine` (not imported: it imports this module)."""
    before = engine.clock.beat_at(t)
    if not engine.clock.feed(msg, t):
        return  # not clock or transport (sysex, active sensing), or a Song Position Pointer cut short
    engine._emit(ev.TransportIn(msg[0], t))
    if msg[0] == mb.STOP:
        engine.panic_now()  # the DAW stopped: so does cocomposer
    elif msg[0] in (mb.START, mb.SONG_POSITION):
        relocate(engine, before, engine.clock.beat_at(t))


def relocate(engine: Any, old: float, new: float) -> None:
    """The session clock jumped from beat ``old`` to ``new``: see the module's docstring."""
    engine._release_held(old)
    engine._call.shift(new - old)
    actions = engine.mode.relocate(old, new)
    engine._cancel_all()
    engine.generator.submit(Relocate(old, new))  # after the cancel: the model keeps only what sounded
    engine._perform(actions)
