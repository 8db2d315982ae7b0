"""Test-time persona optimization: a policy wrapper that keeps an evolving persona.

Instead of retraining, the agent keeps a structured memory between what it has said and what it
will say (PersonaAgent-style): the persona it was given plus every fact it has committed to, and
updates it after every turn from the reply it actually gave. :class:`PersonaMemory` is that
memory; the wrappers put it in front of any policy, on every variant:

* **discrete and continuous variants** — each turn the wrapped policy proposes a candidate; the
  memory reads every candidate and assesses it against what it holds (does it contradict the
  persona or a commitment, repeat an earlier line, answer the partner's move, assert anything).
  ``mode="veto"`` keeps the proposal unless it contradicts the memory or repeats itself, and
  then takes the best-assessed candidate instead; ``mode="rerank"`` always takes the
  best-assessed candidate (the proposal wins ties). The reply said is committed to the memory.
* **text variants** — the memory rewrites the persona block of the wrapped agent's prompt each
  turn (``obs["persona"]``: the given persona, then "Earlier in this conversation I said: ...",
  the last slips it caught and "I am a human, not an AI."), then reads the agent's reply and
  commits it. It does not filter the reply: the agent itself answers with the rewritten prompt.

**What it reads — and what it never reads.** It never reads a candidate's generator label
(``Line.kind``: which reply is consistent), the judge, ``info`` or the persona's fact list.

* Wrapping a **reference policy** (:class:`MemoryReferencePolicy`, which reads the env's
  :class:`~persona_gym.envs.core.TurnView` only to hand it to the wrapped policy): the persona
  *sentences*, the partner's *line* and the candidates' *texts*, read with the world's public
  reader (:class:`persona_gym.judges.lexical.LexicalJudge`, :class:`TextReader`). On the
  world's own lines the reader's facts are exact; its dialogue acts and move kinds come from
  cue phrases and are approximate (a premise reads as a question about the relation, small talk
  as an ``open`` remark, some evasions and recitations as answers).
* Wrapping an **observation policy** (:class:`MemoryObservationPolicy`; an ONNX file, a trained
  network) on the discrete or continuous variant: the observation only — its fact blocks of the
  persona, the partner's line and each candidate (decoded by :class:`ObservationReader` with
  the env's public fact codes) and, on the continuous variant, the candidates' descriptors. A
  candidate's identity for repetition is its hashed text vector.
* On a **text variant**: the observation's persona, partner line and the agent's own reply,
  read with :class:`TextReader`.

Contradiction rules are the world's (:class:`persona_gym.speaker.Speaker`, fed the facts the
wrapper read and the wrapper's own verdicts); they are public knowledge of the world, as a
dictionary is, not ground truth about any line.

Specs: ``memory:NAME`` wraps any policy spec (``memory:drift``, ``memory:policy.onnx``,
``memory:hf:PATH``; ``memory+rerank:NAME`` for the rerank mode), accepted wherever a policy is
(:func:`persona_gym.policies.load_policy`, ``persona-gym evaluate`` and ``rollout``).
"""

from __future__ import annotations

import hashlib
import itertools
import time
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any, NamedTuple

import numpy as np

from persona_gym.dialogue import QUESTION_MOVES, RELEVANT_ACTS, Line, Move, normalize_text
from persona_gym.policies import ObservationPolicy, ReferencePolicy
from persona_gym.speaker import Speaker
from persona_gym.world import IDENTITY, Fact, Ontology, Persona, load_ontology

MEMORY_PREFIX = "memory:"
"""Policy-spec prefix of the wrapper in veto mode (``memory:drift``)."""
RERANK_PREFIX = "memory+rerank:"
"""Policy-spec prefix of the wrapper in rerank mode."""
MODES = ("veto", "rerank")
"""``veto``: keep the proposal unless it contradicts the memory or repeats itself;
``rerank``: always the best-assessed candidate (the proposal wins ties)."""
IDENTITY_LINE = "I am a human, not an AI."
"""What every persona implicitly holds, stated in the rewritten persona block."""


class Reading(NamedTuple):
    """What the wrapper read of one reply: a key for repetition (its text, or a digest of its
    text vector), the facts it states and its dialogue act."""

    text: str
    facts: tuple[Fact, ...]
    act: str


