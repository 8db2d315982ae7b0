"""Online RL beside offline RL: Stable-Baselines3 PPO and DQN with the candidate-wise scorer.

The research question asks whether learning from logged conversations works *rather than live
interaction*; this module is the live-interaction arm. It needs the optional extra
``pip install "persona-gym[sb3]"``.

    python baselines/online.py --algo ppo --env persona_gym/OpenChat-v1 --steps 12000

:class:`CandidateFeatures` is an SB3 features extractor over the same
:class:`~persona_gym.networks.CandidateScorer` the offline baselines use. Its features are
``[K candidate scores, softmax-weighted candidate features, max score]``; :func:`tie_heads`
makes the policy's action head (PPO) or Q head (DQN) read the K scores through a frozen
identity, so the logits / Q-values are the scores themselves and permuting the candidates
permutes them (as with :func:`persona_gym.networks.tie_heads` for d3rlpy). PPO's value head is a
learned layer over the pooled features.

A run writes what an offline run writes (``{out}/{env}__{PPO|DQN}__{seed}/``: ``config.json``,
``policy.onnx``, ``results.json`` from the official protocol, ``summary.json`` and an offline
wandb run). To compare with an offline learner at a matched budget, pass ``--steps`` equal to
the dataset's transitions (``persona-gym datasets info`` prints them).
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gymnasium as gym
import torch
from torch import nn

from persona_gym.networks import CandidateScorer, Layout
from persona_gym.training import (
    NETWORKS,
    POLICY_FILE,
    arg,
    parse_args,
    run_name,
    start_wandb,
    versions,
)

try:
    from stable_baselines3.common.torch_layers import BaseFeaturesExtractor
except ImportError:  # the optional extra is missing: fail when used, with the install command
    BaseFeaturesExtractor = nn.Module  # type: ignore[misc,assignment]
    _SB3 = False
else:
    _SB3 = True

ALGOS = ("ppo", "dqn")


def require_sb3() -> None:
    """Raise an ImportError naming the install command when Stable-Baselines3 is missing."""
    if not _SB3:
        raise ImportError('online RL needs Stable-Baselines3: pip install "persona-gym[sb3]"')


class CandidateFeatures(BaseFeaturesExtractor):  # type: ignore[misc]
    """SB3 features extractor: ``[scores (K), softmax-weighted features (hidden), max score]``
    from one :class:`CandidateScorer` over the env's observation layout."""

    def __init__(self, observation_space: gym.spaces.Box, env_id: str,
                 hidden: int = 256) -> None:
        require_sb3()
        layout = Layout.of_env(env_id)
        layout.check(observation_space.shape)
        super().__init__(observation_space, features_dim=layout.k + hidden + 1)
        self.k = layout.k
        self.scorer = CandidateScorer(layout, hidden)

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        h, s = self.scorer.features(obs)
        w = torch.softmax(s, -1)[..., None]
        return torch.cat([s, (w * h).sum(1), s.max(-1, keepdim=True)[0]], -1)


def tie_heads(model: Any) -> int:
    """Make the K-way heads over :class:`CandidateFeatures` read the scores through a frozen
    identity (PPO's ``action_net``; DQN's ``q_net`` and its target); returns how many."""
    policy = model.policy
    heads = []
    if hasattr(policy, "action_net"):
        heads.append(policy.action_net)
    for name in ("q_net", "q_net_target"):
        net = getattr(policy, name, None)
        if net is not None:
            linear = [m for m in net.q_net if isinstance(m, nn.Linear)]
            if len(linear) != 1:
                raise ValueError("tie_heads needs DQN with net_arch=[] (one linear Q head)")
            heads.append(linear[0])
    for fc in heads:
        k = fc.out_features
        with torch.no_grad():
            fc.weight.zero_()
            fc.weight[:, :k] = torch.eye(k)
            fc.bias.zero_()
        fc.weight.requires_grad_(False)
        fc.bias.requires_grad_(False)
    return len(heads)


