"""The ``nli`` judge: any local transformers NLI (sequence-classification) model, by path.

For a line, the judge scores one premise/hypothesis pair per persona sentence and per earlier
line (premise = that sentence or line, hypothesis = the new line) and turns each pair's logits
into probabilities with a softmax. Then:

* ``contradiction`` if the largest contradiction probability over the pairs is at least
  ``threshold``; ``evidence`` is that pair's premise and ``against`` says whether it is a
  persona sentence (``"persona"``) or an earlier line (``"history"``);
* else ``entailment``, the same way with the entailment probability;
* else ``neutral`` (no evidence).

``Verdict.scores`` holds, for every label, its largest probability over the pairs. A blank line
asserts nothing and is judged neutral without running the model; blank earlier lines are not
used as premises.

The model's label order is read from its ``config.id2label`` (case-insensitively: a label
containing "contra" is contradiction, "entail" entailment, "neutral" neutral), so MNLI-style
models with any label order work. Models are never downloaded: the path must be a local folder
written by ``save_pretrained``.

Example::

    judge = NLIJudge("models/roberta-large-mnli")
    judge.judge(["I am a nurse."], [], "I work as a chef.").label  # "contradiction"
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from persona_gym.judges.base import LABELS, Verdict, validate_item

Item = tuple[Sequence[str], Sequence[str], str]


def label_mapping(id2label: Mapping[Any, str]) -> dict[str, int]:
    """Map each verdict label to the model's output index, from a config's ``id2label``.

    Raises ValueError naming the labels found when they are not exactly one contradiction, one
    entailment and one neutral label.
    """
    found: dict[str, list[int]] = {label: [] for label in LABELS}
    for idx, raw in id2label.items():
        name = str(raw).lower()
        if "contra" in name:
            found["contradiction"].append(int(idx))
        elif "not_entail" in name or "non_entail" in name or "non-entail" in name:
            continue  # two-way RTE-style label: neither entailment nor a contradiction
        elif "entail" in name:
            found["entailment"].append(int(idx))
        elif "neutral" in name:
            found["neutral"].append(int(idx))
    if any(len(ids) != 1 for ids in found.values()):
        shown = {int(k): v for k, v in sorted(id2label.items(), key=lambda kv: int(kv[0]))}
        raise ValueError(
            f"cannot map the model's labels {shown} to contradiction/entailment/neutral: the "
            "NLI judge needs a 3-way NLI model whose config.id2label has exactly one label "
            "containing 'contra', one containing 'entail' and one containing 'neutral' "
            "(e.g. {0: 'CONTRADICTION', 1: 'NEUTRAL', 2: 'ENTAILMENT'}); fix config.json or "
            "use an MNLI-trained model"
        )
    return {label: ids[0] for label, ids in found.items()}


class NLIJudge:
    """A :class:`~persona_gym.judges.base.TextJudge` backed by a local transformers NLI model.

    Arguments:
        model_path: folder of a sequence-classification model and its tokenizer
            (``save_pretrained`` output); loaded with ``local_files_only=True``.
        threshold: probability a pair must reach to call a contradiction (or entailment).
        batch_size: pairs per forward pass; :meth:`judge_many` batches across items.
        device: torch device; ``None`` picks CUDA when available, else the CPU.
        max_length: token limit per pair (longer pairs are truncated); ``None`` uses the
            smaller of the tokenizer's and the model's limits, capped at 512.
    """

    name = "nli"

    def __init__(
        self,
        model_path: str | Path,
        *,
        threshold: float = 0.5,
        batch_size: int = 32,
        device: str | None = None,
        max_length: int | None = None,
    ) -> None:
        if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or not (
            0.0 < threshold <= 1.0
        ):
            raise ValueError(f"threshold must be a probability in (0, 1], got {threshold!r}")
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
        if max_length is not None and (not isinstance(max_length, int) or max_length < 8):
            raise ValueError(f"max_length must be None or an int >= 8, got {max_length!r}")
        path = Path(model_path).expanduser()
        if not path.is_dir():
            raise FileNotFoundError(
                f"NLI model folder {str(path)!r} does not exist; persona_gym never downloads "
                "models: pass the path of a local transformers sequence-classification model "
                "saved with save_pretrained (config.json, weights and tokenizer files)"
            )
        if not (path / "config.json").is_file():
            raise FileNotFoundError(
                f"{str(path)!r} holds no config.json, so it is not a saved transformers model; "
                "pass the folder written by save_pretrained (models are never downloaded)"
            )
        import torch
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        try:
            self.tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
            model = AutoModelForSequenceClassification.from_pretrained(
                path, local_files_only=True
            )
        except OSError as err:
            raise FileNotFoundError(
                f"cannot load an NLI model from {str(path)!r} ({err}); the folder must hold a "
                "local transformers sequence-classification model and its tokenizer "
                "(save_pretrained output); models are never downloaded"
            ) from err
        self.label_index = label_mapping(model.config.id2label)
        self.device = torch.device(
            device if device is not None else ("cuda" if torch.cuda.is_available() else "cpu")
        )
        self.model = model.to(self.device).eval()
        self.model_path = str(path)
        self.threshold = float(threshold)
        self.batch_size = batch_size
        if max_length is None:
            limits = [512, getattr(self.tokenizer, "model_max_length", None)]
            limits.append(getattr(model.config, "max_position_embeddings", None))
            max_length = min(int(x) for x in limits if isinstance(x, int) and x > 0)
        self.max_length = max_length

    def __repr__(self) -> str:
        return f"NLIJudge({self.model_path!r}, threshold={self.threshold})"

    # -- TextJudge -----------------------------------------------------------------------------

    def judge(self, persona: Sequence[str], history: Sequence[str], line: str) -> Verdict:
        """Judge ``line`` given the speaker's ``persona`` sentences and earlier ``history``."""
        return self.judge_many([(persona, history, line)])[0]

    def judge_many(self, items: Sequence[Item]) -> list[Verdict]:
        """Judge many ``(persona, history, line)`` items, batching their pairs together."""
        if isinstance(items, (str, bytes)) or not isinstance(items, Sequence):
            raise TypeError("items must be a list of (persona, history, line) tuples")
        premises: list[list[tuple[str, str]]] = []  # per item: (premise, "persona"|"history")
        for item in items:
            if not isinstance(item, Sequence) or isinstance(item, str) or len(item) != 3:
                raise TypeError(f"each item must be a (persona, history, line) tuple, got {item!r}")
            persona, history, line = item
            validate_item(persona, history, line)
            if not line.strip():
                premises.append([])
                continue
            pairs = [(s, "persona") for s in persona]
            pairs += [(h, "history") for h in history if h.strip()]
            premises.append(pairs)
        flat = [
            (prem, item[2])
            for item, pairs in zip(items, premises, strict=True)
            for prem, _ in pairs
        ]
        probs = self.pair_probabilities(flat)
        verdicts: list[Verdict] = []
        start = 0
        for pairs in premises:
            verdicts.append(self._decide(pairs, probs[start : start + len(pairs)]))
            start += len(pairs)
        return verdicts

    # -- internals -----------------------------------------------------------------------------

    def pair_probabilities(self, pairs: Sequence[tuple[str, str]]) -> list[dict[str, float]]:
        """Softmax probabilities of each label for ``(premise, hypothesis)`` pairs, in order."""
        import torch

        out: list[dict[str, float]] = [{} for _ in pairs]
        # Similar lengths share a batch (less padding); results go back to input order.
        order = sorted(range(len(pairs)), key=lambda i: len(pairs[i][0]) + len(pairs[i][1]))
        with torch.inference_mode():
            for lo in range(0, len(order), self.batch_size):
                idx = order[lo : lo + self.batch_size]
                enc = self.tokenizer(
                    [pairs[i][0] for i in idx],
                    [pairs[i][1] for i in idx],
                    padding=True,
                    truncation=True,
                    max_length=self.max_length,
                    return_tensors="pt",
                ).to(self.device)
                logits = self.model(**enc).logits.float()
                p = torch.softmax(logits, dim=-1).cpu().numpy()
                for row, i in zip(p, idx, strict=True):
                    out[i] = {label: float(row[j]) for label, j in self.label_index.items()}
        return out

    def _decide(self, pairs: list[tuple[str, str]], probs: list[dict[str, float]]) -> Verdict:
        if not pairs:
            return Verdict("neutral", scores={"contradiction": 0.0, "entailment": 0.0,
                                              "neutral": 1.0})
        scores = {label: max(p[label] for p in probs) for label in LABELS}
        for label in ("contradiction", "entailment"):
            best = max(range(len(probs)), key=lambda i: probs[i][label])  # first on ties
            if probs[best][label] >= self.threshold:
                premise, source = pairs[best]
                return Verdict(label, against=source, evidence=premise, scores=scores)
        return Verdict("neutral", scores=scores)
