"""Task cards: one TOML file per domain declaring its registered environments.

A task card (``envs/*.toml`` in the repository, shipped in the wheel as ``persona_gym.suite``)
fixes everything that defines a task: the persona relation pool (:class:`PersonaSpec`), the
partner's topics, styles per split and lines (:class:`PartnerSpec`), the number of candidate
replies, the reward weights per task version (:class:`RewardWeights`), and one entry per
registered id with its horizon and reference scores (:class:`EnvEntry`). Each section is a small
dataclass that parses itself. Changing any of these for an existing id
means bumping its version (``-v0`` -> ``-v1``) and noting why under ``[versions]``.

``load_card`` validates a card fully and raises :class:`TaskCardError` naming the file, the key
and the fix, so a malformed card never produces a half-working environment.
"""

from __future__ import annotations

import re
import sys
from dataclasses import astuple, dataclass, fields
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from persona_gym.partners import STYLES  # the partner module owns the style table
from persona_gym.world import SPLITS, load_ontology

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

VARIANTS = ("discrete", "continuous", "text")
"""Action/observation variants a card entry may declare."""

ID_PATTERN = re.compile(r"^persona_gym/[A-Z][A-Za-z]*-v(\d+)$")
"""What a registered id looks like; the group is the task version (``-v1`` -> 1)."""
TASK_VERSIONS = (0, 1)
"""Task versions this release implements (``-v0`` is frozen; ``-v1`` is current)."""
PARTNER_LINE_KEYS = ("greetings", "acks", "small_talk", "emotional", "meta", "reask", "shift")
PARTNER_LINE_KEYS_V1 = ("farewells",)
"""Partner lines v1 needs besides v0's (said when the partner ends a conversation early)."""


class TaskCardError(ValueError):
    """A task card is malformed; the message names the file, the key and the fix."""


class _Reader:
    """Typed access to one TOML table; every error names the file, the key and the fix."""

    def __init__(self, data: dict[str, Any], where: str, src: str) -> None:
        self.data, self.where, self.src = data, where, src

    def fail(self, message: str) -> TaskCardError:
        return TaskCardError(f"{self.src}: {message}")

    def need(self, key: str, typ: type | tuple[type, ...]) -> Any:
        if key not in self.data:
            raise self.fail(f"missing key {self.where}{key}; add it (see envs/open_chat.toml)")
        value = self.data[key]
        if typ is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, typ) or (isinstance(value, bool) and typ is not bool):
            tname = typ.__name__ if isinstance(typ, type) else "/".join(t.__name__ for t in typ)
            raise self.fail(
                f"{self.where}{key} must be {tname}, got {type(value).__name__} {value!r}"
            )
        return value

    def table(self, key: str) -> _Reader:
        return _Reader(self.need(key, dict), f"{self.where}{key}.", self.src)

    def strings(self, key: str, min_len: int = 1) -> tuple[str, ...]:
        value = self.need(key, list)
        if len(value) < min_len or not all(isinstance(v, str) and v.strip() for v in value):
            raise self.fail(
                f"{self.where}{key} must be a list of at least {min_len} non-empty strings"
            )
        return tuple(value)

    def relations(self, key: str, names: tuple[str, ...]) -> tuple[str, ...]:
        known = load_ontology().relations
        unknown = [r for r in names if r not in known]
        if unknown:
            raise self.fail(
                f"{self.where}{key} names unknown relations {unknown}; "
                f"known: {', '.join(sorted(known))}"
            )
        return names


@dataclass(frozen=True)
class EnvEntry:
    """One registered id of a card (a ``[[task.envs]]`` entry)."""

    id: str
    variant: str
    horizon: int
    description: str
    ref_min_score: float
    ref_max_score: float

    @property
    def version(self) -> int:
        """The task version, from the id's ``-vN`` suffix."""
        match = ID_PATTERN.match(self.id)
        assert match is not None  # checked when parsed
        return int(match.group(1))

    @classmethod
    def from_toml(cls, r: _Reader) -> EnvEntry:
        env_id = r.need("id", str)
        match = ID_PATTERN.match(env_id)
        if not match:
            raise r.fail(f"{r.where}id {env_id!r} must look like 'persona_gym/OpenChat-v1'")
        if int(match.group(1)) not in TASK_VERSIONS:
            raise r.fail(f"{r.where}id {env_id!r}: task versions implemented: {TASK_VERSIONS}")
        variant = r.data.get("variant", "discrete")
        if variant not in VARIANTS:
            raise r.fail(f"{r.where}variant {variant!r} unknown; use one of {VARIANTS}")
        horizon = r.need("horizon", int)
        if not 1 <= horizon <= 1000:
            raise r.fail(f"{r.where}horizon must be in [1, 1000], got {horizon}")
        ref_min, ref_max = r.need("ref_min_score", float), r.need("ref_max_score", float)
        if not ref_max > ref_min:
            raise r.fail(f"{r.where}ref_max_score must exceed ref_min_score")
        return cls(env_id, variant, horizon, r.need("description", str), ref_min, ref_max)


