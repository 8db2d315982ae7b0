"""Candidate-wise networks: the layout, permutation equivariance, d3rlpy integration, learning."""

from __future__ import annotations

from pathlib import Path

import d3rlpy
import gymnasium as gym
import numpy as np
import pytest
import torch

from persona_gym import datasets as D
from persona_gym.artifacts import OnnxPolicy
from persona_gym.networks import (
    CandidateEncoder,
    CandidateEncoderFactory,
    CandidateScorer,
    Layout,
    tie_heads,
)
from persona_gym.training import export_policy

DISCRETE = ("persona_gym/OpenChat-v0", "persona_gym/OpenChat-v1")


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MINARI_DATASETS_PATH", str(tmp_path / "minari"))


def _observations(env_id: str, n: int = 6) -> np.ndarray:
    env = gym.make(env_id)
    obs, _ = env.reset(seed=3)
    out = [obs]
    while len(out) < n:
        obs, _, term, trunc, _ = env.step(env.action_space.sample())
        out.append(obs)
        if term or trunc:
            obs, _ = env.reset()
    env.close()
    return np.stack(out).astype(np.float32)


def _permuted(obs: np.ndarray, layout: Layout, perm: np.ndarray) -> np.ndarray:
    """The same observations with candidate ``perm[i]`` moved to position ``i``."""
    out = obs.copy()
    for i, j in enumerate(perm):
        out[:, layout.candidate_index[i]] = obs[:, layout.candidate_index[j]]
    return out


def _mdp(env_id: str, tier: str = "mixed", episodes: int = 12) -> object:
    D.build_dataset(env_id, tier, episodes, workers=1)
    return D.to_mdp(D.load(D.dataset_id(env_id, tier)))


@pytest.mark.parametrize("env_id", [*DISCRETE, "persona_gym/OpenChatContinuous-v1"])
def test_layout_is_the_encoders_split(env_id: str) -> None:
    obs = _observations(env_id)
    layout = Layout.of_env(env_id)
    enc = gym.make(env_id).unwrapped.encoder
    ctx, cand = enc.split(obs)
    assert np.array_equal(obs[:, layout.context_index], ctx)
    assert np.array_equal(obs[:, layout.candidate_index], cand)
    assert layout.width == obs.shape[1] and layout.k == 8
    assert (layout.fact_size > 0) == env_id.endswith("v1")
    assert layout.descriptor_dim == (16 if "Continuous" in env_id else 0)
    with pytest.raises(ValueError, match="do not match this env's layout"):
        layout.check((obs.shape[1] + 1,))


@pytest.mark.parametrize("env_id", [*DISCRETE, "persona_gym/OpenChatContinuous-v1"])
def test_permuting_the_candidates_permutes_the_scores(env_id: str) -> None:
    torch.manual_seed(0)
    layout = Layout.of_env(env_id)
    scorer = CandidateScorer(layout, hidden=32)
    if layout.fact_size:  # a non-zero bilinear term, so it is checked too
        torch.nn.init.normal_(scorer.bilinear, std=0.5)
    obs = _observations(env_id)
    perm = np.random.default_rng(1).permutation(layout.k)
    with torch.no_grad():
        s = scorer(torch.from_numpy(obs))
        s_perm = scorer(torch.from_numpy(_permuted(obs, layout, perm)))
    assert torch.allclose(s_perm, s[:, perm], atol=1e-5)
    assert s.std() > 0  # not a constant function


def test_the_scorer_reads_the_facts_on_v1() -> None:
    """Changing only one candidate's fact codes changes only that candidate's score."""
    torch.manual_seed(0)
    layout = Layout.of_env("persona_gym/OpenChat-v1")
    scorer = CandidateScorer(layout, hidden=32)
    obs = _observations("persona_gym/OpenChat-v1")
    changed = obs.copy()
    cols = layout.candidate_index[2, layout.fact_offset : layout.fact_offset + layout.code_dim]
    changed[:, cols] = -changed[:, cols] + 0.5
    with torch.no_grad():
        a, b = scorer(torch.from_numpy(obs)), scorer(torch.from_numpy(changed))
    moved = (a - b).abs().max(0).values
    assert moved[2] > 1e-4 and torch.all(moved[[0, 1, 3, 4, 5, 6, 7]] < 1e-6)


DISCRETE_ALGOS = {
    "DiscreteBC": lambda f: d3rlpy.algos.DiscreteBCConfig(batch_size=16, encoder_factory=f),
    "DiscreteCQL": lambda f: d3rlpy.algos.DiscreteCQLConfig(
        batch_size=16, encoder_factory=f, learning_rate=1e-3, target_update_interval=5),
    "DiscreteBCQ": lambda f: d3rlpy.algos.DiscreteBCQConfig(
        batch_size=16, encoder_factory=f, share_encoder=False, target_update_interval=5),
    "DQN": lambda f: d3rlpy.algos.DQNConfig(batch_size=16, encoder_factory=f,
                                            target_update_interval=5),
}


def _candidate_values(algo: object, obs: np.ndarray) -> np.ndarray:
    """``[N, K]``: the policy's logits (BC) or the Q-value of every candidate."""
    k = Layout.of_env("persona_gym/OpenChat-v1").k
    if isinstance(algo, d3rlpy.algos.DiscreteBC):
        with torch.no_grad():
            return algo.impl.modules.imitator(torch.from_numpy(obs)).logits.numpy()
    return np.stack([algo.predict_value(obs, np.full(len(obs), j)) for j in range(k)], 1)


def _fit(algo: object, mdp: object, steps: int) -> None:
    algo.fit(mdp, n_steps=steps, n_steps_per_epoch=steps, show_progress=False,
             logger_adapter=d3rlpy.logging.NoopAdapterFactory(), save_interval=10**9)


