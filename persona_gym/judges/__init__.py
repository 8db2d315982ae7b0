"""Consistency judges. ``symbolic`` is exact on the world's own lines (it reads asserted facts).

All metric formulas are defined in ``persona_gym.judges.symbolic`` and summarised in
docs/metrics.md.
"""

from persona_gym.judges.symbolic import METRICS, LineScores, SymbolicJudge

__all__ = ["METRICS", "LineScores", "SymbolicJudge"]
