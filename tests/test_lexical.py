"""The lexical judge: parsing text into world facts and judging real text (judges/lexical.py)."""

from __future__ import annotations

import json
import math
from collections import Counter
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

import persona_gym  # noqa: F401  (registers the envs)
from persona_gym.dialogue import ACTS, Line
from persona_gym.judges.base import LABELS, TextJudge
from persona_gym.judges.lexical import LexicalJudge
from persona_gym.world import AI, HUMAN, NONE, Fact, Persona

DEV = (Path(__file__).parents[1] / "../shared/data/persona-consistency/dev.jsonl").resolve()
ENVS = ("persona_gym/OpenChat-v0", "persona_gym/Counseling-v0", "persona_gym/Tutoring-v0")


@pytest.fixture(scope="module")
def lex() -> LexicalJudge:
    return LexicalJudge()


def facts(lex: LexicalJudge, text: str) -> set[Fact]:
    return set(lex.parse(text).facts)


# -- Requirement A: the symbolic judge scores parsed text as it scores the world's lines --------


def _same(a: tuple[float, ...], b: tuple[float, ...]) -> bool:
    return all(x == y or (math.isnan(x) and math.isnan(y)) for x, y in zip(a, b, strict=True))


def test_agreement_with_symbolic_judge_on_world_lines(lex: LexicalJudge) -> None:
    lines = agree = expert = expert_agree = sentences = sentences_ok = 0
    for env_id in ENVS:
        for split in ("train", "test"):
            env = gym.make(env_id, split=split)
            rng = np.random.default_rng(0)
            for seed in range(100):
                env.reset(seed=seed)
                u = env.unwrapped
                for fact, sentence in zip(u.persona.facts, u.persona.sentences, strict=True):
                    sentences += 1
                    sentences_ok += lex.parse(sentence).facts == (fact,)
                done = False
                while not done:
                    for cand in u.candidates:
                        ok = _same(u.judge.score(u.move, cand),
                                   u.judge.score(u.move, lex.parse(cand.text)))
                        lines += 1
                        agree += ok
                        if cand.kind == "consistent":
                            expert += 1
                            expert_agree += ok
                    _, _, done, _, _ = env.step(int(rng.integers(u.k)))
            env.close()
    print(f"\nagreement: all lines {agree}/{lines} = {agree / lines:.4f}; expert lines "
          f"{expert_agree}/{expert} = {expert_agree / expert:.4f}; persona sentences "
          f"{sentences_ok}/{sentences} = {sentences_ok / sentences:.4f}")
    assert lines > 50_000 and expert > 6_000 and sentences > 3_000
    assert agree / lines >= 0.99
    assert expert_agree / expert >= 0.99
    assert sentences_ok / sentences >= 0.99


def test_parse_reads_every_template_of_every_relation(lex: LexicalJudge) -> None:
    from persona_gym.world import load_ontology, render

    onto = load_ontology()
    for rel in onto.relations.values():
        for templates, negated in ((rel.persona, False), (rel.answer, False),
                                   (rel.negated, True)):
            for template in templates:
                for value in rel.values:
                    text = render(template, value)
                    assert lex.parse(text).facts == (Fact(rel.name, value, negated),), text
        for text in rel.persona_none + rel.answer_none:
            assert lex.parse(text).facts == (Fact(rel.name, NONE),), text


# -- parse: phenomena of free text ---------------------------------------------------------------


def test_judge_pickles_and_copies(lex: LexicalJudge) -> None:
    import copy
    import pickle

    for clone in (pickle.loads(pickle.dumps(lex)), copy.deepcopy(lex)):
        assert clone.parse("I have two dogs.") == lex.parse("I have two dogs.")
        assert clone.judge(["I am 40."], [], "I'm 13.") == lex.judge(["I am 40."], [], "I'm 13.")


def test_parse_returns_a_free_text_line(lex: LexicalJudge) -> None:
    line = lex.parse("I'm a nurse.")
    assert isinstance(line, Line)
    assert line == Line("I'm a nurse.", (Fact("has_profession", "nurse"),), "answer", "free_text")
    with pytest.raises(TypeError, match="string"):
        lex.parse(42)  # type: ignore[arg-type]


@pytest.mark.parametrize(("text", "expected"), [
    ("I'm not a nurse.", Fact("has_profession", "nurse", True)),
    ("I have never worked as a nurse, honestly.", Fact("has_profession", "nurse", True)),
    ("I don't have a dog.", Fact("have_pet", "dog", True)),
    ("I've never owned a cat in my life.", Fact("have_pet", "cat", True)),
    ("I really don't like pizza.", Fact("like_food", "pizza", True)),
    ("I wasn't born in Japan.", Fact("born_in", "Japan", True)),
])
def test_parse_negation(lex: LexicalJudge, text: str, expected: Fact) -> None:
    assert expected in facts(lex, text)
    assert expected._replace(negated=False) not in facts(lex, text)


