"""The training path the baseline scripts share: dataset -> d3rlpy -> logs -> export -> evaluation.

A baseline script (``baselines/cql.py`` ...) defines an ``Args`` dataclass (extending
:class:`TrainArgs`) and a function building its d3rlpy algorithm, then calls :func:`train`.
A run named ``{env}__{algo}__{seed}`` writes into ``{out}/{run}/``:

* ``config.json`` — the arguments, the dataset id, the seed, and the versions of persona_gym,
  d3rlpy, torch and gymnasium;
* ``metrics.jsonl`` — one line per epoch of d3rlpy's training metrics (no wandb needed);
* ``policy.onnx`` — the greedy policy as a checked ONNX graph (:func:`export_policy`; the
  only format ``evaluate`` and the leaderboard accept, docs/security.md);
  ``checkpoint.pt`` + ``params.json`` — the d3rlpy weights and config, to resume
  (``--resume``);
* ``results.json`` — the official evaluation of ``policy.onnx``
  (:func:`persona_gym.evaluation.evaluate`);
* ``selection.jsonl``, ``policy_selected.onnx``, ``checkpoint_selected.pt`` and
  ``results_selected.json`` — model selection a reviewer accepts: after every epoch the policy
  plays ``--select-episodes`` episodes on the **valid** personas (never test); the epoch with
  the best valid score is exported and evaluated on test beside the final policy;
* a wandb run (offline by default: ``wandb/offline-run-*`` under the run folder; nothing leaves
  the machine unless ``--wandb online``).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gymnasium as gym

from persona_gym.artifacts import POLICY_FILE, SELECTED_POLICY_FILE
from persona_gym.evaluation import env_entry, evaluate
from persona_gym.progress import progress
from persona_gym.quiet import silence_gym_banner

silence_gym_banner()  # before anything imports d3rlpy


def arg(default: Any, help: str, **kwargs: Any) -> Any:
    """A dataclass field that documents itself (the help text shows in ``--help``)."""
    if isinstance(default, list | dict | tuple):
        return field(default_factory=lambda: default, metadata={"help": help, **kwargs})
    return field(default=default, metadata={"help": help, **kwargs})


NETWORKS = ("candidatewise", "flat")
"""The baselines' network shapes (``--network``)."""


@dataclass
class TrainArgs:
    """Arguments every baseline shares."""

    env: str = arg("persona_gym/OpenChatContinuous-v1",
                   "environment id; its variant (discrete or continuous) picks the algorithm")
    tier: str = arg("mixed", "dataset tier (random, drift, expert, mixed); built if missing")
    dataset_episodes: int = arg(1000, "episodes to log when the dataset must be built")
    train_episodes: int = arg(0, "train on the first N episodes only (0: all of them)")
    network: str = arg("candidatewise",
                       "candidatewise (one shared scorer over [context, candidate] for every "
                       "candidate, persona_gym.networks) or flat (d3rlpy's default MLP over the "
                       "whole observation, for comparison)", choices=NETWORKS)
    hidden: int = arg(256, "hidden width of the candidate-wise scorer")
    steps: int = arg(5000, "gradient updates")
    steps_per_epoch: int = arg(1000, "updates between log lines")
    batch_size: int = arg(256, "minibatch size")
    seed: int = arg(0, "training seed (d3rlpy.seed)")
    device: str = arg("auto", "auto (CUDA when available, else CPU), cpu:0 or cuda:0")
    eval_episodes: int = arg(100, "evaluation episodes per evaluation seed (0: skip evaluation)")
    eval_seeds: list[int] = arg([0], "evaluation seeds (the protocol default is 0 1 2)")
    select_episodes: int = arg(50, "valid-persona episodes played after every epoch to select "
                               "a checkpoint (0: no selection)")
    wandb: str = arg("offline", "wandb mode: offline (default), online or disabled")
    wandb_project: str = arg("persona_gym", "wandb project")
    wandb_group: str = arg("", "wandb group (default: the env id)")
    out: str = arg("runs", "folder for run directories")
    resume: bool = arg(False, "continue from {out}/{run}/checkpoint.pt")
    force: bool = arg(False, "overwrite an existing run folder")


def parse_args(cls: type[TrainArgs], argv: Sequence[str] | None = None,
               description: str = "") -> TrainArgs:
    """Parse ``argv`` into ``cls``: one ``--flag`` per field, help from the field metadata."""
    parser = argparse.ArgumentParser(
        description=description, formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    for f in dataclasses.fields(cls):
        flag = "--" + f.name.replace("_", "-")
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()
        helptext = f.metadata.get("help", "")
        if isinstance(default, bool):
            parser.add_argument(flag, action="store_true", default=default, help=helptext)
        elif isinstance(default, list):
            parser.add_argument(flag, type=int, nargs="+", default=default, help=helptext)
        else:
            parser.add_argument(flag, type=type(default), default=default, help=helptext,
                                choices=f.metadata.get("choices"))
    return cls(**vars(parser.parse_args(argv)))


def quiet_d3rlpy() -> None:
    """Keep d3rlpy's per-epoch console logging out of a command's output (warnings stay);
    the JSONL log and wandb still record every metric."""
    import logging

    import structlog

    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))


