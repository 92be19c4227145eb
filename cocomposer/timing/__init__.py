"""Time: the injected monotonic clock, the internal tempo, the MIDI clock follower and Ableton Link."""
