"""Which MIDI backend to use: names of the rtmidi APIs, what this python-rtmidi build has, whether a JACK server
answers, and how an error from a backend reads (its C library's own words kept off the terminal, quoted in the
error instead)."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable

import rtmidi

from cocomposer.console.quiet import Captured, captured_stderr
from cocomposer.errors import ConfigError, PortError

API_NAMES: dict[str, int] = {
    "auto": rtmidi.API_UNSPECIFIED,
    "alsa": rtmidi.API_LINUX_ALSA,
    "jack": rtmidi.API_UNIX_JACK,
    "coremidi": rtmidi.API_MACOSX_CORE,
    "winmm": rtmidi.API_WINDOWS_MM,
}
NAME_OF_API = {number: name for name, number in API_NAMES.items()}


_jack_used = False


def note_jack_used() -> None:
    """Record that this process made a JACK client through python-rtmidi (see :func:`jack_used`)."""
    global _jack_used
    _jack_used = True


def jack_used() -> bool:
    """Whether this process made a JACK client through python-rtmidi. The libjack its wheel bundles (1.9.22 against
    a 1.9.21 server here) now and then crashes with SIGSEGV while the process exits (seen in 1 of 50 exits of `run`,
    and in 2 of 100 runs that only refused a bad flag, on a busy machine), so the `cocomposer` command ends such a
    process without the interpreter's teardown, once everything is closed and flushed."""
    return _jack_used


def jack_server_reachable(client_name: str = "cocomposer-probe") -> bool:
    """Whether a JACK server answers (the one named by ``JACK_DEFAULT_SERVER``, else the default one).

    libjack's own complaints when none runs ("Cannot connect to server socket...") stay off the terminal: no
    server is an answer here, not a failure."""
    note_jack_used()
    with captured_stderr():
        try:
            probe = rtmidi.MidiIn(rtmidi.API_UNIX_JACK, name=client_name)  # connects to the server, or raises
        except (rtmidi.RtMidiError, RuntimeError):
            return False
        try:
            probe.get_port_count()
        finally:
            probe.delete()
    return True


def lookup_api(name: str) -> int:
    if name not in API_NAMES:
        raise ConfigError(f"unknown MIDI API {name!r}; expected one of: {', '.join(sorted(API_NAMES))}")
    return API_NAMES[name]


def require_compiled(api: int) -> int:
    compiled = rtmidi.get_compiled_api()
    if api not in compiled:
        have = ", ".join(NAME_OF_API.get(a, rtmidi.get_api_name(a)) for a in compiled) or "none"
        raise PortError(
            f"MIDI API {NAME_OF_API.get(api, api)!r} is not compiled into this python-rtmidi build "
            f"(rtmidi.get_compiled_api() gives: {have}); pass --api with one of those, or install a python-rtmidi "
            "built with it"
        )
    return api


def resolve_api(
    name: str,
    *,
    platform: str = sys.platform,
    alsa_seq_path: str | os.PathLike[str] = "/dev/snd/seq",
    jack_reachable: Callable[[], bool] = jack_server_reachable,
) -> int:
    """The rtmidi API constant for an API name; "auto" picks what works here (on Linux: ALSA, else a running JACK)."""
    api = lookup_api(name)
    if api != rtmidi.API_UNSPECIFIED:
        return require_compiled(api)
    compiled = rtmidi.get_compiled_api()
    if platform.startswith("linux") and rtmidi.API_LINUX_ALSA in compiled and os.path.exists(alsa_seq_path):
        return rtmidi.API_LINUX_ALSA
    native = {"darwin": rtmidi.API_MACOSX_CORE, "win32": rtmidi.API_WINDOWS_MM}.get(platform)
    if native is not None and native in compiled:
        return native
    if rtmidi.API_UNIX_JACK in compiled and jack_reachable():
        return rtmidi.API_UNIX_JACK
    raise PortError(
        f"no MIDI backend works on this machine: the ALSA sequencer ({alsa_seq_path}) is missing and no JACK server "
        "answers. Either load the ALSA sequencer (`sudo modprobe snd-seq`), or start a JACK server (for example "
        "`jackd -d alsa`, or `jackd -d dummy -r 48000 -p 64` on a machine without a sound card, with "
        "JACK_DEFAULT_SERVER set if you name it), then run again; `--api jack` or `--api alsa` chooses one explicitly."
    )


def sentence(text: object) -> str:
    """``text`` ending in one full stop (RtMidi's messages end in ".", "?" or nothing)."""
    out = str(text).strip()
    return out if out.endswith((".", "?", "!")) else out + "."


def backend_said(captured: Captured) -> str:
    """What the backend's C library printed, as a clause for an error message (empty if nothing)."""
    lines = list(dict.fromkeys(captured.lines))[:3]
    return f" The backend said: {' / '.join(lines)}." if lines else ""
