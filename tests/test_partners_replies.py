"""Partners' move repertoire and reactions; candidate replies and their labels."""

from __future__ import annotations

import math
from collections import Counter

import gymnasium as gym
import numpy as np
import pytest

from persona_gym.cards import load_card
from persona_gym.dialogue import LineScores
from persona_gym.judges import SymbolicJudge
from persona_gym.partners import MOVES, STYLES, Partner
from persona_gym.rng import Stream
from persona_gym.speaker import Speaker
from persona_gym.world import AI, Fact, load_ontology, sample_persona

ONTO = load_ontology()
CARD = load_card("open_chat")
SILENT = LineScores(math.nan, math.nan, math.nan, 0.0, 0.0, 0.0, 0.0, 0.0)
ANSWERED = LineScores(1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.0, 0.0)


def make_partner(seed: int, style: str = "curious") -> Partner:
    rng = Stream(np.random.default_rng(seed))
    persona = sample_persona(ONTO, rng, "train", CARD.persona.relations)
    return Partner(CARD.partner, ONTO, style, Speaker(ONTO, persona), rng)


def test_style_weights_are_distributions() -> None:
    for weights in STYLES.values():
        assert set(weights) == set(MOVES) - {"challenge"}  # challenge is only a reaction
        assert sum(weights.values()) == pytest.approx(1.0)


def test_every_move_kind_occurs() -> None:
    kinds: Counter[str] = Counter()
    for seed in range(60):
        p = make_partner(seed, style=("curious", "prober", "pressurer", "distractor")[seed % 4])
        move = p.first_move()
        for turn in range(12):
            kinds[move.kind] += 1
            if move.relation and turn % 3 == 2:  # a slip now and then: the partner quotes it
                wrong = p.speaker.wrong_options.get(move.relation)
                if wrong:
                    r, v, _ = wrong[0]
                    move = p.next_move((Fact(r, v),), ANSWERED._replace(contradiction=1.0))
                    continue
            answer = (Fact(move.relation, ONTO[move.relation].values[0]),) if move.relation else ()
            move = p.next_move(answer, ANSWERED)
    assert set(kinds) == set(MOVES)


def test_partner_presses_after_an_assistant_voice() -> None:
    def meta_rate(facts: tuple[Fact, ...]) -> float:
        hits = 0
        for seed in range(300):
            p = make_partner(seed)
            p.first_move()
            scores = ANSWERED._replace(contradiction=float(AI in facts))
            hits += p.next_move(facts, scores).kind == "meta"
        return hits / 300

    assert meta_rate((AI,)) > meta_rate(()) + 0.4


def test_partner_re_asks_an_unanswered_question() -> None:
    same = 0
    for seed in range(300):
        p = make_partner(seed)
        first = p.first_move()
        nxt = p.next_move((), SILENT)
        same += nxt.kind == "probe" and nxt.relation == first.relation
    assert same / 300 > 0.4


def test_partner_challenges_a_slip_by_quoting_it() -> None:
    quoted = tried = 0
    for seed in range(300):
        p = make_partner(seed)
        move = p.first_move()
        wrong = p.speaker.wrong_options.get(move.relation)
        if not wrong:
            continue
        r, v, _ = wrong[0]
        nxt = p.next_move((Fact(r, v),), ANSWERED._replace(contradiction=1.0))
        tried += 1
        quoted += nxt.kind == "challenge" and (nxt.relation, nxt.value) == (r, v)
    assert tried > 20 and quoted / tried > 0.55  # CHALLENGE_PROBABILITY = 0.7


def test_trust_runs_out_after_repeated_slips() -> None:
    p = make_partner(0)
    p.first_move()
    slip = ANSWERED._replace(contradiction=1.0)
    stays = [p.hear((), slip) for _ in range(3)]
    assert stays == [True, True, False]
    assert p.farewell().text in CARD.partner.lines["farewells"]


def test_premises_claim_held_or_contradicting_values() -> None:
    true = false = 0
    for seed in range(200):
        p = make_partner(seed, "skeptic")
        move = p.first_move()
        for _ in range(10):
            if move.kind == "premise":
                claimed = Fact(move.relation, move.value)
                if claimed.value in p.speaker.held.get(claimed.relation, ()):
                    true += 1
                else:  # a false claim: accepting it is a contradiction
                    assert p.speaker.is_wrong(claimed)
                    false += 1
            move = p.next_move((), ANSWERED)
    assert true > 50 and false > 50


