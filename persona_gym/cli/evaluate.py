"""``persona-gym evaluate``: the official evaluation protocol, written as results.json."""

from __future__ import annotations

import argparse
import json
import sys

from persona_gym.cli._common import (
    POLICY_HELP,
    known_env_id,
    policy_spec,
    positive_int,
    print_wrapper_stats,
    progress_bar,
    sampling_arguments,
    sampling_options,
    seed_number,
)
from persona_gym.evaluation import format_value


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``evaluate`` command to ``sub``."""
    p = sub.add_parser(
        "evaluate", help="the official evaluation protocol, written as results.json",
        description="Evaluate a policy with the official protocol: test personas (including the "
        "held-out partner style), fixed seeds, N episodes per seed; normalized score with a "
        "95% bootstrap CI, per-metric means, consistency by turn index, per-seed results. "
        "Trained policies run batched (a vector env, one forward pass per step).",
        epilog="The results format is documented in leaderboard/README.md and validated by "
        "leaderboard/schema.json.",
    )
    p.add_argument("--env", type=known_env_id, required=True, help="environment id")
    p.add_argument("--policy", required=True, type=policy_spec, help=POLICY_HELP)
    p.add_argument("--episodes", type=positive_int, default=100,
                   help="episodes per seed (default 100)")
    p.add_argument("--seeds", type=seed_number, nargs="+", default=[0, 1, 2],
                   help="evaluation seeds, distinct non-negative integers (default 0 1 2)")
    p.add_argument("--out", default=None,
                   help="write the results JSON here (checked before the evaluation starts; "
                   "written whole or not at all)")
    sampling_arguments(p)
    p.add_argument("--runs-per-persona", type=positive_int, default=1, metavar="N",
                   help="also replay every episode's persona N times in all (N >= 2), keeping "
                   "the env seed and varying only the policy's randomness (run 0 is the "
                   "official episode), and report each metric's within-persona and "
                   "between-persona variance and their ratio with a 95%% bootstrap CI "
                   "(docs/levers.md); the official results are unchanged")
    p.add_argument("--variance-out", default=None, metavar="PATH",
                   help="with --runs-per-persona: write the variance report JSON here")
    p.add_argument("--json", action="store_true",
                   help="print the results JSON (with --runs-per-persona, plus a 'variance' "
                   "key holding the report)")


def run(args: argparse.Namespace) -> int:
    """Run ``persona-gym evaluate`` as parsed into ``args``; the exit code."""
    from persona_gym.evaluation import check_evaluation_seeds, evaluate
    from persona_gym.output import check_destination, write_atomically
    from persona_gym.policies import load_policy

    def fail(message: str) -> int:
        print(f"persona-gym evaluate: error: {message}", file=sys.stderr)
        return 2

    if args.variance_out and args.runs_per_persona < 2:
        return fail("--variance-out needs --runs-per-persona N with N >= 2")
    report = None
    try:
        for path in (args.out, args.variance_out):
            if path:
                check_destination(path)
        check_evaluation_seeds(args.seeds, args.episodes)  # before the progress line
        policy = load_policy(args.policy, args.env, sampling_options(args))
        if args.runs_per_persona > 1:
            from persona_gym.levers.variance import evaluate_with_runs

            total = args.episodes * len(args.seeds) * args.runs_per_persona
            desc = f"evaluate x{args.runs_per_persona} runs on {args.env}"
            with progress_bar(total, desc) as bar:
                results, report = evaluate_with_runs(args.env, policy, args.runs_per_persona,
                                                     args.episodes, args.seeds,
                                                     progress=bar.update)
        else:
            with progress_bar(args.episodes * len(args.seeds), f"evaluate on {args.env}") as bar:
                results = evaluate(args.env, policy, args.episodes, args.seeds,
                                   progress=bar.update)
        results["policy"] = args.policy  # the spec as given, as a results file names it
    except (ValueError, FileNotFoundError) as exc:
        return fail(str(exc))
    if report is not None:
        report["policy"] = args.policy
        if args.variance_out:
            try:
                write_atomically(args.variance_out, json.dumps(report, indent=2))
            except OSError as exc:
                print(json.dumps(report))
                return fail(f"could not write {args.variance_out} ({exc.strerror or exc}); "
                            "the report is printed on stdout above")
    if args.out:
        try:
            write_atomically(args.out, json.dumps(results, indent=2))
        except OSError as exc:  # the folder changed during the run: keep the results
            print(json.dumps(results))
            return fail(f"could not write {args.out} ({exc.strerror or exc}); the results "
                        "are printed on stdout above")
    if args.json:
        print(json.dumps(results if report is None else {**results, "variance": report}))
    else:
        lo, hi = results["normalized_score_ci"]
        print(f"{args.env} | {args.policy} | seeds {args.seeds} x {args.episodes} episodes: "
              f"normalized score {results['normalized_score']:.1f} [{lo:.1f}, {hi:.1f}]")
        print("  " + ", ".join(f"{m} {format_value(v['mean'])}"
                               for m, v in results["metrics"].items()))
        print_wrapper_stats(policy)
        if report is not None:
            from persona_gym.levers.variance import format_report

            print()
            print(format_report(report))
        for path in (args.out, args.variance_out):
            if path:
                print(f"wrote {path}")
    return 0
