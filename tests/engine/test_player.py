"""The player model (mimic): its counts, its transposition, its bounded memory, and what it does to answers."""

from __future__ import annotations

import math
import threading

import numpy as np
import pytest

from cocomposer.engine.core import Engine
from cocomposer.engine.jobs import Answer, ForgetPlayer, Listen
from cocomposer.engine.settings import Settings
from cocomposer.engine.worker import Generator
from cocomposer.midi import ports
from cocomposer.model.continuation import Conversation, continue_from, continue_notes, prime
from cocomposer.model.player import FLOOR, PlayerModel, absolute, relative
from cocomposer.model.runtime import OnnxModel
from cocomposer.model.sampling import Controls
from cocomposer.model.shape import Groove, read_call, swing, unswung_tick
from cocomposer.music import codec, dialogue
from cocomposer.music.metrics import key_of
from cocomposer.timing.clock import FakeClock
from tests.support.midi import poll_until

# A riff in E: E G A G, eighth notes, played twice a bar (times in beats).
RIFF_E = [(0.0, 64), (0.5, 67), (1.0, 69), (1.5, 67), (2.0, 64), (2.5, 67), (3.0, 69), (3.5, 67)]


def riff(notes: list[tuple[float, int]], bars: int = 2, transpose: int = 0) -> list[codec.Note]:
    return [codec.Note(4 * b + t, 4 * b + t + 0.45, p + transpose) for b in range(bars) for t, p in notes]


def test_relative_tokens_round_trip_through_any_reference_pitch() -> None:
    for token in (codec.shift_token(5), codec.on_token(67), codec.off_token(64)):
        rel = relative(token, 64)
        assert absolute(rel, 64) == token
    assert relative(codec.on_token(67), 64) == ("n", 3)
    assert absolute(("n", 3), 69) == codec.on_token(72), "the same interval from another note"
    assert relative(codec.on_token(60), None) is None, "a first note-on has no interval"
    assert absolute(("n", 20), 120) is None, "off the keyboard"


def test_counts_follow_what_the_player_played() -> None:
    player = PlayerModel(order=2)
    player.learn_notes(riff(RIFF_E))
    # After a note-on of G (a minor third up from E), on an off-beat: it closes 0.45 beats later (5 ticks).
    on_g = ("n", 3)
    for position in (6, 30):  # ticks into the bar: beat 1 and beat 3, and their "and"
        assert player.counts[(position, on_g)] == {("s", 5): 2}, "the G after an E, once a bar, held its 5 ticks"
    assert player.tokens_learned == len(codec.encode_notes(riff(RIFF_E))) - 1, "all but the first note-on"


def test_a_riff_learned_in_e_is_predicted_in_a() -> None:
    player = PlayerModel()
    player.learn_notes(riff(RIFF_E))
    context = player.context()
    # The answer plays C then A on the beat (the riff's G then E, a fourth higher): what comes next?
    context.advance_to(codec.beats_to_ticks(11.5))
    for pitch in (72, 69):
        for token in (codec.on_token(pitch), codec.shift_token(5), codec.off_token(pitch), codec.shift_token(1)):
            context.push(token)
    heard = context.log_probs()
    assert heard is not None
    assert int(np.argmax(heard)) == codec.on_token(72), "C, a minor third above A: the riff transposed"
    assert heard[codec.on_token(71)] == pytest.approx(np.log(FLOOR)), "never played after this: the floor"


def test_memory_is_bounded_and_forgets_the_oldest() -> None:
    player = PlayerModel(order=3, memory=50)
    for bar in range(40):
        player.learn_notes([codec.Note(4 * bar + t, 4 * bar + t + 0.45, p) for t, p in RIFF_E])
    assert player.tokens_learned == 50
    total = sum(sum(c.values()) for c in player.counts.values())
    assert total == 50 * 4, "each kept token counts once per order (0..3), the forgotten ones not at all"
    player.reset()
    assert player.tokens_learned == 0 and not player.counts


def test_with_mimic_0_the_answer_is_exactly_the_networks(model: OnnxModel) -> None:
    prompt = riff(RIFF_E)
    answers = []
    for learned in (False, True):
        encoder = prime(model, prompt)
        player = PlayerModel()
        if learned:
            player.learn_notes(prompt)
        answer = continue_from(
            model, encoder, Controls(mimic=0.0), np.random.default_rng(3), 8, start_beat=8.0, mimic=player.context()
        )
        answers.append(answer.tokens)
    assert answers[0] == answers[1]


