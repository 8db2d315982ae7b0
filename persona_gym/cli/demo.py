"""``persona-gym demo``: reference policies, then a quick offline-RL run."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from persona_gym.cli._common import known_env_id, positive_int, progress_bar, seed_number
from persona_gym.evaluation import compare_reference_policies, format_by_turn, format_value


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``demo`` command to ``sub``."""
    p = sub.add_parser(
        "demo", help="the README's main job: reference policies, then a quick offline-RL run",
        description="End to end on embedded defaults, CPU only, a few minutes: (1) every "
        "reference policy on the env (test personas): normalized score with 95% CI, per-metric "
        "means and the drift policy's consistency by turn index; (2) a small mixed dataset of "
        "the discrete variant, BC, CQL and BCQ (candidate-wise networks) trained briefly on it, "
        "evaluated with the "
        "official protocol, a table and plots (scaling.png, by_turn.png) in --out.",
    )
    p.add_argument("--env", type=known_env_id, default="persona_gym/OpenChat-v1",
                   help="environment id for part 1 (default persona_gym/OpenChat-v1)")
    p.add_argument("--episodes", type=positive_int, default=200,
                   help="episodes per reference policy (default 200)")
    p.add_argument("--seed", type=seed_number, default=0, help="first episode seed (default 0)")
    p.add_argument("--out", default="persona_gym_demo",
                   help="folder for datasets, runs, table and plots (default persona_gym_demo/)")
    p.add_argument("--skip-training", action="store_true", help="only part 1")
    p.add_argument("--json", action="store_true",
                   help="print one JSON object {reference: {policy: rollout summary}, "
                   "training: [rows of the table]}")


def run(args: argparse.Namespace) -> int:
    """Run ``persona-gym demo`` as parsed into ``args``; the exit code."""
    results = compare_reference_policies(args.env, args.episodes, args.seed,
                                         open_bar=progress_bar)
    if not args.json:  # each table as soon as it is ready
        _print_reference_tables(args, results)
    rows = [] if args.skip_training else _demo_training(args)
    if args.json:
        print(json.dumps({"reference": results, "training": rows}))
        return 0
    if rows:
        from pathlib import Path

        out = Path(args.out)
        print("\noffline RL from logged conversations (quick settings: a smoke test, not a "
              "result; see RESULTS.md)")
        print((out / "table.md").read_text())
        print("How to read it: each row trains on the first N logged episodes (train personas) "
              "and is scored on test\npersonas (0 = random, 100 = expert); 'selected on valid' "
              "is the checkpoint that scored best on\nvalid personas; 'behaviour' is the logged "
              "policy's own score, the bar offline RL should clear.")
        print(f"plots: {out / 'scaling.png'}, {out / 'by_turn.png'}")
    return 0


def _print_reference_tables(args: argparse.Namespace, results: dict[str, Any]) -> None:
    print(f"{args.env}: reference policies on test personas, {args.episodes} episodes each "
          f"from seed {args.seed}\n")
    first = next(iter(results.values()))["metrics"]
    cols = [c for c in ("p2l", "l2l", "qa", "capability", "asserted", "repetition")
            if c in first]  # consistency next to capability (v1)
    print("normalized: 0 = random, 100 = expert. p2l / l2l / qa: consistency with the persona, "
          "with one's own\nearlier lines, of answers (over lines that assert something); "
          "capability: the move was answered\ninformatively; asserted: share of lines that "
          "assert something (docs/metrics.md)\n")
    print(f"{'policy':<11}{'normalized':>11}{'95% CI':>17}" + "".join(f"{c:>11}" for c in cols))
    for name, r in results.items():
        lo, hi = r["normalized_score_ci"]
        ci = f"[{lo:.1f}, {hi:.1f}]"
        print(f"{name:<11}{r['normalized_score']:>11.1f}{ci:>17}"
              + "".join(f"{format_value(r['metrics'][c]['mean']):>11}" for c in cols))
    print("How to read it: the parrot stays in character but answers nothing and the assistant "
          "answers out of\ncharacter; both score near or below random, so consistency pays only "
          "together with capability.")
    print("\ndrift policy, consistency by turn index (it slips more as the conversation goes on)")
    print(format_by_turn(results["drift"]["by_turn"], ("p2l", "l2l", "qa")))
    print("How to read it: the share of the drift policy's lines at each turn that keep the "
          "persona (p2l), its own\nearlier lines (l2l) and its earlier answers (qa); '-' where "
          "no line at that turn asserts anything.", flush=True)


def _demo_training(args: argparse.Namespace) -> list[dict[str, Any]]:
    """Part 2 of the demo: the quick scaling study of BC, CQL and BCQ, datasets under --out."""
    import os
    from pathlib import Path

    from persona_gym.scaling import QUICK, StudySpec, run_study
    from persona_gym.training import quiet_d3rlpy

    quiet_d3rlpy()
    os.environ.setdefault("MINARI_DATASETS_PATH", str(Path(args.out).resolve() / "minari"))
    os.environ.setdefault("WANDB_SILENT", "true")
    spec = StudySpec(env="persona_gym/OpenChat-v1", tiers=("mixed",),
                     algos=("bc", "cql", "bcq"), batch_size=128, device="cpu:0", **QUICK)
    print(f"training BC, CQL and BCQ on CPU into {args.out}/ (a few minutes) ...",
          file=sys.stderr)
    return run_study(spec, args.out,
                     progress=lambda cell: print(f"  {cell}", file=sys.stderr))["rows"]
