"""Rollouts of reference policies and their statistics: normalized scores, 95% bootstrap CIs,
per-metric means and consistency by turn index.

Normalized score (D4RL convention, DESIGN.md §7)::

    normalized = 100 * (return - ref_min_score) / (ref_max_score - ref_min_score)

with ``ref_min_score`` (random policy) and ``ref_max_score`` (expert) from the env's task card.
Episode ``i`` of a run with seed ``s`` resets the env with seed ``s + i`` and gives the policy
``numpy.random.default_rng([s + i, 1])``, so every run is reproducible bit for bit. Every env
seed a run uses lies in numpy's seed range ``[0, MAX_SEED]``; :func:`rollout` and
:func:`evaluate` check their seeds before the first episode.

A policy that acts on observations (anything with ``name``, ``reset(rng)``, ``act(obs)`` and
optionally ``act_batch(obs_batch)``) is checked as it runs: an exception it raises, or output
that is not an action of the env (a tuple, an empty array, another variant's action, a fraction
on a Discrete env), stops the run with a one-line :class:`PolicyError` naming the policy, the
env, what was expected and what came. A policy may declare ``observation_shape`` (one
observation's shape); it is then compared with the env's before the first episode.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym
import numpy as np

from persona_gym.cards import EnvEntry
from persona_gym.policies import POLICIES, ObservationPolicy, ReferencePolicy, load_policy

BY_TURN_METRICS = ("p2l", "l2l", "qa", "relevance")

MAX_SEED = 2**32 - 1
"""The largest env seed a run may use: the top of numpy's seed range (``np.random.seed``)."""


class PolicyError(ValueError):
    """A policy raised, or returned something that is not an action of the env; the message
    (one line) names the policy, the env, what was expected and what came. The policy's own
    exception, if any, is the ``__cause__``."""


def env_entry(env_id: str) -> EnvEntry:
    """The task-card entry (horizon, reference scores) of a registered persona_gym id."""
    from persona_gym.envs import card_of  # importing persona_gym registers the ids

    return card_of(env_id)[1]


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


def run_episode(env: gym.Env, policy: ReferencePolicy | ObservationPolicy, seed: int,
                policy_rng: np.random.Generator | None = None) -> Episode:
    """Play one episode of ``policy`` on ``env`` (seeded as the module docstring says).

    A :class:`ReferencePolicy` reads the turn's ground truth and its choice is turned into the
    variant's action by ``env.unwrapped.action_for``; any other policy acts on observations.
    ``policy_rng`` replaces the policy's generator (``numpy.random.default_rng([seed, 1])``):
    the env seed, and so the persona and partner style, stay those of ``seed`` while the
    policy's randomness changes (run-to-run variance, :mod:`persona_gym.levers.variance`).
    """
    obs, _ = env.reset(seed=seed)
    reference = isinstance(policy, ReferencePolicy)
    env_id = env.spec.id if env.spec is not None else type(env.unwrapped).__name__
    rng = np.random.default_rng([seed, 1]) if policy_rng is None else policy_rng
    if reference:
        policy.reset(rng)
    else:
        _call(policy, "reset", env_id, None, rng)
    base = env.unwrapped
    lines = []
    while True:
        if reference:
            action = base.action_for(policy.act(base.turn_view()))  # type: ignore[attr-defined]
        else:
            output = _call(policy, "act", env_id, obs, obs)
            action = _actions(output, env.action_space, None, _who(policy, env_id))
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
    check_rollout_seed(seed, episodes)
    pol = load_policy(policy, env_id) if isinstance(policy, str) else policy
    env = gym.make(env_id, split=split)
    try:
        if not isinstance(pol, ReferencePolicy):
            _check_observation_shape(pol, env_id, env.observation_space)
        out = []
        for i in range(episodes):
            out.append(run_episode(env, pol, seed + i))
            if progress is not None:
                progress(1)
        return out
    finally:
        env.close()


