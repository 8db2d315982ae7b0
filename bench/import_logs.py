"""Importing a log whose conversations have many speakers: the time should grow linearly.

Writes a JSONL log (docs/logs.md) of one conversation with N speakers, each with one persona
sentence and one line, and times ``persona-gym datasets import-logs`` on it (the library call
:func:`persona_gym.datasets.import_logs`: reading, scoring, writing the Minari dataset) and,
separately, the scoring alone (:func:`persona_gym.logs.score_conversation`). Issue 11 measured
1,000 speakers in 5 s and 8,000 in 93 s (quadratic: x19 for x8 speakers). Usage:
``python bench/import_logs.py [--speakers 1000 8000]``. Last line: JSON with the seconds and the
ratio of the largest to the smallest run (linear: about the ratio of the speaker counts).
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

LINES = ("I love hiking in the mountains on weekends.", "My dog is called Biscuit.",
         "I work as a nurse at the city hospital.", "Do you like coffee?")


def write_log(path: Path, speakers: int) -> None:
    """One conversation, ``speakers`` speakers, one persona sentence and one line each."""
    personas = {f"s{i}": [f"I have {i % 5 + 1} cats."] for i in range(speakers)}
    turns = [{"speaker": f"s{i}", "text": LINES[i % len(LINES)]} for i in range(speakers)]
    path.write_text(json.dumps({"id": "crowd", "personas": personas, "turns": turns}) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--speakers", type=int, nargs="+", default=[1000, 8000],
                        help="speaker counts to time (default 1000 8000)")
    args = parser.parse_args()
    out: dict[str, dict[str, float]] = {"import_seconds": {}, "score_seconds": {}}
    with tempfile.TemporaryDirectory() as root:
        os.environ["MINARI_DATASETS_PATH"] = os.path.join(root, "minari")
        import gymnasium as gym

        from persona_gym.cards import load_card
        from persona_gym.datasets import LOG_ENV, import_logs
        from persona_gym.judges.lexical import LexicalJudge
        from persona_gym.logs import read_jsonl, score_conversation

        judge = LexicalJudge()
        weights = load_card(gym.registry[LOG_ENV].kwargs["card"]).reward
        for n in args.speakers:
            log = Path(root) / f"crowd{n}.jsonl"
            write_log(log, n)
            (conv,) = read_jsonl(log)
            start = time.perf_counter()
            episodes = score_conversation(conv, judge, weights)
            out["score_seconds"][str(n)] = round(time.perf_counter() - start, 3)
            assert len(episodes) == n
            start = time.perf_counter()
            result = import_logs(log, "jsonl", name=f"crowd{n}")
            out["import_seconds"][str(n)] = round(time.perf_counter() - start, 3)
            assert result["episodes"] == n
            print(f"{n:>6} speakers: scoring {out['score_seconds'][str(n)]:.2f} s, "
                  f"import {out['import_seconds'][str(n)]:.2f} s", flush=True)
    small, large = str(min(args.speakers)), str(max(args.speakers))
    out["speaker_ratio"] = int(large) / int(small)
    out["import_time_ratio"] = round(out["import_seconds"][large]
                                     / out["import_seconds"][small], 2)
    out["score_time_ratio"] = round(out["score_seconds"][large] / out["score_seconds"][small], 2)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
