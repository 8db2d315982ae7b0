"""The learned judge (judges/learned.py): its shipped head, its plumbing on a fake encoder, and
its figures on real text as a regression floor (dev set and the check sets, when
../shared/data is present)."""

from __future__ import annotations

import hashlib
import json
import sys
from importlib import resources
from pathlib import Path

import numpy as np
import pytest

from persona_gym.judges import get_judge
from persona_gym.judges.base import LABELS, TextJudge
from persona_gym.judges.evaluate import classification_report
from persona_gym.judges.learned import (
    HEAD_FILES,
    LEXICAL_FEATURES,
    Head,
    LearnedJudge,
    pair_features,
    provenance,
    statement_units,
)

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
DEV = SHARED / "persona-consistency" / "dev.jsonl"
SPC = SHARED / "spc" / "Synthetic-Persona-Chat_valid.csv"
NEEDS_SHARED = pytest.mark.skipif(
    not (DEV.exists() and SPC.exists()),
    reason=f"../shared/data not found at {SHARED} (only in the project's development "
    "checkout, see ../shared/data/README.md)")
PERSONA = ["I am 40 years old.", "I like to play chess.", "I have two cats.",
           "I live in Colorado."]


def fake_encoder(texts):
    """Deterministic unit vectors from a hash of each text (no model)."""
    out = []
    for t in texts:
        seed = int(hashlib.sha256(t.encode()).hexdigest()[:8], 16)
        v = np.random.default_rng(seed).standard_normal(384).astype(np.float32)
        out.append(v / np.linalg.norm(v))
    return np.stack(out) if out else np.zeros((0, 384), np.float32)


@pytest.fixture(scope="module")
def fake() -> LearnedJudge:
    return LearnedJudge(encoder=fake_encoder)


def test_shipped_head_loads_and_its_provenance_matches() -> None:
    head = Head.load()
    assert head.dim == 2 * 384 + len(LEXICAL_FEATURES)
    record = provenance()
    for key in ("command", "features", "thresholds", "data", "weights_sha256"):
        assert key in record
    weights = resources.files("persona_gym.judges").joinpath("head", HEAD_FILES[0])
    assert hashlib.sha256(weights.read_bytes()).hexdigest() == record["weights_sha256"]
    assert record["data"]["dev_used_for"].startswith("excluding")
    assert weights.stat().st_size if hasattr(weights, "stat") else True
    assert len(weights.read_bytes()) < 200_000  # kilobytes, not a model


def test_head_rejects_bad_arrays_and_missing_files(tmp_path: Path) -> None:
    good = {k: np.asarray(v) for k, v in np.load(
        resources.files("persona_gym.judges").joinpath("head", HEAD_FILES[0]),
        allow_pickle=False).items()}
    with pytest.raises(ValueError, match="lacks the array"):
        Head({k: v for k, v in good.items() if k != "W2"})
    with pytest.raises(ValueError, match="do not fit"):
        Head({**good, "b2": np.zeros(4, np.float32)})
    with pytest.raises(FileNotFoundError, match="train one with"):
        Head.load(tmp_path / "nope.npz")
    head = Head(good)
    head.save(tmp_path / "h.npz")
    again = Head.load(tmp_path / "h.npz")
    x = np.ones((2, head.dim), np.float32)
    assert np.allclose(head.probabilities(x), again.probabilities(x))
    assert np.allclose(head.probabilities(x).sum(axis=1), 1.0)
    with pytest.raises(ValueError, match="expected features of shape"):
        head.probabilities(np.ones((2, 3), np.float32))


def test_statement_units_drop_questions() -> None:
    assert statement_units("Hi! Do you like chess?") == ["Hi!"]
    assert statement_units("What about you?") == []
    assert statement_units("I'm 13. I love cats.") == ["I'm 13.", "I love cats.",
                                                       "I'm 13. I love cats."]


def test_pair_features_layout() -> None:
    u, v = fake_encoder(["a", "b"])
    lex = np.arange(len(LEXICAL_FEATURES), dtype=np.float32)
    f = pair_features(u, v, lex)
    assert f.shape == (2 * 384 + len(LEXICAL_FEATURES),)
    assert np.allclose(f[:384], u * v) and np.allclose(f[384:768], np.abs(u - v))
    assert np.allclose(f[768:], lex)


def test_learned_judge_is_a_text_judge(fake: LearnedJudge) -> None:
    assert isinstance(fake, TextJudge) and fake.name == "learned"


def test_rule_contradictions_stand_with_their_evidence(fake: LearnedJudge) -> None:
    v = fake.judge(PERSONA, [], "Hi, I'm 13 years old.")
    assert (v.label, v.against, v.evidence) == ("contradiction", "persona", "I am 40 years old.")
    assert set(v.scores) == set(LABELS) and all(0 <= s <= 1 for s in v.scores.values())