@pytest.mark.parametrize(("text", "relation"), [
    ("I don't have any pets.", "have_pet"),
    ("Honestly I have no pets at all.", "have_pet"),
    ("We don't have any kids.", None),  # not first person singular: no claim about the speaker
    ("I don't have any kids yet.", "have_children"),
    ("I'm an only child.", "have_sibling"),
    ("I don't have a car, I take the bus everywhere.", "own_vehicle"),
    ("Nothing really scares me.", "fear"),
])
def test_parse_none(lex: LexicalJudge, text: str, relation: str | None) -> None:
    got = facts(lex, text)
    if relation is None:
        assert not any(f.value == NONE for f in got)
    else:
        assert Fact(relation, NONE) in got


@pytest.mark.parametrize(("text", "age"), [
    ("I'm 42.", "42"),
    ("I'm 42 years old.", "42"),
    ("I'm forty-two.", "42"),
    ("I'm forty two years old, believe it or not.", "42"),
    ("I am a 42-year-old teacher.", "42"),
    ("I just turned sixty.", "60"),
    ("Oh, I turned 18 last week.", "18"),
])
def test_parse_ages_in_digits_and_words(lex: LexicalJudge, text: str, age: str) -> None:
    assert Fact("has_age", age) in facts(lex, text)


@pytest.mark.parametrize("text", [
    "I'm 42 minutes away.", "I have 42 cats.", "I'm 43.", "My son is 42.", "Are you 42?",
])
def test_parse_no_age_from_other_numbers(lex: LexicalJudge, text: str) -> None:
    assert not any(f.relation == "has_age" for f in facts(lex, text))


@pytest.mark.parametrize("text", [
    "I have a dog.", "I have dogs.", "I have two dogs.", "I've got three dogs at home.",
    "My dogs are my best friends.", "I own a cat and a dog.",
])
def test_parse_plural_and_article_variants(lex: LexicalJudge, text: str) -> None:
    assert Fact("have_pet", "dog") in facts(lex, text)


def test_parse_lists_and_counts(lex: LexicalJudge) -> None:
    assert facts(lex, "I own a cat, a hamster and a parrot.") == {
        Fact("have_pet", "cat"), Fact("have_pet", "hamster"), Fact("have_pet", "parrot")}
    assert facts(lex, "I have three kids.") == {Fact("have_children", "three kids")}
    assert facts(lex, "I have 2 children and a dog.") == {
        Fact("have_children", "two kids"), Fact("have_pet", "dog")}
    assert facts(lex, "I grew up with two sisters.") == {Fact("have_sibling", "two sisters")}
    assert facts(lex, "I have a brother and a sister.") == {
        Fact("have_sibling", "a brother and a sister")}


@pytest.mark.parametrize(("text", "expected"), [
    ("I've always wanted to be a nurse.", set()),  # nurse is no career goal in the vocabulary
    ("I've always wanted to be a doctor.", {Fact("career_goal", "doctor")}),
    ("Someday I hope to become an astronaut.", {Fact("career_goal", "astronaut")}),
    ("I'm studying to be a lawyer.", set()),
    ("I used to be a nurse.", set()),
    ("I was a teacher before I retired.", set()),
    ("I wish I had a dog.", set()),
    ("I'd love to live in Denver someday.", set()),
])
def test_parse_aspiration_and_past_are_not_current_facts(
    lex: LexicalJudge, text: str, expected: set[Fact]
) -> None:
    assert facts(lex, text) == expected


@pytest.mark.parametrize(("text", "act"), [
    ("As an AI, I don't have pets.", "answer"),
    ("I'm a large language model trained to help.", "answer"),
    ("Yes, I'm an AI language model.", "admit_ai"),
    ("As an AI I can't feel emotions, but I'm sorry you feel that way.", "empathize"),
    ("As an AI, I'm always happy to chat!", "engage"),
])
def test_parse_assistant_voice(lex: LexicalJudge, text: str, act: str) -> None:
    line = lex.parse(text)
    assert line.facts == (AI,)
    assert line.act == act


def test_parse_denying_being_an_ai_is_no_ai_claim(lex: LexicalJudge) -> None:
    line = lex.parse("I'm not an AI, I'm a real person! I'm a nurse, actually.")
    assert AI not in line.facts
    assert line.act == "deny_ai"
    assert Fact("has_profession", "nurse") in line.facts


