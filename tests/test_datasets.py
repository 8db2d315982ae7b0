"""Minari datasets: build, load, d3rlpy conversion, verification and safe writing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import gymnasium as gym
import h5py
import minari
import numpy as np
import pytest

from persona_gym import datasets as D
from persona_gym.cli import main
from persona_gym.envs.variants import DESCRIPTOR_DIM
from persona_gym.evaluation import normalized_score


@pytest.fixture(autouse=True)
def datasets_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own Minari folder (as Minari's own tests do)."""
    root = tmp_path / "minari"
    monkeypatch.setenv("MINARI_DATASETS_PATH", str(root))
    return root


def test_dataset_ids() -> None:
    assert D.dataset_id("persona_gym/OpenChat-v0", "mixed") == "persona_gym/openchat/mixed-v0"
    assert (D.dataset_id("persona_gym/TutoringContinuous-v0", "drift")
            == "persona_gym/tutoring-continuous/drift-v0")
    assert (D.dataset_id("persona_gym/CounselingText-v0", "expert")
            == "persona_gym/counseling-text/expert-v0")
    with pytest.raises(ValueError, match="unknown tier 'best'"):
        D.dataset_id("persona_gym/OpenChat-v0", "best")


@pytest.mark.parametrize("env_id", ["persona_gym/OpenChat-v0",
                                    "persona_gym/OpenChatContinuous-v0",
                                    "persona_gym/OpenChatText-v0"])
def test_round_trip(env_id: str) -> None:
    ds_id = D.build_dataset(env_id, "mixed", 9, seed=100, workers=1)
    dataset = minari.load_dataset(ds_id)
    assert dataset.total_episodes == 9 and dataset.total_steps == 9 * 12
    meta = dataset.storage.metadata
    assert meta["persona_gym"]["env_id"] == env_id and meta["persona_gym"]["tier"] == "mixed"
    assert "Tier 'mixed'" in meta["description"] and meta["author"] == {D.AUTHOR}
    assert meta["code_permalink"] and meta["requirements"]
    eval_env = dataset.recover_environment(eval_env=True)
    assert eval_env.spec.id == env_id and eval_env.spec.kwargs["split"] == "test"
    env = dataset.recover_environment()
    assert env.spec.kwargs["split"] == "train"
    # the logged policies: episode i by random, drift, expert in turn
    codes = [int(m["policy"]) for m in dataset.storage.get_episode_metadata(range(9))]
    assert [D.POLICY_CODES[c] for c in codes] == ["random", "drift", "expert"] * 3
    assert D.verify_dataset(ds_id) is None
    # minari's normalized score agrees with the project's
    returns = np.array([ep.rewards.sum() for ep in dataset.iterate_episodes()])
    assert np.allclose(100 * minari.get_normalized_score(dataset, returns),
                       normalized_score(returns, env_id))
    if "Text" in env_id:
        with pytest.raises(D.DatasetError, match="d3rlpy needs vectors"):
            D.to_mdp(dataset)
    else:
        mdp = D.to_mdp(dataset)
        assert mdp.transition_count == 9 * 12 and mdp.size() == 9


def test_workers_do_not_change_the_data() -> None:
    one = D.build_dataset("persona_gym/OpenChat-v0", "drift", 120, workers=1)
    path = D.datasets_root() / one
    copy = path.with_name("copy")
    path.rename(copy)
    D.build_dataset("persona_gym/OpenChat-v0", "drift", 120, workers=2)
    with h5py.File(copy / "data" / "main_data.hdf5") as a, \
            h5py.File(path / "data" / "main_data.hdf5") as b:
        assert sorted(a.keys()) == sorted(b.keys())
        for key in ("episode_0", "episode_77", "episode_119"):
            for field in ("observations", "actions", "rewards"):
                assert np.array_equal(a[key][field][()], b[key][field][()])


def _aligned(observations: np.ndarray, actions: np.ndarray, k: int = 8) -> np.ndarray:
    """For the continuous variant: is each action one of the descriptors in its observation?"""
    desc = observations[:, -k * DESCRIPTOR_DIM:].reshape(len(observations), k, DESCRIPTOR_DIM)
    pairs = zip(actions, desc, strict=True)
    return np.array([any(np.array_equal(a, d) for d in row) for a, row in pairs])