def metric_names(episodes: list[Episode]) -> list[str]:
    """The per-line metrics the episodes report (their task version's), in report order."""
    return [k for k in episodes[0].metrics if k not in ("return", "length")]


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
    for name in metric_names(episodes):
        vals = np.array([e.metrics[name] for e in episodes], dtype=np.float64)
        vals = vals[~np.isnan(vals)]
        metrics[name] = {"mean": float(vals.mean()) if vals.size else None,
                         "ci": list(bootstrap_ci(vals)) if vals.size else [None, None]}
    horizon = max(entry.horizon, max(len(e.lines) for e in episodes))  # v1 may end early
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



def format_value(x: float | None, digits: int = 3) -> str:
    """A mean for a text table: ``digits`` decimals, ``"  -  "`` when there is none (None or
    NaN: no line asserted anything)."""
    return "  -  " if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.{digits}f}"


def format_by_turn(by_turn: Mapping[str, Sequence[float | None]],
                   names: Sequence[str] | None = None, max_columns: int = 16) -> str:
    """The ``by_turn`` of :func:`summarize` (or :func:`evaluate`) as a text table: a header of
    turn numbers (from 1; every k-th turn, so that at most ``max_columns`` are shown) and one
    row per metric of ``names`` (default: all of them), two decimals, ``-`` for no value."""
    names = list(by_turn) if names is None else list(names)
    horizon = len(by_turn[names[0]])
    turns = range(0, horizon, max(1, math.ceil(horizon / max_columns)))
    lines = [f"{'turn':<11}" + "".join(f"{t + 1:>6}" for t in turns)]
    lines += [f"{name:<11}" + "".join(f"{format_value(by_turn[name][t], 2):>6}" for t in turns)
              for name in names]
    return "\n".join(lines)


# -- reference policies ---------------------------------------------------------------------

REFERENCE_SCORE_POLICIES = {"ref_min_score": "random", "ref_max_score": "expert"}
"""The policies whose mean return on test personas is a task card's 0 and 100 of the
normalized score."""

OpenBar = Callable[[int | None, str], AbstractContextManager[Any]]
"""Opens a progress bar over a total (None: unknown) with a description, as
:func:`persona_gym.progress.progress` does; the library calls the bar's ``update(n)`` as the
work goes on."""


def _reference_rollout(env_id: str, policy: str, episodes: int, seed: int,
                       open_bar: OpenBar | None) -> list[Episode]:
    opened = nullcontext() if open_bar is None else open_bar(episodes, f"{policy} on {env_id}")
    with opened as bar:
        return rollout(env_id, policy, episodes, seed, "test",
                       progress=None if bar is None else bar.update)


def compare_reference_policies(env_id: str, episodes: int, seed: int = 0,
                               policies: Sequence[str] = tuple(POLICIES),
                               open_bar: OpenBar | None = None,
                               ) -> dict[str, dict[str, Any]]:
    """Each reference policy on ``episodes`` test-persona episodes from ``seed``: per policy
    name, the :func:`summarize` dict with ``policy``, ``split`` and ``seed`` (what ``persona-gym
    rollout --json`` prints for it; the table of ``persona-gym demo``), with a progress bar
    per policy from ``open_bar``."""
    return {name: {"policy": name, "split": "test", "seed": seed,
                   **summarize(env_id, _reference_rollout(env_id, name, episodes, seed, open_bar))}
            for name in policies}


def reference_scores(env_id: str, episodes: int = 2000, seed: int = 10_000,
                     open_bar: OpenBar | None = None) -> dict[str, Any]:
    """Measure ``env_id``'s reference scores as a task card records them: ``ref_min_score``
    and ``ref_max_score``, the mean return of :data:`REFERENCE_SCORE_POLICIES` on ``episodes``
    test-persona episodes from ``seed``, rounded to 4 decimals; with ``env_id``, ``episodes``
    and ``seed``. ``open_bar``: a progress bar per policy."""
    out: dict[str, Any] = {"env_id": env_id, "episodes": episodes, "seed": seed}
    for key, policy in REFERENCE_SCORE_POLICIES.items():
        eps = _reference_rollout(env_id, policy, episodes, seed, open_bar)
        out[key] = round(float(sum(e.metrics["return"] for e in eps) / len(eps)), 4)
    return out


