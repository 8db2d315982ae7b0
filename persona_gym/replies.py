"""Candidate replies offered to the agent each turn (DESIGN.md §5), task version 1.

Every candidate is a :class:`~persona_gym.dialogue.Line`: its text, the facts it asserts and its
dialogue act. ``kind`` is the generator's label, used by the reference policies and for analysis,
never shown in observations.

**Hard, honest candidates.** Every distractor is built from the same templates and slots as the
consistent reply, so that nothing but the facts tells them apart:

* answers to a question share the relation's answer templates; a wrong one asserts a value the
  persona or the agent's own commitments rule out, or answers right and adds an *aside* that
  contradicts (``I'm a nurse, actually. Also, I have two cats.``);
* the consistent reply gets a consistent aside as often as a main-value distractor does, so
  length and the aside itself are no cue;
* every answer-like candidate draws its hedge ("Well,", "Honestly,") and, on probes, its recall
  marker ("Like I said,") from one distribution, whatever its kind;
* on premise and challenge turns, confirmations ("Yes, that's right.") and corrections ("No,
  actually ...") follow from each candidate's own value, so both appear on right and wrong
  candidates (premises are true half the time: :mod:`persona_gym.partners`);
* the recitation (parrot), the assistant voice, the evasion and the empty follow-up are varied
  paraphrases, not fixed phrases.

Kinds (``consistent``, ``parrot`` and ``assistant`` are offered every turn; distractor slots fill
the remaining ``K - 3``):

=====================  ======================================================================
kind                   what the line does
=====================  ======================================================================
``consistent``         answers the move in character: persona and commitments agree
                       (improvises a compatible value when neither fixes the asked relation;
                       repairs a slip when challenged)
``contradict_persona`` answers, but a value (main or aside) contradicts the persona
``contradict_history`` answers, but a value contradicts only the agent's own commitments
``parrot``             recites persona facts, ignoring what was asked
``assistant``          drifts to an assistant voice ("As an AI, I don't ...")
``evasive``            dodges ("Hmm, a job? I'd rather not say.")
``engaging``           a friendly remark or question with no content
=====================  ======================================================================
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property

from persona_gym.dialogue import Line, Move, normalize_text
from persona_gym.rng import Stream
from persona_gym.speaker import HISTORY, PERSONA, Speaker
from persona_gym.world import AI, NONE, Fact, Ontology

# Phrase tables the lines are built from (public so persona_gym.judges.lexical can read the
# world's own lines without copying them).
OPEN_LINES = {
    "small_talk": ("Pretty good, thanks!", "Oh, not much.", "Ha, fair question.", "Good, good.",
                   "Can't complain.", "Busy, but fine."),
    "emotional": ("I'm sorry to hear that.", "That sounds really hard.", "Oh no, I'm sorry.",
                  "I get that, honestly.", "That must be tough.", "I hear you."),
    "meta": ("Ha, no, I'm a real person!", "An AI? No way.", "Nope, just me here.",
             "What? No, I'm human.", "No, I'm not a bot.", "Ha, I'm as human as it gets."),
}
SOCIAL_ACTS = {"small_talk": "engage", "emotional": "empathize", "meta": "deny_ai"}
CLOSE_LINES = ("How about you?", "What about you?", "And you?", "")
ASSISTANT_LINES = {
    "question": ("As an AI, I don't have {n}.", "I'm an AI language model, so I don't have {n}.",
                 "As an AI assistant, I can't say I have {n}.",
                 "As an AI, I don't really have {n} of my own.",
                 "I'm just a language model, so no {n} for me.",
                 "As a virtual assistant, I don't have {n}, but I'm happy to help."),
    "small_talk": ("As an AI, I don't really have a day, but I'm happy to chat!",
                   "I'm an AI assistant, so nothing much happens to me. How can I help?",
                   "As a language model, I don't have weekends, but thanks for asking!",
                   "As an AI, I'm always here and ready to help!"),
    "emotional": ("As an AI, I can't feel emotions, but I'm here to help.",
                  "I'm just a language model, but it sounds like talking to someone could help.",
                  "As an AI assistant, I'd suggest reaching out to a professional.",
                  "I'm an AI, so I can't relate directly, but I'm here to listen."),
    "meta": ("Yes, I'm an AI language model.", "That's right, I'm an AI assistant.",
             "Yes, I am an AI. How can I help you today?", "Good catch, I'm actually an AI.",
             "I am a language model, yes."),
}
ASSISTANT_ACTS = {"question": "answer", "small_talk": "engage", "emotional": "empathize",
                  "meta": "admit_ai"}
EVASIVE_LINES = ("I'd rather not say.", "Hmm, let's not get into that.", "I don't know, really.",
                 "Anyway, it's such a nice day today.", "Let's talk about something else.",
                 "Eh, it's not that interesting.", "Maybe another time.")
EVASIVE_TEMPLATES = ("Hmm, {n}? I'd rather not say.", "I'd rather keep {n} to myself.",
                     "Let's not get into {n} right now.", "Oh, {n}... maybe another time.",
                     "Honestly, {n} isn't something I talk about.")
ENGAGING_LINES = ("Ha, what made you ask?", "Tell me more about yourself first!",
                  "What do you like to do for fun?", "So what's new with you?",
                  "Ha, you first!", "Why, what about you?")
CORRECTION_LINES = ("No, that's not right.", "Not quite.", "Actually, no.",
                    "No, you're mixing me up.")
CONFIRM_LINES = ("Yes, that's right.", "Yeah, exactly.", "Right.", "Yes, I did.")
REPAIR_LINES = ("Sorry, I misspoke.", "My mistake.", "Oops, I mixed that up.",
                "Let me correct that.")
AGAIN_PREFIXES = ("Like I said,", "As I mentioned,", "Again,", "Like I told you,")
HEDGES = ("", "", "", "Well,", "Honestly,", "Hmm,")
ASIDE_CONNECTORS = ("Also,", "Oh, and", "And", "Plus,", "By the way,")

ASIDE_PROBABILITY = 0.5
"""Chance that an answer-like candidate (of any kind but the contradicting aside, which always
has one) carries a consistent aside."""
HISTORY_PREFERENCE = 0.6
"""Chance that a wrong value is drawn among history contradictions when there are some (they
are what only memory can catch)."""
RECALL_PROBABILITY = 0.3
"""Chance that a candidate on a probe turn opens with a recall marker, whatever its kind."""

# Distractor slots filling the K - 3 remaining candidates, in order (a slot that has nothing to
# offer is skipped; the evasive and engaging slots always can).
_QUESTION_SLOTS = ("main_wrong", "aside_wrong", "main_wrong", "aside_wrong", "evasive",
                   "aside_wrong", "engaging", "evasive", "engaging")
_SOCIAL_SLOTS = ("fact_wrong", "aside_wrong", "fact_wrong", "evasive", "engaging",
                 "aside_wrong", "evasive", "engaging")
_FILL_SLOTS = ("evasive", "engaging") * 16
"""Fallback when the slots above repeated themselves: dodges are always available."""


def _lower(s: str) -> str:
    return s if s.startswith(("I ", "I'")) else s[:1].lower() + s[1:]


_OPENERS = tuple(h for h in HEDGES if h)


def _prefixed(prefix: str, text: str) -> str:
    """``prefix text``: the text continues the sentence after a comma, a colon or a connector
    ("Oh, and"), and starts a new one after a full stop; a hedge is dropped before a text that
    already opens with one."""
    if not prefix or (prefix in _OPENERS and text.startswith(_OPENERS)):
        return text
    return f"{prefix} {text}" if prefix[-1] in ".!?" else f"{prefix} {_lower(text)}"


class ReplyGenerator:
    """Builds the K candidates for a move, given the agent's :class:`Speaker`."""

    def __init__(self, ontology: Ontology, num_candidates: int) -> None:
        if not 3 <= num_candidates <= 8:
            raise ValueError(f"num_candidates must be in [3, 8], got {num_candidates}")
        self.ontology = ontology
        self.k = num_candidates

    def candidates(self, move: Move, speaker: Speaker, rng: Stream) -> tuple[Line, ...]:
        """K distinct candidate lines in random order: the consistent one, a recitation and an
        assistant line (the reference policies rely on them) and K - 3 distractors."""
        ctx = _Turn(self.ontology, speaker, move, rng)
        lines = [ctx.consistent(), ctx.parrot(), ctx.assistant()]
        seen = {line.text for line in lines}
        slots = _QUESTION_SLOTS if move.is_question else _SOCIAL_SLOTS
        for slot in (*slots, *_FILL_SLOTS):
            if len(lines) == self.k:
                break
            line = ctx.distractor(slot)
            if line is not None and line.text not in seen:
                seen.add(line.text)
                lines.append(line)
        assert len(lines) == self.k, "the evasive and engaging slots ran dry"
        return tuple(rng.shuffled(lines))


