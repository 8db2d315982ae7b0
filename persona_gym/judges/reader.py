"""The text reader: the world's facts, the dialogue act and the partner's move, read from text.

A reader turns text into what the symbolic judge scores. Regular expressions over the closed
vocabulary of ``persona_gym/world/ontology.toml`` and :mod:`persona_gym.judges.lexicon`; numpy-
and model-free, deterministic. Two users:

* the text variant of the env (:class:`persona_gym.envs.variants.PersonaDialogueTextEnv`) reads
  every free-text reply with :meth:`TextReader.parse` and scores it exactly like a candidate;
* the real-log importer (:mod:`persona_gym.logs`) reads persona sentences and lines with
  :meth:`TextReader.parse` and the partner's lines with :meth:`TextReader.parse_move`.

:meth:`TextReader.parse` first reads the world's own phrasing exactly (every persona / answer /
negated / ``none`` template of every relation and the phrase tables of :mod:`persona_gym.replies`),
then falls back to looser first-person patterns over the same values (tier 2).

What it reads:

* every sentence the world renders, with the openers, corrections, "Like I said," prefixes and
  closers around it (exact: the symbolic judge scores parsed lines as it scores the originals);
* first-person statements with the world's values in other words: "I'm a nurse", "I have two
  dogs", "I own a cat, a hamster and a parrot", "I have 2 kids and a dog", "I'm 42" / "I'm
  forty-two" / "I am a 42-year-old", "I grew up with two sisters", "I don't have a car";
* negation ("I'm not a nurse", "I've never owned a dog"), "none" ("I don't have any pets"),
  aspiration and past ("I've always wanted to be a doctor" is a career goal, not a job; "I used
  to be a nurse" is no current job), questions (they assert nothing), statements about others
  ("My sister is a nurse" says nothing about the speaker), assistant voice ("As an AI...",
  "I'm a language model") and the dialogue act from cue phrases.

What it cannot read (honest limits):

* values outside the closed vocabulary ("I'm 43", "I'm a carpenter", "I live in Ohio") give no
  fact;
* paraphrase beyond its patterns and a small synonym table ("I spend my days with horses" for
  "I own a ranch"), coreference ("I have a sister. She's a dancer."), irony and sarcasm;
* a negation or "I've always wanted" applies to the rest of its clause, and counting lists ("a
  lab, a poodle and a mutt" = "three dogs") is not done.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache
from typing import NamedTuple

from persona_gym.dialogue import Line, Move
from persona_gym.judges import lexicon
from persona_gym.replies import (
    AGAIN_PREFIXES,
    ASIDE_CONNECTORS,
    ASSISTANT_ACTS,
    ASSISTANT_LINES,
    CLOSE_LINES,
    CONFIRM_LINES,
    CORRECTION_LINES,
    ENGAGING_LINES,
    EVASIVE_LINES,
    EVASIVE_TEMPLATES,
    HEDGES,
    OPEN_LINES,
    REPAIR_LINES,
    SOCIAL_ACTS,
)
from persona_gym.world import AI, HUMAN, NONE, Fact, Ontology, load_ontology

__all__ = ["READER_VERSION", "TextReader"]

READER_VERSION = 1
"""The version of what :class:`TextReader` reads. Free-text rewards (the text variants, imported
logs) depend on it, so it is recorded in every text-variant result of
:func:`persona_gym.evaluation.evaluate` and in imported datasets' metadata: compare such scores
only at one reader version. ``tests/test_lexical.py`` pins a fingerprint of the readings of a
fixed corpus (the hand-written paraphrase suite and seeded text-variant conversations) per
version, so a change that reads anything differently fails until this number goes up. The
discrete and continuous variants read no text: their rewards and datasets never depend on it."""


class _Compiled(NamedTuple):
    left: re.Pattern[str] | None
    right: re.Pattern[str] | None
    loose: re.Pattern[str] | None  # subject + verb anywhere before (rules with a right context)
    coord: re.Pattern[str] | None  # subject + verb + a first conjunct ("I have 2 kids and a dog")
    skip: frozenset[str]
    has_subject: bool


class _Parsed(NamedTuple):
    facts: tuple[Fact, ...]
    act: str


def _second_to_first(sentence: str) -> str:
    """A question about "you" as a statement by its addressee ("do you have a dog" -> "i have a
    dog", "are you married" -> "i am married"), for the first-person fact reader."""
    s = lexicon.SWAP_RE.sub(lambda m: lexicon.PERSON_SWAP[m.group(0)], sentence)

    def uninvert(m: re.Match[str]) -> str:
        aux = lexicon.UNINVERT.get(m.group(1), m.group(1))
        neg = " do not" if m.group(2) and not aux else (" not" if m.group(2) else "")
        return f"i{(' ' + aux) if aux else ''}{neg}"

    return lexicon.SPACES.sub(" ", lexicon.INVERTED.sub(uninvert, s)).strip()



class TextReader:
    """Reads the world's facts, the dialogue act and partner moves from text (module docs).

    ``parse`` is exact on the world's own lines (same facts, up to form, as the generator's) and
    reads looser first-person text with the same vocabulary; ``parse_move`` reads what a
    partner's line in a real log asks for. Results are cached per text; a reader pickles as its
    ontology alone.
    """

    def __init__(self, ontology: Ontology | None = None) -> None:
        self.ontology = load_ontology() if ontology is None else ontology
        self._build_templates()
        self._build_free_text()
        self._parse_cached = lru_cache(maxsize=1 << 16)(self._parse_uncached)
        self._answer_cached = lru_cache(maxsize=1 << 16)(self._answer_uncached)
        self._build_questions()
        self._move_cached = lru_cache(maxsize=1 << 16)(self._move_uncached)

    def __getstate__(self) -> dict[str, Ontology]:
        """Pickle only the ontology (an env holding a reader stays picklable); caches rebuild."""
        return {"ontology": self.ontology}

    def __setstate__(self, state: dict[str, Ontology]) -> None:
        self.__init__(state["ontology"])  # type: ignore[misc]

    # -- construction -----------------------------------------------------------------------

    def _build_templates(self) -> None:
        """Index every world template by its skeleton (the sentence with the value cut out)."""
        o = self.ontology
        # skeleton -> [(relation, negated, kind)], for "{v}" and for "{a}" placeholders
        self._skel_v: dict[str, list[tuple[str, bool, str]]] = {}
        self._skel_a: dict[str, list[tuple[str, bool, str]]] = {}
        self._none_sentences: dict[str, tuple[str, str]] = {}
        self._values: dict[str, dict[str, str]] = {}  # relation -> surface -> canonical
        surfaces: set[str] = set()
        for rel in o.relations.values():
            vmap = {v.lower(): v for v in rel.values}
            self._values[rel.name] = vmap
            surfaces.update(vmap)
            for kind, templates, negated in (("persona", rel.persona, False),
                                             ("answer", rel.answer, False),
                                             ("negated", rel.negated, True)):
                for t in templates:
                    key = lexicon.sentence_key(lexicon.expand(t))
                    index = self._skel_a if "{a}" in key else self._skel_v
                    skel = key.replace("{a}", "{v}")
                    index.setdefault(skel, []).append((rel.name, negated, kind))
            for kind, templates in (("persona", rel.persona_none), ("answer", rel.answer_none)):
                for t in templates:
                    self._none_sentences[lexicon.sentence_key(lexicon.expand(t))] = (rel.name, kind)
        self._value_re = re.compile(r"(?<![\w-])" + lexicon.trie_regex(surfaces) + r"(?!\w)")
        # the phrase tables around statements
        self._whole: dict[str, tuple[tuple[Fact, ...], str]] = {}
        for text in EVASIVE_LINES:
            self._whole[lexicon.sentence_key(lexicon.expand(text))] = ((), "evade")
        for text in ENGAGING_LINES:
            self._whole[lexicon.sentence_key(lexicon.expand(text))] = ((), "engage")
        self._evasive = [re.compile("^" + r".+?".join(
            re.escape(p) for p in lexicon.sentence_key(lexicon.expand(t)).split("{n}")) + "$")
            for t in EVASIVE_TEMPLATES]
        self._assistant: list[tuple[re.Pattern[str], str]] = []
        for ctx, lines in ASSISTANT_LINES.items():
            for text in lines:
                key = lexicon.sentence_key(lexicon.expand(text))
                parts = [re.escape(p) for p in key.split("{n}")]
                self._assistant.append(
                    (re.compile("^" + r".+?".join(parts) + "$"), ASSISTANT_ACTS[ctx])
                )
        self._hedges = [lexicon.expand(h) for h in HEDGES if h]
        self._prefixes: list[tuple[str, str | None]] = []
        for kind, lines in OPEN_LINES.items():
            self._prefixes += [(lexicon.expand(t), SOCIAL_ACTS[kind]) for t in lines]
        self._prefixes += [(lexicon.expand(t), None) for t in (
            *CORRECTION_LINES, *AGAIN_PREFIXES, *CONFIRM_LINES, *REPAIR_LINES,
            *filter(None, HEDGES), *ASIDE_CONNECTORS)]
        self._prefixes.sort(key=lambda p: len(p[0]), reverse=True)
        # connectors that open a later sentence of a line ("Oh, and I have a dog.")
        self._connectors = sorted(
            {lexicon.sentence_key(lexicon.expand(c)) for c in ASIDE_CONNECTORS}, key=len,
            reverse=True)
        self._suffixes = sorted((lexicon.expand(t) for t in CLOSE_LINES if t), key=len,
                                reverse=True)

    def _build_free_text(self) -> None:
        """Surface forms (plurals, synonyms) and compiled per-relation rules for free text."""
        o = self.ontology
        self._free_values: dict[str, dict[str, str]] = {}
        surfaces: set[str] = set()
        for rel in o.relations.values():
            if rel.name in ("has_age", "have_children", "have_sibling"):
                continue
            vmap: dict[str, str] = {}
            for v in rel.values:
                low = v.lower()
                vmap[low] = v
                if not low.endswith("s") or rel.name in ("have_pet", "own_vehicle"):
                    vmap.setdefault(lexicon.plural(low), v)
            for surface, canonical in lexicon.EXTRA_SURFACES.get(rel.name, {}).items():
                if canonical in rel.values:
                    vmap.setdefault(surface, canonical)
            self._free_values[rel.name] = vmap
            surfaces.update(vmap)
        self._surface_relations: dict[str, tuple[str, ...]] = {
            surface: tuple(r for r, vmap in self._free_values.items() if surface in vmap)
            for surface in surfaces
        }
        self._free_re = re.compile(r"(?<![\w-])" + lexicon.trie_regex(surfaces) + r"(?!\w)")
        self._rules: dict[str, list[_Compiled]] = {}
        for name, rules in lexicon.RULES.items():
            compiled = []
            for r in rules:
                verbs = lexicon.inflect_all(r.verbs) if r.verbs is not None else None
                if verbs is not None:
                    left: re.Pattern[str] | None = re.compile(
                        lexicon.SUBJ + r"(?P<verb>" + verbs + r")\s+" + lexicon.FILL + "$"
                    )
                elif r.left is not None:
                    left = re.compile(r"\b(?P<verb>" + r.left + r")\s+" + lexicon.FILL + "$")
                else:
                    left = None
                right = re.compile(r.right) if r.right is not None else None
                loose = coord = None
                if verbs is not None and r.right is not None:
                    loose = re.compile(lexicon.SUBJ + r"(?P<verb>" + verbs + r")\b")
                elif verbs is not None:
                    coord = re.compile(lexicon.SUBJ + r"(?P<verb>" + verbs
                                       + r")\s+(?:[\w'-]+[,\s]+){0,5}[\w'-]+$")
                compiled.append(_Compiled(left, right, loose, coord, r.skip, verbs is not None))
            self._rules[name] = compiled
        self._vocab_ages = {int(v): v for v in o["has_age"].values}
        self._kids = {v.split()[0]: v for v in o["have_children"].values}
        self._siblings = set(o["have_sibling"].values)

    # -- parse ------------------------------------------------------------------------------

    def parse(self, text: str, move: Move | None = None) -> Line:
        """The facts ``text`` asserts (world vocabulary) and its dialogue act, as a ``Line``.

        ``kind`` is ``"free_text"``. Negated facts come as ``Fact(r, v, negated=True)``;
        "not any" statements as ``Fact(r, "none")``; an assistant-voice claim as
        :data:`persona_gym.world.AI`; a denial of being a machine that states nothing else as
        :data:`persona_gym.world.HUMAN`. The act is one of :data:`persona_gym.replies.ACTS`.

        With ``move`` (the partner line ``text`` answers), short answers are read as answers to
        it, as a person hearing the question would (:meth:`_answer_uncached`): "Jazz, always
        jazz." to "What music do you like?", "Two, a boy and a girl." to "Do you have kids?",
        "Nope." to "Any pets?", "Yep." to "You're a teacher, right?", "Haha no, just a regular
        human." to "Are you an AI?". The world's own lines read the same with or without it.
        """
        if not isinstance(text, str):
            raise TypeError(f"text must be a string, got {type(text).__name__}")
        if move is not None and not isinstance(move, Move):
            raise TypeError(f"move must be a persona_gym.dialogue.Move or None, got "
                            f"{type(move).__name__}")
        parsed = self._parse_cached(text) if move is None else self._answer_cached(text, move)
        return Line(text, parsed.facts, parsed.act, "free_text")

    # -- partner moves (real logs) ------------------------------------------------------------

    def _build_questions(self) -> None:
        """Index the world's question templates and compile the looser question cues."""
        self._questions: dict[str, str] = {}
        for rel in self.ontology.relations.values():
            for t in rel.question:
                self._questions.setdefault(lexicon.sentence_key(lexicon.expand(t)), rel.name)
        self._cues = tuple((rel, re.compile(p)) for rel, p in lexicon.QUESTION_CUES
                           if rel in self.ontology.relations)

    def parse_move(self, text: str) -> Move:
        """The partner move a line of real text makes, for scoring the reply to it.

        * ``Move("meta", text)``: the line asks or suggests that the other speaker is a machine
          ("Are you a bot?", "Am I talking to an AI?", "Are you a real person?");
        * ``Move("ask", text, relation)``: a question about a relation of the world, found from
          the last question sentence backwards by (1) the ontology's question templates, also
          after a lead-in ("Remind me, what's your job?"), (2) a value the question names
          ("Do you have a dog?" is read as "I have a dog": ``have_pet``), (3) looser cue words
          ("What do you do for work?", "Any pets?"), or (4) for "What about you?" / "And
          you?", the relation of the speaker's own statement just before it ("I'm a nurse.
          What about you?");
        * ``Move("emotional", text)``: an emotional disclosure or emotional talk ("I've been so
          lonely", "I lost my job", "my dog died");
        * ``Move("open", text)`` otherwise (remarks, greetings, questions about things the
          world has no relation for); the empty line is ``Move("open", "")``.

        ``open`` comes only from logs: any reply that is not evasive or a recitation addresses
        it (:data:`persona_gym.replies.RELEVANT_ACTS`).
        """
        if not isinstance(text, str):
            raise TypeError(f"text must be a string, got {type(text).__name__}")
        kind, relation = self._move_cached(text)
        return Move(kind, text, relation)

    def _move_uncached(self, text: str) -> tuple[str, str | None]:
        s = lexicon.PLACEHOLDER.sub(" ", lexicon.expand(text)).strip()
        if not s:
            return "open", None
        sentences = [x for x in lexicon.SENTENCE_SPLIT.split(s) if x.strip(" .!?")]
        if any(lexicon.META.search(x) for x in sentences):
            return "meta", None
        for i in range(len(sentences) - 1, -1, -1):
            sentence = sentences[i]
            key = lexicon.sentence_key(sentence).strip(" ,;:\"'*")
            if not (sentence.rstrip().endswith("?") or lexicon.QUESTION_LIKE.match(key)):
                continue
            rel = self._question_relation(key)
            echo = lexicon.PREFIX_CUT.sub("", key) if "," in key else key
            if rel is None and lexicon.ECHO.search(echo):
                rel = self._echo_relation(sentences[:i])
            if rel is not None:
                return "ask", rel
        if lexicon.EMOTIONAL.search(s):
            return "emotional", None
        return "open", None

    def _question_relation(self, key: str, exact: bool = True) -> str | None:
        """The relation a question sentence (an expanded key) asks about, or None."""
        if exact:
            cand = key
            while True:
                rel = self._questions.get(cand)
                if rel is not None:
                    return rel
                cut = lexicon.PREFIX_CUT.sub("", cand, count=1)
                if cut == cand:
                    break
                cand = cut
        if not lexicon.ABOUT_YOU.search(key):
            return None
        for fact in self._free(_second_to_first(key)):
            if fact.relation in self.ontology.relations:
                return fact.relation
        for rel, pattern in self._cues:
            if pattern.search(key):
                return rel
        return None

    def _echo_relation(self, before: Sequence[str]) -> str | None:
        """For "What about you?": the relation of the speaker's last statement before it."""
        for sentence in reversed(before):
            for fact in self.parse(sentence).facts:
                if fact.relation in self.ontology.relations:
                    return fact.relation
        return None

    def _parse_uncached(self, text: str) -> _Parsed:
        line = lexicon.REPEAT_SUFFIX.sub("", lexicon.expand(text))
        whole = self._whole.get(lexicon.sentence_key(line))
        if whole is not None:
            return _Parsed(*whole)
        key = lexicon.sentence_key(line)
        bare = key
        for hedge in self._hedges:  # the world's assistant lines carry hedges too (v1)
            if key.startswith(hedge + " "):
                bare = key[len(hedge) + 1:]
                break
        for pattern, act in self._assistant:
            if pattern.match(key) or pattern.match(bare):
                return _Parsed((AI,), act)
        # strip the world's openers, corrections, "Like I said," prefixes and closers
        act: str | None = None
        changed = True
        while changed:
            changed = False
            for prefix, prefix_act in self._prefixes:
                if line == prefix or line.startswith(prefix + " "):
                    line = line[len(prefix):].lstrip()
                    act = act or prefix_act
                    changed = True
                    break
        for suffix in self._suffixes:
            if line.endswith(" " + suffix) or line == suffix:
                line = line[: -len(suffix)].rstrip()
                act = act or "engage"
                break
        facts: list[Fact] = []
        all_persona = True
        any_template = False
        ai = False
        for sentence in lexicon.SENTENCE_SPLIT.split(line) if line else ():
            k = lexicon.sentence_key(sentence)
            for connector in self._connectors:
                if k.startswith(connector + " "):
                    k = k[len(connector) + 1:]
                    break
            if not k:
                continue
            found = self.template_facts(k)
            if found is None and lexicon.YES.match(k):
                found = self.template_facts(lexicon.YES.sub("", k))
            if found is not None:
                got, kind = found
                any_template = True
                all_persona = all_persona and kind == "persona"
                facts.extend(got)
                continue
            all_persona = False
            if sentence.rstrip().endswith("?"):
                continue
            if lexicon.AI_CLAIM.search(sentence) and not lexicon.NOT_AI.search(sentence):
                ai = True
                continue
            facts.extend(self._free(k))
        if ai:
            return _Parsed((AI,), self._assistant_act(text))
        unique = tuple(dict.fromkeys(facts))
        if act is None:
            # "recite": every sentence is a persona-profile sentence, written out as profiles
            # are ("I am a nurse. I have a dog."), not conversationally ("I'm a nurse.")
            recite = any_template and all_persona and "'" not in text.translate(lexicon.QUOTES)
            act = self._free_act(lexicon.expand(text), unique, recite)
            if act == "deny_ai" and not unique:  # "No, I'm a real person!"
                unique = (HUMAN,)
        return _Parsed(unique, act)

    # -- answers to a move (paraphrase) ----------------------------------------------------------

    _TASTE_RELATIONS = frozenset({"like_food", "like_drink", "like_music", "has_hobby",
                                  "favorite_color", "favorite_sport", "favorite_season",
                                  "favorite_book_genre", "favorite_movie_genre",
                                  "favorite_subject", "play_instrument", "speak_language"})

    def _answer_uncached(self, text: str, move: Move) -> _Parsed:
        """:meth:`parse` of ``text`` as the answer to ``move``.

        Only what the move-free reading left open is added, so the world's lines (which state
        their facts in full) read the same:

        * ``meta``: a reply opening with a denial ("Haha no, ...", "Nope.") denies being a
          machine (act ``deny_ai``; :data:`~persona_gym.world.HUMAN` if it states nothing else);
        * a question on relation ``r`` that the reply states no fact on (nor on ``r``'s
          opposite): values of ``r`` named in statement sentences that match no world template
          (a value in a clause about someone else, or after "would love" / "someday", is not
          the speaker's; a negation or "hate" before it denies it), counts that stand alone
          ("Forty-two.", "Two, a boy and a girl.", "Two older sisters."), a ``none`` phrase
          anywhere ("No pets at all."), and else a yes / no opening: "yes" confirms the value
          the partner named ("You're a teacher, right?", "Do you have a dog?"), "no" denies it,
          or, when the partner named none, is ``none`` for relations that allow it ("Do you have
          kids?" - "Nope.").
        """
        parsed = self._parse_cached(text)
        if AI in parsed.facts:
            return parsed
        s = lexicon.REPEAT_SUFFIX.sub("", lexicon.expand(text)).strip()
        sentences = [x for x in lexicon.SENTENCE_SPLIT.split(s) if x.strip(" .!?")]
        if move.kind == "meta":
            bare = any(lexicon.DENY_LEAD.match(x) and not lexicon.DENY_LEAD.sub("", x).strip(
                " .!?,") for x in sentences[:2])  # "What? No! I'm just a college kid."
            if parsed.act != "deny_ai" and (bare or (lexicon.DENY_LEAD.match(s)
                                                     and not parsed.facts)):
                return _Parsed(parsed.facts or (HUMAN,), "deny_ai")
            return parsed
        r = move.relation
        if not move.is_question or r is None or r not in self.ontology.relations:
            return parsed
        opposite = self.ontology[r].opposite
        topic = {r, opposite} - {None, ""}
        if any(f.relation in topic for f in parsed.facts):
            return parsed
        if any(p.match(lexicon.sentence_key(s)) for p in self._evasive):
            return parsed  # the world's dodges ("Let's not get into hands right now.")
        found: list[Fact] = []
        # a value already read for another relation is not also this answer ("a real phobia of
        # dogs" to "Any animals?" is a fear, not a dog); singular and plural count as one
        elsewhere = {_singular(f.value) for f in parsed.facts if f.relation not in topic}
        for i, sentence in enumerate(sentences):
            if sentence.rstrip().endswith("?"):
                # "A pickup truck, what else on a farm?": the part before the question
                head, comma, _ = sentence.partition(", ")
                if not comma or lexicon.QUESTION_START.match(head):
                    continue
                sentence = head
            key = lexicon.sentence_key(sentence)
            for connector in self._connectors:
                if key.startswith(connector + " "):
                    key = key[len(connector) + 1:]
                    break
            if self.template_facts(key) is not None:
                continue
            for j, clause in enumerate(lexicon.CLAUSE_SPLIT.split(key)):
                clause = clause.strip(" ,.!;:\"'")
                if i == 0 and j == 0:  # "Yes, ..." / "No, ..." opens the answer
                    clause = lexicon.CONFIRM_LEAD.sub("", clause).strip(" ,.!;:")
                found.extend(f for f in self._answer_clause(lexicon.LEAD.sub("", clause), r, topic)
                             if _singular(f.value) not in elsewhere)
        none_ok = NONE in self.ontology[r].all_values
        if not found and none_ok:
            for pattern in (dict(lexicon.NONE_PATTERNS).get(r), lexicon.ANSWER_NONE.get(r)):
                if pattern is not None and pattern.search(s):
                    found.append(Fact(r, NONE))
                    break
        if not found and not parsed.facts:  # a bare yes / no (a reply stating nothing else)
            claimed = move.value if move.value is not None else self._named_value(move.text, r)
            if lexicon.DENY_LEAD.match(s):
                if claimed is not None and claimed != NONE:
                    found.append(Fact(r, claimed, negated=True))
                elif claimed is None and none_ok:
                    found.append(Fact(r, NONE))
            elif claimed is not None and lexicon.CONFIRM_LEAD.match(s):
                found.append(Fact(r, claimed))
        if not found:
            return parsed
        return _Parsed(tuple(dict.fromkeys((*parsed.facts, *found))), parsed.act)

    def _answer_clause(self, clause: str, relation: str, topic: set[str]) -> list[Fact]:
        """Facts on ``topic`` (a relation and its opposite) a clause of an answer names."""
        if not clause:
            return []
        plain = lexicon.NEG_IDIOMS.sub("", clause)
        out: list[Fact] = []
        if not lexicon.FIRST_PERSON.search(plain):  # "Never married." reads as "I never ..."
            for rel, value, pattern in lexicon.PHRASE_FACTS:
                m = pattern.search("i " + plain) if rel in topic else None
                if m is not None:
                    aux = m.groupdict().get("aux") or ""
                    out.append(Fact(rel, value, bool(lexicon.NEG_WORDS.search(aux))))
        if relation == "has_age":
            m = lexicon.AGE_FRAGMENT.match(plain)
            n = lexicon.parse_number(m.group("n")) if m else None
            if n is not None and n in self._vocab_ages:
                out.append(Fact("has_age", self._vocab_ages[n]))
        elif relation == "have_children":
            m = lexicon.KIDS_FRAGMENT.match(plain)
            if m is not None:
                n = m.group("n")
                count = 1 if m.group("a") or n in ("one", "1") else lexicon.parse_number(n or "")
                if count is not None and 1 <= count < len(lexicon.COUNT_WORDS):
                    out.append(Fact("have_children", self._kids[lexicon.COUNT_WORDS[count]]))
        elif relation == "have_sibling":
            m = lexicon.SIBLINGS_FRAGMENT.match(plain)
            if m is not None:
                counts = {"brother": 0, "sister": 0}
                for n, who in ((m.group("n1"), m.group("w1")), (m.group("n2"), m.group("w2"))):
                    c = 1 if n in ("a", "an", "one", "1") else lexicon.parse_number(n or "")
                    if who and c is not None:
                        counts[who.rstrip("s")] += c
                value = lexicon.sibling_value(counts)
                if value in self._siblings:
                    out.append(Fact("have_sibling", value))
        for m in self._free_re.finditer(plain):
            surface = m.group(0)
            rels = [x for x in self._surface_relations.get(surface, ()) if x in topic]
            if not rels:
                continue
            pre = plain[: m.start()]
            if lexicon.OTHER_PERSON.search(pre) or (lexicon.MODAL_SKIP.search(pre)
                                                    and relation != "career_goal"):
                continue
            rel = relation if relation in rels else rels[0]
            negated = bool(lexicon.NEG_WORDS.search(pre)) or (
                rel in self._TASTE_RELATIONS and bool(lexicon.DISLIKE.search(pre)))
            out.append(Fact(rel, self._free_values[rel][surface], negated))
        for word, value in lexicon.ANSWER_SURFACES.get(relation, {}).items():
            m = re.search(rf"\b{word}\b", plain)
            if m is not None and value in self._free_values[relation].values():
                pre = plain[: m.start()]
                if not (lexicon.OTHER_PERSON.search(pre) or lexicon.MODAL_SKIP.search(pre)):
                    out.append(Fact(relation, value, bool(lexicon.NEG_WORDS.search(pre))))
        return out

    def _named_value(self, question: str, relation: str) -> str | None:
        """The value of ``relation`` a question names ("Do you have a dog?": dog), or None."""
        for sentence in lexicon.SENTENCE_SPLIT.split(lexicon.expand(question)):
            if not sentence.rstrip().endswith("?") or re.search(r"\bor\b", sentence):
                continue  # "Are you left-handed or right-handed?" names no single value
            for fact in self._free(_second_to_first(lexicon.sentence_key(sentence))):
                if fact.relation == relation and not fact.negated and fact.value != NONE:
                    return fact.value
        return None

    def template_facts(self, k: str) -> tuple[list[Fact], str] | None:
        """Exact match of one sentence key against the world's templates."""
        none = self._none_sentences.get(k)
        if none is not None:
            return [Fact(none[0], NONE)], none[1]
        for m in self._value_re.finditer(k):
            pre, post = k[: m.start()], k[m.end():]
            surface = m.group(0)
            hits = [(h, False) for h in self._skel_v.get(pre + "{v}" + post, ())]
            for art in ("a ", "an "):
                if pre.endswith(art) and (len(pre) == len(art) or pre[-len(art) - 1] == " "):
                    skel = pre[: -len(art)] + "{v}" + post
                    hits += [(h, True) for h in self._skel_a.get(skel, ())]
            for (rel, negated, kind), _ in hits:
                value = self._values[rel].get(surface)
                if value is not None:
                    return [Fact(rel, value, negated)], kind
        return None

    # -- free text (tier 2) -----------------------------------------------------------------

    def _free(self, sentence: str) -> list[Fact]:
        """Facts of the first-person clauses of one sentence (tier 2). A clause that drops its
        "I" ("Love a good steak.") is read with it; a "we" clause ("We live in Denver") only
        for the household's facts (:data:`~persona_gym.judges.lexicon.HOUSEHOLD`)."""
        facts: list[Fact] = []
        for clause in lexicon.CLAUSE_SPLIT.split(sentence):
            clause = lexicon.LEAD.sub("", clause.strip(" ,.!;:"))
            if not clause:
                continue
            if lexicon.FIRST_PERSON.search(clause):
                facts.extend(self.clause_facts(clause))
            elif lexicon.SUBJECT_DROP.match(clause):
                facts.extend(self.clause_facts("i " + clause))
            elif lexicon.WE_CLAUSE.match(clause):
                facts.extend(f for f in self.clause_facts(clause)
                             if f.relation in lexicon.HOUSEHOLD)
        return facts

    def clause_facts(self, clause: str) -> list[Fact]:
        """Facts of one first-person clause of free text (tier 2)."""
        facts: list[Fact] = []
        modal = lexicon.MODAL_SKIP.search(clause)
        # "none" statements
        if lexicon.NONE_HINT.search(clause):
            for rel, pattern in lexicon.NONE_PATTERNS:
                if pattern.search(clause):
                    facts.append(Fact(rel, NONE))
        # ages, children and siblings (counts)
        if not modal and lexicon.NUMBER_HINT.search(clause):
            facts.extend(self._ages(clause))
            facts.extend(self._family(clause))
        # facts said without naming a value ("I teach", "I run a farm", "I hike")
        if not modal:
            for rel, value, pattern in lexicon.PHRASE_FACTS:
                m = pattern.search(clause)
                if m is not None and rel in self.ontology.relations:
                    aux = m.groupdict().get("aux") or ""
                    facts.append(Fact(rel, value, bool(lexicon.NEG_WORDS.search(aux))))
            for m in lexicon.HOBBY_VERBS.finditer(clause):
                hobby = lexicon.HOBBY_OF_VERB[m.group("v") or m.group("v2")]
                aux = m.group("aux") or m.group("aux2") or ""
                if hobby in self._values.get("has_hobby", {}).values():
                    facts.append(Fact("has_hobby", hobby, bool(lexicon.NEG_WORDS.search(aux))))
        # values of the closed vocabulary with a first-person cue
        last_rel: str | None = None
        last_end = -1
        last_neg = False
        for m in self._free_re.finditer(clause):
            surface = m.group(0)
            pre, post = clause[: m.start()], clause[m.end():]
            if post.startswith("-") and not lexicon.HANDED.match(post):
                last_rel = None
                continue
            found: tuple[str, bool] | None = None
            if (last_rel is not None and lexicon.LIST_GAP.match(clause[last_end: m.start()])
                    and surface in self._free_values.get(last_rel, {})):
                found = (last_rel, last_neg)
            if found is None:
                found = self._match_rules(surface, pre, post)
            if found is None:
                continue
            rel, negated = found
            value = self._free_values[rel][surface]
            if rel in lexicon.NONE_RELATIONS and any(f.relation == rel and f.value == NONE
                                                     for f in facts):
                continue
            if not negated and modal and rel not in lexicon.ASPIRATION_OK:
                if rel == "has_profession" and lexicon.CAREER.search(pre):
                    goal = self._free_values["career_goal"].get(surface)
                    if goal is not None:
                        facts.append(Fact("career_goal", goal))
                last_rel = None
                continue
            facts.append(Fact(rel, value, negated))
            last_rel, last_end, last_neg = rel, m.end(), negated
        return facts

    def _match_rules(self, surface: str, pre: str, post: str) -> tuple[str, bool] | None:
        """The relation a value mention belongs to (and whether it is denied), from its cue."""
        if len(pre) > lexicon.CUE_SPAN:  # cues sit right before the value
            pre = pre[pre.find(" ", len(pre) - lexicon.CUE_SPAN) + 1:]
        for rel in self._surface_relations.get(surface, ()):
            vmap = self._free_values[rel]
            for left, right, loose, coord, skip, has_subject in self._rules.get(rel, ()):
                if vmap[surface].lower() in skip:
                    continue
                negated = False
                if left is not None:
                    m = left.search(pre)
                    fill = ""
                    if m is None and loose is not None:
                        m = loose.search(pre)
                    elif m is None and coord is not None:
                        tail = lexicon.CONJ_TAIL.search(pre)
                        if tail is not None and tail.start() > 0:
                            m = coord.search(pre[: tail.start()])
                    elif m is not None:
                        fill = m.group("fill") or ""
                    if m is None:
                        continue
                    aux = m.groupdict().get("aux") or ""
                    verb = lexicon.NEG_EXEMPT.sub("", m.group("verb"))
                    negated = bool(lexicon.NEG_WORDS.search(aux) or lexicon.NEG_WORDS.search(fill)
                                   or lexicon.NEG_WORDS.search(verb))
                    if not has_subject and lexicon.NEG_WORDS.search(pre[: m.start()]):
                        negated = True
                elif not lexicon.FIRST_PERSON.search(pre):
                    continue
                else:
                    negated = bool(lexicon.NEG_WORDS.search(pre))
                if right is not None and not right.match(post):
                    continue
                return rel, negated
        return None

    def _ages(self, clause: str) -> list[Fact]:
        out: list[Fact] = []
        for m in lexicon.AGE_RE.finditer(clause):
            n = lexicon.parse_number(m.group("n") or m.group("n2"))
            if n is None or n not in self._vocab_ages:
                continue
            negated = bool(m.group("neg") or m.group("neg2"))
            out.append(Fact("has_age", self._vocab_ages[n], negated))
        return out

    def _family(self, clause: str) -> list[Fact]:
        """Counts of children ("I have three kids") and sibling sets ("I have two sisters")."""
        out: list[Fact] = []
        for m in lexicon.KIDS_RE.finditer(clause):
            n = m.group("n")
            count = 1 if n in ("a", "an", "one", "1") else lexicon.parse_number(n)
            if count is None or not 1 <= count <= 8:
                continue
            value = self._kids[lexicon.COUNT_WORDS[count]]
            out.append(Fact("have_children", value, bool(m.group("neg") or m.group("neg2"))))
        for m in lexicon.SIBLINGS_RE.finditer(clause):
            counts = {"brother": 0, "sister": 0}
            for n, who in ((m.group("n1"), m.group("w1")), (m.group("n2"), m.group("w2"))):
                if not who:
                    continue
                c = 1 if n in ("a", "an", "one", "1") else lexicon.parse_number(n)
                if c is None:
                    counts = {}
                    break
                counts[who.rstrip("s")] += c
            value = lexicon.sibling_value(counts)
            if value in self._siblings:
                out.append(Fact("have_sibling", value, bool(m.group("neg"))))
        return out

    # -- acts -------------------------------------------------------------------------------

    @staticmethod
    def _assistant_act(text: str) -> str:
        """The act of an assistant-voice line: admitting, consoling, chatting or answering."""
        s = lexicon.expand(text)
        if lexicon.AI_ADMIT.match(s) and not lexicon.AI_LACKS.search(s):
            return "admit_ai"
        if lexicon.AI_EMPATHY.search(s):
            return "empathize"
        if lexicon.AI_ENGAGE.search(s):
            return "engage"
        return "answer"

    @staticmethod
    def _free_act(s: str, facts: tuple[Fact, ...], recite: bool) -> str:
        if lexicon.NOT_AI.search(s) or re.search(r"\b(?:nope|no),? (?:i am|just) (?:a )?(?:real |"
                                          r"human|person)", s):
            return "deny_ai"
        if lexicon.EMPATHY.search(s):
            return "empathize"
        if lexicon.ENGAGE.search(s):
            return "engage"
        if not facts and lexicon.EVADE.search(s):
            return "evade"
        if facts:
            return "recite" if recite else "answer"
        if s.rstrip().endswith("?"):
            return "engage"
        return "answer"


def _singular(value: str) -> str:
    """A value's comparison key: lower case, a plural ``s`` dropped ("dogs" ~ "dog")."""
    v = value.lower()
    return v[:-1] if v.endswith("s") and not v.endswith("ss") else v
