"""The project's training path against calling d3rlpy's ``fit`` directly.

Both train the same algorithm (DiscreteBC with the candidate-wise network the baselines use by
default, :mod:`persona_gym.networks`) on the same ``MDPDataset`` for the same number of updates;
the project's path (:func:`persona_gym.training.train`) adds its JSONL log and an offline wandb run.
Reported: seconds per update of each (the mean of alternating repeats, machines here are
noisy) and the overhead ratio; issue 5 asks for at most 5%. Evaluation and export, which
direct ``fit`` does not do, are excluded (``train`` times its ``fit`` call alone).

Usage: ``python bench/train_overhead.py [--steps 3000] [--repeats 3]``. Last line: JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time

ENV = "persona_gym/OpenChat-v1"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=3000, help="updates per run")
    parser.add_argument("--repeats", type=int, default=3, help="alternating repeats")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as root:
        os.environ["MINARI_DATASETS_PATH"] = os.path.join(root, "minari")
        os.environ.setdefault("WANDB_SILENT", "true")
        import d3rlpy
        from persona_gym.baselines import bc

        from persona_gym import datasets as D
        from persona_gym.networks import CandidateEncoderFactory, tie_heads
        from persona_gym.training import parse_args, train

        ds_id = D.build_dataset(ENV, "mixed", 500)
        mdp = D.to_mdp(ds_id)
        direct, ours = [], []
        for r in range(args.repeats):
            algo = d3rlpy.algos.DiscreteBCConfig(
                batch_size=256, encoder_factory=CandidateEncoderFactory(env=ENV)).create(
                device="cpu:0")
            algo.build_with_dataset(mdp)
            tie_heads(algo.impl)
            start = time.perf_counter()
            per_epoch = min(1000, args.steps)  # d3rlpy trains n_steps // per_epoch epochs
            algo.fit(mdp, n_steps=args.steps, n_steps_per_epoch=per_epoch, show_progress=False,
                     logger_adapter=d3rlpy.logging.NoopAdapterFactory())
            direct.append((time.perf_counter() - start) / args.steps)
            targs = parse_args(bc.Args, [
                "--env", ENV, "--steps", str(args.steps), "--steps-per-epoch", str(per_epoch),
                "--eval-episodes", "0", "--select-episodes", "0", "--wandb", "offline",
                "--device", "cpu:0",
                "--out", os.path.join(root, f"runs{r}")])
            summary = train(targs, "DiscreteBC", bc.make_algo)
            ours.append(summary["train_seconds"] / args.steps)
    d, o = sum(direct) / len(direct), sum(ours) / len(ours)
    print(f"direct fit: {1e3 * d:.3f} ms/update; persona_gym.training.train: {1e3 * o:.3f} "
          f"ms/update; overhead {100 * (o / d - 1):+.1f}% (target <= +5%)")
    print(json.dumps({"algo": "DiscreteBC", "network": "candidatewise", "env": ENV,
                      "steps": args.steps, "repeats": args.repeats, "direct_s_per_update": d,
                      "project_s_per_update": o, "overhead_ratio": o / d,
                      "target_overhead_ratio": 1.05}))


if __name__ == "__main__":
    main()