def test_to_mdp_aligns_observations_with_actions() -> None:
    ds_id = D.build_dataset("persona_gym/OpenChatContinuous-v0", "drift", 5, workers=1)
    dataset = minari.load_dataset(ds_id)
    mdp = D.to_mdp(dataset)
    obs = np.concatenate([ep.observations for ep in mdp.episodes])
    act = np.concatenate([ep.actions for ep in mdp.episodes])
    assert _aligned(obs, act).all()
    # d3rlpy's own loader concatenates T + 1 observations with T actions: misaligned after
    # the first episode. This check must catch such a conversion.
    naive_obs = np.concatenate([ep.observations for ep in dataset.iterate_episodes()])
    naive_act = np.concatenate([ep.actions for ep in dataset.iterate_episodes()])
    shifted = _aligned(naive_obs[: len(naive_act)], naive_act)
    assert shifted[:12].all() and not shifted[12:].all()
    # terminals end each episode and rewards are the env's
    assert [int(ep.terminated) for ep in mdp.episodes] == [1] * 5
    assert np.allclose(np.concatenate([ep.rewards[:, 0] for ep in mdp.episodes]),
                       np.concatenate([ep.rewards for ep in dataset.iterate_episodes()]))


def test_discrete_mdp_matches_replayed_observations() -> None:
    ds_id = D.build_dataset("persona_gym/OpenChat-v0", "random", 3, seed=7, workers=1)
    mdp = D.to_mdp(ds_id)
    env = gym.make("persona_gym/OpenChat-v0", split="train")
    for i, ep in enumerate(mdp.episodes):
        obs, _ = env.reset(seed=7 + i)
        for t, action in enumerate(ep.actions[:, 0]):
            assert np.array_equal(ep.observations[t], obs)
            obs, *_ = env.step(int(action))


def test_info_reports_the_logged_behaviour() -> None:
    ds_id = D.build_dataset("persona_gym/OpenChat-v0", "expert", 6, workers=1)
    info = D.dataset_info(ds_id)
    assert info["episodes"] == 6 and info["transitions"] == 72
    assert info["normalized_score"] == pytest.approx(100.0)
    assert info["metrics"]["p2l"] == 1.0 and info["metrics"]["repetition"] == 0.0
    assert info["bytes_per_transition"] > 1000 and info["eval_env"] == "persona_gym/OpenChat-v0"
    assert D.list_datasets() == [ds_id]


def test_existing_dataset_needs_force() -> None:
    ds_id = D.build_dataset("persona_gym/OpenChat-v0", "random", 3, workers=1)
    with pytest.raises(D.DatasetError, match=r"already exists.*--force"):
        D.build_dataset("persona_gym/OpenChat-v0", "random", 5, workers=1)
    assert minari.load_dataset(ds_id).total_episodes == 3
    D.build_dataset("persona_gym/OpenChat-v0", "random", 5, workers=1, force=True)
    assert minari.load_dataset(ds_id).total_episodes == 5
    assert not (D.datasets_root() / ".persona_gym_tmp").exists()


def test_interrupted_build_leaves_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = {"n": 0}
    real = D.run_logged_episode

    def flaky(*args: object) -> dict:
        calls["n"] += 1
        if calls["n"] > 70:
            raise KeyboardInterrupt
        return real(*args)

    monkeypatch.setattr(D, "run_logged_episode", flaky)
    with pytest.raises(KeyboardInterrupt):
        D.build_dataset("persona_gym/OpenChat-v0", "random", 200, workers=1)
    root = D.datasets_root()
    assert D.list_datasets() == []
    assert not (root / "persona_gym" / "openchat" / "random-v0").exists()
    assert not (root / ".persona_gym_tmp").exists()


