"""The symbolic judge: per-line consistency metrics computed from asserted facts.

This module is the one place where the metrics are defined (docs/metrics.md restates them).
For an agent line ``x_t`` answering partner move ``m_t``, with persona facts ``P`` (plus the
implicit ``identity = human``) and the agent's earlier lines ``x_1 .. x_{t-1}``:

``p2l`` (prompt-to-line, local drift)
    1 if no fact of ``x_t`` contradicts a fact of ``P``, else 0.
``l2l`` (line-to-line, global drift)
    ``1 - |{j < t : x_t contradicts x_j}| / (t - 1)``, and 1 for the first line. A line
    contradicts another when any fact of one contradicts any fact of the other.
``qa`` (Q&A consistency, factual)
    Defined only when ``m_t`` is a question about relation ``r`` (ask, probe, false premise,
    topic shift); ``nan`` otherwise. 1 if ``x_t`` asserts a non-negated value for ``r`` (or its
    opposite relation), none of its facts on ``r`` contradicts ``P`` or an earlier line, and, when
    ``P`` fixes ``r``, the value is one of the persona's. Else 0 (a wrong answer or no answer).
``relevance``
    1 if ``x_t`` addresses ``m_t``: for a question about ``r``, it asserts a fact on ``r`` (or its
    opposite); for small talk its act is ``engage``; for an emotional disclosure ``empathize``;
    for a meta challenge ``deny_ai`` or ``admit_ai``. Else 0.
``repetition``
    1 if ``x_t`` repeats an earlier line of the agent verbatim (case and surrounding spaces
    ignored), else 0.
``contradiction``
    1 if ``p2l < 1`` or ``l2l < 1``, else 0.

Episode metrics are the means over the episode's lines (``qa`` over the lines where it is
defined; ``nan`` when there were none). The reward that combines them lives in
``persona_gym.rewards``.
"""

from __future__ import annotations

import math
from typing import NamedTuple

from persona_gym.partners import Move
from persona_gym.replies import RELEVANT_ACTS, Line, normalize_text
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
        self.persona_keys = {(f.relation, f.value) for f in persona.facts} | {
            (HUMAN.relation, HUMAN.value)
        }
        self.persona_values: dict[str, set[str]] = {}
        for f in persona.facts:
            self.persona_values.setdefault(f.relation, set()).add(f.value)
        self.lines: list[tuple[Fact, ...]] = []
        self._said: set[str] = set()
        # (relation, value, negated) -> indices of earlier lines asserting it
        self._index: dict[tuple[str, str, bool], list[int]] = {}

    @property
    def own_facts(self) -> list[Fact]:
        return [f for facts in self.lines for f in facts]

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
        return not self.o.conflict_keys(fact.relation, fact.value).isdisjoint(self.persona_keys)

    def score(self, move: Move, line: Line) -> LineScores:
        """Judge ``line`` as the answer to ``move`` (does not change the history)."""
        facts = line.facts
        p2l = 0.0 if any(self._contradicts_persona(f) for f in facts) else 1.0
        hit: set[int] = set()
        for f in facts:
            hit |= self._contradicted_lines(f)
        l2l = 1.0 - len(hit) / len(self.lines) if self.lines else 1.0
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
