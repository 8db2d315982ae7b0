"""Batch-constrained Q-learning: d3rlpy DiscreteBCQ on the discrete variant.

    python baselines/bcq.py --env persona_gym/OpenChat-v1 --tier mixed --steps 5000

DiscreteBCQ only considers actions whose behaviour-cloning probability is at least
``action_flexibility`` times the most likely action's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from persona_gym.training import TrainArgs, arg, encoder_factory, main_for


@dataclass
class Args(TrainArgs):
    env: str = arg("persona_gym/OpenChat-v1", "environment id (a discrete variant)")
    action_flexibility: float = arg(0.3, "threshold on the behaviour policy's probabilities")
    gamma: float = arg(0.99, "discount factor")
    learning_rate: float = arg(3e-4, "Adam learning rate")
    target_update_interval: int = arg(500, "updates between target-network copies")


def algo_for(variant: str) -> str:
    if variant != "discrete":
        raise SystemExit("this script runs DiscreteBCQ: pass a discrete id (e.g. OpenChat-v1)")
    return "DiscreteBCQ"


def make_algo(args: Args, variant: str, device: str) -> Any:
    import d3rlpy

    # the imitator gets its own scorer: with a shared candidate-wise encoder its logits would be
    # the Q-values themselves (both heads are the identity over the scores)
    return d3rlpy.algos.DiscreteBCQConfig(
        batch_size=args.batch_size, gamma=args.gamma, learning_rate=args.learning_rate,
        action_flexibility=args.action_flexibility, encoder_factory=encoder_factory(args),
        target_update_interval=args.target_update_interval,
        share_encoder=args.network == "flat").create(device=device)


if __name__ == "__main__":
    main_for(Args, algo_for, make_algo, __doc__)