# -- the official evaluation protocol ---------------------------------------------------------

PROTOCOL_VERSION = 1
"""Bumped whenever anything below changes what a score means."""
RESULTS_FORMAT = "persona_gym.results"
DEFAULT_SEEDS = (0, 1, 2)
DEFAULT_EPISODES = 100
EVAL_SEED_BASE = 1_000_000
EVAL_SEED_STRIDE = 10_000


def episode_seed(seed: int, index: int) -> int:
    """Env seed of episode ``index`` of evaluation seed ``seed`` (disjoint from the seeds the
    reference scores and the datasets use)."""
    return EVAL_SEED_BASE + EVAL_SEED_STRIDE * seed + index


# -- checks on seeds and on what a policy does ------------------------------------------------


def _check_seed(seed: Any, what: str) -> None:
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise ValueError(f"{what} must be an integer, got {type(seed).__name__} {seed!r}")


def check_rollout_seed(seed: Any, episodes: int) -> None:
    """Refuse a first seed of :func:`rollout` whose episodes (seeds ``seed`` to
    ``seed + episodes - 1``) would leave ``[0, MAX_SEED]``."""
    _check_seed(seed, "seed")
    if seed < 0:
        raise ValueError(f"seed must be >= 0, got {seed}; episode i uses env seed seed + i, "
                         "a non-negative integer")
    last = seed + episodes - 1
    if last > MAX_SEED:
        raise ValueError(f"seed {seed} with {episodes} episodes uses env seeds up to {last}, "
                         f"beyond numpy's seed range [0, {MAX_SEED}]; use a seed from 0 to "
                         f"{max(MAX_SEED - episodes + 1, 0)}")


def check_evaluation_seeds(seeds: Any, episodes: int) -> None:
    """Refuse evaluation seeds that are not distinct non-negative integers whose episodes'
    env seeds (:func:`episode_seed`) stay within ``[0, MAX_SEED]``."""
    if isinstance(seeds, (str, bytes)) or not hasattr(seeds, "__iter__"):
        raise ValueError(f"seeds must be a list of integers, got {seeds!r}")
    seeds = list(seeds)
    if not seeds:
        raise ValueError("give at least one evaluation seed")
    largest = (MAX_SEED - EVAL_SEED_BASE - (episodes - 1)) // EVAL_SEED_STRIDE
    seen: set[int] = set()
    for s in seeds:
        _check_seed(s, "evaluation seed")
        if s < 0:
            raise ValueError(f"evaluation seed {s} is negative; evaluation seeds are "
                             f"non-negative integers (the protocol's: "
                             f"{' '.join(map(str, DEFAULT_SEEDS))})")
        if s in seen:
            raise ValueError(f"evaluation seed {s} is given twice; list each seed once")
        seen.add(s)
        if s > largest:
            fix = (f"use evaluation seeds from 0 to {largest}" if largest >= 0
                   else "evaluate fewer episodes per seed")
            raise ValueError(
                f"evaluation seed {s} is too large: with {episodes} episodes per seed its "
                f"episodes would use env seeds up to {episode_seed(s, episodes - 1)}, beyond "
                f"numpy's seed range [0, {MAX_SEED}]; {fix}"
            )


def _who(policy: Any, env_id: str) -> str:
    return f"policy {getattr(policy, 'name', type(policy).__name__)!r} on {env_id}"


def _observations(obs: Any) -> str:
    """What a policy was given, in a few words (a shape, or the text fields' lengths)."""
    if isinstance(obs, dict):
        return "a text observation"
    shape = np.shape(obs)
    return f"{'observations' if len(shape) > 1 else 'an observation'} of shape {shape}"