@dataclass(frozen=True)
class PersonaSpec:
    """``[persona]``: the relation pool personas are drawn from and their size."""

    relations: tuple[str, ...]
    required: tuple[str, ...]
    min_facts: int
    max_facts: int

    @classmethod
    def from_toml(cls, r: _Reader) -> PersonaSpec:
        relations = r.relations("relations", r.strings("relations", 4))
        required = r.relations("required", tuple(r.data.get("required", ())))
        min_facts, max_facts = r.need("min_facts", int), r.need("max_facts", int)
        if not 1 <= min_facts <= max_facts <= len(relations):
            raise r.fail(
                "need 1 <= persona.min_facts <= persona.max_facts <= len(persona.relations)"
            )
        return cls(relations, required, min_facts, max_facts)


@dataclass(frozen=True)
class PartnerSpec:
    """``[partner]``: what the partner asks about, its styles per split, and its lines."""

    topics: tuple[str, ...]
    styles: dict[str, tuple[str, ...]]
    lines: dict[str, tuple[str, ...]]

    @classmethod
    def from_toml(cls, r: _Reader) -> PartnerSpec:
        topics = r.relations("topics", r.strings("topics", 3))
        styles_r = r.table("styles")
        styles = {}
        for split in SPLITS:
            names = styles_r.strings(split)
            unknown = [s for s in names if s not in STYLES]
            if unknown:
                raise r.fail(
                    f"partner.styles.{split} names unknown styles {unknown}; "
                    f"known: {', '.join(STYLES)}"
                )
            styles[split] = names
        if not set(styles["test"]) - set(styles["train"]) - set(styles["valid"]):
            raise r.fail(
                "partner.styles.test must hold at least one style absent from train and valid "
                "(a held-out partner style)"
            )
        lines = {k: r.strings(k) for k in (*PARTNER_LINE_KEYS, *PARTNER_LINE_KEYS_V1)}
        return cls(topics, styles, lines)


def _weights(cls: Any, r: _Reader) -> Any:
    """A reward-weights dataclass read field by field from ``r``; every weight >= 0."""
    w = cls(**{f.name: r.need(f.name, float) for f in fields(cls)})
    if any(v < 0 for v in astuple(w)):
        raise r.fail(f"{r.where[:-1]} weights must be >= 0")
    return w


@dataclass(frozen=True)
class RewardWeightsV0:
    """v0's reward weights (frozen; docs/metrics.md, "v0")."""

    p2l: float
    l2l: float
    qa: float
    contradiction: float
    repetition: float

    @classmethod
    def from_toml(cls, r: _Reader) -> RewardWeightsV0:
        w = _weights(cls, r)
        if abs(w.p2l + w.l2l + w.qa - 1.0) > 1e-9:
            raise r.fail(f"{r.where}p2l + {r.where}l2l + {r.where}qa must sum to 1")
        return w

    @property
    def line_bounds(self) -> tuple[float, float]:
        """The lowest and highest reward one line can earn."""
        return -(self.contradiction + self.repetition), self.p2l + self.l2l + self.qa


