"""The learned judge: the lexical rules where they decide, and otherwise a cross-encoder that
reads the persona and the line together.

The cross-encoder is all-MiniLM-L6-v2 (the model the ``minilm`` extra ships) with a low-rank
*adapter*: rank-``r`` updates ``W + s * B @ A`` of every layer's attention query and value
projections, and a linear classifier over the ``[CLS]`` state and the mean of the last hidden
states. It reads one pair of segments, :func:`pair_text` (the persona sentences, then ``|`` and
the speaker's last :data:`HISTORY_LINES` earlier lines) and the line, and gives the item a
probability per label, in :data:`~persona_gym.judges.base.LABELS` order.

The verdict: a contradiction or entailment the rules find stands, with the rules' evidence;
otherwise the cross-encoder's most probable label, except that a line of questions and greetings
asserts nothing and is neutral (the labels' definition; :func:`statement_units`), and that
``contradiction_threshold`` (default 0) can hold back a contradiction the cross-encoder is
unsure of (more precise, less recall: docs/metrics.md, "Round 11"). The rules'
contradictions are precise on real text (0.98-1.0) but miss most of what they cannot parse; the
cross-encoder reads what no rule was written for. For a label the cross-encoder decides,
``evidence`` is the reference (persona sentence or earlier statement) whose MiniLM embedding is
closest to the line's, and ``against`` says which kind it is: the cross-encoder reads the item
whole and names no sentence itself.

The shipped judge averages the probabilities of two adapters trained with different seeds (an
ensemble; :func:`shipped_adapters`). An adapter is data (arrays in a NumPy ``.npz`` read with
``allow_pickle=False``, about 300 kB; the provenance of both in the ``.json`` next to them),
trained by ``bench/train_judge_adapter.py`` on 5,053 hand-labelled Synthetic-Persona-Chat items
(../shared/data/persona-consistency/dev.jsonl and the ``check`` ... ``check4`` and ``train6``
... ``train10`` sets of bench/judge_check_sets.py), deterministic on the CPU. Loading merges each
into a private copy of MiniLM's weights; nothing is downloaded.

Honest limits (docs/metrics.md, "Round 5" to "Round 10"): 5,053 training items from 87 of
the SPC validation split's 95 persona families. Held out: ``check5`` (the other 8, labelled by an
annotator who never saw any judge), macro-F1 0.882, below issue 13's 0.90; its figures are in
the adapter's provenance. Rounds 11 and 12 (1,600 more labelled items, four adapters instead of
two) did not beat it there ("Round 11", "Round 12"). The cross-encoder's contradictions are
less precise than the rules' (about 88 in 100 are right on ``check5``, where two lines in five
are contradictions, and 81 on the untuned ``val11``, where one in five is): the combination
trades precision for recall.
**On unlabelled logs, where contradictions are rare, it over-calls them**: on 1,500 random
Synthetic-Persona-Chat lines it flags 5.5% that the rules do not, and of 25 of those read by
hand about one was a contradiction (most are "I'm a [job]" lines against a persona that names
no job, and reactions about things the persona does not mention).
Use the rules (``--judge lexical``, the log importer's default) to flag real logs.
Deterministic for a given machine; across machines float rounding may flip a verdict whose top
two probabilities tie.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from persona_gym.judges import lexicon
from persona_gym.judges.base import LABELS, Verdict, validate_item
from persona_gym.judges.lexical import LexicalJudge

__all__ = ["ADAPTER_FILES", "CONTRADICTION_THRESHOLD", "HISTORY_LINES", "MEMBER_FILE", "Adapter",
           "CrossEncoder", "LearnedJudge", "pair_text", "pooled", "provenance", "shipped_adapters",
           "statement_units"]

ADAPTER_FILES = ("consistency_adapter.npz", "consistency_adapter.json")
"""The shipped adapter's arrays and provenance, in ``persona_gym/judges/adapter/``; the other
members of the shipped ensemble are ``consistency_adapter.seed{N}.npz`` beside it
(:func:`shipped_adapters`)."""

MEMBER_FILE = "consistency_adapter.seed{seed}.npz"
"""File name of a shipped ensemble member after the first (``MEMBER_FILE.format(seed=N)``)."""

HISTORY_LINES = 4
"""How many of the speaker's latest earlier lines the cross-encoder reads."""

