"""Speed and memory of building a drift dataset end to end (env + judge + write).

Builds ``persona_gym/openchat/drift-v0`` from scratch in a temporary Minari folder, once with
10^4 and once with 10^5 transitions (each in a fresh process, so peak RSS is per build), and
reports transitions per second, peak resident memory of the writer process and of the largest
worker process, and bytes on disk per transition. Issue 4 asks for >= 10,000 transitions/s on a
2-core machine with peak RSS <= 1.5 GB that does not grow with the number of episodes.

The machine's own speed drifts (CartPole-v1 has run between 138k and 183k steps/s here on
different hours), so the run also measures ``CartPole-v1`` steps/s before and after the builds
and reports the throughput as a ratio to it: compare ratios across runs, not raw rates.

Usage: ``python bench/dataset_build.py [--sizes 10000,100000] [--workers W]``. The last line is
one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

ENV = "persona_gym/OpenChat-v1"
HORIZON = 12


def child(transitions: int, workers: int | None) -> None:
    from persona_gym import datasets as D

    episodes = -(-transitions // HORIZON)
    start = time.perf_counter()
    ds_id = D.build_dataset(ENV, "drift", episodes, workers=workers)
    seconds = time.perf_counter() - start
    info_path = D.datasets_root() / ds_id
    size = sum(f.stat().st_size for f in info_path.rglob("*") if f.is_file())
    print(json.dumps({
        "transitions": episodes * HORIZON,
        "seconds": seconds,
        "transitions_per_s": episodes * HORIZON / seconds,
        "peak_rss_mb_writer": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "peak_rss_mb_worker": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
        "bytes_per_transition": size / (episodes * HORIZON),
    }))


def cartpole_steps_per_s(seconds: float = 3.0) -> float:
    """Random-policy steps/s of ``gymnasium.make("CartPole-v1")`` (the machine-speed reference
    bench/step_rate.py uses too)."""
    import gymnasium as gym

    env = gym.make("CartPole-v1")
    env.reset(seed=0)
    env.action_space.seed(0)
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        for _ in range(1000):
            if any(env.step(env.action_space.sample())[2:4]):
                env.reset()
        n += 1000
    return n / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10000,100000", help="transitions per build")
    parser.add_argument("--workers", type=int, default=None, help="generation processes")
    parser.add_argument("--child", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        child(args.child, args.workers)
        return
    runs = {}
    cart = cartpole_steps_per_s()
    for size in (int(s) for s in args.sizes.split(",")):
        with tempfile.TemporaryDirectory() as root:
            env = {**os.environ, "MINARI_DATASETS_PATH": root}
            cmd = [sys.executable, __file__, "--child", str(size)]
            if args.workers is not None:
                cmd += ["--workers", str(args.workers)]
            out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
            runs[size] = json.loads(out.stdout.strip().splitlines()[-1])
        r = runs[size]
        print(f"{r['transitions']:>7} transitions: {r['transitions_per_s']:,.0f}/s, peak RSS "
              f"writer {r['peak_rss_mb_writer']:.0f} MB, worker {r['peak_rss_mb_worker']:.0f} MB, "
              f"{r['bytes_per_transition']:,.0f} bytes/transition on disk")
    cart = (cart + cartpole_steps_per_s()) / 2  # bracket the builds, the machine drifts
    largest = runs[max(runs)]
    print(f"CartPole-v1 (same run): {cart:,.0f} steps/s; transitions/s per CartPole step/s: "
          f"{largest['transitions_per_s'] / cart:.4f}")
    print(json.dumps({
        "env": ENV,
        "tier": "drift",
        "cpus": os.cpu_count(),
        "runs": runs,
        "transitions_per_s": round(largest["transitions_per_s"], 1),
        "target_transitions_per_s": 10_000,
        "cartpole_steps_per_s": round(cart, 1),
        "ratio_to_cartpole": round(largest["transitions_per_s"] / cart, 5),
        "peak_rss_mb": round(max(max(r["peak_rss_mb_writer"], r["peak_rss_mb_worker"])
                                 for r in runs.values()), 1),
        "target_peak_rss_mb": 1536,
        "bytes_per_transition": round(largest["bytes_per_transition"], 1),
    }))


if __name__ == "__main__":
    main()
