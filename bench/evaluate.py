"""Evaluating 1,000 episodes of a trained policy with the official protocol.

Trains a small DiscreteBC policy (exported as ONNX, as every baseline is), then times
``persona_gym.evaluation.evaluate`` on 1,000 test episodes (batched: a vector env and one
forward pass per step) for the discrete and the continuous variant. Issue 5 asks for <= 30 s on
a 2-core machine. Usage: ``python bench/evaluate.py [--episodes 1000]``. Last line: JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time

ENVS = (("persona_gym/OpenChat-v1", "DiscreteBC"), ("persona_gym/OpenChatContinuous-v1", "BC"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--episodes", type=int, default=1000, help="episodes to evaluate")
    args = parser.parse_args()
    out = {"episodes": args.episodes, "target_seconds": 30, "seconds": {}}
    with tempfile.TemporaryDirectory() as root:
        os.environ["MINARI_DATASETS_PATH"] = os.path.join(root, "minari")
        from persona_gym.baselines import bc

        from persona_gym.evaluation import evaluate
        from persona_gym.training import parse_args, train

        for env_id, algo in ENVS:
            targs = parse_args(bc.Args, ["--env", env_id, "--dataset-episodes", "100",
                                         "--steps", "200", "--eval-episodes", "0", "--wandb",
                                         "disabled", "--out", os.path.join(root, "runs")])
            policy = os.path.join(train(targs, algo, bc.make_algo)["logdir"], "policy.onnx")
            start = time.perf_counter()
            results = evaluate(env_id, policy, episodes=args.episodes, seeds=[0])
            seconds = time.perf_counter() - start
            out["seconds"][env_id] = round(seconds, 2)
            print(f"{env_id}: {results['episodes']} episodes of a trained {algo} policy in "
                  f"{seconds:.1f} s (target <= 30 s)")
    print(json.dumps(out))


if __name__ == "__main__":
    main()
