"""Rollouts of reference policies and their statistics: normalized scores, 95% bootstrap CIs,
per-metric means and consistency by turn index.

Normalized score (D4RL convention, DESIGN.md §7)::

    normalized = 100 * (return - ref_min_score) / (ref_max_score - ref_min_score)

with ``ref_min_score`` (random policy) and ``ref_max_score`` (expert) from the env's task card.
Episode ``i`` of a run with seed ``s`` resets the env with seed ``s + i`` and gives the policy
``numpy.random.default_rng([s + i, 1])``, so every run is reproducible bit for bit.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym
import numpy as np

from persona_gym.cards import EnvEntry, load_card
from persona_gym.judges.symbolic import METRICS
from persona_gym.policies import ObservationPolicy, ReferencePolicy, load_policy

BY_TURN_METRICS = ("p2l", "l2l", "qa", "relevance")


def env_entry(env_id: str) -> EnvEntry:
    """The task-card entry (horizon, reference scores) of a registered persona_gym id."""
    import persona_gym  # noqa: F401  (registers the ids)

    if env_id not in gym.registry:
        known = ", ".join(sorted(i for i in gym.registry if i.startswith("persona_gym/")))
        raise ValueError(f"unknown env id {env_id!r}; registered persona_gym ids: {known}")
    card = gym.registry[env_id].kwargs.get("card")
    if card is None:
        raise ValueError(f"{env_id!r} is not a persona_gym environment")
    return load_card(card).entry(env_id)


def normalized_score(episode_return: float | np.ndarray, env_id: str) -> float | np.ndarray:
    """``100 * (R - ref_min) / (ref_max - ref_min)`` with the env's reference scores."""
    e = env_entry(env_id)
    return 100.0 * (episode_return - e.ref_min_score) / (e.ref_max_score - e.ref_min_score)


def bootstrap_ci(
    values: np.ndarray, confidence: float = 0.95, n_boot: int = 2000, seed: int = 0
) -> tuple[float, float]:
    """Percentile bootstrap confidence interval of the mean of ``values``."""
    values = np.asarray(values, dtype=np.float64)
    if values.size == 0:
        raise ValueError("bootstrap_ci needs at least one value")
    if values.size == 1:
        return (float(values[0]), float(values[0]))
    rng = np.random.default_rng(seed)
    means = values[rng.integers(0, values.size, size=(n_boot, values.size))].mean(axis=1)
    alpha = (1.0 - confidence) / 2.0
    lo, hi = np.quantile(means, [alpha, 1.0 - alpha])
    return (float(lo), float(hi))


@dataclass
class Episode:
    """One finished conversation: the final metrics and per-line scores."""

    seed: int
    metrics: dict[str, float]
    lines: list[dict[str, float | None]] = field(default_factory=list)


def run_episode(env: gym.Env, policy: ReferencePolicy | ObservationPolicy, seed: int) -> Episode:
    """Play one episode of ``policy`` on ``env`` (seeded as the module docstring says).

    A :class:`ReferencePolicy` reads the turn's ground truth and its choice is turned into the
    variant's action by ``env.unwrapped.action_for``; any other policy acts on observations.
    """
    obs, _ = env.reset(seed=seed)
    policy.reset(np.random.default_rng([seed, 1]))
    base = env.unwrapped
    lines = []
    while True:
        if isinstance(policy, ReferencePolicy):
            action = base.action_for(policy.act(base.turn_view()))  # type: ignore[attr-defined]
        else:
            action = policy.act(obs)
        obs, _, terminated, truncated, info = env.step(action)
        lines.append(info["scores"])
        if terminated or truncated:
            return Episode(seed, info["metrics"], lines)


