"""Task cards: one TOML file per domain declaring its registered environments.

A task card (``envs/*.toml`` in the repository, shipped in the wheel as ``persona_gym.suite``)
fixes everything that defines a task: the persona relation pool, the partner's topics, styles per
split and lines, the number of candidate replies, the reward weights, and one entry per
registered id with its horizon and reference scores. Changing any of these for an existing id
means bumping its version (``-v0`` -> ``-v1``) and noting why under ``[versions]``.

``load_card`` validates a card fully and raises :class:`TaskCardError` naming the file, the key
and the fix, so a malformed card never produces a half-working environment.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from persona_gym.world import SPLITS, load_ontology

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

VARIANTS = ("discrete", "continuous", "text")
"""Action/observation variants a card entry may declare."""

ID_PATTERN = re.compile(r"^persona_gym/[A-Z][A-Za-z]*-v\d+$")
REWARD_KEYS = ("p2l", "l2l", "qa", "contradiction", "repetition")
PARTNER_LINE_KEYS = ("greetings", "acks", "small_talk", "emotional", "meta", "reask", "shift")


class TaskCardError(ValueError):
    """A task card is malformed; the message names the file, the key and the fix."""


@dataclass(frozen=True)
class EnvEntry:
    """One registered id of a card."""

    id: str
    variant: str
    horizon: int
    description: str
    ref_min_score: float
    ref_max_score: float


@dataclass(frozen=True)
class RewardWeights:
    """Reward weights; see docs/metrics.md for the formula they enter."""

    p2l: float
    l2l: float
    qa: float
    contradiction: float
    repetition: float


@dataclass(frozen=True)
class TaskCard:
    """A parsed, validated task card."""

    name: str
    source: str
    domain: str
    title: str
    description: str
    envs: tuple[EnvEntry, ...]
    persona_relations: tuple[str, ...]
    persona_required: tuple[str, ...]
    min_facts: int
    max_facts: int
    topics: tuple[str, ...]
    styles: dict[str, tuple[str, ...]]
    lines: dict[str, tuple[str, ...]]
    num_candidates: int
    reward: RewardWeights
    versions: dict[str, str]

    def entry(self, env_id: str) -> EnvEntry:
        for e in self.envs:
            if e.id == env_id:
                return e
        raise KeyError(f"{env_id!r} is not declared by task card {self.name!r}")


def _need(
    data: dict[str, Any], key: str, typ: type | tuple[type, ...], where: str, src: str
) -> Any:
    if key not in data:
        raise TaskCardError(f"{src}: missing key {where}{key}; add it (see envs/open_chat.toml)")
    value = data[key]
    if typ is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if not isinstance(value, typ) or (isinstance(value, bool) and typ is not bool):
        tname = typ.__name__ if isinstance(typ, type) else "/".join(t.__name__ for t in typ)
        raise TaskCardError(
            f"{src}: {where}{key} must be {tname}, got {type(value).__name__} {value!r}"
        )
    return value


def _str_list(data: dict[str, Any], key: str, where: str, src: str, min_len: int = 1) -> tuple:
    value = _need(data, key, list, where, src)
    if len(value) < min_len or not all(isinstance(v, str) and v.strip() for v in value):
        raise TaskCardError(
            f"{src}: {where}{key} must be a list of at least {min_len} non-empty strings"
        )
    return tuple(value)


def parse_card(data: dict[str, Any], name: str, source: str) -> TaskCard:
    """Validate parsed TOML ``data`` into a :class:`TaskCard` (errors name ``source``)."""
    ontology = load_ontology()
    src = source
    task = _need(data, "task", dict, "", src)
    persona = _need(data, "persona", dict, "", src)
    partner = _need(data, "partner", dict, "", src)
    replies = _need(data, "replies", dict, "", src)
    reward = _need(data, "reward", dict, "", src)

    envs = []
    for i, e in enumerate(_need(task, "envs", list, "task.", src)):
        where = f"task.envs[{i}]."
        env_id = _need(e, "id", str, where, src)
        if not ID_PATTERN.match(env_id):
            raise TaskCardError(
                f"{src}: {where}id {env_id!r} must look like 'persona_gym/OpenChat-v0'"
            )
        variant = e.get("variant", "discrete")
        if variant not in VARIANTS:
            raise TaskCardError(f"{src}: {where}variant {variant!r} unknown; use one of {VARIANTS}")
        horizon = _need(e, "horizon", int, where, src)
        if not 1 <= horizon <= 1000:
            raise TaskCardError(f"{src}: {where}horizon must be in [1, 1000], got {horizon}")
        ref_min = _need(e, "ref_min_score", float, where, src)
        ref_max = _need(e, "ref_max_score", float, where, src)
        if not ref_max > ref_min:
            raise TaskCardError(f"{src}: {where}ref_max_score must exceed ref_min_score")
        envs.append(
            EnvEntry(
                id=env_id,
                variant=variant,
                horizon=horizon,
                description=_need(e, "description", str, where, src),
                ref_min_score=ref_min,
                ref_max_score=ref_max,
            )
        )
    if not envs:
        raise TaskCardError(f"{src}: task.envs is empty; declare at least one [[task.envs]]")

    relations = _str_list(persona, "relations", "persona.", src, 4)
    required = tuple(persona.get("required", ()))
    topics = _str_list(partner, "topics", "partner.", src, 3)
    for where, names in (("persona.relations", relations), ("persona.required", required),
                         ("partner.topics", topics)):
        unknown = [r for r in names if r not in ontology.relations]
        if unknown:
            raise TaskCardError(
                f"{src}: {where} names unknown relations {unknown}; "
                f"known: {', '.join(sorted(ontology.relations))}"
            )
    min_facts = _need(persona, "min_facts", int, "persona.", src)
    max_facts = _need(persona, "max_facts", int, "persona.", src)
    if not 1 <= min_facts <= max_facts <= len(relations):
        raise TaskCardError(
            f"{src}: need 1 <= persona.min_facts <= persona.max_facts <= len(persona.relations)"
        )

    from persona_gym.partners import STYLES  # the partner module owns the style table

    styles_raw = _need(partner, "styles", dict, "partner.", src)
    styles = {}
    for split in SPLITS:
        names = _str_list(styles_raw, split, "partner.styles.", src)
        unknown = [s for s in names if s not in STYLES]
        if unknown:
            raise TaskCardError(
                f"{src}: partner.styles.{split} names unknown styles {unknown}; "
                f"known: {', '.join(STYLES)}"
            )
        styles[split] = names
    if not set(styles["test"]) - set(styles["train"]) - set(styles["valid"]):
        raise TaskCardError(
            f"{src}: partner.styles.test must hold at least one style absent from train and valid "
            "(a held-out partner style)"
        )
    lines = {k: _str_list(partner, k, "partner.", src) for k in PARTNER_LINE_KEYS}

    k = _need(replies, "num_candidates", int, "replies.", src)
    if not 2 <= k <= 8:
        raise TaskCardError(f"{src}: replies.num_candidates must be in [2, 8], got {k}")
    weights = RewardWeights(
        **{key: _need(reward, key, float, "reward.", src) for key in REWARD_KEYS}
    )
    if any(getattr(weights, key) < 0 for key in REWARD_KEYS):
        raise TaskCardError(f"{src}: reward weights must be >= 0")
    if abs(weights.p2l + weights.l2l + weights.qa - 1.0) > 1e-9:
        raise TaskCardError(f"{src}: reward.p2l + reward.l2l + reward.qa must sum to 1")

    return TaskCard(
        name=name,
        source=source,
        domain=_need(task, "domain", str, "task.", src),
        title=_need(task, "title", str, "task.", src),
        description=_need(task, "description", str, "task.", src),
        envs=tuple(envs),
        persona_relations=relations,
        persona_required=required,
        min_facts=min_facts,
        max_facts=max_facts,
        topics=topics,
        styles=styles,
        lines=lines,
        num_candidates=k,
        reward=weights,
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
