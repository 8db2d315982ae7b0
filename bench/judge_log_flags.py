"""How often the rules and the learned judge's cross-encoder call each label on unlabelled real
logs: a seeded sample of Synthetic-Persona-Chat lines (each speaker's persona, earlier lines
and line), with lines that only the cross-encoder calls contradictions printed for reading by
hand (docs/metrics.md, "Round 5": 7.6% of 1,500 lines, of which one or two in 25 were real).

    python bench/judge_log_flags.py ../shared/data/spc/Synthetic-Persona-Chat_valid.csv

The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import random
from collections import Counter, defaultdict
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("spc", type=Path, help="Synthetic-Persona-Chat_valid.csv")
    parser.add_argument("--sample", type=int, default=1500, help="lines judged")
    parser.add_argument("--show", type=int, default=25, help="cross-encoder-only flags printed")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    from persona_gym.judges.base import LABELS
    from persona_gym.judges.learned import LearnedJudge
    from persona_gym.logs import read_spc_csv

    items = []
    for conv in read_spc_csv(args.spc):
        said: dict[str, list[str]] = defaultdict(list)
        for speaker, text in conv.turns:
            if speaker in conv.personas:
                items.append((list(conv.personas[speaker]), list(said[speaker]), text))
            said[speaker].append(text)
    rng = random.Random(args.seed)
    sample = rng.sample(items, min(args.sample, len(items)))
    judge = LearnedJudge()
    model = [LABELS[int(p.argmax())] for p in judge.probabilities(sample)]
    rules = [judge.rules.judge(*it).label for it in sample]
    only = [i for i, (r, m) in enumerate(zip(rules, model, strict=True))
            if r == "neutral" and m == "contradiction"]
    for i in rng.sample(only, min(args.show, len(only))):
        persona, _, line = sample[i]
        print(f"--- {' / '.join(persona)}\n    LINE: {line}")
    n = len(sample)
    print(json.dumps({
        "lines": len(items), "sample": n,
        "rules": {k: round(v / n, 4) for k, v in sorted(Counter(rules).items())},
        "cross_encoder": {k: round(v / n, 4) for k, v in sorted(Counter(model).items())},
        "cross_encoder_only_contradictions": round(len(only) / n, 4)}))


if __name__ == "__main__":
    main()
