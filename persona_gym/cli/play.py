"""``persona-gym play``: the agent played by a person in the terminal."""

from __future__ import annotations

import argparse
import json
import sys

from persona_gym.cli._common import known_env_id, seed_number

PLAY_JSON_HELP = """\
With --json, the conversation is still shown on stderr and, at the end, one JSON object is
printed on stdout with keys: env_id, seed, return, normalized_score, metrics {...}."""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``play`` command to ``sub``."""
    p = sub.add_parser(
        "play", help="play the agent yourself in the terminal",
        description="Pick the agent's replies yourself: the partner's line and the numbered "
        "candidates are shown, you type a number, and each line's scores are shown back. "
        "Type q to quit.",
        epilog=PLAY_JSON_HELP, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--env", type=known_env_id, default="persona_gym/OpenChat-v1",
                   help="environment id (default persona_gym/OpenChat-v1)")
    p.add_argument("--seed", type=seed_number, default=None, help="episode seed (default: random)")
    p.add_argument("--split", choices=("train", "valid", "test"), default="test",
                   help="persona split (default: test)")
    p.add_argument("--json", action="store_true", help="print the final result as JSON")


def run(args: argparse.Namespace) -> int:
    """Run ``persona-gym play`` as parsed into ``args``; the exit code."""
    import gymnasium as gym

    from persona_gym.evaluation import normalized_score

    show = sys.stderr if args.json else sys.stdout
    from persona_gym.evaluation import env_entry

    free_text = env_entry(args.env).variant == "text"
    env = gym.make(args.env, split=args.split, render_mode="ansi")
    _, info = env.reset(seed=args.seed)
    base = env.unwrapped
    prompt = "a number, or type your own reply" if free_text else "a number"
    print("You are the agent. Your persona:", file=show)
    for s in info["persona"]:
        print(f"  - {s}", file=show)
    while True:
        view = base.turn_view()  # type: ignore[attr-defined]
        print(f"\nPartner: {view.move.text}", file=show)
        for i, c in enumerate(view.candidates):
            print(f"  ({i}) {c.text}", file=show)
        while True:
            print(f"Your reply [{prompt} 0-{len(view.candidates) - 1}, q to quit]: ", end="",
                  file=show, flush=True)
            answer = sys.stdin.readline()
            if not answer or answer.strip().lower() in ("q", "quit"):
                print("\nStopped.", file=show)
                return 1
            answer = answer.strip()
            if answer.isdecimal() and int(answer) < len(view.candidates):
                action = base.action_for(int(answer))  # type: ignore[attr-defined]
                break
            if free_text and answer:
                action = answer[:512]
                break
            print(f"Please type {prompt} from 0 to {len(view.candidates) - 1}.", file=show)
        try:
            _, reward, terminated, _, info = env.step(action)
        except ValueError as exc:  # e.g. a character outside the text charset
            print(f"  !! {exc}", file=show)
            continue
        s = {k: "-" if v is None else f"{v:.2f}".rstrip("0").rstrip(".")
             for k, v in info["scores"].items()}
        print(f"  -> p2l={s['p2l']} l2l={s['l2l']} qa={s['qa']} relevance={s['relevance']}"
              f" repetition={s['repetition']} reward={reward:+.2f}", file=show)
        if terminated:
            break
    m = info["metrics"]
    score = float(normalized_score(m["return"], args.env))
    print(f"\nConversation over. Return {m['return']:+.2f}, normalized score {score:.1f}.",
          file=show)
    if args.json:
        print(json.dumps({"env_id": args.env, "seed": args.seed, "return": m["return"],
                          "normalized_score": score, "metrics": m}))
    return 0
