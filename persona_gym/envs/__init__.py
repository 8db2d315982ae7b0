"""Environment classes and their registration from the task cards."""

from __future__ import annotations

import gymnasium as gym

from persona_gym.cards import EnvEntry, TaskCard, load_card, shipped_card_names
from persona_gym.envs.core import PersonaDialogueEnv, TurnView

ENTRY_POINTS = {
    "discrete": "persona_gym.envs.core:PersonaDialogueEnv",
    "continuous": "persona_gym.envs.variants:PersonaDialogueContinuousEnv",
    "text": "persona_gym.envs.variants:PersonaDialogueTextEnv",
}


def register_card(card: str) -> list[str]:
    """Register every id a task card declares (name of a shipped card or path); returns ids.

    Ids already registered are left as they are, so calling this twice is harmless.
    """
    parsed = load_card(card)
    ids = []
    for entry in parsed.envs:
        if entry.id not in gym.registry:
            gym.register(
                id=entry.id,
                entry_point=ENTRY_POINTS[entry.variant],
                kwargs={"card": card, "horizon": entry.horizon, "version": entry.version},
                disable_env_checker=False,
                order_enforce=True,
            )
        ids.append(entry.id)
    return ids


def register_all() -> list[str]:
    """Register the ids of all shipped task cards."""
    return [i for name in shipped_card_names() for i in register_card(name)]


def card_of(env_id: str) -> tuple[TaskCard, EnvEntry]:
    """The task card of a registered persona_gym id and the id's entry in it (the one place
    that maps the gymnasium registry to task cards)."""
    if env_id not in gym.registry:
        raise ValueError(f"unknown env id {env_id!r}; registered persona_gym ids: "
                         f"{', '.join(registered_ids())}")
    card = gym.registry[env_id].kwargs.get("card")
    if card is None:
        raise ValueError(f"{env_id!r} is not a persona_gym environment")
    parsed = load_card(card)
    return parsed, parsed.entry(env_id)


def metric_names(env_id: str) -> tuple[str, ...]:
    """The per-line metrics an id reports, in order (its task version's: docs/metrics.md)."""
    from persona_gym.dialogue import METRICS
    from persona_gym.v0.judge import METRICS as METRICS_V0

    return METRICS_V0 if card_of(env_id)[1].version == 0 else METRICS


def reader_version(env_id: str) -> dict[str, int]:
    """``{"reader_version": N}`` for a text variant, whose rewards are the text reader's
    readings of the replies (:data:`persona_gym.judges.reader.READER_VERSION`), else ``{}``:
    the entry that results and datasets of ``env_id`` record."""
    if card_of(env_id)[1].variant != "text":
        return {}
    from persona_gym.judges.reader import READER_VERSION

    return {"reader_version": READER_VERSION}


def registered_ids() -> list[str]:
    """All persona_gym ids in the gymnasium registry, sorted."""
    return sorted(i for i in gym.registry if i.startswith("persona_gym/"))


__all__ = ["PersonaDialogueEnv", "TurnView", "card_of", "metric_names", "reader_version",
           "register_all", "register_card", "registered_ids"]
