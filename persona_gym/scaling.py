"""The scaling study: normalized score against dataset size, per algorithm and data tier.

For each tier the dataset is built once at the largest size; a cell ``(tier, size, algo, seed)``
trains the baseline on the first ``size`` episodes (:func:`persona_gym.training.train`),
evaluates its exported policy with the official protocol and stores the result as
``{out}/cells/{tier}__{size}__{algo}__{seed}.json``. Finished cells are never re-run, so an
interrupted study resumes where it stopped. The behaviour policy of each tier is evaluated with
the same protocol (``mixed``: the mean of random, drift and expert). Online learners (``ppo``,
``dqn``: :data:`ONLINE`) share the table: their cell of size N interacts with the env (train
personas) for as many steps as the first N logged episodes hold, a matched budget. Offline
cells also report the checkpoint selected on valid personas (``selected``).

Outputs in ``{out}``: ``table.md`` and ``table.csv`` (mean normalized score over seeds with a
95% bootstrap CI over seeds), ``scaling.png`` (score vs size per algorithm, CI bands, the
behaviour policy dashed) and ``by_turn.png`` (l2l and qa by turn index for the best policy
against the behaviour policy: does offline RL remove late-conversation drift?).

On Ray (``run_study(..., ray_address=...)``, ``persona-gym scale --ray``; docs/scale.md) each
missing cell is a Ray task running :func:`run_cell` with the resources it declares, so a cell's
file is the same wherever it ran; failed cells are retried and reported, not fatal.
"""

from __future__ import annotations

import csv
import dataclasses
import importlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from persona_gym.evaluation import bootstrap_ci, evaluate
from persona_gym.output import write_atomically

MIXED_POLICIES = ("random", "drift", "expert")


@dataclass(frozen=True)
class StudySpec:
    """What a study runs (``persona-gym scale`` arguments)."""

    env: str
    tiers: tuple[str, ...]
    sizes: tuple[int, ...]
    algos: tuple[str, ...]
    seeds: tuple[int, ...]
    steps: int
    eval_episodes: int
    eval_seeds: tuple[int, ...]
    batch_size: int = 256
    device: str = "auto"
    wandb: str = "offline"
    network: str = "candidatewise"
    select_episodes: int = 50
    select_every: int = 0
    """Updates between valid-persona checkpoints; 0: :func:`steps_per_epoch`'s default."""


QUICK = {"sizes": (100, 300), "steps": 400, "eval_episodes": 50, "seeds": (0,),
         "eval_seeds": (0,), "select_episodes": 20}
"""``--quick``: minutes on a laptop CPU; a smoke test of the whole pipeline, not a result."""


ONLINE = ("ppo", "dqn")
"""Online learners (Stable-Baselines3, ``persona_gym.online``): a cell of size N interacts with
the env for as many steps as the first N logged episodes hold transitions."""


def _baseline(algo: str) -> Any:
    if algo in ONLINE:
        from persona_gym.online import require_sb3

        require_sb3()
        return None
    try:
        return importlib.import_module(f"persona_gym.baselines.{algo}")
    except ModuleNotFoundError:
        from persona_gym.baselines import ALGOS

        raise ValueError(f"unknown algorithm {algo!r}; choose from "
                         f"{', '.join((*ALGOS, *ONLINE))}") from None


def behaviour_score(spec: StudySpec, tier: str, out: Path) -> dict[str, Any]:
    """The tier's behaviour policy under the protocol (cached: ``behaviour_{tier}.json``)."""
    path = out / f"behaviour_{tier}.json"
    if path.exists():
        return json.loads(path.read_text())
    policies = MIXED_POLICIES if tier == "mixed" else (tier,)
    runs = [evaluate(spec.env, p, episodes=spec.eval_episodes, seeds=spec.eval_seeds)
            for p in policies]
    result = {
        "tier": tier,
        "normalized_score": float(np.mean([r["normalized_score"] for r in runs])),
        "by_turn": {m: _mean_lists([r["by_turn"][m] for r in runs])
                    for m in ("p2l", "l2l", "qa")},
    }
    path.write_text(json.dumps(result, indent=2))
    return result


