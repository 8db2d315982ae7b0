"""The reward invariants of docs/metrics.md (task v1), checked over every move type and every
candidate kind the generator makes, on real conversations of every v1 discrete id."""

from __future__ import annotations

import math
from collections import defaultdict

import gymnasium as gym
import numpy as np
import pytest

import persona_gym
from persona_gym.dialogue import Line, LineScores
from persona_gym.partners import MOVES
from persona_gym.rewards import episode_metrics, line_reward
from persona_gym.world import AI

V1_IDS = [i for i in persona_gym.registered_ids()
          if i.endswith("-v1") and "Continuous" not in i and "Text" not in i]


def _turns(env_id: str, episodes: int = 40):
    """Every (move, candidate, scores, reward) of conversations driven by random choices."""
    env = gym.make(env_id, split="train").unwrapped
    w = env.card.reward
    rng = np.random.default_rng(0)
    for seed in range(episodes):
        env.reset(seed=seed)
        done = False
        while not done:
            move = env.move
            for c in env.candidates:
                s = env.judge.score(move, c)
                yield move, c, s, line_reward(s, w)
            _, _, done, _, _ = env.step(int(rng.integers(env.k)))


@pytest.mark.parametrize("env_id", V1_IDS)
def test_reward_order_holds_on_every_move_type(env_id: str) -> None:
    w = gym.make(env_id).unwrapped.card.reward
    seen_moves: set[str] = set()
    by_kind: dict[str, list[float]] = defaultdict(list)
    for move, line, s, r in _turns(env_id):
        seen_moves.add(move.kind)
        by_kind[line.kind].append(r)
        fresh = not s.repetition
        if s.contradiction or AI in line.facts:
            assert r < 0, (move, line, s)
        elif not s.asserted and fresh:  # a dodge or a pleasantry: at most a small amount
            assert 0 < r <= w.idle, (move, line, s)
        if r == 1.0:  # nothing earns the full reward without being relevant and consistent
            assert s.relevance and s.asserted and not s.contradiction and fresh
            assert math.isnan(s.qa) or s.qa == 1.0
        if line.kind == "consistent" and fresh:
            assert r == 1.0, (move, line, s)
    # every move type the partner makes was met (challenge follows slips of the random policy)
    assert seen_moves >= set(MOVES) - {"topic_shift"} or seen_moves >= set(MOVES) - {"meta"}
    assert max(by_kind["consistent"]) == 1.0
    for kind in ("contradict_persona", "contradict_history", "assistant"):
        assert by_kind[kind] and max(by_kind[kind]) < 0, kind
    assert by_kind["parrot"] and max(by_kind["parrot"]) < 0
    for kind in ("evasive", "engaging"):
        assert by_kind[kind] and 0 < max(by_kind[kind]) <= w.idle


def test_silence_is_not_consistency() -> None:
    """A line that asserts nothing has no p2l / l2l / qa; the episode means skip it."""
    env = gym.make("persona_gym/OpenChat-v1").unwrapped
    env.reset(seed=0)
    s = env.judge.score(env.move, Line("Hmm, let's not get into that.", (), "evade"))
    assert math.isnan(s.p2l) and math.isnan(s.l2l) and math.isnan(s.qa) and s.asserted == 0
    good = LineScores(1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.0, 0.0)
    m = episode_metrics([s, good], [0.05, 1.0])
    assert m["p2l"] == 1.0 and m["asserted"] == 0.5 and m["capability"] == 0.5


def test_partner_leaves_when_trust_runs_out_and_it_costs() -> None:
    env = gym.make("persona_gym/OpenChat-v1", split="test").unwrapped
    w = env.card.reward
    env.reset(seed=3)
    rewards, info, done = [], {}, False
    while not done:
        i = [c.kind for c in env.candidates].index("assistant")
        _, r, done, _, info = env.step(i)
        rewards.append(r)
    assert info["partner_left"] and len(rewards) < env.horizon
    assert rewards[-1] == pytest.approx(-w.contradiction - w.leave)
    assert info["metrics"]["length"] == len(rewards)


def test_premises_are_true_about_half_the_time() -> None:
    env = gym.make("persona_gym/OpenChat-v1", split="train").unwrapped
    truth = []
    for seed in range(150):
        env.reset(seed=seed)
        done = False
        while not done:
            move = env.move
            if move.kind == "premise":
                truth.append(env.judge.speaker.is_wrong(
                    type(AI)(move.relation, move.value)) is False)
            i = [c.kind for c in env.candidates].index("consistent")
            _, _, done, _, _ = env.step(i)
    assert len(truth) > 100
    assert 0.35 < np.mean(truth) < 0.65
