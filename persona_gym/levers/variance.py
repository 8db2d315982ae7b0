"""Run-to-run variance: does a policy vary as much across runs of one persona as across personas?

**Replaying a persona.** An episode's persona and partner style are the first draws of the env's
generator, so they are fixed by the env seed alone (``Conversation.__init__``); the policy's
randomness comes only from the generator :func:`persona_gym.evaluation.run_episode` hands it.
Run ``r`` of the protocol episode with env seed ``e`` keeps ``e`` and gives the policy
:func:`run_rng` ``(e, r)``: run 0 is the protocol's own episode (``default_rng([e, 1])``), so its
episodes are exactly :func:`persona_gym.evaluation.evaluate`'s; run ``r > 0`` uses
``default_rng([e, 1, r])``. The env is untouched (same ids, same fingerprints). Runs of one
persona share its first partner move; after that the partner reacts to what the agent said, so
runs diverge as a stochastic policy's replies do — as rerunning an LLM against a simulated user
would.

**Statistics.** For each metric, the episodes form a table ``y[p, r]`` of ``P`` personas by
``N`` runs; with the one-way random-effects model ``y = mu + a_p + e_pr`` (balanced ANOVA)::

    within  = MSW = mean_p var_r(y[p, :])                   estimates Var(e): run to run
    between = max(0, (MSB - MSW) / N),  MSB = N var_p(mean_r y[p, :])
                                                            estimates Var(a): persona to persona
    ratio   = within / between          (None when between is 0: unbounded)
    within_share = within / (within + between)              (1 - the intraclass correlation)

Confidence intervals are percentile bootstraps over personas (each resampled persona keeps all
its runs). The ratio's interval is the share's mapped through ``s / (1 - s)`` (a monotone map, so
the percentiles carry over); an upper end of ``None`` means unbounded. A metric undefined in some
run of a persona (``qa`` of a conversation with no question) drops that persona for that metric;
``personas`` says how many were used. A deterministic policy (greedy decoding, an ONNX argmax)
has ``within = 0``: its runs are identical.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any, TypedDict

import gymnasium as gym
import numpy as np

from persona_gym.evaluation import (
    DEFAULT_EPISODES,
    DEFAULT_SEEDS,
    Episode,
    check_evaluation_seeds,
    check_policy,
    episode_seed,
    evaluate,
    metric_names,
    normalized_score,
    policy_spec,
    protocol_results,
    run_episode,
)
from persona_gym.policies import load_policy

REPORT_FORMAT = "persona_gym.variance"


class Components(TypedDict):
    """Variance components of one ``[P, N]`` table (see the module docstring)."""

    within: float
    between: float
    ratio: float | None
    within_share: float | None


class MetricVariance(TypedDict):
    """One metric's row of the report."""

    mean: float | None
    within: float | None
    within_ci: list[float | None]
    between: float | None
    between_ci: list[float | None]
    ratio: float | None
    ratio_ci: list[float | None]
    within_share: float | None
    within_share_ci: list[float | None]
    personas: int


class VarianceReport(TypedDict):
    """What ``persona-gym evaluate --runs-per-persona N`` reports (``--json``: key
    ``variance``)."""

    format: str
    env_id: str
    policy: str
    split: str
    seeds: list[int]
    episodes_per_seed: int
    personas: int
    runs_per_persona: int
    confidence: float
    stochastic: bool
    metrics: dict[str, MetricVariance]


def run_rng(env_seed: int, run: int) -> np.random.Generator:
    """The policy's generator in run ``run`` of the episode with env seed ``env_seed`` (run 0:
    the protocol's own)."""
    if run < 0:
        raise ValueError(f"run must be >= 0, got {run}")
    return np.random.default_rng([env_seed, 1] if run == 0 else [env_seed, 1, run])


