"""The agent's side of one conversation: its persona, what it said, and what it is committed to.

One object holds the speaker's history, committed once per line: the judge reads it to score a
line, the reply generator reads it to build candidates, the partner reads it to make claims.

A **commitment** is a fact the speaker holds: every persona fact, and every fact of a line it
said that contradicted nothing held at the time (an improvised answer becomes a commitment; a
slip does not, so repairing a slip is consistent). Rules for "contradicts" are the ontology's
(``persona_gym/world/ontology.py``).
"""

from __future__ import annotations

from persona_gym.dialogue import Line, normalize_text
from persona_gym.world import HUMAN, IDENTITY, NONE, Fact, Ontology, Persona

PERSONA, HISTORY = "contradict_persona", "contradict_history"
"""Labels of a wrong value: it contradicts a persona fact, or only a later commitment."""


class Speaker:
    """Persona, commitments and lines of the agent in one episode."""

    def __init__(self, ontology: Ontology, persona: Persona) -> None:
        self.ontology, self.persona = ontology, persona
        self.lines: list[Line] = []
        self.said: set[str] = set()
        """Normalised texts of every line said (for repetition)."""
        self.commitments: list[Fact] = []
        """Held positive facts: the persona's, then improvised ones, in order."""
        self.held: dict[str, list[str]] = {}
        """relation -> held values."""
        self.denied: set[tuple[str, str]] = set()
        """(relation, value) pairs the persona or a committed line denied."""
        self.wrong: dict[str, dict[str, str]] = {}
        """relation -> value -> :data:`PERSONA` | :data:`HISTORY` for every value that would
        contradict something held (labels never change: persona facts come first)."""
        self.wrong_options: dict[str, list[tuple[str, str, str]]] = {}
        """relation -> [(relation, value, label)] in the order of ``wrong[relation]``."""
        self.persona_values: dict[str, set[str]] = {}
        self.committed_lines: list[tuple[Fact, ...]] = []
        """Facts of each committed (consistent, asserting) line, in order."""
        self._index: dict[tuple[str, str, bool], list[int]] = {}
        """(relation, value, negated) -> indices into ``committed_lines`` asserting it."""
        self._by_relation: dict[str, set[int]] = {}
        for f in persona.facts:
            if f.negated:
                self.denied.add((f.relation, f.value))
            else:
                self.persona_values.setdefault(f.relation, set()).add(f.value)
                self._hold(f, PERSONA)
        self.persona_keys = frozenset(
            {(f.relation, f.value) for f in persona.facts if not f.negated}
            | {(HUMAN.relation, HUMAN.value)})

    # -- reading -----------------------------------------------------------------------------

    def is_wrong(self, fact: Fact) -> bool:
        """Whether ``fact`` contradicts the persona or a commitment."""
        if fact.negated:
            return fact.value in self.held.get(fact.relation, ())
        if fact.relation == IDENTITY:
            return fact.value != HUMAN.value
        return (fact.relation, fact.value) in self.denied or (
            fact.value in self.wrong.get(fact.relation, ()))

    def contradicts_persona(self, fact: Fact) -> bool:
        """Whether ``fact`` contradicts a persona fact (or the speaker's humanity)."""
        if fact.negated:
            return (fact.relation, fact.value) in self.persona_keys
        key = (fact.relation, fact.value)
        return not self.ontology.conflict_keys(*key).isdisjoint(self.persona_keys) or any(
            key == (f.relation, f.value) for f in self.persona.facts if f.negated)

    def contradicted_lines(self, fact: Fact) -> set[int]:
        """Indices of committed lines that ``fact`` contradicts."""
        index = self._index
        if fact.negated:
            return set(index.get((fact.relation, fact.value, False), ()))
        hit = set(index.get((fact.relation, fact.value, True), ()))
        for r, v in self.ontology.conflict_keys(fact.relation, fact.value):
            hit.update(index.get((r, v, False), ()))
        return hit

    def comparable_lines(self, fact: Fact) -> set[int]:
        """Indices of committed lines with a fact that could contradict ``fact``."""
        out: set[int] = set()
        for r in self.ontology.related(fact.relation):
            lines = self._by_relation.get(r)
            if lines:
                out |= lines
        return out

    def compatible(self, relation: str) -> list[str]:
        """Values of ``relation`` that contradict nothing held or denied."""
        wrong = self.wrong.get(relation, {})
        return [v for v in self.ontology[relation].all_values
                if v not in wrong and (relation, v) not in self.denied]

    def false_claims(self) -> list[Fact]:
        """Facts a partner could wrongly claim: on a relation the speaker holds, a value that
        contradicts it (single-valued or ``none``-able relations, so accepting is a
        contradiction)."""
        out = []
        for rel_name, values in self.held.items():
            rel = self.ontology[rel_name]
            wrong = self.wrong.get(rel_name, {})
            out += [Fact(rel_name, v) for v in rel.all_values
                    if v in wrong and (not rel.multi or v == NONE or NONE in values)]
        return out

    # -- writing -----------------------------------------------------------------------------

    def _hold(self, fact: Fact, label: str) -> None:
        values = self.held.setdefault(fact.relation, [])
        if fact.value in values:
            return
        values.append(fact.value)
        self.commitments.append(fact)
        for r, vals in self.ontology.conflicts_by_relation(fact.relation, fact.value):
            known = self.wrong.get(r)
            if known is None:
                self.wrong[r] = dict.fromkeys(vals, label)
                self.wrong_options[r] = [(r, v, label) for v in vals]
                continue
            new = [v for v in vals if v not in known]
            if new:
                known.update(dict.fromkeys(new, label))
                self.wrong_options[r].extend((r, v, label) for v in new)

    def commit(self, line: Line, consistent: bool) -> None:
        """Record a line the speaker said; its facts become commitments when ``consistent``."""
        self.lines.append(line)
        self.said.add(normalize_text(line.text))
        if not consistent or not line.facts:
            return
        i = len(self.committed_lines)
        self.committed_lines.append(line.facts)
        for f in line.facts:
            self._index.setdefault((f.relation, f.value, f.negated), []).append(i)
            self._by_relation.setdefault(f.relation, set()).add(i)
            if f.negated:
                self.denied.add((f.relation, f.value))
            elif f.relation != IDENTITY:
                self._hold(f, HISTORY)