class GreedyScores(nn.Module):
    """The greedy policy of a trained candidate-wise SB3 model, for ONNX export."""

    def __init__(self, features: CandidateFeatures) -> None:
        super().__init__()
        self.features = features

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        return self.features(obs)[:, : self.features.k].argmax(-1)


def features_of(model: Any) -> CandidateFeatures:
    policy = model.policy
    ext = getattr(policy, "features_extractor", None)
    if ext is None:  # DQN keeps it inside the Q-network
        ext = policy.q_net.features_extractor
    return ext  # type: ignore[no-any-return]


def policy_kwargs(env_id: str, algo: str, hidden: int = 256) -> dict[str, Any]:
    """SB3 ``policy_kwargs`` for the candidate-wise features on ``env_id`` (``algo``: ``ppo``
    or ``dqn``; the heads must then be tied with :func:`tie_heads` after the model is made)."""
    if algo not in ALGOS:
        raise ValueError(f"algo must be one of {', '.join(ALGOS)}, got {algo!r}")
    return {"features_extractor_class": CandidateFeatures,
            "features_extractor_kwargs": {"env_id": env_id, "hidden": hidden},
            "net_arch": [] if algo == "dqn" else {"pi": [], "vf": [64]}}


def make_model(algo: str, env: Any, env_id: str, hidden: int, seed: int, network: str) -> Any:
    """An SB3 PPO or DQN model on ``env`` (a vector env) with the candidate-wise features
    (``network="candidatewise"``) or SB3's default MLP (``"flat"``)."""
    require_sb3()
    from stable_baselines3 import DQN, PPO

    if algo not in ALGOS:
        raise ValueError(f"--algo must be one of {', '.join(ALGOS)}, got {algo!r}")
    if network not in NETWORKS:
        raise ValueError(f"--network must be one of {', '.join(NETWORKS)}, got {network!r}")
    kwargs = policy_kwargs(env_id, algo, hidden) if network == "candidatewise" else {}
    if algo == "ppo":
        model = PPO("MlpPolicy", env, n_steps=256, batch_size=256, learning_rate=3e-4,
                    gamma=0.99, seed=seed, policy_kwargs=kwargs, device="cpu", verbose=0)
    else:
        model = DQN("MlpPolicy", env, learning_starts=500, buffer_size=100_000,
                    batch_size=128, learning_rate=3e-4, target_update_interval=500,
                    train_freq=4, exploration_fraction=0.3, gamma=0.99, seed=seed,
                    policy_kwargs=kwargs, device="cpu", verbose=0)
    if network == "candidatewise":
        tie_heads(model)
    return model


def export_model(model: Any, path: str | Path) -> Path:
    """A trained SB3 PPO or DQN model's greedy policy as a checked ONNX artifact at ``path``
    (the format ``persona-gym evaluate`` and the leaderboard take)."""
    from persona_gym.artifacts import export_onnx

    ext = features_of(model)
    module = GreedyScores(ext) if isinstance(ext, CandidateFeatures) else _FlatGreedy(model)
    return export_onnx(module, int(model.observation_space.shape[0]), path)


class _FlatGreedy(nn.Module):
    def __init__(self, model: Any) -> None:
        super().__init__()
        self.policy = model.policy

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        if hasattr(self.policy, "q_net"):
            return self.policy.q_net(obs).argmax(-1)
        latent = self.policy.mlp_extractor.forward_actor(self.policy.extract_features(obs))
        return self.policy.action_net(latent).argmax(-1)


