"""Turn the music21 package's bundled corpus into token streams with style and mood labels, cached on disk.

ABC collections (thousands of tunes) are parsed with symusic, which is fast and expands repeats; MusicXML and
Humdrum files with music21. Work is spread over worker processes. Nothing is downloaded: the corpus ships inside the
music21 wheel.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import re
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cocomposer.console.progress import track
from cocomposer.errors import DataError
from cocomposer.music import codec
from cocomposer.music.keys import find_key, pitch_class_histogram
from cocomposer.training.abc import pickup_beats

# collection folder -> style label. Documented in models/MODEL_CARD.md.
COLLECTION_STYLE: dict[str, str] = {
    "essenFolksong": "folk",
    "miscFolk": "folk",
    "oneills1850": "celtic",
    "ryansMammoth": "celtic",
    "airdsAirs": "celtic",
    "nottingham-dataset": "celtic",
    "bach": "chorale",
    "palestrina": "renaissance",
    "monteverdi": "renaissance",
    "trecento": "renaissance",
    "josquin": "renaissance",
    "ciconia": "renaissance",
    "luca": "renaissance",
    "lusitano": "renaissance",
    "beethoven": "classical",
    "mozart": "classical",
    "haydn": "classical",
    "schubert": "classical",
    "schumann_clara": "classical",
    "schumann_robert": "classical",
    "chopin": "classical",
    "corelli": "classical",
    "cpebach": "classical",
    "handel": "classical",
    "beach": "classical",
    "verdi": "classical",
    "weber": "classical",
    "joplin": "classical",
    "liliuokalani": "classical",
    "johnson_j_r": "classical",
}
SCORE_SUFFIXES = (".mxl", ".xml", ".musicxml", ".krn")
SPLIT_NAMES = ("train", "valid", "test")
CACHE_VERSION = 2
PARSER_VERSION = 3  # bump when parsing changes, to invalidate the per-file cache
_HEADER = re.compile(r"^[A-Za-z]:")
_QUOTED = re.compile(r'"[^"\n]*"')


@dataclass(frozen=True)
class Piece:
    name: str  # collection/file[#tune]
    collection: str
    style: int
    mood: int
    tokens: np.ndarray  # int16
    n_notes: int
    meter: codec.Meter = codec.COMMON_TIME  # the piece's first time signature
    bar_origin: int = 0  # the tick (from the first note) of a bar line, within 0..bar_ticks-1

    @property
    def split(self) -> str:
        return split_of(self.name)


def split_of(name: str) -> str:
    """Deterministic 90 / 5 / 5 split by piece name."""
    bucket = int(hashlib.sha1(name.encode()).hexdigest()[:8], 16) % 100
    return "train" if bucket < 90 else "valid" if bucket < 95 else "test"


def corpus_root() -> Path:
    try:
        import music21
    except ImportError as err:
        raise DataError("the corpus comes with music21: pip install -e '.[train]'") from err
    return Path(music21.__file__).parent / "corpus"


def list_jobs(root: Path, collections: list[str] | None = None) -> list[tuple[str, str, str]]:
    """(kind, collection, path) for every file to parse; kind is 'abc' or 'score'."""
    jobs = []
    for collection in sorted(COLLECTION_STYLE):
        if collections and collection not in collections:
            continue
        folder = root / collection
        if not folder.is_dir():
            continue
        for path in sorted(folder.rglob("*")):
            if path.suffix == ".abc":
                jobs.append(("abc", collection, str(path)))
            elif path.suffix in SCORE_SUFFIXES:
                jobs.append(("score", collection, str(path)))
    return jobs


def _meter(numerator: int, denominator: int) -> codec.Meter:
    try:
        return codec.Meter(int(numerator), int(denominator))
    except ValueError:
        return codec.COMMON_TIME


def _notes_to_piece(
    name: str, collection: str, notes: list[codec.Note], meter: codec.Meter, bar_line: float
) -> Piece | None:
    """A piece from its notes; ``bar_line`` is the time (in beats, on the notes' clock) of any bar line."""
    notes = [n for n in notes if n.end > n.start and 0 <= n.pitch < 128]
    if len(notes) < 8:
        return None
    first = min(n.start for n in notes)
    shifted = [codec.Note(n.start - first, n.end - first, n.pitch) for n in notes]
    hist = pitch_class_histogram((n.pitch for n in shifted), (n.end - n.start for n in shifted))
    key = find_key(hist)
    mood = codec.MOODS.index(key.mode) if key else 0
    tokens = np.asarray(codec.encode_notes(shifted), dtype=np.int16)
    style = codec.STYLES.index(COLLECTION_STYLE[collection])
    origin = codec.beats_to_ticks(bar_line - first) % meter.bar_ticks
    return Piece(name, collection, style, mood, tokens, len(shifted), meter, origin)


def _parse_abc(collection: str, path: str) -> list[Piece]:
    import symusic

    text = Path(path).read_text(encoding="latin-1")
    # Quoted guitar chords and annotations: symusic would render chords as made-up accompaniment tracks.
    text = "\n".join(line if _HEADER.match(line) else _QUOTED.sub("", line) for line in text.splitlines())
    tunes = re.split(r"\n(?=X:)", "\n" + text)
    pieces = []
    for index, tune in enumerate(tunes):
        if "X:" not in tune:
            continue
        try:
            score = symusic.Score.from_abc(tune.strip() + "\n")
        except Exception:
            continue
        tpq = score.ticks_per_quarter
        signatures = score.time_signatures
        meter = _meter(signatures[0].numerator, signatures[0].denominator) if len(signatures) else codec.COMMON_TIME
        pickup = pickup_beats(tune)
        if pickup is None:
            continue  # where the bar lines fall is unknown: better no tune than one heard off the bar
        notes = [
            codec.Note(n.time / tpq, (n.time + n.duration) / tpq, n.pitch)
            for track in score.tracks
            if not track.is_drum
            for n in track.notes
        ]
        piece = _notes_to_piece(f"{collection}/{Path(path).name}#{index}", collection, notes, meter, pickup)
        if piece:
            pieces.append(piece)
    return pieces


def _parse_score(collection: str, path: str) -> list[Piece]:
    import music21

    try:
        parsed = music21.converter.parse(path)
    except Exception:
        return []
    scores = list(parsed.scores) if isinstance(parsed, music21.stream.Opus) else [parsed]
    pieces = []
    for index, score in enumerate(scores):
        try:
            notes = _score_notes(score)
            meter, bar_line = _score_meter(score)
        except Exception:
            continue
        suffix = f"#{index}" if len(scores) > 1 else ""
        piece = _notes_to_piece(f"{collection}/{Path(path).name}{suffix}", collection, notes, meter, bar_line)
        if piece:
            pieces.append(piece)
    return pieces


def _score_meter(score) -> tuple[codec.Meter, float]:
    """The first time signature of a music21 score and the offset of a bar line (after a pickup measure, if any)."""
    signatures = list(score.recurse().getElementsByClass("TimeSignature"))
    meter = _meter(signatures[0].numerator, signatures[0].denominator) if signatures else codec.COMMON_TIME
    parts = list(score.parts) or [score]
    measures = list(parts[0].getElementsByClass("Measure"))
    bar_line = float(measures[1].offset) if len(measures) > 1 else 0.0
    return meter, bar_line


def _score_notes(score) -> list[codec.Note]:
    """Notes of a music21 score, measure by measure (linear time, unlike flatten()), with ties merged."""
    notes: list[codec.Note] = []
    parts = list(score.parts) or [score]
    for part in parts:
        open_ties: dict[int, int] = {}  # pitch -> index in notes of the note a tie continues
        measures = list(part.getElementsByClass("Measure")) or [part]
        for measure in measures:
            base = float(measure.offset) if measure is not part else 0.0
            for element in measure.recurse().notes:
                length = float(element.duration.quarterLength)
                if length <= 0:
                    continue
                site = element.activeSite
                start = base + float(element.offset) + (float(site.offset) if site is not measure else 0.0)
                tie = element.tie.type if element.tie is not None else None
                for pitch in element.pitches:
                    midi = int(pitch.midi)
                    if tie in ("stop", "continue") and midi in open_ties:
                        i = open_ties[midi]
                        notes[i] = codec.Note(notes[i].start, start + length, midi)
                        if tie == "stop":
                            del open_ties[midi]
                        continue
                    notes.append(codec.Note(start, start + length, midi))
                    if tie in ("start", "continue"):
                        open_ties[midi] = len(notes) - 1
    return notes


def _parse_job(job: tuple[str, str, str]) -> list[Piece]:
    kind, collection, path = job
    # symusic and music21 print warnings about the scores on stderr; silence them in the worker.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    return _parse_abc(collection, path) if kind == "abc" else _parse_score(collection, path)


def _job_cache_path(cache_dir: Path, job: tuple[str, str, str]) -> Path:
    stat = os.stat(job[2])
    key = f"{PARSER_VERSION}|{codec.vocabulary_hash()}|{job}|{stat.st_size}|{stat.st_mtime_ns}"
    return cache_dir / f"{hashlib.sha1(key.encode()).hexdigest()}.pkl"


def _parse_and_cache(args: tuple[tuple[str, str, str], Path]) -> list[Piece]:
    job, path = args
    pieces = _parse_job(job)
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(pickle.dumps(pieces))
    tmp.replace(path)
    return pieces


def parse_corpus(
    jobs: list[tuple[str, str, str]], cache_dir: Path, workers: int = 2, progress: bool = True
) -> Iterator[list[Piece]]:
    """Parse every job (each file once: results are cached per file in ``cache_dir``, so a rerun resumes)."""

    cache_dir.mkdir(parents=True, exist_ok=True)
    todo = []
    done = 0
    for job in jobs:
        path = _job_cache_path(cache_dir, job)
        if path.exists():
            done += 1
            yield pickle.loads(path.read_bytes())
        else:
            todo.append((job, path))
    if done:
        print(f"{done} files taken from the cache in {cache_dir}", flush=True)
    # Big files first, so the slowest work does not come last.
    todo.sort(key=lambda item: -os.path.getsize(item[0][2]))
    with ProcessPoolExecutor(max_workers=workers) as pool:
        results = pool.map(_parse_and_cache, todo, chunksize=1)
        yield from track(results, "parsing corpus", len(todo), "files") if progress else results


def save_cache(pieces: list[Piece], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    pieces = sorted(pieces, key=lambda p: p.name)
    lengths = np.array([len(p.tokens) for p in pieces], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    tmp = path.with_suffix(".tmp.npz")
    np.savez_compressed(
        tmp,
        tokens=np.concatenate([p.tokens for p in pieces]).astype(np.int16),
        offsets=offsets,
        style=np.array([p.style for p in pieces], dtype=np.int8),
        mood=np.array([p.mood for p in pieces], dtype=np.int8),
        n_notes=np.array([p.n_notes for p in pieces], dtype=np.int64),
        meter=np.array([(p.meter.numerator, p.meter.denominator) for p in pieces], dtype=np.int16).reshape(-1, 2),
        bar_origin=np.array([p.bar_origin for p in pieces], dtype=np.int32),
        meta=np.array(
            json.dumps(
                {
                    "version": CACHE_VERSION,
                    "vocabulary": codec.vocabulary_hash(),
                    "names": [p.name for p in pieces],
                    "collections": [p.collection for p in pieces],
                }
            )
        ),
    )
    tmp.replace(path)


def load_cache(path: Path) -> list[Piece]:
    if not path.exists():
        raise DataError(f"no prepared corpus at {path}; run `python -m cocomposer.training prepare` first")
    data = np.load(path)
    meta = json.loads(str(data["meta"]))
    if meta.get("version") != CACHE_VERSION or meta.get("vocabulary") != codec.vocabulary_hash():
        raise DataError(f"{path} was prepared for another codec version; run `prepare --force` to rebuild it")
    offsets = data["offsets"]
    tokens = data["tokens"]
    meters = data["meter"]
    return [
        Piece(
            name,
            collection,
            int(style),
            int(mood),
            tokens[offsets[i] : offsets[i + 1]],
            int(n),
            codec.Meter(int(meters[i, 0]), int(meters[i, 1])),
            int(origin),
        )
        for i, (name, collection, style, mood, n, origin) in enumerate(
            zip(
                meta["names"],
                meta["collections"],
                data["style"],
                data["mood"],
                data["n_notes"],
                data["bar_origin"],
                strict=True,
            )
        )
    ]


def summarize(pieces: list[Piece]) -> dict[str, dict[str, int]]:
    """Pieces, notes and tokens per collection (for the model card)."""
    table: dict[str, dict[str, int]] = {}
    for p in pieces:
        row = table.setdefault(p.collection, {"pieces": 0, "notes": 0, "tokens": 0, "style": p.style})
        row["pieces"] += 1
        row["notes"] += p.n_notes
        row["tokens"] += len(p.tokens)
    return table