def _mean_or_none(values: list[float | None]) -> float | None:
    """The mean of the known values (v0 results lack v1's metrics such as capability)."""
    known = [v for v in values if v is not None]
    return float(np.mean(known)) if known else None


def _mean_lists(lists: list[list[float | None]]) -> list[float | None]:
    out = []
    for values in zip(*lists, strict=True):
        ok = [v for v in values if v is not None]
        out.append(float(np.mean(ok)) if ok else None)
    return out


def cell_path(spec: StudySpec, tier: str, size: int, algo: str, seed: int, out: Path) -> Path:
    """Where a cell's result is stored: ``{out}/cells/{tier}__{size}__{label}__{seed}.json``."""
    from persona_gym.training import algo_label

    return out / "cells" / f"{tier}__{size}__{algo_label(algo, spec.network)}__{seed}.json"


SELECT_EVERY_MAX = 1000
"""The most updates between two valid-persona checkpoints of a study run: the offline learners
here peak after a few hundred to a couple of thousand updates and then overfit (RESULTS.md), so
a long run must not check only every ``steps // 5`` updates."""


def steps_per_epoch(steps: int, select_every: int = 0) -> int:
    """Updates between checkpoints (each is played on valid personas for the selected policy):
    ``select_every`` when given, else a fifth of the run, at most :data:`SELECT_EVERY_MAX`."""
    if select_every:
        return min(select_every, steps)
    return max(1, min(steps // 5, SELECT_EVERY_MAX))


def budget(spec: StudySpec, algo: str) -> dict[str, Any]:
    """What a cell of ``algo`` was trained and evaluated with, stored in the cell: a finished
    cell is reused only by a study that asks for the same (online learners' env steps follow
    from the dataset, so they record only the env and the protocol)."""
    protocol = {"env": spec.env, "eval_episodes": spec.eval_episodes,
                "eval_seeds": list(spec.eval_seeds)}
    if algo in ONLINE:
        return protocol
    return {**protocol, "steps": spec.steps, "batch_size": spec.batch_size,
            "select_episodes": spec.select_episodes,
            "steps_per_epoch": steps_per_epoch(spec.steps, spec.select_every)}


def read_cell(spec: StudySpec, tier: str, size: int, algo: str, seed: int,
              out: Path) -> dict | None:
    """The finished cell's result, or None when it has not run. Raises ``ValueError`` naming
    the difference and the fix when it was made with another budget than ``spec``'s (a study
    with ``--steps 10000`` must not silently reuse cells trained for 3,000 updates)."""
    path = cell_path(spec, tier, size, algo, seed, out)
    if not path.exists():
        return None
    cell = json.loads(path.read_text())
    want = budget(spec, algo)
    have = cell.get("budget")
    if have is None:
        raise ValueError(
            f"{path} records no budget (it predates budget recording), so it cannot be "
            f"checked against this study's; add \"budget\": {json.dumps(want)} to it if that "
            "is how it was made, or delete it to run it again")
    diff = [f"{k} {have.get(k)!r} there, {v!r} here" for k, v in want.items()
            if have.get(k) != v]
    if diff:
        raise ValueError(
            f"{path} was made with another budget ({'; '.join(diff)}); write this study to "
            "another --out, or delete the cell to run it again with these settings")
    return cell


def run_cell(spec: StudySpec, tier: str, size: int, algo: str, seed: int, out: Path) -> dict:
    """Train and evaluate one cell (or read it when it is already done, see
    :func:`read_cell`)."""
    from persona_gym.evaluation import env_entry
    from persona_gym.training import train

    done = read_cell(spec, tier, size, algo, seed, out)
    if done is not None:
        return done
    path = cell_path(spec, tier, size, algo, seed, out)
    if algo in ONLINE:
        cell = {**_online_cell(spec, tier, size, algo, seed, out), "budget": budget(spec, algo)}
        _write_cell(path, cell)
        return cell

    module = _baseline(algo)
    args = module.Args(
        env=spec.env, tier=tier, dataset_episodes=max(spec.sizes), train_episodes=size,
        steps=spec.steps, steps_per_epoch=steps_per_epoch(spec.steps, spec.select_every),
        seed=seed,
        batch_size=spec.batch_size, network=spec.network, select_episodes=spec.select_episodes,
        eval_episodes=spec.eval_episodes, eval_seeds=list(spec.eval_seeds), device=spec.device,
        wandb=spec.wandb, wandb_group=f"scale:{spec.env}",
        out=str(out / "runs" / f"{tier}__{size}"), force=True,
    )
    variant = env_entry(spec.env).variant
    summary = train(args, module.algo_for(variant), module.make_algo,
                    tags=["scale", f"size={size}"])
    results = json.loads((Path(summary["logdir"]) / "results.json").read_text())
    cell = {"tier": tier, "size": size, "algo": summary["algo"], "seed": seed,
            "network": spec.network, "normalized_score": results["normalized_score"],
            "selected": summary.get("selected"),
            "metrics": {m: v["mean"] for m, v in results["metrics"].items()},
            "by_turn": results["by_turn"], "train_seconds": summary["train_seconds"],
            "run": summary["run"], "budget": budget(spec, algo)}
    _write_cell(path, cell)
    return cell


def _online_cell(spec: StudySpec, tier: str, size: int, algo: str, seed: int,
                 out: Path) -> dict[str, Any]:
    """An online learner with the step budget of the first ``size`` episodes of ``tier``."""
    from persona_gym import datasets as D
    from persona_gym.online import OnlineArgs, train_online

    steps = D.prefix_transitions(D.dataset_id(spec.env, tier), size)
    args = OnlineArgs(algo=algo, env=spec.env, steps=steps, network=spec.network, seed=seed,
                      eval_episodes=spec.eval_episodes, eval_seeds=list(spec.eval_seeds),
                      wandb=spec.wandb, out=str(out / "runs" / f"{tier}__{size}"), force=True)
    summary = train_online(args)
    results = json.loads((Path(summary["logdir"]) / "results.json").read_text())
    return {"tier": tier, "size": size, "algo": summary["algo"], "seed": seed,
            "network": spec.network, "normalized_score": results["normalized_score"],
            "selected": None, "env_steps": steps,
            "metrics": {m: v["mean"] for m, v in results["metrics"].items()},
            "by_turn": results["by_turn"], "train_seconds": summary["train_seconds"],
            "run": summary["run"]}


def _write_cell(path: Path, cell: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(path, json.dumps(cell, indent=2))


def ensure_datasets(spec: StudySpec, ray_address: str | None = None) -> None:
    """Build each tier's dataset at the largest size (rebuild when an existing one is smaller),
    on Ray when ``ray_address`` is given (the same data either way)."""
    from persona_gym import datasets as D

    for tier in spec.tiers:
        ds_id = D.dataset_id(spec.env, tier)
        if ds_id in D.list_datasets() and D.load(ds_id).total_episodes >= max(spec.sizes):
            continue
        D.build_dataset(spec.env, tier, max(spec.sizes), force=True, ray_address=ray_address)


Cell = tuple[str, int, str, int]
"""A cell's key: (tier, size, algorithm, seed)."""


def _cells(spec: StudySpec) -> list[Cell]:
    return [(tier, size, algo, seed) for tier in spec.tiers for size in spec.sizes
            for algo in spec.algos for seed in spec.seeds]


def _describe(cell: Cell) -> str:
    tier, size, algo, seed = cell
    return f"{tier} size={size} {algo} seed={seed}"


def run_study(spec: StudySpec, out: str | Path,
              progress: Callable[[str], None] | None = None, *,
              ray_address: str | None = None, cpus_per_run: float = 1.0,
              gpus_per_run: float = 0.0, retries: int = 2) -> dict[str, Any]:
    """Run every missing cell, then write the tables and plots; returns the aggregate rows
    (``rows``), the behaviour scores, ``out`` and the cells that ``failed``.

    Without ``ray_address`` the cells run one after another in this process and the first
    failure stops the study. With it (``pip install "persona-gym[ray]"``; ``"local"`` starts a
    local Ray with this machine's cores, any other address connects to a cluster) each missing
    cell is a Ray task declaring ``cpus_per_run`` CPUs and ``gpus_per_run`` GPUs (``device``
    ``auto`` then means ``cuda:0`` of its GPU when it has one, else the CPU), written by
    :func:`run_cell` as in-process; a failed cell is reported through ``progress`` and
    submitted again up to ``retries`` times, and one that keeps failing is listed in
    ``failed`` (``{tier, size, algo, seed, error, attempts}``) while the others carry on. The
    tables and plots are made from the finished cells once every cell has ended; run the
    study again to retry the failed ones (finished cells are kept). docs/scale.md."""
    out = Path(out)
    for algo in spec.algos:
        _baseline(algo)  # fail early on a typo
    for cell in _cells(spec):  # a finished cell of another budget stops the study at once
        read_cell(spec, *cell, out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "spec.json").write_text(json.dumps(spec.__dict__, indent=2))
    failed: list[dict[str, Any]] = []
    if ray_address is None:
        ensure_datasets(spec)
        cells = []
        for cell in _cells(spec):
            if progress:
                progress(_describe(cell))
            cells.append(run_cell(spec, *cell, out))
    else:
        from persona_gym import distributed

        with distributed.session(ray_address):
            distributed.check_fits(cpus_per_run, gpus_per_run,
                                   can_grow=ray_address != distributed.LOCAL, say=progress)
            ensure_datasets(spec, ray_address)
            cells, failed = _run_on_ray(spec, out.resolve(), progress, cpus=cpus_per_run,
                                        gpus=gpus_per_run, retries=retries)
    if not cells:  # every cell failed: nothing to tabulate
        return {"rows": [], "behaviour": {}, "out": str(out), "failed": failed}
    return {**_outputs(spec, cells, out), "failed": failed}


def report(spec: StudySpec, out: str | Path) -> dict[str, Any]:
    """Tables and plots over every finished cell in ``{out}/cells`` (several studies' cells may
    share a folder: other sizes per tier, flat and online learners); nothing is trained. The
    behaviour policies are evaluated with ``spec``'s protocol settings when not cached."""
    out = Path(out)
    paths = sorted((out / "cells").glob("*.json"))
    if not paths:
        raise ValueError(f"no finished cells in {out / 'cells'}; run the study first")
    cells = [json.loads(p.read_text()) for p in paths]
    for path, cell in zip(paths, cells, strict=True):
        if "budget" not in cell:
            raise ValueError(f"{path} records no budget (it predates budget recording), so "
                             "its row cannot say how it was trained; add its \"budget\" "
                             "(see persona_gym.scaling.budget) or delete it")
    tiers = tuple(sorted({c["tier"] for c in cells}))
    return _outputs(dataclasses.replace(spec, tiers=tiers), cells, out)


def _outputs(spec: StudySpec, cells: list[dict], out: Path) -> dict[str, Any]:
    behaviour = {tier: behaviour_score(spec, tier, out) for tier in spec.tiers}
    rows = aggregate(cells, behaviour)
    write_tables(rows, out)
    plot(rows, cells, behaviour, spec, out)
    return {"rows": rows, "behaviour": behaviour, "out": str(out)}


def _cell_task(spec: StudySpec, tier: str, size: int, algo: str, seed: int,
               out: str) -> dict[str, Any]:
    """One cell in a Ray worker: :func:`run_cell`, after checking that this node sees the
    tier's dataset (a node that does not would otherwise build its own copy), with as many
    torch threads as the task declared CPUs."""
    import os

    import torch

    from persona_gym import datasets as D
    from persona_gym.distributed import node_name
    from persona_gym.training import quiet_d3rlpy

    quiet_d3rlpy()  # its per-epoch lines are in the run folder (metrics.jsonl)
    # Ray sets OMP_NUM_THREADS for each task, but torch reads it once per process and Ray
    # reuses a worker for tasks of other sizes
    threads = os.environ.get("OMP_NUM_THREADS", "")
    if threads.isdigit() and int(threads) > 0:
        torch.set_num_threads(int(threads))
    ds_id = D.dataset_id(spec.env, tier)
    if ds_id not in D.list_datasets():
        raise D.DatasetError(
            f"node {node_name()} sees no dataset {ds_id} under {D.datasets_root()}; put "
            "MINARI_DATASETS_PATH on a filesystem every node sees (docs/scale.md)")
    return run_cell(spec, tier, size, algo, seed, Path(out))


def _run_on_ray(spec: StudySpec, out: Path, progress: Callable[[str], None] | None, *,
                cpus: float, gpus: float, retries: int
                ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The cells of ``spec`` (finished ones read from ``out``, the others as Ray tasks), in
    the study's order, and the ones that failed every attempt."""
    import os

    from persona_gym.distributed import Outcome, run_all

    say = progress or (lambda _line: None)
    keys = _cells(spec)
    todo = [k for k in keys if not cell_path(spec, *k, out).exists()]
    task_spec = spec
    if spec.device == "auto":  # use only what the task declared
        task_spec = dataclasses.replace(spec, device="cuda:0" if gpus > 0 else "cpu:0")
    env = {}
    if os.environ.get("MINARI_DATASETS_PATH"):
        env["MINARI_DATASETS_PATH"] = str(Path(os.environ["MINARI_DATASETS_PATH"]).resolve())
    say(f"{len(todo)} of {len(keys)} cells to run on Ray ({cpus:g} CPU, {gpus:g} GPU each; "
        f"up to {retries} retries)")

    def on_event(event: str, outcome: Outcome) -> None:
        cell = tuple(outcome.args[1:5])
        if event == "done":
            say(f"done {_describe(cell)}")
        elif event == "retry":
            say(f"failed {_describe(cell)} (attempt {outcome.attempts} of {retries + 1}), "
                f"retrying: {outcome.error}")
        else:
            say(f"FAILED {_describe(cell)} after {outcome.attempts} attempts: "
                f"{outcome.error}")

    outcomes = run_all(_cell_task, [(task_spec, *k, str(out)) for k in todo], cpus=cpus,
                       gpus=gpus, retries=retries, env=env, report=on_event)
    results: dict[Cell, dict[str, Any]] = {}
    failed = []
    for outcome in outcomes:
        key = tuple(outcome.args[1:5])
        if outcome.error is None:
            path = cell_path(spec, *key, out)
            if not path.exists():  # the node wrote it on a disk this machine does not see
                _write_cell(path, outcome.result)
            results[key] = outcome.result
        else:
            tier, size, algo, seed = key
            failed.append({"tier": tier, "size": size, "algo": algo, "seed": seed,
                           "error": outcome.error, "attempts": outcome.attempts})
    cells = []
    for key in keys:
        if key in results:
            cells.append(results[key])
        elif key not in todo:
            cells.append(run_cell(spec, *key, out))  # finished before: read from its file
    return cells, failed


def aggregate(cells: Sequence[dict], behaviour: dict[str, dict]) -> list[dict[str, Any]]:
    """One row per (tier, size, algo, updates): mean over seeds and a 95% bootstrap CI over
    seeds. Cells of one learner trained for different numbers of updates (studies sharing a
    folder) are separate rows; ``updates`` is None for online learners."""
    groups: dict[tuple[str, int, str, int], list[dict]] = {}
    for c in cells:
        updates = c["budget"].get("steps", -1)  # -1: online, sorts first
        groups.setdefault((c["tier"], c["size"], c["algo"], updates), []).append(c)
    rows = []
    for (tier, size, algo, updates), group in sorted(groups.items()):
        scores = np.array([c["normalized_score"] for c in group])
        lo, hi = bootstrap_ci(scores)
        picked = [c["selected"]["normalized_score"] for c in group
                  if (c.get("selected") or {}).get("normalized_score") is not None]
        sel_lo, sel_hi = bootstrap_ci(np.array(picked)) if picked else (None, None)
        rows.append({
            "tier": tier, "size": size, "algo": algo,
            "updates": None if updates == -1 else updates, "seeds": len(group),
            "normalized_score": float(scores.mean()), "ci_low": lo, "ci_high": hi,
            "selected_score": float(np.mean(picked)) if picked else None,
            "selected_ci_low": sel_lo, "selected_ci_high": sel_hi,
            "p2l": float(np.mean([c["metrics"]["p2l"] for c in group])),
            "l2l": float(np.mean([c["metrics"]["l2l"] for c in group])),
            "qa": float(np.mean([c["metrics"]["qa"] for c in group])),
            "capability": _mean_or_none([c["metrics"].get("capability") for c in group]),
            "behaviour": behaviour[tier]["normalized_score"],
        })
    return rows


def write_tables(rows: list[dict[str, Any]], out: Path) -> None:
    keys = list(rows[0]) if rows else []
    with (out / "table.csv").open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=keys)
        writer.writeheader()
        writer.writerows(rows)
    lines = ["| tier | episodes | algorithm | updates | seeds | final policy | 95% CI "
             "| selected on valid | 95% CI | p2l | l2l | qa | capability | behaviour |",
             "|---|---:|---|---:|---:|---:|---|---:|---|---:|---:|---:|---:|---:|"]
    def interval(low: float, high: float, seeds: int) -> str:
        return f"[{low:.1f}, {high:.1f}]" if seeds > 1 else "– (1 seed)"

    for r in rows:
        sel, ci = "–", "–"
        if r["selected_score"] is not None:
            sel = f"{r['selected_score']:.1f}"
            ci = interval(r["selected_ci_low"], r["selected_ci_high"], r["seeds"])
        lines.append(
            f"| {r['tier']} | {r['size']} | {r['algo']} | "
            f"{'online' if r['updates'] is None else format(r['updates'], ',')} | {r['seeds']} | "
            f"{r['normalized_score']:.1f} | {interval(r['ci_low'], r['ci_high'], r['seeds'])} | "
            f"{sel} | {ci} | {r['p2l']:.3f} | {r['l2l']:.3f} | {r['qa']:.3f} | "
            f"{'–' if r['capability'] is None else format(r['capability'], '.3f')} | "
            f"{r['behaviour']:.1f} |")
    (out / "table.md").write_text("\n".join(lines) + "\n")


def plot(rows: list[dict[str, Any]], cells: Sequence[dict], behaviour: dict[str, dict],
         spec: StudySpec, out: Path) -> None:
    """``scaling.png`` (score vs dataset size per learner, 95% CI bands over training seeds, the
    behaviour policy dashed; online learners dotted at their matched step budgets) and
    ``by_turn.png`` (p2l, l2l and qa by turn for the best learner against the behaviour)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FixedLocator, NullLocator, ScalarFormatter

    env = spec.env.split("/")[-1]
    tiers = list(spec.tiers)
    fig, axes = plt.subplots(1, len(tiers), figsize=(6 * len(tiers), 4.6), squeeze=False)
    handles: dict[str, Any] = {}
    label = _series(rows)
    algos = sorted(set(label.values()))
    colors = {a: f"C{i % 10}" for i, a in enumerate(algos)}  # one colour per learner everywhere
    for ax, tier in zip(axes[0], tiers, strict=True):
        sizes = sorted({r["size"] for r in rows if r["tier"] == tier})
        for algo in algos:
            rs = sorted((r for r in rows if r["tier"] == tier and label[id(r)] == algo),
                        key=lambda r: r["size"])
            if not rs:
                continue
            x = [r["size"] for r in rs]
            style = ":" if rs[0]["updates"] is None or rs[0]["algo"].endswith("-flat") else "-"
            (line,) = ax.plot(x, [r["normalized_score"] for r in rs], marker="o",
                              linestyle=style, label=algo, color=colors[algo])
            if max(r["seeds"] for r in rs) > 1:
                ax.fill_between(x, [r["ci_low"] for r in rs], [r["ci_high"] for r in rs],
                                alpha=0.18, color=line.get_color())
            handles[algo] = line
        handles["behaviour policy"] = ax.axhline(
            behaviour[tier]["normalized_score"], color="gray", linestyle="--")
        if len(sizes) >= 3:  # a log axis only with enough points, ticks at the real sizes
            ax.set_xscale("log")
            ax.xaxis.set_major_locator(FixedLocator(sizes))
            ax.xaxis.set_major_formatter(ScalarFormatter())
            ax.xaxis.set_minor_locator(NullLocator())
        elif sizes:
            ax.set_xticks(sizes)
        ax.set_xlabel("dataset size (logged episodes; online: as many env steps)")
        ax.set_ylabel("normalized score (0 = random, 100 = expert)")
        ax.set_title(f"{env}, {tier} data: test personas")
        ax.grid(alpha=0.3)
    fig.legend(list(handles.values()), list(handles), loc="lower center",
               ncol=min(len(handles), 5), fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    fig.savefig(out / "scaling.png", dpi=120)
    plt.close(fig)

    offline = [c for c in cells if c.get("selected", True) is not None] or list(cells)
    best = max(offline, key=lambda c: (c["size"], c["normalized_score"]))
    metrics = [m for m in ("p2l", "l2l", "qa") if m in best["by_turn"]]
    fig, axes = plt.subplots(1, len(metrics), figsize=(5 * len(metrics), 4), squeeze=False)
    for ax, metric in zip(axes[0], metrics, strict=True):
        turns = np.arange(1, len(best["by_turn"][metric]) + 1)
        ax.plot(turns, _nan(best["by_turn"][metric]), marker="o",
                label=f"{best['algo']} (seed {best['seed']}, {best['size']} {best['tier']} "
                "episodes)")
        if metric in behaviour[best["tier"]]["by_turn"]:
            ax.plot(turns, _nan(behaviour[best["tier"]]["by_turn"][metric]), marker="s",
                    linestyle="--", label=f"behaviour ({best['tier']})")
        ax.set_xlabel("agent turn")
        ax.set_ylabel(f"{metric} (mean over lines at that turn)")
        ax.set_ylim(-0.02, 1.02)
        ax.set_title(f"{metric} by turn, {env}, test personas", fontsize=10)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="lower left")
    fig.tight_layout()
    fig.savefig(out / "by_turn.png", dpi=120)
    plt.close(fig)


def _series(rows: Sequence[dict[str, Any]]) -> dict[int, str]:
    """Each row's line in the plot (by ``id``): the learner, with its number of updates when
    the folder holds the learner at several."""
    budgets: dict[str, set] = {}
    for r in rows:
        budgets.setdefault(r["algo"], set()).add(r["updates"])
    return {id(r): r["algo"] if len(budgets[r["algo"]]) == 1 else
            f"{r['algo']} ({r['updates']:,} updates)" for r in rows}


def _nan(values: list[float | None]) -> list[float]:
    return [np.nan if v is None else v for v in values]
