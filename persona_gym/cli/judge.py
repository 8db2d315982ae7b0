"""``persona-gym judge``: persona-consistency verdicts on a JSONL file."""

from __future__ import annotations

import argparse
import json
import sys

from persona_gym.cli._common import positive_int, progress_bar
from persona_gym.judges import TEXT_JUDGES

JUDGE_JSON_HELP = """\
With --eval --json, prints one JSON object: judge, n, accuracy, macro_f1, per_label
{contradiction, entailment, neutral: {precision, recall, f1, support}}, confusion
{gold: {predicted: count}}."""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``judge`` command to ``sub``."""
    p = sub.add_parser(
        "judge", help="judge persona consistency of lines in a JSONL file",
        description="Judge each line of a JSONL file (keys id, persona, history, line; the "
        "format of shared/data/persona-consistency, answer-key fields ignored) and write one "
        '{"id", "label", "against", "evidence", "scores"} per line. The input is validated '
        "first: a malformed line (not JSON, not UTF-8, over 1 MiB, missing keys) STOPS the run "
        "(exit code 2, naming the line number) before anything is judged or written.",
        epilog=JUDGE_JSON_HELP, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("file", help="JSONL file of items to judge")
    p.add_argument("--judge", choices=TEXT_JUDGES, default="learned",
                   help="learned (default: rules, then a cross-encoder: MiniLM with a small "
                   "shipped adapter, offline, needs the minilm extra), lexical (rules only, no "
                   "model) or nli (needs --model)")
    p.add_argument("--model", default=None,
                   help="for --judge nli: a local transformers NLI model folder (required); "
                   "for --judge learned: a folder of adapters written by "
                   "bench/train_judge_adapter.py --out (default: the shipped ones)")
    p.add_argument("--batch-size", type=positive_int, default=32,
                   help="items (learned) or pairs (nli) per forward pass (default 32)")
    p.add_argument("--out", default=None,
                   help="write verdicts here (JSONL; checked before judging starts, written "
                   "whole or not at all); default: stdout unless --eval")
    p.add_argument("--eval", action="store_true",
                   help="score the verdicts against the file's label field: accuracy, "
                   "per-class precision/recall/F1, macro-F1, confusion matrix")
    p.add_argument("--json", action="store_true", help="with --eval: print one JSON object")


def run(args: argparse.Namespace) -> int:
    """Run ``persona-gym judge`` as parsed into ``args``; the exit code."""
    from persona_gym.judges import LABELS, get_judge
    from persona_gym.judges.evaluate import JudgeInputError, classification_report, load_items
    from persona_gym.output import check_destination, write_atomically

    def fail(message: str) -> int:
        print(f"persona-gym judge: error: {message}", file=sys.stderr)
        return 2

    try:
        if args.out:
            check_destination(args.out, example="verdicts.jsonl")
        items = load_items(args.file)
        judge = get_judge(args.judge, args.model, args.batch_size)
    except (JudgeInputError, ValueError, FileNotFoundError, ImportError) as exc:
        return fail(str(exc))
    if args.eval:
        bad = [i for i, it in enumerate(items) if it.get("label") not in LABELS]
        if bad:
            return fail(f"--eval needs a label in {LABELS} on every item; item "
                        f"{items[bad[0]]['id']!r} has {items[bad[0]].get('label')!r}")
    with progress_bar(len(items), f"{args.judge} judge") as bar:
        verdicts = []
        for start in range(0, len(items), 64):
            chunk = items[start : start + 64]
            verdicts += judge.judge_many([(it["persona"], it["history"], it["line"])
                                          for it in chunk])
            bar.update(len(chunk))
    rows = [{"id": it["id"], **v.as_dict()} for it, v in zip(items, verdicts, strict=True)]
    if args.out:
        try:
            write_atomically(args.out, (json.dumps(r) + "\n" for r in rows))
        except OSError as exc:
            return fail(f"could not write {args.out} ({exc.strerror or exc}); nothing was "
                        "written, rerun with another --out")
    elif not args.eval:
        for r in rows:
            print(json.dumps(r))
    if args.eval:
        report = classification_report([it["label"] for it in items],
                                       [v.label for v in verdicts])
        report = {"judge": args.judge, **report}
        if args.json:
            print(json.dumps(report))
        else:
            print(f"{args.judge} judge on {args.file}: {report['n']} items, "
                  f"accuracy {report['accuracy']:.3f}, macro-F1 {report['macro_f1']:.3f}\n")
            print(f"{'label':<15}{'precision':>10}{'recall':>10}{'f1':>10}{'support':>9}")
            for label, m in report["per_label"].items():
                print(f"{label:<15}{m['precision']:>10.3f}{m['recall']:>10.3f}"
                      f"{m['f1']:>10.3f}{m['support']:>9}")
            print(f"\nconfusion (rows: gold, columns: predicted)\n{'':<15}"
                  + "".join(f"{lab[:13]:>15}" for lab in LABELS))
            for g in LABELS:
                print(f"{g:<15}" + "".join(f"{report['confusion'][g][p]:>15}" for p in LABELS))
    return 0
