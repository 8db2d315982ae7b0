"""The shortcut table (DESIGN.md §12, issue 10): the cheapest policies that earn a score.

Rolls a suite of policies through the official evaluation
(``persona_gym.evaluation.evaluate``: test personas, partner styles including the held-out one,
``--seeds`` x ``--episodes``) on each discrete id and prints a table of normalized scores
(rows: policies, columns: env ids), one metric table per env, the issue's targets, and ends with
ONE JSON line holding every figure. Progress goes to stderr.

Policies (row names)
--------------------

Reference policies (``persona_gym.policies``)
    ``random``, ``parrot``, ``assistant``, ``drift``, ``expert``.

Privileged partial oracles (``oracle:*``, :class:`ReferencePolicy` subclasses: they read
``env.unwrapped.turn_view()``). Each builds its own
:class:`persona_gym.judges.symbolic.SymbolicJudge` from the persona and the lines it actually
said (the candidate it returned last turn is what was said) and filters the candidates by a
cascade of tests: keep those that pass the first test, of those the ones that pass the second,
...; when a test would leave none, stop there; pick uniformly among what is left.

    ``oracle:persona_blind``  relevant (addresses the move: the judge's ``relevance``) and not
                              the assistant voice (no ``identity = ai`` fact). Nothing about the
                              persona or the history.
    ``oracle:history_blind``  + ``p2l == 1`` and ``qa`` not 0 under a judge that knows the
                              persona but no earlier line.
    ``oracle:recentN``        + ``l2l == 1`` and ``repetition == 0`` under a judge rebuilt each
                              turn from the persona and only the last N own lines (``--recent``,
                              default 4).
    ``oracle:greedy``         one-step greedy: the candidate with the highest immediate reward
                              (the env's own ``line_reward`` and weights, see reward_function)
                              under the full judge; ties at random; it does not foresee the
                              partner leaving. The report gives ``expert - greedy`` per env.

The oracles' judge is the class the env itself uses (``type(env.unwrapped.judge)``: a v0 id
keeps v0's judge), committed to as the env commits (with the line's scores where ``commit``
takes them).

Single-rule heuristics (``h:*``, what a learning agent sees):

    ``h:{max,min}_sim_{persona,own,partner_hist,partner_line}``
        OBSERVATION policies (``act_batch`` on the observation, no privileged access): the
        argmax / argmin of one similarity column of the candidate blocks
        (``env.unwrapped.encoder.split(obs)`` -> candidates ``[K, dim + 4]``, the 4 columns
        cosine with persona, own history, partner history, partner line); ties at random.
    ``h:longest``, ``h:shortest``, ``h:correct_premise``, ``h:like_i_said``
        TEXT policies: ReferencePolicy subclasses that read only ``candidate.text`` from the
        turn view (the texts the agent is shown; never ``.kind``, ``.facts`` or ``.act``).
        ``correct_premise`` picks a candidate that starts with a correction ("No,", "Not
        quite", "Actually", ...), ``like_i_said`` one with a "like I said" / "as I mentioned"
        marker; random when none does.
    ``h:three_rule`` (the audit's 3-rule heuristic; TEXT policy that also reads the persona
        sentences, which the agent is shown): drop fixed phrases (texts offered in at least
        ``--fixed-freq`` of the turns of ``--calib-turns`` TRAIN-split turns under the random
        policy), drop verbatim persona recitations (every sentence is a persona sentence), take
        the rest most similar to the persona (cosine of the env encoder's text vectors).
        Not a single rule: it is not held to the single-rule target.

Learnable ceiling (``learn:*``, skipped with ``--no-train``): ``--train-turns`` expert turns
(ExpertPolicy actions, observations collected) on TRAIN personas (``gym.make(id,
split="train")``), then evaluated on test personas as observation policies with ``act_batch``.

    ``learn:candidatewise``  one MLP applied to ``[context, candidate_i]`` for each i (via
                             ``encoder.split``), softmax over the K scores, cross-entropy.
    ``learn:flat``           an MLP on the whole observation with K outputs, for comparison.

Both use torch on CPU, seeded with ``--torch-seed``; 10% of the turns are held out, and the
epoch with the best held-out accuracy is kept.

Checks
------

The JSON's ``checks`` list holds the issue-10 targets (persona-blind <= 35 on OpenChat,
history-blind <= 80 / <= 65 on OpenChat / OpenChatLong, every single-rule heuristic <= 10,
parrot and assistant <= 0, drift in [30, 70], candidate-wise scorer >= 75) evaluated for every
env they apply to. They are targets for v1; on v0 ids they are printed for reference. Figures
the v0 audit measured are in ``AUDIT_V0`` (and the JSON's ``audit_v0``).

What it assumes of an env (it stops with a message naming the assumption otherwise)
-----------------------------------------------------------------------------------

* discrete action space, ``env.unwrapped.turn_view()`` -> (persona, move, candidates, turn,
  horizon) with ``turn`` = the number of lines the agent said so far, ``action_for(i)``;
* ``env.unwrapped.judge`` after ``reset()``, whose class builds as ``cls(ontology, persona)``
  with ``score(move, line)`` (no side effect) and ``commit(line[, scores])``; fed the lines
  said, a fresh one must reproduce ``env.unwrapped.judge.score(env.unwrapped.move, c)`` for
  every candidate (checked on two episodes per env before any table is computed);
* the per-line reward: ``line_reward`` in the module of ``env.unwrapped.conversation`` with
  its ``weights`` (v1 code), or ``persona_gym.rewards.line_reward`` with
  ``env.unwrapped.card.reward`` (v0 code); the self-check reports how often it equals the
  env's reward;
* ``env.unwrapped.encoder`` with ``split``, ``dim``, ``k``, ``text_vector``, ``sum_vector``;
  candidate blocks ``[text vector (dim), similarities (encoder.blocks, else 4), fact codes
  (encoder.facts.size, v1)]`` with the similarity columns in the order of SIM_COLUMNS.

Usage::

    python bench/shortcuts.py                        # newest version of every discrete id
    python bench/shortcuts.py --version 0            # every discrete v0 id
    python bench/shortcuts.py --envs OpenChat-v0,OpenChatLong-v0 --episodes 20 --seeds 0
    python bench/shortcuts.py --policies 'oracle:*,random,expert' --no-train
"""

from __future__ import annotations

import argparse
import fnmatch
import inspect
import json
import math
import re
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import gymnasium as gym
import numpy as np

import persona_gym
from persona_gym.evaluation import evaluate
from persona_gym.judges.symbolic import SymbolicJudge
from persona_gym.policies import POLICIES, ReferencePolicy, make_policy
from persona_gym.world import AI, load_ontology

