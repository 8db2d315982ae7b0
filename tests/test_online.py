"""Online RL beside offline RL: SB3 PPO and DQN with the candidate-wise features."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from test_networks import _observations  # tests/ is on sys.path (pytest's rootdir insertion)

from persona_gym.artifacts import OnnxPolicy
from persona_gym.networks import Layout
from persona_gym.online import CandidateFeatures, OnlineArgs, features_of, main, make_model
from persona_gym.training import parse_args

ENV = "persona_gym/OpenChat-v1"


@pytest.fixture(autouse=True)
def quiet(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WANDB_SILENT", "true")


@pytest.mark.parametrize("algo", ["ppo", "dqn"])
def test_online_run_trains_exports_and_evaluates(algo: str, tmp_path: Path) -> None:
    summary = main(["--algo", algo, "--env", ENV, "--steps", "80", "--n-envs", "2",
                    "--hidden", "32", "--eval-episodes", "3", "--wandb", "offline",
                    "--out", str(tmp_path)])
    run = tmp_path / f"OpenChat-v1__{algo.upper()}__0"
    assert summary["logdir"] == str(run)
    results = json.loads((run / "results.json").read_text())
    assert results["split"] == "test" and results["episodes"] == 3
    assert summary["normalized_score"] == results["normalized_score"]
    assert json.loads((run / "config.json").read_text())["env_steps"] == 80
    assert list((run / "wandb").glob("offline-run-*/run-*.wandb"))
    assert (run / "sb3" / "progress.csv").is_file()  # SB3's log stays in the run folder


@pytest.mark.parametrize("algo", ["ppo", "dqn"])
def test_online_heads_read_the_scores_and_the_export_acts_alike(algo: str,
                                                               tmp_path: Path) -> None:
    from stable_baselines3.common.env_util import make_vec_env

    env = make_vec_env(ENV, n_envs=2, seed=0, env_kwargs={"render_mode": None})
    model = make_model(algo, env, ENV, hidden=32, seed=0, network="candidatewise")
    from stable_baselines3.common.logger import configure

    model.set_logger(configure(str(tmp_path / "sb3"), ["csv"]))  # not a folder in /tmp
    model.learn(total_timesteps=600 if algo == "dqn" else 512)
    env.close()
    ext = features_of(model)
    assert isinstance(ext, CandidateFeatures)
    head = model.policy.action_net if algo == "ppo" else model.policy.q_net.q_net[0]
    k = ext.k
    assert torch.equal(head.weight[:, :k], torch.eye(k))
    assert torch.count_nonzero(head.weight[:, k:]) == 0 and not head.weight.requires_grad
    obs = _observations(ENV, 12)
    layout = Layout.of_env(ENV)
    perm = np.random.default_rng(0).permutation(k)
    moved = obs.copy()
    for i, j in enumerate(perm):
        moved[:, layout.candidate_index[i]] = obs[:, layout.candidate_index[j]]
    with torch.no_grad():
        s = ext(torch.from_numpy(obs))[:, :k]
        s_moved = ext(torch.from_numpy(moved))[:, :k]
    assert torch.allclose(s_moved, s[:, perm], atol=1e-5)
    actions, _ = model.predict(obs, deterministic=True)
    assert np.array_equal(actions, s.argmax(-1).numpy())
    from persona_gym.online import export_model

    path = export_model(model, tmp_path / "policy.onnx")
    assert np.array_equal(OnnxPolicy(str(path)).act_batch(obs), actions)


def test_online_refuses_what_it_cannot_run(tmp_path: Path) -> None:
    from persona_gym.online import train_online

    args = parse_args(OnlineArgs, ["--env", "persona_gym/OpenChatContinuous-v1",
                                   "--out", str(tmp_path)])
    with pytest.raises(ValueError, match="not a discrete variant"):
        train_online(args)
    with pytest.raises(SystemExit):
        parse_args(OnlineArgs, ["--algo", "sac"])
