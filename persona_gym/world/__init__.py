"""The persona world: ontology of facts, persona sampling with disjoint splits, rendering."""

from persona_gym.world.ontology import (
    AI,
    HUMAN,
    IDENTITY,
    NONE,
    Fact,
    Ontology,
    Relation,
    article,
    load_ontology,
    render,
)
from persona_gym.world.personas import SPLITS, Persona, sample_persona, split_of

__all__ = [
    "AI",
    "HUMAN",
    "IDENTITY",
    "NONE",
    "SPLITS",
    "Fact",
    "Ontology",
    "Persona",
    "Relation",
    "article",
    "load_ontology",
    "render",
    "sample_persona",
    "split_of",
]