def _drop_expected(logger: Any, method: str, event: dict[str, Any]) -> dict[str, Any]:
    if str(event.get("event", "")).startswith("Skip building models"):
        import structlog

        raise structlog.DropEvent
    return event


def _silence_rebuild_warning() -> None:
    """Drop the warning d3rlpy logs because :func:`train` builds (and ties the heads) before
    fitting, on purpose; every other message stays."""
    import structlog

    processors = list(structlog.get_config()["processors"])
    if _drop_expected not in processors:
        structlog.configure(processors=[_drop_expected, *processors])


def encoder_factory(args: TrainArgs) -> Any:
    """The d3rlpy encoder factory for ``args.network``: the candidate-wise scorer
    (:class:`persona_gym.networks.CandidateEncoderFactory`) or d3rlpy's default MLP."""
    if args.network == "flat":
        import d3rlpy

        return d3rlpy.models.DefaultEncoderFactory()
    if args.network != "candidatewise":
        raise ValueError(f"--network must be one of {', '.join(NETWORKS)}, got {args.network!r}")
    from persona_gym.networks import CandidateEncoderFactory

    return CandidateEncoderFactory(env=args.env, hidden=args.hidden)


def algo_label(algo: str, network: str) -> str:
    """The name a run reports: the d3rlpy algorithm, ``-flat`` appended for the flat network."""
    return algo if network == "candidatewise" else f"{algo}-flat"


def resolve_device(device: str) -> str:
    """``auto`` -> ``cuda:0`` when CUDA is available, else ``cpu:0``."""
    if device != "auto":
        return device
    import torch

    return "cuda:0" if torch.cuda.is_available() else "cpu:0"


def run_name(env_id: str, algo: str, seed: int) -> str:
    """``{env}__{algo}__{seed}`` with the env's short name (``OpenChat-v1``)."""
    return f"{env_id.split('/')[-1]}__{algo}__{seed}"


def versions() -> dict[str, str]:
    import d3rlpy
    import torch

    import persona_gym

    return {"persona_gym": persona_gym.__version__, "d3rlpy": d3rlpy.__version__,
            "torch": torch.__version__, "gymnasium": gym.__version__,
            "python": sys.version.split()[0]}


# -- logging ------------------------------------------------------------------------------------


class JsonlAdapter:
    """d3rlpy logger adapter writing ``params.json`` and one ``metrics.jsonl`` line per epoch."""

    def __init__(self, logdir: Path) -> None:
        self.logdir = logdir
        self._metrics: dict[str, float] = {}
        self._fh = (logdir / "metrics.jsonl").open("a", encoding="utf-8")

    def write_params(self, params: dict[str, Any]) -> None:
        (self.logdir / "params.json").write_text(json.dumps(params, indent=2, default=str))

    def before_write_metric(self, epoch: int, step: int) -> None:
        self._metrics = {}

    def write_metric(self, epoch: int, step: int, name: str, value: float) -> None:
        self._metrics[name] = float(value)

    def after_write_metric(self, epoch: int, step: int) -> None:
        self._fh.write(json.dumps({"epoch": epoch, "step": step, **self._metrics}) + "\n")
        self._fh.flush()

    def save_model(self, epoch: int, algo: Any) -> None:
        algo.save_model(str(self.logdir / "checkpoint.pt"))  # weights only: no pickle

    def close(self) -> None:
        self._fh.close()

    def watch_model(self, epoch: int, step: int) -> None:
        pass


class WandbAdapter:
    """d3rlpy logger adapter for wandb that carries config, tags and group (d3rlpy's own
    adapter cannot). Offline unless told otherwise."""

    def __init__(self, run: Any) -> None:
        self.run = run
        self._metrics: dict[str, float] = {}

    def write_params(self, params: dict[str, Any]) -> None:
        self.run.config.update({"d3rlpy": params}, allow_val_change=True)

    def before_write_metric(self, epoch: int, step: int) -> None:
        self._metrics = {}

    def write_metric(self, epoch: int, step: int, name: str, value: float) -> None:
        self._metrics[f"train/{name}"] = float(value)

    def after_write_metric(self, epoch: int, step: int) -> None:
        self.run.log({**self._metrics, "epoch": epoch}, step=step)

    def save_model(self, epoch: int, algo: Any) -> None:
        pass  # checkpoints stay in the run folder

    def close(self) -> None:
        pass  # the run is finished by train() after evaluation is logged

    def watch_model(self, epoch: int, step: int) -> None:
        pass


