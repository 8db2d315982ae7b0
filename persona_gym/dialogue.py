"""The dialogue types every part of a conversation shares: partner moves, agent lines, the
judge's per-line scores, and the names the metrics and moves go by.

The partner writes :class:`Move` s, the reply generator and the text reader write :class:`Line` s,
the judge writes :class:`LineScores`; all of them import this module and nothing of each other
(DESIGN.md §2: data flows one way).
"""

from __future__ import annotations

import math
from typing import NamedTuple

from persona_gym.world import Fact

QUESTION_MOVES = frozenset({"ask", "probe", "premise", "topic_shift", "challenge",
                            "false_premise"})
"""Moves about one relation, answered by a fact on it (``false_premise`` is v0's name)."""
SOCIAL_MOVES = ("small_talk", "emotional", "meta")
"""Moves about no relation, answered by the right dialogue act (and, in v1, some content)."""

ACTS = ("answer", "engage", "empathize", "deny_ai", "admit_ai", "evade", "recite")
"""Dialogue acts a line may perform."""
RELEVANT_ACTS = {
    "small_talk": {"engage"},
    "emotional": {"empathize"},
    "meta": {"deny_ai", "admit_ai"},
    "open": {"answer", "engage", "empathize", "deny_ai", "admit_ai"},
}
"""Acts that address a non-question move; a question move is addressed by a fact on its relation.
``open`` (a remark with no question the world knows) comes only from real logs
(:meth:`persona_gym.judges.lexical.LexicalJudge.parse_move`): any reply that is not evasive or a
recitation addresses it."""


class Move(NamedTuple):
    """One partner turn."""

    kind: str
    text: str
    relation: str | None = None
    value: str | None = None
    """For ``premise``, ``challenge`` (and v0's ``false_premise``): the value the partner claims."""

    @property
    def is_question(self) -> bool:
        return self.kind in QUESTION_MOVES


class Line(NamedTuple):
    """An agent utterance with what it asserts.

    The judge reads only ``facts``, ``act`` and ``text``; ``kind`` is the generator's label (used
    by reference policies and for analysis, never shown in observations).
    """

    text: str
    facts: tuple[Fact, ...] = ()
    act: str = "answer"
    kind: str = "free_text"


METRICS = ("p2l", "l2l", "qa", "relevance", "capability", "asserted", "repetition",
           "contradiction")
"""Per-line metric names of the current task version, in report order (docs/metrics.md)."""
CONSISTENCY_METRICS = ("p2l", "l2l", "qa")
"""Metrics defined only on lines that assert something checkable (``nan`` elsewhere)."""


class LineScores(NamedTuple):
    """The judge's verdict on one line; definitions in docs/metrics.md."""

    p2l: float
    l2l: float
    qa: float
    relevance: float
    capability: float
    asserted: float
    repetition: float
    contradiction: float

    def info(self) -> dict[str, float | None]:
        """The scores as put in ``info["scores"]``: undefined metrics (``nan``) are ``None``."""
        return {k: (None if isinstance(v, float) and math.isnan(v) else v)
                for k, v in zip(self._fields, self, strict=True)}


_NORMALIZED: dict[str, str] = {}


def normalize_text(text: str) -> str:
    """Case- and whitespace-insensitive form of a line, used to detect verbatim repeats."""
    out = _NORMALIZED.get(text)
    if out is None:
        if len(_NORMALIZED) >= 1 << 16:
            _NORMALIZED.clear()
        out = _NORMALIZED[text] = " ".join(text.lower().split())
    return out


class Exchange(NamedTuple):
    """One finished turn of a transcript."""

    move: Move
    line: Line
    scores: NamedTuple
    """The judge's scores (:class:`LineScores`; task v0's own type for v0 ids)."""
    reward: float
