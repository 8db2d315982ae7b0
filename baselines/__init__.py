"""The d3rlpy baselines, one script per algorithm family (``python baselines/cql.py --help``).

Shipped in the wheel as ``persona_gym.baselines`` so ``persona-gym scale`` can run them.
"""

ALGOS = ("bc", "cql", "iql", "td3plusbc", "bcq")
"""Module names of the baselines, as ``persona-gym scale --algos`` takes them."""
