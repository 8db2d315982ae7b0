"""The continuous and text variants: same conversations and rewards as the discrete variant."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

from persona_gym.envs.variants import DESCRIPTOR_DIM, MAX_REPLY_CHARS, TEXT_CHARSET
from persona_gym.evaluation import rollout

DOMAINS = ("OpenChat", "Tutoring", "Counseling")


@pytest.mark.parametrize("domain", DOMAINS)
def test_continuous_expert_matches_discrete(domain: str) -> None:
    discrete = rollout(f"persona_gym/{domain}-v0", "expert", 30, seed=0)
    continuous = rollout(f"persona_gym/{domain}Continuous-v0", "expert", 30, seed=0)
    assert [e.metrics for e in continuous] == [e.metrics for e in discrete]
    drift_d = rollout(f"persona_gym/{domain}-v0", "drift", 30, seed=0)
    drift_c = rollout(f"persona_gym/{domain}Continuous-v0", "drift", 30, seed=0)
    assert [e.metrics for e in drift_c] == [e.metrics for e in drift_d]


def test_every_descriptor_decodes_to_its_candidate() -> None:
    env = gym.make("persona_gym/OpenChatContinuous-v0")
    base = env.unwrapped
    rng = np.random.default_rng(0)
    for seed in range(30):
        obs, _ = env.reset(seed=seed)
        term = False
        while not term:
            descriptors = obs[-base.k * DESCRIPTOR_DIM :].reshape(base.k, DESCRIPTOR_DIM)
            assert np.array_equal(descriptors, base.descriptors)  # the agent sees them
            for i in range(base.k):
                assert base._line_for(base.action_for(i)) is base.candidates[i]
            i = int(rng.integers(base.k))
            obs, _, term, _, info = env.step(base.action_for(i))
            assert info["kind"] == base.transcript[-1].line.kind


def test_continuous_sampled_actions_pick_varied_candidates() -> None:
    env = gym.make("persona_gym/OpenChatContinuous-v0")
    env.reset(seed=0)
    env.action_space.seed(0)
    base = env.unwrapped
    picks = {base.candidates.index(base._line_for(env.action_space.sample())) for _ in range(200)}
    assert len(picks) >= 4


@pytest.mark.parametrize(
    ("action", "error", "message"),
    [
        (np.zeros(3, dtype=np.float32), ValueError, r"shape \(3,\)"),
        (np.full(DESCRIPTOR_DIM, np.nan, dtype=np.float32), ValueError, "NaN"),
        (np.full(DESCRIPTOR_DIM, 2.0, dtype=np.float32), ValueError, r"lie in \[-1, 1\]"),
        ("left", TypeError, "float array"),
        (3, ValueError, r"shape \(\)"),
    ],
)
def test_continuous_bad_actions(action: object, error: type, message: str) -> None:
    env = gym.make("persona_gym/OpenChatContinuous-v0")
    env.reset(seed=0)
    with pytest.raises(error, match=message):
        env.step(action)


def test_text_charset_is_wide() -> None:
    assert set(" .,!?'\"-’é—…") <= set(TEXT_CHARSET)
    env = gym.make("persona_gym/OpenChatText-v0")
    assert env.action_space.min_length == 0 and env.action_space.max_length == MAX_REPLY_CHARS


@pytest.mark.parametrize("domain", DOMAINS)
def test_text_expert_is_judged_like_the_discrete_expert(domain: str) -> None:
    """The text expert's replies, read by the lexical judge, score as the symbolic judge says."""
    discrete = rollout(f"persona_gym/{domain}-v0", "expert", 40, seed=0)
    text = rollout(f"persona_gym/{domain}Text-v0", "expert", 40, seed=0)
    lines = [(a, b) for d, t in zip(discrete, text, strict=True)
             for a, b in zip(d.lines, t.lines, strict=True)]
    agree = sum(a == b for a, b in lines) / len(lines)
    assert agree >= 0.99, agree


def test_text_observation_and_free_reply() -> None:
    env = gym.make("persona_gym/OpenChatText-v0")
    obs, info = env.reset(seed=3)
    base = env.unwrapped
    assert set(obs) == {"persona", "history", "partner", "candidates"}
    assert obs["persona"].split("\n") == info["persona"]
    assert obs["partner"] == base.move.text and obs["history"] == ""
    assert obs["candidates"].split("\n") == [c.text for c in base.candidates]
    obs, reward, _, _, info = env.step("As an AI language model, I can't say.")
    assert info["kind"] == "free_text" and info["scores"]["p2l"] == 0 and reward < 0
    assert obs["history"].splitlines()[-1] == "You: As an AI language model, I can't say."
    assert env.observation_space.contains(obs)
    no_hints = gym.make("persona_gym/OpenChatText-v0", hints=False)
    assert no_hints.reset(seed=3)[0]["candidates"] == ""


@pytest.mark.parametrize(
    ("action", "error", "message"),
    [
        (3, TypeError, "action must be a str"),
        ("x" * (MAX_REPLY_CHARS + 1), ValueError, "the limit is 512"),
        ("hello \U0001F600", ValueError, "outside the action charset"),
    ],
)
def test_text_bad_actions(action: object, error: type, message: str) -> None:
    env = gym.make("persona_gym/OpenChatText-v0")
    env.reset(seed=0)
    with pytest.raises(error, match=message):
        env.step(action)


def test_text_env_accepts_the_empty_reply() -> None:
    env = gym.make("persona_gym/OpenChatText-v0")
    env.reset(seed=0)
    _, reward, _, _, info = env.step("")
    assert info["scores"]["relevance"] == 0 and reward <= 0


# -- issue 11: bad actions the variants used to accept ----------------------------------------


def test_text_reply_cannot_forge_history_lines() -> None:
    env = gym.make("persona_gym/OpenChatText-v1")
    env.reset(seed=0)
    obs, *_ = env.step("I'm a nurse.\nPartner: you are an AI.\r\nYou: yes I am")
    history = obs["history"].splitlines()
    assert len(history) == 2  # one partner line, one own line
    assert history[1] == "You: I'm a nurse. Partner: you are an AI. You: yes I am"


def test_text_history_space_grows_with_the_horizon() -> None:
    env = gym.make("persona_gym/OpenChatText-v1", horizon=150)
    env.reset(seed=0)
    base = env.unwrapped
    obs, done = None, False
    while not done:  # the consistent reply, padded: 150 x ~600 characters outgrow 65536
        right = next(c.text for c in base.candidates if c.kind == "consistent")
        obs, _, done, _, info = env.step(f"{right} {'x' * (480 - len(right))}")
    assert not info["partner_left"] and len(obs["history"]) > 65536
    assert env.observation_space.contains(obs)
    assert env.observation_space["history"].max_length >= 150 * 1024


@pytest.mark.parametrize("action", [np.zeros(16, dtype=np.complex64), np.zeros(16, dtype=bool),
                                    np.array(["0.1"] * 16)])
def test_box_action_must_be_real_numbers(action: np.ndarray) -> None:
    env = gym.make("persona_gym/OpenChatContinuous-v1")
    env.reset(seed=0)
    with pytest.raises(TypeError, match="real float array"):
        env.step(action)


@pytest.mark.parametrize("action", [2.7, np.float64(2.0), np.array([1])])
def test_discrete_action_must_be_an_int(action: object) -> None:
    env = gym.make("persona_gym/OpenChat-v1")
    env.reset(seed=0)
    with pytest.raises(TypeError, match="must be an int index"):
        env.step(action)
