"""The lexical judge: labels real text against free-text personas, without a model.

:meth:`LexicalJudge.judge` labels a line ``contradiction`` / ``entailment`` / ``neutral`` against
free-text persona sentences and the speaker's earlier lines (the
:class:`~persona_gym.judges.base.TextJudge` interface). Each statement clause of the line is
compared with each clause of each persona sentence and earlier line using world facts (read by
:class:`~persona_gym.judges.reader.TextReader`), a few mutually exclusive attributes (age, place
of residence, also within a state, gender, marital status, dating, pets, children, siblings,
life stage, diet, religion and faith, alcohol, country of origin), one job per person (an
occupation lexicon extended by jobs mined from Synthetic-Persona-Chat's training families, any X
of "I work as a X", "I'm in the army", workplaces, grades taught; a job and its head are one
job; a second, past or future job is exempt, and a job only wanted or studied for contradicts
holding it), a job now against a grade-school child, a stay-at-home parent, an age of twelve or
under, retirement or "I quit my job", one favourite of each common or mined kind ("my favorite
color is grey" / "... orange"), counts ("two cats" / "three cats") and content-word overlap with
polarity (negation, "I've never...", "I've always wanted to...", "I wish I could...", "not much
of a ...", also through a pronoun that refers to a reaction's noun phrase: "Rock climbing
sounds fun! I've never tried it"). The best-matching sentence is the evidence. Rule strengths
and thresholds were set by hand (no learned weights); the vocabulary is
:mod:`persona_gym.judges.lexicon`.

What it cannot judge (honest limits):

* values outside the lexicons are compared only through shared words: ages, places and the
  attributes above in any words, other values ("I'm a carpenter" / "I build furniture") not;
  "I am a X" names a job only for X in the occupation lexicon (hand-listed plus the few jobs
  the small SPC validation split's training families yield: "I am a museum tour guide" is not
  read, "I work as a museum tour guide" is), and a workplace we know nothing of fits any job
  but a teacher's, librarian's, banker's, teller's or farmer's;
* paraphrase beyond shared words and a small synonym table ("I spend my days with horses" vs "I
  own a ranch"), world knowledge beyond a few lexicons (US states, countries, meats, drinks, pets,
  religions), coreference ("I have a sister. She's a dancer."), irony, hedging and sarcasm;
* a negation or "I've always wanted" applies to the rest of its clause, so a denied word in a
  long clause can be misread ("I've never met another vegan" is read, "I've never seen a vegan
  dancer" is not), and counting lists ("a lab, a poodle and a mutt" = "three dogs") is not done;
* scores are rule strengths in [0, 1], not calibrated probabilities; an assistant-voice line
  contradicts the persona's implicit humanity, which no sentence states, so its ``evidence`` is
  None.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from functools import lru_cache
from typing import NamedTuple

from persona_gym.dialogue import Line, Move
from persona_gym.judges import lexicon
from persona_gym.judges.base import LABELS, Verdict, validate_item
from persona_gym.judges.reader import TextReader
from persona_gym.world import AI, Fact, Ontology

__all__ = ["LexicalJudge"]

# ---------------------------------------------------------------------------------------------
# Clause analysis
# ---------------------------------------------------------------------------------------------


class _Clause(NamedTuple):
    """What one clause of real text says, for comparison with another clause."""

    text: str
    weights: dict[str, float]  # content lemma -> weight
    polarity: dict[str, int]  # content lemma -> +1, or -1 inside a negation/aspiration scope
    numbers: tuple[tuple[int, str], ...]  # (count, lemma of the counted noun)
    age: tuple[int, int] | None  # inclusive range
    place: str | None
    slots: frozenset[tuple[str, str]]
    facts: tuple[Fact, ...]
    first_person: bool
    about_you: bool
    other: str | None  # the clause is about someone else: "my sister is ...", "she is ..."
    jobs: frozenset[tuple[str, str]]  # (whose, occupation group); "(retired)" for a retiree
    favorites: frozenset[tuple[str, str]]  # (kind, value): "my favorite color is grey"
    aspired: frozenset[str]  # occupation groups the speaker wants or studies to hold
    origin: str | None  # the country the speaker is from or was born in


def _jobs(clause: str) -> frozenset[tuple[str, str]]:
    """The one occupation a clause gives the speaker or a relative ("I am a professional
    wrestler", "my dad's a plumber"); none when the clause allows a second, past or future job
    ("my second job", "I used to be", "I want to be")."""
    out = set()
    for m in lexicon.JOB_RE.finditer(clause):
        pre = clause[: m.start("job")]
        who = m.group("who").removeprefix("my ")
        who = lexicon.JOB_WHO.get(who, who)
        if re.search(r"\bretired\b", pre):
            out.add((who, "(retired)"))
        elif not lexicon.SIDE_JOB.search(clause) and not lexicon.NEG_WORDS.search(pre):
            out.add((who, lexicon.OCCUPATION[m.group("job")]))
    if not lexicon.SIDE_JOB.search(clause) and not lexicon.NEG_WORDS.search(clause):
        for m in lexicon.WORK_AS_RE.finditer(clause):  # "I work as a museum tour guide"
            phrase = m.group("x")
            head = phrase.split()[-1]
            if phrase not in lexicon.OCCUPATION and head not in lexicon.NOT_JOBS:
                out.add(("i", lexicon.job_group(phrase)))
        if lexicon.MILITARY_RE.search(clause):  # "I'm in the army"
            out.add(("i", "soldier"))
    if not lexicon.SIDE_JOB.search(clause):
        for m in lexicon.WORKPLACE_RE.finditer(clause):  # "I work at a bank", "from home"
            place = m.group("place").strip()
            if place and place not in lexicon.WORK_FIELDS and len(place.split()) <= 3:
                out.add(("i", "@" + place))
        for m in lexicon.GRADE_TAUGHT.finditer(clause):  # "I teach third grade"
            out.add(("i", "teacher:" + (m.group("grade") or m.group("grade2")
                                        or m.group("grade3"))))
    return frozenset(out)


def _favorites(clause: str) -> frozenset[tuple[str, str]]:
    """(kind, value) of "my favorite K is V" for the mined kinds of favourite (none when the
    value is denied: "my favorite color is not red")."""
    out = set()
    for m in lexicon.FAVORITE_RE.finditer(clause):
        value = re.sub(r"^(?:an?|the) ", "", m.group("v").strip())
        if value and not re.match(r"(?:not|no|never)\b", value):
            out.add(("color" if m.group("k") == "colour" else m.group("k"), value))
    return frozenset(out)


def _aspired(clause: str) -> frozenset[str]:
    """The occupation groups of "I'm studying to be a X" / "I want to become a X" (known jobs
    and their heads only: "I want to be a better teacher" names none)."""
    out = set()
    for m in lexicon.ASPIRED_JOB_RE.finditer(clause):
        phrase = m.group("x")
        if phrase in lexicon.OCCUPATION or phrase.split()[-1] in lexicon.OCCUPATION:
            out.add(lexicon.job_group(phrase))
    return frozenset(out)


def _same_value(a: str, b: str) -> bool:
    """Whether two favourites may name one thing: equal, one inside the other ("pizza" /
    "pepperoni pizza", "country" / "country music") or spelled alike ("rascal flats")."""
    wa, wb = set(a.split()), set(b.split())
    return (a == b or wa <= wb or wb <= wa
            or difflib.SequenceMatcher(None, a, b).ratio() >= 0.8)


def _adult_job(clause: _Clause) -> bool:
    """The speaker holds a job now ("(retired)" and working from home do not count)."""
    return any(who == "i" and job not in ("(retired)", "@home") for who, job in clause.jobs)


def _employed(clause: _Clause) -> bool:
    """The speaker holds a job now and says it as employment ("I work as", "a new job as") or
    plainly ("I'm a chef"), not as a hobby in a job's words ("I'm an expert gardener")."""
    return _adult_job(clause) and (bool(lexicon.EMPLOYED.search(clause.text))
                                   or not lexicon.NOT_A_JOB_NOW.search(clause.text))


def _jobs_clash(a: str, b: str) -> bool:
    """Whether one person cannot hold both (occupation groups, ``@workplace`` or
    ``teacher:grade`` values of :func:`_jobs`)."""
    if a == b:
        return False
    if not a.startswith(("@", "teacher:")) and not b.startswith(("@", "teacher:")) \
            and a.split()[-1] == b.split()[-1]:
        return False  # a job and its head name one job: "museum tour guide" / "tour guide"
    if a.startswith("teacher:") or b.startswith("teacher:"):
        if a.startswith("teacher:") and b.startswith("teacher:"):
            return True  # "I teach first grade" / "I'm a kindergarten teacher"
        other = b if a.startswith("teacher:") else a
        return other not in ("teacher", "@school")
    if a.startswith("@") or b.startswith("@"):
        if a.startswith("@") and b.startswith("@"):
            wa, wb = a[1:].split(), b[1:].split()
            # two workplaces clash ("at a nursing home" / "in a shipyard" / "from home"), not one
            # place in more or fewer words ("our local supermarket" / "the supermarket", "a
            # shipyard building ships" / "a shipyard"); home is no part of a nursing home
            return "home" in (a[1:], b[1:]) or not (set(wa) <= set(wb) or set(wb) <= set(wa))
        place, job = (a, b) if a.startswith("@") else (b, a)
        if job not in lexicon.OCCUPATION_GROUP_NAMES and job != "(retired)":
            return False  # a job read from its context alone ("I work as a PA") may work anywhere
        name = place[1:]
        allowed = lexicon.WORKPLACE_JOBS.get(name,  # "an elementary school" is a school
                                             lexicon.WORKPLACE_JOBS.get(name.split()[-1]))
        if allowed is None:
            # a place employees were seen at ("I work at a bookstore") is not where a job
            # the workplace table ties to one place is done (a teacher's school); any other
            # place we know nothing of fits any occupation
            return name in lexicon.PERSONA_VALUES["workplaces"] and job in lexicon.PLACE_BOUND
        return bool(allowed) and job not in allowed and job != "(retired)"
    return True


_GROWN_UP = frozenset({("marital", "married"), ("marital", "engaged"), ("kids", "some"),
                       ("stage", "college"), ("stage", "retired"), ("stage", "working"),
                       ("stage", "home")})
"""What no one of twelve or under is."""
_SCHOOL_CHILD = frozenset({("stage", "child"), ("stage", "high_school")})
"""What no one of twenty-one or over is."""


def _analyze_clause(clause: str, facts: tuple[Fact, ...]) -> _Clause:
    weights: dict[str, float] = {}
    polarity: dict[str, int] = {}
    clause = lexicon.NEUTRALIZE.sub(lambda m: lexicon.NEUTRAL_WORD.get(m.group(0), "unsure"),
                                    clause)
    # polarity events: (position, state) with -1 = denied, 0 = unreal, None = reset to 0
    events = sorted([(m.end(), -1) for m in lexicon.ASPIRATION.finditer(clause)]
                    + [(m.start(), 0) for m in lexicon.IRREALIS.finditer(clause)]
                    + [(m.start(), 2) for m in lexicon.RELATIVE.finditer(clause)])
    state, k = 1, 0
    for m in lexicon.WORD_RE.finditer(clause):
        w = m.group(0)
        while k < len(events) and events[k][0] <= m.start():
            kind = events[k][1]
            k += 1
            if kind == 2:
                state = 0  # a relative clause: "I don't know people who dance"
            elif state == 1 or (state == 0 and kind == -1):
                state = kind  # "I'm not sure I'd be brave enough to ride": denied
        if w in lexicon.NEG_TRIGGERS:
            if state == 1:
                state = -1
            continue
        if w in lexicon.STOP or w.isdigit() or w in lexicon.NUMBER_WORDS or w in lexicon.TENS:
            continue
        lemma = lexicon.lemma(w)
        for head in lexicon.COMPOUND_HEADS:  # "beekeeping" is about bees
            if w.endswith(head) and len(w) - len(head) >= 3 and "-" not in w:
                first = w[: -len(head)]
                if first not in lexicon.STOP and lexicon.lemma(first) not in lexicon.STOP_LEMMAS:
                    lemma = lexicon.lemma(first)
                break
        if lemma in lexicon.STOP_LEMMAS or len(lemma) < 2:
            continue
        pol = state
        hyper = lexicon.HYPER_OF.get(w)
        for t in (lemma, lexicon.lemma(hyper) if hyper else None):
            if t is None:
                continue
            wt = lexicon.GENERIC_LEMMAS.get(t, 1.0)
            if t not in weights:
                polarity[t] = pol
            weights[t] = max(weights.get(t, 0.0), wt)
    numbers: list[tuple[int, str]] = []
    for m in lexicon.COUNT_RE.finditer(clause):
        raw = m.group("n")
        n = 2 if raw in ("a couple of", "a pair of") else lexicon.parse_number(raw)
        word = m.group("w")
        if (n is None or word in lexicon.COUNT_SKIP or word in lexicon.STOP
                or lexicon.lemma(word) in lexicon.COUNT_SKIP):
            continue
        numbers.append((n, lexicon.lemma(word)))
    age: tuple[int, int] | None = None
    m = lexicon.AGE_ANY.search(clause)
    if m is not None:
        n = lexicon.parse_number(m.group("n"))
        if n is not None and 0 < n <= 120:
            age = (n, n)
    else:
        d = lexicon.DECADE.search(clause)
        if d is not None:
            word = d.group("d")
            lo = lexicon.DECADES.get(word) or int(word[:-1])
            age = (lo, lo + 6) if word == "teens" else (lo, lo + 9)
    place = None
    p = lexicon.PLACE_RE.search(clause)
    if p is not None:
        place = p.group("p").strip()
        within = lexicon.PLACE_WITHIN.match(clause, p.end("p"))
        if within is not None:  # "I live in a small town in california"
            place = f"{place} in {within.group('q')}"
    slots = frozenset((slot, value) for slot, value, rx in lexicon.SLOTS if rx.search(clause))
    first = bool(lexicon.FIRST_PERSON.search(clause))
    about_you = not first and bool(re.search(r"\b(?:you|your|yours)\b", clause))
    o = lexicon.OTHER.match(clause)
    other = (o.group("who") or "they") if o else None
    origin = None
    born = lexicon.ORIGIN_RE.search(clause)
    if born is not None:
        origin = lexicon.COUNTRY_ALIASES.get(born.group("c"), born.group("c"))
    return _Clause(clause, weights, polarity, tuple(numbers), age, place, slots, facts, first,
                   about_you, other, _jobs(clause), _favorites(clause), _aspired(clause), origin)


def _entail_score(cover_line: float, cover_ref: float) -> float:
    """Entailment strength from the shares of the line's and the reference's content that the
    two have in common (with the same polarity)."""
    return 0.5 * (cover_ref + cover_line)


def _place_kind(place: str) -> tuple[str, str]:
    p = place.removeprefix("the ") if place.removeprefix("the ") in lexicon.COUNTRIES else place
    if place in lexicon.URBAN:
        return "settlement", "urban"
    if place in lexicon.RURAL or re.search(r"\b(?:small town|rural|farm|countryside|village)\b",
                                           place):
        return "settlement", "rural"
    if re.search(r"\b(?:big city|the city|a city)\b", place):
        return "settlement", "urban"
    if place in lexicon.US_STATES:
        return "state", place
    if p in lexicon.COUNTRIES:
        if p in ("usa", "america", "united states", "us"):
            return "country", "united states"
        return "country", p
    if lexicon.DWELLING.search(place) or place.startswith(("a ", "an ", "the ", "my ")):
        return "other", place
    if len(place.split()) <= 2:
        return "name", place
    return "other", place


def _place_clash(a: str, b: str) -> bool:
    """Whether one person cannot live in both; a place in another ("a small town in
    california") is compared part by part: it clashes when one pair clashes and none is
    the same place."""
    parts_a = [x.strip() for x in a.split(" in ") if x.strip()]
    parts_b = [y.strip() for y in b.split(" in ") if y.strip()]
    if len(parts_a) > 1 or len(parts_b) > 1:
        pairs = [(x, y) for x in parts_a for y in parts_b]
        if any(_place_kind(x)[1] == _place_kind(y)[1] for x, y in pairs):
            return False
        return any(_place_clash(x, y) for x, y in pairs)
    (ka, va), (kb, vb) = _place_kind(a), _place_kind(b)
    if va == vb:
        return False
    if ka == kb and ka in ("settlement", "state", "country", "name"):
        return True
    return {ka, kb} == {"state", "country"} and "united states" not in (va, vb)


# ---------------------------------------------------------------------------------------------
# The judge
# ---------------------------------------------------------------------------------------------


class LexicalJudge:
    """Judges lines against free-text personas with rules (module docs).

    ``reader`` is the :class:`~persona_gym.judges.reader.TextReader` it reads world facts with;
    :meth:`parse` and :meth:`parse_move` are the reader's, kept for callers that used the judge
    as a reader before the two were split.
    """

    name = "lexical"

    def __init__(self, ontology: Ontology | None = None) -> None:
        self.reader = TextReader(ontology)
        self.ontology = self.reader.ontology
        self._clauses_cached = lru_cache(maxsize=1 << 14)(self._clauses_uncached)

    def __getstate__(self) -> dict[str, Ontology]:
        """Pickle only the ontology (an env holding a judge stays picklable); caches rebuild."""
        return {"ontology": self.ontology}

    def __setstate__(self, state: dict[str, Ontology]) -> None:
        self.__init__(state["ontology"])  # type: ignore[misc]

    def parse(self, text: str) -> Line:
        """:meth:`TextReader.parse <persona_gym.judges.reader.TextReader.parse>`."""
        return self.reader.parse(text)

    def parse_move(self, text: str) -> Move:
        """:meth:`TextReader.parse_move <persona_gym.judges.reader.TextReader.parse_move>`."""
        return self.reader.parse_move(text)

    # -- judge ------------------------------------------------------------------------------

    def judge(self, persona: Sequence[str], history: Sequence[str], line: str) -> Verdict:
        """Label ``line`` against ``persona`` sentences and the speaker's earlier ``history``.

        Every statement clause of ``line`` is compared with every clause of every persona
        sentence and earlier line (questions and remarks about "you" assert nothing about the
        speaker). The strongest contradiction wins if it clears ``CONTRADICTION_THRESHOLD``,
        else the strongest entailment if it clears ``ENTAILMENT_THRESHOLD``, else neutral;
        ``evidence`` is the verbatim sentence or earlier line of the winning comparison (an
        assistant-voice line contradicts the persona's implicit humanity: no single sentence,
        so ``evidence`` is None). ``scores`` holds the rule strengths in [0, 1].
        """
        validate_item(persona, history, line)
        best_c: tuple[float, str | None, str | None] = (0.0, None, None)
        best_e: tuple[float, str | None, str | None] = (0.0, None, None)
        if AI in self.reader.parse(line).facts:
            best_c = (0.95, "persona", None)
        mine = [c for c in self._clauses(line) if not c.about_you]
        if mine:
            refs = [("persona", s, self._clauses(s)) for s in persona]
            refs += [("history", h, tuple(c for c in self._clauses(h) if not c.about_you))
                     for h in history]
            for against, evidence, clauses in refs:
                hard = soft = ent = 0.0
                for r in clauses:
                    for c in mine:
                        h, so, en = self._compare(c, r, against == "persona")
                        hard, soft, ent = max(hard, h), max(soft, so), max(ent, en)
                # a line that clearly restates a sentence does not also deny it by polarity
                con = max(hard, soft if ent < self.ENTAILMENT_VETO else 0.0)
                if con > best_c[0]:
                    best_c = (con, against, evidence)
                if ent > best_e[0]:
                    best_e = (ent, against, evidence)
        c_score, e_score = best_c[0], best_e[0]
        neutral = max(0.0, 1.0 - max(c_score, e_score))
        scores = {lab: round(x, 4) for lab, x in zip(LABELS, (c_score, e_score, neutral),
                                                     strict=True)}
        if c_score >= self.CONTRADICTION_THRESHOLD:
            return Verdict("contradiction", best_c[1], best_c[2], scores)
        if e_score >= self.ENTAILMENT_THRESHOLD:
            return Verdict("entailment", best_e[1], best_e[2], scores)
        return Verdict("neutral", None, None, scores)

    def judge_many(
        self, items: Sequence[tuple[Sequence[str], Sequence[str], str]]
    ) -> list[Verdict]:
        """:meth:`judge` for each ``(persona, history, line)``."""
        return [self.judge(p, h, x) for p, h, x in items]

    CONTRADICTION_THRESHOLD = 0.6
    """A contradiction rule at least this strong makes the verdict ``contradiction``."""
    ENTAILMENT_THRESHOLD = 0.6
    """Else an entailment at least this strong makes it ``entailment``."""
    ENTAILMENT_VETO = 0.8
    """An entailment this strong of a sentence cancels a polarity contradiction of it."""

    def _clauses(self, text: str) -> tuple[_Clause, ...]:
        return self._clauses_cached(text)

    def _clauses_uncached(self, text: str) -> tuple[_Clause, ...]:
        """The statement clauses of ``text`` (questions dropped)."""
        out: list[_Clause] = []
        plain = lexicon.PLACEHOLDER.sub(" ", lexicon.expand(text))
        echo: str | None = None
        for sentence in lexicon.SENTENCE_SPLIT.split(plain):
            if sentence.rstrip().endswith("?"):
                m = lexicon.ECHO_NP.match(sentence.strip(" .!,\"'"))
                echo = m.group("np") if m else None
                continue
            key = lexicon.sentence_key(sentence)
            if echo is not None:  # "Papaya? I've never had it." -> "... never had papaya"
                key = lexicon.ECHO_PRONOUN.sub(rf"\g<verb> {echo}", key)
                echo = None
            m = lexicon.REACTION_NP.match(key.strip(" ,\"'"))
            if m is not None:  # "Rock climbing sounds fun! I've never tried it."
                echo = m.group("np")
                continue
            template = self.reader.template_facts(key) if key else None
            previous: str | None = None
            for i, clause in enumerate(lexicon.CLAUSE_SPLIT.split(key)):
                clause = lexicon.HEDGE.sub("", lexicon.LEAD.sub("", clause.strip(" ,.!;:\"'()")))
                if not clause:
                    continue
                if previous is not None and lexicon.BACK_DENIAL.match(clause):
                    # "I've always been interested in wrestling, but I've never had the chance
                    # to try it": the earlier clause is what was never done
                    out[-1] = _analyze_clause("never " + previous, ())
                facts: list[Fact] = []
                if template is not None and i == 0:
                    facts = template[0]
                elif lexicon.FIRST_PERSON.search(clause):
                    facts = self.reader.clause_facts(clause)
                out.append(_analyze_clause(clause, tuple(facts)))
                previous = clause
        return tuple(out)

    def _compare(self, a: _Clause, b: _Clause, persona: bool) -> tuple[float, float, float]:
        """Strengths of clause ``a`` (the line) against clause ``b`` (a persona sentence if
        ``persona``, else an earlier line): (hard contradiction from facts, attributes, ages,
        places and counts; soft contradiction from polarity; entailment)."""
        hard = soft = e = 0.0
        o = self.ontology
        for f in a.facts:
            for g in b.facts:
                if (f.relation in lexicon.TASTES and f.relation == g.relation and f.value != g.value
                        and not ("favorite" in a.text and "favorite" in b.text)):
                    continue  # "I like comedies" does not deny "my favorite genre is horror"
                if o.contradicts(f, g):
                    hard = max(hard, 0.9)
                elif f == g:
                    e = max(e, 0.8)
        for who, job in a.jobs:  # one occupation each: "I'm a teller" / "I'm a school teacher"
            for who2, job2 in b.jobs:
                if who != who2:
                    continue
                if _jobs_clash(job, job2):
                    hard = max(hard, 0.85)
                elif job == job2 and not job.startswith("@"):
                    e = max(e, 0.8)  # "I'm a kindergarten teacher" / "I work as a teacher"
        child = ("stage", "child")  # a third grader has no spouse and no children
        for x, y in ((a.slots, b.slots), (b.slots, a.slots)):
            if child in x and ({("marital", "married"), ("marital", "engaged"),
                                ("kids", "some")} & y):
                hard = max(hard, 0.85)
        for x, y in ((a, b), (b, a)):
            # a job now is not a grade-school child's nor a stay-at-home parent's: "I'm a
            # third grader" / "I am in the army", "I'm a stay-at-home dad" / "a tour guide"
            if _adult_job(x) and {("stage", "child"), ("stage", "home")} & y.slots:
                hard = max(hard, 0.85)
            if x.age is not None and x.age[1] <= 12 and (_adult_job(y) or y.slots & _GROWN_UP):
                hard = max(hard, 0.85)  # "I am 12 years old" / "I'm in the army", "my wife"
            if x.age is not None and x.age[0] >= 21 and y.slots & _SCHOOL_CHILD:
                hard = max(hard, 0.85)  # "I'm 40" / "I'm in the third grade"
            if x.age is not None and x.age[1] <= 25 and ("stage", "retired") in y.slots:
                hard = max(hard, 0.85)  # "I turned 18 yesterday" / "I retired a few years ago"
            if _employed(x) and {("stage", "retired"), ("stage", "jobless")} & y.slots:
                hard = max(hard, 0.85)  # "I'm a chef" / "I am retired", "I quit my job"
            for job in x.aspired:  # "I'm studying to be a teacher" / "I am a teacher"
                if any(who == "i" and (job2 == job or job2.split()[-1] == job.split()[-1])
                       for who, job2 in y.jobs):
                    hard = max(hard, 0.85)
        for kind, value in a.favorites:  # one favourite of a kind: "grey" / "orange"
            for kind2, value2 in b.favorites:
                if kind == kind2 and not _same_value(value, value2):
                    hard = max(hard, 0.85)
        if a.slots and b.slots:
            for slot, v in a.slots:
                for slot2, v2 in b.slots:
                    if slot == slot2 and frozenset((v, v2)) in lexicon.SLOT_CLASH[slot]:
                        hard = max(hard, 0.85)
        if a.origin is not None and b.origin is not None and a.origin != b.origin:
            hard = max(hard, 0.85)  # "I was born in somalia" / "I'm from India"
        if a.age is not None and b.age is not None:
            if a.age[1] < b.age[0] or b.age[1] < a.age[0]:
                hard = max(hard, 0.9)
            elif a.age == b.age:
                e = max(e, 0.85)
        if a.place is not None and b.place is not None:
            if _place_clash(a.place, b.place):
                hard = max(hard, 0.85)
            elif a.place == b.place:
                e = max(e, 0.8)
        wa, wb = a.weights, b.weights
        if (a.other is None) != (b.other is None):  # "I'm a teacher" / "my parents teach"
            return hard, soft, 0.0 if hard else e
        shared = [t for t in wa if t in wb]
        for n, noun in a.numbers:
            for m, noun2 in b.numbers:
                if noun == noun2 and n != m and noun in shared:
                    hard = max(hard, 0.75)
        if hard:
            return hard, soft, 0.0  # "I have three cats" does not restate "I have two cats"
        strong = [t for t in shared if wb[t] >= 0.9 and wa[t] >= 0.9]
        if not strong:
            return hard, soft, e
        pa, pb = a.polarity, b.polarity
        opposed = [t for t in shared if pa[t] * pb[t] == -1]
        agreed = [t for t in shared if pa[t] == pb[t]]
        w_opposed = sum(min(wa[t], wb[t]) for t in opposed)
        w_agreed = sum(min(wa[t], wb[t]) for t in agreed)
        total_a, total_b = sum(wa.values()), sum(wb.values())
        if (any(t in opposed for t in strong) and w_opposed >= w_agreed and a.first_person
                and (persona or b.first_person)):
            cover = w_opposed + w_agreed
            soft = 0.3 + 0.35 * cover / total_a + 0.35 * cover / total_b
        elif not opposed and any(t in agreed and pa[t] != 0 for t in strong):
            score = _entail_score(w_agreed / total_a, w_agreed / total_b)
            e = max(e, score if a.first_person else 0.8 * score)
        return hard, soft, e