def test_with_mimic_1_a_repeated_riff_is_answered_with_its_material(model: OnnxModel) -> None:
    prompt = riff(RIFF_E, bars=4)
    off = Conversation(follow_call=False, cadence=0.0, groove=False)
    shares = {}
    for mimic in (0.0, 1.0):
        own = []
        for seed in range(4):
            answer, _ = continue_notes(model, prompt, 2, Controls(mimic=mimic), "folk", "auto", seed, conversation=off)
            own.append(dialogue.shared(dialogue.interval_grams(answer.notes, 3), dialogue.interval_grams(prompt, 3)))
        shares[mimic] = float(np.nanmean(own))
    assert shares[1.0] >= 0.5, f"mimic 1 plays the riff's own 3-interval shapes ({shares})"
    assert shares[1.0] > shares[0.0] + 0.2, shares


def test_the_cadence_control_changes_the_last_bar(model: OnnxModel) -> None:
    prompt = riff(RIFF_E)
    ends = {}
    for cadence in (0.0, 3.0):
        closes = []
        for seed in range(6):
            answer, _ = continue_notes(
                model, prompt, 2, Controls(), "folk", "auto", seed, conversation=Conversation(cadence=cadence)
            )
            key = key_of(prompt)
            closes.append(dialogue.ends_on_tonic_chord(answer.notes, key))
        ends[cadence] = sum(bool(c) for c in closes)
    assert ends[3.0] == 6, f"a strong cadence ends every answer on the tonic chord ({ends})"
    assert ends[3.0] > ends[0.0]


def test_a_call_is_read_for_its_register_voices_and_swing() -> None:
    swung = [codec.Note(b + t, b + t + 0.3, 40) for b in range(4) for t in (0.0, 2 / 3)]
    call = read_call(swung, codec.COMMON_TIME, 0, 127)
    assert call.swung and call.voices == 1
    assert (call.low, call.high) == (34, 46), "an octave at least around the call"
    chords = [codec.Note(4 * b, 4 * b + 4, p) for b in range(2) for p in (60, 64, 67)]
    assert read_call(chords, codec.COMMON_TIME).voices == 3
    assert not read_call(swung, codec.Meter(6, 8)).swung, "in 6/8 late eighths are the pulse, not swing"
    laid_back = [codec.Note(b + t, b + t + 0.3, 60) for b in range(4) for t in (0.0, 0.53)]  # 15 ms late at 120 BPM
    assert not read_call(laid_back, codec.COMMON_TIME).swung
    straight = [codec.Note(0.5, 1.0, 60), codec.Note(1.0, 1.5, 62)]
    assert swing(straight, 1.0)[0].start == pytest.approx(0.5 + 2 / 12), "an off-beat eighth moves to the swung one"
    assert swing(straight, 0.0) == straight
    short = swing([codec.Note(0.5, 0.75, 60)], 1.0)[0]
    assert short.end - short.start == pytest.approx(0.25), "a swung sixteenth keeps its length, no blip"


def test_a_swung_answer_is_cut_where_the_player_heard_it() -> None:
    beat = 5 * codec.TICKS_PER_BEAT
    # The straight off-beat eighth (tick 6) sounds at tick 8: a barge-in at 6, 7 or 8 comes before it.
    assert [unswung_tick(beat + p, 1.0) for p in (5, 6, 7, 8, 9)] == [beat + 5, beat + 6, beat + 6, beat + 6, beat + 9]
    assert unswung_tick(beat + 7, 0.0) == beat + 7, "a straight answer is cut where it is"


