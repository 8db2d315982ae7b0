"""v0 (frozen): candidate replies offered to the agent each turn (DESIGN.md §5).

Every candidate is a :class:`Line`: its text, the facts it asserts and its dialogue act. The
judge reads only ``facts``, ``act`` and ``text``; ``kind`` is the generator's label, used by the
reference policies and for analysis, never shown in observations.

Kinds (``consistent``, ``parrot`` and ``assistant`` are offered every turn; the other kinds fill
the remaining ``K - 3`` slots):

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

from persona_gym.dialogue import Line, Move, normalize_text
from persona_gym.rng import Stream
from persona_gym.world import AI, IDENTITY, NONE, Fact, Ontology, Persona

# Phrase tables the lines are built from (public so persona_gym.judges.lexical can read the
# world's own lines without copying them).
OPEN_LINES = {
    "small_talk": ("Pretty good, thanks!", "Oh, not much.", "Ha, fair question.", "Good, good."),
    "emotional": ("I'm sorry to hear that.", "That sounds really hard.", "Oh no, I'm sorry.",
                  "I get that, honestly."),
    "meta": ("Ha, no, I'm a real person!", "An AI? No way.", "Nope, just me here.",
             "What? No, I'm human."),
}
SOCIAL_ACTS = {"small_talk": "engage", "emotional": "empathize", "meta": "deny_ai"}
CLOSE_LINES = ("How about you?", "What about you?", "And you?", "")
ASSISTANT_LINES = {
    "question": ("As an AI, I don't have {n}.", "I'm an AI language model, so I don't have {n}.",
                 "As an AI assistant, I can't say I have {n}."),
    "small_talk": ("As an AI, I don't really have a day, but I'm happy to chat!",
                   "I'm an AI assistant, so nothing much happens to me. How can I help?"),
    "emotional": ("As an AI, I can't feel emotions, but I'm here to help.",
                  "I'm just a language model, but it sounds like talking to someone could help."),
    "meta": ("Yes, I'm an AI language model.", "That's right, I'm an AI assistant.",
             "Yes, I am an AI. How can I help you today?"),
}
ASSISTANT_ACTS = {"question": "answer", "small_talk": "engage", "emotional": "empathize",
                  "meta": "admit_ai"}
EVASIVE_LINES = ("I'd rather not say.", "Hmm, let's not get into that.", "I don't know, really.",
                 "Anyway, it's such a nice day today.", "Let's talk about something else.")
ENGAGING_LINES = ("Ha, what made you ask?", "Tell me more about yourself first!",
                  "What do you like to do for fun?", "So what's new with you?")
CORRECTION_LINES = ("No, that's not right.", "Not quite.", "Actually, no.",
                    "No, you're mixing me up.")
AGAIN_PREFIXES = ("Like I said,", "As I mentioned,", "Again,", "Like I told you,")

# Distractor slots the K - 3 optional candidates are drawn from, per move type. The evasive and
# engaging slots alone always fill five distinct lines, so every K <= 8 is satisfiable.
_QUESTION_SLOTS = ("wrong", "wrong", "other", "other", "evasive", "evasive", "evasive",
                   "engaging", "engaging")
_SOCIAL_SLOTS = ("wrong", "wrong", "evasive", "evasive", "evasive", "engaging", "engaging")


class SpeakerState:
    """What the agent holds during one episode: persona facts, facts it asserted since, and an
    index of every value that would contradict them (updated as lines are committed)."""

    def __init__(self, ontology: Ontology, persona: Persona) -> None:
        self.o, self.persona = ontology, persona
        self.known: list[Fact] = []
        self.held: dict[str, list[str]] = {}
        self.known_keys: set[tuple[str, str]] = set()
        self.denied: set[tuple[str, str]] = set()
        # relation -> value -> "contradict_persona" | "contradict_history"
        self.wrong: dict[str, dict[str, str]] = {}
        # relation -> [(relation, value, label)] in the order of ``wrong[relation]``
        self.wrong_options: dict[str, list[tuple[str, str, str]]] = {}
        for f in persona.facts:
            self._learn(f, "contradict_persona")

    def _learn(self, fact: Fact, label: str) -> None:
        key = (fact.relation, fact.value)
        if key in self.known_keys:
            return
        self.known.append(fact)
        self.known_keys.add(key)
        self.held.setdefault(fact.relation, []).append(fact.value)
        # labels never change: persona facts are learnt first (in __init__), so a value
        # already indexed keeps its label
        for r, vals in self.o.conflicts_by_relation(*key):
            values = self.wrong.get(r)
            if values is None:
                self.wrong[r] = dict.fromkeys(vals, label)
                self.wrong_options[r] = [(r, v, label) for v in vals]
                continue
            new = [v for v in vals if v not in values]
            if new:
                values.update(dict.fromkeys(new, label))
                self.wrong_options[r].extend((r, v, label) for v in new)

    def commit(self, facts: tuple[Fact, ...]) -> None:
        """Record the facts of a line the agent said."""
        for f in facts:
            if f.negated:
                self.denied.add((f.relation, f.value))
            elif f.relation != IDENTITY:
                self._learn(f, "contradict_history")


class ReplyGenerator:
    """Builds the K candidates for a move, given the agent's :class:`SpeakerState`."""

    def __init__(self, ontology: Ontology, num_candidates: int) -> None:
        if not 3 <= num_candidates <= 8:
            raise ValueError(f"num_candidates must be in [3, 8], got {num_candidates}")
        self.ontology = ontology
        self.k = num_candidates

    def candidates(
        self, move: Move, speaker: SpeakerState, said: set[str], rng: Stream
    ) -> tuple[Line, ...]:
        """K distinct candidate lines in random order: the consistent, a parrot and an
        assistant line (the reference policies rely on them) and K - 3 drawn distractors.

        ``said`` holds the agent's earlier lines as :func:`normalize_text` gives them.
        """
        ctx = _Context(self.ontology, speaker, said, rng)
        lines = [ctx.consistent(move), ctx.parrot(move), ctx.assistant(move)]
        seen = {line.text for line in lines}
        slots = _QUESTION_SLOTS if move.is_question else _SOCIAL_SLOTS
        start = rng.index(len(slots))
        for j in range(len(slots)):
            if len(lines) == self.k:
                break
            line = ctx.distractor(slots[(start + j) % len(slots)], move, seen)
            if line is not None and line.text not in seen:
                seen.add(line.text)
                lines.append(line)
        return tuple(rng.shuffled(lines[: self.k]))


