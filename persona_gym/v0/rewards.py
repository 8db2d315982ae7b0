"""v0 (frozen): the reward: consistency pays only when the line is relevant.

``relevance * (w.p2l p2l + w.l2l l2l + w.qa qa) - w.contradiction contradiction -
w.repetition repetition``, with the task card's weights; docs/metrics.md defines it with the
metrics and states its consequences (a relevant, consistent, fresh line earns exactly 1).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from persona_gym.cards import RewardWeightsV0 as RewardWeights
from persona_gym.v0.judge import METRICS, LineScores


def line_reward(s: LineScores, w: RewardWeights) -> float:
    """The reward for one line."""
    qa = 1.0 if math.isnan(s.qa) else s.qa
    consistency = w.p2l * s.p2l + w.l2l * s.l2l + w.qa * qa
    penalty = w.contradiction * s.contradiction + w.repetition * s.repetition
    return s.relevance * consistency - penalty


def episode_metrics(lines: Sequence[LineScores], rewards: Sequence[float]) -> dict[str, float]:
    """Per-episode means of every metric plus ``return`` and ``length``."""
    out: dict[str, float] = {}
    for name in METRICS:
        values = np.array([getattr(s, name) for s in lines], dtype=np.float64)
        ok = values[~np.isnan(values)]
        out[name] = float(ok.mean()) if ok.size else math.nan
    out["return"] = float(np.sum(rewards))
    out["length"] = float(len(lines))
    return out