AUDIT_V0 = {
    "persona_gym/OpenChat-v0": {"oracle:persona_blind": 69.0, "oracle:history_blind": 91.0,
                                "oracle:recent4": 97.0, "h:three_rule": 27.6,
                                "learn:candidatewise": "80-85", "learn:flat": 37.0,
                                "drift": 47.9},
    "persona_gym/OpenChatLong-v0": {"oracle:persona_blind": 68.0,
                                    "oracle:history_blind": 86.0, "oracle:recent4": 90.0,
                                    "drift": 48.1},
}
"""Figures the v0 audit (issue 10, DESIGN.md §12) reported, for comparison."""

SIM_COLUMNS = ("persona", "own", "partner_hist", "partner_line")
"""The 4 similarity columns of a candidate block, in order (after the text vector). Columns past
these become rules too: a fifth (``encoder.blocks == 5``, task v1) is the cosine with the memory
of the whole own transcript (``h:{max,min}_sim_memory``); without ``encoder.blocks``, any
further column is ``extra{j}``. Names come from ``encoder.similarity_names`` where it exists."""

FACT_REFS = ("persona", "memory", "partner")
"""Context fact blocks of a v1 encoder with ``facts`` (after the text blocks and progress):
persona facts, memory facts, partner facts; each candidate block ends with its own facts."""

REFERENCE = ("random", "parrot", "assistant", "drift", "expert")
COLLECT_SEED_BASE = 7_000_000
"""Env seeds of the training collection (train split; disjoint from evaluation's 1_000_000+)."""
CALIB_SEED_BASE = 8_000_000
"""Env seeds of the fixed-phrase calibration (train split)."""

CORRECTION = re.compile(
    r"^\s*(no\b|nope\b|not quite\b|actually\b|not really\b|that's not (right|true)|"
    r"you're mixing|that's wrong|wrong\b)", re.IGNORECASE)
AGAIN = re.compile(
    r"(^|\W)(like i (said|told you|mentioned)|as i (said|mentioned|told you)|again,)",
    re.IGNORECASE)
_SENTENCE = re.compile(r"(?<=[.!?])\s+")


class BenchAssumptionError(RuntimeError):
    """An env does not provide what a shortcut policy needs; the message names it."""


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _norm(text: str) -> str:
    return " ".join(text.lower().split())


# -- env discovery ------------------------------------------------------------------------------

_VERSIONED = re.compile(r"^(?P<family>.+)-v(?P<version>\d+)$")


def discrete_ids() -> list[str]:
    """Every registered persona_gym id whose env has a Discrete action space and a turn view."""
    out = []
    for env_id in sorted(i for i in gym.registry if i.startswith("persona_gym/")):
        env = gym.make(env_id)
        try:
            base = env.unwrapped
            if isinstance(env.action_space, gym.spaces.Discrete) and hasattr(base, "turn_view"):
                out.append(env_id)
        finally:
            env.close()
    return out


def newest(ids: Sequence[str]) -> list[str]:
    """The highest version of each id family (``OpenChat-v0``, ``OpenChat-v1`` -> ``-v1``)."""
    best: dict[str, tuple[int, str]] = {}
    for i in ids:
        m = _VERSIONED.match(i)
        if m is None:
            continue
        v = int(m["version"])
        if m["family"] not in best or v > best[m["family"]][0]:
            best[m["family"]] = (v, i)
    return sorted(i for _, i in best.values())


def resolve_envs(spec: str | None, version: int | None) -> list[str]:
    """The env ids to run: ``--envs`` entries (full ids, ids without ``persona_gym/``, or a
    family without version meaning its newest), else ``--version N`` of every discrete id,
    else the newest version of every discrete id."""
    ids = discrete_ids()
    if spec:
        out = []
        for raw in (s.strip() for s in spec.split(",") if s.strip()):
            full = raw if raw.startswith("persona_gym/") else f"persona_gym/{raw}"
            if full in ids:
                out.append(full)
                continue
            fam = [i for i in ids if _VERSIONED.match(i) and _VERSIONED.match(i)["family"] == full]
            if fam:
                out.append(newest(fam)[0])
                continue
            raise SystemExit(
                f"--envs: {raw!r} is not a registered discrete persona_gym id or family; "
                f"discrete ids: {', '.join(ids)}")
        return out
    if version is not None:
        out = [i for i in ids if i.endswith(f"-v{version}")]
        if not out:
            raise SystemExit(f"--version {version}: no discrete id has that version; "
                             f"discrete ids: {', '.join(ids)}")
        return out
    return newest(ids)


def short(env_id: str) -> str:
    return env_id.removeprefix("persona_gym/")


# -- judge-based oracles ------------------------------------------------------------------------

class JudgeSpec(NamedTuple):
    """How an env judges: its judge class (built as ``cls(ontology, persona)``) and whether
    ``commit`` takes the line's scores (task v1 commits ``(line, score(move, line))``)."""

    cls: type
    commit_with_scores: bool


def env_judge(env_id: str) -> JudgeSpec:
    """The judge ``env_id`` itself uses (v0 ids keep v0's judge), for the oracles to copy."""
    env = gym.make(env_id, split="test")
    try:
        env.reset(seed=0)
        judge = getattr(env.unwrapped, "judge", None)
    finally:
        env.close()
    if judge is None or not (callable(getattr(judge, "score", None))
                             and callable(getattr(judge, "commit", None))):
        raise BenchAssumptionError(
            f"{env_id}: the oracles copy env.unwrapped.judge (score(move, line), commit(line)); "
            "the env has none after reset()")
    params = list(inspect.signature(type(judge).commit).parameters)
    return JudgeSpec(type(judge), len(params) >= 3)


def _new_judge(spec: JudgeSpec, persona: Any, said: Sequence[tuple[Any, Any]] = ()) -> Any:
    """A judge of ``spec``'s class for ``persona`` that has heard ``said`` ((move, line)s)."""
    try:
        judge = spec.cls(load_ontology(), persona)
    except TypeError as exc:
        raise BenchAssumptionError(
            f"the oracles build {spec.cls.__qualname__}(ontology, persona) and it failed ({exc});"
            " give bench/shortcuts.py:_new_judge the judge's new constructor") from None
    for move, line in said:
        _commit(judge, spec, move, line)
    return judge


def _commit(judge: Any, spec: JudgeSpec, move: Any, line: Any) -> None:
    """Commit ``line`` (said in answer to ``move``) as the env commits it."""
    if spec.commit_with_scores:
        judge.commit(line, judge.score(move, line))
    else:
        judge.commit(line)


def _not_ai(line: Any) -> bool:
    return AI not in line.facts


def _qa_ok(scores: Any) -> bool:
    return scores.qa != 0.0  # nan (not a question) or 1