@pytest.mark.parametrize(("text", "bad_relation"), [
    ("That's right, I'm a teacher.", "dominant_hand"),
    ("You said you're a teacher, right?", "dominant_hand"),
    ("I'm not sure I'm right about that.", "dominant_hand"),
    ("I fall asleep early.", "favorite_season"),
    ("I'm single-handedly raising my kids.", "marital_status"),
    ("I'm short on time today.", "height"),
    ("I love the country, it's so peaceful.", "like_music"),
    ("My sister is a nurse.", "has_profession"),
    ("I'm a catholic.", "have_pet"),
    ("I'm running late.", "has_hobby"),
])
def test_parse_matches_whole_words_in_context(
    lex: LexicalJudge, text: str, bad_relation: str
) -> None:
    assert not any(f.relation == bad_relation for f in facts(lex, text))


def test_parse_questions_assert_nothing(lex: LexicalJudge) -> None:
    assert lex.parse("Do you have a dog?").facts == ()
    teacher = Fact("has_profession", "teacher")
    assert lex.parse("Are you a nurse? I'm a teacher.").facts == (teacher,)


@pytest.mark.parametrize(("text", "act"), [
    ("I'm so sorry to hear that.", "empathize"),
    ("I'd rather not say.", "evade"),
    ("Let's talk about something else.", "evade"),
    ("Pretty good, thanks! How about you?", "engage"),
    ("What do you like to do for fun?", "engage"),
    ("Ha, no, I'm a real person!", "deny_ai"),
    ("I'm a nurse, actually.", "answer"),
    ("I am a nurse. I have a dog.", "recite"),
])
def test_parse_dialogue_acts(lex: LexicalJudge, text: str, act: str) -> None:
    line = lex.parse(text)
    assert line.act == act
    assert line.act in ACTS


# -- judge ----------------------------------------------------------------------------------------

PERSONA = ["I am 40 years old.", "I like to play chess.", "I have two cats.", "I am partly deaf.",
           "I live in Colorado."]


def test_lexical_judge_is_a_text_judge(lex: LexicalJudge) -> None:
    assert isinstance(lex, TextJudge)
    assert lex.name == "lexical"


@pytest.mark.parametrize(("line", "evidence"), [
    ("Hi, I'm 13 years old.", "I am 40 years old."),
    ("I've never played chess before.", "I like to play chess."),
    ("I don't have any pets, I'm allergic.", "I have two cats."),
    ("Oh cool! I live in Alaska.", "I live in Colorado."),
    ("I have three cats.", "I have two cats."),
])
def test_judge_contradiction_with_persona(lex: LexicalJudge, line: str, evidence: str) -> None:
    v = lex.judge(PERSONA, [], line)
    assert (v.label, v.against, v.evidence) == ("contradiction", "persona", evidence)
    assert v.scores["contradiction"] > max(v.scores["entailment"], v.scores["neutral"])


def test_judge_contradiction_with_history(lex: LexicalJudge) -> None:
    history = ["Hello there!", "Oh, that's cool. I have two brothers and one sister."]
    v = lex.judge(["I like to read."], history, "I'm an only child, so it was quiet at home.")
    assert (v.label, v.against, v.evidence) == ("contradiction", "history", history[1])


INEXPERIENCED = ["I watch birds every weekend.", "My favorite fruit is mango.",
                 "I sail every summer.", "Painting is my passion.", "I teach history."]


@pytest.mark.parametrize(("line", "evidence"), [
    ("That's neat! I've always wanted to try birdwatching.", "I watch birds every weekend."),
    ("Mango? I've never tried it.", "My favorite fruit is mango."),
    ("I've always been interested in sailing, but I've never had the chance to try it.",
     "I sail every summer."),
    ("I used to love to paint, but I haven't done it in years.", "Painting is my passion."),
])
def test_judge_inexperience_contradicts_doing(lex: LexicalJudge, line: str, evidence: str
                                              ) -> None:
    """Never having done, or only wanting to do, what the persona does: a compound ("bird" of
    "birdwatching"), a pronoun after an echo question ("Mango? ... tried it"), and a later
    clause that points back ("..., but I've never had the chance to try it")."""
    v = lex.judge(INEXPERIENCED, [], line)
    assert (v.label, v.against, v.evidence) == ("contradiction", "persona", evidence)


@pytest.mark.parametrize(("line", "label"), [
    ("I've always been interested in history.", "neutral"),  # curiosity is not teaching it
    ("Really? I've never tried it.", "neutral"),  # no noun asked back: "it" stays unresolved
    ("I love sailing, but I've never had a bad day on the water.", "entailment"),  # own object
])
def test_judge_inexperience_rules_stay_narrow(lex: LexicalJudge, line: str, label: str) -> None:
    assert lex.judge(INEXPERIENCED, [], line).label == label