class Assessment(NamedTuple):
    """The memory's view of one reply to one partner move."""

    conflict: bool
    """A fact of the reply contradicts the persona or a commitment (an "As an AI" included)."""
    repeat: bool
    """The reply equals one said before."""
    relevant: bool
    """It addresses the move: a fact on the asked relation, or the move's dialogue act."""
    asserts: bool
    """It states at least one fact."""

    @property
    def acceptable(self) -> bool:
        """Neither a contradiction nor a repetition: what ``veto`` lets through."""
        return not self.conflict and not self.repeat

    def rank(self) -> tuple[bool, bool, bool, bool]:
        """Sort key, best last: consistent, fresh, an informative answer, then silence over an
        off-topic claim."""
        return (not self.conflict, not self.repeat, self.relevant and self.asserts,
                not self.asserts)


class PersonaMemory:
    """The evolving persona of one conversation: the facts held (the persona's and every fact
    of a reply that contradicted nothing held), the replies said, and the slips caught.

    Arguments:
        ontology: the world (its contradiction rules).
        persona_facts: the persona's facts as the wrapper read them.
        persona_sentences: the persona as given (kept for the rewritten block).
    """

    def __init__(self, ontology: Ontology, persona_facts: Sequence[Fact],
                 persona_sentences: Sequence[str] = ()) -> None:
        self.ontology = ontology
        self.speaker = Speaker(ontology, Persona(tuple(persona_facts), tuple(persona_sentences)))
        self.statements: list[str] = []
        """Texts of the replies that added commitments, oldest first."""
        self.slips: list[str] = []
        """Texts of the replies that contradicted the memory, oldest first."""

    def assess(self, move: Move, reading: Reading) -> Assessment:
        """How ``reading`` answers ``move`` against what is held (changes nothing)."""
        sp = self.speaker
        conflict = any(sp.is_wrong(f) for f in reading.facts)
        repeat = normalize_text(reading.text) in sp.said if reading.text else False
        if move.kind in QUESTION_MOVES and move.relation is not None:
            opposite = (self.ontology[move.relation].opposite
                        if move.relation in self.ontology.relations else "")
            relevant = any(f.relation in (move.relation, opposite) for f in reading.facts)
        else:
            relevant = reading.act in RELEVANT_ACTS.get(move.kind, RELEVANT_ACTS["open"])
        return Assessment(conflict, repeat, relevant, bool(reading.facts))

    def choose(self, move: Move, readings: Sequence[Reading], proposal: int,
               mode: str = "veto") -> int:
        """The candidate to say: ``proposal`` when the mode lets it through, else the
        best-assessed one (lowest index among equals; candidate order is the env's shuffle)."""
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
        if not 0 <= proposal < len(readings):
            raise ValueError(f"proposal {proposal} is not a candidate index (0..{len(readings)-1})")
        ranks = [self.assess(move, r).rank() for r in readings]
        if mode == "veto" and self.assess(move, readings[proposal]).acceptable:
            return proposal
        best = max(ranks)
        return proposal if ranks[proposal] == best else ranks.index(best)

    def commit(self, move: Move, reading: Reading) -> Assessment:
        """Record the reply said: its facts become commitments unless they contradict the
        memory (then it is remembered as a slip)."""
        verdict = self.assess(move, reading)
        self.speaker.commit(Line(reading.text, reading.facts, reading.act),
                            consistent=not verdict.conflict)
        if verdict.conflict:
            self.slips.append(reading.text)
        elif reading.facts and reading.text:
            self.statements.append(reading.text)
        return verdict

    def persona_block(self, persona: str, statements: int = 12, slips: int = 2,
                      identity: bool = True) -> str:
        """The rewritten persona block: the given persona, then the most recent ``statements``
        replies that added commitments, the last ``slips`` slips, and :data:`IDENTITY_LINE`."""
        lines = [s.strip() for s in persona.splitlines() if s.strip()]
        said = list(dict.fromkeys(self.statements))[-statements:] if statements > 0 else []
        if said:
            lines.append("Earlier in this conversation I said:")
            lines += said
        wrong = self.slips[-slips:] if slips > 0 else []
        if wrong:
            lines.append("I was wrong to say (I correct it if asked):")
            lines += [f'"{s}"' for s in wrong]
        if identity:
            lines.append(IDENTITY_LINE)
        return "\n".join(lines)