def rollout(
    env_id: str,
    policy: str | ReferencePolicy | ObservationPolicy,
    episodes: int,
    seed: int = 0,
    split: str = "test",
    progress: Callable[[int], None] | None = None,
) -> list[Episode]:
    """Run ``episodes`` episodes of a policy on ``env_id`` (test split by default).

    ``policy`` is a reference policy or its name, ``hf:PATH`` for a local causal LM on a text
    variant (:class:`persona_gym.agents.HFTextPolicy`), or any :class:`ObservationPolicy`.
    """
    if episodes < 1:
        raise ValueError(f"episodes must be >= 1, got {episodes}")
    pol = load_policy(policy) if isinstance(policy, str) else policy
    env = gym.make(env_id, split=split)
    try:
        out = []
        for i in range(episodes):
            out.append(run_episode(env, pol, seed + i))
            if progress is not None:
                progress(1)
        return out
    finally:
        env.close()


def summarize(env_id: str, episodes: list[Episode]) -> dict[str, Any]:
    """Statistics of a rollout: the dict ``persona-gym rollout --json`` prints.

    Keys: ``normalized_score`` and ``normalized_score_ci`` ([low, high], 95% bootstrap),
    ``return_mean``, ``return_ci``, ``metrics`` (per metric ``mean`` and ``ci``),
    ``by_turn`` (per metric a list: mean over episodes at each turn index; ``qa`` is averaged
    over the question turns only, ``null`` where a turn index had none), ``episodes``,
    ``ref_min_score``, ``ref_max_score``.
    """
    entry = env_entry(env_id)
    returns = np.array([e.metrics["return"] for e in episodes])
    norm = normalized_score(returns, env_id)
    metrics = {}
    for name in METRICS:
        vals = np.array([e.metrics[name] for e in episodes], dtype=np.float64)
        vals = vals[~np.isnan(vals)]
        metrics[name] = {"mean": float(vals.mean()) if vals.size else None,
                         "ci": list(bootstrap_ci(vals)) if vals.size else [None, None]}
    horizon = max(len(e.lines) for e in episodes)
    by_turn: dict[str, list[float | None]] = {}
    for name in BY_TURN_METRICS:
        grid = np.full((len(episodes), horizon), np.nan)
        for i, e in enumerate(episodes):
            for t, s in enumerate(e.lines):
                if s[name] is not None:
                    grid[i, t] = s[name]
        counts = (~np.isnan(grid)).sum(axis=0)
        sums = np.nansum(grid, axis=0)
        by_turn[name] = [float(s / c) if c else None for s, c in zip(sums, counts, strict=True)]
    return {
        "env_id": env_id,
        "episodes": len(episodes),
        "normalized_score": float(np.mean(norm)),
        "normalized_score_ci": list(bootstrap_ci(norm)),
        "return_mean": float(returns.mean()),
        "return_ci": list(bootstrap_ci(returns)),
        "metrics": metrics,
        "by_turn": by_turn,
        "ref_min_score": entry.ref_min_score,
        "ref_max_score": entry.ref_max_score,
    }


# -- the official evaluation protocol ---------------------------------------------------------

PROTOCOL_VERSION = 1
"""Bumped whenever anything below changes what a score means."""
RESULTS_FORMAT = "persona_gym.results"
DEFAULT_SEEDS = (0, 1, 2)
DEFAULT_EPISODES = 100
EVAL_SEED_BASE = 1_000_000


def episode_seed(seed: int, index: int) -> int:
    """Env seed of episode ``index`` of evaluation seed ``seed`` (disjoint from the seeds the
    reference scores and the datasets use)."""
    return EVAL_SEED_BASE + 10_000 * seed + index


