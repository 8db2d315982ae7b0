"""The ``persona-gym`` command line.

Each command is a module of this package holding its parser (``register``) next to its handler
(``run``); the handlers parse and print, and call the library for the work. :func:`main` is the
console script (``persona-gym``, also ``python -m persona_gym.cli``).
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from persona_gym.cli import (
    datasets,
    demo,
    evaluate,
    judge,
    leaderboard,
    levers,
    listing,
    play,
    refscores,
    rollout,
    scale,
)

__all__ = ["build_parser", "main"]

COMMANDS = {"list": listing, "rollout": rollout, "play": play, "judge": judge,
            "datasets": datasets, "evaluate": evaluate, "scale": scale, "demo": demo,
            "refscores": refscores, "levers": levers, "leaderboard": leaderboard}
"""Each command's module, in the order ``persona-gym --help`` lists them."""


def build_parser() -> argparse.ArgumentParser:
    """The parser of every command (each module's ``register``)."""
    parser = argparse.ArgumentParser(
        prog="persona-gym",
        description="Persona-consistency dialogue environments for reinforcement learning.",
        epilog="Start with `persona-gym demo`; `persona-gym COMMAND --help` explains each "
        "command. Metrics and reward: docs/metrics.md; results: RESULTS.md.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in COMMANDS.values():
        command.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``persona-gym`` with ``argv`` (default: the process's arguments); the exit code."""
    args = build_parser().parse_args(argv)
    return COMMANDS[args.command].run(args)
