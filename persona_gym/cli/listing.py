"""``persona-gym list``: the registered environments."""

from __future__ import annotations

import argparse
import json


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``list`` command to ``sub``."""
    p = sub.add_parser("list", help="list the registered environments",
                       description="List every registered persona_gym id with a description.")
    p.add_argument("--json", action="store_true",
                   help="print one JSON object {id: {description, horizon, domain, card}}")


def run(args: argparse.Namespace) -> int:
    """Run ``persona-gym list`` as parsed into ``args``; the exit code."""
    import gymnasium as gym

    from persona_gym.envs import card_of, registered_ids

    rows = {}
    for env_id in registered_ids():
        card, entry = card_of(env_id)
        rows[env_id] = {"description": entry.description, "horizon": entry.horizon,
                        "domain": card.domain, "card": gym.registry[env_id].kwargs["card"]}
    if args.json:
        print(json.dumps(rows))
        return 0
    width = max(len(i) for i in rows)
    for env_id, row in rows.items():
        print(f"{env_id:<{width}}  {row['description']}")
    return 0
