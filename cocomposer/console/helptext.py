"""Help text a user can act on: every flag says what it does, its default and its choices.

All of cocomposer's parsers use :class:`HelpFormatter`; :func:`flags_lacking_help` walks a parser and its
sub-commands and names every flag that has no help (the CLI tests fail on any).
"""

from __future__ import annotations

import argparse
from typing import NoReturn

_NO_DEFAULT = (None, False, argparse.SUPPRESS)


class CommandParser(argparse.ArgumentParser):
    """argparse in cocomposer's voice: a usage error is one "cocomposer:" line and exit status 2 (sub-commands
    made by `add_subparsers` inherit it)."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"cocomposer: {message}; see `{self.prog} --help`\n")


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Appends "(default: X)" and "(choices: ...)" to a flag's help unless the help already says them."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        if text == argparse.SUPPRESS:
            return text
        shows_choices = "%(choices)" in text or all(str(choice) in text for choice in action.choices or ())
        if action.choices is not None and not shows_choices:
            text += " (choices: %(choices)s)"
        if _has_default(action) and "%(default)" not in text and "default" not in text:
            text += " (default: %(default)s)"
        return text


def _has_default(action: argparse.Action) -> bool:
    if isinstance(action, (argparse._HelpAction, argparse._VersionAction)):
        return False
    return action.option_strings != [] and action.default not in _NO_DEFAULT and action.default != []


def _subparsers(parser: argparse.ArgumentParser) -> list[tuple[str, argparse.ArgumentParser]]:
    found = [(parser.prog, parser)]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in dict.fromkeys(action.choices.values()):  # aliases map to the same parser
                found.extend(_subparsers(child))
    return found


def flags_lacking_help(parser: argparse.ArgumentParser) -> list[str]:
    """Every argument of ``parser`` and its sub-commands whose help is missing, or does not show its default or
    its choices (as the formatter renders it), as "prog: --flag: what is missing"."""
    problems = []
    for prog, sub in _subparsers(parser):
        formatter = sub._get_formatter()
        for action in sub._actions:
            if isinstance(action, (argparse._HelpAction, argparse._VersionAction, argparse._SubParsersAction)):
                continue
            if action.help == argparse.SUPPRESS:
                continue
            name = "/".join(action.option_strings) or action.dest
            if not action.help:
                problems.append(f"{prog}: {name}: no help")
                continue
            shown = formatter._expand_help(action)
            if _has_default(action) and "default" not in shown:
                problems.append(f"{prog}: {name}: help does not show the default {action.default!r}")
            if action.choices is not None and not all(str(c) in shown for c in action.choices):
                problems.append(f"{prog}: {name}: help does not show the choices")
    return problems
