"""Behaviour cloning: d3rlpy BC on the continuous variant, DiscreteBC on the discrete one.

    python baselines/bc.py --env persona_gym/OpenChatContinuous-v1 --tier mixed --steps 5000

Writes runs/{env}__{algo}__{seed}/ (config, metrics, ONNX policy, checkpoint, results);
see persona_gym/training.py. ``--help`` lists every argument.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from persona_gym.training import TrainArgs, arg, encoder_factory, main_for


@dataclass
class Args(TrainArgs):
    learning_rate: float = arg(1e-3, "Adam learning rate")


def algo_for(variant: str) -> str:
    return "DiscreteBC" if variant == "discrete" else "BC"


def make_algo(args: Args, variant: str, device: str) -> Any:
    import d3rlpy

    config = d3rlpy.algos.DiscreteBCConfig if variant == "discrete" else d3rlpy.algos.BCConfig
    return config(batch_size=args.batch_size, learning_rate=args.learning_rate,
                  encoder_factory=encoder_factory(args)).create(device=device)


if __name__ == "__main__":
    main_for(Args, algo_for, make_algo, __doc__)
