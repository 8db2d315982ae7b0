"""The other fixes for persona drift, run on the same envs and protocol as the offline-RL
baselines (issue 15; docs/levers.md):

* :mod:`persona_gym.levers.memory` — test-time persona optimization: a policy wrapper that keeps
  an evolving persona (what it holds, built from what it reads) and checks every reply against
  it;
* :mod:`persona_gym.levers.variance` — run-to-run variance: the same personas replayed with
  different policy randomness, within- and between-persona variance of every metric;
* :mod:`persona_gym.levers.assistant_axis` — the Assistant axis of a transformers agent: the
  direction in one layer's hidden states from persona replies to assistant replies, the
  projection by turn and partner move, and activation capping along it.

Consistency is not capability: every report here prints ``capability`` beside ``p2l``, ``l2l``
and ``qa``.
"""

from persona_gym.levers.memory import (
    MEMORY_PREFIX,
    MemoryObservationPolicy,
    MemoryReferencePolicy,
    ObservationReader,
    PersonaMemory,
    Reading,
    TextReader,
    with_memory,
)
from persona_gym.levers.variance import VarianceReport, persona_runs, variance_components

__all__ = [
    "MEMORY_PREFIX",
    "MemoryObservationPolicy",
    "MemoryReferencePolicy",
    "ObservationReader",
    "PersonaMemory",
    "Reading",
    "TextReader",
    "VarianceReport",
    "persona_runs",
    "variance_components",
    "with_memory",
]