HIDDEN = 384
"""MiniLM's hidden size."""

CONTRADICTION_THRESHOLD = 0.0
"""The cross-encoder's contradiction stands only at this probability or above; below it the
better of entailment and neutral is the verdict (0: the most probable label, whatever it is)."""


def pair_text(persona: Sequence[str], history: Sequence[str]) -> str:
    """The cross-encoder's first segment: the persona sentences, then `` | `` and the last
    :data:`HISTORY_LINES` earlier lines (when there are any). The line is the second."""
    text = " ".join(persona)
    recent = list(history)[-HISTORY_LINES:]
    return f"{text} | {' '.join(recent)}" if recent else text


def pooled(hidden: Any, mask: Any) -> Any:
    """``[CLS state, mean of the unmasked states]`` of a ``(n, t, 384)`` torch batch: the
    classifier's input (the training script uses this function too)."""
    import torch

    m = mask.unsqueeze(-1).to(hidden.dtype)
    mean = (hidden * m).sum(1) / m.sum(1)
    return torch.cat([hidden[:, 0], mean], -1)


class Adapter:
    """The cross-encoder's trained arrays (module docs).

    Arrays: ``scale`` (the update's factor ``s``), ``max_length`` (tokens per item), and per
    layer ``i`` ``q_A{i}``, ``q_B{i}``, ``v_A{i}``, ``v_B{i}`` (``A``: ``r x 384``, ``B``:
    ``384 x r``; the update of the query / value projection is ``s * B @ A``), then the
    classifier ``W`` (``3 x 768``) and ``b`` (``3``).
    """

    def __init__(self, arrays: dict[str, np.ndarray]) -> None:
        for key in ("scale", "max_length", "W", "b", "q_A0"):
            if key not in arrays:
                raise ValueError(f"the adapter lacks the array {key!r}; train one with "
                                 "bench/train_judge_adapter.py")
        self.scale = float(arrays["scale"])
        self.max_length = int(arrays["max_length"])
        self.W = np.asarray(arrays["W"], np.float32)
        self.b = np.asarray(arrays["b"], np.float32)
        self.layers: list[dict[str, np.ndarray]] = []
        while f"q_A{len(self.layers)}" in arrays:
            i = len(self.layers)
            self.layers.append({k: np.asarray(arrays[f"{k}{i}"], np.float32)
                                for k in ("q_A", "q_B", "v_A", "v_B")})
        rank = self.layers[0]["q_A"].shape[0]
        for layer in self.layers:
            for k, shape in (("q_A", (rank, HIDDEN)), ("v_A", (rank, HIDDEN)),
                             ("q_B", (HIDDEN, rank)), ("v_B", (HIDDEN, rank))):
                if layer[k].shape != shape:
                    raise ValueError(f"the adapter's {k} arrays must be {shape}, got "
                                     f"{layer[k].shape}")
        if self.W.shape != (len(LABELS), 2 * HIDDEN) or self.b.shape != (len(LABELS),):
            raise ValueError(f"the adapter's classifier must be W (3, {2 * HIDDEN}) and b (3,), "
                             f"got {self.W.shape} and {self.b.shape}")

    @property
    def rank(self) -> int:
        return int(self.layers[0]["q_A"].shape[0])

    @classmethod
    def load(cls, path: str | Path | None = None) -> Adapter:
        """The adapter at ``path`` (a ``.npz``), or the shipped one (the ensemble's first
        member)."""
        if path is None:
            ref = resources.files("persona_gym.judges").joinpath("adapter", ADAPTER_FILES[0])
            with resources.as_file(ref) as p:
                return cls.load(p)
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"{path}: no such adapter file; train one with "
                                    "bench/train_judge_adapter.py or use the shipped adapter")
        with np.load(path, allow_pickle=False) as data:
            return cls({k: data[k] for k in data.files})

    def arrays(self) -> dict[str, np.ndarray]:
        out: dict[str, np.ndarray] = {"scale": np.float32(self.scale),
                                      "max_length": np.int64(self.max_length),
                                      "W": self.W, "b": self.b}
        for i, layer in enumerate(self.layers):
            out.update({f"{k}{i}": v for k, v in layer.items()})
        return out

    def save(self, path: str | Path) -> None:
        """Write the adapter as a compressed ``.npz`` (float32)."""
        np.savez_compressed(path, **self.arrays())

    def merge_into(self, bert: Any) -> None:
        """Add the low-rank updates to a BERT model's query and value weights, in place."""
        import torch

        blocks = bert.encoder.layer
        if len(blocks) != len(self.layers):
            raise ValueError(f"the adapter has {len(self.layers)} layers; the model has "
                             f"{len(blocks)}")
        with torch.no_grad():
            for block, layer in zip(blocks, self.layers, strict=True):
                attention = block.attention.self
                for name, a, b in (("query", "q_A", "q_B"), ("value", "v_A", "v_B")):
                    weight = getattr(attention, name).weight
                    delta = torch.from_numpy(layer[b] @ layer[a]) * self.scale
                    weight.add_(delta.to(weight.dtype))


