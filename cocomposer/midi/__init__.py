"""MIDI ports: the port protocol, the rtmidi backends (ALSA, JACK, CoreMIDI, WinMM) and in-process loopback."""