class JudgeOracle(ReferencePolicy):
    """A privileged oracle that judges candidates with its own SymbolicJudge, fed the lines it
    actually said; picks by a cascade of tests (see the module docstring)."""

    name = "oracle"
    description = "judge-based partial oracle"

    def __init__(self, judge: JudgeSpec | None = None) -> None:
        super().__init__()
        self.spec = judge or JudgeSpec(SymbolicJudge, False)
        self.said: list[tuple[Any, Any]] = []
        self._persona: Any = None
        self._blank: Any = None

    def reset(self, rng: np.random.Generator) -> None:
        super().reset(rng)
        self.said = []
        self._persona = None
        self.start_episode()

    def start_episode(self) -> None:
        """Hook: forget per-episode state."""

    def blank_judge(self, persona: Any) -> Any:
        """A judge that knows the persona and no earlier line (cached per episode)."""
        if self._blank is None or self._persona is not persona:
            self._blank, self._persona = _new_judge(self.spec, persona), persona
        return self._blank

    def act(self, view: Any) -> int:
        if view.turn != len(self.said):
            raise BenchAssumptionError(
                f"{self.name}: turn_view().turn is {view.turn} but the oracle has said "
                f"{len(self.said)} lines; it assumes turn = number of agent lines so far and "
                "one act() call per step")
        i = self.choose(view)
        line = view.candidates[i]
        self.said.append((view.move, line))
        self.said_line(view.move, line)
        return i

    def said_line(self, move: Any, line: Any) -> None:
        """Hook: ``line`` was said in answer to ``move``."""

    def choose(self, view: Any) -> int:
        raise NotImplementedError

    def cascade(self, tests: Sequence[Sequence[bool]]) -> int:
        pool = list(range(len(tests[0]) if tests else 0))
        for passed in tests:
            kept = [i for i in pool if passed[i]]
            if not kept:
                break
            pool = kept
        return pool[int(self.rng.integers(len(pool)))]


class PersonaBlindOracle(JudgeOracle):
    name = "oracle:persona_blind"
    description = "relevant and not the assistant voice; blind to persona and history"

    def choose(self, view: Any) -> int:
        judge = self.blank_judge(view.persona)  # only .relevance is read: no persona use
        cands = view.candidates
        rel = [judge.score(view.move, c).relevance == 1.0 for c in cands]
        return self.cascade([[r and _not_ai(c) for r, c in zip(rel, cands, strict=True)]])


class HistoryBlindOracle(JudgeOracle):
    name = "oracle:history_blind"
    description = "relevant, not assistant, p2l = 1 and qa ok against the persona only"

    def choose(self, view: Any) -> int:
        return self.cascade(_persona_tests(self.blank_judge(view.persona), view))


def _persona_tests(judge: Any, view: Any, history: bool = False) -> list[list[bool]]:
    scores = [judge.score(view.move, c) for c in view.candidates]
    first = [s.relevance == 1.0 and _not_ai(c)
             for s, c in zip(scores, view.candidates, strict=True)]
    tests = [first, [s.p2l == 1.0 and _qa_ok(s) for s in scores]]
    if history:
        tests.append([s.l2l == 1.0 and s.repetition == 0.0 for s in scores])
    return tests


class RecentOracle(JudgeOracle):
    description = "knows the persona and only its last N own lines"

    def __init__(self, window: int = 4, judge: JudgeSpec | None = None) -> None:
        super().__init__(judge)
        if window < 1:
            raise ValueError(f"--recent must be >= 1, got {window}")
        self.window = window
        self.name = f"oracle:recent{window}"

    def choose(self, view: Any) -> int:
        judge = _new_judge(self.spec, view.persona, self.said[-self.window:])
        return self.cascade(_persona_tests(judge, view, history=True))


class GreedyOracle(JudgeOracle):
    name = "oracle:greedy"
    description = "one-step greedy on line_reward under the full judge"

    def __init__(self, reward: Callable[[Any], float], judge: JudgeSpec | None = None) -> None:
        super().__init__(judge)
        self.reward = reward
        self.judge: Any = None

    def start_episode(self) -> None:
        self.judge = None

    def scores(self, view: Any) -> list[Any]:
        if self.judge is None:
            self.judge = _new_judge(self.spec, view.persona)
        return [self.judge.score(view.move, c) for c in view.candidates]

    def choose(self, view: Any) -> int:
        r = np.array([self.reward(s) for s in self.scores(view)])
        best = np.flatnonzero(r >= r.max() - 1e-12)
        return int(best[int(self.rng.integers(len(best)))])

    def said_line(self, move: Any, line: Any) -> None:
        assert self.judge is not None
        _commit(self.judge, self.spec, move, line)


def reward_function(env_id: str) -> Callable[[Any], float]:
    """``scores -> line_reward(scores, weights)`` as ``env_id`` rewards a line: the
    ``line_reward`` of the module of ``env.unwrapped.conversation`` with its ``weights`` (task
    v1 code; v0 ids keep v0's reward), else ``persona_gym.rewards.line_reward`` with
    ``env.unwrapped.card.reward`` (the v0 code). A partner leaving (v1's ``left``) is not
    foreseen: the reward is that of the line with the partner staying."""
    env = gym.make(env_id, split="test")
    try:
        env.reset(seed=0)
        base = env.unwrapped
        conv = getattr(base, "conversation", None)
        if conv is not None and hasattr(conv, "weights"):
            fn = getattr(sys.modules[type(conv).__module__], "line_reward", None)
            weights = conv.weights
            where = f"{type(conv).__module__}.line_reward(scores, conversation.weights)"
        else:
            from persona_gym.rewards import line_reward as fn

            weights = getattr(getattr(base, "card", None), "reward", None)
            where = "persona_gym.rewards.line_reward(scores, card.reward)"
    finally:
        env.close()
    if fn is None or weights is None:
        raise BenchAssumptionError(
            f"{env_id}: the greedy oracle needs the env's per-line reward function and weights "
            "(env.unwrapped.conversation.weights and line_reward in its module, or "
            "env.unwrapped.card.reward); point bench/shortcuts.py:reward_function at them")

    def reward(scores: Any) -> float:
        try:
            return float(fn(scores, weights))
        except (TypeError, AttributeError) as exc:
            raise BenchAssumptionError(
                f"{env_id}: the greedy oracle calls {where} and it failed ({exc}); update "
                "bench/shortcuts.py:reward_function") from None

    return reward


