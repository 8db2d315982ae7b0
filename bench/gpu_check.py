"""A short check that the baselines train on CUDA (run it on a GPU machine).

Builds a small mixed dataset, trains each baseline family for ``--steps`` updates with
``device="auto"`` (which must pick CUDA), and reports updates per second on the GPU and, for
comparison, on the CPU in the same run, plus the exported policy's evaluation (ONNX,
batched). The last line printed is one JSON object.

Usage: ``python bench/gpu_check.py [--steps 300] [--episodes 300]``.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time

from persona_gym.baselines import bc, cql, iql

from persona_gym.training import parse_args, resolve_device, train

RUNS = [(bc, "persona_gym/OpenChatContinuous-v1", "BC"),
        (iql, "persona_gym/OpenChatContinuous-v1", "IQL"),
        (cql, "persona_gym/OpenChatContinuous-v1", "CQL"),
        (cql, "persona_gym/OpenChat-v1", "DiscreteCQL")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=300, help="updates per run")
    parser.add_argument("--episodes", type=int, default=300, help="dataset episodes")
    parser.add_argument("--cpu", action="store_true", help="also time CQL on the CPU")
    args = parser.parse_args()
    device = resolve_device("auto")
    out: dict = {"device": device, "runs": {}}
    with tempfile.TemporaryDirectory() as root:
        os.environ["MINARI_DATASETS_PATH"] = os.path.join(root, "minari")
        for module, env_id, algo in RUNS:
            for dev in [device] + (["cpu:0"] if args.cpu and algo == "CQL" else []):
                targs = parse_args(module.Args, [
                    "--env", env_id, "--dataset-episodes", str(args.episodes),
                    "--steps", str(args.steps), "--eval-episodes", "100", "--device", dev,
                    "--wandb", "disabled", "--out", os.path.join(root, f"runs-{dev}"),
                ])
                start = time.perf_counter()
                summary = train(targs, algo, module.make_algo)
                key = f"{algo}@{dev}"
                out["runs"][key] = {
                    "updates_per_s": round(summary["updates_per_s"], 1),
                    "normalized_score": round(summary["normalized_score"], 2),
                    "wall_s": round(time.perf_counter() - start, 1),
                }
                print(key, out["runs"][key], flush=True)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