@pytest.mark.parametrize("env_id", ["persona_gym/OpenChat-v1", "persona_gym/Counseling-v1"])
def test_candidate_labels_agree_with_the_judge(env_id: str) -> None:
    """Each generator label means what the judge says: the invariant the policies rely on."""
    env = gym.make(env_id)
    base = env.unwrapped
    rng = np.random.default_rng(0)
    checked: Counter[str] = Counter()
    for seed in range(60):
        env.reset(seed=seed)
        term = False
        while not term:
            cands = base.candidates
            texts = [c.text for c in cands]
            assert len(cands) == base.k and len(set(texts)) == base.k
            kinds = [c.kind for c in cands]
            assert {"consistent", "parrot", "assistant"} <= set(kinds)
            judge: SymbolicJudge = base.judge
            for c in cands:
                s = judge.score(base.move, c)
                checked[c.kind] += 1
                if c.kind == "consistent":
                    assert (s.p2l, s.l2l, s.relevance, s.asserted, s.contradiction) == (
                        1, 1, 1, 1, 0), c
                    assert s.qa == 1 or math.isnan(s.qa), c
                elif c.kind == "contradict_persona":
                    assert s.p2l == 0 and s.contradiction == 1, c
                elif c.kind == "contradict_history":
                    assert s.p2l == 1 and s.contradiction == 1, c
                elif c.kind == "parrot":
                    assert s.p2l == 1 and s.relevance == 0 and s.contradiction == 0, c
                elif c.kind == "assistant":
                    assert s.p2l == 0 and AI in c.facts, c
                elif c.kind in ("evasive", "engaging"):
                    assert not c.facts and s.asserted == 0, c
            _, _, term, _, _ = env.step(int(rng.integers(base.k)))
    assert set(checked) >= {"consistent", "contradict_persona", "contradict_history",
                            "parrot", "assistant", "evasive", "engaging"}


def test_candidate_order_is_shuffled() -> None:
    env = gym.make("persona_gym/OpenChat-v1")
    positions = Counter()
    for seed in range(200):
        env.reset(seed=seed)
        kinds = [c.kind for c in env.unwrapped.candidates]
        positions[kinds.index("consistent")] += 1
    assert len(positions) == 8 and max(positions.values()) < 60


def test_wrong_options_mirror_the_wrong_index() -> None:
    """``Speaker.wrong_options`` (what distractors draw from) lists ``wrong`` in order."""
    env = gym.make("persona_gym/OpenChat-v1").unwrapped
    checked = 0
    for seed in range(15):
        env.reset(seed=seed)
        done = False
        while not done:
            s = env.judge.speaker
            assert s.wrong_options == {
                r: [(r, v, label) for v, label in values.items()] for r, values in s.wrong.items()
            }
            checked += 1
            done = env.step(int(np.random.default_rng(seed + checked).integers(env.k)))[2]
    assert checked >= 15


def test_surface_markers_do_not_mark_the_consistent_reply() -> None:
    """Corrections, confirmations, "like I said", hedges and asides appear on wrong candidates
    about as often as on the consistent one (issue 10: v0's corrections were a giveaway)."""
    env = gym.make("persona_gym/OpenChat-v1").unwrapped
    rng = np.random.default_rng(1)
    hits: dict[str, Counter[str]] = {"consistent": Counter(), "wrong": Counter()}
    offered: Counter[str] = Counter()
    markers = {
        "correction": ("No,", "Not quite.", "Actually, no.", "No, that's not right.",
                       "No, you're mixing me up."),
        "confirmation": ("Yes, that's right.", "Yeah, exactly.", "Right.", "Yes, I did."),
        "recall": ("Like I said,", "As I mentioned,", "Again,", "Like I told you,"),
    }
    for seed in range(150):
        env.reset(seed=seed)
        done = False
        while not done:
            for c in env.candidates:
                group = ("consistent" if c.kind == "consistent" else
                         "wrong" if c.kind.startswith("contradict") else None)
                if group is None:
                    continue
                offered[group] += 1
                for name, prefixes in markers.items():
                    hits[group][name] += c.text.startswith(prefixes)
            done = env.step(int(rng.integers(env.k)))[2]
    for name in markers:
        rate_right = hits["consistent"][name] / offered["consistent"]
        rate_wrong = hits["wrong"][name] / offered["wrong"]
        assert rate_wrong > 0.5 * rate_right, (name, rate_right, rate_wrong)
