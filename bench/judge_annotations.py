"""Annotators' labels into bench/data/judge_check_labels.jsonl: new items, and second labels.

An annotation folder holds ``refs.jsonl`` (label-file references without labels) and the
annotators' chunks ``chunk-NN.txt``, written by ``bench/judge_label_pool.py`` (new items) or by
``draw`` here (items already labelled, for a second label), and the annotators' answers
``labels-NN.jsonl`` (one ``{"id", "label", "against", "confidence"}`` per item, from
bench/data/judge_label_instructions.md). ``merge`` checks that every item of ``refs.jsonl`` has
exactly one valid answer, then writes them all or nothing: a new item is appended with its
``label`` and ``confidence`` (the label file's format); an item already in the file gets the
answer as ``label2``, ``against2`` and ``confidence2`` next to its first label.

Second labels (round 9 of the judge work, docs/metrics.md): ``draw`` writes the training items
(``train6`` ... ``train9``) whose first annotator marked them low-confidence, in a seeded order
and without their labels, for annotators who see neither the first label nor any judge;
``bench/train_judge_adapter.py --disagreements drop`` leaves out the items whose two labels
differ (round 9; not shipped: the default keeps them with their first label). ``check5`` is never
drawn: it is the held-out set.

    python bench/judge_annotations.py draw \\
        --spc ../shared/data/spc/Synthetic-Persona-Chat_valid.csv --out /tmp/second
    # annotators label /tmp/second/chunk-NN.txt into /tmp/second/labels-NN.jsonl
    python bench/judge_annotations.py merge /tmp/second
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

from persona_gym.judges.base import LABELS

TRAIN_SETS = ("train6", "train7", "train8", "train9")
"""The sets ``draw`` takes its low-confidence items from."""


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
    """Write the answers in ``folder/labels-NN.jsonl`` into the label file (module docs)."""
    refs = {r["id"]: r for r in map(json.loads,
                                    (folder / "refs.jsonl").read_text("utf-8").splitlines())}
    answers: dict[str, dict] = {}
    for path in sorted(folder.glob("labels-*.jsonl")):
        for n, raw in enumerate(path.read_text("utf-8").splitlines(), 1):
            if not raw.strip():
                continue
            where = f"{path.name}:{n}"
            try:
                row = json.loads(raw)
            except json.JSONDecodeError as err:
                sys.exit(f"{where}: not a JSON object ({err}); fix the line and merge again")
            if row.get("id") not in refs:
                sys.exit(f"{where}: id {row.get('id')!r} was not drawn (refs.jsonl)")
            if row["id"] in answers:
                sys.exit(f"{where}: {row['id']} is labelled twice")
            if row.get("label") not in LABELS or row.get("confidence") not in ("high", "low"):
                sys.exit(f"{where}: label must be one of {LABELS} and confidence high or low, "
                         f"got {row.get('label')!r} / {row.get('confidence')!r}")
            answers[row["id"]] = row
    missing = [i for i in refs if i not in answers]
    if missing:
        sys.exit(f"{len(missing)} drawn items have no label (first: {missing[0]}); label them "
                 "before merging")
    lines, second = [], []
    for raw in LABELS_FILE.read_text("utf-8").splitlines():
        ref = json.loads(raw)
        row = answers.pop(ref["id"], None)
        if row is not None:
            ref.update(label2=row["label"], against2=row.get("against"),
                       confidence2=row["confidence"])
            second.append(ref["label2"] == ref["label"])
        lines.append(json.dumps(ref) + "\n")
    for key, row in answers.items():  # new items, in refs.jsonl's order
        ref = refs[key]
        lines.append(json.dumps({**{k: ref[k] for k in ("id", "set", "half")},
                                 "label": row["label"],
                                 **{k: ref[k] for k in ("source", "persona", "line", "history")},
                                 "confidence": row["confidence"]}) + "\n")
    tmp = LABELS_FILE.with_suffix(".tmp")
    tmp.write_text("".join(lines), "utf-8")
    tmp.replace(LABELS_FILE)
    print(f"merged into {LABELS_FILE}: {len(answers)} new items, {len(second)} second labels"
          + (f" ({sum(second)} agree with the first, {len(second) - sum(second)} do not)"
             if second else ""))


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
    m = sub.add_parser("merge", help="write an annotation folder's labels into the label file")
    m.add_argument("folder", type=Path, help="a folder with refs.jsonl and labels-NN.jsonl")
    args = parser.parse_args()
    if args.command == "draw":
        draw(args.spc, args.out, args.chunk, args.seed)
    else:
        merge(args.folder)


if __name__ == "__main__":
    main()
