"""Bad input at the command line: one clear "cocomposer:" paragraph and exit status 2, never a traceback; and every
flag explains itself in --help (its default and choices)."""

from __future__ import annotations

import pytest

from cocomposer.app.cli import build_parser
from cocomposer.bench.musicality import build_parser as musical_parser
from cocomposer.bench.runner import build_parser as bench_parser
from cocomposer.console.helptext import flags_lacking_help
from cocomposer.engine.settings import Settings
from cocomposer.errors import ConfigError
from cocomposer.training.__main__ import build_parser as training_parser

try:
    from tests.app.test_cli import DEMO_PHRASE, assert_clear_error, cocomposer
except ImportError:  # pytest's rootdir-less import
    from test_cli import DEMO_PHRASE, assert_clear_error, cocomposer


@pytest.mark.parametrize(
    "parser", [build_parser, training_parser, musical_parser, bench_parser], ids=["cli", "training", "musical", "bench"]
)
def test_every_flag_has_help_showing_its_default_and_choices(parser) -> None:
    assert flags_lacking_help(parser()) == []


def test_the_help_walk_finds_a_flag_without_help() -> None:
    parser = build_parser()
    parser._subparsers._group_actions[0].choices["continue"].add_argument("--silent-flag", default=3)
    assert flags_lacking_help(parser) == ["cocomposer continue: --silent-flag: no help"]


def test_continue_help_shows_defaults_and_choices() -> None:
    result = cocomposer("continue", "--help")
    assert result.returncode == 0
    assert "(default: 4)" in result.stdout and "(default: folk)" in result.stdout, result.stdout
    assert "{call,wide}" in result.stdout and "celtic" in result.stdout, result.stdout


@pytest.mark.parametrize("bars", ["nan", "0", "-2", "10000", "inf", "four"])
def test_continue_refuses_bars_it_cannot_play(tmp_path, bars: str) -> None:
    output = tmp_path / "out.mid"
    result = cocomposer("continue", str(DEMO_PHRASE), "-o", str(output), "--bars", bars)
    assert_clear_error(result, "bar")
    assert not output.exists()


@pytest.mark.parametrize(
    "flags, needle",
    [
        (["--max-phrase-bars", "0"], "max phrase length"),
        (["--max-phrase-bars", "-3"], "max phrase length"),
        (["--max-phrase-bars", "nan"], "finite"),
        (["--trigger-cc", "500"], "trigger CC"),
        (["--phrase-end-cc", "300"], "phrase-end CC"),
        (["--panic-cc", "-1"], "panic CC"),
        (["--cc", "mode=64", "--panic-cc", "64"], "CC 64 cannot be both"),
        (["--cc", "mode=70", "--phrase-end-cc", "70"], "CC 70 cannot be both"),
        (["--panic-cc", "71", "--phrase-end-cc", "71"], "CC 71 cannot be both"),
        (["--in-channel", "3.7"], "whole number"),
        (["--output-offset", "nan"], "--output-offset"),
        (["--sync", "karaoke"], "invalid choice"),
    ],
)
def test_run_refuses_bad_flags_before_opening_anything(flags: list[str], needle: str) -> None:
    assert_clear_error(cocomposer("run", "--api", "jack", *flags, timeout=60), needle)


@pytest.mark.parametrize(
    "name, value", [("in_channel", "3.7"), ("beats_per_bar", "4.5"), ("max_phrase_bars", "nan"), ("bpm", "inf")]
)
def test_a_live_setting_is_never_silently_rounded_or_infinite(name: str, value: str) -> None:
    with pytest.raises(ConfigError, match=name):
        Settings().with_value(name, value)


def test_whole_numbers_written_as_decimals_are_taken() -> None:
    assert Settings().with_value("in_channel", "3.0").in_channel == 3
    assert Settings().with_value("panic_cc", "off").panic_cc is None
