"""Dataset generation on Ray against the plain build, on this machine's cores, in one run.

Builds ``persona_gym/openchat/drift-v1`` four ways, each in a fresh process with its own
temporary Minari folder: the plain build with 1 worker (in-process) and with 2 worker
processes, and the Ray build (``build_dataset(..., ray_address="local")``) on a local Ray with
1 and with 2 CPUs. Each way runs ``--repeats`` times, interleaved (plain 1, Ray 1, plain 2, Ray
2, then again), and the median is reported, so the machine's drift hits all of them alike.

The Ray build's time is measured once its local Ray is up (``ray.init`` takes seconds and is
reported on its own, ``ray_start_s``): a cluster is started once and serves many builds. Issue
16 asks, on 2 cores: the 2-worker Ray build at least 1.5x the 1-worker Ray build, and Ray's
overhead over the plain build with the same number of workers at most 15% (build time of Ray /
build time of plain - 1).

Usage: ``python bench/ray_build.py [--transitions 60000] [--repeats 3]``. Needs
``pip install "persona-gym[ray]"``. The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

ENV = "persona_gym/OpenChat-v1"
HORIZON = 12
WAYS = (("plain", 1), ("ray", 1), ("plain", 2), ("ray", 2))


def child(way: str, workers: int, transitions: int) -> None:
    """One build, timed; prints one JSON line."""
    from persona_gym import datasets as D
    from persona_gym import distributed

    episodes = -(-transitions // HORIZON)
    on_ray = way == "ray"
    t0 = time.perf_counter()
    with distributed.session(distributed.LOCAL, workers) if on_ray else contextlib.nullcontext():
        ray_start = time.perf_counter() - t0 if on_ray else None
        start = time.perf_counter()
        D.build_dataset(ENV, "drift", episodes, workers=workers,
                        ray_address=distributed.LOCAL if on_ray else None)
        seconds = time.perf_counter() - start
    print(json.dumps({"way": way, "workers": workers, "transitions": episodes * HORIZON,
                      "seconds": seconds, "transitions_per_s": episodes * HORIZON / seconds,
                      "ray_start_s": ray_start}))


def run(way: str, workers: int, transitions: int) -> dict:
    with tempfile.TemporaryDirectory() as root:
        env = {**os.environ, "MINARI_DATASETS_PATH": root}
        cmd = [sys.executable, __file__, "--child", way, str(workers), str(transitions)]
        out = subprocess.run(cmd, env=env, capture_output=True, text=True)
        if out.returncode:
            raise SystemExit(f"{way} build with {workers} worker(s) failed:\n{out.stderr}")
        return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--transitions", type=int, default=60_000, help="transitions per build")
    parser.add_argument("--repeats", type=int, default=3, help="runs of each way (median)")
    parser.add_argument("--child", nargs=3, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        way, workers, transitions = args.child
        child(way, int(workers), int(transitions))
        return
    runs: dict[str, list[dict]] = {f"{w}_{n}": [] for w, n in WAYS}
    for rep in range(args.repeats):
        for way, workers in WAYS:
            r = run(way, workers, args.transitions)
            runs[f"{way}_{workers}"].append(r)
            start = f", Ray start {r['ray_start_s']:.1f} s" if r["ray_start_s"] else ""
            print(f"repeat {rep + 1}: {way:>5} build, {workers} worker(s): "
                  f"{r['transitions_per_s']:,.0f} transitions/s ({r['seconds']:.1f} s{start})",
                  flush=True)
    tps = {k: statistics.median(r["transitions_per_s"] for r in v) for k, v in runs.items()}
    speedup = tps["ray_2"] / tps["ray_1"]
    overhead = {n: tps[f"plain_{n}"] / tps[f"ray_{n}"] - 1 for n in (1, 2)}
    ray_start = statistics.median(r["ray_start_s"] for k in ("ray_1", "ray_2") for r in runs[k])
    print(f"median of {args.repeats}, {args.transitions:,} transitions per build, "
          f"{os.cpu_count()} cores:")
    for key, value in tps.items():
        print(f"  {key.replace('_', ' build, ')} worker(s): {value:,.0f} transitions/s")
    print(f"Ray 2 workers / Ray 1 worker: {speedup:.2f}x (target >= 1.5x)")
    for n in (1, 2):
        print(f"Ray overhead over the plain build, {n} worker(s): {100 * overhead[n]:+.1f}% "
              "(target <= 15%)")
    print(f"local Ray start (not in the build times): {ray_start:.1f} s")
    print(json.dumps({
        "env": ENV,
        "tier": "drift",
        "cpus": os.cpu_count(),
        "transitions": args.transitions,
        "repeats": args.repeats,
        "transitions_per_s": {k: round(v, 1) for k, v in tps.items()},
        "ray_speedup_2_over_1": round(speedup, 3),
        "target_ray_speedup_2_over_1": 1.5,
        "ray_overhead": {str(n): round(v, 4) for n, v in overhead.items()},
        "target_ray_overhead": 0.15,
        "ray_start_s": round(ray_start, 2),
        "runs": runs,
    }))


if __name__ == "__main__":
    main()
