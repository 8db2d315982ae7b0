"""Candidate-wise networks: one shared scorer over ``[context, candidate]`` for every candidate.

A reviewer reads each candidate against the conversation and keeps the best; a learner should
have the same shape. :class:`CandidateScorer` reads a flat observation, cuts it the way
``encoder.split(obs)`` does (the shared context and one block per candidate, described by a
:class:`Layout`) and returns one score per candidate ``[B, K]``: a softmax over them is a
policy, an argmax an action, and read as values they are a Q-function over the candidates.
Permuting the candidates permutes the scores (tests check it), so nothing is learned about
candidate *positions*, which carry no information.

On task v1 observations it also compares each candidate's **fact codes** with the context's,
slot by slot (persona, the agent's own earlier lines, the partner's line: the dot product of
two codes is 1 for the same value and near 0 for another value of that relation), and adds a
learned bilinear term between the candidate's codes and the persona's and memory's (for
contradictions across relations, such as "vegan" against "steak"). Without those comparisons a
plain MLP over the raw blocks must discover per bucket which values answer the same question
and generalises poorly to unseen personas (bench/shortcuts.py measures both).

**d3rlpy.** :class:`CandidateEncoderFactory` (registered as ``"candidatewise"``) is passed as
``encoder_factory=`` to any d3rlpy algorithm config:

* discrete variants: the encoder's output *is* the K candidate scores. d3rlpy puts a
  ``Linear(K, K)`` head on every encoder (Q-functions and categorical policies alike), which
  would mix candidates by position; :func:`tie_heads` makes those heads the identity and
  freezes them, so Q-values and policy logits are the scorer's own (the baselines' training
  path calls it after building; call it yourself after ``algo.build_with_dataset``).
* continuous variants (the action is a candidate *descriptor*, docs in
  :mod:`persona_gym.envs.variants`): actors and value functions read a permutation-invariant
  summary (the softmax-weighted candidate features and descriptors, so an actor can output the
  best candidate's descriptor); critics ``Q(s, a)`` soft-assign the action to the candidates by
  descriptor cosine (the env decodes an action to the most similar candidate) and read that
  candidate's features and score.

:class:`persona_gym.online.CandidateFeatures` gives Stable-Baselines3 the same scorer.
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from persona_gym.quiet import silence_gym_banner

silence_gym_banner()  # d3rlpy imports the old gym package, which prints a banner
from d3rlpy.models.encoders import EncoderFactory, register_encoder_factory  # noqa: E402

ASSIGN_SHARPNESS = 20.0
"""Inverse temperature of a continuous critic's soft assignment of an action to the candidates
(by descriptor cosine; the env decodes to the argmax, and distinct descriptors have cosines well
below 1, so 20 makes the assignment nearly one-hot for logged actions)."""


@dataclass(frozen=True, eq=False)
class Layout:
    """Where the context and each candidate's block lie in a flat observation.

    Built from an env's encoder with :meth:`of_env` (the positions are ``encoder.split`` applied
    to the column indices, so the two can never disagree).
    """

    width: int
    """Observation width."""
    k: int
    """Number of candidates."""
    context_index: np.ndarray
    """``[C]`` columns of the shared context."""
    candidate_index: np.ndarray
    """``[K, D]`` columns of each candidate's block."""
    fact_offset: int
    """Where a candidate block's fact codes start (``-1``: no fact blocks, task v0)."""
    fact_size: int
    """Width of one fact block (0 without)."""
    codes_size: int
    """Entries of a fact block that are relation codes (the rest are act/move marks)."""
    code_dim: int
    """Entries per relation code."""
    descriptor_dim: int
    """Width of a candidate's action descriptor at the end of its block (continuous variant;
    0 for discrete)."""

    @classmethod
    def of_env(cls, env: Any) -> Layout:
        """The layout of an env's observations (an env, or an env id)."""
        if isinstance(env, str):
            return _layout_of_id(env)
        base = env.unwrapped
        enc = base.encoder
        width = int(base.observation_space.shape[0])
        ctx, cand = enc.split(np.arange(width, dtype=np.int64))
        facts = enc.facts
        descriptor = (width - enc.size) // enc.k
        return cls(width=width, k=enc.k, context_index=ctx, candidate_index=cand,
                   fact_offset=enc.dim + enc.blocks if facts is not None else -1,
                   fact_size=0 if facts is None else facts.size,
                   codes_size=0 if facts is None else facts.codes_size,
                   code_dim=1 if facts is None else facts.code_dim,
                   descriptor_dim=descriptor)

    def check(self, observation_shape: Any) -> None:
        """Raise a clear error when observations of ``observation_shape`` are not this
        layout's (a network built for one env used on another)."""
        shape = tuple(observation_shape)
        if shape != (self.width,):
            raise ValueError(
                f"observations of shape {shape} do not match this env's layout (width "
                f"{self.width}); build the candidate-wise network for the env the data comes "
                "from (CandidateEncoderFactory(env=...))")