@pytest.mark.parametrize(("persona", "line"), [
    # a reaction names the persona's thing, the next sentence's pronoun refers back to it
    ("My favorite activity is rock climbing.", "Rock climbing sounds fun! I've never tried it."),
    ("I love rollercoasters and sky diving.",
     "Rollercoasters and sky diving sound really exciting! I've never done either of those."),
    ("I live in colorado.", "I live in a small town in California."),  # a place within a state
    ("I live with my husband in pennsylvania.", "I live in Ohio."),  # "live with X in Y"
    ("I started a new job as a pa three months ago.", "I am retired and living the good life."),
    ("I am pregnant with my first child.", "I have two kids."),
    ("I live with my husband in pennsylvania.", "I'm moving in with my boyfriend next week."),
    ("I have been married for ten years.", "I'm marrying my boyfriend this summer."),
    ("I quit my job to pursue my spirituality full time.", "I'm a chef."),  # no job now
    ("I am unemployed.", "I work as a cashier at the mall."),
    ("I am a buddhist.", "I go to church every sunday."),  # one religion
    ("I was born in somalia.", "I'm from India."),  # one country of birth
])
def test_judge_round4_contradictions(lex: LexicalJudge, persona: str, line: str) -> None:
    v = lex.judge([persona, "I like to read."], [], line)
    assert (v.label, v.evidence) == ("contradiction", persona)


@pytest.mark.parametrize(("persona", "line", "label"), [
    ("I love hiking.", "Hiking sounds fun! I love it.", "entailment"),  # the pronoun, agreeing
    ("I love hiking.", "Hiking sounds fun!", "neutral"),  # a reaction asserts nothing itself
    ("I live in colorado.", "I live in a small town in Colorado.", "entailment"),
    ("I have been retired for years.", "I'm an expert gardener.", "neutral"),  # a hobby
    ("I have been retired for years.", "I work at a bookstore part-time.", "neutral"),
    ("I am married.", "My boyfriend of many years passed away.", "neutral"),  # "of": the past
    ("I have two kids.", "I was pregnant with my first child at 20.", "neutral"),
    ("I quit my job to travel.", "I'm an avid gardener.", "neutral"),  # a hobby, not a job
    ("I quit my job to travel.", "I quit my job as a teacher last year.", "neutral"),
    ("I was born in somalia.", "I live in India now.", "neutral"),  # living is not origin
    ("I am from america.", "I was born in the united states.", "neutral"),  # one country
])
def test_judge_round4_rules_stay_narrow(lex: LexicalJudge, persona: str, line: str,
                                        label: str) -> None:
    assert lex.judge([persona], [], line).label == label


@pytest.mark.parametrize(("persona", "line"), [
    ("I work as a museum tour guide.", "I work as a dental hygienist."),  # jobs in any words
    ("I am a librarian.", "I'm a stay-at-home dad."),
    ("I am a nurse.", "Hi! I'm in the fourth grade."),  # a grade-school child holds no job
    ("I am 11 years old.", "I'm in the navy."),
    ("I am 45 years old.", "I'm in the third grade."),
    ("I turned 19 last week.", "I retired last year."),
    ("My favorite color is teal.", "My favorite color is maroon."),  # one favourite a kind
    ("I am a farmer.", "I work at a bookstore."),  # a mined workplace, a job tied to a farm
    ("I started a new job as a pa three months ago.", "I'm a stay-at-home mom."),
    ("I am an elementary school teacher.", "I'm studying to be a teacher."),  # not yet one
    ("I am a nurse.", "I want to become a nurse someday."),
    ("I work at a nursing home.", "I work from home."),  # home is no part of a nursing home
])
def test_judge_single_valued_attributes_clash(lex: LexicalJudge, persona: str, line: str
                                              ) -> None:
    """One job now, one stage of life, one favourite of a kind (lexicon.PERSONA_VALUES, mined
    by bench/mine_persona_values.py, and the structural "I work as a X")."""
    v = lex.judge([persona], [], line)
    assert (v.label, v.against, v.evidence) == ("contradiction", "persona", persona)


