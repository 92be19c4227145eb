"""Write the musical benchmark's prompts as MIDI files (``python benchmarks/prompts/make_prompts.py``).

Every phrase here was written for this benchmark, not taken from the training corpus (the one exception, Ode to Joy,
is a theme the corpus does not hold as a melody). Each is the kind of thing a player brings: melodies played legato,
detached (each note released at 90% of its value) and staccato (50%), a waltz, a jig, a swung blues riff, a funk
bass line, pop and jazz chords, a chromatic line, a fast run, a held chord and a minor tune. Times are in beats
(quarter notes); swung eighths are written 2/3 + 1/3 of a beat, which the 1/12-beat grid holds exactly.
"""

from __future__ import annotations

import json
from pathlib import Path

import mido

HERE = Path(__file__).resolve().parent
TPB = 480
Event = tuple[float, float, int]  # start, length (beats), pitch

NAMES = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}


def pitch(name: str) -> int:
    """'C4' = 60, 'F#3' = 54, 'Bb4' = 70."""
    letter, rest = name[0], name[1:]
    shift = 0
    while rest and rest[0] in "#b":
        shift += 1 if rest[0] == "#" else -1
        rest = rest[1:]
    return 12 * (int(rest) + 1) + NAMES[letter] + shift


def line(spec: str, start: float = 0.0) -> list[Event]:
    """'E4:1 E4:1 F4:0.5 r:0.5' -> events one after the other (r is a rest)."""
    out, t = [], start
    for item in spec.split():
        name, length = item.split(":")
        beats = eval(length, {}, {})  # lengths like 2/3 or 1/3
        if name != "r":
            out.append((t, beats, pitch(name)))
        t += beats
    return out


def chords(spec: str, start: float = 0.0) -> list[Event]:
    """'C4+E4+G4:2 r:1' -> block chords one after the other."""
    out, t = [], start
    for item in spec.split():
        names, length = item.split(":")
        beats = eval(length, {}, {})
        if names != "r":
            out.extend((t, beats, pitch(n)) for n in names.split("+"))
        t += beats
    return out


def articulate(events: list[Event], share: float) -> list[Event]:
    return [(s, length * share, p) for s, length, p in events]


ODE = line(
    "E4:1 E4:1 F4:1 G4:1 G4:1 F4:1 E4:1 D4:1 C4:1 C4:1 D4:1 E4:1 E4:1.5 D4:0.5 D4:2 "
    "E4:1 E4:1 F4:1 G4:1 G4:1 F4:1 E4:1 D4:1 C4:1 C4:1 D4:1 E4:1 D4:1.5 C4:0.5 C4:2"
)
# An original tune in G major with eighths, a leap and a held note.
TUNE = line(
    "G4:1 B4:0.5 A4:0.5 G4:1 D5:1 C5:0.5 B4:0.5 A4:0.5 B4:0.5 G4:2 "
    "E5:1 D5:0.5 C5:0.5 B4:1 A4:0.5 G4:0.5 F#4:0.5 G4:0.5 A4:1 D4:2"
)
WALTZ = line("G4:2 B4:1 D5:2 B4:1 C5:1 B4:1 A4:1 G4:3 E4:2 G4:1 C5:2 E5:1 D5:1.5 C5:0.5 B4:1 A4:3")
OOM = []
for bar, (root, chord) in enumerate(
    [
        ("C3", "E4+G4"),
        ("C3", "E4+G4"),
        ("G2", "D4+F4"),
        ("G2", "D4+F4"),
        ("F2", "A3+C4"),
        ("C3", "E4+G4"),
        ("G2", "B3+D4"),
        ("C3", "E4+G4"),
    ]
):
    t = 3.0 * bar
    OOM.append((t, 0.9, pitch(root)))
    for beat in (1, 2):
        OOM.extend((t + beat, 0.5, pitch(n)) for n in chord.split("+"))
OOM += line("E5:2 D5:1 C5:2 G4:1 B4:2 A4:1 G4:3 A4:2 B4:1 C5:1 D5:1 E5:1 D5:3 C5:3", 0.0)
JIG = line(
    "D4:0.5 G4:0.5 G4:0.5 B4:0.5 G4:0.5 B4:0.5 D5:0.5 B4:0.5 G4:0.5 A4:1 F#4:0.5 "
    "D4:0.5 F#4:0.5 A4:0.5 D5:0.5 C5:0.5 A4:0.5 B4:0.5 G4:0.5 E4:0.5 D4:1.5"
)
SW = "2/3"
SH = "1/3"
_RIFF_BAR = f"C3:{SW} E3:{SH} G3:{SW} A3:{SH} Bb3:{SW} A3:{SH} G3:{SW} E3:{SH}"
BLUES = []
for bar, root in enumerate(["C", "C", "C", "C", "F", "F", "C", "C", "G", "F", "C", "G"]):
    shift = {"C": 0, "F": 5, "G": 7}[root]
    BLUES += [(s + 4 * bar, length, p + shift) for s, length, p in line(_RIFF_BAR)]
