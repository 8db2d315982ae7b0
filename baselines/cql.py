"""Conservative Q-learning: d3rlpy CQL on the continuous variant, DiscreteCQL on the discrete one.

    python baselines/cql.py --env persona_gym/OpenChatContinuous-v1 --tier mixed --steps 5000

CQL penalises Q-values of actions the dataset does not take, so the policy stays near the data
while preferring its better actions. Continuous CQL is slow on CPU (about 12 updates/s at batch
256 on 2 cores); use a GPU (``--device auto`` picks CUDA) for real runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from persona_gym.training import TrainArgs, arg, encoder_factory, main_for


@dataclass
class Args(TrainArgs):
    alpha: float = arg(1.0, "conservative penalty weight (DiscreteCQL alpha; CQL conservative "
                       "weight)")
    gamma: float = arg(0.99, "discount factor")
    learning_rate: float = arg(3e-4, "Q-function learning rate (and actor's, continuous)")
    target_update_interval: int = arg(500, "updates between target-network copies (discrete; "
                                      "continuous CQL updates its target softly)")


def algo_for(variant: str) -> str:
    return "DiscreteCQL" if variant == "discrete" else "CQL"


def make_algo(args: Args, variant: str, device: str) -> Any:
    import d3rlpy

    enc = encoder_factory(args)
    if variant == "discrete":
        config = d3rlpy.algos.DiscreteCQLConfig(
            batch_size=args.batch_size, alpha=args.alpha, gamma=args.gamma,
            learning_rate=args.learning_rate, encoder_factory=enc,
            target_update_interval=args.target_update_interval)
    else:
        config = d3rlpy.algos.CQLConfig(
            batch_size=args.batch_size, conservative_weight=args.alpha, gamma=args.gamma,
            actor_learning_rate=args.learning_rate / 3, critic_learning_rate=args.learning_rate,
            actor_encoder_factory=enc, critic_encoder_factory=enc)
    return config.create(device=device)


if __name__ == "__main__":
    main_for(Args, algo_for, make_algo, __doc__)
