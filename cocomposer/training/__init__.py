"""Data preparation, training, export and evaluation of cocomposer's model (the optional `train` extra).

Nothing in here is imported by the runtime: it needs torch, music21 and symusic.
"""
