"""Candidate-wise networks: one shared scorer over ``[context, candidate]`` for every candidate.

A reviewer reads each candidate against the conversation and keeps the best; a learner should
have the same shape. :class:`CandidateScorer` takes the two halves of an observation that
``encoder.split(obs)`` gives (the shared context ``[B, C]`` and one block per candidate
``[B, K, D]``) and returns one score per candidate ``[B, K]``; a softmax over them is a policy,
an argmax an action, and read as values they are a Q-function over the candidates.

On task v1 observations it also compares each candidate's **fact codes** with the context's,
slot by slot (persona, the agent's own earlier lines, the partner's line: the dot product of
two codes is 1 for the same value and near 0 for another value of that relation), and adds a
learned bilinear term between the candidate's codes and the persona's and memory's (for
contradictions across relations, such as "vegan" against "steak"). Without those comparisons a
plain MLP over the raw blocks must discover per bucket which values answer the same question
and generalises poorly to unseen personas (bench/shortcuts.py measures both).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn


class CandidateScorer(nn.Module):
    """Scores each candidate with one MLP over ``[context, candidate, fact comparisons]``.

    ``context_dim`` and ``candidate_dim`` are the widths ``encoder.split`` gives; ``facts`` is
    the encoder's :class:`~persona_gym.encoders.FactCoder` (``None`` for observations without
    fact blocks: task v0, where the network is the plain candidate-wise MLP).
    """

    def __init__(self, context_dim: int, candidate_dim: int, facts: Any = None,
                 hidden: int = 256) -> None:
        super().__init__()
        self.f = 0 if facts is None else int(facts.size)
        self.codes = 0 if facts is None else int(facts.codes_size)
        self.code_dim = 1 if facts is None else int(facts.code_dim)
        slots = self.codes // self.code_dim
        extra_ctx = 3 * slots if self.f else 0
        extra_cand = 4 * slots if self.f else 0
        self.mlp = nn.Sequential(
            nn.Linear(context_dim + extra_ctx + candidate_dim + extra_cand, hidden), nn.ReLU(),
            nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, 1))
        self.bilinear = nn.Parameter(torch.zeros(self.codes, 2 * self.codes)) if self.f else None

    def forward(self, context: torch.Tensor, candidates: torch.Tensor) -> torch.Tensor:
        b, k = candidates.shape[0], candidates.shape[1]
        parts_ctx, parts_cand = [context], [candidates]
        if self.f:
            f, n, c = self.f, self.codes, self.code_dim
            ctx_codes = context[:, -3 * f:].reshape(b, 3, f)[..., :n].reshape(b, 3, n // c, c)
            cand_codes = candidates[..., -f:][..., :n].reshape(b, k, n // c, c)
            agree = torch.einsum("bjrc,bkrc->bkjr", ctx_codes, cand_codes).reshape(b, k, -1)
            parts_ctx.append(ctx_codes.norm(dim=-1).reshape(b, -1))
            parts_cand += [cand_codes.norm(dim=-1), agree]
        ctx = torch.cat(parts_ctx, -1)
        x = torch.cat([ctx[:, None, :].expand(-1, k, -1), *parts_cand], -1)
        score = self.mlp(x).squeeze(-1)
        if self.bilinear is not None:
            n = self.codes
            held = context[:, -3 * self.f:].reshape(b, 3, self.f)[:, :2, :n].reshape(b, 2 * n)
            cand = candidates[..., -self.f:][..., :n]
            score = score + torch.einsum("bkf,fg,bg->bk", cand, self.bilinear, held)
        return score
