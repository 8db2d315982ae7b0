"""Observation encoders: text of the conversation -> fixed-size float32 vector.

The default :class:`HashedEncoder` uses signed feature hashing (CRC32, stable across processes)
of lower-cased word unigrams and bigrams within each sentence; each text becomes an
L2-normalised ``dim`` vector. The
observation concatenates, in this order:

=================  =========  ===========================================================
block              size       content
=================  =========  ===========================================================
persona            dim        sum of the persona sentences' vectors, normalised
own history        dim        the agent's last ``window`` lines, summed and normalised
partner history    dim        the partner's previous ``window`` lines, summed and normalised
partner line       dim        the partner's current line
candidates         K * dim    each candidate reply, in the order of the action indices
similarities       K * 4      per candidate: cosine with persona, own history, partner history
                              and partner line
progress           1          turn index / horizon
=================  =========  ===========================================================

Every entry lies in [-1, 1]. Nothing in it is a label: it is computed from the texts alone,
which the agent could read itself.
"""

from __future__ import annotations

import math
import re
import zlib
from collections.abc import Sequence
from itertools import pairwise

import numpy as np

_TOKEN = re.compile(r"[a-z0-9']+")
_SENTENCE = re.compile(r"(?<=[.!?])\s+")
_CACHE_LIMIT = 200_000


class HashedEncoder:
    """Signed hashed n-gram features of the conversation (see the module docstring)."""

    name = "hashed"

    def __init__(self, num_candidates: int, dim: int = 128, window: int = 4) -> None:
        if dim < 8:
            raise ValueError(f"encoder dim must be >= 8, got {dim}")
        self.k, self.dim, self.window = num_candidates, dim, window
        self.size = 4 * dim + num_candidates * (dim + 4) + 1
        self._cache: dict[str, np.ndarray] = {}
        self._slots: dict[str, tuple[int, float]] = {}  # n-gram -> (bucket, sign)
        self._sentences: dict[str, np.ndarray] = {}  # sentence -> raw signed counts
        self._zero = np.zeros(dim, dtype=np.float32)

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state["_cache"], state["_slots"], state["_sentences"] = {}, {}, {}
        return state

    def text_vector(self, text: str) -> np.ndarray:
        """The normalised hashed vector of one text (cached).

        n-grams do not cross sentence boundaries, so a text's vector is the normalised sum of
        its sentences' count vectors; sentences are cached too, which keeps the cost of a new
        combination of known sentences low.
        """
        vec = self._cache.get(text)
        if vec is None:
            parts = _SENTENCE.split(text.strip())
            vec = self._sentence_counts(parts[0]).copy()
            for part in parts[1:]:
                vec += self._sentence_counts(part)
            norm = math.sqrt(float(vec @ vec))
            if norm > 0:
                vec /= norm
            if len(self._cache) >= _CACHE_LIMIT:
                self._cache.clear()
            self._cache[text] = vec
        return vec

    def _sentence_counts(self, sentence: str) -> np.ndarray:
        counts = self._sentences.get(sentence)
        if counts is None:
            words = _TOKEN.findall(sentence.lower())
            slots = self._slots
            idx, sign = [], []
            for g in (*words, *(f"{a} {b}" for a, b in pairwise(words))):
                hit = slots.get(g)
                if hit is None:
                    h = zlib.crc32(g.encode())
                    hit = slots[g] = (h % self.dim, 1.0 if (h >> 31) & 1 else -1.0)
                idx.append(hit[0])
                sign.append(hit[1])
            counts = np.bincount(idx, sign, minlength=self.dim).astype(np.float32)
            if len(self._sentences) >= _CACHE_LIMIT:
                self._sentences.clear()
            self._sentences[sentence] = counts
        return counts

    def sum_vector(self, texts: Sequence[str]) -> np.ndarray:
        """Normalised sum of several texts' vectors (zeros for none)."""
        if not texts:
            return self._zero
        total = self.text_vector(texts[0]).copy()
        for t in texts[1:]:
            total += self.text_vector(t)
        norm = math.sqrt(float(total @ total))
        if norm > 0:
            total /= norm
        return total

    def encode(
        self,
        persona_vec: np.ndarray,
        own_history: Sequence[str],
        partner_history: Sequence[str],
        partner_line: str,
        candidates: Sequence[str],
        progress: float,
    ) -> np.ndarray:
        """Build one observation (``persona_vec`` is ``sum_vector(persona sentences)``)."""
        d, k, w = self.dim, self.k, self.window
        out = np.empty(self.size, dtype=np.float32)
        blocks = out[: 4 * d].reshape(4, d)
        blocks[0] = persona_vec
        blocks[1] = self.sum_vector(own_history[-w:])
        blocks[2] = self.sum_vector(partner_history[-w:])
        blocks[3] = self.text_vector(partner_line)
        end = 4 * d + k * d
        cands = out[4 * d : end].reshape(k, d)
        for i, text in enumerate(candidates):
            cands[i] = self.text_vector(text)
        sims = out[end : end + 4 * k].reshape(k, 4)
        np.matmul(cands, blocks.T, out=sims)
        np.minimum(sims, 1.0, out=sims)  # float32 rounding can exceed 1 by ~1e-7
        np.maximum(sims, -1.0, out=sims)
        out[-1] = progress
        return out
