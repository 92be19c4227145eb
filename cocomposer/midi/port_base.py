"""What every MIDI port is: a `MidiIn` hands each message to a sink with its time, a `MidiOut` sends; both close,
say when their backend went away (`lost`), and may know their full JACK name."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from typing import Literal, Protocol, TypeVar

from cocomposer.errors import ConfigError

Message = tuple[int, ...]
Sink = Callable[[int, Message], None]
Kind = Literal["input", "output"]
_P = TypeVar("_P", bound="_Port")


class _Port(ABC):
    """What both directions share: a name, `close`, and use as a context manager (which closes)."""

    name: str

    @abstractmethod
    def close(self) -> None: ...

    jack_name: str | None = None  # the full JACK name of our own port ("client:port"), where JACK tells it

    @property
    def lost(self) -> str | None:
        """Why the backend went away under this port (e.g. the JACK server stopped), or None while it works."""
        return None

    def __enter__(self: _P) -> _P:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class MidiIn(_Port):
    """A MIDI input. `start` hands every incoming message to ``sink(timestamp_ns, message)``; ``malformed`` counts
    what the backend received and dropped as no MIDI message (where it can tell)."""

    malformed: int = 0

    @abstractmethod
    def start(self, sink: Sink) -> None: ...


class MidiOut(_Port):
    """A MIDI output. `send` takes the raw bytes of one message."""

    @abstractmethod
    def send(self, message: Sequence[int]) -> None: ...

    def on_connect(self, listener: Callable[[str], None]) -> bool:
        """Call ``listener(destination)`` whenever a new connection from this port appears (on a backend thread:
        the listener must not block). Returns False where the backend cannot tell, and then never calls it."""
        return False


def as_message(message: Sequence[int]) -> Message:
    """The message as a tuple of bytes; ConfigError if it is empty or holds a value outside 0..255."""
    out = tuple(message)
    if not out or not all(isinstance(b, int) and 0 <= b <= 255 for b in out):
        raise ConfigError(f"a MIDI message must be one or more integers in 0..255; got {message!r}")
    return out


class MidiSink(Protocol):
    """Whatever the scheduler sends to: a :class:`MidiOut`, or a test's recorder."""

    def send(self, message: Sequence[int]) -> None: ...


class TimedMidiSink(MidiSink, Protocol):
    """An output that takes each message ahead of its time and sends it then (JACK frame offsets, see
    :class:`~cocomposer.midi.jack_frames.JackFramesOut`): ``timed`` is True, ``lead_seconds`` how far ahead."""

    timed: bool
    lead_seconds: float

    def send_at(self, message: Sequence[int], t: float | None) -> None: ...
