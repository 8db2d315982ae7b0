"""The README's promises: CI runs its test command, and its figures are the code's."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import gymnasium as gym

import persona_gym
from persona_gym.evaluation import env_entry

REPO = Path(__file__).resolve().parents[1]
README = (REPO / "README.md").read_text()


def test_ci_runs_the_readme_test_command() -> None:
    block = README.split("<!-- test-command -->")[1].split("```bash\n")[1].split("```")[0].strip()
    script = (REPO / ".ci" / "run").read_text()
    awk = re.search(r"cmd=\$\((awk .*README\.md)\)", script)
    assert awk, ".ci/run must read the test command from README.md"
    extracted = subprocess.run(["bash", "-c", awk.group(1)], cwd=REPO, capture_output=True,
                               text=True, check=True).stdout.strip()
    assert extracted == block
    assert "pytest" in block


def test_readme_environment_table_matches_the_registry() -> None:
    rows = dict(re.findall(r"^\| `(persona_gym/[\w-]+)` \| (\d+) \|", README, re.M))
    shipped = {i for i in persona_gym.registered_ids()
               if not i.startswith("persona_gym/My") and i.endswith("-v1")}  # v0: frozen
    assert set(rows) == shipped
    for env_id, horizon in rows.items():
        assert env_entry(env_id).horizon == int(horizon)


def test_readme_observation_shape_is_the_real_one() -> None:
    shape = re.search(r"`Box\(-1, 1, \((\d+),\), float32\)`", README)
    assert shape
    env = gym.make("persona_gym/OpenChat-v1")
    assert env.observation_space.shape == (int(shape.group(1)),)
