"""`python -m cocomposer.training prepare|train|export|eval`: the model pipeline's command line."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from cocomposer.console.helptext import CommandParser, HelpFormatter
from cocomposer.errors import CocomposerError

DEFAULT_CACHE = Path("data/corpus.npz")


def _prepare(args: argparse.Namespace) -> None:
    from cocomposer.training import corpus

    if args.cache.exists() and not args.force:
        pieces = corpus.load_cache(args.cache)
        print(f"{args.cache} already holds {len(pieces)} pieces (use --force to rebuild)")
        return
    jobs = corpus.list_jobs(corpus.corpus_root(), args.collections)
    if args.limit:
        jobs = jobs[: args.limit]
    start = time.monotonic()
    cache_dir = args.cache.parent / (args.cache.stem + "-files")
    batches = list(corpus.parse_corpus(jobs, cache_dir, workers=args.workers))
    pieces = [p for batch in batches if batch for p in batch]
    skipped = sum(1 for batch in batches if not batch)
    if not pieces:
        raise CocomposerError("no pieces could be parsed from the corpus")
    corpus.save_cache(pieces, args.cache)
    table = corpus.summarize(pieces)
    print(f"{len(pieces)} pieces from {len(jobs)} files in {time.monotonic() - start:.0f} s -> {args.cache}")
    if skipped:
        print(f"{skipped} files gave no piece (unparseable, fewer than 8 notes, or an ABC tune with unreadable bars)")
    for name, row in sorted(table.items()):
        print(f"  {name:20s} {row['pieces']:6d} pieces {row['notes']:9d} notes {row['tokens']:9d} tokens")


def build_parser(prog: str = "python -m cocomposer.training") -> argparse.ArgumentParser:
    """The pipeline's parser (``prog``: how the user called it, e.g. "cocomposer" for `cocomposer eval`)."""
    from cocomposer.training import cli_train

    parser = CommandParser(prog=prog, description=__doc__, formatter_class=HelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("prepare", help="parse the music21 corpus into a token cache", formatter_class=HelpFormatter)
    p.add_argument("--cache", type=Path, default=DEFAULT_CACHE, help="the token cache to write")
    p.add_argument("--workers", type=int, default=2, help="processes parsing files at once")
    p.add_argument("--collections", nargs="*", help="only these corpus folders (default: all known)")
    p.add_argument("--limit", type=int, default=0, help="parse only the first N files, for smoke tests (0: all)")
    p.add_argument("--force", action="store_true", help="rebuild the cache even if it exists")
    p.set_defaults(func=_prepare)
    cli_train.add_commands(sub)
    return parser


def main(argv: list[str] | None = None, prog: str = "python -m cocomposer.training") -> int:
    args = build_parser(prog).parse_args(argv)
    try:
        args.func(args)
    except CocomposerError as err:
        print(f"cocomposer: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