def test_the_groove_leans_time_onto_a_syncopated_calls_sixteenths_only() -> None:
    logits = np.random.default_rng(0).normal(size=codec.VOCAB_SIZE)
    groove = Groove(0.5)
    lean = groove.lean(0, logits)
    assert lean is not None
    lifted = {t for t in range(1, codec.MAX_SHIFT + 1) if lean[codec.shift_token(t)] > lean[codec.shift_token(1)]}
    assert {1, 2, 3, 9, 15} & lifted == {3, 9, 15}, "from the beat, shifts of 3, 9, 15 ticks land on e or a"
    assert lean[codec.on_token(60)] == lean[codec.off_token(60)] == 0, "what lands there is the network's choice"
    shifts = slice(codec.SHIFT_BASE, codec.SHIFT_BASE + codec.MAX_SHIFT)
    mass = np.exp(logits[shifts]).sum()
    assert np.exp(logits[shifts] + lean[shifts]).sum() == pytest.approx(mass), "time as a whole keeps its odds"
    later = Groove(0.5, bar_origin=3).lean(3, logits)
    assert later[codec.shift_token(3)] > later[codec.shift_token(1)], "counted from the model's bar line"
    one = groove.lean(1, logits)
    assert one[codec.shift_token(2)] > one[codec.shift_token(1)], "from tick 1, two ticks reach the e"
    assert Groove(0.1).lean(0, logits) is None, "a straight call gets no lean"


# A funk riff in E: most onsets on the sixteenth e and a (times in beats).
FUNK_E = [(0.0, 52), (0.75, 52), (1.25, 55), (1.75, 57), (2.25, 52), (2.75, 59), (3.25, 57), (3.75, 55)]


def test_a_syncopated_call_gets_a_syncopated_answer(model: OnnxModel) -> None:
    prompt = [codec.Note(4 * b + t, 4 * b + t + 0.4, p) for b in range(2) for t, p in FUNK_E]
    shares = {}
    for groove in (False, True):
        share = []
        for seed in range(6):
            conversation = Conversation(groove=groove)
            answer, _ = continue_notes(
                model, prompt, 2, Controls(mimic=0.0), "folk", "auto", seed, conversation=conversation
            )
            share.append(dialogue.syncopation_share(answer.notes))
        shares[groove] = float(np.nanmean(share))
    call = dialogue.syncopation_share(prompt)
    assert abs(shares[True] - call) <= call / 2, f"the answer keeps the call's syncopation ({shares}, call {call})"
    assert shares[True] > shares[False] + 0.3, f"the groove, not the network, keeps it (mimic 0; {shares})"


def test_the_generator_learns_the_player_during_a_session_and_forgets_on_command(model: OnnxModel) -> None:
    scheduled: list = []
    generator = Generator(
        model, lambda notes, request_id: scheduled.extend(notes) or True, lambda event: None, seed=1
    )  # seeded: 0.69-1.0 of the answer's shapes come from the riff over seeds 0-7 (0 of them at mimic 0)
    generator.start()
    try:
        for note in riff(RIFF_E, bars=4):
            generator.submit(Listen("on", note.pitch, note.start))
            generator.submit(Listen("off", note.pitch, note.end))
        off = Controls(mimic=1.0, low=40, high=90)
        generator.submit(Answer(1, 16.0, 8.0, "answer", 1, off, 80, "folk", "major"))
        done = threading.Event()
        generator.submit(lambda worker: done.set())  # runs after every job queued before it
        assert done.wait(10)
        learned = generator.player.tokens_learned
        assert learned >= 4 * 8 * 3, "every note of the riff, as it arrived: on, off and the time between"
        answer = [codec.Note(n.start_beat, n.end_beat, n.pitch) for n in scheduled]
        shapes = dialogue.shared(dialogue.interval_grams(answer, 3), dialogue.interval_grams(riff(RIFF_E), 3))
        assert shapes >= 0.5, f"the answer borrows the riff's shapes ({shapes:.2f})"
        generator.submit(ForgetPlayer())
        forgotten = threading.Event()
        generator.submit(lambda worker: forgotten.set())
        assert forgotten.wait(10)
        assert generator.player.tokens_learned == 0
    finally:
        generator.stop()


def test_the_silence_between_phrases_is_not_learned_as_rhythm() -> None:
    player = PlayerModel()
    for start in (0.0, 8.0):  # two phrases with 4 beats of silence (an answer) between them
        for i, pitch in enumerate((60, 62, 64, 65)):
            player.note_on(pitch, start + i)
            player.note_off(pitch, start + i + 0.9)
    shifts = [rel[1] for counter in player.counts.values() for rel in counter if rel[0] == "s"]
    assert shifts and max(shifts) < codec.TICKS_PER_BEAT, "only the rhythm inside the phrases: held notes and gaps"
    held = PlayerModel()
    held.note_on(48, 0.0)
    held.note_off(48, 4.0)  # a note held a whole bar is no silence
    held.note_on(50, 4.0)
    assert any(("s", codec.MAX_SHIFT) in c for c in held.counts.values()), "the held note's length is learned"


