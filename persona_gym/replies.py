"""Candidate replies offered to the agent each turn (DESIGN.md §5).

Every candidate is a :class:`Line`: its text, the facts it asserts and its dialogue act. The
judge reads only ``facts``, ``act`` and ``text``; ``kind`` is the generator's label, used by the
reference policies and for analysis, never shown in observations.

Kinds (the consistent one is always offered; the others fill the remaining ``K - 1`` slots):

=====================  ======================================================================
kind                   what the line does
=====================  ======================================================================
``consistent``         responds to the move in character, agreeing with persona and history
                       (improvises a compatible value when neither fixes the asked relation)
``contradict_persona`` responds but asserts a value the persona rules out
``contradict_history`` responds but asserts a value the agent's own earlier lines rule out
``contradict_other``   ignores the move and asserts a contradicting fact on another relation
``parrot``             recites persona sentences, ignoring what was asked
``assistant``          drifts to an assistant voice ("As an AI, I don't ...")
``evasive``            dodges ("I'd rather not say.")
``engaging``           a friendly follow-up question with no content
=====================  ======================================================================
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from persona_gym.partners import Move
from persona_gym.world import AI, IDENTITY, NONE, Fact, Ontology, Persona, render

ALWAYS_OFFERED = ("consistent", "parrot", "assistant")
"""Kinds present in every candidate set (the reference policies rely on them)."""
ACTS = ("answer", "engage", "empathize", "deny_ai", "admit_ai", "evade", "recite")
RELEVANT_ACTS = {"small_talk": {"engage"}, "emotional": {"empathize"}, "meta": {"deny_ai", "admit_ai"}}
"""Acts that address a non-question move; a question move is addressed by a fact on its relation."""


@dataclass(frozen=True)
class Line:
    """An agent utterance with what it asserts."""

    text: str
    facts: tuple[Fact, ...] = ()
    act: str = "answer"
    kind: str = "free_text"


_OPEN = {
    "small_talk": ("Pretty good, thanks!", "Oh, not much.", "Ha, fair question.", "Good, good."),
    "emotional": ("I'm sorry to hear that.", "That sounds really hard.", "Oh no, I'm sorry.",
                  "I get that, honestly."),
    "meta": ("Ha, no, I'm a real person!", "An AI? No way.", "Nope, just me here.",
             "What? No, I'm human."),
}
_CLOSE = ("How about you?", "What about you?", "And you?", "")
_ASSISTANT = {
    "question": ("As an AI, I don't have {n}.", "I'm an AI language model, so I don't have {n}.",
                 "As an AI assistant, I can't say I have {n}."),
    "small_talk": ("As an AI, I don't really have a day, but I'm happy to chat!",
                   "I'm an AI assistant, so nothing much happens to me. How can I help?"),
    "emotional": ("As an AI, I can't feel emotions, but I'm here to help.",
                  "I'm just a language model, but it sounds like talking to someone could help."),
    "meta": ("Yes, I'm an AI language model.", "That's right, I'm an AI assistant.",
             "Yes, I am an AI. How can I help you today?"),
}
_ASSISTANT_ACT = {"question": "answer", "small_talk": "engage", "emotional": "empathize",
                  "meta": "admit_ai"}
_EVASIVE = ("I'd rather not say.", "Hmm, let's not get into that.", "I don't know, really.",
            "Anyway, it's such a nice day today.", "Let's talk about something else.")
_ENGAGING = ("Ha, what made you ask?", "Tell me more about yourself first!",
             "What do you like to do for fun?", "So what's new with you?")
_CORRECTION = ("No, actually", "Not quite.", "That's not right.", "No, you're mixing me up.")
_AGAIN = ("Like I said,", "As I mentioned,", "Again,", "Like I told you,")


def normalize_text(text: str) -> str:
    """Case- and whitespace-insensitive form of a line, used to detect verbatim repeats."""
    return " ".join(text.lower().split())


class ReplyGenerator:
    """Builds the K candidates for a move, given persona and the agent's earlier lines."""

    def __init__(self, ontology: Ontology, num_candidates: int) -> None:
        self.ontology = ontology
        self.k = num_candidates

    def candidates(
        self,
        move: Move,
        persona: Persona,
        own_facts: list[Fact],
        said: set[str],
        rng: np.random.Generator,
    ) -> tuple[Line, ...]:
        """K distinct candidate lines, the consistent one included, in RNG order.

        ``said`` holds the agent's earlier lines as :func:`normalize_text` gives them.
        """
        ctx = _Context(self.ontology, persona, own_facts, said, rng)
        lines = [ctx.consistent(move)]
        seen = {lines[0].text}
        rest = []
        for line in ctx.distractors(move):
            if line.text in seen:
                continue
            seen.add(line.text)
            # the reference policies need one parrot and one assistant line in every turn
            if line.kind in ALWAYS_OFFERED and all(x.kind != line.kind for x in lines):
                lines.append(line)
            else:
                rest.append(line)
        need = self.k - len(lines)
        if len(rest) < need:
            raise RuntimeError(f"reply pool too small ({len(lines) + len(rest)} < {self.k})")
        lines += [rest[int(i)] for i in rng.choice(len(rest), size=need, replace=False)]
        order = rng.permutation(self.k)
        return tuple(lines[int(i)] for i in order)