def test_episodes_outside_the_spaces_are_rejected() -> None:
    env = gym.make("persona_gym/OpenChat-v0", split="train")
    good = D.run_logged_episode(env, D.make_policy("random"), 0)
    bad = {**good, "observations": good["observations"] * 3.0}
    with pytest.raises(D.DatasetError, match="observations fall outside Box"):
        D.write_dataset("persona_gym/bad/x-v0", iter([[good, bad]]), env=env, eval_env=None,
                        ref_min_score=0.0, ref_max_score=1.0, description="", algorithm_name="",
                        extra_metadata={})
    assert not (D.datasets_root() / "persona_gym" / "bad").exists()


def test_corrupted_file_gives_a_clear_error() -> None:
    ds_id = D.build_dataset("persona_gym/OpenChat-v0", "random", 3, workers=1)
    data = D.datasets_root() / ds_id / "data" / "main_data.hdf5"
    data.write_bytes(data.read_bytes()[:2000])  # truncated
    with pytest.raises(D.DatasetError, match=r"main_data\.hdf5.*corrupted or truncated"):
        D.dataset_info(ds_id)
    with pytest.raises(D.DatasetError, match="no local dataset persona_gym/none/x-v0"):
        D.load("persona_gym/none/x-v0")


def test_verify_names_the_first_mismatch(capsys: pytest.CaptureFixture) -> None:
    ds_id = D.build_dataset("persona_gym/OpenChat-v0", "drift", 4, workers=1)
    data = D.datasets_root() / ds_id / "data" / "main_data.hdf5"
    with h5py.File(data, "a") as fh:
        fh["episode_2"]["rewards"][5] += 0.25
    message = D.verify_dataset(ds_id)
    assert message is not None and "episode 2" in message and "rewards" in message
    assert main(["datasets", "verify", ds_id]) == 1
    assert "MISMATCH" in capsys.readouterr().out