@pytest.mark.parametrize("name", list(DISCRETE_ALGOS))
def test_discrete_d3rlpy_algorithms_stay_equivariant_after_training(name: str,
                                                                      tmp_path: Path) -> None:
    env_id = "persona_gym/OpenChat-v1"
    mdp = _mdp(env_id)
    d3rlpy.seed(0)
    algo = DISCRETE_ALGOS[name](CandidateEncoderFactory(env=env_id, hidden=32)).create(
        device="cpu:0")
    algo.build_with_dataset(mdp)
    tied = tie_heads(algo.impl)
    assert tied >= 1
    heads = [m._fc for mod in algo.impl.modules.__dict__.values()
             if isinstance(mod, torch.nn.Module) for m in mod.modules()
             if isinstance(getattr(m, "_encoder", None), CandidateEncoder)]
    assert len(heads) == tied
    before = {id(p): p.detach().clone() for h in heads for p in h.parameters()}
    _fit(algo, mdp, 12)
    for h in heads:  # the heads are still the identity: the scores are the Q-values / logits
        assert torch.equal(h.weight, torch.eye(8)) and torch.equal(h.bias, torch.zeros(8))
        for p in h.parameters():
            assert torch.equal(p, before[id(p)])
    layout = Layout.of_env(env_id)
    obs = _observations(env_id, 10)
    perm = np.random.default_rng(4).permutation(layout.k)
    moved = _permuted(obs, layout, perm)
    scores, scores_moved = _candidate_values(algo, obs), _candidate_values(algo, moved)
    assert np.allclose(scores_moved, scores[:, perm], atol=1e-5)
    unique = np.sort(scores, 1)[:, -1] - np.sort(scores, 1)[:, -2] > 1e-4  # argmax not a tie
    assert unique.sum() >= 5
    a, b = algo.predict(obs), algo.predict(moved)
    assert np.array_equal(perm[b][unique], a[unique])
    # the exported ONNX policy acts as the trained algorithm does
    path = export_policy(algo, tmp_path / "policy.onnx")
    assert np.array_equal(OnnxPolicy(str(path)).act_batch(obs), a)


def test_flat_heads_are_left_alone() -> None:
    env_id = "persona_gym/OpenChat-v1"
    mdp = _mdp(env_id)
    algo = d3rlpy.algos.DiscreteBCConfig(batch_size=16).create(device="cpu:0")
    algo.build_with_dataset(mdp)
    assert tie_heads(algo.impl) == 0
    with pytest.raises(ValueError, match="build the algorithm first"):
        tie_heads(d3rlpy.algos.DiscreteBCConfig().create(device="cpu:0").impl)


CONTINUOUS_ALGOS = {
    "BC": lambda f: d3rlpy.algos.BCConfig(batch_size=16, encoder_factory=f),
    "IQL": lambda f: d3rlpy.algos.IQLConfig(batch_size=16, actor_encoder_factory=f,
                                            critic_encoder_factory=f, value_encoder_factory=f),
    "TD3PlusBC": lambda f: d3rlpy.algos.TD3PlusBCConfig(
        batch_size=16, actor_encoder_factory=f, critic_encoder_factory=f),
}


@pytest.mark.parametrize("name", list(CONTINUOUS_ALGOS))
def test_continuous_actors_ignore_candidate_order_and_critics_follow_it(name: str) -> None:
    env_id = "persona_gym/OpenChatContinuous-v1"
    mdp = _mdp(env_id)
    d3rlpy.seed(0)
    algo = CONTINUOUS_ALGOS[name](CandidateEncoderFactory(env=env_id, hidden=32)).create(
        device="cpu:0")
    algo.build_with_dataset(mdp)
    assert tie_heads(algo.impl) == 0  # continuous heads are not per candidate
    _fit(algo, mdp, 6)
    layout = Layout.of_env(env_id)
    obs = _observations(env_id, 10)
    perm = np.random.default_rng(2).permutation(layout.k)
    moved = _permuted(obs, layout, perm)
    assert np.allclose(algo.predict(obs), algo.predict(moved), atol=1e-5)
    if name != "BC":  # Q(s, descriptor of candidate j) follows candidate j wherever it is
        desc = obs[:, layout.candidate_index[:, -16:]]  # [N, K, 16]
        for j in range(3):
            q = algo.predict_value(obs, desc[:, j])
            q_moved = algo.predict_value(moved, desc[:, j])
            assert np.allclose(q, q_moved, atol=1e-4)
        assert not np.allclose(algo.predict_value(obs, desc[:, 0]),
                               algo.predict_value(obs, desc[:, 1]))


def test_learning_moves_the_choice_towards_the_data() -> None:
    """A few dozen updates of candidate-wise BC on expert data make the policy pick the
    logged (consistent) reply more often than the untrained network does, on held-out turns."""
    env_id = "persona_gym/OpenChat-v1"
    D.build_dataset(env_id, "expert", 40, workers=1)
    ds = D.load(D.dataset_id(env_id, "expert"))
    train, held = D.to_mdp(ds, episodes=30), D.to_mdp(ds)
    obs = np.concatenate([e.observations for e in held.episodes[30:]])
    act = np.concatenate([e.actions for e in held.episodes[30:]]).ravel()
    d3rlpy.seed(0)
    algo = d3rlpy.algos.DiscreteBCConfig(
        batch_size=32, learning_rate=1e-3,
        encoder_factory=CandidateEncoderFactory(env=env_id, hidden=64)).create(device="cpu:0")
    algo.build_with_dataset(train)
    tie_heads(algo.impl)
    before = float((algo.predict(obs) == act).mean())
    _fit(algo, train, 60)
    after = float((algo.predict(obs) == act).mean())
    assert after >= before + 0.3, (before, after)
