"""Rollouts and the official evaluation refuse a misbehaving policy or a bad seed with a one-line
:class:`~persona_gym.evaluation.PolicyError` / ``ValueError``: what was expected and what came.

The policies here are small Python objects with the generic policy protocol (``name``,
``reset``, ``act`` and, for the batched path, ``act_batch``), not any file format.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import gymnasium as gym
import numpy as np
import pytest

from persona_gym.evaluation import (
    EVAL_SEED_BASE,
    MAX_SEED,
    PolicyError,
    compare_reference_policies,
    episode_seed,
    evaluate,
    format_by_turn,
    reference_scores,
    rollout,
    summarize,
)

DISCRETE = "persona_gym/OpenChat-v0"
CONTINUOUS = "persona_gym/OpenChatContinuous-v0"
TEXT = "persona_gym/OpenChatText-v0"


class OnePolicy:
    """Acts one observation at a time with ``act``."""

    def __init__(self, act: Callable[[Any], Any], name: str = "custom") -> None:
        self.name = name
        self._act = act

    def reset(self, rng: np.random.Generator) -> None:
        del rng

    def act(self, obs: Any) -> Any:
        return self._act(obs)


class BatchPolicy(OnePolicy):
    """Acts on a batch of observations with ``act_batch`` (the path trained policies take)."""

    def __init__(self, act_batch: Callable[[Any], Any], name: str = "custom") -> None:
        super().__init__(lambda obs: act_batch(np.asarray(obs)[None])[0], name)
        self._act_batch = act_batch

    def act_batch(self, obs: np.ndarray) -> Any:
        return self._act_batch(obs)


def linear(rows: int, cols: int) -> np.ndarray:
    return np.random.default_rng(0).standard_normal((rows, cols)).astype(np.float32)


def run(policy: Any, env_id: str = DISCRETE) -> None:
    evaluate(env_id, policy, episodes=2, seeds=[0])


# -- policies that work --------------------------------------------------------------------------


def test_well_behaved_python_policies_run_on_both_paths() -> None:
    """The checks let valid output through, including integral floats on Discrete and
    slightly out-of-range floats on Box (clipped in the batched path, as before)."""
    r = evaluate(DISCRETE, BatchPolicy(lambda o: np.full(len(o), 1.0)), episodes=2, seeds=[0])
    assert r["episodes"] == 2
    r = evaluate(DISCRETE, OnePolicy(lambda o: np.int64(1)), episodes=2, seeds=[0])
    assert r["episodes"] == 2
    r = evaluate(CONTINUOUS, BatchPolicy(lambda o: np.full((len(o), 16), 1.5)), episodes=2,
                 seeds=[0])
    assert r["episodes"] == 2
    eps = rollout(TEXT, OnePolicy(lambda o: "I like tea."), 2)
    assert len(eps) == 2


# -- policies that do not -------------------------------------------------------------------------

BAD_OUTPUT = [
    # (id, policy, env, words the message must contain)
    ("tuple", OnePolicy(lambda o: (1, None)), DISCRETE,
     ["'custom'", "returned a tuple", "an integer index in [0, 7]"]),
    ("batch-tuple", BatchPolicy(lambda o: (np.zeros(len(o), np.int64), None)), DISCRETE,
     ["returned a tuple", "2 integer indices"]),
    ("empty", OnePolicy(lambda o: np.zeros(0)), DISCRETE,
     ["an array of shape (0,)", "an integer index"]),
    ("batch-empty", BatchPolicy(lambda o: np.zeros((len(o), 0))), DISCRETE,
     ["shape (2, 0)", "2 integer indices"]),
    ("batch-none", BatchPolicy(lambda o: None), DISCRETE, ["returned None"]),
    ("batch-too-few", BatchPolicy(lambda o: np.zeros(1, np.int64)), DISCRETE,
     ["shape (1,)", "for 2 observations"]),
    ("discrete-on-continuous", OnePolicy(lambda o: 1), CONTINUOUS,
     ["returned int 1", "shape (16,)", "discrete variant"]),
    ("batch-discrete-on-continuous", BatchPolicy(lambda o: np.zeros(len(o), np.int64)),
     CONTINUOUS, ["shape (2,)", "(2, 16)", "discrete variant"]),
    ("continuous-on-discrete", OnePolicy(lambda o: np.zeros(16, np.float32)), DISCRETE,
     ["shape (16,)", "an integer index", "continuous variant"]),
    ("batch-continuous-on-discrete", BatchPolicy(lambda o: np.zeros((len(o), 16))), DISCRETE,
     ["shape (2, 16)", "2 integer indices", "continuous variant"]),
    ("text-on-discrete", OnePolicy(lambda o: "hello"), DISCRETE,
     ["returned str 'hello'", "text variant"]),
    ("index-on-text", OnePolicy(lambda o: 3), TEXT, ["returned int 3", "a str"]),
    ("batch-fraction", BatchPolicy(lambda o: np.full(len(o), 2.7)), DISCRETE,
     ["2.7", "integer indices"]),
    ("batch-out-of-range", BatchPolicy(lambda o: np.full(len(o), 99)), DISCRETE,
     ["99", "[0, 7]"]),
    ("batch-nan", BatchPolicy(lambda o: np.full((len(o), 16), np.nan)), CONTINUOUS,
     ["NaN or infinity"]),
    ("complex", OnePolicy(lambda o: np.ones(16, np.complex64)), CONTINUOUS,
     ["complex64", "shape (16,)"]),
]


@pytest.mark.parametrize(("policy", "env_id", "words"), [c[1:] for c in BAD_OUTPUT],
                         ids=[c[0] for c in BAD_OUTPUT])
def test_bad_output_is_one_line_naming_expected_and_got(policy: Any, env_id: str,
                                                        words: list[str]) -> None:
    with pytest.raises(PolicyError) as exc:
        run(policy, env_id)
    message = str(exc.value)
    assert "\n" not in message
    assert env_id in message
    for word in words:
        assert word in message, (word, message)


def test_a_policy_that_raises_is_named_with_what_it_was_given() -> None:
    def boom(obs: Any) -> Any:
        raise ZeroDivisionError("division by zero")

    for policy in (OnePolicy(boom), BatchPolicy(boom)):
        with pytest.raises(PolicyError, match=r"policy 'custom' raised ZeroDivisionError: "
                           r"division by zero .*observation") as exc:
            run(policy)
        assert isinstance(exc.value.__cause__, ZeroDivisionError)  # the traceback is kept


def test_wrong_observation_size_names_both_sizes() -> None:
    """A policy built for another env's observations: the one-line error gives the env's
    observation shape next to the policy's own complaint."""
    weights = linear(10, 8)  # expects 10 numbers per observation
    policy = BatchPolicy(lambda obs: np.argmax(obs @ weights, axis=-1))
    with pytest.raises(PolicyError) as exc:
        run(policy)
    message = str(exc.value)
    (size,) = gym.make(DISCRETE).observation_space.shape
    assert f"observations of shape (2, {size})" in message
    assert "matmul" in message and "\n" not in message


