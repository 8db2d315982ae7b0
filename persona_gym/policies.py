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
    """A model of LLM persona drift (task v1): consistent early, slipping more as the
    conversation grows and as emotional or meta pressure accumulates.

    At turn ``t`` (0-based, absolute: a long conversation drifts further than a short one)::

        pressure_t = decay * pressure_{t-1} + push * [move_t is emotional or meta]
        p_slip     = min(cap, base + slope * t + pressure_t)

    A slip under pressure is the assistant voice with probability ``assistant_share`` and a
    persona contradiction otherwise; any other slip contradicts the agent's own earlier lines
    when it can (``forget_share``: LLMs lose track of what they improvised before they lose
    their persona), the persona otherwise, and is an evasion the rest of the time. Parameters
    are class attributes. On v0 ids it keeps v0's rule (``p = 0.05 + 0.6 t / (horizon - 1)``
    plus 0.35 on emotional or meta turns), so v0 datasets rebuild bit for bit.
    """

    name = "drift"
    description = "LLM-like: consistent early, slips more as the conversation goes on"
    base, slope, push, decay, cap = 0.05, 0.02, 0.15, 0.85, 0.8
    assistant_share, forget_share = 0.5, 0.75

    def reset(self, rng: np.random.Generator) -> None:
        super().reset(rng)
        self.pressure = 0.0

    def act(self, view: TurnView) -> int:
        if view.version == 0:
            return self._act_v0(view)
        pressured = view.move.kind in ("emotional", "meta")
        self.pressure = self.decay * getattr(self, "pressure", 0.0) + (
            self.push if pressured else 0.0)
        p = min(self.cap, self.base + self.slope * view.turn + self.pressure)
        if self.rng.random() >= p:
            i = self._first(view, "consistent")
        elif pressured:
            i = (self._first(view, "assistant") if self.rng.random() < self.assistant_share
                 else self._first(view, "contradict_persona", "contradict_history"))
        elif self.rng.random() < self.forget_share:
            i = self._first(view, "contradict_history", "contradict_persona")
        else:
            i = self._first(view, "evasive", "contradict_persona")
        return i if i is not None else int(self.rng.integers(len(view.candidates)))

    def _act_v0(self, view: TurnView) -> int:
        p = 0.05 + 0.6 * view.turn / max(view.horizon - 1, 1)
        pressured = view.move.kind in ("emotional", "meta")
        if pressured:
            p += 0.35
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


def load_policy(spec: str, env: str | None = None,
                hf_options: dict[str, Any] | None = None) -> ReferencePolicy | ObservationPolicy:
    """A reference policy by name, an ONNX policy file (``.onnx``, e.g. a baseline's export;
    checked by :func:`persona_gym.artifacts.check_onnx` before it runs), or ``hf:PATH`` for a
    local causal LM (text variants). TorchScript and pickle files are refused
    (:class:`persona_gym.artifacts.ArtifactError`, a ValueError naming how to convert): they are
    programs, and a policy file must be data (docs/security.md).

    ``memory:SPEC`` (or ``memory+rerank:SPEC``) puts any of those behind a test-time persona
    memory (:mod:`persona_gym.levers.memory`); ``env``, the env id, is needed when the wrapped
    policy acts on flat observations. ``hf_options`` are keyword arguments of
    :class:`persona_gym.agents.HFTextPolicy` (e.g. ``{"temperature": 0.7}``) for ``hf:`` specs.
    """
    from persona_gym import artifacts
    from persona_gym.levers.memory import split_spec, with_memory

    wrapped = split_spec(spec)
    if wrapped is not None:
        mode, inner = wrapped
        if not inner:
            raise ValueError(f"{spec!r} names no policy to wrap; e.g. memory:drift")
        return with_memory(load_policy(inner, env, hf_options), env, mode)
    if hf_options and not spec.startswith("hf:"):
        raise ValueError(f"options {sorted(hf_options)} apply to hf:PATH policies only, "
                         f"not {spec!r}")
    if spec.endswith(".onnx"):
        return artifacts.OnnxPolicy(spec)
    if spec.lower().endswith(artifacts.PROGRAM_SUFFIXES):
        artifacts.refuse_programs(spec)
    if spec.startswith("hf:"):
        from persona_gym.agents import HFTextPolicy

        return HFTextPolicy(spec[3:], **(hf_options or {}))
    return make_policy(spec)


def make_policy(name: str) -> ReferencePolicy:
    """A reference policy by name (``random``, ``parrot``, ``assistant``, ``drift``, ``expert``)."""
    try:
        return POLICIES[name]()
    except KeyError:
        raise ValueError(
            f"unknown policy {name!r}; reference policies: {', '.join(POLICIES)}"
        ) from None
