"""persona_gym: a benchmark for persona consistency in multi-turn dialogue, built for RL.

Importing the package registers every environment declared by the shipped task cards::

    import gymnasium as gym
    import persona_gym  # noqa: F401

    env = gym.make("persona_gym/OpenChat-v1")

``gym.make("persona_gym:persona_gym/OpenChat-v1")`` performs the import itself.
"""

from persona_gym.envs import register_all, register_card, registered_ids

__version__ = "0.1.0"

register_all()

__all__ = ["__version__", "register_card", "registered_ids"]
