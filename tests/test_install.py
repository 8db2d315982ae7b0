"""The task cards must ship inside a real (non-editable) install, and the ``module:id`` form of
``gymnasium.make`` must find the package without importing it first."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import re
import shutil
import site
import subprocess
import sys
from pathlib import Path

import gymnasium as gym
import pytest

from persona_gym.cards import load_card, shipped_card_names

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

REPO = Path(__file__).resolve().parents[1]

# Run with `python -S` so that site-packages (and the editable install's .pth finder) is not
# set up: the package can then only come from the target folder put first on sys.path.
CHECK_INSTALLED = """\
import json, sys
from pathlib import Path

cfg = json.loads(sys.argv[1])
sys.path.insert(0, cfg["target"])
sys.path.extend(cfg["site"])
target = Path(cfg["target"]).resolve()

from importlib import resources

import gymnasium as gym
import persona_gym

assert Path(persona_gym.__file__).resolve().is_relative_to(target), persona_gym.__file__
suite = Path(str(resources.files("persona_gym.suite"))).resolve()
assert suite.is_relative_to(target), suite
ids = persona_gym.registered_ids()
for env_id in ids:
    env = gym.make(env_id)
    obs, info = env.reset(seed=0)
    assert env.observation_space.contains(obs), env_id
    obs, reward, terminated, truncated, info = env.step(env.unwrapped.action_for(0))
    assert env.observation_space.contains(obs), env_id
    assert "scores" in info, env_id
    env.close()
print(json.dumps(ids))
"""

CHECK_MODULE_ID = """\
import json, sys

import gymnasium as gym

assert "persona_gym" not in sys.modules
env = gym.make("persona_gym:persona_gym/OpenChat-v0")
assert "persona_gym" in sys.modules
obs, info = env.reset(seed=0)
assert env.observation_space.contains(obs)
print(json.dumps({"obs_shape": list(obs.shape),
                  "space_shape": list(env.observation_space.shape)}))
"""


def require_build_backend() -> None:
    """Fail (not skip) with a clear message when the build backend can't build a wheel."""
    if importlib.util.find_spec("setuptools") is None:
        pytest.fail("setuptools is not importable; `pip install setuptools wheel` to run this "
                    "test (pyproject.toml's build backend, used with --no-build-isolation)")
    found = re.findall(r"\d+", importlib.metadata.version("setuptools"))
    version = tuple(int(x) for x in found[:2])
    # setuptools < 70.1 builds wheels through the separate `wheel` package's bdist_wheel.
    if version < (70, 1) and importlib.util.find_spec("wheel") is None:
        pytest.fail(f"setuptools {'.'.join(map(str, version))} needs the `wheel` package to "
                    "build a wheel; `pip install wheel` (or setuptools>=70.1) to run this test")


def card_ids() -> list[str]:
    """Every id declared by the task cards in the repository's envs/ folder, read directly."""
    ids = []
    for path in sorted((REPO / "envs").glob("*.toml")):
        ids += [e["id"] for e in tomllib.loads(path.read_text("utf-8"))["task"]["envs"]]
    return sorted(ids)


def test_non_editable_install_ships_the_task_cards(tmp_path: Path) -> None:
    """A ``pip install --target`` build registers and runs every env, cards read from it."""
    require_build_backend()
    # Build from a copy so the in-tree build (build/, *.egg-info) never touches the checkout.
    source = tmp_path / "source"
    shutil.copytree(REPO, source, ignore=shutil.ignore_patterns(
        ".git", "build", "dist", "*.egg-info", "__pycache__", ".pytest_cache", ".ruff_cache",
        ".venv", "tests"))
    target = tmp_path / "target"
    pip = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "--no-build-isolation",
         "--no-input", "--disable-pip-version-check", "--target", str(target), str(source)],
        capture_output=True, text=True, timeout=300,
    )
    assert pip.returncode == 0, f"pip install failed:\n{pip.stdout}\n{pip.stderr}"

    cards = sorted(p.name for p in (REPO / "envs").glob("*.toml"))
    assert cards, "no task cards in envs/"
    shipped = sorted(p.name for p in (target / "persona_gym" / "suite").glob("*.toml"))
    assert shipped == cards
    world = sorted(p.name for p in (REPO / "persona_gym" / "world").glob("*.toml"))
    assert sorted(p.name for p in (target / "persona_gym" / "world").glob("*.toml")) == world
    assert (target / "persona_gym" / "py.typed").is_file()
    page = REPO / "persona_gym" / "leaderboard"  # the leaderboard's templates and static files
    for kind in ("templates", "static"):
        mine = sorted(p.name for p in (page / kind).iterdir())
        assert mine and sorted(p.name for p in (target / page.relative_to(REPO) / kind)
                               .iterdir()) == mine, kind

    cfg = {"target": str(target), "site": site.getsitepackages()}
    run = subprocess.run(
        [sys.executable, "-S", "-c", CHECK_INSTALLED, json.dumps(cfg)],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )
    assert run.returncode == 0, run.stderr
    ids = json.loads(run.stdout.strip().splitlines()[-1])
    # In-process: the ids of the shipped cards (other tests may register extra custom ids).
    expected = sorted(e.id for name in shipped_card_names() for e in load_card(name).envs)
    assert ids == expected == card_ids()
    assert len(ids) >= 4


def test_make_with_module_prefix_imports_the_package(tmp_path: Path) -> None:
    """``gym.make("persona_gym:persona_gym/OpenChat-v0")`` works in a fresh interpreter."""
    run = subprocess.run([sys.executable, "-c", CHECK_MODULE_ID], cwd=tmp_path,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout.strip().splitlines()[-1])
    env = gym.make("persona_gym/OpenChat-v0")
    try:
        expected_shape = list(env.observation_space.shape)
    finally:
        env.close()
    assert result["obs_shape"] == result["space_shape"] == expected_shape