def check_judge(env_id: str, reward: Callable[[Any], float], episodes: int = 2,
                judge: JudgeSpec | None = None) -> dict:
    """Play the greedy oracle on ``episodes`` test episodes and check that its own judge gives
    every candidate the scores ``env.unwrapped.judge`` gives, and how often its reward equals
    the env's. Raises :class:`BenchAssumptionError` on a score mismatch."""
    env = gym.make(env_id, split="test")
    base = env.unwrapped
    oracle = GreedyOracle(reward, judge or env_judge(env_id))
    turns = same_reward = 0
    try:
        for ep in range(episodes):
            env.reset(seed=9_000_000 + ep)
            oracle.reset(np.random.default_rng(ep))
            done = False
            while not done:
                view = base.turn_view()
                judge = getattr(base, "judge", None)
                if judge is None or not hasattr(judge, "score") or not hasattr(base, "move"):
                    raise BenchAssumptionError(
                        f"{env_id}: the self-check reads env.unwrapped.judge.score(env.unwrapped"
                        ".move, line); the env has no such judge")
                theirs = [judge.score(base.move, c) for c in view.candidates]
                mine = oracle.scores(view)
                for c, a, b in zip(view.candidates, mine, theirs, strict=True):
                    if not all(x == y or (math.isnan(x) and math.isnan(y))
                               for x, y in zip(a, b, strict=True)):
                        raise BenchAssumptionError(
                            f"{env_id}: the oracles' judge (fed the lines said) scores "
                            f"{c.text!r} as {a}, the env's judge as {b} (turn {view.turn}); "
                            "the oracles no longer see what the env judges")
                i = oracle.act(view)
                _, r, term, trunc, _ = env.step(base.action_for(i))
                same_reward += abs(float(r) - reward(mine[i])) < 1e-9
                turns += 1
                done = term or trunc
    finally:
        env.close()
    return {"turns": turns, "reward_matches_env": same_reward / max(turns, 1)}


# -- heuristics ---------------------------------------------------------------------------------

class SimilarityRule:
    """OBSERVATION policy: argmax (or argmin) of one similarity column of the candidate
    blocks; ties at random."""

    def __init__(self, encoder: Any, column: int, sign: float, seed: int = 0,
                 label: str | None = None) -> None:
        self.encoder, self.column, self.sign = encoder, column, sign
        label = label or sim_column_names(encoder)[column]
        self.name = f"h:{'max' if sign > 0 else 'min'}_sim_{label}"
        self.rng = np.random.default_rng(seed)

    def reset(self, rng: np.random.Generator) -> None:
        del rng

    def act_batch(self, obs: np.ndarray) -> np.ndarray:
        _, cand = self.encoder.split(np.asarray(obs))
        s = self.sign * cand[..., self.encoder.dim + self.column].astype(np.float64)
        s = np.round(s, 6) + 1e-9 * self.rng.random(s.shape)  # ties at random
        return s.argmax(-1)

    def act(self, obs: np.ndarray) -> int:
        return int(self.act_batch(np.asarray(obs)[None])[0])


class TextRule(ReferencePolicy):
    """TEXT policy: sees only the candidates' texts (and, for some rules, the persona
    sentences the agent is shown); never ``.kind``, ``.facts`` or ``.act``."""

    name = "h:text"
    description = "a rule over the candidate texts"

    def act(self, view: Any) -> int:
        texts = [c.text for c in view.candidates]
        return self.pick(texts, tuple(view.persona.sentences))

    def pick(self, texts: list[str], persona: tuple[str, ...]) -> int:
        raise NotImplementedError

    def among(self, ok: Sequence[bool]) -> int:
        idx = [i for i, b in enumerate(ok) if b] or list(range(len(ok)))
        return idx[int(self.rng.integers(len(idx)))]


class Longest(TextRule):
    name = "h:longest"
    description = "the longest candidate text"

    def pick(self, texts: list[str], persona: tuple[str, ...]) -> int:
        n = [len(t) for t in texts]
        return self.among([x == max(n) for x in n])


class Shortest(TextRule):
    name = "h:shortest"
    description = "the shortest candidate text"

    def pick(self, texts: list[str], persona: tuple[str, ...]) -> int:
        n = [len(t) for t in texts]
        return self.among([x == min(n) for x in n])


class CorrectPremise(TextRule):
    name = "h:correct_premise"
    description = "a candidate that starts with a correction ('No,', 'Not quite', 'Actually')"

    def pick(self, texts: list[str], persona: tuple[str, ...]) -> int:
        return self.among([bool(CORRECTION.match(t)) for t in texts])


class LikeISaid(TextRule):
    name = "h:like_i_said"
    description = "a candidate with a 'like I said' / 'as I mentioned' marker"

    def pick(self, texts: list[str], persona: tuple[str, ...]) -> int:
        return self.among([bool(AGAIN.search(t)) for t in texts])


class ThreeRule(TextRule):
    name = "h:three_rule"
    description = ("drop fixed phrases, drop verbatim persona recitations, "
                   "take the rest most similar to the persona")

    def __init__(self, encoder: Any, fixed: set[str]) -> None:
        super().__init__()
        self.encoder, self.fixed = encoder, fixed

    def pick(self, texts: list[str], persona: tuple[str, ...]) -> int:
        said = {_norm(s) for s in persona}
        keep = [i for i, t in enumerate(texts) if _norm(t) not in self.fixed]
        keep = [i for i in keep
                if not all(_norm(s) in said for s in _SENTENCE.split(texts[i].strip()))] or keep
        keep = keep or list(range(len(texts)))
        pv = self.encoder.sum_vector(list(persona))
        sims = np.array([float(self.encoder.text_vector(texts[i]) @ pv) for i in keep])
        sims = np.round(sims, 6)
        best = [keep[j] for j in np.flatnonzero(sims == sims.max())]
        return best[int(self.rng.integers(len(best)))]


def calibrate_fixed(env_id: str, turns: int, freq: float) -> tuple[set[str], dict]:
    """Texts offered in at least ``freq`` of ``turns`` TRAIN-split turns (random policy)."""
    env = gym.make(env_id, split="train")
    base = env.unwrapped
    pol = make_policy("random")
    counts: Counter[str] = Counter()
    n = ep = 0
    try:
        while n < turns:
            env.reset(seed=CALIB_SEED_BASE + ep)
            pol.reset(np.random.default_rng([CALIB_SEED_BASE + ep, 1]))
            ep += 1
            done = False
            while not done and n < turns:
                view = base.turn_view()
                counts.update({_norm(c.text) for c in view.candidates})
                n += 1
                _, _, term, trunc, _ = env.step(base.action_for(pol.act(view)))
                done = term or trunc
    finally:
        env.close()
    fixed = {t for t, c in counts.items() if c >= freq * n}
    return fixed, {"turns": n, "fixed_phrases": len(fixed), "freq": freq}