FUNK = []
# E minor funk bass: ghosted 16ths, offbeat accents (e and a of the beat), octave pops.
_FUNK_BAR = [
    (0.0, 0.25, "E2"),
    (0.75, 0.25, "E2"),
    (1.25, 0.25, "E3"),
    (1.5, 0.25, "D3"),
    (2.25, 0.25, "G2"),
    (2.75, 0.25, "A2"),
    (3.25, 0.25, "B2"),
    (3.5, 0.5, "D3"),
]
for bar in range(4):
    FUNK += [(4 * bar + s, length, pitch(n)) for s, length, n in _FUNK_BAR]
POP = chords("C4+E4+G4:4 G3+B3+D4:4 A3+C4+E4:4 F3+A3+C4:4 C4+E4+G4:4 G3+B3+D4:4 A3+C4+E4:4 F3+A3+C4:4")
POP += line("C3:4 G2:4 A2:4 F2:4 C3:4 G2:4 A2:4 F2:4")
JAZZ = []
for bar, chord in enumerate(["D3+F3+A3+C4", "G2+F3+B3+D4", "C3+E3+G3+B3", "C3+E3+G3+B3"] * 2):
    # comping: a swung off-beat stab and a held chord, as a pianist would
    t = 4.0 * bar
    JAZZ.extend((t, 1.5, pitch(n)) for n in chord.split("+"))
    JAZZ.extend((t + 2 + 2 / 3, 1 / 3, pitch(n)) for n in chord.split("+"))
    JAZZ.extend((t + 3 + 2 / 3, 1 / 3, pitch(n)) for n in chord.split("+"))
UP = ["C4", "C#4", "D4", "D#4", "E4", "F4", "F#4", "G4", "G#4", "A4", "A#4", "B4"]
CHROMATIC = line(" ".join(f"{n}:0.5" for n in [*UP, "C5", *UP[:0:-1]]))
CHROMATIC += [(12.0, 2.0, pitch("C4"))]
RUN = line(
    " ".join(
        f"{n}:0.25"
        for n in ("C5 B4 A4 G4 F4 E4 D4 C4 D4 E4 F4 G4 A4 B4 C5 D5 " * 2 + "E5 D5 C5 B4 A4 G4 F4 E4").split()
    )
)
RUN += [(14.0, 2.0, pitch("C4"))]
SUSTAINED = chords("C3+G3+C4+E4+G4:8")
MINOR = line("A4:1 C5:1 E5:1.5 D5:0.5 C5:1 B4:1 A4:2 G#4:1 B4:1 E5:2 D5:1 C5:0.5 B4:0.5 A4:2")

# Validation prompts: used only to choose defaults (mimic, cadence), never in the reported figures.
_SHUFFLE_BAR = f"G2:{SW} G2:{SH} B2:{SW} D3:{SH} E3:{SW} D3:{SH} B2:{SW} G2:{SH}"
SHUFFLE = []
for bar, root in enumerate(["G", "G", "C", "G", "D", "C", "G", "D"]):
    shift = {"G": 0, "C": 5, "D": 7}[root]
    SHUFFLE += [(s + 4 * bar, length, p + shift) for s, length, p in line(_SHUFFLE_BAR)]
WALKING = line("F2:1 A2:1 C3:1 D3:1 Bb2:1 D3:1 F3:1 E3:1 F2:1 G2:1 A2:1 C3:1 C3:1 Bb2:1 A2:1 G2:1")
FOLK = line(
    "D4:1 F#4:0.5 A4:0.5 D5:1 A4:1 B4:0.5 A4:0.5 G4:0.5 F#4:0.5 E4:2 "
    "F#4:1 G4:0.5 A4:0.5 B4:1 G4:1 A4:0.5 G4:0.5 F#4:0.5 E4:0.5 D4:2"
)
WALTZ_MINOR = line("E4:2 G4:1 B4:2 A4:1 G4:1 F#4:1 E4:1 D#4:3 E4:2 B4:1 C5:2 B4:1 A4:1 F#4:1 D#4:1 E4:3")
MINOR_CHORDS = chords("A3+C4+E4:4 D3+F3+A3:4 E3+G#3+B3:4 A3+C4+E4:4") + line("A2:4 D2:4 E2:4 A2:4")
SYNC = line("C5:0.75 G4:0.75 E4:0.5 r:0.25 D4:0.75 E4:1 G4:0.75 A4:0.75 G4:0.5 r:0.25 E4:0.75 C4:1 " * 2)
VALIDATION: dict[str, tuple[list[Event], int, int, float, str]] = {
    "shuffle_riff": (articulate(SHUFFLE, 0.9), 4, 4, 100, "groove: swung bass riff in G"),
    "walking_bass": (articulate(WALKING, 0.92), 4, 4, 120, "register: walking bass in F"),
    "folk_melody": (articulate(FOLK, 0.9), 4, 4, 110, "melody: D major tune, detached"),
    "waltz_minor": (articulate(WALTZ_MINOR, 0.92), 3, 4, 120, "meter: 3/4 minor melody"),
    "minor_chords": (MINOR_CHORDS, 4, 4, 90, "texture: i-iv-V-i block chords"),
    "syncopated_melody": (articulate(SYNC, 0.9), 4, 4, 100, "groove: syncopated pop melody"),
}

