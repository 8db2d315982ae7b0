"""v0 (frozen): the symbolic judge: per-line consistency metrics computed from asserted facts.

It is exact on the world's own lines because it reads the facts each line asserts. The metrics
(``p2l``, ``l2l``, ``qa``, ``relevance``, ``repetition``, ``contradiction``) are defined in
docs/metrics.md, the single place for their formulas; this module implements them.
"""

from __future__ import annotations

import math
from typing import NamedTuple

from persona_gym.dialogue import RELEVANT_ACTS, Line, Move, normalize_text
from persona_gym.world import HUMAN, Fact, Ontology, Persona

METRICS = ("p2l", "l2l", "qa", "relevance", "repetition", "contradiction")
"""Per-line metric names, in report order."""


class LineScores(NamedTuple):
    """The judge's verdict on one line (see the module docstring for definitions)."""

    p2l: float
    l2l: float
    qa: float
    relevance: float
    repetition: float
    contradiction: float

    def info(self) -> dict[str, float | None]:
        """The scores as put in ``info["scores"]``: ``qa`` is ``None`` where undefined."""
        return {
            "p2l": self.p2l,
            "l2l": self.l2l,
            "qa": None if self.qa != self.qa else self.qa,
            "relevance": self.relevance,
            "repetition": self.repetition,
            "contradiction": self.contradiction,
        }


class SymbolicJudge:
    """Scores a conversation line by line; holds the speaker's history for one episode."""

    def __init__(self, ontology: Ontology, persona: Persona) -> None:
        self.o = ontology
        self.persona = persona
        positive = [f for f in persona.facts if not f.negated]
        # a persona may deny something ("I do not drink soda"): asserting it contradicts
        self.persona_denied = {(f.relation, f.value) for f in persona.facts if f.negated}
        self.persona_keys = {(f.relation, f.value) for f in positive} | {
            (HUMAN.relation, HUMAN.value)
        }
        self.persona_values: dict[str, set[str]] = {}
        for f in positive:
            self.persona_values.setdefault(f.relation, set()).add(f.value)
        self.lines: list[tuple[Fact, ...]] = []
        self._said: set[str] = set()
        # (relation, value, negated) -> indices of earlier lines asserting it
        self._index: dict[tuple[str, str, bool], list[int]] = {}
        # relation -> indices of earlier lines with a fact on it
        self._by_relation: dict[str, set[int]] = {}

    @property
    def said(self) -> set[str]:
        """Normalised texts of the speaker's earlier lines."""
        return self._said

    def _contradicted_lines(self, fact: Fact) -> set[int]:
        hit: set[int] = set()
        if fact.negated:
            hit.update(self._index.get((fact.relation, fact.value, False), ()))
            return hit
        hit.update(self._index.get((fact.relation, fact.value, True), ()))
        for r, v in self.o.conflict_keys(fact.relation, fact.value):
            hit.update(self._index.get((r, v, False), ()))
        return hit

    def _contradicts_persona(self, fact: Fact) -> bool:
        if fact.negated:
            return (fact.relation, fact.value) in self.persona_keys
        key = (fact.relation, fact.value)
        return key in self.persona_denied or not self.o.conflict_keys(*key).isdisjoint(
            self.persona_keys)

    def score(self, move: Move, line: Line) -> LineScores:
        """Judge ``line`` as the answer to ``move`` (does not change the history)."""
        facts = line.facts
        p2l = 0.0 if any(self._contradicts_persona(f) for f in facts) else 1.0
        hit: set[int] = set()
        compared: set[int] = set()
        by_relation = self._by_relation
        if by_relation:  # no earlier line, nothing to compare with
            for f in facts:
                hit |= self._contradicted_lines(f)
                for r in self.o.related(f.relation):
                    lines = by_relation.get(r)
                    if lines:
                        compared |= lines
        l2l = 1.0 - len(hit) / len(compared) if compared else 1.0
        if move.is_question:
            rel = move.relation
            assert rel is not None
            opp = self.o[rel].opposite
            on_topic = [f for f in facts if f.relation == rel or (opp and f.relation == opp)]
            relevance = 1.0 if on_topic else 0.0
            positive = [f for f in on_topic if not f.negated and f.relation == rel]
            ok = bool(on_topic) and not any(
                self._contradicts_persona(f) or self._contradicted_lines(f) for f in on_topic
            )
            fixed = self.persona_values.get(rel)
            if fixed is not None:
                ok = ok and any(f.value in fixed for f in positive)
            elif not any(not f.negated for f in on_topic):
                ok = False
            qa = 1.0 if ok else 0.0
        else:
            relevance = 1.0 if line.act in RELEVANT_ACTS[move.kind] else 0.0
            qa = math.nan
        repetition = 1.0 if normalize_text(line.text) in self._said else 0.0
        contradiction = 1.0 if (p2l < 1.0 or l2l < 1.0) else 0.0
        return LineScores(p2l, l2l, qa, relevance, repetition, contradiction)

    def commit(self, line: Line) -> None:
        """Add ``line`` to the speaker's history."""
        i = len(self.lines)
        self.lines.append(line.facts)
        self._said.add(normalize_text(line.text))
        for f in line.facts:
            self._index.setdefault((f.relation, f.value, f.negated), []).append(i)
            self._by_relation.setdefault(f.relation, set()).add(i)
