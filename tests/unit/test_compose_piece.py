"""Whole pieces (model/compose.py) from the shipped model: the form's sections, repeats that repeat, the close."""

from __future__ import annotations

import pytest

from cocomposer.errors import ConfigError
from cocomposer.model.compose import Section, compose, plan_form
from cocomposer.model.runtime import OnnxModel
from cocomposer.model.sampling import Controls
from cocomposer.music import codec, dialogue
from cocomposer.music.keys import parse_key

CONTROLS = Controls(low=48, high=84, mimic=1.0)


@pytest.fixture(scope="module")
def model() -> OnnxModel:
    return OnnxModel.load()


def bar_notes(notes: list[codec.Note], first: int, count: int, bar: float = 4.0) -> list[tuple[int, int, int]]:
    """The notes starting in bars ``first`` .. ``first + count - 1``, timed in ticks from the first of them."""
    start, end = first * bar, (first + count) * bar
    return [
        (codec.beats_to_ticks(n.start - start), codec.beats_to_ticks(n.end - start), n.pitch)
        for n in notes
        if start - 1e-9 <= n.start < end - 1e-9
    ]


def test_forms_split_the_bars_into_their_sections() -> None:
    assert plan_form("AABA", 16) == [
        Section("A", 0, 4),
        Section("A", 4, 4, 0),
        Section("B", 8, 4),
        Section("A", 12, 4, 0),
    ]
    assert [(s.label, s.bars, s.repeat_of) for s in plan_form("AABA", 18)] == [
        ("A", 4, None), ("A", 4, 0), ("B", 6, None), ("A", 4, 0)  # the bars left over go to the B
    ]  # fmt: skip
    assert [(s.label, s.bars, s.repeat_of) for s in plan_form("verse-chorus", 10)] == [
        ("verse", 2, None), ("chorus", 2, None), ("verse", 2, 0), ("chorus", 2, 1), ("outro", 2, None)
    ]  # fmt: skip
    assert [(s.label, s.bars, s.repeat_of) for s in plan_form("through", 14)] == [
        ("A", 4, None), ("B", 4, None), ("C", 6, None)
    ]  # fmt: skip
    with pytest.raises(ConfigError, match="at least 4 bars"):
        plan_form("AABA", 3)
    with pytest.raises(ConfigError, match="unknown form"):
        plan_form("rondo", 16)


def test_aaba_repeats_its_a_note_for_note_and_closes_its_last_bar_anew(model: OnnxModel) -> None:
    piece = compose(model, plan_form("AABA", 16), CONTROLS, "folk", "major", seed=5)
    first_a = bar_notes(piece.notes, 0, 4)
    assert first_a, "the first A holds notes"
    assert bar_notes(piece.notes, 4, 4) == first_a  # the second A: the first, note for note
    assert bar_notes(piece.notes, 12, 3) == bar_notes(piece.notes, 0, 3)  # the last A, but for its closing bar
    assert bar_notes(piece.notes, 8, 4) != first_a  # the B is new music
    assert piece.kept_bars == {1: 4, 3: 3}


def test_vary_samples_the_end_of_each_repeat_afresh(model: OnnxModel) -> None:
    piece = compose(model, plan_form("verse-chorus", 16), CONTROLS, "folk", "minor", seed=2, vary=0.5)
    assert piece.kept_bars == {2: 2, 3: 2}
    assert bar_notes(piece.notes, 8, 2) == bar_notes(piece.notes, 0, 2)  # the verse's first half repeats
    assert bar_notes(piece.notes, 10, 2) != bar_notes(piece.notes, 2, 2)  # its second half is sampled anew
    assert bar_notes(piece.notes, 12, 2) == bar_notes(piece.notes, 4, 2)  # and so for the chorus


@pytest.mark.parametrize("form", ["AABA", "verse-chorus", "through"])
@pytest.mark.parametrize("mood", ["major", "minor"])
def test_every_piece_ends_on_the_tonic_chord_in_its_last_bar(model: OnnxModel, form: str, mood: str) -> None:
    for seed in range(3):
        piece = compose(model, plan_form(form, 12), CONTROLS, "folk", mood, seed)
        assert piece.key is not None and piece.key.mode == mood
        last = max(n.start for n in piece.notes)
        assert last >= 11 * 4, f"seed {seed}: the last bar holds no note"
        closing = {n.pitch % 12 for n in piece.notes if n.start == last}
        assert closing <= dialogue.tonic_triad(piece.key), (seed, closing, piece.key)
        assert max(n.end for n in piece.notes) <= 12 * 4 + 1e-9  # nothing rings past the final bar line


def test_a_given_key_locks_every_note_and_sets_the_close(model: OnnxModel) -> None:
    key = parse_key("D minor")
    wild = CONTROLS.with_(temperature=1.5, mood_strength=0.0)  # notes outside the key come up unless locked out
    piece = compose(model, plan_form("through", 16), wild, "celtic", "minor", seed=0, key=key)
    assert piece.key == key
    assert {n.pitch % 12 for n in piece.notes} <= key.pitch_classes()
    assert all(48 <= n.pitch <= 84 for n in piece.notes)


def test_the_same_seed_gives_the_same_piece_and_another_seed_another(model: OnnxModel) -> None:
    sections = plan_form("AABA", 8)
    one = compose(model, sections, CONTROLS, "folk", "major", seed=9)
    assert compose(model, sections, CONTROLS, "folk", "major", seed=9).notes == one.notes
    assert compose(model, sections, CONTROLS, "folk", "major", seed=10).notes != one.notes


def test_a_three_four_piece_keeps_its_bars(model: OnnxModel) -> None:
    meter = codec.Meter(3, 4)
    piece = compose(model, plan_form("AABA", 8), CONTROLS, "folk", "major", seed=4, meter=meter)
    assert bar_notes(piece.notes, 2, 2, bar=3.0) == bar_notes(piece.notes, 0, 2, bar=3.0)
    assert max(n.end for n in piece.notes) <= 8 * 3.0 + 1e-9


def test_bad_controls_are_refused(model: OnnxModel) -> None:
    with pytest.raises(ConfigError, match="vary"):
        compose(model, plan_form("AABA", 8), CONTROLS, "folk", "major", 0, vary=1.5)
    with pytest.raises(ConfigError, match="mood"):
        compose(model, plan_form("AABA", 8), CONTROLS, "folk", "auto", 0)
