"""Task cards: the shipped ones parse; malformed ones fail with the file, key and fix named."""

from __future__ import annotations

import sys
from pathlib import Path

import gymnasium as gym
import pytest

from persona_gym import register_card
from persona_gym.cards import TaskCardError, load_card, shipped_card_names

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

REPO = Path(__file__).resolve().parents[1]
GOOD = (REPO / "envs" / "open_chat.toml").read_text()


def test_shipped_cards_are_the_repository_cards() -> None:
    assert shipped_card_names() == sorted(p.stem for p in (REPO / "envs").glob("*.toml"))
    for name in shipped_card_names():
        card = load_card(name)
        v0 = card.rewards[0]
        assert card.envs and v0.p2l + v0.l2l + v0.qa == pytest.approx(1)
        assert {e.version for e in card.envs} == set(card.rewards) == {0, 1}
        styles = card.partner.styles
        held_out = set(styles["test"]) - set(styles["train"]) - set(styles["valid"])
        assert held_out


def write(tmp_path: Path, text: str, name: str = "custom.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("[reward.v1]\n", "[rewards.v1]\n", r"missing key reward"),
        ("[reward.v1]\n", "[reward.v2]\n", r"missing key reward.v1"),
        ("idle = 0.05\n", "idle = 0.6\n", r"an answer must earn more than a dodge"),
        ("horizon = 12\n", 'horizon = "twelve"\n', r"task.envs\[0\].horizon must be int"),
        ('"has_profession", "has_age"', '"has_profession", "has_wings"',
         r"persona.relations names unknown relations \['has_wings'\]"),
        ('styles.test = ["curious", "prober", "pressurer", "distractor", "skeptic"]',
         'styles.test = ["curious"]', r"held-out partner style"),
        ("p2l = 0.4\n", "p2l = 0.9\n", r"must sum to 1"),
        ('id = "persona_gym/OpenChat-v1"', 'id = "persona_gym/OpenChat-v7"', r"task versions"),
        ('id = "persona_gym/OpenChat-v0"', 'id = "OpenChat"', r"must look like"),
        ("num_candidates = 8", "num_candidates = 40", r"num_candidates must be in \[2, 8\]"),
        ('styles.train = ["curious", "prober", "pressurer", "distractor"]',
         'styles.train = ["curious", "nosy"]', r"unknown styles \['nosy'\]"),
        ("[task]\n", "[task\n", r"not valid TOML"),
    ],
)
def test_malformed_card(tmp_path: Path, old: str, new: str, message: str) -> None:
    assert old in GOOD
    path = write(tmp_path, GOOD.replace(old, new, 1))
    with pytest.raises(TaskCardError, match=message) as err:
        load_card(path)
    assert str(path) in str(err.value)  # the file is named


def test_missing_card_file(tmp_path: Path) -> None:
    with pytest.raises(TaskCardError, match="no such task card file"):
        load_card(tmp_path / "absent.toml")


def test_custom_card_registers_and_runs(tmp_path: Path) -> None:
    data = GOOD.replace("persona_gym/OpenChat", "persona_gym/MyChat").replace(
        "horizon = 12", "horizon = 5")
    path = write(tmp_path, data, "my_chat.toml")
    expected = [e["id"] for e in tomllib.loads(data)["task"]["envs"]]
    assert all(i.startswith("persona_gym/MyChat") for i in expected) and len(expected) >= 2
    ids = register_card(str(path))
    assert ids == expected
    env = gym.make("persona_gym/MyChat-v0")
    env.reset(seed=0)
    steps = 0
    term = False
    while not term:
        term = env.step(0)[2]
        steps += 1
    assert steps == 5
