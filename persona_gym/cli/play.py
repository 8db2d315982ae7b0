"""``persona-gym play``: the agent played by a person in the terminal."""

from __future__ import annotations

import argparse
import json
import sys

from persona_gym.cli._common import known_env_id, seed_number
from persona_gym.world import SPLITS

PLAY_JSON_HELP = """\
With --json, the conversation is still shown on stderr and, at the end, one JSON object is
printed on stdout with keys: env_id, seed, return, normalized_score, metrics {...}."""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``play`` command to ``sub``."""
    p = sub.add_parser(
        "play", help="play the agent yourself in the terminal",
        description="Pick the agent's replies yourself: the partner's line and the numbered "
        "candidates are shown, you type a number, and each line's scores are shown back. "
        "Type q to quit.",
        epilog=PLAY_JSON_HELP, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--env", type=known_env_id, default="persona_gym/OpenChat-v1",
                   help="environment id (default persona_gym/OpenChat-v1)")
    p.add_argument("--seed", type=seed_number, default=None, help="episode seed (default: random)")
    p.add_argument("--split", choices=SPLITS, default="test",
                   help="persona split (default: test)")
    p.add_argument("--json", action="store_true", help="print the final result as JSON")


def run(args: argparse.Namespace) -> int:
    """Run ``persona-gym play`` as parsed into ``args``; the exit code."""
    from persona_gym.play import play

    result = play(args.env, args.seed, args.split, show=sys.stderr if args.json else sys.stdout)
    if result is None:
        return 1
    if args.json:
        print(json.dumps(result))
    return 0
