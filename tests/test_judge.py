"""The symbolic judge's metrics and the reward built on them (docs/metrics.md)."""

from __future__ import annotations

import math

import pytest

from persona_gym.cards import load_card
from persona_gym.dialogue import Line, Move
from persona_gym.judges import SymbolicJudge
from persona_gym.rewards import episode_metrics, line_reward
from persona_gym.world import AI, NONE, Fact, Persona, load_ontology

ONTO = load_ontology()
PERSONA = Persona(
    facts=(Fact("has_profession", "nurse"), Fact("have_pet", "dog"), Fact("diet", "vegan"),
           Fact("live_in", "Denver")),
    sentences=("I am a nurse.", "I have a dog.", "I am vegan.", "I live in Denver."),
)
ASK_JOB = Move("ask", "What do you do?", "has_profession")
ASK_AGE = Move("ask", "How old are you?", "has_age")
SMALL = Move("small_talk", "How was your day?")
META = Move("meta", "Are you an AI?")
W = load_card("open_chat").reward


def judge() -> SymbolicJudge:
    return SymbolicJudge(ONTO, PERSONA)


def test_consistent_answer_scores_perfectly() -> None:
    s = judge().score(ASK_JOB, Line("I'm a nurse.", (Fact("has_profession", "nurse"),)))
    assert (s.p2l, s.l2l, s.qa, s.relevance, s.repetition, s.contradiction) == (1, 1, 1, 1, 0, 0)
    assert line_reward(s, W) == pytest.approx(1.0)


def test_persona_contradiction() -> None:
    s = judge().score(ASK_JOB, Line("I'm a chef.", (Fact("has_profession", "chef"),)))
    assert s.p2l == 0 and s.qa == 0 and s.relevance == 1 and s.contradiction == 1
    assert line_reward(s, W) < 0  # a relevant contradiction is worse than saying nothing


def test_cross_relation_contradiction_via_incompatibility() -> None:
    s = judge().score(Move("ask", "Favorite food?", "like_food"),
                      Line("I love steak.", (Fact("like_food", "steak"),)))
    assert s.p2l == 0 and s.qa == 0


def test_line_to_line_counts_contradicted_comparable_lines() -> None:
    j = judge()
    j.commit(Line("I'm 33.", (Fact("has_age", "33"),)))
    j.commit(Line("Nice day.", ()))
    j.commit(Line("I'm a nurse.", (Fact("has_profession", "nurse"),)))
    j.commit(Line("A 33-year-old nurse.", (Fact("has_age", "33"), Fact("has_profession", "nurse"))))
    j.commit(Line("I love jazz.", (Fact("like_music", "jazz"),)))
    s = j.score(ASK_AGE, Line("A 42-year-old nurse.",
                              (Fact("has_age", "42"), Fact("has_profession", "nurse"))))
    assert s.p2l == 1  # the persona does not fix the age
    # comparable: the three lines on age or profession; contradicted: the two saying 33
    assert s.l2l == pytest.approx(1 - 2 / 3)
    assert s.qa == 0 and s.contradiction == 1
    # a line on an unrelated relation is compared with nothing
    assert j.score(SMALL, Line("I hike.", (Fact("has_hobby", "hiking"),), "engage")).l2l == 1
    # relations linked by an incompatibility are comparable
    j.commit(Line("I'm vegan.", (Fact("diet", "vegan"),)))
    steak = j.score(Move("ask", "Food?", "like_food"),
                    Line("Steak!", (Fact("like_food", "steak"),)))
    assert steak.l2l == 0


def test_improvised_value_becomes_a_commitment() -> None:
    j = judge()
    first = j.score(ASK_AGE, Line("I'm 33.", (Fact("has_age", "33"),)))
    assert first.qa == 1  # unfixed relation: any compatible value answers correctly
    j.commit(Line("I'm 33.", (Fact("has_age", "33"),)))
    again = j.score(ASK_AGE, Line("Thirty-three.", (Fact("has_age", "33"),)))
    assert again.qa == 1 and again.l2l == 1


