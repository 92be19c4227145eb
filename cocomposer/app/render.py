"""`--wav OUT.wav`: listen before you choose. A take rendered through a General MIDI SoundFont with FluidSynth.

FluidSynth (through pyfluidsynth, the ``audio`` extra, and the system's FluidSynth library) plays the MIDI file's
messages at their times into 16-bit stereo at 44.1 kHz, with a second and a half after the last note for the
release. The level is set on the finished audio: its peak at -1 dBFS (a render that clipped inside the synth is
rendered again at half the gain), so a take is never silent-quiet and never clips; every track sounds on piano
(program 0), so a call and its answer at the same velocities come out at the same loudness.
"""

from __future__ import annotations

import os
import wave
from pathlib import Path

import mido
import numpy as np

from cocomposer.app.takes import take_paths
from cocomposer.errors import ConfigError

SAMPLE_RATE = 44100
TAIL_SECONDS = 1.5
PEAK_DBFS = -1.0
SOUNDFONT_ENV = "COCOMPOSER_SOUNDFONT"
# Where Debian/Ubuntu (fluid-soundfont-gm, timgm6mb-soundfont, musescore-general-soundfont), Fedora, Arch and
# Homebrew put a General MIDI SoundFont.
SYSTEM_SOUNDFONTS = (
    "/usr/share/sounds/sf2/FluidR3_GM.sf2",
    "/usr/share/sounds/sf2/default-GM.sf2",
    "/usr/share/sounds/sf2/TimGM6mb.sf2",
    "/usr/share/sounds/sf3/MuseScore_General.sf3",
    "/usr/share/soundfonts/default.sf2",
    "/usr/share/soundfonts/FluidR3_GM.sf2",
    "/usr/share/soundfonts/FluidR3_GM2-2.sf2",
    "/opt/homebrew/share/soundfonts/default.sf2",
    "/usr/local/share/soundfonts/default.sf2",
)
INSTALL_HINT = (
    "install one (Debian/Ubuntu: apt install fluid-soundfont-gm; Fedora: dnf install fluid-soundfont-gm; "
    f"macOS: brew install fluid-synth and download FluidR3_GM.sf2), or name one with --soundfont FILE.sf2 or "
    f"${SOUNDFONT_ENV}"
)


def find_soundfont(named: Path | None = None) -> Path:
    """The SoundFont to render with: the one named (flag, then environment), else the first the system has."""
    named = named or (Path(os.environ[SOUNDFONT_ENV]) if os.environ.get(SOUNDFONT_ENV) else None)
    if named is not None:
        if not named.is_file():
            raise ConfigError(f"the SoundFont {named} does not exist; {INSTALL_HINT}")
        return named
    for candidate in SYSTEM_SOUNDFONTS:
        if Path(candidate).is_file():
            return Path(candidate)
    raise ConfigError(f"--wav needs a General MIDI SoundFont and none was found here; {INSTALL_HINT}")


def _synth_module():
    try:
        import fluidsynth
    except (ImportError, OSError) as err:
        raise ConfigError(
            "--wav needs FluidSynth: pip install 'cocomposer[audio]' and the FluidSynth library (Debian/Ubuntu: "
            f"apt install libfluidsynth3; macOS: brew install fluid-synth); here: {err}"
        ) from err
    return fluidsynth


def _render(midi: mido.MidiFile, soundfont: Path, gain: float) -> np.ndarray:
    fluidsynth = _synth_module()
    synth = fluidsynth.Synth(gain=gain, samplerate=float(SAMPLE_RATE))
    try:
        sfid = synth.sfload(str(soundfont))
        if sfid < 0:
            raise ConfigError(f"FluidSynth could not load the SoundFont {soundfont}; give another with --soundfont")
        for channel in range(16):
            if channel != 9:
                synth.program_select(channel, sfid, 0, 0)
        chunks, due, done = [], 0.0, 0
        for msg in midi:  # times in seconds since the previous message, tempo applied by mido
            due += msg.time
            frames = int(round(due * SAMPLE_RATE)) - done
            if frames > 0:
                chunks.append(synth.get_samples(frames))
                done += frames
            if msg.type == "note_on":
                synth.noteon(msg.channel, msg.note, msg.velocity)
            elif msg.type == "note_off":
                synth.noteoff(msg.channel, msg.note)
        chunks.append(synth.get_samples(int(TAIL_SECONDS * SAMPLE_RATE)))
    finally:
        synth.delete()
    return np.concatenate(chunks).astype(np.int16).reshape(-1, 2)


def render_wav(midi_path: Path, wav_path: Path, soundfont: Path | None = None) -> dict[str, float | str]:
    """Render ``midi_path`` to ``wav_path``; returns its seconds, peak (dBFS) and the SoundFont used."""
    font = find_soundfont(soundfont)
    midi = mido.MidiFile(str(midi_path))
    gain = 0.4
    audio = _render(midi, font, gain)
    while np.abs(audio.astype(np.int32)).max() >= 32767 and gain > 0.01:  # clipped inside the synth
        gain /= 2
        audio = _render(midi, font, gain)
    peak = np.abs(audio.astype(np.float64)).max()
    if peak > 0:
        audio = np.round(audio * (32767 * 10 ** (PEAK_DBFS / 20) / peak)).astype(np.int16)
    try:
        with wave.open(str(wav_path), "wb") as out:
            out.setnchannels(2)
            out.setsampwidth(2)
            out.setframerate(SAMPLE_RATE)
            out.writeframes(audio.tobytes())
    except OSError as err:
        raise ConfigError(f"could not write {wav_path}: {err}") from err
    level = 20 * np.log10(max(np.abs(audio.astype(np.float64)).max(), 1) / 32768)
    return {"seconds": len(audio) / SAMPLE_RATE, "peak_dbfs": round(float(level), 2), "soundfont": str(font)}


def render_take(midi_path: Path, wav: Path, index: int, count: int, soundfont: Path | None) -> str:
    """Render take ``index`` of ``count`` (``--wav out.wav`` becomes out-1.wav ... for several takes)."""
    target = take_paths(wav, count)[index]
    facts = render_wav(midi_path, target, soundfont)
    return (
        f"    rendered {target}: {facts['seconds']:.1f} s, peak {facts['peak_dbfs']:g} dBFS "
        f"({Path(str(facts['soundfont'])).name})"
    )