class CrossEncoder:
    """MiniLM with an :class:`Adapter` merged into a private copy of its weights."""

    def __init__(self, adapter: Adapter, batch_size: int = 32) -> None:
        from persona_gym.encoders import load_minilm

        model = load_minilm("cpu")
        self.tokenizer = model.tokenizer
        self.bert = copy.deepcopy(model[0].auto_model).eval()
        adapter.merge_into(self.bert)
        self.adapter, self.batch_size = adapter, batch_size

    def probabilities(self, firsts: Sequence[str], lines: Sequence[str]) -> np.ndarray:
        """``(n, 3)`` label probabilities of ``n`` items (first segments and lines)."""
        import torch

        out = np.zeros((len(lines), len(LABELS)), dtype=np.float32)
        W, b = torch.from_numpy(self.adapter.W), torch.from_numpy(self.adapter.b)
        with torch.no_grad():
            for i in range(0, len(lines), self.batch_size):
                enc = self.tokenizer(list(firsts[i:i + self.batch_size]),
                                     list(lines[i:i + self.batch_size]), padding=True,
                                     truncation=True, max_length=self.adapter.max_length,
                                     return_tensors="pt")
                hidden = self.bert(**enc).last_hidden_state
                logits = pooled(hidden, enc["attention_mask"]) @ W.T + b
                out[i:i + len(logits)] = torch.softmax(logits, -1).numpy()
        return out


AdapterSpec = Adapter | str | Path
"""An :class:`Adapter`, or the path of its ``.npz``."""


def _adapter(spec: AdapterSpec) -> Adapter:
    return spec if isinstance(spec, Adapter) else Adapter.load(spec)


Encoder = Callable[[Sequence[str]], np.ndarray]
"""Texts in, ``(n, 384)`` L2-normalised float32 embeddings out (the evidence's similarity)."""


def minilm_encoder(batch_size: int = 64) -> Encoder:
    """all-MiniLM-L6-v2 sentence embeddings on the CPU, as an :data:`Encoder`."""
    from persona_gym.encoders import load_minilm

    model = load_minilm("cpu")

    def encode(texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, HIDDEN), dtype=np.float32)
        return model.encode(list(texts), batch_size=batch_size, normalize_embeddings=True,
                            convert_to_numpy=True, show_progress_bar=False).astype(np.float32)

    return encode