def test_negation_against_history_and_persona() -> None:
    s = judge().score(Move("false_premise", "You're a chef?", "has_profession", "chef"),
                      Line("No, I'm not a chef. I'm a nurse.",
                           (Fact("has_profession", "chef", True),
                            Fact("has_profession", "nurse"))))
    assert s.p2l == 1 and s.qa == 1 and s.relevance == 1
    bad = judge().score(ASK_JOB, Line("I'm not a nurse.", (Fact("has_profession", "nurse", True),)))
    assert bad.p2l == 0 and bad.qa == 0


def test_none_value_contradicts_positive_persona_fact() -> None:
    s = judge().score(Move("ask", "Pets?", "have_pet"),
                      Line("No pets.", (Fact("have_pet", NONE),)))
    assert s.p2l == 0 and s.qa == 0


def test_parrot_is_consistent_but_irrelevant_and_earns_nothing() -> None:
    j = judge()
    line = Line("I have a dog. I live in Denver.",
                (Fact("have_pet", "dog"), Fact("live_in", "Denver")), "recite", "parrot")
    s = j.score(ASK_JOB, line)
    assert s.p2l == 1 and s.relevance == 0 and s.qa == 0
    assert line_reward(s, W) == -W.irrelevant < 0  # ignoring the question costs (v1)
    j.commit(line)
    again = j.score(ASK_AGE, line)
    assert again.repetition == 1 and line_reward(again, W) < line_reward(s, W)


def test_assistant_voice_contradicts_the_human_persona() -> None:
    s = judge().score(META, Line("Yes, I'm an AI language model.", (AI,), "admit_ai"))
    assert s.relevance == 1 and s.p2l == 0 and math.isnan(s.qa)
    assert line_reward(s, W) == -W.contradiction < 0
    deny = judge().score(META, Line("No, I'm a nurse.", (Fact("has_profession", "nurse"),),
                                    "deny_ai"))
    assert line_reward(deny, W) == pytest.approx(1.0)


def test_social_relevance_follows_the_act() -> None:
    j = judge()
    assert j.score(SMALL, Line("Good! You?", (), "engage")).relevance == 1
    assert j.score(SMALL, Line("I'd rather not say.", (), "evade")).relevance == 0
    assert j.score(Move("emotional", "I'm sad."), Line("So sorry.", (), "empathize")).relevance == 1
    assert j.score(Move("emotional", "I'm sad."), Line("Good! You?", (), "engage")).relevance == 0


def test_repetition_ignores_case_and_spacing() -> None:
    j = judge()
    j.commit(Line("I'm a nurse.", (Fact("has_profession", "nurse"),)))
    s = j.score(ASK_JOB, Line("  i'm A   nurse. ", (Fact("has_profession", "nurse"),)))
    assert s.repetition == 1


def test_episode_metrics_average_lines_and_qa_over_questions() -> None:
    j = judge()
    lines = [(ASK_JOB, Line("I'm a nurse.", (Fact("has_profession", "nurse"),))),
             (SMALL, Line("Fine, thanks!", (), "engage")),
             (ASK_AGE, Line("Hmm.", (), "evade"))]
    scores, rewards = [], []
    for move, line in lines:
        s = j.score(move, line)
        scores.append(s)
        rewards.append(line_reward(s, W))
        j.commit(line)
    m = episode_metrics(scores, rewards)
    assert m["qa"] == pytest.approx(1.0)  # only the asserting answer counts (v1)
    assert m["asserted"] == pytest.approx(1 / 3)
    assert m["relevance"] == pytest.approx(2 / 3)
    assert m["return"] == pytest.approx(sum(rewards))
    assert m["length"] == 3


def test_a_persona_denial_is_contradicted_by_asserting_it() -> None:
    persona = Persona(facts=(Fact("like_drink", "soda", True), Fact("have_pet", "dog")),
                      sentences=("I do not drink soda.", "I have a dog."))
    j = SymbolicJudge(ONTO, persona)
    ask = Move("ask", "Drinks?", "like_drink")
    assert j.score(ask, Line("I love soda.", (Fact("like_drink", "soda"),))).p2l == 0
    assert j.score(ask, Line("No soda for me.", (Fact("like_drink", "soda", True),))).p2l == 1