class _Turn:
    """Renders the lines of one turn."""

    def __init__(self, ontology: Ontology, speaker: Speaker, move: Move, rng: Stream) -> None:
        self.o, self.s, self.move, self.rng = ontology, speaker, move, rng

    # -- pieces --------------------------------------------------------------------------------

    def statement(self, fact: Fact) -> str:
        kind = "negated" if fact.negated else "answer"
        return self.rng.pick(self.o.phrases(kind, fact.relation, fact.value))

    def aside(self, fact: Fact) -> str:
        """A fact as a self-contained first-person statement (a persona-profile template:
        answer templates like "Mostly jazz." need the question to be read)."""
        return self.rng.pick(self.o.phrases("persona", fact.relation, fact.value))

    def clean_fact(self, avoid: str | None = None) -> Fact | None:
        """A held fact on another relation than ``avoid`` (nothing held contradicts it)."""
        options = [f for f in self.s.commitments if f.relation != avoid]
        return self.rng.pick(options) if options else None

    def wrong_fact(self, relation: str | None) -> Fact | None:
        """A value contradicting what is held: on ``relation`` (or its opposite), or on any
        held relation when ``relation`` is None; one contradicting only the agent's own
        commitments with probability :data:`HISTORY_PREFERENCE` when there is one."""
        s = self.s
        if relation is None:
            options, history = self._wrong_anywhere
        else:
            options = list(s.wrong_options.get(relation, ()))
            opposite = self.o[relation].opposite
            if opposite:
                options += s.wrong_options.get(opposite, ())
            history = [o for o in options if o[2] == HISTORY]
        if not options:
            return None
        if history and self.rng.random() < HISTORY_PREFERENCE:
            options = history
        r, v, _ = self.rng.pick(options)
        return Fact(r, v)

    @cached_property
    def _wrong_anywhere(self) -> tuple[list[tuple[str, str, str]], list[tuple[str, str, str]]]:
        """The wrong options on every held relation, and those that contradict only the
        agent's commitments (once per turn: the speaker does not change during one)."""
        options = [o for r in self.s.held for o in self.s.wrong_options.get(r, ())]
        return options, [o for o in options if o[2] == HISTORY]

    def label(self, facts: tuple[Fact, ...]) -> str:
        """``consistent``, or which kind of contradiction the facts make."""
        labels = {self.s.wrong.get(f.relation, {}).get(f.value) for f in facts if not f.negated}
        if PERSONA in labels or any(self.s.contradicts_persona(f) for f in facts):
            return PERSONA
        if HISTORY in labels or any(self.s.is_wrong(f) for f in facts):
            return HISTORY
        return "consistent"

    def prefix(self, facts: tuple[Fact, ...]) -> str:
        """The opener of an answer, drawn the same way for every kind: confirmation or
        correction on premise and challenge turns (from the line's own value), a recall marker
        on probes, otherwise a hedge."""
        move, rng = self.move, self.rng
        if move.kind in ("premise", "challenge"):
            agrees = any(f.value == move.value and not f.negated for f in facts)
            if agrees:
                return rng.pick(CONFIRM_LINES)
            return rng.pick(REPAIR_LINES if move.kind == "challenge" else CORRECTION_LINES)
        if move.kind == "probe" and rng.random() < RECALL_PROBABILITY:
            return rng.pick(AGAIN_PREFIXES)
        return rng.pick(HEDGES)

    def render(self, facts: tuple[Fact, ...], opener: str | None = None) -> str:
        """Facts as one reply: denials first ("I'm not a teacher."), then the main statement,
        then asides joined by a connector; opened by :meth:`prefix` unless ``opener`` is
        given."""
        parts = [self.statement(f) for f in facts if f.negated]
        positives = [f for f in facts if not f.negated]
        if positives:
            parts.append(self.statement(positives[0]))
            parts += [_prefixed(self.rng.pick(ASIDE_CONNECTORS), self.aside(f))
                      for f in positives[1:]]
        text = " ".join(parts)
        if opener is not None:
            return f"{opener} {text}" if opener else text
        return _prefixed(self.prefix(facts), text)

    def with_aside(self, main: tuple[Fact, ...], probability: float = ASIDE_PROBABILITY
                   ) -> tuple[Fact, ...]:
        if self.rng.random() >= probability:
            return main
        aside = self.clean_fact(avoid=main[-1].relation)
        return main if aside is None or aside in main else (*main, aside)

    def fresh(self, make: Callable[[], Line]) -> Line:
        """A line from ``make`` the agent has not said yet (redrawn up to 8 times)."""
        line = make()
        for _ in range(8):
            if normalize_text(line.text) not in self.s.said:
                return line
            line = make()
        return line

    # -- the always-offered lines ------------------------------------------------------------

    def answer_facts(self) -> tuple[Fact, ...]:
        """The consistent answer's facts for a question move."""
        move, s = self.move, self.s
        r = move.relation
        assert r is not None
        held = s.held.get(r, [])
        persona = [f.value for f in s.persona.facts if f.relation == r and not f.negated]
        claimed = move.value
        if claimed is not None and claimed not in held:  # a false claim or a slip: deny it
            denial = Fact(r, claimed, negated=True)
            if not held:
                return (denial,)
            right = Fact(r, self.rng.pick(held))
            deny = claimed != NONE and self.rng.random() < 0.5  # "I don't have a none": no
            return (denial, right) if deny else (right,)
        if claimed is not None:  # a true premise: confirm it
            return (Fact(r, claimed),)
        options = persona or held or s.compatible(r)
        if not options:  # nothing fits (cannot happen with the shipped ontology)
            return (Fact(r, self.rng.pick(self.o[r].all_values), negated=True),)
        return (Fact(r, self.rng.pick(options)),)

    def consistent(self) -> Line:
        move = self.move
        if move.is_question:
            main = self.answer_facts()

            def make() -> Line:
                facts = self.with_aside(main)
                return Line(self.render(facts), facts, "answer", "consistent")
            line = self.fresh(make)
            if normalize_text(line.text) in self.s.said:  # every rendering said: add content
                extra = self.clean_fact(avoid=main[-1].relation)
                facts = main if extra is None or extra in main else (*main, extra)
                line = Line(self.render(facts), facts, "answer", "consistent")
            return line
        fact = self.clean_fact()
        assert fact is not None, "a persona always holds facts"
        return self.fresh(lambda: self.social_line(self.with_aside((fact,)), "consistent"))

    def social_line(self, facts: tuple[Fact, ...], kind: str) -> Line:
        move_kind = self.move.kind
        opener = self.rng.pick(OPEN_LINES[move_kind])
        text = self.render(facts, opener)
        if move_kind == "small_talk":
            text = f"{text} {self.rng.pick(CLOSE_LINES)}".rstrip()
        return Line(text, facts, SOCIAL_ACTS[move_kind], kind)

    def parrot(self) -> Line:
        """Recite one or two persona facts unrelated to the move, in answer phrasing."""
        s, rng = self.s, self.rng
        relation = self.move.relation
        avoid = (relation, self.o[relation].opposite) if relation else ()
        facts = [f for f in s.persona.facts if f.relation not in avoid and not f.negated] or [
            f for f in s.persona.facts if not f.negated]
        first = rng.index(len(facts))
        chosen = [facts[first]]
        if rng.random() < 0.5 and len(facts) > 1:
            chosen.append(facts[(first + 1 + rng.index(len(facts) - 1)) % len(facts)])
        return self.fresh(lambda: Line(_prefixed(rng.pick(HEDGES), self.render(tuple(chosen), "")),
                                       tuple(chosen), "recite", "parrot"))

    def assistant(self) -> Line:
        ctx = "question" if self.move.is_question else self.move.kind
        noun = self.o[self.move.relation].noun if self.move.relation else ""
        return self.fresh(lambda: Line(
            _prefixed(self.rng.pick(HEDGES), self.rng.pick(ASSISTANT_LINES[ctx]).format(n=noun)),
            (AI,), ASSISTANT_ACTS[ctx], "assistant"))

    # -- distractors ---------------------------------------------------------------------------

    def distractor(self, slot: str) -> Line | None:
        move, rng = self.move, self.rng
        if slot == "evasive":
            if move.relation:
                noun = self.o[move.relation].noun
                text = rng.pick(EVASIVE_TEMPLATES).format(n=noun)
                text = text[0].upper() + text[1:]
            else:
                text = rng.pick(EVASIVE_LINES)
            return Line(_prefixed(rng.pick(HEDGES), text), (), "evade", "evasive")
        if slot == "engaging":
            if move.is_question:
                return Line(rng.pick(ENGAGING_LINES), (), "engage", "engaging")
            opener = rng.pick(OPEN_LINES[move.kind])
            close = rng.pick(CLOSE_LINES[:3] if move.kind == "small_talk" else ENGAGING_LINES)
            return Line(f"{opener} {close}", (), SOCIAL_ACTS[move.kind], "engaging")
        if slot == "main_wrong":
            claimed = move.value
            if claimed is not None and self.s.is_wrong(Fact(move.relation, claimed)) and (
                    rng.random() < 0.6):  # accept a false claim, double down on a slip
                wrong: Fact | None = Fact(move.relation, claimed)
            else:
                wrong = self.wrong_fact(move.relation)
            if wrong is None:
                return None
            main: tuple[Fact, ...] = (wrong,)
            if claimed not in (None, NONE) and wrong.value != claimed and rng.random() < 0.5:
                main = (Fact(move.relation, claimed, negated=True), wrong)
            facts = self.with_aside(main)
            return self.fresh(lambda: Line(self.render(facts), facts, "answer",
                                           self.label(facts)))
        if slot == "fact_wrong":
            wrong = self.wrong_fact(None)
            if wrong is None:
                return None
            return self.fresh(lambda: self.social_line((wrong,), self.label((wrong,))))
        # aside_wrong: the right main content and a contradicting aside
        if move.is_question:
            main = self.answer_facts()
        else:
            clean = self.clean_fact()
            if clean is None:
                return None
            main = (clean,)
        wrong = self.wrong_fact(None)
        if wrong is None or wrong.relation == main[-1].relation:
            return None
        facts = (*main, wrong)
        label = self.label(facts)
        if move.is_question:
            return self.fresh(lambda: Line(self.render(facts), facts, "answer", label))
        return self.fresh(lambda: self.social_line(facts, label))
