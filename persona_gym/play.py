"""A person plays the agent: one episode in the terminal, each turn's scores shown back.

:func:`play` runs the loop of ``persona-gym play``: the persona, then per turn the partner's
line and the numbered candidates; the player types a number (on a text variant also any reply
of their own, cut at :data:`~persona_gym.envs.variants.MAX_REPLY_CHARS` characters) or ``q``;
the line's scores and the reward come back. Where the choices are read from and where the
conversation is shown are parameters, so the loop runs the same under a test as at a terminal.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any, TextIO

import gymnasium as gym

from persona_gym.envs.variants import MAX_REPLY_CHARS
from persona_gym.evaluation import env_entry, normalized_score

__all__ = ["play"]

QUIT = ("q", "quit")
"""Answers that stop the game (as does end of input)."""


def _shown(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}".rstrip("0").rstrip(".")


def _choose(view: Any, base: Any, free_text: bool, read: Callable[[], str],
            show: TextIO) -> Any | None:
    """The action the player picks for ``view``, asking again until the answer is valid; None
    when they quit."""
    prompt = "a number, or type your own reply" if free_text else "a number"
    last = len(view.candidates) - 1
    while True:
        print(f"Your reply [{prompt} 0-{last}, q to quit]: ", end="", file=show, flush=True)
        answer = read()
        if not answer or answer.strip().lower() in QUIT:
            return None
        answer = answer.strip()
        if answer.isdecimal() and int(answer) <= last:
            return base.action_for(int(answer))
        if free_text and answer:
            return answer[:MAX_REPLY_CHARS]
        print(f"Please type {prompt} from 0 to {last}.", file=show)


def play(env_id: str, seed: int | None = None, split: str = "test",
         read: Callable[[], str] | None = None, show: TextIO | None = None,
         ) -> dict[str, Any] | None:
    """Play one episode of ``env_id`` (``split`` personas, ``seed``: None for a random one) as
    the agent. Answers are read a line at a time with ``read`` (default: standard input) and
    the conversation is written to ``show`` (default: standard output).

    Returns ``{"env_id", "seed", "return", "normalized_score", "metrics"}`` when the
    conversation ends, or None when the player quits (``q``, ``quit`` or end of input).
    """
    read = sys.stdin.readline if read is None else read
    show = sys.stdout if show is None else show
    free_text = env_entry(env_id).variant == "text"
    env = gym.make(env_id, split=split, render_mode="ansi")
    try:
        _, info = env.reset(seed=seed)
        base = env.unwrapped
        print("You are the agent. Your persona:", file=show)
        for statement in info["persona"]:
            print(f"  - {statement}", file=show)
        while True:
            view = base.turn_view()  # type: ignore[attr-defined]
            print(f"\nPartner: {view.move.text}", file=show)
            for i, c in enumerate(view.candidates):
                print(f"  ({i}) {c.text}", file=show)
            action = _choose(view, base, free_text, read, show)
            if action is None:
                print("\nStopped.", file=show)
                return None
            try:
                _, reward, terminated, _, info = env.step(action)
            except ValueError as exc:  # e.g. a character outside the text charset
                print(f"  !! {exc}", file=show)
                continue
            s = {k: _shown(v) for k, v in info["scores"].items()}
            print(f"  -> p2l={s['p2l']} l2l={s['l2l']} qa={s['qa']} relevance={s['relevance']}"
                  f" repetition={s['repetition']} reward={reward:+.2f}", file=show)
            if terminated:
                break
    finally:
        env.close()
    m = info["metrics"]
    score = float(normalized_score(m["return"], env_id))
    print(f"\nConversation over. Return {m['return']:+.2f}, normalized score {score:.1f}.",
          file=show)
    return {"env_id": env_id, "seed": seed, "return": m["return"], "normalized_score": score,
            "metrics": m}