def start_wandb(mode: str, project: str, name: str, group: str, tags: list[str],
                config: dict[str, Any], logdir: Path) -> Any:
    """A wandb run (``mode`` offline/online) or ``None`` (disabled)."""
    if mode == "disabled":
        return None
    if mode not in ("offline", "online"):
        raise ValueError(f"--wandb must be offline, online or disabled, got {mode!r}")
    import wandb

    return wandb.init(project=project, name=name, group=group, tags=tags, config=config,
                      mode=mode, dir=str(logdir), reinit="create_new",
                      settings=wandb.Settings(silent=True, console="off"))


class _Adapters:
    """Fans d3rlpy's logging calls out to several adapters."""

    def __init__(self, adapters: list[Any]) -> None:
        self.adapters = adapters

    def __getattr__(self, name: str) -> Callable[..., None]:
        def call(*args: Any) -> None:
            for adapter in self.adapters:
                getattr(adapter, name)(*args)

        return call


class _Factory:
    def __init__(self, adapters: list[Any]) -> None:
        self.adapters = adapters

    def create(self, algo: Any, experiment_name: str, n_steps_per_epoch: int) -> Any:
        return _Adapters(self.adapters)


# -- the run ------------------------------------------------------------------------------------


def load_training_data(args: TrainArgs, progress: bool = True) -> tuple[str, Any]:
    """The dataset id and its d3rlpy ``MDPDataset`` (built first when missing)."""
    from persona_gym import datasets as D

    ds_id = D.dataset_id(args.env, args.tier)
    if ds_id not in D.list_datasets():
        print(f"building {ds_id} ({args.dataset_episodes} episodes) ...", file=sys.stderr)
        D.build_dataset(args.env, args.tier, args.dataset_episodes)
    dataset = D.load(ds_id)
    return ds_id, D.to_mdp(dataset, episodes=args.train_episodes or None)


MakeAlgo = Callable[[TrainArgs, str, str], Any]
"""``make_algo(args, variant, device)`` -> an unbuilt d3rlpy algorithm."""


def _command_line() -> str:
    """The command that started this process, program by name (a venv's path says nothing to a
    reader of the run)."""
    return " ".join([Path(sys.argv[0]).name, *sys.argv[1:]])




def export_policy(algo: Any, path: str | Path) -> Path:
    """Export a trained d3rlpy algorithm's greedy policy as a checked ONNX artifact.

    d3rlpy 2.8.1's ``save_policy('x.onnx')`` calls ``torch.onnx.export`` with the default
    (dynamo) exporter, which needs onnxscript under torch 2.13, and fixes the batch size at 1.
    So: d3rlpy traces its own greedy policy (observation and action scalers included) to a
    TorchScript file in a private temporary folder, which this process made and therefore may
    load, and :func:`persona_gym.artifacts.export_onnx` exports that with ``dynamo=False`` and a
    dynamic batch dimension. The TorchScript file is deleted; only the ONNX graph is kept."""
    import tempfile
    import warnings

    import torch

    from persona_gym.artifacts import export_onnx

    width = int(algo.impl.observation_shape[0])
    with tempfile.TemporaryDirectory(prefix="persona-gym-export-") as tmp:
        traced = Path(tmp) / "policy.pt"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            algo.save_policy(str(traced))
            module = torch.jit.load(str(traced), map_location="cpu")  # our own trace
        return export_onnx(module, width, path)


class LivePolicy:
    """A d3rlpy algorithm being trained, as an observation policy (``act_batch``) for
    :func:`persona_gym.evaluation.evaluate` (model selection on valid personas)."""

    def __init__(self, algo: Any, name: str) -> None:
        self.algo, self.name = algo, name

    def reset(self, rng: Any) -> None:
        del rng

    def act_batch(self, obs: Any) -> Any:
        return self.algo.predict(obs)


