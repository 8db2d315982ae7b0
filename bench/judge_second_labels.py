"""Second, blind labels for the training items their first annotator was unsure of.

The training sets (``train6`` ... ``train9``, bench/judge_check_sets.py) carry the first
annotator's own ``confidence``; 737 of their 3,554 items are ``low``. Round 9 of the judge work
(docs/metrics.md) had each of those labelled again by an annotator who saw neither the first
label nor the judge, from the same instructions (bench/data/judge_label_instructions.md), and
trains the adapter only on the items whose two labels agree (bench/train_judge_adapter.py).
``check5`` is never drawn: it is the held-out set.

    python bench/judge_second_labels.py draw \\
        --spc ../shared/data/spc/Synthetic-Persona-Chat_valid.csv --out /tmp/second
    # annotators label /tmp/second/chunk-NN.txt into /tmp/second/labels-NN.jsonl
    python bench/judge_second_labels.py merge /tmp/second

``draw`` writes ``refs.jsonl`` and the annotators' ``chunk-NN.txt`` files (the items in a seeded
order, without labels); ``merge`` checks that every drawn item has exactly one valid label and
then writes it into bench/data/judge_check_labels.jsonl as ``label2`` (and the second
annotator's ``against`` and ``confidence`` as ``against2`` and ``confidence2``), replacing the
file whole.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from judge_check_sets import LABELS_FILE
from judge_label_pool import write_chunks

TRAIN_SETS = ("train6", "train7", "train8", "train9")
LABELS = ("contradiction", "entailment", "neutral")


def draw(spc: Path, out: Path, chunk: int, seed: int) -> None:
    """Write the low-confidence training items as annotator chunks (module docs)."""
    from persona_gym.logs import read_spc_csv

    refs = [r for r in map(json.loads, LABELS_FILE.read_text("utf-8").splitlines())
            if r["set"] in TRAIN_SETS and r.get("confidence") == "low"]
    for r in refs:
        for key in ("label", "confidence", "against"):
            r.pop(key, None)
    random.Random(seed).shuffle(refs)
    out.mkdir(parents=True, exist_ok=True)
    (out / "refs.jsonl").write_text("".join(json.dumps(r) + "\n" for r in refs), "utf-8")
    write_chunks(refs, list(read_spc_csv(spc)), out, chunk)
    print(f"{len(refs)} low-confidence items of {', '.join(TRAIN_SETS)} in "
          f"{-(-len(refs) // chunk)} chunks under {out}")


def merge(folder: Path) -> None:
    """Write the second labels in ``folder/labels-NN.jsonl`` into the label file (module docs)."""
    wanted = [json.loads(x)["id"] for x in (folder / "refs.jsonl").read_text("utf-8").splitlines()]
    second: dict[str, dict] = {}
    for path in sorted(folder.glob("labels-*.jsonl")):
        for n, raw in enumerate(path.read_text("utf-8").splitlines(), 1):
            if not raw.strip():
                continue
            row = json.loads(raw)
            where = f"{path.name}:{n}"
            if row.get("id") not in wanted:
                sys.exit(f"{where}: id {row.get('id')!r} was not drawn (refs.jsonl)")
            if row["id"] in second:
                sys.exit(f"{where}: {row['id']} is labelled twice")
            if row.get("label") not in LABELS or row.get("confidence") not in ("high", "low"):
                sys.exit(f"{where}: label must be one of {LABELS} and confidence high or low, "
                         f"got {row.get('label')!r} / {row.get('confidence')!r}")
            second[row["id"]] = row
    missing = [i for i in wanted if i not in second]
    if missing:
        sys.exit(f"{len(missing)} drawn items have no second label (first: {missing[0]}); "
                 "label them before merging")
    lines = []
    for raw in LABELS_FILE.read_text("utf-8").splitlines():
        ref = json.loads(raw)
        row = second.get(ref["id"])
        if row is not None:
            ref.update(label2=row["label"], against2=row.get("against"),
                       confidence2=row["confidence"])
        lines.append(json.dumps(ref) + "\n")
    tmp = LABELS_FILE.with_suffix(".tmp")
    tmp.write_text("".join(lines), "utf-8")
    tmp.replace(LABELS_FILE)
    agree = sum(json.loads(x).get("label2") == json.loads(x)["label"] for x in lines
                if "label2" in json.loads(x))
    print(f"merged {len(second)} second labels into {LABELS_FILE}: {agree} agree with the first "
          f"({agree / len(second):.0%}), {len(second) - agree} do not")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog=__doc__.split("\n\n", 1)[1])
    sub = parser.add_subparsers(dest="command", required=True)
    d = sub.add_parser("draw", help="write the low-confidence training items as chunks")
    d.add_argument("--spc", type=Path, required=True,
                   help="Synthetic-Persona-Chat_valid.csv (../shared/data/spc/)")
    d.add_argument("--out", type=Path, required=True, help="folder for refs and chunks")
    d.add_argument("--chunk", type=int, default=93, help="items per annotator chunk")
    d.add_argument("--seed", type=int, default=9)
    m = sub.add_parser("merge", help="write the second labels into the label file")
    m.add_argument("folder", type=Path, help="draw's folder, with labels-NN.jsonl added")
    args = parser.parse_args()
    if args.command == "draw":
        draw(args.spc, args.out, args.chunk, args.seed)
    else:
        merge(args.folder)


if __name__ == "__main__":
    main()
