"""The symbolic judge: per-line metrics computed from the facts a line asserts.

It is exact on the world's own lines because it reads the facts each line asserts (and the
lexical reader's facts on free text). The metrics (``p2l``, ``l2l``, ``qa``, ``relevance``,
``capability``, ``asserted``, ``repetition``, ``contradiction``) are defined in docs/metrics.md,
the single place for their formulas; this module implements them. The speaker's history lives in
:class:`persona_gym.speaker.Speaker`; the judge reads it and commits to it once per line.
"""

from __future__ import annotations

import math

from persona_gym.dialogue import METRICS, RELEVANT_ACTS, Line, LineScores, Move, normalize_text
from persona_gym.speaker import Speaker
from persona_gym.world import Ontology, Persona

NAN = math.nan

__all__ = ["METRICS", "LineScores", "SymbolicJudge"]


class SymbolicJudge:
    """Scores one speaker's lines against its persona and its commitments."""

    def __init__(self, ontology: Ontology, persona: Persona,
                 speaker: Speaker | None = None) -> None:
        self.ontology = ontology
        self.speaker = speaker if speaker is not None else Speaker(ontology, persona)

    @property
    def persona(self) -> Persona:
        return self.speaker.persona

    @property
    def said(self) -> set[str]:
        """Normalised texts of the speaker's earlier lines."""
        return self.speaker.said

    def score(self, move: Move, line: Line) -> LineScores:
        """Judge ``line`` as the answer to ``move`` (does not change the history)."""
        sp = self.speaker
        facts = line.facts
        repetition = 1.0 if normalize_text(line.text) in sp.said else 0.0
        if move.is_question:
            rel = move.relation
            assert rel is not None
            opp = self.ontology[rel].opposite
            on_topic = [f for f in facts if f.relation == rel or (opp and f.relation == opp)]
            relevance = 1.0 if on_topic else 0.0
        else:
            on_topic = []
            relevance = 1.0 if line.act in RELEVANT_ACTS[move.kind] else 0.0
        if not facts:
            return LineScores(NAN, NAN, NAN, relevance, 0.0, 0.0, repetition, 0.0)
        p2l = 0.0 if any(sp.contradicts_persona(f) for f in facts) else 1.0
        hit: set[int] = set()
        compared: set[int] = set()
        if sp.committed_lines:
            for f in facts:
                hit |= sp.contradicted_lines(f)
                compared |= sp.comparable_lines(f)
        l2l = 1.0 - len(hit) / len(compared) if compared else 1.0
        qa = self._qa(move, on_topic) if move.is_question else NAN
        contradiction = 1.0 if (p2l < 1.0 or l2l < 1.0 or any(map(sp.is_wrong, facts))) else 0.0
        return LineScores(p2l, l2l, qa, relevance, relevance, 1.0, repetition, contradiction)

    def _qa(self, move: Move, on_topic: list) -> float:
        """Q&A consistency of a question's answer (docs/metrics.md)."""
        sp = self.speaker
        if not on_topic or any(sp.is_wrong(f) for f in on_topic):
            return 0.0
        rel = move.relation
        held = sp.held.get(rel, ())  # type: ignore[arg-type]
        positives = {f.value for f in on_topic if not f.negated and f.relation == rel}
        claimed = move.value
        if claimed is not None and claimed not in held:  # a false claim: deny or correct it
            denied = any(f.negated and f.value == claimed for f in on_topic)
            right = any(v in held for v in positives) if held else denied
            return 1.0 if (denied or right) and claimed not in positives else 0.0
        if held:
            return 1.0 if any(v in held for v in positives) else 0.0
        return 1.0 if positives else 0.0

    def commit(self, line: Line, scores: LineScores | None = None) -> LineScores:
        """Add ``line`` to the speaker's history (scoring it against ``move``-free rules when
        ``scores`` is not given) and return the scores it was committed with."""
        if scores is None:
            scores = self.score(Move("open", ""), line)
        self.speaker.commit(line, consistent=not scores.contradiction)
        return scores