_WORD = re.compile(r"[a-z0-9]+")
_C = LABELS.index("contradiction")
_EMPTY = lexicon.STOP - {"too"}  # "Me too!" asserts what the partner said of themselves


def statement_units(line: str) -> list[str]:
    """What of ``line`` asserts something: its statement sentences (questions assert nothing
    about the speaker, nor do sentences of only function words and interjections: "Hi!",
    "Hello, I'm [name].", "Oh wow, that's great!", but "Me too!" does), and the whole line too
    when it has several; ``[]`` for a line of questions and greetings."""
    text = lexicon.PLACEHOLDER.sub(" ", line).strip()
    sentences = [s.strip() for s in lexicon.SENTENCE_SPLIT.split(text) if s.strip(" .!?")]
    statements = [s for s in sentences if not s.rstrip().endswith("?")
                  and not _EMPTY.issuperset(_WORD.findall(s.lower()))]
    if len(statements) > 1:
        statements.append(" ".join(statements))
    return statements


def shipped_adapters(folder: str | Path | None = None) -> list[Adapter]:
    """The ensemble in ``folder`` (default: the shipped one): ``consistency_adapter.npz``, then
    its ``.seed{N}.npz`` siblings in name order. ``folder`` is where
    ``bench/train_judge_adapter.py --out`` wrote an ensemble, so an unshipped one is measured
    with the same code (``persona-gym judge --model FOLDER``)."""
    if folder is None:
        with resources.as_file(resources.files("persona_gym.judges").joinpath("adapter")) as p:
            return shipped_adapters(p)
    folder = Path(folder)
    if not (folder / ADAPTER_FILES[0]).is_file():
        raise FileNotFoundError(
            f"{folder}: no {ADAPTER_FILES[0]} there; pass the folder that "
            "bench/train_judge_adapter.py --out wrote, or leave it out for the shipped adapters")
    member = re.compile(re.escape(MEMBER_FILE).replace(r"\{seed\}", r"\d+") + "$")
    return [Adapter.load(folder / ADAPTER_FILES[0])] + [
        Adapter.load(folder / name)
        for name in sorted(r.name for r in folder.iterdir() if member.match(r.name))]


