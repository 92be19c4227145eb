"""The stage panel: a PyQt6 window over the live engine (`cocomposer ui`).

The engine (``cocomposer/``) never imports Qt. This package turns engine events into Qt signals (``bridge``) and
panel actions into engine commands (``panel``), hosts the engine and its faults (``host``), and keeps the panel's
files: presets and the autosave (``presets``, ``paths``) and the like/dislike log (``ratings``).
"""
