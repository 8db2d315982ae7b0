"""``persona-gym rollout``: a reference policy's metrics on N episodes."""

from __future__ import annotations

import argparse
import json
import sys

from persona_gym.cli._common import (
    POLICY_HELP,
    innermost,
    known_env_id,
    policy_spec,
    positive_int,
    print_wrapper_stats,
    progress_bar,
    sampling_arguments,
    sampling_options,
    seed_number,
)
from persona_gym.evaluation import format_by_turn, format_value
from persona_gym.world import SPLITS

ROLLOUT_JSON_HELP = """\
With --json, prints one JSON object with keys: env_id, policy, split, seed, episodes,
normalized_score, normalized_score_ci [low, high] (95% bootstrap), return_mean, return_ci,
metrics {p2l, l2l, qa, relevance, capability, asserted, repetition, contradiction: {mean,
ci}} (v0 ids: no capability or asserted), by_turn {p2l, l2l,
qa, relevance: [mean at turn 1, 2, ...]}, ref_min_score, ref_max_score."""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``rollout`` command to ``sub``."""
    p = sub.add_parser(
        "rollout", help="run a reference policy and report metrics",
        description="Run a reference policy for N episodes (test personas by default) and print "
        "mean and 95% CI per metric, the normalized score, and consistency by turn index.",
        epilog=ROLLOUT_JSON_HELP, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--env", type=known_env_id, required=True, help="environment id (see `list`)")
    p.add_argument("--policy", type=policy_spec, default="expert",
                   help=POLICY_HELP + " (default: expert)")
    p.add_argument("--episodes", type=positive_int, default=100, help="episodes (default 100)")
    p.add_argument("--seed", type=seed_number, default=0, help="first episode seed (default 0)")
    p.add_argument("--split", choices=SPLITS, default="test",
                   help="persona split (default: test)")
    sampling_arguments(p)
    p.add_argument("--json", action="store_true", help="print one JSON object (keys below)")


def run(args: argparse.Namespace) -> int:
    """Run ``persona-gym rollout`` as parsed into ``args``; the exit code."""
    from persona_gym.evaluation import check_rollout_seed, env_entry, rollout, summarize
    from persona_gym.policies import load_policy

    inner = innermost(args.policy)
    if inner.startswith("hf:") and env_entry(args.env).variant != "text":
        print(f"persona-gym rollout: error: {inner} answers in free text; use a text "
              f"variant such as {args.env.replace('-v', 'Text-v', 1)}", file=sys.stderr)
        return 2
    try:
        check_rollout_seed(args.seed, args.episodes)  # before the progress line: one-line errors
        policy = load_policy(args.policy, args.env, sampling_options(args))
        with progress_bar(args.episodes, f"{args.policy} on {args.env}") as bar:
            episodes = rollout(args.env, policy, args.episodes, args.seed, args.split,
                               progress=bar.update)
    except (ValueError, FileNotFoundError) as exc:  # bad seeds, a policy that misbehaves
        print(f"persona-gym rollout: error: {exc}", file=sys.stderr)
        return 2
    result = {"policy": args.policy, "split": args.split, "seed": args.seed,
              **summarize(args.env, episodes)}
    if args.json:
        print(json.dumps(result))
        return 0
    print_wrapper_stats(policy)
    lo, hi = result["normalized_score_ci"]
    print(f"{args.env} | policy {args.policy} | {args.split} personas | "
          f"{result['episodes']} episodes from seed {args.seed}")
    print(f"normalized score  {result['normalized_score']:7.1f}   95% CI [{lo:.1f}, {hi:.1f}]")
    print(f"return            {result['return_mean']:7.3f}   (ref min {result['ref_min_score']}, "
          f"ref max {result['ref_max_score']})")
    print()
    print(f"{'metric':<14}{'mean':>8}{'95% CI':>20}")
    for name, m in result["metrics"].items():
        ci = f"[{format_value(m['ci'][0])}, {format_value(m['ci'][1])}]"
        print(f"{name:<14}{format_value(m['mean']):>8}{ci:>20}")
    print()
    print("consistency by turn index (mean over episodes; qa over question turns)")
    print(format_by_turn(result["by_turn"]))
    return 0