class LearnedJudge:
    """The :class:`~persona_gym.judges.base.TextJudge` of this module (module docs).

    ``adapter`` is an :class:`Adapter` or the path of one, or a sequence of them: an ensemble
    whose probabilities are averaged (default: the shipped ensemble, :func:`shipped_adapters`);
    ``encoder`` the :data:`Encoder` that picks the evidence (default: MiniLM); ``rules`` the
    :class:`~persona_gym.judges.lexical.LexicalJudge` whose verdicts stand where they decide;
    ``batch_size`` items per forward pass; ``contradiction_threshold`` the probability the
    cross-encoder's contradiction needs (:data:`CONTRADICTION_THRESHOLD`; the rules'
    contradictions need none). The model is loaded on first use.
    """

    name = "learned"

    def __init__(self, adapter: AdapterSpec | Sequence[AdapterSpec] | None = None,
                 encoder: Encoder | None = None, rules: LexicalJudge | None = None,
                 batch_size: int = 32,
                 contradiction_threshold: float = CONTRADICTION_THRESHOLD) -> None:
        if not 0.0 <= contradiction_threshold <= 1.0:
            raise ValueError(f"contradiction_threshold must be in [0, 1], got "
                             f"{contradiction_threshold!r}")
        if adapter is None:
            self.adapters = shipped_adapters()
        elif isinstance(adapter, (Adapter, str, Path)):
            self.adapters = [_adapter(adapter)]
        else:
            self.adapters = [_adapter(a) for a in adapter]
            if not self.adapters:
                raise ValueError("pass at least one adapter (or None for the shipped ones)")
        self.batch_size = batch_size
        self.contradiction_threshold = contradiction_threshold
        self.rules = rules if rules is not None else LexicalJudge()
        self._encoder = encoder
        self._models: list[CrossEncoder] | None = None

    def probabilities(self, items: Sequence[tuple[Sequence[str], Sequence[str], str]]
                      ) -> np.ndarray:
        """The cross-encoder's ``(n, 3)`` label probabilities of ``(persona, history, line)``
        items (without the rules): the mean over the ensemble's members."""
        if self._models is None:
            self._models = [CrossEncoder(a, self.batch_size) for a in self.adapters]
        firsts = [pair_text(p, h) for p, h, _ in items]
        lines = [x for _, _, x in items]
        probs = [m.probabilities(firsts, lines) for m in self._models]
        return probs[0] if len(probs) == 1 else np.mean(probs, axis=0, dtype=np.float32)

    def judge(self, persona: Sequence[str], history: Sequence[str], line: str) -> Verdict:
        """Label ``line`` against ``persona`` sentences and earlier ``history`` (module docs).

        ``scores`` are the cross-encoder's probabilities, with the rule strength of a label
        the rules decide folded in (the larger of the two)."""
        return self.judge_many([(persona, history, line)])[0]

    def judge_many(
        self, items: Sequence[tuple[Sequence[str], Sequence[str], str]],
        probs: np.ndarray | None = None,
    ) -> list[Verdict]:
        """:meth:`judge` for each ``(persona, history, line)``, in batches. ``probs``: the
        items' :meth:`probabilities` when the caller already has them (the cross-encoder then
        does not run again)."""
        for persona, history, line in items:
            validate_item(persona, history, line)
        if probs is None:
            probs = self.probabilities(items) if items else np.zeros((0, len(LABELS)))
        elif np.shape(probs) != (len(items), len(LABELS)):
            raise ValueError(f"probs has shape {np.shape(probs)} for {len(items)} items; pass "
                             f"this judge's probabilities(items), shape (n, {len(LABELS)})")
        return [self._decide(p, h, x, pr) for (p, h, x), pr in zip(items, probs, strict=True)]

    def _decide(self, persona: Sequence[str], history: Sequence[str], line: str,
                probs: np.ndarray) -> Verdict:
        scores = {k: round(float(v), 4) for k, v in zip(LABELS, probs, strict=True)}
        rule = self.rules.judge(persona, history, line)
        if rule.label != "neutral":
            scores[rule.label] = max(scores[rule.label], rule.scores[rule.label])
            return Verdict(rule.label, rule.against, rule.evidence, scores)
        label = LABELS[int(np.argmax(probs))]
        if label == "contradiction" and probs[_C] < self.contradiction_threshold:
            label = max(("entailment", "neutral"), key=lambda k: probs[LABELS.index(k)])
        if label == "neutral" or not statement_units(line):  # nothing asserted
            return Verdict("neutral", None, None, scores)
        against, evidence = self._evidence(persona, history, line)
        return Verdict(label, against, evidence, scores)

    def _evidence(self, persona: Sequence[str], history: Sequence[str], line: str
                  ) -> tuple[str, str]:
        """The reference closest to ``line`` in MiniLM's embedding, and its kind."""
        refs = [("persona", s) for s in dict.fromkeys(persona)]
        refs += [("history", u) for u in dict.fromkeys(
            u for h in history for u in statement_units(h))]
        if self._encoder is None:
            self._encoder = minilm_encoder()
        vecs = np.asarray(self._encoder([line] + [r for _, r in refs]), dtype=np.float32)
        if vecs.shape != (len(refs) + 1, HIDDEN):
            raise ValueError(f"the encoder returned shape {vecs.shape} for {len(refs) + 1} "
                             f"texts; expected (n, {HIDDEN})")
        return refs[int(np.argmax(vecs[1:] @ vecs[0]))]


def provenance() -> dict[str, Any]:
    """The shipped adapter's provenance record (``consistency_adapter.json``)."""
    ref = resources.files("persona_gym.judges").joinpath("adapter", ADAPTER_FILES[1])
    return json.loads(ref.read_text("utf-8"))
