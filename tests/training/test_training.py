"""Training smoke test: a few pieces, a few steps, export, parity with torch, load, one continuation."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="the train extra (torch) is not installed")
pytest.importorskip("music21", reason="the train extra (music21) is not installed")
pytest.importorskip("symusic", reason="the train extra (symusic) is not installed")

from cocomposer.model.continuation import continue_from, prime  # noqa: E402
from cocomposer.model.runtime import OnnxModel  # noqa: E402
from cocomposer.model.sampling import Controls  # noqa: E402
from cocomposer.music import codec  # noqa: E402
from cocomposer.training.__main__ import main as training_main  # noqa: E402
from cocomposer.training.export import GOLDEN_METER, golden_inputs, torch_step_logits  # noqa: E402
from cocomposer.training.train import load_net  # noqa: E402

pytestmark = pytest.mark.train
SMALL_NET = ["--batch", "8", "--length", "64", "--embed", "32", "--hidden", "64", "--threads", "1"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("smoke")
    cache = root / "corpus.npz"
    assert (
        training_main(
            ["prepare", "--cache", str(cache), "--collections", "airdsAirs", "bach", "--limit", "30", "--workers", "2"]
        )
        == 0
    )
    train = ["train", "--cache", str(cache), "--run", str(root / "run"), "--steps", "30", "--eval-every", "15"]
    assert training_main(train + SMALL_NET) == 0
    export = ["export", "--checkpoint", str(root / "run" / "best.pt")]
    assert training_main([*export, "--fp32", "--out", str(root / "smoke.onnx")]) == 0
    assert training_main([*export, "--out", str(root / "smoke-int8.onnx")]) == 0
    return root


def test_prepare_labels_every_piece(trained: Path) -> None:
    from cocomposer.training.corpus import load_cache

    pieces = load_cache(trained / "corpus.npz")
    assert {codec.STYLES[p.style] for p in pieces} == {"celtic", "chorale"}
    assert {p.split for p in pieces} <= {"train", "valid", "test"}
    assert all(len(p.tokens) > 0 and p.n_notes >= 8 for p in pieces)


def test_training_resumes_from_its_checkpoint(
    trained: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = tmp_path / "run"
    shutil.copytree(trained / "run", run)
    assert "valid NLL" in (run / "train.log").read_text()
    train = ["train", "--cache", str(trained / "corpus.npz"), "--run", str(run), "--steps", "35"]
    assert training_main(train + SMALL_NET) == 0
    assert "training: 35/35 steps (100%) in" in capsys.readouterr().err, "progress counts from the resumed step"
    log = (run / "train.log").read_text()
    assert "resumed from" in log and "at step 30" in log
    assert "step 35 valid NLL" in log


def test_onnx_matches_torch_over_500_steps(trained: Path) -> None:
    net, _ = load_net(trained / "run" / "best.pt")
    inputs = golden_inputs(n=500, seed=3)
    expected = torch_step_logits(net, inputs)
    model = OnnxModel.load(trained / "smoke.onnx")
    model.set_strength(1.0, 1.0)  # as in training
    model.set_style(int(inputs["style"][0]))
    model.set_mood(int(inputs["mood"][0]))
    model.set_meter(GOLDEN_METER)  # the bar positions of the goldens count 3/4 bars from tick 0
    got = np.stack([model.step(int(t)).copy() for t in inputs["tokens"]])
    assert got.shape == expected.shape == (500, codec.VOCAB_SIZE)
    assert np.abs(got - expected).max() <= 1e-4
    model.reset()
    model.set_meter(codec.COMMON_TIME)  # the same tokens heard in 4/4 are another input: the meter is really fed
    heard_in_four = np.stack([model.step(int(t)).copy() for t in inputs["tokens"]])
    assert np.abs(heard_in_four - expected).max() > 1e-3


def test_exported_model_continues_a_phrase(trained: Path) -> None:
    model = OnnxModel.load(trained / "smoke.onnx")
    encoder = prime(model, [codec.Note(0, 1, 60), codec.Note(1, 2, 62), codec.Note(2, 4, 64)])
    answer = continue_from(model, encoder, Controls(low=48, high=84), np.random.default_rng(1), 8.0, start_beat=4.0)
    assert answer.end_tick - answer.start_tick == 8 * codec.TICKS_PER_BEAT
    assert all(48 <= n.pitch <= 84 and 4.0 <= n.start < n.end <= 12.0 for n in answer.notes)
    assert not encoder.sounding


def test_evaluation_reports_every_measure(trained: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import json

    out = trained / "eval.json"
    assert (
        training_main(
            [
                "eval",
                "--cache",
                str(trained / "corpus.npz"),
                "--model",
                str(trained / "smoke.onnx"),
                "--out",
                str(out),
                "--quick",
                "--prompts",
                "4",
            ]
        )
        == 0
    )
    shown = capsys.readouterr().err
    assert "Markov baselines: 14/14 candidates (100%) in" in shown and "style control: 4/4 prompts" in shown, shown
    report = json.loads(out.read_text())
    nll = report["nll_per_note"]
    assert nll["unigram"] > nll["markov"] > 0 and nll["model"] > 0
    controls = report["controls"]
    assert set(controls["pitch_entropy_bits"]) == {"0.5", "1.0", "1.5"}
    assert 0.0 <= controls["style_accuracy"] <= 1.0 and 0.0 <= controls["mood_accuracy"] <= 1.0
    assert len(controls["style_confusion"]["rows_intended_cols_classified"]) == len(codec.STYLES)


def test_the_default_export_is_int8_and_checks_itself(trained: Path) -> None:
    fp32, int8 = trained / "smoke.onnx", trained / "smoke-int8.onnx"
    sidecar = json.loads(int8.with_suffix(".json").read_text())
    assert sidecar["weights"].startswith("int8") and sidecar["parity_with_torch"] <= 1e-4
    assert not (trained / "smoke-int8.fp32.onnx").exists(), "the float32 step file is not left behind"
    assert int8.stat().st_size < fp32.stat().st_size / 2
    golden = np.load(int8.with_name(int8.stem + ".golden.npz"))
    model = OnnxModel.load(int8)
    model.set_strength(1.0, 1.0)
    model.set_style(int(golden["style"][0]))
    model.set_mood(int(golden["mood"][0]))
    model.set_meter(GOLDEN_METER)
    got = np.stack([model.step(int(t)).copy() for t in golden["tokens"]])
    assert np.abs(got - golden["expected_logits"]).max() <= sidecar["golden_tolerance"]
    # int8 is close to torch, not equal: the same likeliest next token almost everywhere
    assert (got.argmax(1) == golden["torch_logits"].argmax(1)).mean() >= 0.9


def test_mode_switch_moves_the_third_and_sixth_and_keeps_the_stream_well_formed() -> None:
    from cocomposer.training.dataset import piece_tonic, switch_mode

    # C major: C E G, then A and E over a held Eb (an E moved to Eb would collide with it, so it stays)
    notes = [codec.Note(0, 1, 60), codec.Note(0, 2, 64), codec.Note(1, 2, 67), codec.Note(2, 3, 69)]
    notes += [codec.Note(2, 4, 63), codec.Note(3, 4, 64)]
    tokens = np.array(codec.encode_notes(notes))
    assert piece_tonic(tokens, codec.MOODS.index("major")) == 0
    whole = codec.decode(switch_mode(tokens, 0, codec.MOODS.index("major"), 0).tolist())
    assert [n.pitch for n in whole] == [60, 63, 67, 68, 63, 64]
    start = next(i for i, t in enumerate(tokens) if t == codec.on_token(67))  # switch from G on: E ends as E
    later = codec.decode(switch_mode(tokens, 0, codec.MOODS.index("major"), start).tolist())
    assert [n.pitch for n in later] == [60, 64, 67, 68, 63, 64]
    assert [(n.start, n.end) for n in later] == [(n.start, n.end) for n in notes]
    minor = [codec.Note(0, 1, 57), codec.Note(1, 2, 60), codec.Note(2, 3, 65), codec.Note(3, 4, 67)]  # A minor
    up = codec.decode(switch_mode(np.array(codec.encode_notes(minor)), 9, codec.MOODS.index("minor"), 0).tolist())
    assert [n.pitch for n in up] == [57, 61, 66, 68]


def test_switched_windows_carry_the_other_label(trained: Path) -> None:
    from cocomposer.training.corpus import load_cache
    from cocomposer.training.dataset import Split

    split = Split.from_pieces(load_cache(trained / "corpus.npz"))
    plain = split.sample(np.random.default_rng(0), 32, 64, augment=False)
    switched = split.sample(np.random.default_rng(0), 32, 64, augment=False, mode_switch=1.0)
    assert (switched["mood"] == 1 - plain["mood"]).all()
    assert (switched["tokens"] != plain["tokens"]).any()
    for row in switched["tokens"]:  # every note-off still closes a sounding note of the window, or one before it
        sounding: set[int] = set()
        for token in row:
            if codec.is_on(int(token)):
                assert codec.token_pitch(int(token)) not in sounding
                sounding.add(codec.token_pitch(int(token)))
            elif codec.is_off(int(token)):
                sounding.discard(codec.token_pitch(int(token)))


def test_fine_tuning_starts_from_a_checkpoint_with_mode_switching(trained: Path, tmp_path: Path) -> None:
    run = tmp_path / "tune"
    tune = ["train", "--cache", str(trained / "corpus.npz"), "--run", str(run), "--steps", "4", "--eval-every", "2"]
    assert training_main([*tune, "--init", str(trained / "run" / "best.pt"), "--mode-switch", "0.5"]) == 0
    log = (run / "train.log").read_text()
    assert "starting from the weights of" in log and "step 4 valid NLL" in log
    net, state = load_net(run / "last.pt")
    assert state["train_config"]["mode_switch"] == 0.5
    assert net.config == load_net(trained / "run" / "best.pt")[0].config  # the checkpoint's shape, not the default
    assert state["init"]["checkpoint"] == str(trained / "run" / "best.pt") and state["init"]["step"] == 30
    more = ["train", "--cache", str(trained / "corpus.npz"), "--run", str(run), "--steps", "6", "--eval-every", "2"]
    assert training_main(more) == 0  # resumes the fine-tune: its own shape and history, not the flags' defaults
    net, state = load_net(run / "last.pt")
    assert state["step"] == 6 and state["init"]["step"] == 30
    assert "resumed from" in (run / "train.log").read_text()


def test_switched_and_transposed_windows_stay_inside_the_keyboard() -> None:
    from cocomposer.training.corpus import Piece
    from cocomposer.training.dataset import Split

    # A minor at the top of the MIDI range: its F (125) becomes F# (126) when switched to major, so transposition
    # may lift the window by one semitone at most
    pitches = [117, 120, 124, 125, 117, 120, 122, 124, 125, 124] * 6
    notes = [codec.Note(i / 2, i / 2 + 0.5, p) for i, p in enumerate(pitches)]
    tokens = np.array(codec.encode_notes(notes), dtype=np.int16)
    split = Split.from_pieces([Piece("test/top", "test", 0, codec.MOODS.index("minor"), tokens, len(notes))])
    assert split.tonic[0] == 9
    for seed in range(100):
        batch = split.sample(np.random.default_rng(seed), 4, 40, mode_switch=1.0)
        played = [int(t) for t in batch["tokens"][batch["mask"]]]
        assert all(0 < t < codec.VOCAB_SIZE for t in played)
        assert max(codec.token_pitch(t) for t in played if codec.is_on(t)) <= 127
        assert not any(codec.is_off(t) and codec.token_pitch(t) < 100 for t in played), "no note-on spilled into offs"


def test_prepare_reads_each_pieces_meter_and_bar_lines(trained: Path) -> None:
    from cocomposer.training.corpus import load_cache

    pieces = load_cache(trained / "corpus.npz")
    meters = {str(p.meter) for p in pieces}
    assert {"3/4", "6/8"} <= meters, meters  # airdsAirs holds waltzes, jigs and reels
    assert all(0 <= p.bar_origin < p.meter.bar_ticks for p in pieces)
    assert any(p.bar_origin for p in pieces), "some tunes start with an upbeat"


def test_windows_carry_the_bar_position_of_their_piece() -> None:
    from cocomposer.training.corpus import Piece
    from cocomposer.training.dataset import Split

    # a waltz with a one-beat upbeat: bar lines at beats 1, 4, 7, ... (tick 12 + 36k)
    notes = [codec.Note(i, i + 0.5, 60 + i % 5) for i in range(30)]
    tokens = np.array(codec.encode_notes(notes), dtype=np.int16)
    waltz = Piece("test/waltz", "test", 0, 0, tokens, len(notes), codec.Meter(3, 4), codec.TICKS_PER_BEAT)
    batch = Split.from_pieces([waltz]).sample(np.random.default_rng(0), 2, len(tokens) + 8, augment=False)
    assert (batch["meter"] == codec.METERS.index("3/4")).all()
    for row in range(2):  # the piece is shorter than a window: every window starts at its first note
        n = int(batch["mask"][row].sum())
        ticks = np.cumsum([codec.shift_ticks(int(t)) for t in batch["tokens"][row, :n]])
        assert (batch["bar_positions"][row, :n] == (ticks - 12) % 36).all()
        assert (batch["phases"][row, :n] == ticks % 12).all()


def test_played_windows_sound_played_and_count_only_the_written_part() -> None:
    from cocomposer.training.dataset import play_like_a_person

    notes = [codec.Note(i / 2, i / 2 + 0.5, 60 + (i * 3) % 12) for i in range(48)]
    tokens = np.array(codec.encode_notes(notes))
    shorter = 0
    for seed in range(40):
        played, cut = play_like_a_person(tokens, 0, np.random.default_rng(seed))
        heard = codec.decode(played.tolist())
        before = [n for n in heard if codec.beats_to_ticks(n.start) < cut]
        after = [n for n in heard if codec.beats_to_ticks(n.start) >= cut]
        assert after == [n for n in notes if codec.beats_to_ticks(n.start) >= cut], "the written part is untouched"
        assert 0 < cut < 24 * codec.TICKS_PER_BEAT and before
        shorter += sum(n.end - n.start < 0.5 - 1e-9 for n in before) > len(before) / 2
    assert shorter >= 20, "most played parts are detached or staccato"


def test_played_augmentation_masks_the_loss_over_the_played_part(trained: Path) -> None:
    from cocomposer.training.corpus import load_cache
    from cocomposer.training.dataset import Split

    split = Split.from_pieces(load_cache(trained / "corpus.npz"))
    clean = split.sample(np.random.default_rng(0), 16, 64)
    played = split.sample(np.random.default_rng(0), 16, 64, played=1.0)
    assert (clean["counted"] == clean["mask"]).all()
    assert played["counted"].sum() < played["mask"].sum()
    assert (played["counted"] <= played["mask"]).all()


def test_training_with_played_windows_and_a_warm_start_from_onnx(trained: Path, tmp_path: Path) -> None:
    from cocomposer.training.warmstart import net_from_onnx, write_checkpoint

    onnx = trained / "smoke.onnx"  # float32: the rebuilt network must compute what the graph computes
    net = net_from_onnx(onnx)
    golden = np.load(onnx.with_name(onnx.stem + ".golden.npz"))
    assert np.abs(torch_step_logits(net, dict(golden)) - golden["expected_logits"]).max() < 1e-4
    start = write_checkpoint(onnx, tmp_path / "warm.pt")
    run = tmp_path / "played"
    tune = ["train", "--cache", str(trained / "corpus.npz"), "--run", str(run), "--steps", "2", "--eval-every", "2"]
    assert training_main([*tune, "--init", str(start), "--played", "0.5"]) == 0
    _, state = load_net(run / "last.pt")
    assert state["train_config"]["played"] == 0.5