def persona_runs(
    env_id: str,
    policy: str | Any,
    runs: int,
    episodes: int = DEFAULT_EPISODES,
    seeds: Sequence[int] = DEFAULT_SEEDS,
    split: str = "test",
    progress: Callable[[int], None] | None = None,
) -> dict[int, list[list[Episode]]]:
    """Every protocol episode (``episodes`` per evaluation seed) played ``runs`` times with its
    env seed fixed and the policy's generator varied (:func:`run_rng`): per evaluation seed, a
    list over personas of a list over runs. Episodes run one at a time (no batching)."""
    if isinstance(runs, bool) or not isinstance(runs, int) or runs < 1:
        raise ValueError(f"runs must be a positive int, got {runs!r}")
    if episodes < 1:
        raise ValueError(f"episodes must be >= 1, got {episodes}")
    check_evaluation_seeds(seeds, episodes)
    pol = load_policy(policy, env_id) if isinstance(policy, str) else policy
    check_policy(env_id, pol, split)
    env = gym.make(env_id, split=split)
    out: dict[int, list[list[Episode]]] = {}
    try:
        for s in seeds:
            out[s] = []
            for j in range(episodes):
                es = episode_seed(s, j)
                out[s].append([run_episode(env, pol, es, run_rng(es, r)) for r in range(runs)])
                if progress is not None:
                    progress(runs)
    finally:
        env.close()
    return out


def variance_components(table: np.ndarray) -> Components:
    """Within- and between-persona variance of a ``[P, N]`` table (P >= 2 personas, N >= 2
    runs, all finite), by the balanced one-way random-effects ANOVA of the module docstring."""
    y = np.asarray(table, dtype=np.float64)
    if y.ndim != 2 or y.shape[0] < 2 or y.shape[1] < 2:
        raise ValueError(f"need a [personas, runs] table with at least 2 of each, got shape "
                         f"{y.shape}")
    if not np.all(np.isfinite(y)):
        raise ValueError("the table holds NaN or infinity; drop personas with undefined runs")
    within, between = _components(y[None])
    w, b = float(within[0]), float(between[0])
    return {"within": w, "between": b, "ratio": _ratio(w, b), "within_share": _share(w, b)}


