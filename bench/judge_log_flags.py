"""How often the rules, the learned judge's cross-encoder alone and the learned judge (rules
first, then the cross-encoder, questions and greetings neutral) call each label on unlabelled
real logs: a seeded sample of Synthetic-Persona-Chat lines (each speaker's persona, earlier
lines and line), with lines that only the learned judge calls contradictions (the rules do not)
printed for reading by hand (docs/metrics.md, "Round 5" and "Round 6").

    python bench/judge_log_flags.py ../shared/data/spc/Synthetic-Persona-Chat_valid.csv

The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import random
from collections import Counter, defaultdict
from pathlib import Path

SAMPLE, SEED = 1500, 0
"""The default sample: lines judged, and the seed that draws them (bench/judge_label_pool.py
keeps these lines out of its pools)."""

Ref = tuple[tuple[str, int], tuple[list[str], list[str], str]]


def log_sample(spc: Path, n: int, rng: random.Random) -> tuple[int, list[Ref]]:
    """How many lines the CSV has whose speaker has a persona, and a sample of ``n`` of them
    drawn with ``rng``: ``((conversation id, turn), (persona, the speaker's earlier lines,
    line))``."""
    from persona_gym.logs import read_spc_csv

    items: list[Ref] = []
    for conv in read_spc_csv(spc):
        said: dict[str, list[str]] = defaultdict(list)
        for turn, (speaker, text) in enumerate(conv.turns):
            if speaker in conv.personas:
                items.append(((conv.id, turn),
                              (list(conv.personas[speaker]), list(said[speaker]), text)))
            said[speaker].append(text)
    return len(items), rng.sample(items, min(n, len(items)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("spc", type=Path, help="Synthetic-Persona-Chat_valid.csv")
    parser.add_argument("--sample", type=int, default=SAMPLE, help="lines judged")
    parser.add_argument("--show", type=int, default=25,
                        help="flags of the judge but not the rules printed")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--adapter", type=Path, nargs="+", default=None,
                        help="cross-encoder adapter .npz files, one or an ensemble whose "
                             "probabilities are averaged (default: the shipped ensemble)")
    parser.add_argument("--contradiction-threshold", type=float, default=None,
                        help="probability the cross-encoder's contradiction needs (default: "
                             "persona_gym.judges.learned.CONTRADICTION_THRESHOLD)")
    args = parser.parse_args()

    from persona_gym.judges.base import LABELS
    from persona_gym.judges.learned import LearnedJudge

    rng = random.Random(args.seed)
    lines, refs = log_sample(args.spc, args.sample, rng)
    sample = [item for _, item in refs]
    judge = LearnedJudge(args.adapter) if args.contradiction_threshold is None else \
        LearnedJudge(args.adapter, contradiction_threshold=args.contradiction_threshold)
    probs = judge.probabilities(sample)
    model = [LABELS[int(p.argmax())] for p in probs]
    learned = [v.label for v in judge.judge_many(sample, probs)]
    rules = [judge.rules.judge(*it).label for it in sample]
    only = [i for i, (r, m) in enumerate(zip(rules, learned, strict=True))
            if r == "neutral" and m == "contradiction"]
    for i in rng.sample(only, min(args.show, len(only))):
        persona, _, line = sample[i]
        print(f"--- {' / '.join(persona)}\n    LINE: {line}")
    n = len(sample)
    print(json.dumps({
        "lines": lines, "sample": n,
        "rules": {k: round(v / n, 4) for k, v in sorted(Counter(rules).items())},
        "cross_encoder": {k: round(v / n, 4) for k, v in sorted(Counter(model).items())},
        "judge": {k: round(v / n, 4) for k, v in sorted(Counter(learned).items())},
        "judge_only_contradictions": round(len(only) / n, 4)}))


if __name__ == "__main__":
    main()