@functools.lru_cache(maxsize=32)
def _layout_of_id(env_id: str) -> Layout:
    import gymnasium as gym

    env = gym.make(env_id)
    try:
        return Layout.of_env(env)
    finally:
        env.close()


def _norms(x: torch.Tensor) -> torch.Tensor:
    """Euclidean norm over the last axis, written with ops every ONNX runtime has."""
    return torch.sqrt((x * x).sum(-1) + 1e-12)


class CandidateScorer(nn.Module):
    """One MLP over ``[context, candidate, fact comparisons]``, applied to every candidate.

    ``forward(obs [B, W]) -> scores [B, K]``; :meth:`features` also returns each candidate's last
    hidden layer ``[B, K, hidden]``. The first layer is split into a context part, computed once
    per observation, and a candidate part (the same function as one layer over the
    concatenation, K times cheaper on the context). Written with ONNX-standard operators only,
    so policies built on it export as checked artifacts.
    """

    def __init__(self, layout: Layout, hidden: int = 256) -> None:
        super().__init__()
        self.layout = layout
        self.register_buffer("ctx_idx", torch.as_tensor(layout.context_index), persistent=False)
        self.register_buffer("cand_idx", torch.as_tensor(layout.candidate_index),
                             persistent=False)
        slots = layout.codes_size // layout.code_dim if layout.fact_size else 0
        c_dim = len(layout.context_index) + 3 * slots
        k_dim = layout.candidate_index.shape[1] + 4 * slots
        self.hidden = hidden
        self.ctx_in = nn.Linear(c_dim, hidden)
        self.cand_in = nn.Linear(k_dim, hidden, bias=False)
        self.body = nn.Sequential(nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU())
        self.out = nn.Linear(hidden, 1)
        n = layout.codes_size
        self.bilinear = nn.Parameter(torch.zeros(n, 2 * n)) if layout.fact_size else None

    def features(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(hidden [B, K, H], scores [B, K])`` for observations ``[B, W]``."""
        lay = self.layout
        ctx = obs[:, self.ctx_idx]
        cand = obs[:, self.cand_idx]
        parts_ctx, parts_cand = [ctx], [cand]
        if lay.fact_size:
            f, n, c, o = lay.fact_size, lay.codes_size, lay.code_dim, lay.fact_offset
            ctx_codes = ctx[:, -3 * f:].reshape(-1, 3, f)[..., :n].reshape(-1, 3, n // c, c)
            cand_codes = cand[..., o : o + n].reshape(-1, lay.k, n // c, c)
            agree = (ctx_codes[:, None] * cand_codes[:, :, None]).sum(-1)  # [B, K, 3, slots]
            parts_ctx.append(_norms(ctx_codes).reshape(-1, 3 * (n // c)))
            parts_cand += [_norms(cand_codes), agree.reshape(-1, lay.k, 3 * (n // c))]
        h = self.ctx_in(torch.cat(parts_ctx, -1))[:, None, :] + self.cand_in(
            torch.cat(parts_cand, -1))
        h = self.body(h)
        score = self.out(h).squeeze(-1)
        if self.bilinear is not None:
            f, n, o = lay.fact_size, lay.codes_size, lay.fact_offset
            held = ctx[:, -3 * f:].reshape(-1, 3, f)[:, :2, :n].reshape(-1, 2 * n)
            mixed = torch.matmul(cand[..., o : o + n], self.bilinear)  # [B, K, 2n]
            score = score + (mixed * held[:, None, :]).sum(-1)
        return h, score

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        return self.features(obs)[1]

    def descriptors(self, obs: torch.Tensor) -> torch.Tensor:
        """The candidates' action descriptors ``[B, K, d]`` (continuous variant)."""
        d = self.layout.descriptor_dim
        return obs[:, self.cand_idx[:, -d:]]


class Greedy(nn.Module):
    """The greedy policy of any module mapping observations to K scores (argmax), for
    :func:`persona_gym.leaderboard.export_onnx`: ``export_onnx(Greedy(scorer), width, path)``."""

    def __init__(self, scores: nn.Module) -> None:
        super().__init__()
        self.scores = scores

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        return self.scores(obs).argmax(-1)


# -- d3rlpy -------------------------------------------------------------------------------------


class CandidateEncoder(nn.Module):
    """d3rlpy encoder for discrete variants: observations -> the K candidate scores."""

    def __init__(self, layout: Layout, hidden: int) -> None:
        super().__init__()
        self.scorer = CandidateScorer(layout, hidden)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.scorer(x)


class PooledCandidateEncoder(nn.Module):
    """d3rlpy encoder for continuous actors and value functions: a permutation-invariant
    summary ``[softmax-weighted features (H), softmax-weighted descriptor (d), max score]``."""

    def __init__(self, layout: Layout, hidden: int) -> None:
        super().__init__()
        self.scorer = CandidateScorer(layout, hidden)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, s = self.scorer.features(x)
        w = torch.softmax(s, -1)[..., None]
        desc = self.scorer.descriptors(x)
        return torch.cat([(w * h).sum(1), (w * desc).sum(1), s.max(-1, keepdim=True)[0]], -1)


class CandidateEncoderWithAction(nn.Module):
    """d3rlpy encoder for critics ``Q(s, a)``: the action picks candidates softly (a one-hot
    for discrete actions; descriptor cosine x :data:`ASSIGN_SHARPNESS` for continuous ones) and
    the output is the picked candidates' ``[features (H), score, best cosine]``."""

    def __init__(self, layout: Layout, hidden: int, discrete_action: bool) -> None:
        super().__init__()
        self.scorer = CandidateScorer(layout, hidden)
        self.discrete_action = discrete_action

    def forward(self, x: torch.Tensor, action: torch.Tensor) -> torch.Tensor:
        h, s = self.scorer.features(x)
        if self.discrete_action:
            w = action.reshape(-1, s.shape[-1])
            best = torch.ones_like(s[:, :1])
        else:
            desc = self.scorer.descriptors(x)
            a = action / _norms(action)[:, None]
            cos = (desc * a[:, None, :]).sum(-1)
            w = torch.softmax(ASSIGN_SHARPNESS * cos, -1)
            best = cos.max(-1, keepdim=True)[0]
        return torch.cat([(w[..., None] * h).sum(1), (w * s).sum(-1, keepdim=True), best], -1)


@dataclasses.dataclass()
class CandidateEncoderFactory(EncoderFactory):  # type: ignore[misc]
    """d3rlpy encoder factory for persona_gym observations (``encoder_factory=`` of any algorithm
    config). ``env`` is the env id whose observation layout the data has; ``hidden`` the
    scorer's width. Discrete algorithms also need :func:`tie_heads` after building."""

    env: str = "persona_gym/OpenChat-v1"
    hidden: int = 256

    def layout(self, observation_shape: Any) -> Layout:
        layout = Layout.of_env(self.env)
        layout.check(observation_shape)
        return layout

    def create(self, observation_shape: Any) -> nn.Module:
        layout = self.layout(observation_shape)
        if layout.descriptor_dim:
            return PooledCandidateEncoder(layout, self.hidden)
        return CandidateEncoder(layout, self.hidden)

    def create_with_action(self, observation_shape: Any, action_size: int,
                           discrete_action: bool = False) -> nn.Module:
        return CandidateEncoderWithAction(self.layout(observation_shape), self.hidden,
                                          discrete_action)

    @staticmethod
    def get_type() -> str:
        return "candidatewise"


register_encoder_factory(CandidateEncoderFactory)


def tie_heads(impl: Any) -> int:
    """Make every d3rlpy head over a discrete :class:`CandidateEncoder` the identity and freeze
    it (targets included), so Q-values and logits are the candidate scores themselves; returns
    how many heads were tied. Call after ``algo.build_with_dataset(...)`` and before ``fit``."""
    seen: set[int] = set()
    tied = 0
    for module in _modules_of(impl):
        for m in module.modules():
            if id(m) in seen:
                continue
            seen.add(id(m))
            enc, fc = getattr(m, "_encoder", None), getattr(m, "_fc", None)
            if isinstance(enc, CandidateEncoder) and isinstance(fc, nn.Linear):
                with torch.no_grad():
                    fc.weight.copy_(torch.eye(fc.out_features, fc.in_features))
                    fc.bias.zero_()
                fc.weight.requires_grad_(False)
                fc.bias.requires_grad_(False)
                tied += 1
    return tied


def _modules_of(impl: Any) -> list[nn.Module]:
    """The torch modules a d3rlpy implementation holds (its ``modules`` dataclass)."""
    holder = getattr(impl, "modules", None)
    if holder is None:
        raise ValueError("build the algorithm first (algo.build_with_dataset(dataset))")
    out = []
    for f in dataclasses.fields(holder):
        value = getattr(holder, f.name)
        if isinstance(value, nn.Module):
            out.append(value)
    return out