@dataclass
class OnlineArgs:
    """Arguments of an online run (``python baselines/online.py --help``)."""

    algo: str = arg("ppo", "ppo or dqn (Stable-Baselines3)", choices=ALGOS)
    env: str = arg("persona_gym/OpenChat-v1", "environment id (a discrete variant)")
    steps: int = arg(12_000, "environment steps (match an offline dataset's transitions)")
    n_envs: int = arg(8, "parallel envs (SB3 DummyVecEnv; train personas)")
    network: str = arg("candidatewise", "candidatewise or flat (SB3's default MLP)",
                       choices=NETWORKS)
    hidden: int = arg(256, "hidden width of the candidate-wise scorer")
    seed: int = arg(0, "training seed")
    eval_episodes: int = arg(100, "evaluation episodes per evaluation seed (0: skip)")
    eval_seeds: list[int] = arg([0], "evaluation seeds (the protocol default is 0 1 2)")
    wandb: str = arg("offline", "wandb mode: offline (default), online or disabled")
    wandb_project: str = arg("persona_gym", "wandb project")
    out: str = arg("runs", "folder for run directories")
    force: bool = arg(False, "overwrite an existing run folder")


def train_online(args: OnlineArgs) -> dict[str, Any]:
    """Train PPO or DQN online on train personas, export, evaluate; the run's summary."""
    require_sb3()
    from stable_baselines3.common.env_util import make_vec_env

    from persona_gym.evaluation import env_entry, evaluate

    if env_entry(args.env).variant != "discrete":
        raise ValueError(f"{args.env} is not a discrete variant; online PPO/DQN here pick one "
                         "of the K candidates (use e.g. persona_gym/OpenChat-v1)")
    label = args.algo.upper() + ("" if args.network == "candidatewise" else "-flat")
    name = run_name(args.env, label, args.seed)
    logdir = Path(args.out) / name
    if logdir.exists() and not args.force:
        raise FileExistsError(f"{logdir} exists; pass --force to overwrite")
    logdir.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(args.seed)
    # SB3 asks for render_mode="rgb_array" unless told; these envs render text only
    env = make_vec_env(args.env, n_envs=args.n_envs, seed=args.seed,
                       env_kwargs={"render_mode": None})
    model = make_model(args.algo, env, args.env, args.hidden, args.seed, args.network)
    from stable_baselines3.common.logger import configure

    # SB3's own log (episode returns, losses) as CSV in the run folder; left alone, SB3 makes a
    # folder under the system's temp directory for every run
    model.set_logger(configure(str(logdir / "sb3"), ["csv"]))
    config = {"run": name, "algo": label, "args": dataclasses.asdict(args),
              "env_steps": args.steps, "versions": versions()}
    (logdir / "config.json").write_text(json.dumps(config, indent=2))
    wandb_run = start_wandb(args.wandb, args.wandb_project, name, f"online:{args.env}",
                            [label, "online"], config, logdir)
    start = time.perf_counter()
    model.learn(total_timesteps=args.steps, progress_bar=False)
    seconds = time.perf_counter() - start
    env.close()
    export_model(model, logdir / POLICY_FILE)
    summary: dict[str, Any] = {"run": name, "algo": label, "logdir": str(logdir),
                               "train_seconds": seconds, "env_steps_per_s": args.steps / seconds}
    if args.eval_episodes:
        results = evaluate(args.env, str(logdir / POLICY_FILE), episodes=args.eval_episodes,
                           seeds=args.eval_seeds)
        results["policy"] = f"{name}/{POLICY_FILE}"
        (logdir / "results.json").write_text(json.dumps(results, indent=2))
        summary["normalized_score"] = results["normalized_score"]
        summary["normalized_score_ci"] = results["normalized_score_ci"]
        if wandb_run is not None:
            wandb_run.summary.update({"eval/normalized_score": results["normalized_score"]})
    if wandb_run is not None:
        wandb_run.finish()
    (logdir / "summary.json").write_text(json.dumps(summary, indent=2))
    return summary


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Entry point of ``baselines/online.py``: parse, train, print the summary as JSON."""
    args = parse_args(OnlineArgs, argv, description=__doc__ or "")  # type: ignore[arg-type]
    os.environ.setdefault("WANDB_SILENT", "true")
    summary = train_online(args)  # type: ignore[arg-type]
    print(json.dumps(summary))
    return summary