@dataclass(frozen=True)
class RewardWeights:
    """The reward's weights (docs/metrics.md): what each kind of line earns or costs. A
    relevant, informative, consistent, fresh line earns 1."""

    contradiction: float
    """Cost of a line that contradicts the persona or the agent's commitments (or claims to be
    an AI)."""
    irrelevant: float
    """Cost of a line that ignores the move (a recitation, a change of subject)."""
    idle: float
    """What a line earns that addresses the move without content (an evasion, an empty
    follow-up): at most a small amount."""
    wrong_answer: float
    """Taken from 1 when an answer is consistent but not the persona's (qa = 0)."""
    repetition: float
    """Cost of repeating an earlier line verbatim."""
    leave: float
    """Cost of losing the partner: taken on the line after which it ends the conversation."""

    @classmethod
    def from_toml(cls, r: _Reader) -> RewardWeights:
        w = _weights(cls, r)
        if not w.idle < 1.0 - w.wrong_answer:
            raise r.fail(f"need {r.where}idle < 1 - {r.where}wrong_answer: an answer must earn "
                         "more than a dodge")
        if w.contradiction <= 0:
            raise r.fail(f"{r.where}contradiction must be > 0: a contradiction costs")
        return w

    @property
    def line_bounds(self) -> tuple[float, float]:
        """The lowest and highest reward one line can earn."""
        worst = max(self.contradiction, self.irrelevant)
        return -(worst + self.repetition + self.leave), 1.0


@dataclass(frozen=True)
class TaskCard:
    """A parsed, validated task card."""

    name: str
    source: str
    domain: str
    title: str
    description: str
    envs: tuple[EnvEntry, ...]
    persona: PersonaSpec
    partner: PartnerSpec
    num_candidates: int
    rewards: dict[int, RewardWeightsV0 | RewardWeights]
    """Reward weights per task version (``[reward.v0]``, ``[reward.v1]``)."""
    versions: dict[str, str]

    def weights(self, env_id: str) -> RewardWeightsV0 | RewardWeights:
        """The reward weights of one of the card's ids (by its task version)."""
        return self.rewards[self.entry(env_id).version]

    def entry(self, env_id: str) -> EnvEntry:
        for e in self.envs:
            if e.id == env_id:
                return e
        raise KeyError(f"{env_id!r} is not declared by task card {self.name!r}")

    @property
    def reward(self) -> RewardWeights:
        """The current task version's reward weights."""
        w = self.rewards[max(self.rewards)]
        assert isinstance(w, RewardWeights)
        return w


_REWARDS = {0: RewardWeightsV0, 1: RewardWeights}


def parse_card(data: dict[str, Any], name: str, source: str) -> TaskCard:
    """Validate parsed TOML ``data`` into a :class:`TaskCard` (errors name ``source``)."""
    card = _Reader(data, "", source)
    task = card.table("task")
    envs = tuple(EnvEntry.from_toml(_Reader(e, f"task.envs[{i}].", source))
                 for i, e in enumerate(task.need("envs", list)))
    if not envs:
        raise card.fail("task.envs is empty; declare at least one [[task.envs]]")
    replies = card.table("replies")
    k = replies.need("num_candidates", int)
    if not 2 <= k <= 8:
        raise card.fail(f"replies.num_candidates must be in [2, 8], got {k}")
    reward = card.table("reward")
    rewards = {}
    for version in sorted({e.version for e in envs}):
        rewards[version] = _REWARDS[version].from_toml(reward.table(f"v{version}"))
    return TaskCard(
        name=name,
        source=source,
        domain=task.need("domain", str),
        title=task.need("title", str),
        description=task.need("description", str),
        envs=envs,
        persona=PersonaSpec.from_toml(card.table("persona")),
        partner=PartnerSpec.from_toml(card.table("partner")),
        num_candidates=k,
        rewards=rewards,
        versions=dict(data.get("versions", {})),
    )


def shipped_card_names() -> list[str]:
    """Names of the task cards that ship with the package (``open_chat``, ...)."""
    folder = resources.files("persona_gym.suite")
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".toml"))


@cache
def _load_shipped(name: str) -> TaskCard:
    text = resources.files("persona_gym.suite").joinpath(f"{name}.toml").read_text("utf-8")
    return _parse_text(text, name, f"envs/{name}.toml")


def _parse_text(text: str, name: str, source: str) -> TaskCard:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise TaskCardError(f"{source}: not valid TOML ({exc}); fix the syntax") from None
    return parse_card(data, name, source)


def load_card(card: str | Path) -> TaskCard:
    """Load a shipped card by name (``"open_chat"``) or any card by path (``"my_task.toml"``)."""
    if isinstance(card, Path) or str(card).endswith(".toml"):
        path = Path(card)
        if not path.is_file():
            raise TaskCardError(f"{path}: no such task card file")
        return _parse_text(path.read_text("utf-8"), path.stem, str(path))
    if card not in shipped_card_names():
        raise TaskCardError(
            f"unknown task card {card!r}; shipped cards: {', '.join(shipped_card_names())}, "
            "or pass a path to a .toml file"
        )
    return _load_shipped(card)
