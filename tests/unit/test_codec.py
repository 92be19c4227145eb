"""The codec: round trips on the grid, streaming equals batch, and the edges live input brings."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cocomposer.music import codec

TPB = codec.TICKS_PER_BEAT


@st.composite
def grid_notes(draw: st.DrawFn) -> list[codec.Note]:
    """Notes on the grid; notes of one pitch never overlap (a key cannot sound twice)."""
    notes = []
    for pitch in draw(st.lists(st.integers(0, 127), min_size=1, max_size=6, unique=True)):
        t = draw(st.integers(0, 200))
        for _ in range(draw(st.integers(1, 6))):
            length = draw(st.integers(1, 120))
            notes.append(codec.Note(t / TPB, (t + length) / TPB, pitch))
            t += length + draw(st.integers(0, 60))
    return notes


@given(grid_notes())
@settings(max_examples=200, deadline=None)
def test_round_trip(notes: list[codec.Note]) -> None:
    tokens = codec.encode_notes(notes)
    assert all(0 < t < codec.VOCAB_SIZE for t in tokens)
    decoded = codec.decode(tokens)
    assert [(n.start, n.end, n.pitch) for n in decoded] == sorted((n.start, n.end, n.pitch) for n in notes)


def _messages(notes: list[codec.Note]) -> list[tuple[int, int, int]]:
    """Live messages (tick, kind 0=off / 1=on, pitch) in the order a player's instrument would send them."""
    events = [(codec.beats_to_ticks(n.start), 1, n.pitch) for n in notes]
    events += [(codec.beats_to_ticks(n.end), 0, n.pitch) for n in notes]
    return sorted(events)


@given(grid_notes(), st.integers(0, 500))
@settings(max_examples=200, deadline=None)
def test_streaming_equals_batch(notes: list[codec.Note], start_tick: int) -> None:
    shifted = [codec.Note(n.start + start_tick / TPB, n.end + start_tick / TPB, n.pitch) for n in notes]
    encoder = codec.StreamEncoder(start_tick)
    streamed: list[int] = []
    for tick, kind, pitch in _messages(shifted):
        beats = tick / TPB
        streamed += encoder.note_on(pitch, beats) if kind else encoder.note_off(pitch, beats)
    assert streamed == codec.encode_notes(shifted, start_tick=start_tick)
    assert not encoder.sounding


@given(grid_notes(), st.floats(-0.49, 0.49))
@settings(max_examples=100, deadline=None)
def test_off_grid_timestamps_quantise_to_the_same_tokens(notes: list[codec.Note], jitter: float) -> None:
    encoder = codec.StreamEncoder()
    streamed: list[int] = []
    for tick, kind, pitch in _messages(notes):
        beats = (tick + jitter) / TPB
        streamed += encoder.note_on(pitch, beats) if kind else encoder.note_off(pitch, beats)
    assert streamed == codec.encode_notes(notes)


def test_long_gaps_repeat_the_longest_shift() -> None:
    tokens = codec.encode_notes([codec.Note(0, 1, 60), codec.Note(30, 31, 62)])
    names = [codec.token_name(t) for t in tokens]
    assert names == ["ON_60", "SHIFT_12", "OFF_60"] + ["SHIFT_48"] * 7 + ["SHIFT_12", "ON_62", "SHIFT_12", "OFF_62"]


def test_offs_come_before_ons_at_one_instant() -> None:
    tokens = codec.encode_notes([codec.Note(0, 1, 64), codec.Note(1, 2, 64), codec.Note(1, 2, 60)])
    names = [codec.token_name(t) for t in tokens]
    assert names[:5] == ["ON_64", "SHIFT_12", "OFF_64", "ON_60", "ON_64"]


def test_stream_ignores_unmatched_offs_and_retriggers() -> None:
    enc = codec.StreamEncoder()
    assert enc.note_off(60, 0.0) == []
    assert [codec.token_name(t) for t in enc.note_on(60, 0.0)] == ["ON_60"]
    # Same key again a beat later without a release: close, then open again.
    assert [codec.token_name(t) for t in enc.note_on(60, 1.0)] == ["SHIFT_12", "OFF_60", "ON_60"]
    assert [codec.token_name(t) for t in enc.note_on(61, 1.0)] == ["ON_61"]
    assert enc.note_on(200, 1.0) == []  # out of range: ignored


def test_zero_length_note_is_held_back_one_tick() -> None:
    enc = codec.StreamEncoder()
    out = enc.note_on(60, 0.0) + enc.note_off(60, 0.01)
    assert [codec.token_name(t) for t in out] == ["ON_60"]
    out = enc.note_on(62, 2.0)
    assert [codec.token_name(t) for t in out] == ["SHIFT_1", "OFF_60", "SHIFT_23", "ON_62"]
    assert codec.encode_notes([codec.Note(0, 0, 60), codec.Note(2, 3, 62)])[:4] == [
        codec.on_token(60),
        codec.shift_token(1),
        codec.off_token(60),
        codec.shift_token(23),
    ]


def test_phases_and_transpose() -> None:
    tokens = [codec.on_token(60), codec.shift_token(3), codec.off_token(60), codec.shift_token(12)]
    assert codec.phases(tokens) == [0, 3, 3, 3]
    assert codec.transpose(tokens, 2)[0] == codec.on_token(62)


def test_vocabulary_hash_covers_what_a_model_must_agree_on(monkeypatch: pytest.MonkeyPatch) -> None:
    shipped = codec.vocabulary_hash()
    assert shipped == "38a4fda32a73ab94", "the vocabulary changed: the shipped model no longer matches it"
    for name, value in (("TICKS_PER_BEAT", 24), ("STYLES", ("folk",)), ("METERS", ("4/4",)), ("MAX_BAR_TICKS", 48)):
        with monkeypatch.context() as m:
            m.setattr(codec, name, value)
            assert codec.vocabulary_hash() != shipped, f"{name} is part of the hash"
