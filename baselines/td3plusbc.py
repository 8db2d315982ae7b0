"""TD3+BC (d3rlpy TD3PlusBC); continuous variant only.

    python baselines/td3plusbc.py --env persona_gym/OpenChatContinuous-v1 --tier mixed

TD3 with a behaviour-cloning term in the actor loss, weighted by ``alpha``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from persona_gym.training import TrainArgs, arg, encoder_factory, main_for


@dataclass
class Args(TrainArgs):
    alpha: float = arg(2.5, "weight of the Q term against behaviour cloning")
    gamma: float = arg(0.99, "discount factor")


def algo_for(variant: str) -> str:
    if variant == "discrete":
        raise SystemExit("TD3+BC needs the continuous variant (…Continuous-v1).")
    return "TD3PlusBC"


def make_algo(args: Args, variant: str, device: str) -> Any:
    import d3rlpy

    enc = encoder_factory(args)
    return d3rlpy.algos.TD3PlusBCConfig(batch_size=args.batch_size, alpha=args.alpha,
                                        gamma=args.gamma, actor_encoder_factory=enc,
                                        critic_encoder_factory=enc).create(device=device)


if __name__ == "__main__":
    main_for(Args, algo_for, make_algo, __doc__)
