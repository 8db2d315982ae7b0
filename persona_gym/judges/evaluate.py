"""Reading judge items from JSONL and scoring verdicts against gold labels.

The JSONL format is that of ../shared/data/persona-consistency/README.md: one object per line
with ``id``, ``persona`` (list of sentences), ``history`` (the speaker's earlier lines, oldest
first) and ``line``; ``label``, ``against`` and ``evidence`` are the answer key, ignored by
judging and used only by :func:`classification_report`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from persona_gym.judges.base import LABELS, validate_item

MAX_LINE_BYTES = 1 << 20
"""Longest accepted JSONL line (1 MiB; the persona-consistency items are under 1 kB). The
lexical judge reads about 2.5 s per MB, so this bounds one item's time and the reader's memory."""


class JudgeInputError(ValueError):
    """A JSONL item is malformed; the message names the file and line number."""


def _lines(path: Path) -> Iterator[tuple[int, str]]:
    """``(line number, text)`` of each line, decoded as UTF-8 (a BOM on line 1 is dropped);
    a line that is not UTF-8 or is over :data:`MAX_LINE_BYTES` raises :class:`JudgeInputError`
    (reading stops at the limit, so an enormous line costs no more than the limit)."""
    with path.open("rb") as fh:
        number = 0
        while raw := fh.readline(MAX_LINE_BYTES + 1):
            number += 1
            if len(raw) - raw.endswith(b"\n") > MAX_LINE_BYTES:
                raise JudgeInputError(
                    f"{path}:{number}: the line is longer than {MAX_LINE_BYTES:,} bytes, the "
                    "limit for one item; shorten its history or split it into several items"
                )
            try:
                yield number, raw.decode("utf-8-sig" if number == 1 else "utf-8")
            except UnicodeDecodeError as exc:
                raise JudgeInputError(
                    f"{path}:{number}: not UTF-8 ({exc.reason} 0x{raw[exc.start]:02x} at byte "
                    f"{exc.start + 1}); save the file as UTF-8"
                ) from None


def load_items(path: str | Path) -> list[dict[str, Any]]:
    """All items of a JSONL file, validated; the first malformed line raises
    :class:`JudgeInputError` naming its line number (nothing is judged)."""
    path = Path(path)
    if path.is_dir():
        raise JudgeInputError(f"{path}: is a folder; pass a JSONL file of items (one JSON "
                              "object per line)")
    if not path.is_file():
        raise JudgeInputError(f"{path}: no such file; check the path")
    items = []
    for number, raw in _lines(path):
        if not raw.strip():
            continue
        where = f"{path}:{number}"
        try:
            item = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise JudgeInputError(f"{where}: not valid JSON ({exc.msg})") from None
        except RecursionError:
            raise JudgeInputError(f"{where}: JSON nested too deeply; an item is a flat object "
                                  "of id, persona, history and line") from None
        except ValueError as exc:  # an integer of more than 4,300 digits
            raise JudgeInputError(f"{where}: not valid JSON ({str(exc).split(':')[0]}); "
                                  "write long numbers as strings") from None
        if not isinstance(item, dict):
            raise JudgeInputError(f"{where}: expected a JSON object, got {type(item).__name__}")
        missing = [k for k in ("id", "persona", "history", "line") if k not in item]
        if missing:
            raise JudgeInputError(
                f"{where}: missing key(s) {missing}; each line needs id, persona, history, line"
            )
        try:
            validate_item(item["persona"], item["history"], item["line"])
        except (TypeError, ValueError) as exc:
            raise JudgeInputError(f"{where}: {exc}") from None
        items.append(item)
    if not items:
        raise JudgeInputError(f"{path}: no items")
    return items


def classification_report(gold: Sequence[str], predicted: Sequence[str]) -> dict[str, Any]:
    """Accuracy, per-label precision/recall/F1/support, macro-F1 and the confusion matrix
    (``confusion[gold][predicted]`` counts, labels in :data:`LABELS` order)."""
    if len(gold) != len(predicted):
        raise ValueError("gold and predicted differ in length")
    unknown = sorted({g for g in gold if g not in LABELS})
    if unknown:
        raise ValueError(f"gold labels {unknown} are not among {LABELS}")
    confusion = {g: dict.fromkeys(LABELS, 0) for g in LABELS}
    for g, p in zip(gold, predicted, strict=True):
        confusion[g][p] += 1
    per_label = {}
    for label in LABELS:
        tp = confusion[label][label]
        pred = sum(confusion[g][label] for g in LABELS)
        support = sum(confusion[label].values())
        precision = tp / pred if pred else 0.0
        recall = tp / support if support else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_label[label] = {"precision": precision, "recall": recall, "f1": f1,
                            "support": support}
    correct = sum(confusion[label][label] for label in LABELS)
    return {
        "n": len(gold),
        "accuracy": correct / len(gold) if gold else 0.0,
        "macro_f1": sum(m["f1"] for m in per_label.values()) / len(LABELS),
        "per_label": per_label,
        "confusion": confusion,
    }