def _call(policy: Any, method: str, env_id: str, obs: Any, *args: Any) -> Any:
    """``policy.method(*args)``; an exception becomes a :class:`PolicyError` that says what
    the policy was given (its traceback stays attached as the cause)."""
    try:
        return getattr(policy, method)(*args)
    except Exception as exc:
        text = str(exc).strip()
        first = text.splitlines()[0] if text else "(no message)"
        given = "" if obs is None else f" when {method} was given {_observations(obs)}"
        raise PolicyError(
            f"policy {getattr(policy, 'name', type(policy).__name__)!r} raised "
            f"{type(exc).__name__}: {first}{given} from {env_id}; check that the policy was "
            "made for this env"
        ) from exc


def _check_observation_shape(policy: Any, env_id: str, space: gym.Space) -> None:
    """Compare a policy's declared ``observation_shape`` (if any) with the env's."""
    declared = getattr(policy, "observation_shape", None)
    if declared is None or space.shape is None:
        return
    if tuple(declared) != tuple(space.shape):
        raise PolicyError(
            f"policy {getattr(policy, 'name', type(policy).__name__)!r} expects observations "
            f"of shape {tuple(declared)}; {env_id} gives {tuple(space.shape)}; evaluate it on "
            "the env it was trained on"
        )


def _shown(output: Any) -> str:
    """What a policy returned, in a few words."""
    if output is None:
        return "None"
    if isinstance(output, (tuple, list)):
        return f"a {type(output).__name__} of {len(output)} item(s)"
    if isinstance(output, str):
        return f"str {output[:40]!r}"
    shape = getattr(output, "shape", None)
    if shape is not None and tuple(shape) != ():
        dtype = getattr(output, "dtype", None)
        return f"an array of shape {tuple(shape)}" + (f" ({dtype})" if dtype is not None else "")
    value = output.item() if hasattr(output, "item") else output
    return f"{type(value).__name__} {value!r}"


def _expected(space: gym.Space, n: int | None) -> str:
    """What a policy must return for ``n`` observations (``None``: one, from ``act``)."""
    if isinstance(space, gym.spaces.Discrete):
        lo, hi = int(space.start), int(space.start + space.n - 1)
        return (f"an integer index in [{lo}, {hi}]" if n is None
                else f"{n} integer indices in [{lo}, {hi}] (shape ({n},))")
    if isinstance(space, gym.spaces.Box):
        bounds = f"floats in [{float(np.min(space.low)):g}, {float(np.max(space.high)):g}]"
        shape = space.shape if n is None else (n, *space.shape)
        return f"an array of shape {shape} ({bounds})"
    if isinstance(space, gym.spaces.Text):
        return "a str (the reply)" if n is None else f"a list of {n} str (the replies)"
    return f"an action of {space}" if n is None else f"{n} actions of {space}"


def _variant_hint(output: Any, arr: np.ndarray | None, space: gym.Space, batched: bool) -> str:
    """A guess at the variant a wrong output was made for."""
    if isinstance(output, str) and not isinstance(space, gym.spaces.Text):
        return "; is it a policy for the text variant (...Text-v1)?"
    if arr is None or isinstance(space, gym.spaces.Text):
        return ""
    if isinstance(space, gym.spaces.Box) and (
        arr.dtype.kind in "iu" or arr.ndim < len(space.shape) + batched
    ):
        return "; is it a policy for the discrete variant (an index, not a descriptor)?"
    if (isinstance(space, gym.spaces.Discrete) and arr.ndim == 1 + batched
            and arr.shape[-1] > 1):
        return "; is it a policy for the continuous variant (...Continuous-v1)?"
    return ""


def _numbers(output: Any) -> np.ndarray | None:
    """``output`` as a real-valued array, or None if it is not one (None, str, tuple of
    unlike things, bool, complex)."""
    if output is None or isinstance(output, (str, bytes, tuple, dict)):
        return None
    try:
        arr = np.asarray(output)
    except (TypeError, ValueError):
        return None
    return arr if arr.dtype.kind in "iuf" else None


