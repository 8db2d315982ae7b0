"""Personas: 4-8 consistent facts rendered as first-person sentences, in disjoint splits.

Split membership is a property of the persona itself, not of the order it was drawn in: a stable
hash (BLAKE2b) of the persona's sorted facts picks ``train`` (80%), ``valid`` (10%) or ``test``
(10%). Sampling for a split draws consistent fact sets from the caller's random stream and keeps
the first whose hash lands in that split, so splits are disjoint by construction and the same
RNG state always yields the same persona.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from persona_gym.rng import Stream
from persona_gym.world.ontology import Fact, Ontology

SPLITS = ("train", "valid", "test")
_SPLIT_BUCKETS = {"train": range(0, 8), "valid": range(8, 9), "test": range(9, 10)}


@dataclass(frozen=True)
class Persona:
    """A speaker's profile: facts plus the sentences the agent is shown."""

    facts: tuple[Fact, ...]
    sentences: tuple[str, ...]

    @property
    def key(self) -> str:
        """Canonical text of the fact set (order-free)."""
        return ";".join(str(f) for f in sorted(self.facts))

    @property
    def relations(self) -> frozenset[str]:
        return frozenset(f.relation for f in self.facts)

    def values(self, relation: str) -> tuple[str, ...]:
        return tuple(f.value for f in self.facts if f.relation == relation)


def split_of(facts: Sequence[Fact]) -> str:
    """The split a fact set belongs to (stable across processes and platforms)."""
    key = ";".join(str(f) for f in sorted(facts)).encode()
    bucket = hashlib.blake2b(key, digest_size=8).digest()[0] % 10
    return next(s for s, r in _SPLIT_BUCKETS.items() if bucket in r)


def sample_persona(
    ontology: Ontology,
    rng: Stream,
    split: str,
    relations: Sequence[str],
    required: Sequence[str] = (),
    min_facts: int = 4,
    max_facts: int = 8,
) -> Persona:
    """Draw a consistent persona of the given split.

    ``relations`` is the pool the persona's relations come from (a domain's choice), ``required``
    relations are always included. Multi-valued relations may contribute two facts.
    """
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; use one of {SPLITS}")
    for _ in range(10_000):
        facts = _sample_facts(ontology, rng, relations, required, min_facts, max_facts)
        if split_of(facts) == split:
            facts = rng.shuffled(facts)
            sentences = tuple(_persona_sentence(ontology, f, rng) for f in facts)
            return Persona(facts=tuple(facts), sentences=sentences)
    raise RuntimeError(f"could not draw a persona for split {split!r}; is the relation pool tiny?")


def _sample_facts(
    ontology: Ontology,
    rng: Stream,
    relations: Sequence[str],
    required: Sequence[str],
    min_facts: int,
    max_facts: int,
) -> list[Fact]:
    n = min_facts + rng.index(max_facts - min_facts + 1)
    pool = [r for r in relations if r not in required]
    facts: list[Fact] = []
    keys: set[tuple[str, str]] = set()
    conflicts = ontology.conflict_keys  # symmetric: (r, v) contradicts a chosen fact iff
    # the chosen fact is among (r, v)'s conflicts

    def taken(key: tuple[str, str]) -> bool:
        return key in keys or not conflicts(*key).isdisjoint(keys)

    names = list(required)
    for name in _draw_order(pool, rng):
        names.append(name)
        if len(names) >= 2 * n:
            break
    for name in names:
        if len(facts) >= n:
            break
        rel = ontology[name]
        k = 2 if rel.multi and len(facts) + 2 <= n and rng.random() < 0.3 else 1
        values = rel.values if k == 2 else rel.all_values
        for _ in range(k):
            value = rng.pick(values)
            if taken((name, value)):
                options = [v for v in values if not taken((name, v))]
                if not options:
                    break
                value = rng.pick(options)
            facts.append(Fact(name, value))
            keys.add((name, value))
    return facts


def _draw_order(pool: list[str], rng: Stream) -> Iterator[str]:
    """The pool in random order, drawn lazily (a partial Fisher-Yates shuffle)."""
    pool = list(pool)
    for i in range(len(pool)):
        j = i + rng.index(len(pool) - i)
        pool[i], pool[j] = pool[j], pool[i]
        yield pool[i]


def _persona_sentence(ontology: Ontology, fact: Fact, rng: Stream) -> str:
    return rng.pick(ontology.phrases("persona", fact.relation, fact.value))