def _components(y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Components of a stack of tables ``[B, P, N]``."""
    n = y.shape[2]
    msw = y.var(axis=2, ddof=1).mean(axis=1)
    msb = n * y.mean(axis=2).var(axis=1, ddof=1)
    return msw, np.maximum(0.0, (msb - msw) / n)


def _ratio(within: float, between: float) -> float | None:
    return within / between if between > 0 else None


def _share(within: float, between: float) -> float | None:
    total = within + between
    return within / total if total > 0 else None


def _metric_tables(env_id: str, personas: list[list[Episode]]) -> dict[str, np.ndarray]:
    """``[P, N]`` tables of every metric (normalized score first), NaN where undefined."""
    first = [runs[0] for runs in personas]
    names = ["normalized_score", *metric_names(first), "length"]
    tables = {}
    for name in names:
        rows = []
        for runs in personas:
            if name == "normalized_score":
                rows.append([float(normalized_score(e.metrics["return"], env_id)) for e in runs])
            else:
                rows.append([_float(e.metrics.get(name)) for e in runs])
        tables[name] = np.array(rows, dtype=np.float64)
    return tables


def _float(x: Any) -> float:
    return math.nan if x is None else float(x)


def _row(y: np.ndarray, confidence: float, n_boot: int, seed: int) -> MetricVariance:
    ok = np.all(np.isfinite(y), axis=1)
    y = y[ok]
    p = y.shape[0]
    if p < 2:  # too few personas with the metric defined in every run
        return {"mean": None, "within": None, "within_ci": [None, None], "between": None,
                "between_ci": [None, None], "ratio": None, "ratio_ci": [None, None],
                "within_share": None, "within_share_ci": [None, None], "personas": p}
    c = variance_components(y)
    rng = np.random.default_rng(seed)
    boot = y[rng.integers(0, p, size=(n_boot, p))]
    w, b = _components(boot)
    total = w + b
    share = np.divide(w, total, out=np.full_like(w, np.nan), where=total > 0)
    alpha = (1.0 - confidence) / 2.0
    q = [alpha, 1.0 - alpha]
    w_ci = np.quantile(w, q).tolist()
    b_ci = np.quantile(b, q).tolist()
    finite = share[np.isfinite(share)]
    s_ci: list[float | None] = (np.quantile(finite, q).tolist() if finite.size
                                else [None, None])
    r_ci: list[float | None] = [None if s is None or s >= 1.0 else s / (1.0 - s) for s in s_ci]
    return {"mean": float(y.mean()), "within": c["within"], "within_ci": w_ci,
            "between": c["between"], "between_ci": b_ci, "ratio": c["ratio"],
            "ratio_ci": r_ci, "within_share": c["within_share"], "within_share_ci": s_ci,
            "personas": p}


def variance_report(
    env_id: str,
    runs: dict[int, list[list[Episode]]],
    policy: str = "",
    split: str = "test",
    confidence: float = 0.95,
    n_boot: int = 2000,
    seed: int = 0,
) -> VarianceReport:
    """The within- and between-persona variance of every metric (the normalized score, the
    per-line metrics, the length) of :func:`persona_runs`' episodes, with bootstrap CIs."""
    personas = [p for eps in runs.values() for p in eps]
    if not personas:
        raise ValueError("no episodes to report on")
    n = len(personas[0])
    if n < 2 or any(len(p) != n for p in personas):
        raise ValueError("every persona needs the same number of runs, at least 2")
    tables = _metric_tables(env_id, personas)
    metrics = {name: _row(y, confidence, n_boot, seed) for name, y in tables.items()}
    stochastic = any((m["within"] or 0.0) > 0 for m in metrics.values())
    return {
        "format": REPORT_FORMAT,
        "env_id": env_id,
        "policy": policy,
        "split": split,
        "seeds": list(runs),
        "episodes_per_seed": len(next(iter(runs.values()))),
        "personas": len(personas),
        "runs_per_persona": n,
        "confidence": confidence,
        "stochastic": stochastic,
        "metrics": metrics,
    }


def evaluate_with_runs(
    env_id: str,
    policy: str | Any,
    runs: int,
    episodes: int = DEFAULT_EPISODES,
    seeds: Sequence[int] = DEFAULT_SEEDS,
    split: str = "test",
    progress: Callable[[int], None] | None = None,
) -> tuple[dict[str, Any], VarianceReport]:
    """The official results (exactly :func:`persona_gym.evaluation.evaluate`'s) and the
    variance report of ``runs`` runs per persona.

    Run 0 of every persona is the protocol's episode, so for a policy that runs one episode at
    a time the official results are computed from it; a batched policy (``act_batch``) is
    evaluated by :func:`~persona_gym.evaluation.evaluate` as always, and its runs are replayed
    one at a time.
    """
    spec = policy_spec(policy)
    pol = load_policy(policy, env_id) if isinstance(policy, str) else policy
    table = persona_runs(env_id, pol, runs, episodes, seeds, split, progress)
    if hasattr(pol, "act_batch"):
        results = evaluate(env_id, pol, episodes, list(seeds), split=split)
        results["policy"] = spec
    else:
        first = {s: [p[0] for p in eps] for s, eps in table.items()}
        results = protocol_results(env_id, spec, first, episodes, split)
    return results, variance_report(env_id, table, spec, split)


def format_report(report: VarianceReport) -> str:
    """The report as a table: one row per metric."""

    def num(x: float | None, digits: int = 4, none: str = "-") -> str:
        return none if x is None else f"{x:.{digits}f}"

    lines = [
        f"run-to-run variance: {report['personas']} personas x {report['runs_per_persona']} "
        f"runs ({report['split']} split, seeds {report['seeds']}); "
        f"{round(100 * report['confidence'])}% bootstrap CIs over personas",
        f"{'metric':<17}{'mean':>8}{'within':>10}{'between':>10}{'within/between':>16}"
        f"{'CI':>22}",
        "(within: variance across runs of one persona; between: across personas; "
        "inf: no persona-to-persona variance)",
    ]
    for name, m in report["metrics"].items():
        lo, hi = m["ratio_ci"]
        ci = f"[{num(lo, 2, 'inf')}, {num(hi, 2, 'inf')}]"
        flat = not m["within"] and not m["between"]  # constant or undefined: no ratio
        ratio = "-" if flat else num(m["ratio"], 2, "inf")
        lines.append(f"{name:<17}{num(m['mean'], 3):>8}{num(m['within']):>10}"
                     f"{num(m['between']):>10}{ratio:>16}{'' if flat else ci:>22}")
    if not report["stochastic"]:
        lines.append("within = 0 for every metric: every persona's runs scored alike (a "
                     "deterministic policy, or randomness that never reaches the metrics)")
    return "\n".join(lines)