@pytest.mark.parametrize(("persona", "line"), [
    ("I am a school teacher.", "I'm a teacher."),  # a job and its head are one job
    ("I work as a museum tour guide.", "I work as a tour guide at the museum."),
    ("I am a librarian.", "I also work part-time as a waiter."),  # a second job
    ("I am a nurse.", "I work as a volunteer at the shelter."),  # unpaid work
    ("I am a stay-at-home mom.", "I work from home."),
    ("I am a lifeguard.", "I'm in the ninth grade."),  # teenagers hold jobs: grade school counts
    ("I am 10 years old.", "My dad is a firefighter."),  # someone else's job
    ("I am 30 years old.", "I'm a college student."),
    ("I am a bartender.", "I work at a bar."),  # a job done in many kinds of place
    ("I started a new job as a pa.", "I work at a hospital."),  # an unknown job fits any place
    ("I work for our local supermarket.", "I'm working at the supermarket."),  # one place
    ("I work fulltime in a shipyard.", "I work in a shipyard building ships."),
    ("I am a musician.", "I work as a custodian to help pay the bills."),  # a second job
    ("My favorite food is pizza.", "My favorite food is pepperoni pizza."),
    ("My favorite band is Rascal Flatts.", "My favorite band is rascal flats."),
    ("My favorite color is blue.", "My favorite movie is Up."),
    ("My favorite color is grey.", "One of my favorite colors is green."),
    ("My favorite color is grey.", "My favorite color is not green."),
    ("I am a teacher.", "I want to be a better teacher."),
    ("I am a nurse.", "My daughter wants to be a nurse."),
])
def test_judge_single_valued_attributes_stay_narrow(lex: LexicalJudge, persona: str, line: str
                                                    ) -> None:
    assert lex.judge([persona], [], line).label != "contradiction"


def test_mined_persona_values_keep_jobs_and_attribute_kinds_only() -> None:
    """bench/mine_persona_values.py on hand-written text: jobs only in job contexts and not
    stages or pastimes; a kind of favourite a persona states, or with two values."""
    import sys

    sys.path.insert(0, str(Path(__file__).parents[1] / "bench"))
    try:
        from mine_persona_values import mine
    finally:
        sys.path.pop(0)
    texts = ["i work as a tour guide.", "i am an economics major at the university.",
             "i used to be a mountain biker.", "my dad is a plumber.", "i am a swimmer.",
             "i work at a bookstore.", "i am a stay-at-home dad.", "i am in the third grade.",
             "my favorite color is red.", "my favorite part is the ending.",
             "my favorite band is the who.", "my favorite band is aerosmith."]
    table = mine(texts, ["my favorite color is red."], {"plumber"})
    assert set(table["jobs"]) == {"plumber"}  # "guide" is no agent noun; major, biker stay out
    assert table["workplaces"] == {"bookstore": 1}
    assert table["stay_at_home"] == {"dad": 1} and table["grades"] == {"third": 1}
    assert table["favorite_kinds"] == {"band": 2, "color": 1}


@pytest.mark.skipif(not DEV.is_file(), reason="needs ../shared/data (SPC, dev.jsonl)")
def test_shipped_persona_values_are_the_generator_output() -> None:
    """The shipped table is what its documented command writes (and was mined from training
    families only: its provenance says which)."""
    import subprocess
    import sys
    import tempfile

    root = Path(__file__).parents[1]
    spc = (root / "../shared/data/spc/Synthetic-Persona-Chat_valid.csv").resolve()
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, str(root / "bench/mine_persona_values.py"), "--spc",
                        str(spc), "--dev", str(DEV), "--out", tmp], check=True,
                       capture_output=True)
        fresh = json.loads((Path(tmp) / "persona_values.json").read_text("utf-8"))
    shipped = root / "persona_gym/judges/data"
    assert fresh == json.loads((shipped / "persona_values.json").read_text("utf-8"))
    provenance = json.loads((shipped / "persona_values.provenance.json").read_text("utf-8"))
    assert provenance["spc"]["families"]["check4"] > 0  # the held-out families were known


@pytest.mark.parametrize(("line", "evidence"), [
    ("That's cool. I'm partly deaf, so I can't hear the tour guide.", "I am partly deaf."),
    ("Me too! I love playing chess with my friends.", "I like to play chess."),
    ("Oh, I'm 40.", "I am 40 years old."),
])
def test_judge_entailment(lex: LexicalJudge, line: str, evidence: str) -> None:
    v = lex.judge(PERSONA, [], line)
    assert (v.label, v.against, v.evidence) == ("entailment", "persona", evidence)


@pytest.mark.parametrize("line", [
    "Hi! How are you doing today?",
    "What do you like to do for fun?",
    "That sounds like a lot of fun!",
    "I love Italian food.",
    "You're so young!",
])
def test_judge_neutral(lex: LexicalJudge, line: str) -> None:
    v = lex.judge(PERSONA, ["I have two cats."], line)
    assert (v.label, v.against, v.evidence) == ("neutral", None, None)


def test_judge_assistant_voice_contradicts_persona(lex: LexicalJudge) -> None:
    v = lex.judge(PERSONA, [], "As an AI, I don't have an age.")
    assert (v.label, v.against) == ("contradiction", "persona")


def test_judge_scores_cover_all_labels(lex: LexicalJudge) -> None:
    for line in ("I'm 13.", "I'm partly deaf.", "Hello!"):
        v = lex.judge(PERSONA, [], line)
        assert set(v.scores) == set(LABELS)
        assert all(0.0 <= s <= 1.0 for s in v.scores.values())