def test_datasets_cli(capsys: pytest.CaptureFixture) -> None:
    assert main(["datasets", "build", "--env", "persona_gym/TutoringContinuous-v0", "--tier",
                 "drift", "--episodes", "4", "--workers", "1", "--json"]) == 0
    built = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert built["dataset_id"] == "persona_gym/tutoring-continuous/drift-v0"
    assert main(["datasets", "list", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == [built["dataset_id"]]
    assert main(["datasets", "info", built["dataset_id"], "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["episodes"] == 4 and set(info["metrics"]) >= {"p2l", "l2l", "qa"}
    assert main(["datasets", "verify", built["dataset_id"]]) == 0
    assert "bit for bit" in capsys.readouterr().out
    assert main(["datasets", "build", "--env", "persona_gym/TutoringContinuous-v0", "--tier",
                 "drift", "--episodes", "4", "--workers", "1"]) == 2
    assert "--force" in capsys.readouterr().err
    assert main(["datasets", "info", "persona_gym/none/x-v0"]) == 2
    assert "no local dataset" in capsys.readouterr().err


SPC = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "spc" / \
    "Synthetic-Persona-Chat_valid.csv"


def test_import_logs_from_jsonl(tmp_path: Path) -> None:
    rows = [
        {"id": "c1", "personas": {"A": ["I don't have any pets.", "I am a nurse."],
                                  "B": ["I love jazz."]},
         "turns": [{"speaker": "B", "text": "Hi! Do you have any pets?"},
                   {"speaker": "A", "text": "I have a dog."},
                   {"speaker": "B", "text": "What do you do for a living?"},
                   {"speaker": "A", "text": "I'm a nurse."}]},
    ]
    src = tmp_path / "logs.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in rows))
    result = D.import_logs(src, "jsonl", name="fixture")
    assert result["dataset_id"] == "persona_gym/logs/fixture-v0" and result["episodes"] == 2
    dataset = minari.load_dataset(result["dataset_id"])
    ep = dataset[0]
    assert ep.actions == ["I have a dog.", "I'm a nurse."]
    assert ep.observations["partner"][:2] == ["Hi! Do you have any pets?",
                                               "What do you do for a living?"]
    scores = ep.infos["scores"]
    assert scores[0, 0] == 0 and scores[1, 0] == 1  # p2l: the dog contradicts "no pets"
    assert ep.rewards[0] < 0 < ep.rewards[1]
    info = D.dataset_info(result["dataset_id"])
    assert info["episodes"] == 2 and 0 < info["metrics"]["p2l"] < 1
    with pytest.raises(D.DatasetError, match="not built by `persona-gym datasets build`"):
        D.verify_dataset(result["dataset_id"])


def test_import_logs_bad_input_writes_nothing(tmp_path: Path,
                                              capsys: pytest.CaptureFixture) -> None:
    src = tmp_path / "bad.jsonl"
    src.write_text('{"id": "c1", "personas": {"A": ["I sing."]}, "turns": []}\n{oops\n')
    assert main(["datasets", "import-logs", str(src), "--format", "jsonl"]) == 2
    assert "bad.jsonl" in capsys.readouterr().err
    assert D.list_datasets() == []


@pytest.mark.skipif(not SPC.exists(), reason=f"SPC data not found at {SPC} (only present "
                    "beside the repository in this project's workspace and CI)")
def test_import_spc_validation_file(capsys: pytest.CaptureFixture) -> None:
    assert main(["datasets", "import-logs", str(SPC), "--format", "spc-csv", "--name",
                 "spc_valid", "--json"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["episodes"] == 2000 and result["transitions"] > 20_000
    info = D.dataset_info("persona_gym/logs/spc_valid-v0")
    assert set(info["metrics"]) == {"p2l", "l2l", "qa", "relevance", "repetition",
                                    "contradiction"}
    assert 0.9 < info["metrics"]["p2l"] <= 1.0 and info["metrics"]["relevance"] > 0.5


def _h5_tree(group: h5py.Group) -> dict[str, Any]:
    """Every member of an HDF5 group: datasets as (dtype, value), groups as subtrees, plus
    attributes."""
    out: dict[str, Any] = {"attrs": {k: group.attrs[k] for k in group.attrs}}
    for key, item in group.items():
        out[key] = _h5_tree(item) if isinstance(item, h5py.Group) else (item.dtype, item[()])
    return out


def test_episodes_are_written_in_minaris_own_layout() -> None:
    """The fast writer produces what Minari's own writer produces (its chunked, resizable
    datasets aside), and Minari reads it back."""
    from minari.data_collector import EpisodeBuffer

    env = gym.make("persona_gym/OpenChat-v0")
    ep = D.run_logged_episode(env, D.make_policy("drift"), seed=5)
    buffer = EpisodeBuffer(
        seed=5, observations=list(ep["observations"]), actions=list(ep["actions"]),
        rewards=list(ep["rewards"]), terminations=list(ep["terminations"]),
        truncations=list(ep["truncations"]), infos={"scores": list(ep["infos"]["scores"])})
    kwargs = {"env": env, "algorithm_name": "test", "author": "test", "code_permalink": "x",
              "author_email": "a@b.c", "description": "layout test", "eval_env": env}
    theirs = minari.create_dataset_from_buffers("test/theirs/layout-v0", buffer=[buffer], **kwargs)
    ours = minari.create_dataset_from_buffers("test/ours/layout-v0", buffer=[], **kwargs)
    D._append_episodes(ours.storage, [ep])
    trees = []
    for ds in (theirs, ours):
        with h5py.File(Path(ds.storage.data_path) / "main_data.hdf5") as fh:
            trees.append(_h5_tree(fh))
    a, b = trees
    assert b["episode_0"]["attrs"].pop("policy") == ep["policy"]  # ours adds the policy
    assert a.keys() == b.keys() == {"attrs", "episode_0"}

    def same(x: Any, y: Any) -> None:
        if isinstance(x, dict):
            assert x.keys() == y.keys()
            for k in x:
                same(x[k], y[k])
        elif isinstance(x, tuple):
            assert x[0] == y[0] and np.array_equal(x[1], y[1], equal_nan=True)
        else:
            assert x == y

    same(a, b)
    again = minari.load_dataset("test/ours/layout-v0")
    assert again.total_steps == 12 and len(again) == 1
    got = next(again.iterate_episodes())
    assert np.array_equal(got.observations, ep["observations"])
    assert np.array_equal(got.actions, ep["actions"])