def train(args: TrainArgs, algo_name: str, make_algo: MakeAlgo,
          tags: Sequence[str] = ()) -> dict[str, Any]:
    """Train, export and evaluate one baseline run; returns the run's summary dict."""
    import d3rlpy

    from persona_gym.networks import tie_heads

    entry = env_entry(args.env)
    if entry.variant == "text":
        raise ValueError(f"{args.env} is a text variant; d3rlpy baselines need the discrete or "
                         "continuous variant")
    if args.select_episodes < 0:
        raise ValueError(f"--select-episodes must be >= 0, got {args.select_episodes}")
    encoder_factory(args)  # a bad --network fails before any data is built
    algo_name = algo_label(algo_name, args.network)
    name = run_name(args.env, algo_name, args.seed)
    logdir = Path(args.out) / name
    if logdir.exists() and not (args.force or args.resume):
        raise FileExistsError(f"{logdir} exists; pass --force to overwrite or --resume")
    logdir.mkdir(parents=True, exist_ok=True)
    device = resolve_device(args.device)
    ds_id, mdp = load_training_data(args)
    d3rlpy.seed(args.seed)
    algo = make_algo(args, entry.variant, device)
    _silence_rebuild_warning()
    algo.build_with_dataset(mdp)
    tie_heads(algo.impl)  # candidate-wise heads: the scores themselves (no-op for flat)
    if args.resume and (logdir / "checkpoint.pt").exists():
        algo.load_model(str(logdir / "checkpoint.pt"))
    config = {"run": name, "algo": algo_name, "args": dataclasses.asdict(args),
              "dataset_id": ds_id, "transitions": mdp.transition_count, "device": device,
              "versions": versions(), "command": _command_line()}
    (logdir / "config.json").write_text(json.dumps(config, indent=2))
    wandb_run = start_wandb(args.wandb, args.wandb_project, name,
                            args.wandb_group or args.env, [algo_name, args.tier, *tags],
                            config, logdir)
    adapters: list[Any] = [JsonlAdapter(logdir)]
    if wandb_run is not None:
        adapters.append(WandbAdapter(wandb_run))
    start = time.perf_counter()
    selection = logdir / "selection.jsonl"
    selection.unlink(missing_ok=True)
    best: dict[str, Any] | None = None
    select_seconds = 0.0
    bar = progress(args.steps, f"train {name}", unit="update")
    for epoch, _ in algo.fitter(
            mdp, n_steps=args.steps, n_steps_per_epoch=min(args.steps_per_epoch, args.steps),
            experiment_name=name, with_timestamp=False, logger_adapter=_Factory(adapters),
            show_progress=False, save_interval=1,
            callback=lambda _algo, _epoch, _step: bar.update(1)):
        if not args.select_episodes:
            continue
        t0 = time.perf_counter()
        valid = evaluate(args.env, LivePolicy(algo, name), episodes=args.select_episodes,
                         seeds=[0], split="valid")["normalized_score"]
        row = {"epoch": epoch, "step": epoch * min(args.steps_per_epoch, args.steps),
               "valid_normalized_score": valid}
        with selection.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(row) + "\n")
        if wandb_run is not None:
            wandb_run.log({"valid/normalized_score": valid}, step=row["step"])
        if best is None or valid > best["valid_normalized_score"]:
            best = row
            algo.save_model(str(logdir / "checkpoint_selected.pt"))
            export_policy(algo, logdir / SELECTED_POLICY_FILE)
        select_seconds += time.perf_counter() - t0
    bar.close()
    seconds = time.perf_counter() - start - select_seconds
    algo.save_model(str(logdir / "checkpoint.pt"))
    export_policy(algo, logdir / POLICY_FILE)
    summary: dict[str, Any] = {"run": name, "algo": algo_name, "logdir": str(logdir),
                               "train_seconds": seconds, "updates_per_s": args.steps / seconds}
    if best is not None:
        summary["selected"] = dict(best)
    if args.eval_episodes:
        for file, out, key in ((POLICY_FILE, "results.json", None),
                               (SELECTED_POLICY_FILE, "results_selected.json", "selected")):
            if key and best is None:
                continue
            results = evaluate(args.env, str(logdir / file), episodes=args.eval_episodes,
                               seeds=args.eval_seeds)
            results["policy"] = f"{name}/{file}"
            (logdir / out).write_text(json.dumps(results, indent=2))
            target = summary if key is None else summary["selected"]
            target["normalized_score"] = results["normalized_score"]
            target["normalized_score_ci"] = results["normalized_score_ci"]
            prefix = "eval" if key is None else "eval_selected"
            if wandb_run is not None:
                wandb_run.summary.update({f"{prefix}/normalized_score":
                                          results["normalized_score"],
                                          **{f"{prefix}/{m}": v["mean"]
                                             for m, v in results["metrics"].items()}})
    if wandb_run is not None:
        wandb_run.finish()
    for adapter in adapters:
        adapter.close()
    (logdir / "summary.json").write_text(json.dumps(summary, indent=2))
    return summary


def main_for(args_cls: type[TrainArgs], algo_for: Callable[[str], str], make_algo: MakeAlgo,
             doc: str, argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Entry point of a baseline script: parse, train, print the summary as JSON."""
    args = parse_args(args_cls, argv, description=doc)
    os.environ.setdefault("WANDB_SILENT", "true")
    quiet_d3rlpy()  # its per-epoch logs are in the run folder (metrics.jsonl, wandb)
    variant = env_entry(args.env).variant
    summary = train(args, algo_for(variant), make_algo)
    print(json.dumps(summary))
    return summary
