"""``persona-gym refscores``: an env's reference scores."""

from __future__ import annotations

import argparse
import json

from persona_gym.cli._common import known_env_id, positive_int, progress_bar, seed_number


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``refscores`` command to ``sub``."""
    p = sub.add_parser(
        "refscores", help="measure an env's reference scores (random and expert)",
        description="Measure ref_min_score (random) and ref_max_score (expert) on test "
        "personas, as recorded in the env's task card.",
    )
    p.add_argument("--env", type=known_env_id, required=True, help="environment id")
    p.add_argument("--episodes", type=positive_int, default=2000,
                   help="episodes per policy (default 2000)")
    p.add_argument("--seed", type=seed_number, default=10_000, help="first seed (default 10000)")
    p.add_argument("--json", action="store_true", help="print {ref_min_score, ref_max_score, ...}")


def run(args: argparse.Namespace) -> int:
    """Run ``persona-gym refscores`` as parsed into ``args``; the exit code."""
    from persona_gym.evaluation import reference_scores

    out = reference_scores(args.env, args.episodes, args.seed, open_bar=progress_bar)
    if args.json:
        print(json.dumps(out))
    else:
        print(f"# {args.env}: `persona-gym refscores --env {args.env} --episodes {args.episodes} "
              f"--seed {args.seed}`")
        print(f"ref_min_score = {out['ref_min_score']}")
        print(f"ref_max_score = {out['ref_max_score']}")
    return 0
