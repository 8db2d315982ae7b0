"""The ontology, contradiction rules, and persona sampling with disjoint splits."""

from __future__ import annotations

import numpy as np
import pytest

from persona_gym.rng import Stream
from persona_gym.world import (
    AI,
    HUMAN,
    NONE,
    SPLITS,
    Fact,
    load_ontology,
    render,
    sample_persona,
    split_of,
)

ONTO = load_ontology()
POOL = sorted(ONTO.relations)


def test_ontology_size_and_templates() -> None:
    assert len(ONTO.relations) >= 25
    for rel in ONTO.relations.values():
        assert len(rel.persona) >= 3 and len(rel.answer) >= 3 and len(rel.question) >= 3
        assert len(set(rel.persona) | set(rel.answer)) == len(rel.persona) + len(rel.answer)
        for v in rel.values:
            for t in (*rel.persona, *rel.answer, *rel.negated, *rel.claim):
                assert v in render(t, v), (rel.name, t, v)
        if rel.has_none:
            assert len(rel.persona_none) >= 3 and len(rel.answer_none) >= 3


def test_ontology_has_single_multi_none_and_opposites() -> None:
    rels = list(ONTO.relations.values())
    assert any(r.multi for r in rels) and any(not r.multi for r in rels)
    assert any(r.has_none for r in rels)
    assert any(r.opposite for r in rels)
    assert len(ONTO.incompatible) >= 10


@pytest.mark.parametrize(
    ("f", "g", "expected"),
    [
        # rule 1: negation
        (Fact("has_profession", "nurse"), Fact("has_profession", "nurse", True), True),
        (Fact("has_profession", "nurse", True), Fact("has_profession", "chef"), False),
        # rule 2: none vs positive
        (Fact("have_pet", "dog"), Fact("have_pet", NONE), True),
        # rule 3: single-valued, different values; multi-valued values coexist
        (Fact("has_profession", "nurse"), Fact("has_profession", "chef"), True),
        (Fact("have_pet", "dog"), Fact("have_pet", "cat"), False),
        # rule 4: opposite relations, same value
        (Fact("like_food", "pizza"), Fact("dislike_food", "pizza"), True),
        (Fact("like_food", "pizza"), Fact("dislike_food", "sushi"), False),
        # rule 5: incompatibility table
        (Fact("diet", "vegan"), Fact("like_food", "steak"), True),
        # identity: assistant voice vs the implicit human persona
        (AI, HUMAN, True),
        # same fact twice is consistent
        (Fact("has_age", "33"), Fact("has_age", "33"), False),
    ],
)
def test_contradiction_rules(f: Fact, g: Fact, expected: bool) -> None:
    assert ONTO.contradicts(f, g) is expected
    assert ONTO.contradicts(g, f) is expected  # symmetric


def test_incompatible_pairs_contradict_both_ways() -> None:
    for (ra, va), (rb, vb) in ONTO.incompatible:
        assert ONTO.contradicts(Fact(ra, va), Fact(rb, vb))
        assert ONTO.contradicts(Fact(rb, vb), Fact(ra, va))


def _draw(split: str, seed: int) -> object:
    return sample_persona(ONTO, Stream(np.random.default_rng(seed)), split, POOL)


def test_personas_are_consistent_and_sized() -> None:
    for seed in range(300):
        p = _draw("train", seed)
        assert 4 <= len(p.facts) <= 8
        assert len(p.sentences) == len(p.facts)
        assert len(set(p.facts)) == len(p.facts)
        for i, f in enumerate(p.facts):
            assert not ONTO.conflicts(f, p.facts[i + 1 :]), p.facts
        assert split_of(p.facts) == "train"


def test_persona_sampling_is_deterministic() -> None:
    assert _draw("test", 7) == _draw("test", 7)
    assert _draw("test", 7) != _draw("test", 8)


def test_splits_are_disjoint() -> None:
    keys = {s: {_draw(s, seed).key for seed in range(400)} for s in SPLITS}
    assert not keys["train"] & keys["valid"]
    assert not keys["train"] & keys["test"]
    assert not keys["valid"] & keys["test"]
    # membership is a property of the fact set, whatever the draw order
    for s in SPLITS:
        for key in list(keys[s])[:20]:
            facts = [Fact(*part.split("=")) for part in key.split(";")]
            assert split_of(list(reversed(facts))) == s


def test_required_relations_are_always_present() -> None:
    for seed in range(50):
        p = sample_persona(ONTO, Stream(np.random.default_rng(seed)), "valid", POOL,
                           required=("attend_school", "favorite_subject"))
        assert {"attend_school", "favorite_subject"} <= p.relations


def test_unknown_split_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown split 'dev'"):
        _draw("dev", 0)


def test_phrases_and_grouped_conflicts_are_the_tables_they_cache() -> None:
    """The per-process tables equal rendering each template (``*_none`` ones for none)."""
    for rel in ONTO.relations.values():
        for v in rel.all_values:
            for kind in ("persona", "answer", "claim"):
                templates = getattr(rel, f"{kind}_none" if v == NONE else kind)
                assert ONTO.phrases(kind, rel.name, v) == tuple(render(t, v) for t in templates)
            if v != NONE:
                assert ONTO.phrases("negated", rel.name, v) == tuple(
                    render(t, v) for t in rel.negated)
            pairs = [(r, w) for r, ws in ONTO.conflicts_by_relation(rel.name, v) for w in ws]
            assert pairs == sorted(ONTO.conflict_keys(rel.name, v))