def env_encoder(env_id: str) -> Any:
    """The env's observation encoder, checked for what the heuristics and scorers read."""
    env = gym.make(env_id)
    try:
        enc = getattr(env.unwrapped, "encoder", None)
        obs, _ = env.reset(seed=0)
    finally:
        env.close()
    need = ("split", "dim", "k", "text_vector", "sum_vector")
    if enc is None or any(not hasattr(enc, a) for a in need):
        raise BenchAssumptionError(
            f"{env_id}: env.unwrapped.encoder must provide {', '.join(need)} "
            "(observation heuristics and the candidate-wise scorer read them)")
    _, cand = enc.split(np.asarray(obs)[None])
    if cand.shape[-2] != enc.k or cand.shape[-1] < enc.dim + len(SIM_COLUMNS):
        raise BenchAssumptionError(
            f"{env_id}: encoder.split gives candidate blocks {cand.shape[-2:]}, expected "
            f"(K={enc.k}, >= dim + 4 = {enc.dim + 4}): [text vector, cos persona, own history, "
            "partner history, partner line, ...]; update SIM_COLUMNS")
    enc_names = getattr(enc, "similarity_names", None)
    n_cols = getattr(enc, "blocks", cand.shape[-1] - enc.dim)
    enc._shortcut_facts = None
    facts = getattr(enc, "facts", None)
    if facts is not None:
        f, b = facts.size, n_cols
        ctx, _ = enc.split(np.asarray(obs)[None])
        if ctx.shape[-1] == b * enc.dim + 1 + 3 * f and cand.shape[-1] == enc.dim + b + f:
            enc._shortcut_facts = f
        else:
            log(f"  {short(env_id)}: the fact blocks are not laid out as persona, memory, "
                "partner facts + one per candidate; the fact-similarity rules are skipped")
    if enc_names is not None and len(enc_names) != n_cols:
        raise BenchAssumptionError(
            f"{env_id}: encoder.similarity_names has {len(enc_names)} names for {n_cols} "
            "similarity columns")
    if enc_names is None and n_cols > len(SIM_COLUMNS):
        log(f"  {short(env_id)}: candidate blocks carry {n_cols - len(SIM_COLUMNS)} columns "
            "past the 4 known similarities; each becomes an h:{max,min}_sim_extra{j} rule")
    enc._shortcut_sim_columns = n_cols
    return enc


def sim_column_names(enc: Any) -> list[str]:
    """Names of the similarity columns of ``enc``'s candidate blocks (see SIM_COLUMNS)."""
    names = getattr(enc, "similarity_names", None)
    if names is not None:
        return [str(n) for n in names]
    n = getattr(enc, "_shortcut_sim_columns", len(SIM_COLUMNS))
    if getattr(enc, "blocks", None) == 5:
        return [*SIM_COLUMNS, "memory"]
    return [*SIM_COLUMNS, *(f"extra{j}" for j in range(n - len(SIM_COLUMNS)))]


class FactSimilarityRule(SimilarityRule):
    """OBSERVATION policy (task v1 encoders with fact blocks): argmax (or argmin) of the cosine
    between a candidate's fact block and one context fact block (persona, memory or partner
    facts); ties at random."""

    def __init__(self, encoder: Any, ref: int, sign: float, seed: int = 0) -> None:
        super().__init__(encoder, 0, sign, seed, label="x")
        self.ref = ref
        self.name = f"h:{'max' if sign > 0 else 'min'}_factsim_{FACT_REFS[ref]}"

    def act_batch(self, obs: np.ndarray) -> np.ndarray:
        enc = self.encoder
        f, b, d = enc._shortcut_facts, enc.blocks, enc.dim
        ctx, cand = enc.split(np.asarray(obs))
        start = b * d + 1 + self.ref * f
        ref = ctx[..., start : start + f].astype(np.float64)
        cf = cand[..., d + b : d + b + f].astype(np.float64)
        dot = (cf * ref[..., None, :]).sum(-1)
        norm = np.linalg.norm(cf, axis=-1) * np.linalg.norm(ref, axis=-1)[..., None]
        s = self.sign * np.where(norm > 0, dot / np.maximum(norm, 1e-12), 0.0)
        s = np.round(s, 6) + 1e-9 * self.rng.random(s.shape)
        return s.argmax(-1)


# -- learnable ceiling --------------------------------------------------------------------------

def collect_expert(env_id: str, turns: int, explore: float = 0.0
                   ) -> tuple[np.ndarray, np.ndarray, int]:
    """(observations, expert actions, episodes) of ``turns`` TRAIN-persona expert turns. With
    ``explore`` > 0 the conversation follows a random reply with that probability (the label
    stays the expert's), so the data also covers the turns after a slip."""
    env = gym.make(env_id, split="train")
    base = env.unwrapped
    expert = make_policy("expert")
    coin = np.random.default_rng(COLLECT_SEED_BASE)
    obs_l: list[np.ndarray] = []
    act_l: list[int] = []
    ep = 0
    try:
        while len(act_l) < turns:
            obs, _ = env.reset(seed=COLLECT_SEED_BASE + ep)
            expert.reset(np.random.default_rng([COLLECT_SEED_BASE + ep, 1]))
            ep += 1
            done = False
            while not done and len(act_l) < turns:
                i = expert.act(base.turn_view())
                obs_l.append(np.array(obs, dtype=np.float32))
                act_l.append(i)
                if explore and coin.random() < explore:
                    i = int(coin.integers(base.k))
                obs, _, term, trunc, _ = env.step(base.action_for(i))
                done = term or trunc
    finally:
        env.close()
    return np.stack(obs_l), np.array(act_l, dtype=np.int64), ep


def _models(env_id: str, obs_dim: int, k: int, hidden: int) -> tuple:
    """The learnable ceiling's two networks: the library's candidate-wise scorer
    (:class:`persona_gym.networks.CandidateScorer`: one MLP over [context, candidate, fact
    comparisons] for every candidate) and a flat MLP on the whole observation."""
    from torch import nn

    from persona_gym.networks import CandidateScorer, Layout

    flat = nn.Sequential(nn.Linear(obs_dim, hidden), nn.ReLU(), nn.Linear(hidden, hidden),
                         nn.ReLU(), nn.Linear(hidden, k))
    return CandidateScorer(Layout.of_env(env_id), hidden), flat


class ScorerPolicy:
    """OBSERVATION policy around a trained torch model (batched via ``act_batch``)."""

    def __init__(self, name: str, model: Any) -> None:
        self.name, self.model = name, model

    def reset(self, rng: np.random.Generator) -> None:
        del rng

    def logits(self, obs: np.ndarray) -> Any:
        import torch

        return self.model(torch.from_numpy(np.asarray(obs, dtype=np.float32)))

    def act_batch(self, obs: np.ndarray) -> np.ndarray:
        import torch

        with torch.inference_mode():
            return self.logits(obs).argmax(-1).numpy()

    def act(self, obs: np.ndarray) -> int:
        return int(self.act_batch(np.asarray(obs)[None])[0])


