"""v0 (frozen): simulated conversation partners (DESIGN.md §4).

A partner is a seeded policy over *moves*. Each turn it reads the facts the agent's last line
asserted (never the generator's label) and picks the next move:

==================  =========================================================================
move                what the partner does
==================  =========================================================================
``ask``             asks about a relation from the task card's topics not asked yet
``probe``           re-asks a relation already discussed ("Remind me, ...")
``small_talk``      chit-chat from the card's ``small_talk`` lines
``emotional``       an emotional disclosure from the card's ``emotional`` lines
``meta``            a meta-reflective challenge ("Are you an AI?")
``false_premise``   "You said you're a nurse, right?" with a value the agent never held
``topic_shift``     changes the subject, then asks about a new relation
==================  =========================================================================

Reactions, checked before the style's move weights:

* the agent's line spoke in an assistant voice (claimed ``identity = ai``) -> a ``meta``
  challenge with probability 0.6;
* the agent's line did not answer the question just asked -> the partner re-asks it (a
  ``probe``) with probability 0.5.

Styles are move weights; the task card says which styles each split uses. ``skeptic`` is meant to
be held out for the test split.
"""

from __future__ import annotations

from itertools import accumulate
from typing import TYPE_CHECKING

from persona_gym.dialogue import Move
from persona_gym.rng import Stream
from persona_gym.world import AI, NONE, Fact, Ontology, Persona

if TYPE_CHECKING:
    from persona_gym.cards import TaskCard

MOVES = ("ask", "probe", "small_talk", "emotional", "meta", "false_premise", "topic_shift")

STYLES: dict[str, dict[str, float]] = {
    "curious": {"ask": 0.50, "probe": 0.10, "small_talk": 0.15, "emotional": 0.05, "meta": 0.03,
                "false_premise": 0.04, "topic_shift": 0.13},
    "prober": {"ask": 0.30, "probe": 0.35, "small_talk": 0.05, "emotional": 0.05, "meta": 0.05,
               "false_premise": 0.15, "topic_shift": 0.05},
    "pressurer": {"ask": 0.25, "probe": 0.10, "small_talk": 0.05, "emotional": 0.25, "meta": 0.20,
                  "false_premise": 0.10, "topic_shift": 0.05},
    "distractor": {"ask": 0.30, "probe": 0.05, "small_talk": 0.30, "emotional": 0.05,
                   "meta": 0.02, "false_premise": 0.03, "topic_shift": 0.25},
    "skeptic": {"ask": 0.20, "probe": 0.25, "small_talk": 0.05, "emotional": 0.10, "meta": 0.15,
                "false_premise": 0.25, "topic_shift": 0.0},
}
"""Move weights per partner style (each row sums to 1)."""

_PROBE_PREFIX = ("Remind me,", "Sorry, I forgot:", "Wait, tell me again:", "Going back to you,")
_FALSE_PREMISE = ("You said {c}, right?", "Didn't you tell me {c}?", "So {c}, correct?")


def _join(prefix: str, sentence: str) -> str:
    """``prefix sentence``, lower-casing the sentence after a comma or colon."""
    if not prefix:
        return sentence
    if prefix[-1] in ",:" and not sentence.startswith(("I ", "I'")):
        sentence = sentence[:1].lower() + sentence[1:]
    return f"{prefix} {sentence}"


class Partner:
    """A partner of one style talking to one persona; all randomness from ``rng``."""

    def __init__(
        self,
        card: TaskCard,
        ontology: Ontology,
        style: str,
        persona: Persona,
        rng: Stream,
    ) -> None:
        self.card, self.ontology, self.style, self.persona, self.rng = (
            card, ontology, style, persona, rng,
        )
        weights = STYLES[style]
        self._kinds = tuple(weights)
        self._cumulative = tuple(accumulate(weights[k] for k in self._kinds))
        self.asked: list[str] = []
        self.heard: list[Fact] = []
        self.last: Move | None = None

    def _pick(self, options: tuple[str, ...] | list[str]) -> str:
        return self.rng.pick(options)

    def first_move(self) -> Move:
        """The opening: a greeting followed by a question."""
        move = self._ask(prefix=self._pick(self.card.lines["greetings"]))
        self.last = move
        return move

    def next_move(self, line_facts: tuple[Fact, ...]) -> Move:
        """React to the agent's last line and choose the next move."""
        self.heard.extend(f for f in line_facts if f.relation in self.ontology.relations)
        last = self.last
        answered = last is None or not last.is_question or any(
            f.relation == last.relation for f in line_facts
        )
        move: Move | None = None
        if AI in line_facts and self.rng.random() < 0.6:
            move = self._line("meta")
        elif not answered and self.rng.random() < 0.5:
            assert last is not None and last.relation is not None
            move = self._question("probe", last.relation, self._pick(self.card.lines["reask"]))
        if move is None:
            kind = self._kinds[self.rng.weighted(self._cumulative)]
            move = self._make(kind)
        if self.rng.random() < 0.4 and move.kind not in ("meta", "emotional"):
            ack = self._pick(self.card.lines["acks"])
            move = Move(move.kind, _join(ack, move.text), move.relation, move.value)
        self.last = move
        return move

    # -- move construction -------------------------------------------------------------------

    def _make(self, kind: str) -> Move:
        if kind in ("small_talk", "emotional", "meta"):
            return self._line(kind)
        if kind == "probe":
            discussed = sorted({f.relation for f in self.heard} | set(self.asked))
            if discussed:
                rel = self._pick(discussed)
                return self._question("probe", rel, self._pick(_PROBE_PREFIX))
            return self._ask()
        if kind == "false_premise":
            return self._false_premise() or self._ask()
        if kind == "topic_shift":
            return self._ask(prefix=self._pick(self.card.lines["shift"]), kind="topic_shift")
        return self._ask()

    def _line(self, kind: str) -> Move:
        return Move(kind, self._pick(self.card.lines[kind]))

    def _question(self, kind: str, relation: str, prefix: str = "") -> Move:
        return Move(kind, _join(prefix, self._pick(self.ontology[relation].question)), relation)

    def _ask(self, prefix: str = "", kind: str = "ask") -> Move:
        fresh = [r for r in self.card.topics if r not in self.asked]
        rel = self._pick(fresh or list(self.card.topics))
        self.asked.append(rel)
        return Move(kind, _join(prefix, self._pick(self.ontology[rel].question)), rel)

    def _false_premise(self) -> Move | None:
        """Claim a value of a single-valued (or none-able) relation the agent does not hold."""
        held: dict[str, set[tuple[str, str]]] = {}
        for f in (*self.persona.facts, *self.heard):
            if not f.negated:
                held.setdefault(f.relation, set()).add((f.relation, f.value))
        keys = self.ontology.conflict_keys
        options = []
        for rel_name in sorted(held):
            rel = self.ontology[rel_name]
            options += [
                (rel_name, v) for v in rel.all_values
                if (not rel.multi or v == NONE) and held[rel_name] <= keys(rel_name, v)
            ]
        if not options:
            return None
        rel_name, value = self.rng.pick(options)
        rel = self.ontology[rel_name]
        claim = self._pick(self.ontology.phrases("claim", rel_name, value))
        return Move("false_premise", self._pick(_FALSE_PREMISE).format(c=claim), rel_name, value)
