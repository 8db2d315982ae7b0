"""Reference policies (DESIGN.md §7) and the interface dataset loggers reuse.

A reference policy is *privileged*: it reads the turn's ground truth (:class:`TurnView`: the
persona, the partner's move and every candidate with its generator label) and returns the index
of the candidate it picks. Variants turn that index into their own action (the index itself for
the discrete variant). Its randomness comes only from the generator passed to :meth:`reset`, so
``(env seed, policy seed)`` fixes a conversation bit for bit.

=============  =================================================================================
policy         behaviour
=============  =================================================================================
random         uniform over the candidates (defines normalized score 0)
parrot         recites the persona whatever is asked
assistant      always drifts to an assistant voice
drift          LLM-like: consistent early, more contradictions as the conversation goes on and
               right after emotional or meta turns
expert         the oracle: always the consistent reply (defines normalized score 100)
=============  =================================================================================

Example::

    policy = make_policy("expert")
    obs, info = env.reset(seed=0)
    policy.reset(np.random.default_rng(0))
    action = policy.act(env.unwrapped.turn_view())
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar, Protocol, runtime_checkable

import numpy as np

from persona_gym.envs.core import TurnView


class ReferencePolicy(ABC):
    """Picks a candidate index from a :class:`TurnView`."""

    name: ClassVar[str]
    description: ClassVar[str]

    def __init__(self) -> None:
        self.rng = np.random.default_rng(0)

    def reset(self, rng: np.random.Generator) -> None:
        """Start an episode, drawing all randomness from ``rng``."""
        self.rng = rng

    @abstractmethod
    def act(self, view: TurnView) -> int:
        """Index of the chosen candidate."""

    def _first(self, view: TurnView, *kinds: str) -> int | None:
        """Index of a candidate of the first available kind in ``kinds`` (random among ties)."""
        for kind in kinds:
            idx = [i for i, c in enumerate(view.candidates) if c.kind == kind]
            if idx:
                return idx[int(self.rng.integers(len(idx)))]
        return None


class RandomPolicy(ReferencePolicy):
    name = "random"
    description = "uniform over the candidate replies (normalized score 0)"

    def act(self, view: TurnView) -> int:
        return int(self.rng.integers(len(view.candidates)))


class ExpertPolicy(ReferencePolicy):
    name = "expert"
    description = "oracle: always the consistent in-character reply (normalized score 100)"

    def act(self, view: TurnView) -> int:
        i = self._first(view, "consistent")
        assert i is not None, "every turn offers a consistent candidate"
        return i


class ParrotPolicy(ReferencePolicy):
    name = "parrot"
    description = "recites persona sentences whatever the partner says"

    def act(self, view: TurnView) -> int:
        i = self._first(view, "parrot")
        return i if i is not None else int(self.rng.integers(len(view.candidates)))


class AssistantPolicy(ReferencePolicy):
    name = "assistant"
    description = "always drifts to a helpful-assistant voice ('As an AI, ...')"

    def act(self, view: TurnView) -> int:
        i = self._first(view, "assistant")
        return i if i is not None else int(self.rng.integers(len(view.candidates)))


class DriftPolicy(ReferencePolicy):
    """Consistent early, drifting later: P(slip) = base + slope * turn / horizon, plus a jump
    after emotional or meta moves, where a slip there is the assistant voice."""

    name = "drift"
    description = "LLM-like: consistent early, slips more as the conversation goes on"
    base, slope, pressure = 0.05, 0.6, 0.35

    def act(self, view: TurnView) -> int:
        p = self.base + self.slope * view.turn / max(view.horizon - 1, 1)
        pressured = view.move.kind in ("emotional", "meta")
        if pressured:
            p += self.pressure
        if self.rng.random() >= p:
            i = self._first(view, "consistent")
        elif pressured:
            i = self._first(view, "assistant", "contradict_persona", "contradict_history")
        elif self.rng.random() < 0.75:
            i = self._first(view, "contradict_history", "contradict_persona", "contradict_other")
        else:
            i = self._first(view, "contradict_other", "evasive", "assistant")
        return i if i is not None else int(self.rng.integers(len(view.candidates)))


@runtime_checkable
class ObservationPolicy(Protocol):
    """A policy that acts on observations alone (learned agents, LLMs): what a submission is."""

    name: str

    def reset(self, rng: np.random.Generator) -> None:
        """Start an episode."""
        ...

    def act(self, obs: Any) -> Any:
        """The action for ``obs`` in the env's action space."""
        ...


POLICIES: dict[str, type[ReferencePolicy]] = {
    p.name: p for p in (RandomPolicy, ParrotPolicy, AssistantPolicy, DriftPolicy, ExpertPolicy)
}


def load_policy(spec: str) -> ReferencePolicy | ObservationPolicy:
    """A reference policy by name, an ONNX policy file (``.onnx``, e.g. a baseline's export;
    checked by :func:`persona_gym.artifacts.check_onnx` before it runs), or ``hf:PATH`` for a
    local causal LM (text variants). TorchScript and pickle files are refused
    (:class:`persona_gym.artifacts.ArtifactError`, a ValueError naming how to convert): they are
    programs, and a policy file must be data (docs/security.md)."""
    from persona_gym import artifacts

    if spec.endswith(".onnx"):
        return artifacts.OnnxPolicy(spec)
    if spec.lower().endswith(artifacts.PROGRAM_SUFFIXES):
        artifacts.refuse_programs(spec)
    if spec.startswith("hf:"):
        from persona_gym.agents import HFTextPolicy

        return HFTextPolicy(spec[3:])
    return make_policy(spec)


def make_policy(name: str) -> ReferencePolicy:
    """A reference policy by name (``random``, ``parrot``, ``assistant``, ``drift``, ``expert``)."""
    try:
        return POLICIES[name]()
    except KeyError:
        raise ValueError(
            f"unknown policy {name!r}; reference policies: {', '.join(POLICIES)}"
        ) from None