def test_questions_and_greetings_are_neutral(fake: LearnedJudge) -> None:
    for line in ("What do you like to do for fun?", "Hello!"):
        v = fake.judge(PERSONA, ["Do you like chess?"], line)
        assert (v.label, v.against, v.evidence) == ("neutral", None, None), line


def test_head_entails_only_through_a_shared_content_word() -> None:
    """A head that calls every pair an entailment still needs a content word both sides
    assert: a content-free line or a neighbouring topic is no restatement."""
    d = 2 * 384 + len(LEXICAL_FEATURES)
    always = Head({"mean": np.zeros(d), "scale": np.ones(d), "W1": np.zeros((d, 1)),
                   "b1": np.zeros(1), "W2": np.zeros((1, 3)), "b2": np.array([0.0, 10.0, 0.0]),
                   "contradiction": 2.0, "entailment": 0.9})
    judge = LearnedJudge(head=always, encoder=fake_encoder)
    assert judge.judge(["I like to swim."], ["Me too!"], "Me too!").label == "neutral"
    v = judge.judge(["I love spending money."], [], "I enjoy shopping for clothes.")
    assert (v.label, v.scores["entailment"]) == ("neutral", 0.0)
    v = judge.judge(["I love spending money."], [], "Spending money is my hobby.")
    assert (v.label, v.evidence) == ("entailment", "I love spending money.")


def test_judge_many_matches_judge_and_rejects_bad_input(fake: LearnedJudge) -> None:
    items = [(PERSONA, [], "I'm 13."), (PERSONA, ["I have a cat."], "Hello!")]
    assert fake.judge_many(items) == [fake.judge(*it) for it in items]
    with pytest.raises(ValueError, match="persona must hold at least one"):
        fake.judge([], [], "x")


def test_encoder_of_the_wrong_shape_is_named() -> None:
    judge = LearnedJudge(encoder=lambda texts: np.zeros((len(texts), 5), np.float32))
    with pytest.raises(ValueError, match="expected \\(n, 384\\)"):
        judge.judge(PERSONA, [], "I love chess.")


def test_get_judge_learned() -> None:
    assert get_judge("learned").name == "learned"
    with pytest.raises(ValueError, match="takes no model"):
        get_judge("learned", model="x")
    with pytest.raises(ValueError, match="unknown judge"):
        get_judge("bert")


def _load(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text("utf-8").splitlines() if x.strip()]


def _report(judge: LearnedJudge, items: list[dict]) -> dict:
    verdicts = judge.judge_many([(it["persona"], it["history"], it["line"]) for it in items])
    for it, v in zip(items, verdicts, strict=True):
        if v.label != "neutral":
            assert v.evidence in (it["persona"] if v.against == "persona" else
                                  [u for h in it["history"] for u in statement_units(h)]
                                  + it["history"])
    return classification_report([it["label"] for it in items], [v.label for v in verdicts])


@pytest.fixture(scope="module")
def real() -> LearnedJudge:
    return LearnedJudge()


@NEEDS_SHARED
def test_dev_set_floor(real: LearnedJudge) -> None:
    """Regression floor on ../shared/data/persona-consistency/dev.jsonl (never trained or
    tuned on: the head's training excludes the conversations its lines come from)."""
    r = _report(real, _load(DEV))
    c = r["per_label"]["contradiction"]
    print(f"\ndev: macro-F1 {r['macro_f1']:.3f}, contradiction P/R {c['precision']:.3f}/"
          f"{c['recall']:.3f}")
    assert r["macro_f1"] >= 0.93
    assert c["precision"] >= 0.95 and c["recall"] >= 0.85


@NEEDS_SHARED
def test_check_sets_floor(real: LearnedJudge) -> None:
    """The hand-labelled check sets from persona families the head never saw
    (bench/judge_check_sets.py): ``check`` was used to choose rules and the threshold,
    ``check2`` to measure and then (round 2) to choose rules from its misses, ``check3`` to
    measure once at the end of round 2 (0.799; its misses were read in round 3: 0.854),
    ``check4`` to measure once at the end of round 3 (0.846; its misses were read in round 4:
    0.893), ``check5`` (an independent annotator's labels) to measure once at the end of round
    4 (0.665; its misses were read then: 0.733)."""
    sys.path.insert(0, str(ROOT / "bench"))
    try:
        from judge_check_sets import build
    finally:
        sys.path.pop(0)
    sets = build(SPC)
    assert {k: len(v) for k, v in sets.items()} == {"check": 240, "check2": 120, "check3": 150,
                                                     "check4": 149, "check5": 203}
    floors = {"check": 0.87, "check2": 0.84, "check3": 0.83, "check4": 0.87, "check5": 0.71}
    for name, items in sets.items():
        r = _report(real, items)
        c = r["per_label"]["contradiction"]
        print(f"\n{name}: macro-F1 {r['macro_f1']:.3f}, contradiction P/R "
              f"{c['precision']:.3f}/{c['recall']:.3f}")
        assert r["macro_f1"] >= floors[name], name
