"""The Assistant axis of a transformers agent, and activation capping along it.

Emotional and self-reflective turns are said to pull a model toward its default assistant
voice. For a local causal LM playing a text variant (:class:`persona_gym.agents.HFTextPolicy`)
this module measures that pull in the model's own hidden states and offers one test-time
intervention against it.

**The direction.** ``layer`` ``l`` means the residual stream after ``l`` transformer blocks (the
output of block ``l - 1``; 1 <= l <= the number of blocks). A reply's *state* is the mean of that
stream over the reply's tokens, read with the reply appended to the agent's own prompt for the
turn. Contrast sets come from the text env's candidate replies (:func:`contrast_sets`): at each
turn of conversations on the **train** personas, the in-character reply and the assistant-voice
reply to the same prompt. The *assistant direction* is the unit difference of the two sets'
mean states (assistant minus persona): a projection on it says how assistant-like a state is.
Building the contrast sets reads the generator's labels of the candidates — that is the
analyst's fitting step, on train personas, never the agent acting.

**Monitoring.** :func:`axis_rollout` plays the protocol's episodes (test personas, the
evaluation seeds) and records, every turn, the projection of the reply the agent gave, with the
turn index and the partner's move kind (from ``info["move"]``, after the step): does it rise on
emotional and meta turns?

**Capping.** :class:`CappedPolicy` runs the agent with a forward hook on block ``l - 1`` that
caps the projection of every position's state from above::

    h <- h - max(0, h . v - cap) v

States at or below the cap pass through bit for bit, so the reply changes only when some
position's projection exceeds the cap (``capped_positions`` counts them). The cap is a number,
or a quantile of the persona contrast set's projections (:meth:`AssistantAxis.cap_at`).
Capping keeps the persona; the axis's original use caps the other way, to keep a model near its
assistant persona — here the direction points to the assistant, and the cap is an upper bound.

Where it stops: the direction is one difference of means in one layer, fit on the world's own
template lines rather than on the model's own assistant-voice replies; a small or untuned model
may barely separate them (:attr:`AssistantAxis.separation` says how well it does on the fit
set and on held-out pairs).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym
import numpy as np

from persona_gym.agents import HFTextPolicy, decoder_layers
from persona_gym.evaluation import (
    DEFAULT_SEEDS,
    Episode,
    check_evaluation_seeds,
    episode_seed,
    protocol_results,
)
from persona_gym.policies import make_policy

FIT_SEED_BASE = 5_000_000
"""Env seeds of the contrast-set conversations (train split; disjoint from evaluation's)."""


@dataclass
class ContrastPair:
    """The in-character and the assistant-voice reply to one turn's prompt."""

    prompt: str
    persona: str
    assistant: str
    move: str


def contrast_sets(env_id: str, policy: HFTextPolicy, pairs: int, split: str = "train",
                  seed: int = FIT_SEED_BASE) -> list[ContrastPair]:
    """``pairs`` contrast pairs from conversations on ``split`` personas (the expert drives the
    conversation; each turn gives the consistent and the assistant candidate for the agent's
    prompt of that turn). Reads candidate labels: a fitting step, not an agent."""
    if pairs < 2:
        raise ValueError(f"pairs must be >= 2, got {pairs}")
    env = gym.make(env_id, split=split)
    base = env.unwrapped
    if not isinstance(env.observation_space, gym.spaces.Dict):
        env.close()
        raise ValueError(f"{env_id} is not a text variant; the Assistant axis is read from an "
                         "LLM agent's prompts (use ...Text-v1)")
    expert = make_policy("expert")
    out: list[ContrastPair] = []
    episode = 0
    try:
        while len(out) < pairs:
            obs, _ = env.reset(seed=seed + episode)
            expert.reset(np.random.default_rng([seed + episode, 1]))
            episode += 1
            done = False
            while not done and len(out) < pairs:
                view = base.turn_view()
                kinds = {c.kind: c.text for c in view.candidates}
                if "consistent" in kinds and "assistant" in kinds:
                    out.append(ContrastPair(policy.build_prompt(obs), kinds["consistent"],
                                            kinds["assistant"], view.move.kind))
                obs, _, term, trunc, _ = env.step(base.action_for(expert.act(view)))
                done = term or trunc
    finally:
        env.close()
    return out


class LayerTap:
    """Forward hook on block ``layer - 1`` of an :class:`HFTextPolicy`'s model: records the
    states it outputs (``record=True``) and/or caps their projection on ``direction``."""

    def __init__(self, policy: HFTextPolicy, layer: int, direction: np.ndarray | None = None,
                 cap: float | None = None, record: bool = False) -> None:
        blocks = decoder_layers(policy.model)
        if isinstance(layer, bool) or not isinstance(layer, int) or not 1 <= layer <= len(blocks):
            raise ValueError(f"layer must be an int in [1, {len(blocks)}] (the residual stream "
                             f"after that many blocks), got {layer!r}")
        if cap is not None and direction is None:
            raise ValueError("capping needs a direction")
        import torch

        self.block = blocks[layer - 1]
        self.cap = cap
        self.record = record
        self.direction = (None if direction is None else torch.as_tensor(
            np.asarray(direction, dtype=np.float32), device=policy.device))
        self.states: list[Any] = []
        self.capped_positions = 0
        self.positions = 0
        self._handle: Any = None

    def _hook(self, module: Any, inputs: Any, output: Any) -> Any:
        hidden = output[0] if isinstance(output, tuple) else output
        if self.cap is not None and self.direction is not None:
            v = self.direction.to(hidden.dtype)
            proj = hidden @ v
            excess = (proj - self.cap).clamp(min=0)
            self.capped_positions += int((excess > 0).sum())
            self.positions += int(proj.numel())
            if bool((excess > 0).any()):
                hidden = hidden - excess[..., None] * v
                output = (hidden, *output[1:]) if isinstance(output, tuple) else hidden
        if self.record:
            self.states.append(hidden.detach())
        return output

    def __enter__(self) -> LayerTap:
        self._handle = self.block.register_forward_hook(self._hook)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._handle is not None:
            self._handle.remove()
            self._handle = None


def reply_state(policy: HFTextPolicy, layer: int, prompt_ids: Any, reply_ids: Any,
                direction: np.ndarray | None = None, cap: float | None = None) -> np.ndarray:
    """Mean state over the reply's tokens at ``layer`` for ``reply_ids`` after ``prompt_ids``
    (``[1, n]`` tensors), under the cap when one is given. An empty reply gives the state of
    the prompt's last token (the one the reply starts from)."""
    import torch

    prompt_ids = prompt_ids.to(policy.device)
    reply_ids = reply_ids.to(policy.device)
    ids = torch.cat([prompt_ids, reply_ids], 1)
    start = prompt_ids.shape[1]
    if policy.max_prompt_tokens is not None:
        limit = policy.max_prompt_tokens + policy.max_new_tokens
        if ids.shape[1] > limit:
            cut = ids.shape[1] - limit
            ids, start = ids[:, cut:], max(start - cut, 0)
    with LayerTap(policy, layer, direction, cap, record=True) as tap, torch.inference_mode():
        policy.model(ids, attention_mask=torch.ones_like(ids))
    hidden = tap.states[0][0]
    part = hidden[start:] if ids.shape[1] > start else hidden[-1:]
    return part.float().mean(0).cpu().numpy()


def text_state(policy: HFTextPolicy, layer: int, prompt: str, reply: str) -> np.ndarray:
    """:func:`reply_state` of a reply given as text (``" " + reply`` after ``prompt``)."""
    reply_ids = policy.tokenizer(" " + reply, return_tensors="pt",
                                 add_special_tokens=False)["input_ids"]
    return reply_state(policy, layer, policy.prompt_ids(prompt), reply_ids)


def _auc(low: np.ndarray, high: np.ndarray) -> float:
    """P(a high-set value > a low-set value), ties counting half (the ROC AUC)."""
    diff = np.asarray(high)[:, None] - np.asarray(low)[None, :]
    return float(((diff > 0).sum() + 0.5 * (diff == 0).sum()) / diff.size)


@dataclass
class AssistantAxis:
    """A fitted assistant direction and how it separates its contrast sets."""

    layer: int
    direction: np.ndarray
    """Unit vector (assistant mean minus persona mean, normalised)."""
    persona_projections: np.ndarray
    assistant_projections: np.ndarray
    separation: dict[str, float] = field(default_factory=dict)
    """``auc`` and ``accuracy`` (at the midpoint of the two means) on the fit set, and
    ``heldout_auc`` / ``heldout_accuracy`` on held-out pairs when there were some."""

    @property
    def midpoint(self) -> float:
        return 0.5 * float(self.persona_projections.mean() + self.assistant_projections.mean())

    def project(self, states: np.ndarray) -> np.ndarray:
        """Projections of states ``[..., d]`` on the direction."""
        return np.asarray(states, dtype=np.float64) @ self.direction.astype(np.float64)

    def cap_at(self, quantile: float) -> float:
        """The ``quantile`` of the persona set's projections: a cap that leaves that share of
        in-character states untouched."""
        if not 0.0 <= quantile <= 1.0:
            raise ValueError(f"quantile must be in [0, 1], got {quantile}")
        return float(np.quantile(self.persona_projections, quantile))

    def accuracy(self, persona: np.ndarray, assistant: np.ndarray) -> float:
        """Share of projections on the right side of the midpoint."""
        m = self.midpoint
        right = (np.asarray(persona) < m).sum() + (np.asarray(assistant) > m).sum()
        return float(right / (len(persona) + len(assistant)))

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready summary (the direction itself as a list)."""
        return {"layer": self.layer, "dim": int(self.direction.size),
                "persona_mean": float(self.persona_projections.mean()),
                "assistant_mean": float(self.assistant_projections.mean()),
                "midpoint": self.midpoint, "separation": self.separation,
                "direction": self.direction.astype(float).tolist()}


def fit_axis(policy: HFTextPolicy, pairs: Sequence[ContrastPair], layer: int,
             heldout: float = 0.25) -> AssistantAxis:
    """Fit the assistant direction at ``layer`` on the first ``1 - heldout`` of ``pairs`` and
    measure its separation on them and on the rest."""
    if not 0.0 <= heldout < 1.0:
        raise ValueError(f"heldout must be in [0, 1), got {heldout}")
    n_fit = max(2, round(len(pairs) * (1.0 - heldout)))
    states_p = np.stack([text_state(policy, layer, p.prompt, p.persona) for p in pairs])
    states_a = np.stack([text_state(policy, layer, p.prompt, p.assistant) for p in pairs])
    diff = states_a[:n_fit].mean(0) - states_p[:n_fit].mean(0)
    norm = float(np.linalg.norm(diff))
    if not norm > 0:
        raise ValueError("the persona and assistant states have the same mean at this layer; "
                         "no direction to fit")
    direction = (diff / norm).astype(np.float32)
    proj_p = states_p @ direction
    proj_a = states_a @ direction
    axis = AssistantAxis(layer, direction, proj_p[:n_fit], proj_a[:n_fit])
    axis.separation = {"auc": _auc(proj_p[:n_fit], proj_a[:n_fit]),
                       "accuracy": axis.accuracy(proj_p[:n_fit], proj_a[:n_fit]),
                       "fit_pairs": n_fit}
    if len(pairs) > n_fit:
        axis.separation.update(heldout_auc=_auc(proj_p[n_fit:], proj_a[n_fit:]),
                               heldout_accuracy=axis.accuracy(proj_p[n_fit:], proj_a[n_fit:]),
                               heldout_pairs=len(pairs) - n_fit)
    return axis


class CappedPolicy:
    """An :class:`HFTextPolicy` generating under the cap (see the module docstring).

    ``capped_positions`` / ``positions`` count the states the hook capped / saw.
    """

    def __init__(self, policy: HFTextPolicy, axis: AssistantAxis, cap: float) -> None:
        if not math.isfinite(cap):
            raise ValueError(f"cap must be a finite number, got {cap}")
        self.policy, self.axis, self.cap = policy, axis, float(cap)
        self.name = f"{policy.name}+cap(l={axis.layer},{cap:.3g})"
        self.capped_positions = self.positions = 0

    def reset(self, rng: np.random.Generator | None = None) -> None:
        self.policy.reset(rng)

    def build_prompt(self, obs: Any) -> str:
        return self.policy.build_prompt(obs)

    @contextmanager
    def capping(self) -> Iterator[LayerTap]:
        """The cap's hook, active inside the block."""
        with LayerTap(self.policy, self.axis.layer, self.axis.direction, self.cap) as tap:
            yield tap
        self.capped_positions += tap.capped_positions
        self.positions += tap.positions

    def act(self, obs: Any) -> str:
        with self.capping():
            return self.policy.act(obs)


def axis_rollout(env_id: str, policy: HFTextPolicy | CappedPolicy, axis: AssistantAxis,
                 episodes: int, seeds: Sequence[int] = DEFAULT_SEEDS,
                 split: str = "test") -> dict[str, Any]:
    """Play the protocol's episodes (``episodes`` per evaluation seed) and record the
    projection of every reply, with its turn index and the partner's move kind.

    Returns the protocol's results dict (``results``), ``turns`` (one row per reply: seed,
    episode, turn, move, projection), ``by_turn`` and ``by_move`` (mean projection and count),
    and, for a :class:`CappedPolicy`, ``capped_share`` (share of states the hook capped).
    """
    check_evaluation_seeds(seeds, episodes)
    hf = policy.policy if isinstance(policy, CappedPolicy) else policy
    cap = policy.cap if isinstance(policy, CappedPolicy) else None
    env = gym.make(env_id, split=split)
    per_seed: dict[int, list[Episode]] = {}
    rows: list[dict[str, Any]] = []
    try:
        for s in seeds:
            per_seed[s] = []
            for j in range(episodes):
                es = episode_seed(s, j)
                obs, _ = env.reset(seed=es)
                policy.reset(np.random.default_rng([es, 1]))
                lines = []
                turn = 0
                while True:
                    reply = policy.act(obs)
                    state = reply_state(hf, axis.layer, hf.last_prompt_ids, hf.last_reply_ids,
                                        axis.direction if cap is not None else None, cap)
                    obs, _, term, trunc, info = env.step(reply)
                    rows.append({"seed": s, "episode": j, "turn": turn, "move": info["move"],
                                 "projection": float(axis.project(state))})
                    lines.append(info["scores"])
                    turn += 1
                    if term or trunc:
                        per_seed[s].append(Episode(es, info["metrics"], lines))
                        break
    finally:
        env.close()
    spec = getattr(policy, "name", type(policy).__name__)
    out: dict[str, Any] = {
        "results": protocol_results(env_id, spec, per_seed, episodes, split),
        "turns": rows,
        "by_turn": _group(rows, "turn"),
        "by_move": _group(rows, "move"),
        "projection_mean": float(np.mean([r["projection"] for r in rows])) if rows else None,
    }
    if isinstance(policy, CappedPolicy):
        out["cap"] = policy.cap
        out["capped_share"] = policy.capped_positions / max(policy.positions, 1)
    return out


def _group(rows: list[dict[str, Any]], key: str) -> dict[str, dict[str, float]]:
    groups: dict[Any, list[float]] = {}
    for r in rows:
        groups.setdefault(r[key], []).append(r["projection"])
    return {str(k): {"mean": float(np.mean(v)), "n": len(v)}
            for k, v in sorted(groups.items(), key=lambda kv: kv[0])}


def study(env_id: str, model: str | HFTextPolicy, layer: int, pairs: int = 64,
          episodes: int = 10, seeds: Sequence[int] = (0,), cap: float | None = None,
          cap_quantile: float = 0.9, max_new_tokens: int = 40,
          device: str | None = None) -> dict[str, Any]:
    """The whole lever on one model: fit the axis on ``pairs`` contrast pairs (train
    personas), roll the protocol's episodes without and with the cap (``cap``, else the
    ``cap_quantile`` of the persona set's projections), and report both: projections by turn
    and by partner move, consistency (``p2l``, ``l2l``, ``qa``) and ``capability``, the
    normalized score, and seconds per turn."""
    import time

    policy = (model if isinstance(model, HFTextPolicy)
              else HFTextPolicy(model, max_new_tokens=max_new_tokens, device=device))
    start = time.perf_counter()
    axis = fit_axis(policy, contrast_sets(env_id, policy, pairs), layer)
    fit_seconds = time.perf_counter() - start
    value = axis.cap_at(cap_quantile) if cap is None else float(cap)
    arms = {}
    for name, agent in (("uncapped", policy), ("capped", CappedPolicy(policy, axis, value))):
        start = time.perf_counter()
        run = axis_rollout(env_id, agent, axis, episodes, seeds)
        seconds = time.perf_counter() - start
        res = run.pop("results")
        run.pop("turns")
        arms[name] = {
            "normalized_score": res["normalized_score"],
            "normalized_score_ci": res["normalized_score_ci"],
            "metrics": {m: v["mean"] for m, v in res["metrics"].items()},
            "seconds_per_turn": seconds / max(sum(g["n"] for g in run["by_turn"].values()), 1),
            **run,
        }
    summary = axis.as_dict()
    summary.pop("direction")
    return {"env_id": env_id, "model": policy.name, "layer": layer,
            "episodes_per_seed": episodes, "seeds": list(seeds), "cap": value,
            "cap_quantile": None if cap is not None else cap_quantile,
            "fit_seconds": fit_seconds, "axis": summary, **arms}


def format_study(report: dict[str, Any]) -> str:
    """:func:`study`'s report as text."""

    def num(x: Any, digits: int = 3) -> str:
        return "-" if x is None else f"{x:.{digits}f}"

    ax = report["axis"]
    sep = ax["separation"]
    out = [
        f"{report['model']} on {report['env_id']}: layer {report['layer']}, "
        f"{sep.get('fit_pairs')} fit pairs (+{sep.get('heldout_pairs', 0)} held out)",
        f"  assistant direction: persona mean {ax['persona_mean']:.3f}, assistant mean "
        f"{ax['assistant_mean']:.3f}; AUC {sep['auc']:.3f} on the fit set, "
        f"{num(sep.get('heldout_auc'))} held out",
        f"  cap {report['cap']:.3f}"
        + (f" (persona quantile {report['cap_quantile']})" if report["cap_quantile"] is not None
           else ""),
        "",
        f"{'arm':<10}{'score':>7}{'p2l':>7}{'l2l':>7}{'qa':>7}{'capab.':>8}{'proj.':>8}"
        f"{'capped':>8}{'s/turn':>8}",
    ]
    for arm in ("uncapped", "capped"):
        a = report[arm]
        m = a["metrics"]
        out.append(f"{arm:<10}{a['normalized_score']:>7.1f}{num(m.get('p2l')):>7}"
                   f"{num(m.get('l2l')):>7}{num(m.get('qa')):>7}{num(m.get('capability')):>8}"
                   f"{num(a['projection_mean']):>8}{num(a.get('capped_share'), 3):>8}"
                   f"{a['seconds_per_turn']:>8.3f}")
    out += ["", "mean projection by partner move (uncapped / capped, n)"]
    for move, g in report["uncapped"]["by_move"].items():
        c = report["capped"]["by_move"].get(move, {})
        out.append(f"  {move:<12}{g['mean']:>8.3f} / {num(c.get('mean')):>7}  ({g['n']})")
    out += ["mean projection by turn (uncapped)"]
    out.append("  " + " ".join(f"{int(t) + 1}:{g['mean']:.2f}"
                               for t, g in report["uncapped"]["by_turn"].items()))
    return "\n".join(out)
