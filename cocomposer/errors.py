"""The one error hierarchy of cocomposer.

Every error the program raises on purpose derives from :class:`CocomposerError`, and also from the matching
built-in exception, so callers can catch either. Messages say what happened, what was expected and what to do.
"""

from __future__ import annotations


class CocomposerError(Exception):
    """Base class of every error cocomposer raises on purpose."""


class ConfigError(CocomposerError, ValueError):
    """A setting, flag or command has a value cocomposer cannot use."""


class ModelError(CocomposerError, RuntimeError):
    """A model file is missing, unreadable or does not match the codec."""


class PortError(CocomposerError, OSError):
    """A MIDI backend or port could not be opened."""


class BackendLostError(PortError):
    """The MIDI backend went away under an open port (the JACK server stopped); `cocomposer run` says so and exits."""


class PortNotFoundError(CocomposerError, LookupError):
    """No MIDI port (or more than one) matches the name the user gave."""


class MidiFileError(CocomposerError, ValueError):
    """A MIDI file is unreadable or holds no notes."""


class DataError(CocomposerError, RuntimeError):
    """The training corpus could not be prepared or read."""


class CodecError(CocomposerError, ValueError):
    """A token, a shift or a transposition the event codec cannot represent."""


class BenchError(CocomposerError, RuntimeError):
    """A benchmark could not measure what it set out to (a process that never got ready, a port that never came)."""
