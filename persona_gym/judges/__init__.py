"""Consistency judges, and the reader they share with the text env and the log importer.

* ``symbolic`` (:class:`SymbolicJudge`) is exact on the world's own lines: it reads the facts
  each line asserts. It computes the metrics defined in docs/metrics.md.
* the reader (:class:`persona_gym.judges.reader.TextReader`) reads the world's facts, the
  dialogue act and partner moves from free text, so the symbolic judge can score the text
  variant's replies and real logs; its vocabulary is :mod:`persona_gym.judges.lexicon`.
* ``lexical`` (:class:`persona_gym.judges.lexical.LexicalJudge`) labels real text against
  free-text personas with rules;
* ``learned`` (:class:`persona_gym.judges.learned.LearnedJudge`, the default of ``persona-gym
  judge``) adds a cross-encoder to the rules: MiniLM (the ``minilm`` extra) with a small
  trained adapter decides where the rules see neither a contradiction nor an entailment.
* ``nli`` (:class:`persona_gym.judges.nli.NLIJudge`) wraps any local transformers NLI model.

The text judges share :class:`TextJudge`: persona sentences, earlier lines and a line in, a
:class:`Verdict` (contradiction / entailment / neutral, with evidence) out.
"""

from __future__ import annotations

from pathlib import Path

from persona_gym.judges.base import LABELS, TextJudge, Verdict, validate_item
from persona_gym.judges.symbolic import METRICS, LineScores, SymbolicJudge

TEXT_JUDGES = ("learned", "lexical", "nli")


def get_judge(name: str, model: str | Path | None = None, batch_size: int = 32) -> TextJudge:
    """A text judge by name: ``learned`` (rules plus a cross-encoder adapter ensemble on
    MiniLM; needs the ``minilm`` extra; ``model``, if given, is a folder of adapters written by
    ``bench/train_judge_adapter.py``, default the shipped ones), ``lexical`` (rules only, no
    model) or ``nli`` (needs ``model``, a local transformers NLI model folder)."""
    if name == "learned":
        from persona_gym.encoders import _require_minilm
        from persona_gym.judges.learned import LearnedJudge, shipped_adapters

        adapters = None if model is None else shipped_adapters(model)
        try:
            _require_minilm()
        except ImportError as exc:
            raise ImportError(f"the learned judge embeds text with all-MiniLM-L6-v2: {exc}; "
                              "or use --judge lexical (rules only, no model)") from None
        return LearnedJudge(adapters, batch_size=batch_size)
    if name == "lexical":
        if model is not None:
            raise ValueError("the lexical judge takes no model; --model is for --judge nli "
                             "or learned")
        from persona_gym.judges.lexical import LexicalJudge

        return LexicalJudge()
    if name == "nli":
        if model is None:
            raise ValueError(
                "the nli judge needs a local model: pass --model PATH (a folder with a "
                "transformers sequence-classification NLI model); nothing is downloaded"
            )
        from persona_gym.judges.nli import NLIJudge

        return NLIJudge(model, batch_size=batch_size)
    raise ValueError(f"unknown judge {name!r}; choose from {', '.join(TEXT_JUDGES)}")


__all__ = [
    "LABELS",
    "METRICS",
    "TEXT_JUDGES",
    "LineScores",
    "SymbolicJudge",
    "TextJudge",
    "Verdict",
    "get_judge",
    "validate_item",
]