class _Context:
    """Per-turn helper: knows what the speaker holds and renders lines."""

    def __init__(self, ontology: Ontology, persona: Persona, own: list[Fact], said: set[str],
                 rng: np.random.Generator) -> None:
        self.o, self.persona, self.own, self.said, self.rng = ontology, persona, own, said, rng
        self.known = list(persona.facts) + [
            f for f in own if not f.negated and f.relation != IDENTITY
        ]
        self.persona_keys = {(f.relation, f.value) for f in persona.facts}
        self.known_keys = self.persona_keys | {(f.relation, f.value) for f in self.known}
        self.denied = {(f.relation, f.value) for f in own if f.negated}

    def pick(self, options: tuple[str, ...] | list[str]) -> str:
        return options[int(self.rng.integers(len(options)))]

    def held(self, relation: str) -> list[str]:
        """Values the speaker holds for ``relation`` (persona first, then own lines)."""
        seen: list[str] = []
        for f in self.known:
            if f.relation == relation and f.value not in seen:
                seen.append(f.value)
        return seen

    def compatible(self, relation: str) -> list[str]:
        """Values of ``relation`` that contradict nothing the speaker holds or denied."""
        keys = self.o.conflict_keys
        return [
            v for v in self.o[relation].all_values
            if keys(relation, v).isdisjoint(self.known_keys) and (relation, v) not in self.denied
        ]

    def conflicting(self, relation: str, against: set[tuple[str, str]]) -> list[str]:
        """Values of ``relation`` that contradict a positive fact in ``against``."""
        keys = self.o.conflict_keys
        return [v for v in self.o[relation].all_values if not keys(relation, v).isdisjoint(against)]

    def statement(self, fact: Fact) -> str:
        """Render ``fact`` as a conversational answer with a random template."""
        rel = self.o[fact.relation]
        templates = rel.answer_none if fact.value == NONE else rel.answer
        return render(self.pick(templates), fact.value)

    # -- the consistent reply ------------------------------------------------------------------

    def true_fact(self, relation: str) -> Fact:
        held = self.held(relation)
        if held:
            return Fact(relation, self.pick(held))
        return Fact(relation, self.pick(self.compatible(relation)))

    def fresh(self, make: Callable[[], str]) -> str:
        """A text from ``make`` that the agent has not said yet (so consistency never repeats)."""
        text = make()
        for attempt in range(24):
            if normalize_text(text) not in self.said:
                return text
            text = make() if attempt < 8 else f"{self.pick(_AGAIN)} {_lower(make())}"
        n = 2
        while normalize_text(f"{text} ({n})") in self.said:
            n += 1
        return f"{text} ({n})"

    def consistent(self, move: Move) -> Line:
        if move.is_question:
            assert move.relation is not None
            fact = self.true_fact(move.relation)
            facts: tuple[Fact, ...] = (fact,)
            if move.kind != "false_premise":
                return Line(self.fresh(lambda: self.statement(fact)), facts, "answer", "consistent")
            assert move.value is not None
            rel = self.o[move.relation]
            if move.value == NONE:
                def make() -> str:
                    return f"{self.pick(_CORRECTION)} {self.statement(fact)}"
            else:
                facts = (Fact(move.relation, move.value, negated=True), fact)

                def make() -> str:
                    denial = render(self.pick(rel.negated), move.value)  # type: ignore[arg-type]
                    return f"{self.pick(_CORRECTION)} {denial} {self.statement(fact)}"
            return Line(self.fresh(make), facts, "answer", "consistent")
        fact = self.pick(self.known)
        act = {"small_talk": "engage", "emotional": "empathize", "meta": "deny_ai"}[move.kind]
        return Line(self.fresh(lambda: self._social(move.kind, fact)), (fact,), act, "consistent")

    def _social(self, move_kind: str, fact: Fact) -> str:
        text = f"{self.pick(_OPEN[move_kind])} {self.statement(fact)}"
        close = self.pick(_CLOSE) if move_kind == "small_talk" else ""
        return f"{text} {close}".rstrip()

    # -- distractors ---------------------------------------------------------------------------

    def wrong_facts(self, relation: str) -> list[tuple[Fact, str]]:
        """Facts on ``relation`` (or its opposite) that contradict persona or history."""
        out: list[tuple[Fact, str]] = []
        rel = self.o[relation]
        for rel_name in (relation, rel.opposite) if rel.opposite else (relation,):
            bad_persona = set(self.conflicting(rel_name, self.persona_keys))
            bad_any = set(self.conflicting(rel_name, self.known_keys))
            for v in self.o[rel_name].all_values:
                if v in bad_persona:
                    out.append((Fact(rel_name, v), "contradict_persona"))
                elif v in bad_any:
                    out.append((Fact(rel_name, v), "contradict_history"))
        return out

    def distractors(self, move: Move) -> list[Line]:
        lines: list[Line] = []
        persona_rels = sorted(self.persona.relations)
        if move.is_question:
            assert move.relation is not None
            wrong = self.wrong_facts(move.relation)
            for i in self.rng.permutation(len(wrong))[:2]:
                fact, kind = wrong[int(i)]
                prefix = "Yes," if move.kind == "false_premise" and fact.value == move.value else ""
                text = f"{prefix} {self.statement(fact)}".strip()
                lines.append(Line(text, (fact,), "answer", kind))
            other = [r for r in persona_rels if r != move.relation]
            ctx = "question"
        else:
            other = persona_rels
            ctx = move.kind
        # a contradiction on another relation, said in the move's act
        act = "answer" if move.is_question else {"small_talk": "engage", "emotional": "empathize",
                                                  "meta": "deny_ai"}[move.kind]
        for i in self.rng.permutation(len(other))[:2]:
            wrong = self.wrong_facts(other[int(i)])
            if wrong:
                fact, kind = wrong[int(self.rng.integers(len(wrong)))]
                text = (self.statement(fact) if move.is_question
                        else self._social(move.kind, fact))
                lines.append(Line(text, (fact,), act,
                                  "contradict_other" if move.is_question else kind))
        # parrot: recite persona sentences unrelated to the move
        unrelated = [i for i, f in enumerate(self.persona.facts) if f.relation != move.relation]
        for _ in range(2):
            n = min(len(unrelated), 2)
            idx = sorted(int(unrelated[int(j)]) for j in self.rng.permutation(len(unrelated))[:n])
            lines.append(Line(" ".join(self.persona.sentences[i] for i in idx),
                              tuple(self.persona.facts[i] for i in idx), "recite", "parrot"))
        noun = self.o[move.relation].noun if move.relation else "that"
        lines.append(Line(self.pick(_ASSISTANT[ctx]).format(n=noun), (AI,), _ASSISTANT_ACT[ctx],
                          "assistant"))
        for text in self.rng.permutation(len(_EVASIVE))[:3]:
            lines.append(Line(_EVASIVE[int(text)], (), "evade", "evasive"))
        for text in self.rng.permutation(len(_ENGAGING))[:2]:
            lines.append(Line(_ENGAGING[int(text)], (), "engage", "engaging"))
        return lines


def _lower(s: str) -> str:
    return s if s.startswith(("I ", "I'")) else s[:1].lower() + s[1:]
