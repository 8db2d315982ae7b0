"""How much signal imported logs carry: the reward and metric distributions of a log file scored
as the importer scores it, and examples of flagged lines.

    python bench/log_rewards.py ../shared/data/spc/Synthetic-Persona-Chat_valid.csv spc-csv
    python bench/log_rewards.py chats.jsonl jsonl --judge learned

Prints one JSON object: per scoring mode (``reader``: the world's facts only, as before issue
13; ``judged``: the reader with the partner's move plus the text judge, as
:func:`persona_gym.logs.score_conversation` scores by default), the number of lines, the share
of each reward value band, the mean reward, the share of lines with each metric defined and
its mean, the flagged (contradiction) share, and a few flagged and entailed lines.
"""

from __future__ import annotations

import argparse
import json
import math
from collections import Counter
from pathlib import Path

import numpy as np


def summarize(episodes: list, weights: object, examples: int = 5) -> dict:
    """Distribution of rewards and metrics over the lines of ``episodes``."""
    scores = [s for ep in episodes for s in ep.scores]
    rewards = np.array([r for ep in episodes for r in ep.rewards])
    n = len(scores)
    bands = Counter()
    for r in rewards:
        if r < 0:
            bands["< 0 (contradiction, irrelevant)"] += 1
        elif r <= weights.idle + 1e-9:
            bands["[0, idle] (asserts nothing)"] += 1
        elif r < 1:
            bands["(idle, 1) (partly wrong answer)"] += 1
        else:
            bands["1 (consistent, relevant)"] += 1
    metrics = {}
    for name in ("p2l", "l2l", "qa", "relevance", "asserted", "contradiction"):
        values = np.array([getattr(s, name) for s in scores], dtype=float)
        defined = ~np.isnan(values)
        metrics[name] = {"defined": round(float(defined.mean()), 4),
                         "mean": round(float(values[defined].mean()), 4)
                         if defined.any() else None}
    flagged = [(ep, i) for ep in episodes for i, s in enumerate(ep.scores) if s.contradiction]
    entailed = [(ep, i) for ep in episodes for i, s in enumerate(ep.scores)
                if s.asserted and not s.contradiction and ep.rewards[i] >= 1]

    def show(pairs: list) -> list[dict]:
        step = max(1, len(pairs) // examples)
        return [{"persona": list(ep.persona), "partner": ep.observations[i]["partner"][:200],
                 "line": ep.actions[i], "reward": round(ep.rewards[i], 3)}
                for ep, i in pairs[::step][:examples]]

    return {
        "lines": n,
        "reward_mean": round(float(rewards.mean()), 4),
        "reward_std": round(float(rewards.std()), 4),
        "reward_bands": {k: round(v / n, 4) for k, v in sorted(bands.items())},
        "metrics": metrics,
        "flagged_share": round(len(flagged) / n, 4),
        "flagged_examples": show(flagged),
        "rewarded_examples": show(entailed),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("path", type=Path)
    parser.add_argument("fmt", choices=("spc-csv", "jsonl"))
    parser.add_argument("--judge", choices=("lexical", "learned"), default="lexical",
                        help="the text judge of the judged mode (default lexical, the "
                             "importer's)")
    args = parser.parse_args()

    import gymnasium as gym

    from persona_gym.cards import load_card
    from persona_gym.datasets import LOG_ENV
    from persona_gym.judges import get_judge
    from persona_gym.judges.reader import TextReader
    from persona_gym.logs import read_conversations, score_conversation

    weights = load_card(gym.registry[LOG_ENV].kwargs["card"]).weights(LOG_ENV)
    convs = list(read_conversations(args.path, args.fmt))
    reader = TextReader()

    class MoveBlind:  # the reader before issue 13 read lines without the partner's move
        ontology = reader.ontology

        def parse(self, text: str, move: object = None) -> object:
            return reader.parse(text)

        def parse_move(self, text: str) -> object:
            return reader.parse_move(text)

    judge = get_judge(args.judge)
    out = {
        "file": args.path.name,
        "reader": summarize([e for c in convs for e in score_conversation(
            c, MoveBlind(), weights)], weights),  # type: ignore[arg-type]
        "judged": summarize([e for c in convs for e in score_conversation(
            c, reader, weights, judge=judge)], weights),
        "judge": args.judge,
    }
    print(json.dumps(out, indent=1, default=lambda x: None if math.isnan(x) else x))


if __name__ == "__main__":
    main()
