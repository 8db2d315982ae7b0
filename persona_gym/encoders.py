"""Observation encoders: text of the conversation -> fixed-size float32 vector.

The default :class:`HashedEncoder` uses signed feature hashing (CRC32, stable across processes)
of lower-cased word unigrams and bigrams; each text becomes an L2-normalised ``dim`` vector. The
observation concatenates, in this order:

=================  =========  ===========================================================
block              size       content
=================  =========  ===========================================================
persona            dim        sum of the persona sentences' vectors, normalised
own history        dim        the agent's last ``window`` lines, summed and normalised
partner history    dim        the partner's previous ``window`` lines, summed and normalised
partner line       dim        the partner's current line
candidates         K * dim    each candidate reply, in the order of the action indices
similarities       K * 3      per candidate: cosine with persona, partner line, own history
progress           1          turn index / horizon
=================  =========  ===========================================================

Every entry lies in [-1, 1]. Nothing in it is a label: it is computed from the texts alone,
which the agent could read itself.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Sequence

import numpy as np

_TOKEN = re.compile(r"[a-z0-9']+")
_CACHE_LIMIT = 200_000


class HashedEncoder:
    """Signed hashed n-gram features of the conversation (see the module docstring)."""

    name = "hashed"

    def __init__(self, num_candidates: int, dim: int = 128, window: int = 4) -> None:
        if dim < 8:
            raise ValueError(f"encoder dim must be >= 8, got {dim}")
        self.k, self.dim, self.window = num_candidates, dim, window
        self.size = 4 * dim + num_candidates * (dim + 3) + 1
        self._cache: dict[str, np.ndarray] = {}
        self._zero = np.zeros(dim, dtype=np.float32)

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state["_cache"] = {}
        return state

    def text_vector(self, text: str) -> np.ndarray:
        """The normalised hashed vector of one text (cached)."""
        vec = self._cache.get(text)
        if vec is None:
            words = _TOKEN.findall(text.lower())
            grams = words + [f"{a} {b}" for a, b in zip(words, words[1:])]
            vec = np.zeros(self.dim, dtype=np.float32)
            for g in grams:
                h = zlib.crc32(g.encode())
                vec[h % self.dim] += 1.0 if (h >> 31) & 1 else -1.0
            norm = float(np.linalg.norm(vec))
            if norm > 0:
                vec /= norm
            if len(self._cache) >= _CACHE_LIMIT:
                self._cache.clear()
            self._cache[text] = vec
        return vec

    def sum_vector(self, texts: Sequence[str]) -> np.ndarray:
        """Normalised sum of several texts' vectors (zeros for none)."""
        if not texts:
            return self._zero
        total = np.sum([self.text_vector(t) for t in texts], axis=0)
        norm = float(np.linalg.norm(total))
        return total / norm if norm > 0 else total

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
        own = self.sum_vector(own_history[-self.window :])
        prev = self.sum_vector(partner_history[-self.window :])
        line = self.text_vector(partner_line)
        cands = np.stack([self.text_vector(c) for c in candidates])
        sims = np.clip(cands @ np.stack([persona_vec, line, own], axis=1), -1.0, 1.0)
        return np.concatenate(
            [persona_vec, own, prev, line, cands.ravel(), sims.ravel(),
             np.array([progress], dtype=np.float32)]
        ).astype(np.float32, copy=False)
