"""Implicit Q-learning (d3rlpy IQL); continuous variant only (d3rlpy has no discrete IQL).

    python baselines/iql.py --env persona_gym/OpenChatContinuous-v1 --tier mixed --steps 5000

IQL never queries Q-values of unseen actions: it fits an upper expectile of the value and
extracts the policy by advantage-weighted regression.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from persona_gym.training import TrainArgs, arg, encoder_factory, main_for


@dataclass
class Args(TrainArgs):
    expectile: float = arg(0.7, "expectile of the value function")
    weight_temp: float = arg(3.0, "inverse temperature of advantage weighting")
    gamma: float = arg(0.99, "discount factor")


def algo_for(variant: str) -> str:
    if variant == "discrete":
        raise SystemExit("IQL needs the continuous variant (…Continuous-v1); d3rlpy's IQL is "
                         "continuous-only. For discrete ids use baselines/cql.py or bc.py.")
    return "IQL"


def make_algo(args: Args, variant: str, device: str) -> Any:
    import d3rlpy

    enc = encoder_factory(args)
    return d3rlpy.algos.IQLConfig(batch_size=args.batch_size, expectile=args.expectile,
                                  weight_temp=args.weight_temp, gamma=args.gamma,
                                  actor_encoder_factory=enc, critic_encoder_factory=enc,
                                  value_encoder_factory=enc).create(device=device)


if __name__ == "__main__":
    main_for(Args, algo_for, make_algo, __doc__)
