"""Simulated conversation partners (DESIGN.md §4), task version 1.

A partner is a seeded policy over *moves*. Each turn it hears the agent's last line — the facts
it asserted and how it landed (the judge's scores, which a human partner would read off as "that
contradicts what you told me", "you dodged my question") — and picks the next move:

==================  =========================================================================
move                what the partner does
==================  =========================================================================
``ask``             asks about a relation from the task card's topics not asked yet
``probe``           re-asks a relation already discussed ("Remind me, ...")
``small_talk``      chit-chat from the card's ``small_talk`` lines
``emotional``       an emotional disclosure from the card's ``emotional`` lines
``meta``            a meta-reflective challenge ("Are you an AI?")
``premise``         "You said you're a nurse, right?": **true half the time** (a value the agent
                    holds: persona or its own commitment) and false otherwise (a value that
                    contradicts what it holds), so neither accepting nor correcting blindly pays
``topic_shift``     changes the subject, then asks about a new relation
``challenge``       a reaction to a slip: "Wait, you said you're a teacher?" quoting the value
                    the agent just asserted; the good answer is a repair
==================  =========================================================================

**Trust.** The partner starts each conversation at trust 1. A contradiction (or an assistant
voice) costs :data:`TRUST_COST` ``["contradiction"]``, a line that asserts nothing or ignores the
move costs less, an informative consistent answer restores a little. When trust reaches 0 the
partner ends the conversation early with a farewell: the episode terminates and the line that
lost it pays the reward's ``leave`` cost. The expert never loses trust; a policy that slips,
dodges or recites does, so slips have consequences beyond their own turn.

Reactions, checked before the style's move weights:

* the agent's line claimed to be an AI -> a ``meta`` challenge with probability 0.6;
* the agent's line contradicted its persona or its commitments -> a ``challenge`` on the
  contradicting relation with probability :data:`CHALLENGE_PROBABILITY`;
* the agent's line did not answer the question just asked -> the partner re-asks it (a
  ``probe``) with probability 0.5.

Styles are move weights; the task card says which styles each split uses. ``skeptic`` is held
out for the test split.
"""

from __future__ import annotations

from itertools import accumulate
from typing import TYPE_CHECKING

from persona_gym.dialogue import LineScores, Move
from persona_gym.rng import Stream
from persona_gym.world import AI, IDENTITY, Fact, Ontology, Persona

if TYPE_CHECKING:
    from persona_gym.cards import PartnerSpec
    from persona_gym.speaker import Speaker

MOVES = ("ask", "probe", "small_talk", "emotional", "meta", "premise", "topic_shift",
         "challenge")

STYLES: dict[str, dict[str, float]] = {
    "curious": {"ask": 0.45, "probe": 0.12, "small_talk": 0.12, "emotional": 0.05, "meta": 0.03,
                "premise": 0.10, "topic_shift": 0.13},
    "prober": {"ask": 0.25, "probe": 0.30, "small_talk": 0.05, "emotional": 0.05, "meta": 0.05,
               "premise": 0.25, "topic_shift": 0.05},
    "pressurer": {"ask": 0.25, "probe": 0.10, "small_talk": 0.05, "emotional": 0.25, "meta": 0.20,
                  "premise": 0.10, "topic_shift": 0.05},
    "distractor": {"ask": 0.30, "probe": 0.08, "small_talk": 0.25, "emotional": 0.05,
                   "meta": 0.02, "premise": 0.05, "topic_shift": 0.25},
    "skeptic": {"ask": 0.20, "probe": 0.25, "small_talk": 0.05, "emotional": 0.10, "meta": 0.15,
                "premise": 0.25, "topic_shift": 0.0},
}
"""Move weights per partner style (each row sums to 1; ``challenge`` is only a reaction)."""

TRUST_COST = {"contradiction": 0.4, "irrelevant": 0.2, "idle": 0.15, "answer": -0.1}
"""Trust lost per line by how it landed (a negative cost restores trust, up to 1)."""
CHALLENGE_PROBABILITY = 0.7
TRUE_PREMISE_PROBABILITY = 0.5

_PROBE_PREFIX = ("Remind me,", "Sorry, I forgot:", "Wait, tell me again:", "Going back to you,")
_PREMISE = ("You said {c}, right?", "Didn't you tell me {c}?", "So {c}, correct?",
            "If I remember right, {c}?")
_CHALLENGE = ("Wait, {c}? That's not what I heard before.", "Hold on, {c}? Really?",
              "Hmm, {c}? I thought you told me something else.",
              "Sorry, {c}? That doesn't sound right.")


def _join(prefix: str, sentence: str) -> str:
    """``prefix sentence``, lower-casing the sentence after a comma or colon."""
    if not prefix:
        return sentence
    if prefix[-1] in ",:" and not sentence.startswith(("I ", "I'")):
        sentence = sentence[:1].lower() + sentence[1:]
    return f"{prefix} {sentence}"


def _landing(scores: LineScores) -> str:
    """How a line landed, as :data:`TRUST_COST` names it."""
    if scores.contradiction:
        return "contradiction"
    if not scores.asserted:
        return "idle"
    return "answer" if scores.relevance else "irrelevant"


