"""The reward: consistency pays only when the line is relevant (docs/metrics.md).

For one agent line with scores from the judge and weights ``w`` from the task card::

    consistency = w.p2l * p2l + w.l2l * l2l + w.qa * qa'      (qa' = qa, or 1 where qa is nan)
    reward      = relevance * consistency
                  - w.contradiction * contradiction
                  - w.repetition * repetition

``w.p2l + w.l2l + w.qa = 1``, so a relevant, fully consistent, fresh line earns exactly 1 and the
expert's return equals the horizon. Reciting the persona (parrot) is consistent but irrelevant
and earns 0 (less when it repeats itself); an assistant-voice line contradicts the persona's
implicit ``identity = human`` and is penalised whether or not it is relevant.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from persona_gym.cards import RewardWeights
from persona_gym.judges.symbolic import METRICS, LineScores


def line_reward(s: LineScores, w: RewardWeights) -> float:
    """The reward for one line."""
    qa = 1.0 if math.isnan(s.qa) else s.qa
    consistency = w.p2l * s.p2l + w.l2l * s.l2l + w.qa * qa
    return s.relevance * consistency - w.contradiction * s.contradiction - w.repetition * s.repetition


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