def _actions(output: Any, space: gym.Space, n: int | None, who: str) -> Any:
    """A policy's output as the env's action (``n is None``: one, from ``act``) or a batch of
    ``n`` actions for a vector env (from ``act_batch``: Box actions are clipped to the
    bounds, as always). Anything else raises a one-line :class:`PolicyError`."""

    def refuse(problem: str = "", arr: np.ndarray | None = None) -> PolicyError:
        per = "" if n is None else f" for {n} observations"
        hint = _variant_hint(output, arr, space, n is not None)
        return PolicyError(f"{who} returned {_shown(output)}{problem}; expected "
                           f"{_expected(space, n)}{per}{hint}")

    if isinstance(space, gym.spaces.Text):
        if n is None:
            if not isinstance(output, str):
                raise refuse()
            return output
        if isinstance(output, (str, bytes)) or not isinstance(output, (list, tuple, np.ndarray)):
            raise refuse()
        replies = list(output)
        if len(replies) != n or not all(isinstance(r, str) for r in replies):
            raise refuse()
        return replies
    if isinstance(output, tuple) and n is None and isinstance(space, gym.spaces.Discrete):
        raise refuse(" (return the action only, not (action, state))")
    if isinstance(output, tuple) and n is not None:
        raise refuse(" (return one array of actions, not (actions, state))")
    arr = _numbers(output)
    if arr is None:
        raise refuse()
    if isinstance(space, gym.spaces.Discrete):
        want = () if n is None else (n,)
        if arr.shape != want and not (n is not None and arr.shape == (n, 1)):
            raise refuse("", arr)
        values = arr.reshape(want)
        if arr.dtype.kind == "f" and not np.all(np.isfinite(values) & (values == np.round(values))):
            bad = values[~(np.isfinite(values) & (values == np.round(values)))].flat[0]
            raise refuse(f" holding {float(bad):g}, not a whole number", arr)
        lo, hi = int(space.start), int(space.start + space.n - 1)
        if values.size and (values.min() < lo or values.max() > hi):
            bad = values[(values < lo) | (values > hi)].flat[0]
            raise refuse(f" holding {bad:g}, out of range", arr)
        return int(values) if n is None else values.astype(np.int64)
    if isinstance(space, gym.spaces.Box):
        want = space.shape if n is None else (n, *space.shape)
        if arr.shape != want:
            raise refuse("", arr)
        if not np.all(np.isfinite(arr)):
            raise refuse(" holding NaN or infinity", arr)
        if n is None:
            return arr.astype(space.dtype)
        return np.clip(arr.astype(space.dtype), space.low, space.high)
    return output if n is None else list(output)