def test_declared_observation_shape_is_checked_before_any_episode() -> None:
    calls: list[int] = []
    policy = BatchPolicy(lambda obs: calls.append(1) or np.zeros(len(obs), np.int64))
    policy.observation_shape = (10,)  # type: ignore[attr-defined]
    with pytest.raises(PolicyError, match=r"expects observations of shape \(10,\); "
                       r"persona_gym/OpenChat-v0 gives \(\d+,\)"):
        run(policy)
    assert calls == []


def test_rollout_checks_policies_too() -> None:
    with pytest.raises(PolicyError, match="returned a tuple"):
        rollout(DISCRETE, OnePolicy(lambda o: (0, 1)), 1)


# -- seeds ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("seed", "episodes", "words"), [
    (-5, 2, "seed must be >= 0, got -5"),
    (MAX_SEED, 2, f"up to {MAX_SEED + 1}"),
    (1.5, 2, "seed must be an integer"),
])
def test_rollout_seeds_are_checked_up_front(seed: Any, episodes: int, words: str) -> None:
    with pytest.raises(ValueError, match=re.escape(words)):
        rollout(DISCRETE, "expert", episodes, seed)


def test_rollout_last_valid_seed_runs() -> None:
    assert len(rollout(DISCRETE, "expert", 2, MAX_SEED - 1)) == 2


