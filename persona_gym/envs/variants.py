"""The continuous and text variants: same conversations, metrics and rewards, other actions.

``persona_gym/{Domain}Continuous-v1`` gives offline-RL algorithms that need a Box action (IQL, CQL,
TD3+BC, BC in d3rlpy) a continuous control over the same K candidates. ``{Domain}Text-v0`` lets
any agent (an LLM, a person) answer in free text, read by the text reader. Both exist for
every task version; the version history of each is the discrete variant's.
"""

from __future__ import annotations

import math
import string
from collections.abc import Sequence
from typing import Any

import numpy as np
from gymnasium import spaces

from persona_gym.dialogue import Line
from persona_gym.envs.core import PersonaDialogueEnv

DESCRIPTOR_DIM = 16
"""Dimension ``d`` of the continuous variant's action and candidate descriptors."""

_PROJECTION_SEED = 20261126


def _projection(dim: int) -> np.ndarray:
    """The fixed random projection from hashed text vectors to descriptors (same everywhere)."""
    rng = np.random.default_rng(_PROJECTION_SEED)
    return (rng.standard_normal((DESCRIPTOR_DIM, dim)) / math.sqrt(DESCRIPTOR_DIM)).astype(
        np.float32
    )


class PersonaDialogueContinuousEnv(PersonaDialogueEnv):
    """The dialogue task with a continuous action, for offline-RL algorithms that need a Box.

    ## Action Space

    ``Box(-1, 1, (16,), float32)``. Every candidate reply has a *descriptor*: the unit-norm
    projection of its text vector by a fixed random ``16 x dim`` matrix (seeded, the same for
    every env and run; ``dim`` is the encoder's, 128 for the default hashed encoder). An action
    picks the candidate whose descriptor has the highest cosine similarity with it (ties: the
    lowest index; the zero action picks candidate 0). The reference policies act with the
    descriptor of the reply they choose, so a logged dataset holds exact descriptors.

    ## Observation Space

    The discrete variant's observation followed by the ``K x 16`` candidate descriptors (in
    candidate order), all in [-1, 1].

    Everything else — conversations, info, rewards, episode end, arguments — is the discrete
    variant's (see :class:`PersonaDialogueEnv`); with the same seeds and choices the two give
    the same conversation.

    ## Version History

    * v0: initial release.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._project = _projection(self.encoder.dim)
        self.action_space = spaces.Box(-1.0, 1.0, (DESCRIPTOR_DIM,), np.float32)
        size = self.encoder.size + self.k * DESCRIPTOR_DIM
        self.observation_space = spaces.Box(-1.0, 1.0, (size,), np.float32)
        self.descriptors = np.zeros((self.k, DESCRIPTOR_DIM), dtype=np.float32)
        self._described: dict[str, np.ndarray] = {}  # text -> descriptor (a cache)

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_described"] = {}
        return state

    def action_for(self, index: int) -> np.ndarray:
        return self.descriptors[index].copy()

    def describe(self, text: str) -> np.ndarray:
        """The descriptor of a candidate text (unit norm, or zeros for the empty text)."""
        desc = self._described.get(text)
        if desc is None:
            desc = self._project @ self.encoder.text_vector(text)
            norm = float(np.linalg.norm(desc))
            desc = np.clip(desc / norm if norm > 0 else desc, -1.0, 1.0).astype(np.float32)
            if len(self._described) >= 200_000:
                self._described.clear()
            self._described[text] = desc
        return desc

    def _observe(self, out: np.ndarray | None = None) -> np.ndarray:
        obs = np.empty(self.observation_space.shape, dtype=np.float32) if out is None else out
        size = self.encoder.size
        super()._observe(obs[:size])
        self.descriptors = obs[size:].reshape(self.k, DESCRIPTOR_DIM)
        for i, c in enumerate(self.candidates):
            self.descriptors[i] = self.describe(c.text)
        return obs

    def _line_for(self, action: Any) -> Line:
        kind = np.asarray(action).dtype.kind if not isinstance(action, str) else "U"
        if kind not in "fiu":
            raise TypeError(
                f"action must be a real float array of shape ({DESCRIPTOR_DIM},), got dtype "
                f"{np.asarray(action).dtype}; use env.action_space.sample() or env.action_for(i)"
            )
        try:
            a = np.asarray(action, dtype=np.float32)
        except (TypeError, ValueError):
            raise TypeError(
                f"action must be a float array of shape ({DESCRIPTOR_DIM},), got "
                f"{type(action).__name__}; use env.action_space.sample() or env.action_for(i)"
            ) from None
        if a.shape != (DESCRIPTOR_DIM,):
            raise ValueError(
                f"action has shape {a.shape}; this env's action space is "
                f"Box(-1, 1, ({DESCRIPTOR_DIM},)): pass one float per descriptor dimension"
            )
        low, high = float(a.min()), float(a.max())
        if not (math.isfinite(low) and math.isfinite(high)):
            raise ValueError("action contains NaN or infinity; pass finite floats in [-1, 1]")
        if low < -1.0 - 1e-6 or high > 1.0 + 1e-6:
            raise ValueError(
                f"action values must lie in [-1, 1] (got min {a.min():.3g}, max {a.max():.3g}); "
                "clip or tanh-squash the policy output"
            )
        return self.candidates[int(np.argmax(self.descriptors @ a))]


TEXT_CHARSET = "".join(
    sorted(
        (
            set(string.printable)
            | {chr(c) for c in range(0xA0, 0x180)}  # Latin-1 supplement and Latin Extended-A
            | {chr(c) for c in range(0x2010, 0x2028)}  # dashes, quotes, bullets, ellipsis
            | {chr(c) for c in range(0x2030, 0x205F)}
            | {chr(c) for c in range(0x20A0, 0x20C0)}  # currency signs
        )
        - {"\x0b", "\x0c"}
    )
)
"""Characters allowed in text actions and observations (ASCII, Latin-1, Latin Extended-A,
general punctuation, currency): a wide charset, since Gymnasium's default Text charset has no
spaces or punctuation."""

MAX_REPLY_CHARS = 512
"""Longest accepted text action (characters)."""
MAX_PARTNER_CHARS = 1024
"""Longest partner line a text observation holds."""
_EXCHANGE_CHARS = len("Partner: \nYou: \n") + MAX_PARTNER_CHARS + MAX_REPLY_CHARS


class PersonaDialogueTextEnv(PersonaDialogueEnv):
    """The dialogue task with free-text replies, read by the text reader.

    ## Action Space

    ``Text(min_length=0, max_length=512, charset=TEXT_CHARSET)``: any reply. In a reply with
    line breaks (``\n``, ``\r``) every run of whitespace becomes one space, as in imported
    logs, so a reply cannot forge ``Partner:`` lines in the history. It is read by
    :class:`persona_gym.judges.reader.TextReader` as the answer to the partner's current move
    (facts in the world's vocabulary and the dialogue act; "Jazz, mostly." answers "What music
    do you like?") and then scored exactly like a candidate line. An empty reply asserts
    nothing.

    ## Observation Space

    ``Dict`` of ``Text`` fields: ``persona`` (persona sentences, one per line), ``history``
    (earlier lines oldest first, ``Partner: ...`` / ``You: ...``, one per line; its space's
    ``max_length`` grows with the horizon so every history fits), ``partner``
    (the partner's current line) and ``candidates`` (the K candidate replies, one per line, as
    optional hints; an empty string when the env is made with ``hints=False``).

    Rewards, info, episode end and the remaining arguments are the discrete variant's (see
    :class:`PersonaDialogueEnv`); ``info["kind"]`` is ``free_text``.

    ## Arguments

    * ``hints``: include the candidate replies in the observation (default ``True``).

    ## Version History

    * v0: initial release.
    * v1: task v1 (the discrete variant's v1 conversations and rewards).

    The conversations of an id are frozen, but a free-text reply is scored as the reader reads
    it, and the reader improves between releases: each reading change raises
    :data:`persona_gym.judges.reader.READER_VERSION`, which every text-variant result of
    ``evaluate`` and every text dataset records (``reader_version``). Compare text-variant
    scores at one reader version.
    """

    KWARGS = (*PersonaDialogueEnv.KWARGS, "hints")

    def __init__(self, *args: Any, hints: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not isinstance(hints, bool):
            raise TypeError(f"hints must be True or False, got {hints!r}")
        from persona_gym.judges.reader import TextReader

        self.hints = hints
        self.reader = TextReader(self.ontology)
        text = {
            "persona": 4096,
            "history": max(65536, self.horizon * _EXCHANGE_CHARS),
            "partner": MAX_PARTNER_CHARS,
            "candidates": 8192,
        }
        self.observation_space = spaces.Dict(
            {key: spaces.Text(n, min_length=0, charset=TEXT_CHARSET) for key, n in text.items()}
        )
        self.action_space = spaces.Text(MAX_REPLY_CHARS, min_length=0, charset=TEXT_CHARSET)
        self._allowed = frozenset(TEXT_CHARSET)

    def action_for(self, index: int) -> str:
        return self.candidates[index].text

    def _line_for(self, action: Any) -> Line:
        if not isinstance(action, str):
            raise TypeError(
                f"action must be a str (the reply), got {type(action).__name__}; "
                "this is the text variant — use the discrete or continuous id for indices"
            )
        if "\n" in action or "\r" in action:
            action = " ".join(action.split())
        if len(action) > MAX_REPLY_CHARS:
            raise ValueError(
                f"reply is {len(action)} characters; the limit is {MAX_REPLY_CHARS}: "
                "shorten it (a conversational line is one or two sentences)"
            )
        bad = sorted(set(action) - self._allowed)
        if bad:
            raise ValueError(
                f"reply contains characters outside the action charset: {bad[:5]!r}; "
                "see persona_gym.envs.variants.TEXT_CHARSET"
            )
        return self.reader.parse(action, self.move)

    def _observe(self) -> dict[str, str]:  # type: ignore[override]
        return text_observation(
            self.persona.sentences,
            [(e.move.text, e.line.text) for e in self.transcript],
            "" if self._done else self.move.text,
            [c.text for c in self.candidates] if self.hints else [],
        )


def text_observation(
    persona: Sequence[str],
    exchanges: Sequence[tuple[str, str]],
    partner_line: str,
    candidates: Sequence[str] = (),
) -> dict[str, str]:
    """The text variant's observation: persona sentences, the earlier ``(partner line, own
    line)`` exchanges, the partner's current line and the candidate hints. The real-log importer
    builds its observations with this too, so logged and simulated datasets look alike."""
    history = []
    for partner, own in exchanges:
        if partner:
            history.append(f"Partner: {partner}")
        history.append(f"You: {own}")
    return {
        "persona": "\n".join(persona),
        "history": "\n".join(history),
        "partner": partner_line,
        "candidates": "\n".join(candidates),
    }
