"""Persona *families* of Synthetic-Persona-Chat and the split of them that the judge work
uses: persona sentences that share a persona set, linked transitively, form a family; a family
is held out for one of the hand-labelled check sets of bench/judge_check_sets.py (``check`` ...
``check5``) or is a *training* family. bench/mine_persona_values.py mines the lexicon's
persona-values table from the conversations of training families only
(:func:`training_conversations`), so no check set's persona ever shaped a rule's vocabulary.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from pathlib import Path

CHECK_SALT, CHECK2_SALT, CHECK3_SALT, CHECK4_SALT, CHECK5_SALT = (
    "fam", "fam2", "fam3", "fam4", "fam5")


def _h(text: str) -> int:
    return int(hashlib.sha256(text.encode()).hexdigest(), 16)


def _norm(text: str) -> str:
    return " ".join(text.lower().split())


def family_split(family: str) -> str:
    """``check`` (1 in 4 families), ``check2`` (1 in 9 of the rest), ``check3`` (1 in 6 of the
    rest), ``check4`` (1 in 10 of the rest), ``check5`` (1 in 6 of the rest) or ``train``."""
    if _h(CHECK_SALT + family) % 4 == 0:
        return "check"
    if _h(CHECK2_SALT + family) % 9 == 0:
        return "check2"
    if _h(CHECK3_SALT + family) % 6 == 0:
        return "check3"
    if _h(CHECK4_SALT + family) % 10 == 0:
        return "check4"
    return "check5" if _h(CHECK5_SALT + family) % 6 == 0 else "train"


def families(convs: list) -> dict[str, str]:
    """Persona sentence (normalised) -> family name (persona sentences of one persona set are
    one family, transitively)."""
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for c in convs:
        for sentences in c.personas.values():
            ps = [_norm(p) for p in sentences]
            for p in ps[1:]:
                parent[find(ps[0])] = find(p)
            if ps:
                find(ps[0])
    roots = sorted({find(p) for p in list(parent)})
    name = {r: f"f{i:03d}" for i, r in enumerate(roots)}
    return {p: name[find(p)] for p in list(parent)}


def training_conversations(convs: list, dev: Path | None,
                           splits: tuple[str, ...] = ("train",)) -> tuple[list, dict]:
    """The conversations the head may learn from (every persona sentence of both speakers in a
    family of ``splits``; none of dev.jsonl's sources), and counts of what was left out.

    ``("train",)`` keeps every check set's families out. Check sets the shipped adapter already
    trains on (``check`` ... ``check4``) may be added to draw more lines to label; ``check5``,
    the held-out one, must never be."""
    fam = families(convs)
    excluded = set()
    if dev is not None:
        items = [json.loads(x) for x in dev.read_text("utf-8").splitlines() if x.strip()]
        count = Counter(_norm(t) for c in convs for t in {t for _, t in c.turns})
        keys = {_norm(x) for it in items for x in [it["line"], *it["history"]]
                if count[_norm(x)] <= 3}
        excluded = {c.id for c in convs if any(_norm(t) in keys for _, t in c.turns)}
    train = [c for c in convs if c.id not in excluded and all(
        family_split(fam[_norm(p)]) in splits for ps in c.personas.values() for p in ps)]
    split = Counter(family_split(f) for f in set(fam.values()))
    return train, {"conversations": len(convs), "dev_source_conversations": len(excluded),
                   "families": dict(sorted(split.items())), "training_conversations": len(train)}


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