def train_scorers(env_id: str, encoder: Any, args: argparse.Namespace) -> tuple[list, dict]:
    """Collect expert turns on train personas, fit the candidate-wise and the flat MLP."""
    import torch

    torch.manual_seed(args.torch_seed)
    if args.torch_threads:
        torch.set_num_threads(args.torch_threads)
    t0 = time.perf_counter()
    obs, act, eps = collect_expert(env_id, args.train_turns, args.explore)
    t_collect = time.perf_counter() - t0
    rng = np.random.default_rng(args.torch_seed)
    perm = rng.permutation(len(act))
    n_val = max(1, len(act) // 10)
    val, tr = perm[:n_val], perm[n_val:]
    obs_t, act_t = torch.from_numpy(obs), torch.from_numpy(act)
    cw, flat = _models(env_id, obs.shape[-1], encoder.k, args.hidden)
    info: dict[str, Any] = {"train_turns": len(act), "train_episodes": eps,
                            "collect_seconds": round(t_collect, 2)}
    out = []
    for name, model, inputs in (("learn:candidatewise", cw, (obs_t,)),
                                ("learn:flat", flat, (obs_t,))):
        t1 = time.perf_counter()
        opt = torch.optim.Adam(model.parameters(), lr=args.lr)
        gen = torch.Generator().manual_seed(args.torch_seed)
        tr_t = torch.from_numpy(tr)
        def accuracy(ix: np.ndarray, model: Any = model, inputs: tuple = inputs) -> float:
            model.eval()
            with torch.inference_mode():
                t = torch.from_numpy(ix)
                hit = model(*(x[t] for x in inputs)).argmax(-1) == act_t[t]
            model.train()
            return float(hit.float().mean())

        best: tuple[float, int, dict] = (-1.0, 0, {})
        model.train()
        for epoch in range(1, args.epochs + 1):
            order = tr_t[torch.randperm(len(tr_t), generator=gen)]
            for s in range(0, len(order), args.batch_size):
                b = order[s : s + args.batch_size]
                loss = torch.nn.functional.cross_entropy(model(*(x[b] for x in inputs)),
                                                         act_t[b])
                opt.zero_grad()
                loss.backward()
                opt.step()
            val_acc = accuracy(val)
            if val_acc > best[0]:  # keep the epoch with the best held-out accuracy
                best = (val_acc, epoch,
                        {k: v.detach().clone() for k, v in model.state_dict().items()})
        model.load_state_dict(best[2])
        model.eval()
        acc = {"train": accuracy(tr), "val": best[0]}
        info[name] = {"train_acc": round(acc["train"], 4), "val_acc": round(acc["val"], 4),
                      "best_epoch": best[1],
                      "train_seconds": round(time.perf_counter() - t1, 2),
                      "final_loss": round(loss.item(), 4)}
        log(f"  {short(env_id)} {name}: train acc {acc['train']:.3f}, held-out acc "
            f"{acc['val']:.3f} (best epoch {best[1]} of {args.epochs}; "
            f"{info[name]['train_seconds']:.1f} s)")
        out.append(ScorerPolicy(name, model))
    return out, info


# -- the suite ----------------------------------------------------------------------------------

SINGLE_RULES = (*(f"h:{m}_sim_{c}" for c in SIM_COLUMNS for m in ("max", "min")),
                "h:longest", "h:shortest", "h:correct_premise", "h:like_i_said")
ORACLES = ("oracle:persona_blind", "oracle:history_blind", "oracle:recent{N}", "oracle:greedy")
class UniformObservation:
    """OBSERVATION policy: a uniformly random candidate (what the fact reader wraps)."""

    name = "uniform"

    def __init__(self, k: int) -> None:
        self.k, self.rng = k, np.random.default_rng(0)

    def reset(self, rng: np.random.Generator) -> None:
        self.rng = rng

    def act(self, obs: np.ndarray) -> int:
        del obs
        return int(self.rng.integers(self.k))


def fact_reader(env_id: str) -> Any:
    """OBSERVATION rule program: read the observation's fact blocks with the env's public fact
    codes, keep a memory of what was said, and take the candidate that best answers without
    contradicting it (persona_gym.levers, ``memory+rerank`` around a uniform policy): no
    learning, only the world's public contradiction rules."""
    from persona_gym.levers.memory import MemoryObservationPolicy

    policy = MemoryObservationPolicy(UniformObservation(env_encoder(env_id).k), env=env_id,
                                     mode="rerank")
    policy.name = "rule:fact_reader"
    return policy


V1_ONLY = ("rule:fact_reader",)
"""Policies that read v1's fact blocks (skipped on v0 ids, whose observations have none)."""

ALL_NAMES = (*REFERENCE, *ORACLES, *SINGLE_RULES, "h:three_rule", "rule:fact_reader",
             "learn:candidatewise",
             "learn:flat")


def selected(name: str, patterns: list[str] | None) -> bool:
    return patterns is None or any(fnmatch.fnmatchcase(name, p) for p in patterns)


def build_suite(env_id: str, args: argparse.Namespace, patterns: list[str] | None,
                meta: dict) -> list[Any]:
    """The policies to evaluate on ``env_id`` (training the scorers if selected)."""
    suite: list[Any] = [make_policy(n) for n in REFERENCE if selected(n, patterns)]
    spec = env_judge(env_id)
    meta["judge"] = f"{spec.cls.__module__}.{spec.cls.__qualname__}"
    for p in (PersonaBlindOracle(spec), HistoryBlindOracle(spec),
              RecentOracle(args.recent, spec)):
        if selected(p.name, patterns):
            suite.append(p)
    if selected("oracle:greedy", patterns):
        reward = reward_function(env_id)
        meta["judge_check"] = check_judge(env_id, reward, judge=spec)
        frac = meta["judge_check"]["reward_matches_env"]
        if frac < 1.0:
            log(f"  WARNING {short(env_id)}: line_reward(scores, card.reward) equals the env's "
                f"reward on only {100 * frac:.1f}% of turns: the greedy oracle is greedy on "
                "line_reward, not on the env's reward")
        suite.append(GreedyOracle(reward, spec))
    # the encoder is read by the similarity rules, three_rule and the scorers
    uses_enc = (*SINGLE_RULES[:2 * len(SIM_COLUMNS)], "h:three_rule", "learn:candidatewise",
                "learn:flat")
    need_enc = patterns is None or any(
        fnmatch.fnmatchcase(n, p) for p in patterns for n in uses_enc) or any(
        re.match(r"h:(max|min)_(fact)?sim_", p) for p in patterns)
    enc = env_encoder(env_id) if need_enc else None
    for c in range(len(sim_column_names(enc)) if enc is not None else 0):
        for sign in (1.0, -1.0):
            rule = SimilarityRule(enc, c, sign, seed=args.policy_seed)
            if selected(rule.name, patterns):
                suite.append(rule)
    if enc is not None and getattr(enc, "_shortcut_facts", None):
        for ref in range(len(FACT_REFS)):
            for sign in (1.0, -1.0):
                rule = FactSimilarityRule(enc, ref, sign, seed=args.policy_seed)
                if selected(rule.name, patterns):
                    suite.append(rule)
    suite += [r() for r in (Longest, Shortest, CorrectPremise, LikeISaid)
              if selected(r.name, patterns)]
    if selected("h:three_rule", patterns):
        log(f"  {short(env_id)}: counting fixed phrases over {args.calib_turns} train turns")
        fixed, meta["three_rule"] = calibrate_fixed(env_id, args.calib_turns, args.fixed_freq)
        suite.append(ThreeRule(enc, fixed))
    if selected("rule:fact_reader", patterns) and getattr(env_encoder(env_id), "facts", None):
        suite.append(fact_reader(env_id))  # V1_ONLY: v0 observations have no fact blocks
    if not args.no_train and (selected("learn:candidatewise", patterns)
                              or selected("learn:flat", patterns)):
        log(f"  {short(env_id)}: collecting {args.train_turns} train-persona expert turns and "
            f"training the scorers ({args.epochs} epochs)")
        scorers, meta["ceiling"] = train_scorers(env_id, enc, args)
        suite += [s for s in scorers if selected(s.name, patterns)]
    return suite


def summarize_result(res: dict) -> dict:
    return {
        "normalized_score": round(res["normalized_score"], 3),
        "normalized_score_ci": [round(x, 3) for x in res["normalized_score_ci"]],
        "return_mean": round(res["return_mean"], 4),
        "per_seed": [round(s["normalized_score"], 3) for s in res["per_seed"]],
        # "_name" keys are gymnasium's vector-env masks leaking from the batched evaluation
        "metrics": {k: (None if v["mean"] is None else round(v["mean"], 4))
                    for k, v in res["metrics"].items() if not k.startswith("_")},
    }


def is_single_rule(name: str) -> bool:
    """A single-rule heuristic (held to the <= 10 target): every ``h:*`` but three_rule."""
    return name.startswith("h:") and name != "h:three_rule"


def checks_for(env_id: str, scores: dict[str, float]) -> list[dict]:
    """Issue-10 targets that apply to ``env_id`` and the policies measured on it."""
    fam = (_VERSIONED.match(env_id) or {"family": env_id})["family"].removeprefix("persona_gym/")
    m = _VERSIONED.match(env_id)
    version = int(m["version"]) if m else None
    scope = "issue" if fam in ("OpenChat", "OpenChatLong") else "extrapolated"
    rules: list[tuple[str, str, float]] = []
    if fam == "OpenChat":
        rules.append(("oracle:persona_blind", "<=", 35.0))
    rules.append(("oracle:history_blind", "<=", 65.0 if "Long" in fam else 80.0))
    rules += [(n, "<=", 10.0) for n in scores if is_single_rule(n)]
    rules += [("parrot", "<=", 0.0), ("assistant", "<=", 0.0), ("drift", ">=", 30.0),
              ("drift", "<=", 70.0), ("learn:candidatewise", ">=", 75.0)]
    # The issue sets the drift band and the learnable ceiling for OpenChat; on Long the drift
    # model is meant to score lower (drift accumulates over 48 turns), so there they are
    # extrapolations, reported but not targets.
    long_only = {"drift", "learn:candidatewise"} if "Long" in fam else set()
    out = []
    for name, op, target in rules:
        if name not in scores:
            continue
        v = scores[name]
        ok = v <= target if op == "<=" else v >= target
        where = "extrapolated" if name in long_only else scope
        out.append({"env": env_id, "policy": name, "target": f"{op} {target:g}",
                    "value": round(v, 2), "pass": bool(ok),
                    "scope": where if version != 0 else "v0 (targets are for v1)"})
    return out


def render_tables(envs: list[str], results: dict, meta: dict) -> str:
    names: list[str] = []
    for e in envs:
        for n in results[e]:
            if n not in names:
                names.append(n)
    w0 = max(len(n) for n in [*names, "policy"]) + 2
    cols = [short(e) for e in envs]
    cw = max(16, *(len(c) + 2 for c in cols))
    lines = ["Normalized score (mean [95% CI] over seeds x episodes; 100 = expert, 0 = random)",
             "policy".ljust(w0) + "".join(c.rjust(cw) for c in cols)]
    for n in names:
        cells = []
        for e in envs:
            r = results[e].get(n)
            if r is None:
                cells.append("-".rjust(cw))
                continue
            lo, hi = r["normalized_score_ci"]
            cells.append(f"{r['normalized_score']:.1f} [{lo:.0f},{hi:.0f}]".rjust(cw))
        lines.append(n.ljust(w0) + "".join(cells))
    for e in envs:
        metric_names: list[str] = []
        for r in results[e].values():
            metric_names += [m for m in r["metrics"] if m not in metric_names]
        lines += ["", f"{e}: per-line metrics (means; qa over question turns)",
                  "policy".ljust(w0) + "score".rjust(8) + "".join(m.rjust(14) for m in
                                                                   metric_names)]
        for n, r in results[e].items():
            vals = "".join(("-" if r["metrics"].get(m) is None else
                            f"{r['metrics'][m]:.3f}").rjust(14) for m in metric_names)
            lines.append(n.ljust(w0) + f"{r['normalized_score']:.1f}".rjust(8) + vals)
        em = meta.get(e, {})
        if "expert" in results[e] and "oracle:greedy" in results[e]:
            gap = (results[e]["expert"]["normalized_score"]
                   - results[e]["oracle:greedy"]["normalized_score"])
            lines.append(f"one-step greedy falls short of the expert by {gap:.1f} points")
        if "ceiling" in em:
            c = em["ceiling"]
            lines.append(
                f"scorers trained on {c['train_turns']} expert turns ({c['train_episodes']} "
                "train-persona episodes): " + ", ".join(
                    f"{k} held-out acc {c[k]['val_acc']:.3f}" for k in
                    ("learn:candidatewise", "learn:flat") if k in c))
        if "three_rule" in em:
            t = em["three_rule"]
            lines.append(f"three_rule: {t['fixed_phrases']} fixed phrases (offered in >= "
                         f"{100 * t['freq']:g}% of {t['turns']} train turns)")
        audit = AUDIT_V0.get(e)
        if audit:
            lines.append("v0 audit reported: " + ", ".join(f"{k} {v}" for k, v in audit.items()))
    checks = [c for e in envs for c in meta.get(e, {}).get("checks", [])]
    if checks:
        lines += ["", "Issue-10 targets"]
        for c in checks:
            mark = "PASS" if c["pass"] else "FAIL"
            lines.append(f"  {mark}  {short(c['env']):<18} {c['policy']:<26} {c['value']:>8.1f} "
                         f"{c['target']:<8}  ({c['scope']})")
    return "\n".join(lines)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description="Shortcut table: privileged partial oracles, single-rule heuristics and a "
                    "learnable ceiling through the official evaluation (issue 10).",
        epilog="Policies: " + ", ".join(ALL_NAMES) + ". See the module docstring for each.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--envs", default=None,
                   help="comma-separated ids (persona_gym/ optional; a family without -vN means "
                        "its newest version); default: the newest version of every discrete id")
    p.add_argument("--version", type=int, default=None,
                   help="run version N of every discrete id (ignored with --envs)")
    p.add_argument("--episodes", type=int, default=100, help="evaluation episodes per seed")
    p.add_argument("--seeds", default="0,1,2", help="comma-separated evaluation seeds")
    p.add_argument("--policies", default=None,
                   help="comma-separated names or globs (e.g. 'oracle:*,h:*,expert'); "
                        "default: all")
    p.add_argument("--recent", type=int, default=4, help="window N of oracle:recentN")
    p.add_argument("--fixed-freq", type=float, default=0.005,
                   help="three_rule: a text offered in at least this fraction of calibration "
                        "turns is a fixed phrase")
    p.add_argument("--calib-turns", type=int, default=6000,
                   help="three_rule: train-split turns to count fixed phrases over")
    p.add_argument("--no-train", action="store_true", help="skip the learnable ceiling")
    p.add_argument("--train-turns", type=int, default=20_000,
                   help="expert turns on train personas for the scorers")
    p.add_argument("--explore", type=float, default=0.15,
                   help="while collecting, follow a random reply with this probability (labels "
                        "stay the expert's), so the data covers turns after slips")
    p.add_argument("--epochs", type=int, default=15, help="training epochs of each scorer")
    p.add_argument("--hidden", type=int, default=256, help="hidden width of both MLPs")
    p.add_argument("--batch-size", type=int, default=256, help="training batch size")
    p.add_argument("--lr", type=float, default=1e-3, help="Adam learning rate")
    p.add_argument("--torch-seed", type=int, default=0, help="torch and data-split seed")
    p.add_argument("--torch-threads", type=int, default=2,
                   help="torch CPU threads (0: torch's default)")
    p.add_argument("--policy-seed", type=int, default=0,
                   help="tie-break seed of the observation heuristics")
    args = p.parse_args(argv)
    try:
        args.seed_list = [int(s) for s in args.seeds.split(",") if s.strip()]
    except ValueError:
        p.error(f"--seeds must be comma-separated ints, got {args.seeds!r}")
    if not args.seed_list:
        p.error("--seeds: give at least one seed")
    if args.episodes < 1:
        p.error(f"--episodes must be >= 1, got {args.episodes}")
    if args.train_turns < 20:
        p.error(f"--train-turns must be >= 20, got {args.train_turns}")
    if not 0.0 < args.fixed_freq <= 1.0:
        p.error(f"--fixed-freq must be in (0, 1], got {args.fixed_freq}")
    args.patterns = ([s.strip() for s in args.policies.split(",") if s.strip()]
                     if args.policies else None)
    if args.patterns:
        known = [n.replace("{N}", str(args.recent)) for n in ALL_NAMES]
        for pat in args.patterns:
            if not any(fnmatch.fnmatchcase(n, pat) for n in known) and not re.fullmatch(
                    r"h:(max|min)_(fact)?sim_\w+", pat):
                p.error(f"--policies: {pat!r} matches no policy; policies: {', '.join(known)}")
    return args