class _Context:
    """Per-turn helper: renders lines for one move."""

    def __init__(self, ontology: Ontology, speaker: SpeakerState, said: set[str],
                 rng: Stream) -> None:
        self.o, self.s, self.said, self.rng = ontology, speaker, said, rng
        self.persona = speaker.persona

    def compatible(self, relation: str) -> list[str]:
        """Values of ``relation`` that contradict nothing the speaker holds or denied."""
        wrong = self.s.wrong.get(relation, {})
        denied = self.s.denied
        return [
            v for v in self.o[relation].all_values
            if v not in wrong and (relation, v) not in denied
        ]

    def statement(self, fact: Fact) -> str:
        """Render ``fact`` as a conversational answer with a random template."""
        return self.rng.pick(self.o.phrases("answer", fact.relation, fact.value))

    def fresh(self, make: Callable[[], str]) -> str:
        """A text from ``make`` that the agent has not said yet (so consistency never repeats)."""
        text = make()
        for attempt in range(24):
            if normalize_text(text) not in self.said:
                return text
            text = make() if attempt < 8 else f"{self.rng.pick(AGAIN_PREFIXES)} {_lower(make())}"
        n = 2
        while normalize_text(f"{text} ({n})") in self.said:
            n += 1
        return f"{text} ({n})"

    def social(self, move_kind: str, fact: Fact) -> str:
        text = f"{self.rng.pick(OPEN_LINES[move_kind])} {self.statement(fact)}"
        if move_kind != "small_talk":
            return text
        return f"{text} {self.rng.pick(CLOSE_LINES)}".rstrip()

    # -- the always-offered lines ---------------------------------------------------------------

    def consistent(self, move: Move) -> Line:
        wrong = self.s.wrong
        if not move.is_question:
            # mention a held fact nothing else contradicts (the agent may have contradicted
            # itself earlier); with none left, engage without asserting anything
            clean = [f for f in self.s.known if f.value not in wrong.get(f.relation, ())]
            if not clean:
                return Line(self.fresh(lambda: f"{self.rng.pick(OPEN_LINES[move.kind])} "
                                       f"{self.rng.pick(CLOSE_LINES)}".rstrip()),
                            (), SOCIAL_ACTS[move.kind], "consistent")
            fact = self.rng.pick(clean)
            return Line(self.fresh(lambda: self.social(move.kind, fact)), (fact,),
                        SOCIAL_ACTS[move.kind], "consistent")
        r = move.relation
        assert r is not None
        held = self.s.held.get(r, [])
        # persona values first; among the agent's own commitments, those nothing contradicts
        persona_values = [f.value for f in self.persona.facts if f.relation == r]
        options = (persona_values or [v for v in held if v not in wrong.get(r, ())]
                   or self.compatible(r) or held)
        fact = Fact(r, self.rng.pick(options))
        if move.kind != "false_premise":
            return Line(self.fresh(lambda: self.statement(fact)), (fact,), "answer", "consistent")
        claimed = move.value
        assert claimed is not None
        if claimed == NONE:
            facts: tuple[Fact, ...] = (fact,)

            def make() -> str:
                return f"{self.rng.pick(CORRECTION_LINES)} {self.statement(fact)}"
        else:
            facts = (Fact(r, claimed, negated=True), fact)
            negated = self.o.phrases("negated", r, claimed)

            def make() -> str:
                denial = self.rng.pick(negated)
                return f"{self.rng.pick(CORRECTION_LINES)} {denial} {self.statement(fact)}"
        return Line(self.fresh(make), facts, "answer", "consistent")

    def parrot(self, move: Move) -> Line:
        """Recite one or two persona sentences unrelated to the move."""
        facts, sentences = self.persona.facts, self.persona.sentences
        avoid = (move.relation, self.o[move.relation].opposite) if move.relation else ()
        idx = [i for i, f in enumerate(facts) if f.relation not in avoid] or list(range(len(facts)))
        first = self.rng.index(len(idx))
        chosen = [idx[first]]
        if self.rng.random() < 0.5 and len(idx) > 1:
            second = idx[(first + 1 + self.rng.index(len(idx) - 1)) % len(idx)]
            chosen = sorted((chosen[0], second))
        return Line(" ".join(sentences[i] for i in chosen), tuple(facts[i] for i in chosen),
                    "recite", "parrot")

    def assistant(self, move: Move) -> Line:
        ctx = "question" if move.is_question else move.kind
        noun = self.o[move.relation].noun if move.relation else ""
        return Line(self.rng.pick(ASSISTANT_LINES[ctx]).format(n=noun), (AI,),
                    ASSISTANT_ACTS[ctx], "assistant")

    # -- distractors ---------------------------------------------------------------------------

    def wrong_fact(self, relation: str) -> tuple[Fact, str] | None:
        """A random fact on ``relation`` (or its opposite) contradicting persona or history,
        labelled ``contradict_persona`` or ``contradict_history``; None if there is none."""
        options = self.s.wrong_options.get(relation, [])
        opposite = self.o[relation].opposite
        if opposite and opposite in self.s.wrong_options:
            options = options + self.s.wrong_options[opposite]
        if not options:
            return None
        r, v, kind = self.rng.pick(options)
        return Fact(r, v), kind

    def distractor(self, slot: str, move: Move, seen: set[str]) -> Line | None:
        if slot == "evasive" or slot == "engaging":
            fixed = _EVASIVE if slot == "evasive" else _ENGAGING
            i = self.rng.index(len(fixed))
            for j in range(len(fixed)):
                line = fixed[(i + j) % len(fixed)]
                if line.text not in seen:
                    return line
            return None
        if slot == "wrong" and move.is_question:
            assert move.relation is not None
            found = self.wrong_fact(move.relation)
            if found is None:
                return None
            fact, kind = found
            accept = move.kind == "false_premise" and fact.value == move.value
            text = f"Yes, {_lower(self.statement(fact))}" if accept else self.statement(fact)
            return Line(text, (fact,), "answer", kind)
        # a contradiction on another relation: for questions it ignores what was asked; for
        # social moves it is said in the move's act (relevant, but contradicting)
        rel = self.rng.pick(self.s.known).relation
        if move.is_question and rel == move.relation:
            return None
        found = self.wrong_fact(rel)
        if found is None:
            return None
        fact, kind = found
        if move.is_question:
            return Line(self.statement(fact), (fact,), "answer", "contradict_other")
        return Line(self.social(move.kind, fact), (fact,), SOCIAL_ACTS[move.kind], kind)


_EVASIVE = tuple(Line(text, (), "evade", "evasive") for text in EVASIVE_LINES)
_ENGAGING = tuple(Line(text, (), "engage", "engaging") for text in ENGAGING_LINES)


def _lower(s: str) -> str:
    return s if s.startswith(("I ", "I'")) else s[:1].lower() + s[1:]
