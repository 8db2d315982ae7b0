"""The play loop (:mod:`persona_gym.play`) driven by a scripted player, without the CLI."""

from __future__ import annotations

import io

import gymnasium as gym
import pytest

from persona_gym.envs.variants import MAX_REPLY_CHARS
from persona_gym.evaluation import env_entry
from persona_gym.play import play

TEXT = "persona_gym/OpenChatText-v1"


def scripted(lines: list[str]) -> io.StringIO:
    return io.StringIO("".join(line + "\n" for line in lines))


def direct_text_return(env_id: str, seed: int, reply: str) -> float:
    env = gym.make(env_id, split="test")
    try:
        env.reset(seed=seed)
        while True:
            _, _, terminated, truncated, info = env.step(reply)
            if terminated or truncated:
                return float(info["metrics"]["return"])
    finally:
        env.close()


def test_a_free_text_reply_is_played_cut_at_the_reply_limit() -> None:
    """On a text variant a typed reply is the action, cut at MAX_REPLY_CHARS; a blank answer
    is asked again. The return is gymnasium's for the same replies."""
    long = "I keep bees. " * 60
    assert len(long) > MAX_REPLY_CHARS
    horizon = env_entry(TEXT).horizon
    shown = io.StringIO()
    result = play(TEXT, seed=4, read=scripted(["  ", *[long] * horizon]).readline, show=shown)
    assert result is not None, shown.getvalue()[-500:]
    assert result["env_id"] == TEXT and result["seed"] == 4
    cut = long.strip()[:MAX_REPLY_CHARS]
    assert result["return"] == pytest.approx(direct_text_return(TEXT, 4, cut))
    text = shown.getvalue()
    assert "Please type a number, or type your own reply from 0 to" in text
    assert "!!" not in text and "Conversation over" in text


@pytest.mark.parametrize("answers", [["quit"], ["Q"], []], ids=["quit", "Q", "eof"])
def test_quitting_returns_none(answers: list[str]) -> None:
    shown = io.StringIO()
    assert play("persona_gym/OpenChat-v1", seed=0, read=scripted(answers).readline,
                show=shown) is None
    assert shown.getvalue().rstrip().endswith("Stopped.")