def test_judge_many_matches_judge(lex: LexicalJudge) -> None:
    items = [(PERSONA, [], "I'm 13."), (PERSONA, ["I have a cat."], "Hello!")]
    assert lex.judge_many(items) == [lex.judge(*item) for item in items]


def test_judge_rejects_bad_input(lex: LexicalJudge) -> None:
    with pytest.raises(ValueError, match="persona must hold at least one"):
        lex.judge([], [], "x")
    with pytest.raises(TypeError, match="line must be a string"):
        lex.judge(PERSONA, [], None)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="persona must be a list"):
        lex.judge("I am a nurse.", [], "x")  # type: ignore[arg-type]


# -- Requirement B: quality on real text ---------------------------------------------------------


def _scores(pairs: list[tuple[str, str]]) -> tuple[dict[str, float], str]:
    """Accuracy, per-class precision/recall/F1, macro-F1, and a printable confusion matrix."""
    cm = Counter(pairs)
    out: dict[str, float] = {"accuracy": sum(cm[(lab, lab)] for lab in LABELS) / len(pairs)}
    f1 = []
    for lab in LABELS:
        tp = cm[(lab, lab)]
        predicted = sum(cm[(g, lab)] for g in LABELS)
        actual = sum(cm[(lab, p)] for p in LABELS)
        p = tp / predicted if predicted else 0.0
        r = tp / actual if actual else 0.0
        f1.append(2 * p * r / (p + r) if p + r else 0.0)
        out[f"{lab}_precision"], out[f"{lab}_recall"], out[f"{lab}_f1"] = p, r, f1[-1]
    out["macro_f1"] = sum(f1) / len(f1)
    rows = ["gold \\ predicted  " + " ".join(f"{lab[:6]:>6}" for lab in LABELS)]
    rows += [f"{g:17}  " + " ".join(f"{cm[(g, p)]:6d}" for p in LABELS) for g in LABELS]
    return out, "\n".join(rows)


@pytest.mark.skipif(not DEV.exists(), reason=f"dev data not found at {DEV} (only present in the "
                    "project's development checkout, see ../shared/data/README.md)")
def test_dev_set_quality(lex: LexicalJudge) -> None:
    items = [json.loads(line) for line in DEV.read_text("utf-8").splitlines() if line.strip()]
    assert len(items) == 240
    verdicts = lex.judge_many([(it["persona"], it["history"], it["line"]) for it in items])
    for it, v in zip(items, verdicts, strict=True):
        if v.label == "neutral":
            assert (v.against, v.evidence) == (None, None)
        else:  # the verbatim sentence or earlier line the verdict rests on
            assert v.evidence in (it["persona"] if v.against == "persona" else it["history"])
    halves = {"all 240": items, "even ids": [it for it in items if int(it["id"][-4:]) % 2 == 0],
              "odd ids": [it for it in items if int(it["id"][-4:]) % 2 == 1]}
    label = {it["id"]: v.label for it, v in zip(items, verdicts, strict=True)}
    for name, subset in halves.items():
        s, matrix = _scores([(it["label"], label[it["id"]]) for it in subset])
        print(f"\n{name} (n={len(subset)}): " + ", ".join(f"{k}={v:.3f}" for k, v in s.items()))
        print(matrix)
        if name == "all 240":
            assert s["contradiction_precision"] >= 0.80
            assert s["contradiction_recall"] >= 0.50
            assert s["macro_f1"] >= 0.60


# -- the reader on hand-varied replies (tests/data/paraphrase_replies.jsonl, issue 13) ----------

DATA = Path(__file__).parent / "data"
REPLY_BANDS = {"consistent": "> idle", "denial": "> idle", "evasive": "[0, idle]",
               "idle": "[0, idle]", "contradiction": "< 0", "assistant": "< 0"}


def _paraphrase_items() -> tuple[dict[str, Persona], list[dict]]:
    raw = json.loads((DATA / "paraphrase_personas.json").read_text("utf-8"))
    personas = {
        name: Persona(tuple(Fact(f[0], f[1], len(f) > 2 and bool(f[2])) for f in p["facts"]),
                      tuple(p["sentences"]))
        for name, p in raw.items() if not name.startswith("_")
    }
    items = [json.loads(line) for line in
             (DATA / "paraphrase_replies.jsonl").read_text("utf-8").splitlines() if line.strip()]
    return personas, items


def _in_band(expect: str, reward: float, idle: float) -> bool:
    if expect in ("consistent", "denial"):
        return reward > idle
    if expect in ("evasive", "idle"):
        return 0.0 <= reward <= idle
    return reward < 0.0


