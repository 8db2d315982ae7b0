"""Batch-constrained Q-learning: d3rlpy DiscreteBCQ on the discrete variant.

    python baselines/bcq.py --env persona_gym/OpenChat-v1 --tier mixed --steps 5000

DiscreteBCQ only considers actions whose behaviour-cloning probability is at least
``action_flexibility`` times the most likely action's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from persona_gym.training import TrainArgs, arg, main_for


@dataclass
class Args(TrainArgs):
    env: str = arg("persona_gym/OpenChat-v1", "environment id (a discrete variant)")
    action_flexibility: float = arg(0.3, "threshold on the behaviour policy's probabilities")
    gamma: float = arg(0.99, "discount factor")


def algo_for(variant: str) -> str:
    if variant != "discrete":
        raise SystemExit("this script runs DiscreteBCQ: pass a discrete id (e.g. OpenChat-v1)")
    return "DiscreteBCQ"


def make_algo(args: Args, variant: str, device: str) -> Any:
    import d3rlpy

    return d3rlpy.algos.DiscreteBCQConfig(batch_size=args.batch_size, gamma=args.gamma,
                                          action_flexibility=args.action_flexibility).create(
        device=device)


if __name__ == "__main__":
    main_for(Args, algo_for, make_algo, __doc__)