def _batched_episodes(env_id: str, policy: Any, seeds: list[int], batch: int,
                      progress: Callable[[int], None] | None,
                      split: str = "test") -> list[Episode]:
    """Episodes of an observation policy with ``act_batch``: ``batch`` envs in a vector env
    stepped in lockstep, one forward pass per step for all of them."""
    out: list[Episode] = []
    for start in range(0, len(seeds), batch):
        chunk = seeds[start : start + batch]
        envs = gym.vector.SyncVectorEnv(
            [lambda: gym.make(env_id, split=split) for _ in chunk]
        )
        try:
            obs, _ = envs.reset(seed=list(chunk))
            space = envs.single_action_space
            lines: list[list[dict[str, float | None]]] = [[] for _ in chunk]
            done = np.zeros(len(chunk), dtype=bool)
            metrics: list[dict[str, float] | None] = [None] * len(chunk)
            while not done.all():
                output = _call(policy, "act_batch", env_id, obs, obs)
                actions = _actions(output, space, len(chunk), _who(policy, env_id))
                obs, _, term, trunc, info = envs.step(actions)
                for i in np.flatnonzero(~done):
                    lines[i].append({m: _scalar(v[i]) for m, v in info["scores"].items()
                                     if not m.startswith("_")})  # vector envs add _masks
                    if term[i] or trunc[i]:
                        metrics[i] = {k: float(v[i]) for k, v in info["metrics"].items()
                                      if not k.startswith("_")}
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
    split: str = "test",
) -> dict[str, Any]:
    """The official evaluation: ``episodes`` test-split episodes (test personas, partner styles
    including the held-out one) for each evaluation seed, as one results dict (the format of
    ``persona-gym evaluate --out``; leaderboard/schema.json validates it).

    ``split="valid"`` plays the valid personas instead, for model selection during training;
    only test results are official (the leaderboard accepts nothing else).

    Trained policies with ``act_batch`` run batched (a vector env of ``batch`` envs and one
    forward pass per step); such a policy must be stateless (one object serves every env of
    the batch, and ``reset`` is not called): a policy that remembers the conversation offers
    ``act`` only and is played one episode at a time. Reference policies read each env's
    ground truth.
    """
    if episodes < 1:
        raise ValueError(f"episodes must be >= 1, got {episodes}")
    if split not in ("test", "valid"):
        raise ValueError(f"split must be 'test' (official) or 'valid' (model selection), got "
                         f"{split!r}; never select or evaluate on the train personas")
    check_evaluation_seeds(seeds, episodes)
    spec = policy_spec(policy)
    pol = load_policy(policy, env_id) if isinstance(policy, str) else policy
    check_policy(env_id, pol, split)
    per_seed_eps: dict[int, list[Episode]] = {}
    for s in seeds:
        ep_seeds = [episode_seed(s, j) for j in range(episodes)]
        if hasattr(pol, "act_batch"):
            per_seed_eps[s] = _batched_episodes(env_id, pol, ep_seeds, batch, progress, split)
        else:
            env = gym.make(env_id, split=split)
            try:
                per_seed_eps[s] = []
                for es in ep_seeds:
                    per_seed_eps[s].append(run_episode(env, pol, es))
                    if progress is not None:
                        progress(1)
            finally:
                env.close()
    return protocol_results(env_id, spec, per_seed_eps, episodes, split)


def policy_spec(policy: str | Any) -> str:
    """The name a results file gives ``policy``: its spec, or its ``name``."""
    return policy if isinstance(policy, str) else getattr(policy, "name", type(policy).__name__)


def check_policy(env_id: str, policy: Any, split: str = "test") -> None:
    """Compare an observation policy's declared ``observation_shape`` with the env's."""
    if isinstance(policy, ReferencePolicy):
        return
    probe = gym.make(env_id, split=split)
    try:
        _check_observation_shape(policy, env_id, probe.observation_space)
    finally:
        probe.close()


def protocol_results(env_id: str, spec: str, per_seed_eps: dict[int, list[Episode]],
                     episodes: int, split: str = "test") -> dict[str, Any]:
    """The results dict of :func:`evaluate` from its episodes (per evaluation seed, in order)."""
    seeds = list(per_seed_eps)
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
            "metrics": {m: _mean([e.metrics[m] for e in eps]) for m in metric_names(eps)},
        })
    import persona_gym
    from persona_gym.envs import reader_version

    return {
        "format": RESULTS_FORMAT,
        "format_version": 1,
        "protocol_version": PROTOCOL_VERSION,
        "persona_gym_version": persona_gym.__version__,
        "policy": spec,
        "split": split,
        "seeds": seeds,
        "episodes_per_seed": episodes,
        **summary,
        "per_seed": per_seed,
        **reader_version(env_id),  # text variants: free text is scored as the reader reads it
    }


def _mean(values: list[float]) -> float | None:
    arr = np.array(values, dtype=np.float64)
    arr = arr[~np.isnan(arr)]
    return float(arr.mean()) if arr.size else None
