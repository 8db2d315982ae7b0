"""The suite's task cards (TOML), shipped in the wheel as ``persona_gym.suite``."""
