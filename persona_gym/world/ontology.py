"""The closed-vocabulary ontology of persona facts (DESIGN.md §3).

Relations follow the Dialogue NLI schema (Welleck et al. 2019): a fact is a ``(relation, value)``
pair, optionally negated. The vocabulary and all surface templates live in ``ontology.toml`` next
to this file; this module loads and validates it once and answers the one question the rest of
the project asks of it: *do two facts contradict each other?*

Contradiction rules (the only place they are defined):

1. Same relation, same value, one negated and one not (``I'm a nurse`` / ``I'm not a nurse``).
2. Same relation, one value is ``none`` and the other is a positive value (``I have a dog`` /
   ``I don't have any pets``).
3. Same single-valued relation, two different positive values (``I'm 25`` / ``I'm 42``).
4. Opposite relations with the same value (``like_food pizza`` / ``dislike_food pizza``).
5. A pair listed in the ontology's ``[[incompatible]]`` table (``vegan`` / ``likes steak``).

Negated facts only contradict rule 1. Two positive values of a multi-valued relation never
contradict (a person may have a dog *and* a cat). Every persona implicitly holds
``identity = human``; a line claiming ``identity = ai`` (assistant voice) contradicts it.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any, NamedTuple

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

NONE = "none"
"""The value of a ``none``-able relation meaning "not any" (no pets, no kids, not in school)."""

IDENTITY = "identity"
"""Hidden relation every persona holds as ``human``; assistant-voice lines assert ``ai``."""


class Fact(NamedTuple):
    """One atomic claim about the speaker: ``relation = value`` (or its negation)."""

    relation: str
    value: str
    negated: bool = False

    def __str__(self) -> str:
        return f"{'not ' if self.negated else ''}{self.relation}={self.value}"


HUMAN = Fact(IDENTITY, "human")
AI = Fact(IDENTITY, "ai")


@dataclass(frozen=True)
class Relation:
    """A relation type with its closed vocabulary and paraphrase templates."""

    name: str
    noun: str
    multi: bool
    has_none: bool
    opposite: str
    values: tuple[str, ...]
    persona: tuple[str, ...]
    answer: tuple[str, ...]
    question: tuple[str, ...]
    claim: tuple[str, ...]
    negated: tuple[str, ...]
    persona_none: tuple[str, ...] = ()
    answer_none: tuple[str, ...] = ()
    claim_none: tuple[str, ...] = ()

    @property
    def all_values(self) -> tuple[str, ...]:
        """Positive values plus ``none`` where the relation has it."""
        return (*self.values, NONE) if self.has_none else self.values


def article(value: str) -> str:
    """``value`` with its indefinite article (``an accountant``, ``a nurse``)."""
    return ("an " if value[:1].lower() in "aeiou" else "a ") + value


def render(template: str, value: str) -> str:
    """Fill one template: ``{v}`` is the raw value, ``{a}`` the value with its article."""
    return template.format(v=value, a=article(value))


@dataclass(frozen=True)
class Ontology:
    """All relations plus the contradiction index built from them."""

    relations: dict[str, Relation]
    incompatible: frozenset[tuple[tuple[str, str], tuple[str, str]]]
    _conflict: dict[tuple[str, str], frozenset[tuple[str, str]]] = field(repr=False)
    """For every positive fact ``(relation, value)``, the positive facts it contradicts."""
    _related: dict[str, frozenset[str]] = field(repr=False)
    _conflict_groups: dict[tuple[str, str], tuple[tuple[str, tuple[str, ...]], ...]] = field(
        init=False, repr=False, compare=False)
    _phrases: dict[tuple[str, str, str], tuple[str, ...]] = field(
        init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        groups: dict[tuple[str, str], tuple[tuple[str, tuple[str, ...]], ...]] = {}
        for key, others in self._conflict.items():
            by_relation: dict[str, list[str]] = {}
            for r, v in sorted(others):
                by_relation.setdefault(r, []).append(v)
            groups[key] = tuple((r, tuple(vs)) for r, vs in by_relation.items())
        object.__setattr__(self, "_conflict_groups", groups)
        object.__setattr__(self, "_phrases", {})

    def phrases(self, kind: str, relation: str, value: str) -> tuple[str, ...]:
        """Every template of ``kind`` (``"persona"``, ``"answer"``, ``"claim"`` or
        ``"negated"``) of ``relation`` rendered with ``value``, in template order; the
        ``*_none`` templates for the value ``none``. Rendered once per process."""
        key = (kind, relation, value)
        out = self._phrases.get(key)
        if out is None:
            rel = self[relation]
            name = f"{kind}_none" if value == NONE and kind != "negated" else kind
            out = self._phrases[key] = tuple(render(t, value) for t in getattr(rel, name))
        return out

    def __getitem__(self, name: str) -> Relation:
        try:
            return self.relations[name]
        except KeyError:
            raise KeyError(
                f"unknown relation {name!r}; known relations: {', '.join(sorted(self.relations))}"
            ) from None

    def contradicts(self, f: Fact, g: Fact) -> bool:
        """True if ``f`` and ``g`` cannot both hold of one speaker (rules in the module doc)."""
        if f.negated or g.negated:
            return f.negated != g.negated and f.relation == g.relation and f.value == g.value
        return (g.relation, g.value) in self._conflict.get((f.relation, f.value), ())

    def conflict_keys(self, relation: str, value: str) -> frozenset[tuple[str, str]]:
        """The positive ``(relation, value)`` pairs that contradict ``relation = value``."""
        return self._conflict.get((relation, value), frozenset())

    def conflicts_by_relation(
        self, relation: str, value: str
    ) -> tuple[tuple[str, tuple[str, ...]], ...]:
        """:meth:`conflict_keys` grouped by relation, as ``(relation, values)`` pairs in sorted
        order (a set's order varies between processes)."""
        return self._conflict_groups.get((relation, value), ())

    def related(self, relation: str) -> frozenset[str]:
        """Relations whose facts can contradict a fact on ``relation`` (itself included)."""
        return self._related.get(relation, frozenset((relation,)))

    def conflicts(self, fact: Fact, facts: Iterable[Fact]) -> list[Fact]:
        """The members of ``facts`` that contradict ``fact``."""
        return [g for g in facts if self.contradicts(fact, g)]


class OntologyError(ValueError):
    """The ontology file is malformed."""


_LIST_KEYS = ("values", "persona", "answer", "question", "claim", "negated")
_NONE_KEYS = ("persona_none", "answer_none", "claim_none")


def _parse(data: dict[str, Any]) -> Ontology:
    relations: dict[str, Relation] = {}
    for name, spec in data.get("relations", {}).items():
        missing = [k for k in ("noun", "multi", "none", *_LIST_KEYS) if k not in spec]
        if missing:
            raise OntologyError(f"relation {name!r} lacks {missing}")
        if spec["none"] != all(k in spec for k in _NONE_KEYS) or (
            not spec["none"] and any(k in spec for k in _NONE_KEYS)
        ):
            raise OntologyError(f"relation {name!r}: give {_NONE_KEYS} exactly when none = true")
        for key in ("persona", "answer", "question"):
            if len(spec[key]) < 3:
                raise OntologyError(f"relation {name!r} needs >= 3 {key} templates")
        if len(set(spec["values"])) != len(spec["values"]) or NONE in spec["values"]:
            raise OntologyError(f"relation {name!r}: values must be unique and not 'none'")
        relations[name] = Relation(
            name=name,
            noun=spec["noun"],
            multi=bool(spec["multi"]),
            has_none=bool(spec["none"]),
            opposite=spec.get("opposite", ""),
            **{k: tuple(spec[k]) for k in _LIST_KEYS},
            **{k: tuple(spec.get(k, ())) for k in _NONE_KEYS},
        )
    for rel in relations.values():
        if rel.opposite and rel.opposite not in relations:
            raise OntologyError(f"relation {rel.name!r}: opposite {rel.opposite!r} is unknown")
    pairs: set[tuple[tuple[str, str], tuple[str, str]]] = set()
    conflict: dict[tuple[str, str], set[tuple[str, str]]] = {
        (IDENTITY, "human"): {(IDENTITY, "ai")},
        (IDENTITY, "ai"): {(IDENTITY, "human")},
    }

    def link(a: tuple[str, str], b: tuple[str, str]) -> None:
        conflict.setdefault(a, set()).add(b)
        conflict.setdefault(b, set()).add(a)

    for rel in relations.values():
        values = rel.values
        for v in rel.all_values:
            conflict.setdefault((rel.name, v), set())
        if rel.has_none:  # rule 2
            for v in values:
                link((rel.name, v), (rel.name, NONE))
        if not rel.multi:  # rule 3
            for i, v in enumerate(values):
                for w in values[i + 1 :]:
                    link((rel.name, v), (rel.name, w))
        if rel.opposite:  # rule 4
            for v in values:
                if v in relations[rel.opposite].values:
                    link((rel.name, v), (rel.opposite, v))
    for item in data.get("incompatible", []):  # rule 5
        a, b = tuple(item["a"]), tuple(item["b"])
        for r, v in (a, b):
            if r not in relations or v not in relations[r].all_values:
                raise OntologyError(f"incompatible pair {item} names unknown {r}={v}")
        pairs.add((a, b))
        link(a, b)
    related: dict[str, set[str]] = {}
    for (r, _), others in conflict.items():
        related.setdefault(r, {r}).update(r2 for r2, _ in others)
    return Ontology(
        relations=relations,
        incompatible=frozenset(pairs),
        _conflict={k: frozenset(v) for k, v in conflict.items()},
        _related={k: frozenset(v) for k, v in related.items()},
    )


@cache
def load_ontology() -> Ontology:
    """The project's ontology (parsed once per process)."""
    text = resources.files("persona_gym.world").joinpath("ontology.toml").read_text("utf-8")
    return _parse(tomllib.loads(text))
