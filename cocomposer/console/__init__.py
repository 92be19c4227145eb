"""What every command shares at the terminal: help text that shows defaults and choices, progress on long jobs,
and a quiet stderr around C libraries that print on their own (libjack, ALSA)."""