PROMPTS: dict[str, tuple[list[Event], int, int, float, str]] = {
    # name: (events, numerator, denominator, bpm, what it tests)
    "ode_legato": (ODE, 4, 4, 100, "articulation: legato reference"),
    "ode_detached": (articulate(ODE, 0.9), 4, 4, 100, "articulation: 90% of each value"),
    "ode_staccato": (articulate(ODE, 0.5), 4, 4, 100, "articulation: 50% of each value"),
    "tune_legato": (TUNE, 4, 4, 110, "articulation: legato reference"),
    "tune_detached": (articulate(TUNE, 0.9), 4, 4, 110, "articulation: 90% of each value"),
    "tune_staccato": (articulate(TUNE, 0.5), 4, 4, 110, "articulation: 50% of each value"),
    "waltz_melody": (articulate(WALTZ, 0.92), 3, 4, 132, "meter: 3/4 melody"),
    "waltz_oompah": (OOM, 3, 4, 132, "meter: 3/4 with oom-pah-pah accompaniment"),
    "jig": (articulate(JIG, 0.9), 6, 8, 110, "meter: 6/8 jig"),
    "blues_swung": (articulate(BLUES, 0.9), 4, 4, 96, "groove: 12-bar blues riff, swung eighths"),
    "funk_bass": (FUNK, 4, 4, 100, "groove: syncopated 16th bass line"),
    "pop_chords": (POP, 4, 4, 100, "texture: I-V-vi-IV block chords"),
    "jazz_comping": (JAZZ, 4, 4, 120, "texture: ii-V-I 7th chords, swung stabs"),
    "chromatic": (articulate(CHROMATIC, 0.9), 4, 4, 100, "line: chromatic scale up and down"),
    "sixteenth_run": (articulate(RUN, 0.85), 4, 4, 96, "line: fast sixteenths"),
    "sustained_chord": (SUSTAINED, 4, 4, 90, "texture: one held C major chord"),
    "minor_melody": (articulate(MINOR, 0.92), 4, 4, 90, "key: A minor melody"),
}


def write(name: str, events: list[Event], numerator: int, denominator: int, bpm: float, folder: Path = HERE) -> Path:
    midi = mido.MidiFile(type=0, ticks_per_beat=TPB)
    track = mido.MidiTrack()
    track.append(mido.MetaMessage("track_name", name=name, time=0))
    track.append(mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(bpm), time=0))
    track.append(mido.MetaMessage("time_signature", numerator=numerator, denominator=denominator, time=0))
    messages = []
    for start, length, p in events:
        on, off = round(start * TPB), round((start + length) * TPB)
        messages.append((on, 1, p))
        messages.append((max(off, on + 1), 0, p))
    messages.sort(key=lambda m: (m[0], m[1]))
    now = 0
    for tick, is_on, p in messages:
        kind = "note_on" if is_on else "note_off"
        track.append(mido.Message(kind, note=p, velocity=80 if is_on else 0, time=tick - now))
        now = tick
    track.append(mido.MetaMessage("end_of_track", time=0))
    midi.tracks.append(track)
    path = folder / f"{name}.mid"
    midi.save(str(path))
    return path


def main() -> None:
    index = {}
    for name, (events, numerator, denominator, bpm, what) in PROMPTS.items():
        write(name, events, numerator, denominator, bpm)
        index[name] = {"meter": f"{numerator}/{denominator}", "bpm": bpm, "tests": what, "notes": len(events)}
    (HERE / "index.json").write_text(json.dumps(index, indent=2) + "\n")
    print(f"wrote {len(index)} prompts to {HERE}")
    folder = HERE / "validation"
    folder.mkdir(exist_ok=True)
    index = {}
    for name, (events, numerator, denominator, bpm, what) in VALIDATION.items():
        write(name, events, numerator, denominator, bpm, folder)
        index[name] = {"meter": f"{numerator}/{denominator}", "bpm": bpm, "tests": what, "notes": len(events)}
    (folder / "index.json").write_text(json.dumps(index, indent=2) + "\n")
    print(f"wrote {len(index)} validation prompts to {folder}")


if __name__ == "__main__":
    main()