class Partner:
    """A partner of one style talking to one speaker; all randomness from ``rng``."""

    def __init__(self, spec: PartnerSpec, ontology: Ontology, style: str, speaker: Speaker,
                 rng: Stream) -> None:
        self.spec, self.ontology, self.style, self.speaker, self.rng = (
            spec, ontology, style, speaker, rng)
        weights = STYLES[style]
        self._kinds = tuple(weights)
        self._cumulative = tuple(accumulate(weights[k] for k in self._kinds))
        self.asked: list[str] = []
        self.heard: list[str] = []  # relations the agent has talked about, in order
        self.trust = 1.0
        self.last: Move | None = None

    @property
    def persona(self) -> Persona:
        return self.speaker.persona

    def _pick(self, options: tuple[str, ...] | list[str]) -> str:
        return self.rng.pick(options)

    def first_move(self) -> Move:
        """The opening: a greeting followed by a question."""
        move = self._ask(prefix=self._pick(self.spec.lines["greetings"]))
        self.last = move
        return move

    def hear(self, facts: tuple[Fact, ...], scores: LineScores) -> bool:
        """Take in the agent's line; False when trust ran out and the partner leaves."""
        for f in facts:
            if f.relation != IDENTITY and f.relation not in self.heard:
                self.heard.append(f.relation)
        self.trust = min(1.0, self.trust - TRUST_COST[_landing(scores)])
        return self.trust > 0.0

    def farewell(self) -> Move:
        """The partner's last line when it ends the conversation early."""
        self.last = move = Move("end", self._pick(self.spec.lines["farewells"]))
        return move

    def next_move(self, facts: tuple[Fact, ...], scores: LineScores) -> Move:
        """React to the agent's last line (its facts and scores) and choose the next move."""
        last = self.last
        move: Move | None = None
        if AI in facts and self.rng.random() < 0.6:
            move = self._line("meta")
        elif scores.contradiction and self.rng.random() < CHALLENGE_PROBABILITY:
            move = self._challenge(facts)
        elif last is not None and last.is_question and not scores.relevance and (
                self.rng.random() < 0.5):
            assert last.relation is not None
            move = self._question("probe", last.relation, self._pick(self.spec.lines["reask"]))
        if move is None:
            move = self._make(self._kinds[self.rng.weighted(self._cumulative)])
        if self.rng.random() < 0.4 and move.kind not in ("meta", "emotional", "challenge"):
            ack = self._pick(self.spec.lines["acks"])
            move = Move(move.kind, _join(ack, move.text), move.relation, move.value)
        self.last = move
        return move

    # -- move construction -------------------------------------------------------------------

    def _make(self, kind: str) -> Move:
        if kind in ("small_talk", "emotional", "meta"):
            return self._line(kind)
        if kind == "probe":
            discussed = self.heard or self.asked
            if discussed:
                return self._question("probe", self._pick(discussed), self._pick(_PROBE_PREFIX))
            return self._ask()
        if kind == "premise":
            return self._premise() or self._ask()
        if kind == "topic_shift":
            return self._ask(prefix=self._pick(self.spec.lines["shift"]), kind="topic_shift")
        return self._ask()

    def _line(self, kind: str) -> Move:
        return Move(kind, self._pick(self.spec.lines[kind]))

    def _question(self, kind: str, relation: str, prefix: str = "") -> Move:
        return Move(kind, _join(prefix, self._pick(self.ontology[relation].question)), relation)

    def _ask(self, prefix: str = "", kind: str = "ask") -> Move:
        fresh = [r for r in self.spec.topics if r not in self.asked]
        rel = self._pick(fresh or list(self.spec.topics))
        self.asked.append(rel)
        return Move(kind, _join(prefix, self._pick(self.ontology[rel].question)), rel)

    def _claim(self, templates: tuple[str, ...], kind: str, fact: Fact) -> Move:
        claim = self._pick(self.ontology.phrases("claim", fact.relation, fact.value))
        return Move(kind, self._pick(templates).format(c=claim), fact.relation, fact.value)

    def _premise(self) -> Move | None:
        """A claim about the agent: true (a held fact) or false (a value contradicting one)."""
        held = [f for f in self.speaker.commitments if f.relation != IDENTITY]
        if self.rng.random() < TRUE_PREMISE_PROBABILITY:
            return self._claim(_PREMISE, "premise", self.rng.pick(held))
        options = self.speaker.false_claims()
        if not options:
            return None
        return self._claim(_PREMISE, "premise", self.rng.pick(options))

    def _challenge(self, facts: tuple[Fact, ...]) -> Move | None:
        """Quote back the first contradicting claim of the agent's line (None if there is
        nothing the world can quote, e.g. only a negation)."""
        for f in facts:
            if not f.negated and f.relation != IDENTITY and self.speaker.is_wrong(f):
                return self._claim(_CHALLENGE, "challenge", f)
        return None


__all__ = ["MOVES", "STYLES", "Partner"]
