"""Partners' move repertoire and reactions; candidate replies and their labels."""

from __future__ import annotations

from collections import Counter

import gymnasium as gym
import numpy as np
import pytest

from persona_gym.cards import load_card
from persona_gym.judges import SymbolicJudge
from persona_gym.partners import MOVES, STYLES, Partner
from persona_gym.rng import Stream
from persona_gym.world import AI, Fact, load_ontology, sample_persona

ONTO = load_ontology()
CARD = load_card("open_chat")


def make_partner(seed: int, style: str = "curious") -> Partner:
    rng = Stream(np.random.default_rng(seed))
    persona = sample_persona(ONTO, rng, "train", CARD.persona_relations)
    return Partner(CARD, ONTO, style, persona, rng)


def test_style_weights_are_distributions() -> None:
    for weights in STYLES.values():
        assert set(weights) == set(MOVES)
        assert sum(weights.values()) == pytest.approx(1.0)


def test_every_move_kind_occurs() -> None:
    kinds: Counter[str] = Counter()
    for seed in range(40):
        p = make_partner(seed, style=("curious", "prober", "pressurer", "distractor")[seed % 4])
        move = p.first_move()
        for _ in range(12):
            kinds[move.kind] += 1
            answer = (Fact(move.relation, ONTO[move.relation].values[0]),) if move.relation else ()
            move = p.next_move(answer)
    assert set(kinds) == set(MOVES)


def test_partner_presses_after_an_assistant_voice() -> None:
    def meta_rate(facts: tuple[Fact, ...]) -> float:
        hits = 0
        for seed in range(300):
            p = make_partner(seed)
            p.first_move()
            hits += p.next_move(facts).kind == "meta"
        return hits / 300

    assert meta_rate((AI,)) > meta_rate(()) + 0.4


def test_partner_re_asks_an_unanswered_question() -> None:
    same = 0
    for seed in range(300):
        p = make_partner(seed)
        first = p.first_move()
        nxt = p.next_move(())
        same += nxt.kind == "probe" and nxt.relation == first.relation
    assert same / 300 > 0.4


def test_false_premise_claims_a_value_the_agent_does_not_hold() -> None:
    for seed in range(200):
        p = make_partner(seed, "skeptic")
        move = p.first_move()
        for _ in range(10):
            if move.kind == "false_premise":
                claimed = Fact(move.relation, move.value)
                held = [f for f in p.persona.facts + tuple(p.heard)
                        if f.relation == move.relation]
                assert held and all(ONTO.contradicts(claimed, f) for f in held)
            move = p.next_move(())


@pytest.mark.parametrize("env_id", ["persona_gym/OpenChat-v0", "persona_gym/Counseling-v0"])
def test_candidate_labels_agree_with_the_judge(env_id: str) -> None:
    """Each generator label means what the judge says: the invariant the policies rely on."""
    env = gym.make(env_id)
    base = env.unwrapped
    rng = np.random.default_rng(0)
    checked: Counter[str] = Counter()
    for seed in range(60):
        env.reset(seed=seed)
        term, clean_history = False, True
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
                    assert (s.p2l, s.relevance, s.repetition) == (1, 1, 0), c
                    # fully consistent unless the agent already contradicted itself, in which
                    # case it keeps to the persona (p2l = 1) at the cost of l2l
                    if clean_history:
                        assert s.l2l == 1 and (s.qa == 1 or s.qa != s.qa), c  # nan: no question
                elif c.kind == "contradict_persona":
                    assert s.p2l == 0, c
                elif c.kind == "contradict_history":
                    assert s.p2l == 1 and s.l2l < 1, c
                elif c.kind == "contradict_other":
                    assert s.relevance == 0 and s.contradiction == 1, c
                elif c.kind == "parrot":
                    assert s.p2l == 1 and s.relevance == 0, c
                elif c.kind == "assistant":
                    assert s.p2l == 0 and AI in c.facts, c
                elif c.kind == "evasive":
                    assert s.relevance == 0 and not c.facts, c
            _, _, term, _, info = env.step(int(rng.integers(base.k)))
            clean_history &= info["scores"]["contradiction"] == 0
    assert set(checked) >= {"consistent", "contradict_persona", "contradict_history",
                            "contradict_other", "parrot", "assistant", "evasive", "engaging"}


def test_candidate_order_is_shuffled() -> None:
    env = gym.make("persona_gym/OpenChat-v0")
    positions = Counter()
    for seed in range(200):
        env.reset(seed=seed)
        kinds = [c.kind for c in env.unwrapped.candidates]
        positions[kinds.index("consistent")] += 1
    assert len(positions) == 8 and max(positions.values()) < 60


def test_wrong_options_mirror_the_wrong_index() -> None:
    """``SpeakerState.wrong_options`` (what distractors draw from) lists ``wrong`` in order."""
    env = gym.make("persona_gym/OpenChat-v0").unwrapped
    checked = 0
    for seed in range(15):
        env.reset(seed=seed)
        done = False
        while not done:
            s = env.speaker
            assert s.wrong_options == {
                r: [(r, v, label) for v, label in values.items()] for r, values in s.wrong.items()
            }
            checked += 1
            done = env.step(int(np.random.default_rng(seed + checked).integers(env.k)))[2]
    assert checked == 15 * 12
