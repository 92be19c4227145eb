"""Music as cocomposer hears it: the token codec, keys and scales, MIDI files, and figures of a passage."""
