"""The judge interface shared by the lexical and NLI judges, for plain text.

A text judge reads a speaker's persona sentences (free text, not only the world's facts), the
speaker's earlier lines and one new line, and returns a :class:`Verdict`:

* ``contradiction`` — the line cannot be true if the persona (or an earlier line) is;
* ``entailment`` — the line asserts something a persona sentence or earlier line states;
* ``neutral`` — neither (greetings, questions, new unrelated facts, opinions).

This is the label scheme of ../shared/data/persona-consistency (and of Dialogue NLI).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Protocol, runtime_checkable

LABELS = ("contradiction", "entailment", "neutral")
"""The three verdict labels, in the order used for scores and confusion matrices."""


@dataclass(frozen=True)
class Verdict:
    """A judge's decision on one line.

    ``against`` is ``"persona"`` or ``"history"`` (what the line contradicts or entails) or
    ``None`` for neutral; ``evidence`` is that persona sentence or earlier line, verbatim.
    ``scores`` maps every label to a confidence in [0, 1] (a probability for the NLI judge).
    """

    label: str
    against: str | None = None
    evidence: str | None = None
    scores: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


@runtime_checkable
class TextJudge(Protocol):
    """What ``persona-gym judge`` and the real-log importer need of a judge."""

    name: str

    def judge(self, persona: Sequence[str], history: Sequence[str], line: str) -> Verdict:
        """Judge ``line`` given the speaker's ``persona`` sentences and earlier ``history``."""
        ...

    def judge_many(
        self, items: Sequence[tuple[Sequence[str], Sequence[str], str]]
    ) -> list[Verdict]:
        """Judge many ``(persona, history, line)`` items (batched where the judge can)."""
        ...


def validate_item(persona: Sequence[str], history: Sequence[str], line: str) -> None:
    """Reject malformed judge input with a message naming the problem and the fix."""
    if isinstance(persona, str) or not isinstance(persona, Sequence):
        raise TypeError("persona must be a list of sentences, e.g. ['I am a nurse.']")
    if not persona or not all(isinstance(s, str) and s.strip() for s in persona):
        raise ValueError("persona must hold at least one non-empty sentence")
    if isinstance(history, str) or not isinstance(history, Sequence):
        raise TypeError("history must be a list of the speaker's earlier lines ([] for none)")
    if not all(isinstance(s, str) for s in history):
        raise TypeError("every history entry must be a string")
    if not isinstance(line, str):
        raise TypeError(f"line must be a string, got {type(line).__name__}")