def test_evaluation_seeds_are_checked_up_front() -> None:
    with pytest.raises(ValueError, match=r"evaluation seed -101 is negative"):
        evaluate(DISCRETE, "expert", episodes=2, seeds=[0, -101])
    with pytest.raises(ValueError, match=r"evaluation seed -1 is negative"):
        evaluate(DISCRETE, "expert", episodes=2, seeds=[-1])
    with pytest.raises(ValueError, match=r"evaluation seed 0 is given twice"):
        evaluate(DISCRETE, "expert", episodes=2, seeds=[0, 0])
    largest = (MAX_SEED - EVAL_SEED_BASE - 1) // 10_000
    assert episode_seed(largest, 1) <= MAX_SEED < episode_seed(largest + 1, 1)
    with pytest.raises(ValueError, match=rf"use evaluation seeds from 0 to {largest}"):
        evaluate(DISCRETE, "expert", episodes=2, seeds=[largest + 1])
    assert evaluate(DISCRETE, "expert", episodes=2, seeds=[largest])["seeds"] == [largest]


# -- reference policies and the by-turn table ------------------------------------------------


def test_reference_scores_are_the_mean_returns_of_random_and_expert() -> None:
    """What ``persona-gym refscores`` prints: the mean return of each reference-score policy on
    the test personas, rounded as task cards record it; each policy's run opens its own bar."""
    opened: list[str] = []

    class Bar:
        def __init__(self, total: int | None, desc: str) -> None:
            assert total == 4
            opened.append(desc)
            self.n = 0

        def __enter__(self) -> Bar:
            return self

        def __exit__(self, *exc: object) -> None:
            assert self.n == 4, "one update per episode"

        def update(self, n: int = 1) -> None:
            self.n += n

    scores = reference_scores(DISCRETE, episodes=4, seed=7, open_bar=Bar)
    assert opened == [f"random on {DISCRETE}", f"expert on {DISCRETE}"]
    for key, policy in (("ref_min_score", "random"), ("ref_max_score", "expert")):
        returns = [e.metrics["return"] for e in rollout(DISCRETE, policy, 4, 7)]
        assert scores[key] == round(float(np.mean(returns)), 4), key
    assert scores["ref_min_score"] < scores["ref_max_score"]
    assert {k: scores[k] for k in ("env_id", "episodes", "seed")} == {
        "env_id": DISCRETE, "episodes": 4, "seed": 7}


def test_compare_reference_policies_summarizes_each_policy() -> None:
    results = compare_reference_policies(DISCRETE, 3, seed=2, policies=("drift", "expert"))
    assert list(results) == ["drift", "expert"]
    drift = summarize(DISCRETE, rollout(DISCRETE, "drift", 3, 2))
    assert results["drift"] == {"policy": "drift", "split": "test", "seed": 2, **drift}
    assert results["expert"]["normalized_score"] == pytest.approx(100.0)


def test_by_turn_table_samples_at_most_max_columns_turns() -> None:
    by_turn = {"p2l": [1.0, 0.5, None, 0.25, 0.125], "qa": [float("nan"), 1.0, 1.0, 0.0, 1.0]}
    table = format_by_turn(by_turn).splitlines()
    assert [row.split() for row in table] == [
        ["turn", "1", "2", "3", "4", "5"],
        ["p2l", "1.00", "0.50", "-", "0.25", "0.12"],
        ["qa", "-", "1.00", "1.00", "0.00", "1.00"]]
    assert len({len(row) for row in table}) == 1, "aligned columns"
    short = format_by_turn(by_turn, names=("qa",), max_columns=2).splitlines()
    assert [row.split() for row in short] == [["turn", "1", "4"], ["qa", "-", "0.00"]]