# -- readers -------------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _lexical() -> Any:
    from persona_gym.judges.lexical import LexicalJudge

    return LexicalJudge(load_ontology())


class TextReader:
    """Reads texts with the world's public reader (:class:`persona_gym.judges.lexical.
    LexicalJudge`): facts exact on the world's own lines; acts and move kinds approximate."""

    def __init__(self) -> None:
        self.lexical = _lexical()
        self.ontology: Ontology = self.lexical.ontology

    def line(self, text: str) -> Reading:
        """A reply as read: its text, facts and act."""
        parsed = self.lexical.parse(text)
        return Reading(text, tuple(parsed.facts), parsed.act)

    def move(self, text: str) -> Move:
        """The partner's line as read (``ask`` about a relation, ``meta``, ``emotional`` or
        ``open``)."""
        return self.lexical.parse_move(text)

    def persona(self, sentences: Sequence[str]) -> tuple[Fact, ...]:
        """The facts the persona sentences state."""
        facts: dict[Fact, None] = {}
        for s in sentences:
            facts.update(dict.fromkeys(self.lexical.parse(s).facts))
        return tuple(facts)


class ObservationReader:
    """Decodes the fact blocks of a discrete or continuous observation (task v1) with the env's
    public fact codes (:class:`persona_gym.encoders.FactCoder`).

    A slot holding one code decodes exactly; a slot holding the normalised sum of two or three
    codes (several values of one relation) is searched among pairs and triples (up to
    :data:`PERSONA_VALUES` values in the persona's block). A relation's
    opposite shares its slot with negated codes, so "dislikes pizza" decodes as "does not like
    pizza" (the same contradictions). ``undecoded`` counts slots no combination explained.
    """

    TOLERANCE = 1e-4
    PERSONA_VALUES = 5
    """Most values of one relation (and its opposite) searched for in the persona's block."""

    def __init__(self, env: Any) -> None:
        from persona_gym.networks import Layout

        base = env.unwrapped
        coder = getattr(base, "facts", None)
        if coder is None:
            raise ValueError("the memory wrapper reads the fact blocks of task v1 observations; "
                             f"{getattr(env.spec, 'id', env)} has none (a v0 id?)")
        self.coder = coder
        self.ontology: Ontology = base.ontology
        self.k: int = base.k
        self.dim: int = base.encoder.dim
        self.layout = Layout.of_env(env)
        self.undecoded = 0
        inverse = {i: r for r, i in coder.slots.items()}
        self._slot_names = [inverse[i] for i in range(len(inverse))]
        self._acts = {i: a for a, i in coder.acts.items()}
        self._moves = {i: m for m, i in coder.moves.items()}
        self._books: dict[int, tuple[list[Fact], np.ndarray]] = {}
        self._combos: dict[tuple[int, int], tuple[np.ndarray, np.ndarray]] = {}

    # codebook of one slot: every fact it can hold and its signed code
    def _book(self, slot: int) -> tuple[list[Fact], np.ndarray]:
        """The facts a slot can hold, each with its code. A relation and its opposite share a
        slot, the opposite's codes negated; a code read both ways ("likes pizza" / "does not
        dislike pizza") decodes as the positive fact."""
        book = self._books.get(slot)
        if book is None:
            rel = self._slot_names[slot]
            if rel == IDENTITY:
                own, opposite, theirs = ("human", "ai"), "", ()
            else:
                own = self.ontology[rel].all_values
                opposite = self.ontology[rel].opposite
                theirs = self.ontology[opposite].all_values if opposite else ()
            facts: list[Fact] = []
            signs: list[float] = []
            for v in dict.fromkeys(("?", *own, *theirs)):
                facts.append(Fact(rel, v) if v in own or v == "?" or not opposite
                             else Fact(opposite, v, True))
                facts.append(Fact(opposite, v) if opposite and (v in theirs or v == "?")
                             else Fact(rel, v, True))
                signs += [1.0, -1.0]
            codes = np.stack([sign * self.coder.code(rel, f.value)
                              for f, sign in zip(facts, signs, strict=True)]).astype(np.float64)
            book = self._books[slot] = (facts, codes)
        return book

    def _sums(self, slot: int, size: int) -> tuple[np.ndarray, np.ndarray]:
        """Every ``size``-subset of the slot's codebook (no fact with its own negation) and the
        subset's code sum, scaled as the coder scales a slot."""
        key = (slot, size)
        hit = self._combos.get(key)
        if hit is None:
            facts, codes = self._book(slot)
            idx = np.array([c for c in itertools.combinations(range(len(facts)), size)
                            if len({facts[i].value for i in c}) == size], dtype=np.int64)
            sums = codes[idx].sum(1)
            norms = np.linalg.norm(sums, axis=1)
            keep = norms > 1e-6
            idx, sums = idx[keep], sums[keep] / np.maximum(norms[keep], 1.0)[:, None]
            hit = self._combos[key] = (idx, sums)
        return hit

    def facts(self, block: np.ndarray, max_values: int = 3) -> tuple[Fact, ...]:
        """The facts one fact block states (``"?"`` values are asked, not stated)."""
        c = self.coder.code_dim
        slots = np.asarray(block[: self.coder.codes_size], dtype=np.float64).reshape(-1, c)
        out: list[Fact] = []
        for slot in np.flatnonzero(np.abs(slots).max(1) > self.TOLERANCE):
            vec = slots[slot]
            facts, codes = self._book(int(slot))
            err = np.abs(codes - vec).max(1)
            if err.min() < self.TOLERANCE:
                out.append(facts[int(err.argmin())])
                continue
            for size in range(2, max_values + 1):
                idx, sums = self._sums(int(slot), size)
                err = np.abs(sums - vec).max(1)
                if err.size and err.min() < self.TOLERANCE:
                    out += [facts[i] for i in idx[int(err.argmin())]]
                    break
            else:
                self.undecoded += 1
        return tuple(out)

    def _mark(self, block: np.ndarray, names: dict[int, str]) -> str | None:
        for i, name in names.items():
            if block[i] > 0.5:
                return name
        return None

    def blocks(self, obs: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(persona block, partner block, candidate blocks [K, F])`` of one observation."""
        lay = self.layout
        obs = np.asarray(obs, dtype=np.float32)
        f = lay.fact_size
        context = obs[lay.context_index]
        cand = obs[lay.candidate_index]
        return (context[-3 * f : -2 * f], context[-f:],
                cand[:, lay.fact_offset : lay.fact_offset + f])

    def persona(self, obs: np.ndarray) -> tuple[Fact, ...]:
        """The persona's facts (up to :data:`PERSONA_VALUES` values of one relation)."""
        return self.facts(self.blocks(obs)[0], max_values=self.PERSONA_VALUES)

    def move(self, obs: np.ndarray) -> Move:
        """The partner's move: its kind and the relation asked about (and a claimed value)."""
        block = self.blocks(obs)[1]
        kind = self._mark(block, self._moves) or "open"
        relation = value = None
        for f in self.facts(block, max_values=1):
            relation = f.relation
            value = None if f.value == "?" or f.negated else f.value
        return Move(kind, "", relation, value)

    def candidates(self, obs: np.ndarray) -> list[Reading]:
        """Each candidate as read: a digest of its text vector (for repetition), its facts and
        its act."""
        lay = self.layout
        obs = np.asarray(obs, dtype=np.float32)
        _, _, blocks = self.blocks(obs)
        text = obs[lay.candidate_index][:, : self.dim]  # the text vector, not the similarities
        out = []
        for i in range(lay.k):
            key = hashlib.blake2b(text[i].tobytes(), digest_size=10).hexdigest()
            act = self._mark(blocks[i], self._acts) or "answer"
            out.append(Reading(key, self.facts(blocks[i]), act))
        return out

    def descriptors(self, obs: np.ndarray) -> np.ndarray | None:
        """The candidates' action descriptors ``[K, d]`` (continuous variant), else None."""
        d = self.layout.descriptor_dim
        if not d:
            return None
        return np.asarray(obs, dtype=np.float32)[self.layout.candidate_index[:, -d:]]


# -- the wrappers ----------------------------------------------------------------------------------


class _Stats:
    """What a wrapper did: turns, decisions changed, contradictions it saw in proposals or
    replies, and its own compute time (the wrapped policy's excluded)."""

    def __init__(self) -> None:
        self.turns = self.changed = self.conflicts = self.prompt_chars = 0
        self.seconds = 0.0

    def as_dict(self) -> dict[str, float]:
        n = max(self.turns, 1)
        return {"turns": self.turns, "changed": self.changed, "conflicts": self.conflicts,
                "changed_share": self.changed / n, "us_per_turn": 1e6 * self.seconds / n,
                "extra_prompt_chars_per_turn": self.prompt_chars / n}


class MemoryReferencePolicy(ReferencePolicy):
    """A reference policy behind a persona memory (any variant: it returns a candidate index).

    It hands the turn view to the wrapped policy for its proposal and reads, itself, only the
    persona sentences, the partner's line and the candidates' texts (:class:`TextReader`).
    """

    description = "test-time persona memory over a reference policy"

    def __init__(self, inner: ReferencePolicy, mode: str = "veto") -> None:
        super().__init__()
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
        self.inner, self.mode = inner, mode
        self.name = f"{MEMORY_PREFIX if mode == 'veto' else RERANK_PREFIX}{inner.name}"
        self.reader = TextReader()
        self.memory: PersonaMemory | None = None
        self.stats = _Stats()

    def reset(self, rng: np.random.Generator) -> None:
        super().reset(rng)
        self.inner.reset(rng)  # the wrapped policy draws exactly what it would draw alone
        self.memory = None

    def act(self, view: Any) -> int:
        proposal = self.inner.act(view)
        start = time.perf_counter()
        reader = self.reader
        if self.memory is None:
            sentences = tuple(view.persona.sentences)
            self.memory = PersonaMemory(reader.ontology, reader.persona(sentences), sentences)
        move = reader.move(view.move.text)
        readings = [reader.line(c.text) for c in view.candidates]
        i = self.memory.choose(move, readings, proposal, self.mode)
        self.stats.conflicts += self.memory.assess(move, readings[proposal]).conflict
        self.memory.commit(move, readings[i])
        self.stats.turns += 1
        self.stats.changed += i != proposal
        self.stats.seconds += time.perf_counter() - start
        return i


class MemoryObservationPolicy:
    """An observation policy behind a persona memory.

    On the discrete and continuous variants (flat observations) it checks the wrapped policy's
    proposal against the memory (reading the observation's fact blocks: ``env`` is needed for
    their layout); on the text variants (dict observations) it rewrites ``obs["persona"]`` before
    the wrapped agent reads it and commits the agent's reply.

    Arguments:
        inner: the wrapped policy (``reset(rng)``, ``act(obs)``).
        env: the env (or env id) whose observations it reads; needed on flat observations.
        mode: ``veto`` or ``rerank`` (flat observations; ignored on text).
        statements, slips, identity: what the rewritten persona block holds
            (:meth:`PersonaMemory.persona_block`).
    """

    def __init__(self, inner: Any, env: Any = None, mode: str = "veto", statements: int = 12,
                 slips: int = 2, identity: bool = True) -> None:
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
        if not (callable(getattr(inner, "act", None)) and callable(getattr(inner, "reset", None))):
            raise TypeError(f"the memory wraps a policy with reset(rng) and act(obs); got "
                            f"{type(inner).__name__}")
        self.inner, self.mode = inner, mode
        prefix = MEMORY_PREFIX if mode == "veto" else RERANK_PREFIX
        self.name = f"{prefix}{getattr(inner, 'name', type(inner).__name__)}"
        self.statements, self.slips, self.identity = statements, slips, identity
        self._env = env
        self._obs_reader: ObservationReader | None = None
        self._text_reader: TextReader | None = None
        self.memory: PersonaMemory | None = None
        self.stats = _Stats()

    def __repr__(self) -> str:
        return f"MemoryObservationPolicy({self.inner!r}, mode={self.mode!r})"

    def reset(self, rng: np.random.Generator) -> None:
        """Start an episode: forget the memory; the wrapped policy gets ``rng`` untouched."""
        self.inner.reset(rng)
        self.memory = None

    def act(self, obs: Any) -> Any:
        if isinstance(obs, Mapping):
            return self._act_text(obs)
        return self._act_flat(np.asarray(obs))

    def _reader(self) -> ObservationReader:
        if self._obs_reader is None:
            if self._env is None:
                raise ValueError("the memory wrapper reads flat observations with the env's "
                                 "layout: build it with env=ENV_ID")
            if isinstance(self._env, str):
                import gymnasium as gym

                env = gym.make(self._env)
                try:
                    self._obs_reader = ObservationReader(env)
                finally:
                    env.close()
            else:
                self._obs_reader = ObservationReader(self._env)
        return self._obs_reader

    def _act_flat(self, obs: np.ndarray) -> Any:
        action = self.inner.act(obs)
        start = time.perf_counter()
        reader = self._reader()
        if self.memory is None:
            self.memory = PersonaMemory(reader.ontology, reader.persona(obs))
        descriptors = reader.descriptors(obs)
        if descriptors is None:
            proposal = int(np.asarray(action).reshape(()))
        else:
            proposal = int(np.argmax(descriptors @ np.asarray(action, dtype=np.float32)))
        move = reader.move(obs)
        readings = reader.candidates(obs)
        i = self.memory.choose(move, readings, proposal, self.mode)
        self.stats.conflicts += self.memory.assess(move, readings[proposal]).conflict
        self.memory.commit(move, readings[i])
        self.stats.turns += 1
        self.stats.changed += i != proposal
        if i != proposal:
            action = i if descriptors is None else descriptors[i].copy()
        self.stats.seconds += time.perf_counter() - start
        return action

    def _act_text(self, obs: Mapping[str, str]) -> str:
        start = time.perf_counter()
        if self._text_reader is None:
            self._text_reader = TextReader()
        reader = self._text_reader
        persona = str(obs.get("persona", ""))
        if self.memory is None:
            sentences = tuple(s.strip() for s in persona.splitlines() if s.strip())
            self.memory = PersonaMemory(reader.ontology, reader.persona(sentences), sentences)
        move = reader.move(str(obs.get("partner", "")))
        block = self.memory.persona_block(persona, self.statements, self.slips, self.identity)
        rewritten = {**obs, "persona": block}
        self.stats.prompt_chars += len(block) - len(persona)
        self.stats.seconds += time.perf_counter() - start
        reply = self.inner.act(rewritten)
        start = time.perf_counter()
        if isinstance(reply, str):
            verdict = self.memory.commit(move, reader.line(reply))
            self.stats.conflicts += verdict.conflict
        self.stats.turns += 1
        self.stats.seconds += time.perf_counter() - start
        return reply


def with_memory(policy: ReferencePolicy | ObservationPolicy | Any, env: Any = None,
                mode: str = "veto") -> MemoryReferencePolicy | MemoryObservationPolicy:
    """``policy`` behind a persona memory: a :class:`MemoryReferencePolicy` for a reference
    policy, else a :class:`MemoryObservationPolicy` (``env``: the env or env id whose flat
    observations it reads; not needed on text variants)."""
    if isinstance(policy, ReferencePolicy):
        return MemoryReferencePolicy(policy, mode)
    return MemoryObservationPolicy(policy, env, mode)


def split_spec(spec: str) -> tuple[str, str] | None:
    """``(mode, inner spec)`` of a ``memory:`` / ``memory+rerank:`` spec, else None."""
    if spec.startswith(RERANK_PREFIX):
        return "rerank", spec[len(RERANK_PREFIX):]
    if spec.startswith(MEMORY_PREFIX):
        return "veto", spec[len(MEMORY_PREFIX):]
    return None


def compare(env_id: str, policy: str, episodes: int = 100, seeds: Sequence[int] = (0, 1, 2),
            modes: Sequence[str] = MODES, hf_options: dict[str, Any] | None = None,
            progress: Any = None) -> list[dict[str, Any]]:
    """The memory lever's rows: ``policy`` alone, then behind the memory in each mode, each on
    the protocol's episodes (test personas, ``episodes`` per evaluation seed, the results of
    :func:`persona_gym.evaluation.evaluate`; played one at a time).

    Each row: ``policy``, ``normalized_score`` and its CI, the metric means (``capability``
    beside ``p2l``, ``l2l``, ``qa``), ``ms_per_turn`` (wall time per agent line, env included)
    and, for the wrapped rows, the wrapper's ``us_per_turn`` (its own compute, the wrapped
    policy excluded), ``changed_share`` (decisions it changed) and
    ``extra_prompt_chars_per_turn`` (text variants). An ``hf:`` agent gets one memory row (its
    prompt is rewritten; the modes choose among candidates, which it does not do)."""
    import gymnasium as gym

    from persona_gym.evaluation import (
        check_evaluation_seeds,
        check_policy,
        episode_seed,
        protocol_results,
        run_episode,
    )
    from persona_gym.policies import load_policy

    check_evaluation_seeds(seeds, episodes)
    if policy.startswith("hf:"):  # an LLM's prompt is rewritten; the modes pick nothing there
        modes = ["veto"]
    rows = []
    for mode in (None, *modes):
        spec = policy if mode is None else (
            f"{MEMORY_PREFIX if mode == 'veto' else RERANK_PREFIX}{policy}")
        pol = load_policy(spec, env_id, hf_options)
        check_policy(env_id, pol)
        env = gym.make(env_id, split="test")
        per_seed = {}
        start = time.perf_counter()
        try:
            for s in seeds:
                per_seed[s] = []
                for j in range(episodes):
                    per_seed[s].append(run_episode(env, pol, episode_seed(s, j)))
                    if progress is not None:
                        progress(1)
        finally:
            env.close()
        seconds = time.perf_counter() - start
        res = protocol_results(env_id, spec, per_seed, episodes)
        turns = sum(len(e.lines) for eps in per_seed.values() for e in eps)
        row: dict[str, Any] = {
            "policy": spec,
            "normalized_score": res["normalized_score"],
            "normalized_score_ci": res["normalized_score_ci"],
            "metrics": {m: v["mean"] for m, v in res["metrics"].items()},
            "episodes": res["episodes"],
            "ms_per_turn": 1e3 * seconds / max(turns, 1),
        }
        stats = getattr(pol, "stats", None)
        if isinstance(stats, _Stats):
            row.update({k: v for k, v in stats.as_dict().items() if k != "turns"})
        rows.append(row)
    return rows


def format_rows(rows: Sequence[dict[str, Any]]) -> str:
    """:func:`compare`'s rows as a table (consistency and capability side by side)."""

    def num(x: Any, digits: int = 3) -> str:
        return "-" if x is None else f"{x:.{digits}f}"

    w = max(28, *(len(r["policy"]) + 2 for r in rows))
    head = (f"{'policy':<{w}}{'score':>7}{'95% CI':>16}{'p2l':>7}{'l2l':>7}{'qa':>7}"
            f"{'capab.':>8}{'contra.':>8}{'changed':>9}{'us/turn':>9}{'ms/turn':>9}")
    out = [head]
    for r in rows:
        m = r["metrics"]
        lo, hi = r["normalized_score_ci"]
        out.append(
            f"{r['policy']:<{w}}{r['normalized_score']:>7.1f}{f'[{lo:.1f}, {hi:.1f}]':>16}"
            f"{num(m.get('p2l')):>7}{num(m.get('l2l')):>7}{num(m.get('qa')):>7}"
            f"{num(m.get('capability')):>8}{num(m.get('contradiction')):>8}"
            f"{num(r.get('changed_share'), 2):>9}{num(r.get('us_per_turn'), 0):>9}"
            f"{r['ms_per_turn']:>9.2f}")
    extra = [r for r in rows if r.get("extra_prompt_chars_per_turn")]
    out += [f"{r['policy']}: {r['extra_prompt_chars_per_turn']:.0f} extra prompt characters "
            "per turn (the rewritten persona block)" for r in extra]
    return "\n".join(out)
