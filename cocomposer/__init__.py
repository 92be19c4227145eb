"""cocomposer: a real-time AI co-composer that listens on MIDI and answers in time."""

__version__ = "0.1.0"
