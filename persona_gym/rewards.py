"""The reward: full pay only for a relevant, informative, consistent line; every contradiction
costs, whatever the move.

With the task card's weights ``w`` (docs/metrics.md defines it with the metrics and states the
invariants its tests check over every move type)::

    contradiction                     -> -w.contradiction
    asserts something, relevant       -> 1 - w.wrong_answer * (1 - qa)     (qa = 1 if undefined)
    asserts nothing                   -> w.idle                            (a dodge, a pleasantry)
    asserts something, irrelevant     -> -w.irrelevant                     (a recitation)
    minus w.repetition for a verbatim repeat; minus w.leave when the partner ends the
    conversation after this line.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from persona_gym.cards import RewardWeights
from persona_gym.dialogue import CONSISTENCY_METRICS, METRICS, LineScores


def line_reward(s: LineScores, w: RewardWeights, left: bool = False) -> float:
    """The reward for one line (``left``: the partner ended the conversation after it)."""
    if s.contradiction:
        r = -w.contradiction
    elif s.asserted:
        if s.relevance:
            r = 1.0 - (0.0 if math.isnan(s.qa) else w.wrong_answer * (1.0 - s.qa))
        else:
            r = -w.irrelevant
    else:
        r = w.idle
    return r - w.repetition * s.repetition - (w.leave if left else 0.0)


def episode_metrics(lines: Sequence[LineScores], rewards: Sequence[float]) -> dict[str, float]:
    """Per-episode means of every metric plus ``return`` and ``length``.

    ``p2l``, ``l2l`` and ``qa`` are means over the lines where they are defined (lines that
    assert something; for ``qa``, answers to questions), ``nan`` if there is none; ``asserted``
    is the share of lines that assert something, reported beside them.
    """
    out: dict[str, float] = {}
    columns = np.array([[getattr(s, name) for s in lines] for name in METRICS], dtype=np.float64)
    for name, values in zip(METRICS, columns, strict=True):
        if name in CONSISTENCY_METRICS:
            values = values[~np.isnan(values)]
        out[name] = float(values.mean()) if values.size else math.nan
    out["return"] = float(np.sum(rewards))
    out["length"] = float(len(lines))
    return out
