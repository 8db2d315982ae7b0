"""A cheap stream of uniforms drawn in bulk from a numpy ``Generator``.

Scalar draws from ``numpy.random.Generator`` cost about a microsecond each; a conversation turn
needs dozens. :class:`Stream` draws 512 uniforms at a time from the environment's
``np_random`` and hands them out from a Python list, so every choice is still a deterministic
function of the seed and no global RNG is ever touched.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

import numpy as np

T = TypeVar("T")


class Stream:
    """Buffered uniform draws from ``rng`` with the few helpers the world needs."""

    __slots__ = ("_buf", "_pos", "rng")

    def __init__(self, rng: np.random.Generator, block: int = 512) -> None:
        self.rng = rng
        self._buf: list[float] = rng.random(block).tolist()
        self._pos = 0

    def _refill(self) -> None:
        self._buf = self.rng.random(len(self._buf)).tolist()
        self._pos = 0

    # The helpers below inline ``random`` (they run dozens of times per conversation turn).

    def random(self) -> float:
        """A uniform float in [0, 1)."""
        if self._pos >= len(self._buf):
            self._refill()
        u = self._buf[self._pos]
        self._pos += 1
        return u

    def index(self, n: int) -> int:
        """A uniform integer in [0, n)."""
        if self._pos >= len(self._buf):
            self._refill()
        u = self._buf[self._pos]
        self._pos += 1
        return int(u * n)

    def pick(self, seq: Sequence[T]) -> T:
        """A uniform element of a non-empty sequence."""
        if self._pos >= len(self._buf):
            self._refill()
        u = self._buf[self._pos]
        self._pos += 1
        return seq[int(u * len(seq))]

    def shuffled(self, seq: Sequence[T]) -> list[T]:
        """A uniformly shuffled copy (Fisher-Yates)."""
        out = list(seq)
        for i in range(len(out) - 1, 0, -1):
            j = int(self.random() * (i + 1))
            out[i], out[j] = out[j], out[i]
        return out

    def weighted(self, cumulative: Sequence[float]) -> int:
        """Index drawn with probabilities given as a cumulative sum ending at 1."""
        u = self.random()
        for i, c in enumerate(cumulative):
            if u < c:
                return i
        return len(cumulative) - 1
