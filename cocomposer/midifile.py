"""Standard MIDI files in and out: notes with times in beats (quarter notes), via mido."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import mido

from cocomposer.codec import Note
from cocomposer.errors import MidiFileError

TICKS_PER_BEAT = 480


def read_notes(path: Path | str) -> tuple[list[Note], float]:
    """All notes of a MIDI file (every track and channel but drums), and its first tempo in BPM (120 if none)."""
    path = Path(path)
    try:
        midi = mido.MidiFile(str(path))
    except FileNotFoundError as err:
        raise MidiFileError(f"{path} does not exist") from err
    except (OSError, EOFError, ValueError, KeyError, IndexError) as err:
        reason = str(err) or type(err).__name__
        raise MidiFileError(f"{path} is not a readable MIDI file ({reason}); give a .mid file with notes") from err
    if midi.type == 2:
        raise MidiFileError(f"{path} is a type 2 MIDI file (independent patterns); save it as type 0 or 1")
    tpb = midi.ticks_per_beat or TICKS_PER_BEAT
    notes: list[Note] = []
    bpm = None
    for track in midi.tracks:
        tick = 0
        sounding: dict[tuple[int, int], tuple[int, int]] = {}
        for msg in track:
            tick += msg.time
            if msg.type == "set_tempo" and bpm is None:
                bpm = mido.tempo2bpm(msg.tempo)
            if msg.type not in ("note_on", "note_off") or msg.channel == 9:
                continue
            key = (msg.channel, msg.note)
            if msg.type == "note_on" and msg.velocity > 0:
                if key in sounding:
                    start, vel = sounding.pop(key)
                    notes.append(Note(start / tpb, tick / tpb, msg.note, vel))
                sounding[key] = (tick, msg.velocity)
            elif key in sounding:
                start, vel = sounding.pop(key)
                notes.append(Note(start / tpb, tick / tpb, msg.note, vel))
        for (_, pitch), (start, vel) in sounding.items():
            notes.append(Note(start / tpb, max(tick, start + 1) / tpb, pitch, vel))
    notes.sort()
    if not notes:
        raise MidiFileError(f"{path} holds no notes (drums on channel 10 are ignored); give a phrase to continue")
    return notes, float(bpm or 120.0)


def _track(name: str, notes: Sequence[Note], channel: int, program: int | None = None) -> mido.MidiTrack:
    track = mido.MidiTrack()
    track.append(mido.MetaMessage("track_name", name=name, time=0))
    if program is not None:
        track.append(mido.Message("program_change", channel=channel, program=program, time=0))
    events = []
    for n in notes:
        start = round(n.start * TICKS_PER_BEAT)
        end = max(round(n.end * TICKS_PER_BEAT), start + 1)
        events.append((start, 1, n.pitch, n.velocity))
        events.append((end, 0, n.pitch, 0))
    events.sort(key=lambda e: (e[0], e[1]))
    now = 0
    for tick, is_on, pitch, velocity in events:
        kind = "note_on" if is_on else "note_off"
        track.append(mido.Message(kind, channel=channel, note=pitch, velocity=velocity, time=tick - now))
        now = tick
    track.append(mido.MetaMessage("end_of_track", time=0))
    return track


def write_tracks(path: Path | str, tracks: Sequence[tuple[str, Sequence[Note], int]], bpm: float = 120.0) -> None:
    """A type 1 MIDI file with a tempo track and one track per (name, notes, channel)."""
    midi = mido.MidiFile(type=1, ticks_per_beat=TICKS_PER_BEAT)
    meta = mido.MidiTrack()
    meta.append(mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(bpm), time=0))
    meta.append(mido.MetaMessage("time_signature", numerator=4, denominator=4, time=0))
    meta.append(mido.MetaMessage("end_of_track", time=0))
    midi.tracks.append(meta)
    for name, notes, channel in tracks:
        midi.tracks.append(_track(name, notes, channel))
    try:
        midi.save(str(path))
    except OSError as err:
        raise MidiFileError(f"could not write {path}: {err}") from err
