"""Making submissions: a submission dict around real ``evaluate`` results, a submission from a
baseline run folder, and the conversion of a *trusted* torch policy to the ONNX artifact format.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from persona_gym.artifacts import (
    POLICY_FILE,
    SELECTED_POLICY_FILE,
    ArtifactError,
    export_onnx,
    sha256_file,
)
from persona_gym.leaderboard.schema import ARTIFACT_FORMAT, SUBMISSION_FORMAT, SUBMISSION_SCHEMA
from persona_gym.leaderboard.validate import LeaderboardError
from persona_gym.output import write_atomically


def make_submission(
    results: list[dict[str, Any]],
    method: str,
    submitter: str,
    description: str,
    **extra: Any,
) -> dict[str, Any]:
    """A submission dict around real ``evaluate`` results (``extra``: the optional fields:
    paper_url, code_url, date, dataset_ids, command, training, artifact)."""
    if not results:
        raise ValueError("give at least one results dict")
    unknown = set(extra) - set(SUBMISSION_SCHEMA["properties"])
    if unknown:
        raise ValueError(f"unknown submission fields {sorted(unknown)}")
    return {
        "format": SUBMISSION_FORMAT,
        "format_version": 1,
        "method": method,
        "submitter": submitter,
        "description": description,
        "env_ids": [r["env_id"] for r in results],
        "persona_gym_version": results[0]["persona_gym_version"],
        "protocol_version": results[0]["protocol_version"],
        **extra,
        "results": results,
    }


def artifact_field(submissions: str | Path, rel: str) -> dict[str, str]:
    """The ``artifact`` field for the file ``{submissions}/{rel}``."""
    return {"path": rel, "sha256": sha256_file(Path(submissions) / rel),
            "format": ARTIFACT_FORMAT}


def submission_from_run(run_dir: str | Path, submissions: str | Path, *, name: str | None = None,
                        method: str | None = None,
                        submitter: str = "persona_gym developers",
                        selected: bool = False) -> Path:
    """Write ``{submissions}/{name}.json`` and ``{submissions}/{name}/policy.onnx`` (the layout
    of leaderboard/README.md) from a baseline run folder: the ONNX policy is evaluated with the
    official protocol defaults and the command that trained it is taken from the run's
    ``config.json``. ``selected`` submits the checkpoint the run selected on valid personas
    (``policy_selected.onnx``) instead of the final one. Returns the submission's path."""
    from persona_gym.evaluation import evaluate

    run = Path(run_dir)
    source = SELECTED_POLICY_FILE if selected else POLICY_FILE
    config_path, policy = run / "config.json", run / source
    if selected and config_path.is_file() and not policy.is_file():
        raise LeaderboardError(f"{run} has no {SELECTED_POLICY_FILE}: the run selected no "
                               "checkpoint (it ran with --select-episodes 0); drop --selected")
    if not config_path.is_file() or not policy.is_file():
        hint = (" (this run exported policy.pt, which is no longer accepted: convert it with "
                "`persona-gym leaderboard convert` or re-train)"
                if (run / "policy.pt").is_file() else "")
        raise LeaderboardError(f"{run} is not a baseline run folder (needs config.json and "
                               f"{POLICY_FILE}, as baselines/*.py write them){hint}")
    config = json.loads(config_path.read_text("utf-8"))
    name = name or config["run"] + ("__selected" if selected else "")
    folder = Path(submissions) / name
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(policy, folder / POLICY_FILE)
    env_id = config["args"]["env"]
    results = evaluate(env_id, str(folder / POLICY_FILE))
    results["policy"] = f"{name}/{POLICY_FILE}"
    args = config["args"]
    submission = make_submission(
        [results],
        method=method or f"{config['algo']} (baseline{', selected on valid' if selected else ''})",
        submitter=submitter,
        description=(f"d3rlpy {config['algo']} ({args.get('network', 'flat')} network) trained "
                     f"for {args['steps']} updates (batch {args['batch_size']}, seed "
                     f"{args['seed']}) on {config['dataset_id']} ({config['transitions']} "
                     "transitions); "
                     + ("the checkpoint with the best score on valid personas; " if selected
                        else "")
                     + "persona_gym baseline."),
        dataset_ids=[config["dataset_id"]],
        command=config["command"],
        training={"algo": config["algo"], "dataset": config["dataset_id"],
                  "steps": args["steps"], "seed": args["seed"]},
        artifact=artifact_field(submissions, f"{name}/{POLICY_FILE}"),
    )
    return write_atomically(Path(submissions) / f"{name}.json",
                            json.dumps(submission, indent=2) + "\n", mode=0o644)


def convert_torchscript(source: str | Path, out: str | Path, env_id: str) -> Path:
    """Convert a TorchScript policy file **you made yourself** to the ONNX artifact format.

    Loading TorchScript runs it (it can read and write files): never call this on a file from
    someone else. The observation width comes from ``env_id``. Returns ``out``."""
    import gymnasium as gym
    import torch

    import persona_gym  # noqa: F401  (registers the envs)

    src = Path(source)
    if not src.is_file():
        raise ArtifactError(f"no file at {src}")
    env = gym.make(env_id)
    width = int(env.observation_space.shape[0])
    env.close()
    module = torch.jit.load(str(src), map_location="cpu")
    return export_onnx(module, width, out)


__all__ = ["POLICY_FILE", "artifact_field", "convert_torchscript", "export_onnx",
           "make_submission", "submission_from_run"]