def test_paraphrase_suite_is_hand_written_and_well_formed(lex: LexicalJudge) -> None:
    from persona_gym.judges import lexicon

    personas, items = _paraphrase_items()
    assert len(items) >= 300
    assert len({it["id"] for it in items}) == len(items)
    onto = lex.ontology
    for it in items:
        assert it["persona"] in personas and it["expect"] in REPLY_BANDS, it["id"]
        move = it["move"]
        assert move["relation"] is None or move["relation"] in onto.relations, it["id"]
        # not the project's templates: no sentence of a reply is a world sentence
        for sentence in lexicon.SENTENCE_SPLIT.split(lexicon.expand(it["reply"])):
            key = lexicon.sentence_key(sentence)
            assert lex.reader.template_facts(key) is None, (it["id"], sentence)
    kinds = Counter(it["expect"] for it in items)
    assert min(kinds[k] for k in ("consistent", "contradiction", "evasive", "assistant",
                                  "denial")) >= 10, kinds


def test_reward_order_on_hand_varied_replies(lex: LexicalJudge) -> None:
    """consistent > evasive >= 0 > contradiction / assistant voice, for >= 90% of the suite,
    scored as the text env scores a reply: reader.parse(reply, move), the symbolic judge and
    the v1 reward of the open-chat text variant."""
    from persona_gym.cards import load_card
    from persona_gym.dialogue import Move
    from persona_gym.judges.symbolic import SymbolicJudge
    from persona_gym.rewards import line_reward

    weights = load_card("open_chat").weights("persona_gym/OpenChatText-v1")
    personas, items = _paraphrase_items()
    right: Counter[str] = Counter()
    total: Counter[str] = Counter()
    misses = []
    for it in items:
        m = it["move"]
        move = Move(m["kind"], m["text"], m["relation"], m["value"])
        judge = SymbolicJudge(lex.ontology, personas[it["persona"]])
        line = lex.reader.parse(it["reply"], move)
        reward = line_reward(judge.score(move, line), weights)
        ok = _in_band(it["expect"], reward, weights.idle)
        for key in (it["expect"], f"batch {it['batch']}", "all"):
            total[key] += 1
            right[key] += ok
        if not ok:
            misses.append(f"{it['id']} {it['expect']} ({REPLY_BANDS[it['expect']]}) got "
                          f"{reward:+.2f}: {it['reply']!r} -> {line.facts} {line.act}")
    print("\n" + ", ".join(f"{k} {right[k]}/{total[k]}" for k in sorted(total)))
    print("\n".join(misses))
    assert right["all"] / total["all"] >= 0.90
    for kind in ("consistent", "contradiction", "evasive", "assistant", "denial"):
        assert right[kind] / total[kind] >= 0.80, kind
    # without the move, short answers go unread: the move is what the reader needs
    bare = sum(_in_band(it["expect"], line_reward(SymbolicJudge(
        lex.ontology, personas[it["persona"]]).score(
        Move(it["move"]["kind"], it["move"]["text"], it["move"]["relation"],
             it["move"]["value"]), lex.reader.parse(it["reply"])), weights), weights.idle)
        for it in items)
    assert bare < right["all"]


READER_FINGERPRINTS = {1: "84723f2c0c1d770b"}
"""sha256 (first 16 hex digits) of the reader's readings of a fixed corpus, per
:data:`persona_gym.judges.reader.READER_VERSION`: free-text rewards (text variants, imported
logs) are those readings, so reading anything differently is a new reader version."""


SEEDS_READ = 60


def _reader_fingerprint(lex: LexicalJudge) -> str:
    """The readings (facts, act; the move read from the partner's line) of the paraphrase
    suite's replies (alone and as the answer to their move) and moves, and of every persona
    sentence, partner line and candidate of ``SEEDS_READ`` seeded conversations of each text
    variant (v1, the consistent reply half the time)."""
    import hashlib

    from persona_gym.dialogue import Move

    reader, h = lex.reader, hashlib.sha256()

    def read(text: str, move: Move | None = None) -> None:
        line = reader.parse(text, move)
        h.update(repr((text, sorted(map(repr, line.facts)), line.act)).encode())

    for it in _paraphrase_items()[1]:
        move = Move(**it["move"])
        h.update(repr(reader.parse_move(move.text)).encode())
        read(it["reply"])
        read(it["reply"], move)
    for domain in ("OpenChat", "Tutoring", "Counseling"):
        env = gym.make(f"persona_gym/{domain}Text-v1").unwrapped
        rng = np.random.default_rng(0)
        for seed in range(SEEDS_READ):
            env.reset(seed=seed)
            for sentence in env.persona.sentences:
                read(sentence)
            done = False
            while not done:
                h.update(repr(reader.parse_move(env.move.text)).encode())
                for c in env.candidates:
                    read(c.text, env.move)
                kinds = [c.kind for c in env.candidates]
                pick = kinds.index("consistent") if rng.random() < 0.5 else rng.integers(len(kinds))
                done = env.step(env.candidates[int(pick)].text)[2]
    return h.hexdigest()[:16]


