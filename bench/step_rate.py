"""Step rates of the persona_gym variants against CartPole-v1, measured in the same run.

Every env is made with ``gymnasium.make`` (default wrappers) and reset when an episode ends.
CartPole and the discrete and continuous variants are driven by ``env.action_space.sample()``;
the text variant by the random reference policy's reply (a candidate's text, since a sampled
string of random characters is not a reply). The headline is ``ratio = steps/s / CartPole
steps/s`` with CartPole measured before and after (issue 2 asked for >= 0.2 on a 2-core machine,
which v0 did not reach in pure Python; issue 10 asks that ``persona_gym/OpenChat-v1`` stay at
>= 0.06, v0's level). An instrumented run of v0 and of v1 splits the microseconds per step by
stage:
partner (next move), replies (candidate generation), judge (scoring + history), encoder
(observation) and other (reward, info, reset, wrappers, action sampling); it also reports
the random policy's steps per episode and the share of the time spent in ``reset``.

The MiniLM encoder (``encoder="minilm"``, needs ``persona-gym[minilm]``) is reported cold (a
fresh env: every text is new) and warm (the same seeds replayed: every text is cached).

Usage: ``python bench/step_rate.py [--seconds S]``. The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import time
from collections import defaultdict
from typing import Any

import gymnasium as gym
import numpy as np

import persona_gym  # noqa: F401


def _sampler(env: gym.Env) -> Any:
    """The random policy for ``env``: a sampled action, or a random candidate's text."""
    base = env.unwrapped
    if isinstance(env.action_space, gym.spaces.Text):
        rng = np.random.default_rng(0)
        return lambda: base.candidates[int(rng.integers(base.k))].text
    env.action_space.seed(0)
    return env.action_space.sample


def steps_per_second(env: gym.Env, seconds: float, warmup: int = 200) -> tuple[float, int]:
    """Random-policy steps per second over about ``seconds`` (after ``warmup`` steps)."""
    env.reset(seed=0)
    sample = _sampler(env)
    for _ in range(warmup):
        if any(env.step(sample())[2:4]):
            env.reset()
    n, start = 0, time.perf_counter()
    deadline = start + seconds
    while True:
        for _ in range(100):
            _, _, term, trunc, _ = env.step(sample())
            if term or trunc:
                env.reset()
        n += 100
        now = time.perf_counter()
        if now >= deadline:
            return n / (now - start), n


def minilm_rates(episodes: int) -> dict[str, float]:
    """Steps/s of OpenChat-v1 with the MiniLM encoder: cold (all texts new), then warm (the
    same seeds again, all texts cached)."""
    env = gym.make("persona_gym/OpenChat-v1", encoder="minilm")
    rates = {}
    for label in ("cold", "warm"):
        steps, start = 0, time.perf_counter()
        for seed in range(episodes):
            env.reset(seed=seed)
            env.action_space.seed(seed)
            term = False
            while not term:
                term = env.step(env.action_space.sample())[2]
                steps += 1
        rates[label] = steps / (time.perf_counter() - start)
    return rates


def _timed(fn: Any, bucket: str, totals: dict[str, float]) -> Any:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        t = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            totals[bucket] += time.perf_counter() - t

    wrapper.timed = True  # type: ignore[attr-defined]
    return wrapper


def stage_split(env_id: str, steps: int) -> dict[str, float]:
    """Microseconds per step by stage, from an instrumented run of ``steps`` steps; besides the
    stages (which sum to ``total``), ``steps_per_episode`` under the random policy and
    ``reset_share``, the fraction of the wall time spent in ``env.reset`` (its stages
    included)."""
    env = gym.make(env_id)
    base = env.unwrapped
    totals: dict[str, float] = defaultdict(float)

    def instrument() -> None:
        conv = base.conversation
        if not hasattr(conv._replies.candidates, "timed"):  # v1 shares one generator
            conv._replies.candidates = _timed(conv._replies.candidates, "replies", totals)
        conv.partner.next_move = _timed(conv.partner.next_move, "partner", totals)
        conv.judge.score = _timed(conv.judge.score, "judge", totals)
        conv.judge.commit = _timed(conv.judge.commit, "judge", totals)
        if conv.speaker is not getattr(conv.judge, "speaker", None):  # v0 keeps two histories
            conv.speaker.commit = _timed(conv.speaker.commit, "judge", totals)

    base.encoder.encode = _timed(base.encoder.encode, "encoder", totals)
    env.reset(seed=0)
    env.action_space.seed(0)
    instrument()
    done = episodes = 0
    in_reset = 0.0
    t0 = time.perf_counter()
    while done < steps:
        _, _, term, trunc, _ = env.step(env.action_space.sample())
        done += 1
        if term or trunc:
            episodes += 1
            t = time.perf_counter()
            env.reset()
            in_reset += time.perf_counter() - t
            instrument()
    wall = time.perf_counter() - t0
    out = {k: 1e6 * v / steps for k, v in sorted(totals.items())}
    out["other"] = 1e6 * wall / steps - sum(out.values())
    out["total"] = 1e6 * wall / steps
    out = {k: round(v, 2) for k, v in out.items()}
    out["steps_per_episode"] = round(steps / max(episodes, 1), 2)
    out["reset_share"] = round(in_reset / wall, 3)
    return out


VARIANTS = ("persona_gym/OpenChat-v0", "persona_gym/OpenChat-v1",
            "persona_gym/OpenChatContinuous-v1", "persona_gym/OpenChatText-v1")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="budget per env (default 5)")
    parser.add_argument("--minilm-episodes", type=int, default=60,
                        help="episodes per MiniLM pass (default 60; 0 skips MiniLM)")
    args = parser.parse_args()

    cart, _ = steps_per_second(gym.make("CartPole-v1"), args.seconds)
    rates = {env_id: steps_per_second(gym.make(env_id), args.seconds)[0] for env_id in VARIANTS}
    minilm = minilm_rates(args.minilm_episodes) if args.minilm_episodes else {}
    cart2, _ = steps_per_second(gym.make("CartPole-v1"), args.seconds)
    reference = (cart + cart2) / 2  # bracket our runs, the machine drifts
    split = {env_id: stage_split(env_id, 20_000) for env_id in VARIANTS[:2]}  # v0 and v1
    result = {
        "cartpole_steps_per_s": round(reference, 1),
        "steps_per_s": {k: round(v, 1) for k, v in rates.items()},
        "ratio": {k: round(v / reference, 4) for k, v in rates.items()},
        "target_ratio": {"persona_gym/OpenChat-v1": 0.06},  # issue 10: no regression past it
        "minilm_steps_per_s": {k: round(v, 1) for k, v in minilm.items()},
        "minilm_ratio": {k: round(v / reference, 5) for k, v in minilm.items()},
        "us_per_step_by_stage": split,
    }
    print(f"CartPole-v1: {reference:,.0f} steps/s")
    for env_id, rate in rates.items():
        print(f"{env_id}: {rate:,.0f} steps/s, ratio {rate / reference:.3f}")
    for label, rate in minilm.items():
        print(f"OpenChat-v1 with MiniLM ({label} cache): {rate:,.0f} steps/s, "
              f"ratio {rate / reference:.4f}")
    for env_id, stages in split.items():
        print(f"{env_id} us/step by stage (instrumented run): "
              + ", ".join(f"{k} {v}" for k, v in stages.items()))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