def main(argv: Sequence[str] | None = None) -> dict:
    args = parse_args(argv)
    start = time.perf_counter()
    envs = resolve_envs(args.envs, args.version)
    log(f"shortcuts: {', '.join(envs)}; {len(args.seed_list)} seeds x {args.episodes} episodes")
    results: dict[str, dict[str, dict]] = {}
    meta: dict[str, dict] = {}
    for env_id in envs:
        t_env = time.perf_counter()
        meta[env_id] = {}
        try:
            suite = build_suite(env_id, args, args.patterns, meta[env_id])
        except BenchAssumptionError as exc:
            raise SystemExit(f"bench/shortcuts.py: {exc}") from None
        results[env_id] = {}
        for pol in suite:
            t0 = time.perf_counter()
            try:
                res = evaluate(env_id, pol, episodes=args.episodes, seeds=args.seed_list)
            except BenchAssumptionError as exc:
                raise SystemExit(f"bench/shortcuts.py: {exc}") from None
            results[env_id][pol.name] = summarize_result(res)
            log(f"  {short(env_id)} {pol.name}: {res['normalized_score']:.1f} "
                f"({time.perf_counter() - t0:.1f} s)")
        scores = {n: r["normalized_score"] for n, r in results[env_id].items()}
        meta[env_id]["checks"] = checks_for(env_id, scores)
        if "expert" in scores and "oracle:greedy" in scores:
            meta[env_id]["greedy_gap"] = round(scores["expert"] - scores["oracle:greedy"], 3)
        meta[env_id]["seconds"] = round(time.perf_counter() - t_env, 1)
        log(f"{env_id}: done in {meta[env_id]['seconds']:.0f} s")
    print(render_tables(envs, results, meta))
    out = {
        "bench": "shortcuts",
        "persona_gym_version": persona_gym.__version__,
        "envs": envs,
        "episodes_per_seed": args.episodes,
        "seeds": args.seed_list,
        "scores": {e: {n: r["normalized_score"] for n, r in results[e].items()} for e in envs},
        "results": results,
        "greedy_gap": {e: meta[e]["greedy_gap"] for e in envs if "greedy_gap" in meta[e]},
        "ceiling": {e: meta[e]["ceiling"] for e in envs if "ceiling" in meta[e]},
        "three_rule": {e: meta[e]["three_rule"] for e in envs if "three_rule" in meta[e]},
        "judge_check": {e: meta[e]["judge_check"] for e in envs if "judge_check" in meta[e]},
        "checks": [c for e in envs for c in meta[e]["checks"]],
        "checks_failed": sum(not c["pass"] for e in envs for c in meta[e]["checks"]
                             if c["scope"] == "issue"),
        "audit_v0": {e: AUDIT_V0[e] for e in envs if e in AUDIT_V0},
        "config": {k: v for k, v in vars(args).items() if k not in ("seed_list", "patterns")},
        "reference_policies": list(POLICIES),
        "seconds": round(time.perf_counter() - start, 1),
    }
    print(json.dumps(out))
    return out


if __name__ == "__main__":
    main()
