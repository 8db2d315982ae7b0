"""``persona-gym scale``: the scaling study."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from persona_gym.cli._common import known_env_id, positive_int
from persona_gym.training import NETWORKS


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``scale`` command to ``sub``."""
    p = sub.add_parser(
        "scale", help="the scaling study: score vs dataset size per algorithm",
        description="Train baselines on growing prefixes of each tier's dataset, evaluate them "
        "with the official protocol and write table.md, table.csv, scaling.png and by_turn.png "
        "into --out. Finished cells are kept: re-running resumes. --ray runs the cells as "
        "Ray tasks, on this machine's cores or a cluster (docs/scale.md).",
    )
    p.add_argument("--env", type=known_env_id, default="persona_gym/OpenChat-v1",
                   help="environment id (discrete or continuous variant)")
    p.add_argument("--tiers", default="drift,mixed", help="comma-separated tiers")
    p.add_argument("--sizes", default="100,300,1000,3000,10000",
                   help="comma-separated dataset sizes in episodes")
    p.add_argument("--algos", default="bc,cql,bcq",
                   help="comma-separated baselines: bc, cql, bcq (discrete ids), iql, "
                   "td3plusbc (continuous ids; bc and cql run on both); online ppo, dqn "
                   "(discrete ids, needs [sb3]) with as many env steps as the cell's "
                   "dataset has transitions")
    p.add_argument("--network", choices=NETWORKS, default="candidatewise",
                   help="the learners' network: one shared scorer per candidate (default) or "
                   "d3rlpy's flat MLP; cells of both can share one --out")
    p.add_argument("--select-episodes", type=int, default=50,
                   help="valid-persona episodes after each epoch to select a checkpoint, "
                   "reported beside the final policy (0: none; default 50)")
    p.add_argument("--select-every", type=positive_int, default=None, metavar="UPDATES",
                   help="updates between those checkpoints (default: a fifth of --steps, at "
                   "most 1000)")
    p.add_argument("--seeds", type=positive_int, default=3, help="training seeds per cell")
    p.add_argument("--steps", type=positive_int, default=10_000, help="updates per run")
    p.add_argument("--batch-size", type=positive_int, default=256, help="minibatch size")
    p.add_argument("--eval-episodes", type=positive_int, default=100,
                   help="evaluation episodes per evaluation seed")
    p.add_argument("--eval-seeds", type=int, nargs="+", default=[0],
                   help="evaluation seeds (default 0)")
    p.add_argument("--device", default="auto", help="auto, cpu:0 or cuda:0")
    p.add_argument("--wandb", choices=("offline", "online", "disabled"), default="offline",
                   help="wandb mode (default offline: nothing leaves the machine)")
    p.add_argument("--quick", action="store_true",
                   help="smoke-test settings (sizes 100,300; 400 updates; 1 seed; 50 episodes)")
    p.add_argument("--report-only", action="store_true",
                   help="train nothing: write the tables and plots over every finished cell in "
                   "--out (cells of several studies may share it), evaluating the behaviour "
                   "policies with --env, --eval-episodes and --eval-seeds if not cached")
    p.add_argument("--out", default="scaling", help="output folder (default scaling/)")
    p.add_argument("--json", action="store_true", help="print the aggregate rows as JSON")
    p.add_argument("--ray", nargs="?", const="local", default=None, metavar="ADDRESS",
                   help="run each missing cell as a Ray task (needs pip install "
                   "\"persona-gym[ray]\"); the datasets are built on Ray too. Without ADDRESS: "
                   "start a local Ray with this machine's cores. ADDRESS: auto (the cluster `ray "
                   "start --head` started here, or $RAY_ADDRESS), HOST:PORT, or "
                   "ray://HOST:10001. $MINARI_DATASETS_PATH must be on a filesystem every node "
                   "sees (and --out should be, to keep the run folders together). A failed "
                   "cell is reported and retried (--retries); the others go on, and the "
                   "tables are made from the finished cells. docs/scale.md")
    p.add_argument("--cpus-per-run", type=float, default=1.0,
                   help="with --ray: CPUs each cell declares (default 1; its torch threads)")
    p.add_argument("--gpus-per-run", type=float, default=0.0,
                   help="with --ray: GPUs each cell declares (default 0; 0.5 puts two cells on "
                   "a GPU). --device auto then trains on the cell's GPU when it has one, else "
                   "on the CPU")
    p.add_argument("--retries", type=int, default=2,
                   help="with --ray: times a failed cell is submitted again (default 2)")


def _scale_spec(args: argparse.Namespace) -> Any:
    from persona_gym.scaling import QUICK, StudySpec

    def ints(text: str) -> tuple[int, ...]:
        return tuple(int(x) for x in text.split(",") if x)

    fields = {"sizes": ints(args.sizes), "steps": args.steps,
              "eval_episodes": args.eval_episodes, "seeds": tuple(range(args.seeds)),
              "eval_seeds": tuple(args.eval_seeds)}
    if args.quick:
        fields.update(QUICK)
    return StudySpec(env=args.env, tiers=tuple(t for t in args.tiers.split(",") if t),
                     algos=tuple(a for a in args.algos.split(",") if a), device=args.device,
                     wandb=args.wandb, batch_size=args.batch_size, network=args.network,
                     select_episodes=args.select_episodes,
                     select_every=args.select_every or 0, **fields)


def run(args: argparse.Namespace) -> int:
    """Run ``persona-gym scale`` as parsed into ``args``; the exit code."""
    from persona_gym.scaling import report, run_study
    from persona_gym.training import quiet_d3rlpy

    quiet_d3rlpy()
    try:
        if args.ray is None and (args.cpus_per_run != 1.0 or args.gpus_per_run != 0.0
                                 or args.retries != 2):
            raise ValueError("--cpus-per-run, --gpus-per-run and --retries apply to --ray; "
                             "add --ray (docs/scale.md)")
        if args.cpus_per_run < 0 or args.gpus_per_run < 0 or args.retries < 0:
            raise ValueError("--cpus-per-run, --gpus-per-run and --retries must be >= 0")
        spec = _scale_spec(args)
        if args.report_only:
            if args.ray is not None:
                raise ValueError("--report-only trains nothing; drop --ray")
            result = {**report(spec, args.out), "failed": []}
        else:
            result = run_study(spec, args.out,
                               progress=lambda cell: print(f"cell: {cell}", file=sys.stderr),
                               ray_address=args.ray, cpus_per_run=args.cpus_per_run,
                               gpus_per_run=args.gpus_per_run, retries=args.retries)
    except (ValueError, FileExistsError, ImportError, ConnectionError) as exc:
        print(f"persona-gym scale: error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(result["rows"]))
    elif result["rows"]:
        from pathlib import Path

        print((Path(args.out) / "table.md").read_text())
        print(f"tables and plots in {args.out}/ (table.md, table.csv, scaling.png, by_turn.png)")
    if result["failed"]:
        for cell in result["failed"]:
            print(f"persona-gym scale: cell {cell['tier']} size={cell['size']} {cell['algo']} "
                  f"seed={cell['seed']} failed {cell['attempts']} times: {cell['error']}",
                  file=sys.stderr)
        print(f"persona-gym scale: {len(result['failed'])} cell(s) failed; the tables hold the "
              "finished ones. Run the same command again to retry them (finished cells are "
              "kept)", file=sys.stderr)
        return 1
    return 0