def _batched_episodes(env_id: str, policy: Any, seeds: list[int], batch: int,
                      progress: Callable[[int], None] | None) -> list[Episode]:
    """Episodes of an observation policy with ``act_batch``: ``batch`` envs in a vector env
    stepped in lockstep, one forward pass per step for all of them."""
    out: list[Episode] = []
    for start in range(0, len(seeds), batch):
        chunk = seeds[start : start + batch]
        envs = gym.vector.SyncVectorEnv(
            [lambda: gym.make(env_id, split="test") for _ in chunk]
        )
        try:
            obs, _ = envs.reset(seed=list(chunk))
            space = envs.single_action_space
            lines: list[list[dict[str, float | None]]] = [[] for _ in chunk]
            done = np.zeros(len(chunk), dtype=bool)
            metrics: list[dict[str, float] | None] = [None] * len(chunk)
            while not done.all():
                actions = policy.act_batch(obs)
                if isinstance(space, gym.spaces.Discrete):
                    actions = np.asarray(actions).reshape(len(chunk), -1)[:, 0].astype(np.int64)
                else:
                    actions = np.clip(np.asarray(actions, dtype=np.float32), space.low,
                                      space.high)
                obs, _, term, trunc, info = envs.step(actions)
                for i in np.flatnonzero(~done):
                    lines[i].append({m: _scalar(info["scores"][m][i]) for m in METRICS})
                    if term[i] or trunc[i]:
                        metrics[i] = {k: float(v[i]) for k, v in info["metrics"].items()}
                done |= term | trunc
            out += [Episode(s, m, ls) for s, m, ls in zip(chunk, metrics, lines, strict=True)]
            if progress is not None:
                progress(len(chunk))
        finally:
            envs.close()
    return out


def _scalar(value: Any) -> float | None:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else float(
        value)


def evaluate(
    env_id: str,
    policy: str | Any,
    episodes: int = DEFAULT_EPISODES,
    seeds: tuple[int, ...] | list[int] = DEFAULT_SEEDS,
    batch: int = 50,
    progress: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    """The official evaluation: ``episodes`` test-split episodes (test personas, partner styles
    including the held-out one) for each evaluation seed, as one results dict (the format of
    ``persona-gym evaluate --out``; leaderboard/schema.json validates it).

    Trained policies with ``act_batch`` run batched (a vector env of ``batch`` envs and one
    forward pass per step); reference policies read each env's ground truth.
    """
    if episodes < 1:
        raise ValueError(f"episodes must be >= 1, got {episodes}")
    if not seeds:
        raise ValueError("give at least one evaluation seed")
    spec = policy if isinstance(policy, str) else getattr(policy, "name", type(policy).__name__)
    pol = load_policy(policy) if isinstance(policy, str) else policy
    per_seed_eps: dict[int, list[Episode]] = {}
    for s in seeds:
        ep_seeds = [episode_seed(s, j) for j in range(episodes)]
        if hasattr(pol, "act_batch"):
            per_seed_eps[s] = _batched_episodes(env_id, pol, ep_seeds, batch, progress)
        else:
            env = gym.make(env_id, split="test")
            try:
                per_seed_eps[s] = []
                for es in ep_seeds:
                    per_seed_eps[s].append(run_episode(env, pol, es))
                    if progress is not None:
                        progress(1)
            finally:
                env.close()
    everything = [e for eps in per_seed_eps.values() for e in eps]
    summary = summarize(env_id, everything)
    per_seed = []
    for s, eps in per_seed_eps.items():
        returns = np.array([e.metrics["return"] for e in eps])
        per_seed.append({
            "seed": s,
            "episodes": len(eps),
            "normalized_score": float(np.mean(normalized_score(returns, env_id))),
            "return_mean": float(returns.mean()),
            "metrics": {m: _mean([e.metrics[m] for e in eps]) for m in METRICS},
        })
    import persona_gym

    return {
        "format": RESULTS_FORMAT,
        "format_version": 1,
        "protocol_version": PROTOCOL_VERSION,
        "persona_gym_version": persona_gym.__version__,
        "policy": spec,
        "split": "test",
        "seeds": list(seeds),
        "episodes_per_seed": episodes,
        **summary,
        "per_seed": per_seed,
    }


def _mean(values: list[float]) -> float | None:
    arr = np.array(values, dtype=np.float64)
    arr = arr[~np.isnan(arr)]
    return float(arr.mean()) if arr.size else None
