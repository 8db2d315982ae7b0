"""Instructions per env step, counted by valgrind (callgrind): a noise-free companion to
bench/step_rate.py.

Wall-clock rates on a shared 2-core machine drift by ±20% from hour to hour; instruction counts
do not (they vary by well under 1% between runs, from hash randomisation). For each env this
runs ``STEPS`` random-policy steps under ``valgrind --tool=callgrind`` and the same script with 0
steps, and divides the difference by ``STEPS``: imports, env construction and warm-up cancel out.
``CartPole-v1`` is counted the same way in the same run. The ratio of instruction counts says
how much more work our step is; the wall-clock ratio step_rate.py reports has been lower still
(0.067 against 0.112 on 2026-11-27), since our steps run at fewer instructions per cycle.

Usage: ``python bench/step_instructions.py [--steps N]`` (needs valgrind; about two minutes).
The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys

ENVS = ("CartPole-v1", "persona_gym/OpenChat-v1", "persona_gym/OpenChatContinuous-v1",
        "persona_gym/OpenChatText-v1")

_DRIVER = """
import sys
import gymnasium as gym
import numpy as np
import persona_gym  # noqa: F401
env = gym.make(sys.argv[1])
env.reset(seed=0)
env.action_space.seed(0)
base = env.unwrapped
rng = np.random.default_rng(0)
text = isinstance(env.action_space, gym.spaces.Text)
def act():
    return base.candidates[int(rng.integers(base.k))].text if text else env.action_space.sample()
for _ in range(200):  # warm-up, counted in both runs
    if any(env.step(act())[2:4]):
        env.reset()
for _ in range(int(sys.argv[2])):
    if any(env.step(act())[2:4]):
        env.reset()
"""


def instructions(env_id: str, steps: int) -> int:
    """Total instructions (callgrind ``I refs``) of the driver for ``steps`` steps."""
    out = subprocess.run(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null",
         sys.executable, "-c", _DRIVER, env_id, str(steps)],
        capture_output=True, text=True, check=True,
    )
    match = re.search(r"I\s+refs:\s+([\d,]+)", out.stderr)
    if match is None:
        raise RuntimeError(f"no instruction count in valgrind's output:\n{out.stderr[-2000:]}")
    return int(match.group(1).replace(",", ""))


def per_step(env_id: str, steps: int) -> float:
    return (instructions(env_id, steps) - instructions(env_id, 0)) / steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=2000, help="counted steps per env")
    args = parser.parse_args()
    if shutil.which("valgrind") is None:
        sys.exit("valgrind is not installed: apt-get install valgrind")
    counts = {}
    for env_id in ENVS:
        counts[env_id] = per_step(env_id, args.steps)
        print(f"{env_id}: {counts[env_id]:,.0f} instructions/step", flush=True)
    ref = counts["CartPole-v1"]
    ratios = {k: round(ref / v, 4) for k, v in counts.items() if k != "CartPole-v1"}
    for env_id, r in ratios.items():
        print(f"{env_id}: CartPole-v1 instructions / this env's = {r:.3f}")
    print(json.dumps({"steps": args.steps,
                      "instructions_per_step": {k: round(v) for k, v in counts.items()},
                      "ratio_to_cartpole": ratios}))


if __name__ == "__main__":
    main()
