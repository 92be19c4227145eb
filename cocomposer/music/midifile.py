"""Standard MIDI files in and out: notes with times in beats (quarter notes), via mido."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import mido

from cocomposer.errors import ConfigError, MidiFileError
from cocomposer.music.codec import COMMON_TIME, Meter, Note

TICKS_PER_BEAT = 480


@dataclass(frozen=True)
class Phrase:
    """What a MIDI file says about the music in it: its notes, first tempo and first time signature."""

    notes: list[Note]
    bpm: float
    meter: Meter


def read_notes(path: Path | str) -> tuple[list[Note], float]:
    """All notes of a MIDI file (every track and channel but drums), and its first tempo in BPM (120 if none)."""
    phrase = read_phrase(path)
    return phrase.notes, phrase.bpm


def read_phrase(path: Path | str) -> Phrase:
    """The notes (every track and channel but drums), the first tempo (120 BPM if none) and the first time
    signature (4/4 if none) of a MIDI file."""
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
    meter: Meter | None = None
    for track in midi.tracks:
        tick = 0
        sounding: dict[tuple[int, int], tuple[int, int]] = {}
        for msg in track:
            tick += msg.time
            if msg.type == "set_tempo" and bpm is None:
                bpm = mido.tempo2bpm(msg.tempo)
            if msg.type == "time_signature" and meter is None:
                try:
                    meter = Meter(msg.numerator, msg.denominator)
                except ConfigError:
                    meter = COMMON_TIME  # a signature the model cannot count (e.g. 7/64): bars of 4/4
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
    return Phrase(notes, float(bpm or 120.0), meter or COMMON_TIME)


def _track(
    name: str, notes: Sequence[Note], channel: int, program: int | None = None, text: str | None = None
) -> mido.MidiTrack:
    track = mido.MidiTrack()
    track.append(mido.MetaMessage("track_name", name=name, time=0))
    if text:
        track.append(mido.MetaMessage("text", text=text, time=0))
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


def write_tracks(
    path: Path | str,
    tracks: Sequence[tuple[str, Sequence[Note], int]],
    bpm: float = 120.0,
    meter: Meter = COMMON_TIME,
    texts: Sequence[tuple[float, str, str]] = (),
    track_texts: Sequence[str] = (),
) -> None:
    """A type 1 MIDI file with a tempo and time-signature track and one track per (name, notes, channel).

    ``texts``: (beat, "text" or "marker", words) meta events for the first track (provenance, sections, setting
    changes: see :mod:`cocomposer.music.provenance`); ``track_texts``: one text event at the start of each track."""
    midi = mido.MidiFile(type=1, ticks_per_beat=TICKS_PER_BEAT)
    meta = mido.MidiTrack()
    meta.append(mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(bpm), time=0))
    meta.append(mido.MetaMessage("time_signature", numerator=meter.numerator, denominator=meter.denominator, time=0))
    now = 0
    for beat, kind, words in sorted(texts, key=lambda t: t[0]):
        tick = max(0, round(beat * TICKS_PER_BEAT))
        meta.append(mido.MetaMessage(kind, text=words, time=tick - now))
        now = tick
    meta.append(mido.MetaMessage("end_of_track", time=0))
    midi.tracks.append(meta)
    for i, (name, notes, channel) in enumerate(tracks):
        midi.tracks.append(_track(name, notes, channel, text=track_texts[i] if i < len(track_texts) else None))
    try:
        midi.save(str(path))
    except OSError as err:
        raise MidiFileError(f"could not write {path}: {err}") from err