def play_to_the_engine(model: OnnxModel, call: list[codec.Note], settings: Settings) -> tuple[Engine, list]:
    """The whole engine (its thread, the generator's, the scheduler's) on a FakeClock at 120 BPM: ``call`` is played
    at the beats it gives, then the clock runs on in sixteenths until 15 beats after the call's last note. Returns
    the engine (stopped) and its answer as notes (beats; 0.25 long)."""
    fake = FakeClock(100.0)
    engine_in, player = ports.loopback_pair("player", now_ns=lambda: int(fake.now() * 1e9))
    out = ports.RecordingOut("answers", now=fake.now)
    engine = Engine(model, engine_in, out, settings, now=fake.now, seed=3)
    engine.start()

    def settled() -> None:  # the engine thread, then the generator, have handled everything sent so far
        assert engine.settle(10)

    def at(beat: float) -> None:
        fake.set(100.0 + beat * 0.5)

    try:
        events = sorted([(n.start, 1, n.pitch) for n in call] + [(n.end, 0, n.pitch) for n in call])
        for sent, (beat, on, pitch) in enumerate(events, 1):  # at a tie, the note-off first
            at(beat)
            player.send((0x90, pitch, 90) if on else (0x80, pitch, 0))
            # The loopback stamps the fake time on a thread of its own: the clock moves on only once it arrived.
            assert poll_until(lambda sent=sent: engine.status().received >= sent, 10)
            settled()
        learned = engine.generator.player.tokens_learned
        assert learned >= len(call) * 3, f"learned as it was played ({learned} tokens)"
        last = math.ceil(max(n.end for n in call))
        for step in range(1, 60):  # the silence ends the phrase; the answer plays
            beat = last + step * 0.25
            at(beat)
            settled()
            sent_by_now = threading.Event()  # the scheduler, too, has sent every note due by now

            def check(beat: float = beat, sent_by_now: threading.Event = sent_by_now) -> None:
                if all(n.start_beat > beat + 1e-9 for n in engine.scheduled()):
                    sent_by_now.set()

            for _ in range(1000):
                check()
                if sent_by_now.wait(0.002):
                    break
    finally:
        engine.stop()
        player.close()
    sent = [(t, m[1]) for t, m in out.events if ports.is_note_on(m)]
    return engine, [codec.Note((t - 100.0) / 0.5, (t - 100.0) / 0.5 + 0.25, p) for t, p in sent]


def test_the_engine_learns_the_player_during_a_session_on_a_fake_clock(model: OnnxModel) -> None:
    """The riff is played to the whole engine, the engine answers it after the silence, and the answer borrows the
    riff's shapes."""
    settings = Settings(bpm=120.0, bars=2.0, silence=1.0, mimic=1.0, low=40, high=90, cadence=0.0)
    engine, answer = play_to_the_engine(model, riff(RIFF_E, bars=2), settings)
    assert engine.stats.answers == 1
    # The phrase end (beat 8.95) is seen at the clock's next step (9.0); the answer starts on the next beat after
    # it and lasts two bars.
    assert answer and all(10.0 - 1e-6 <= n.start < 18.0 for n in answer), str([n.start for n in answer])
    shapes = dialogue.shared(dialogue.interval_grams(answer, 3), dialogue.interval_grams(riff(RIFF_E), 3))
    assert shapes >= 0.5, f"the answer borrows the riff's shapes ({shapes:.2f})"


def test_the_engine_answers_a_syncopated_call_in_its_groove(model: OnnxModel) -> None:
    call = [codec.Note(4 * b + t, 4 * b + t + 0.4, p) for b in range(2) for t, p in FUNK_E]
    settings = Settings(bpm=120.0, bars=2.0, silence=1.0, mimic=0.0, low=40, high=90, cadence=0.0)
    engine, answer = play_to_the_engine(model, call, settings)
    assert engine.stats.answers == 1 and len(answer) >= 4, answer
    share = dialogue.syncopation_share(answer)
    assert share >= 0.5, f"mimic 0: the groove alone puts the answer on the e and a ({share:.2f} of its onsets)"