def test_reader_readings_are_versioned(lex: LexicalJudge) -> None:
    from persona_gym.judges.reader import READER_VERSION

    got = _reader_fingerprint(lex)
    assert READER_FINGERPRINTS.get(READER_VERSION) == got, (
        f"the reader reads the fixed corpus differently from reader version {READER_VERSION} "
        f"(fingerprint {got}): free-text rewards changed, so raise READER_VERSION in "
        "persona_gym/judges/reader.py and add its fingerprint to READER_FINGERPRINTS")


@pytest.mark.parametrize(("move", "reply", "expected"), [
    (("ask", "What kind of music do you like?", "like_music", None), "Jazz, always jazz.",
     {Fact("like_music", "jazz")}),
    (("ask", "How old are you?", "has_age", None), "Forty-two.", {Fact("has_age", "42")}),
    (("ask", "Do you have kids?", "have_children", None), "Two, a boy and a girl.",
     {Fact("have_children", "two kids")}),
    (("ask", "Any pets?", "have_pet", None), "Nope.", {Fact("have_pet", NONE)}),
    (("premise", "You're a teacher, right?", "has_profession", "teacher"), "Yep.",
     {Fact("has_profession", "teacher")}),
    (("premise", "You're a teacher, right?", "has_profession", "teacher"), "Nope.",
     {Fact("has_profession", "teacher", True)}),
    (("ask", "Do you have a dog?", "have_pet", None), "Yes!", {Fact("have_pet", "dog")}),
    (("ask", "What do you like to drink?", "like_drink", None), "Honestly I can't stand coffee.",
     {Fact("like_drink", "coffee", True)}),
    (("ask", "Where do you live?", "live_in", None), "My sister lives in Denver.", set()),
    (("ask", "Any pets?", "have_pet", None), "I'd love a dog someday.", set()),
    (("meta", "Are you an AI?", None, None), "Haha no, just a regular human.", {HUMAN}),
    (("meta", "Are you an AI?", None, None), "Yes, I'm an AI.", {AI}),
])
def test_parse_reads_short_answers_to_the_move(
    lex: LexicalJudge, move: tuple, reply: str, expected: set[Fact]
) -> None:
    from persona_gym.dialogue import Move

    assert set(lex.reader.parse(reply, Move(*move)).facts) == expected


def test_parse_with_a_move_reads_world_lines_as_without(lex: LexicalJudge) -> None:
    n = 0
    for env_id in ("persona_gym/OpenChat-v1", "persona_gym/Tutoring-v0"):
        env = gym.make(env_id)
        rng = np.random.default_rng(1)
        for seed in range(30):
            env.reset(seed=seed)
            u = env.unwrapped
            done = False
            while not done:
                for cand in u.candidates:
                    n += 1
                    assert lex.reader.parse(cand.text, u.move) == lex.reader.parse(cand.text), (
                        u.move, cand.text)
                _, _, done, _, _ = env.step(int(rng.integers(u.k)))
    assert n > 1000


def test_text_env_reads_a_short_answer_as_the_answer_to_its_move() -> None:
    env = gym.make("persona_gym/OpenChatText-v1")
    for seed in range(200):
        env.reset(seed=seed)
        u = env.unwrapped
        if u.move.kind != "ask":
            continue
        held = [f.value for f in u.persona.facts
                if f.relation == u.move.relation and not f.negated and f.value != NONE]
        if held and u.move.relation not in ("has_age", "have_children", "have_sibling"):
            break
    else:
        pytest.fail("no seed opens with a question on a relation the persona fixes")
    _, reward, _, _, info = env.step(f"{held[0].capitalize()}, for sure.")
    assert info["scores"]["qa"] == 1 and reward == pytest.approx(1.0)


def test_a_value_read_for_another_relation_is_not_also_the_answer() -> None:
    """"A phobia of dogs" to "Any animals?" states a fear; it is not a dog of one's own (found
    by the parrot reciting "I have a fear of dogs" on CounselingText-v1: a false contradiction)."""
    from persona_gym.dialogue import Move
    from persona_gym.judges.reader import TextReader
    from persona_gym.world import load_ontology

    reader = TextReader(load_ontology())
    move = Move("probe", "Let's come back to this: do you have any animals?", "have_pet")
    line = reader.parse("Hmm, I've got a real phobia of dogs. Plus, I have three sisters.", move)
    assert {f.relation for f in line.facts} == {"fear", "have_sibling"}
    assert reader.parse("Two dogs, both rescues.", move).facts  # a plain answer still reads
