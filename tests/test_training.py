"""Baselines end to end (tiny runs), the evaluation protocol, wandb offline, the scaling study."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from persona_gym.baselines import bc, bcq, cql, iql, td3plusbc

from persona_gym.evaluation import evaluate
from persona_gym.scaling import StudySpec, report, run_study
from persona_gym.training import parse_args, run_name, train


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("MINARI_DATASETS_PATH", str(tmp_path / "minari"))
    monkeypatch.setenv("WANDB_SILENT", "true")
    monkeypatch.delenv("WANDB_MODE", raising=False)
    return tmp_path


CASES = [
    (bc, "persona_gym/OpenChat-v0", "DiscreteBC"),
    (bc, "persona_gym/OpenChatContinuous-v0", "BC"),
    (cql, "persona_gym/OpenChat-v0", "DiscreteCQL"),
    (cql, "persona_gym/OpenChatContinuous-v0", "CQL"),
    (iql, "persona_gym/OpenChatContinuous-v0", "IQL"),
    (td3plusbc, "persona_gym/OpenChatContinuous-v0", "TD3PlusBC"),
    (bcq, "persona_gym/OpenChat-v0", "DiscreteBCQ"),
]


@pytest.mark.parametrize(("module", "env_id", "algo"), CASES,
                         ids=[c[2] + ":" + c[1].split("/")[1] for c in CASES])
def test_baseline_runs_end_to_end(module, env_id: str, algo: str, tmp_path: Path) -> None:
    args = parse_args(module.Args, ["--env", env_id, "--tier", "mixed", "--dataset-episodes",
                                    "12", "--steps", "6", "--steps-per-epoch", "3",
                                    "--batch-size", "16", "--eval-episodes", "4",
                                    "--out", str(tmp_path / "runs")])
    assert module.algo_for("continuous" if "Continuous" in env_id else "discrete") == algo
    summary = train(args, algo, module.make_algo)
    run = tmp_path / "runs" / run_name(env_id, algo, 0)
    assert summary["run"] == run.name == f"{env_id.split('/')[1]}__{algo}__0"
    config = json.loads((run / "config.json").read_text())
    assert config["dataset_id"].startswith("persona_gym/openchat") and config["args"]["seed"] == 0
    assert set(config["versions"]) >= {"persona_gym", "d3rlpy", "torch", "gymnasium"}
    assert not config["command"].startswith("/")  # the program by name, not a venv path
    lines = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    assert [x["step"] for x in lines] == [3, 6] and all("time_step" in x for x in lines)
    for name in ("policy.onnx", "checkpoint.pt", "params.json", "results.json"):
        assert (run / name).is_file(), name
    assert not (run / "policy.pt").exists()  # only the data format is kept (docs/security.md)
    results = json.loads((run / "results.json").read_text())
    assert results["episodes"] == 4 and "normalized_score" in results
    # a real wandb run, offline: nothing left the machine
    offline = list((run / "wandb").glob("offline-run-*/run-*.wandb"))
    assert len(offline) == 1
    tokens = [t.encode() for t in (env_id, "mixed", "train/time_step", "eval/normalized_score")]
    # the run's config, group, training and eval metrics; wandb's service process may still be
    # flushing the file when finish() returns (measured: 7 bytes at return, complete 3 s later)
    deadline = time.monotonic() + 20
    record = offline[0].read_bytes()
    while not all(t in record for t in tokens) and time.monotonic() < deadline:
        time.sleep(0.2)
        record = offline[0].read_bytes()
    for token in tokens:
        assert token in record, token


def test_discrete_only_and_continuous_only_scripts_refuse_the_wrong_variant() -> None:
    with pytest.raises(SystemExit, match="continuous variant"):
        iql.algo_for("discrete")
    with pytest.raises(SystemExit, match="discrete id"):
        bcq.algo_for("continuous")


def test_exported_policy_acts_without_the_training_code(tmp_path: Path) -> None:
    args = parse_args(bc.Args, ["--env", "persona_gym/OpenChat-v0", "--dataset-episodes", "12",
                                "--steps", "4", "--eval-episodes", "0", "--wandb", "disabled",
                                "--out", str(tmp_path / "runs")])
    summary = train(args, "DiscreteBC", bc.make_algo)
    policy = Path(summary["logdir"]) / "policy.onnx"
    code = (
        "import sys\n"
        "sys.modules['d3rlpy'] = None  # the training library is not importable\n"
        "sys.modules['torch'] = None  # nor torch: the ONNX graph runs on onnxruntime alone\n"
        "from persona_gym.evaluation import evaluate\n"
        f"r = evaluate('persona_gym/OpenChat-v0', {str(policy)!r}, episodes=3, seeds=[0])\n"
        "print(r['episodes'], r['normalized_score'])\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=tmp_path)
    episodes, score = out.stdout.split()
    assert episodes == "3" and np.isfinite(float(score))


def test_resume_continues_from_the_checkpoint(tmp_path: Path) -> None:
    argv = ["--env", "persona_gym/OpenChat-v0", "--dataset-episodes", "12", "--steps", "4",
            "--eval-episodes", "0", "--wandb", "disabled", "--out", str(tmp_path / "runs")]
    first = train(parse_args(bc.Args, argv), "DiscreteBC", bc.make_algo)
    with pytest.raises(FileExistsError, match="--force"):
        train(parse_args(bc.Args, argv), "DiscreteBC", bc.make_algo)
    import torch

    before = torch.load(Path(first["logdir"]) / "checkpoint.pt", weights_only=True)
    train(parse_args(bc.Args, [*argv, "--resume", "--steps", "1"]), "DiscreteBC", bc.make_algo)
    after = torch.load(Path(first["logdir"]) / "checkpoint.pt", weights_only=True)
    # one more update from the saved weights: close to them, not equal, not a fresh init
    w0 = next(v for k, v in before["imitator"].items() if k.endswith("weight"))
    w1 = next(v for k, v in after["imitator"].items() if k.endswith("weight"))
    assert not torch.equal(w0, w1) and torch.allclose(w0, w1, atol=0.05)


def test_protocol_expert_100_random_about_0() -> None:
    expert = evaluate("persona_gym/OpenChat-v0", "expert", episodes=30, seeds=[0, 1])
    assert expert["normalized_score"] == pytest.approx(100.0)
    assert [s["seed"] for s in expert["per_seed"]] == [0, 1]
    assert expert["episodes"] == 60 and expert["protocol_version"] == 1
    random = evaluate("persona_gym/OpenChat-v0", "random", episodes=100, seeds=[0, 1, 2])
    lo, hi = random["normalized_score_ci"]
    assert abs(random["normalized_score"]) < 5 and lo < random["normalized_score"] < hi
    assert random["normalized_score"] == pytest.approx(
        np.mean([s["normalized_score"] for s in random["per_seed"]]))


def test_scaling_study_writes_tables_and_plots_and_resumes(tmp_path: Path) -> None:
    spec = StudySpec(env="persona_gym/OpenChat-v0", tiers=("drift",), sizes=(6, 12),
                     algos=("bc",), seeds=(0, 1), steps=4, eval_episodes=3, eval_seeds=(0,),
                     wandb="disabled")
    out = tmp_path / "study"
    result = run_study(spec, out)
    assert [(r["size"], r["seeds"]) for r in result["rows"]] == [(6, 2), (12, 2)]
    for name in ("table.md", "table.csv", "scaling.png", "by_turn.png"):
        assert (out / name).stat().st_size > 0, name
    assert "| drift | 12 | DiscreteBC | 4 | 2 |" in (out / "table.md").read_text()
    cells = sorted((out / "cells").glob("*.json"))
    assert len(cells) == 4
    stamps = [c.stat().st_mtime_ns for c in cells]
    again = run_study(spec, out)  # finished cells are not re-run
    assert [c.stat().st_mtime_ns for c in cells] == stamps
    assert again["rows"] == result["rows"]
    # a second study with another size shares the folder; --report-only covers both, trains
    # nothing and re-runs no cell
    wider = run_study(dataclasses.replace(spec, sizes=(18,), seeds=(0,)), out)
    assert [(r["size"], r["seeds"]) for r in wider["rows"]] == [(18, 1)]
    stamps = sorted(c.stat().st_mtime_ns for c in (out / "cells").glob("*.json"))
    both = report(spec, out)
    assert [(r["size"], r["seeds"]) for r in both["rows"]] == [(6, 2), (12, 2), (18, 1)]
    assert sorted(c.stat().st_mtime_ns for c in (out / "cells").glob("*.json")) == stamps
    assert "| drift | 18 | DiscreteBC | 4 | 1 |" in (out / "table.md").read_text()
    assert "– (1 seed)" in (out / "table.md").read_text()  # no interval from one seed
    with pytest.raises(ValueError, match="no finished cells"):
        report(spec, tmp_path / "empty")
    # a finished cell is reused only by a study with its budget: more updates must not be
    # answered with the cells trained for fewer, and nothing runs before the refusal
    cell = json.loads(cells[0].read_text())
    assert cell["budget"] == {"env": spec.env, "eval_episodes": 3, "eval_seeds": [0],
                              "steps": 4, "batch_size": spec.batch_size, "select_episodes": 50,
                              "steps_per_epoch": 1}
    with pytest.raises(ValueError, match=r"steps 4 there, 5 here.*another --out"):
        run_study(dataclasses.replace(spec, steps=5, sizes=(6, 24)), out)
    assert not (out / "cells" / "drift__24__bc__0.json").exists()
    del cell["budget"]
    cells[0].write_text(json.dumps(cell))
    with pytest.raises(ValueError, match="records no budget"):
        run_study(spec, out)


def test_study_runs_check_valid_personas_at_least_every_1000_updates() -> None:
    from persona_gym.scaling import steps_per_epoch

    assert [steps_per_epoch(n) for n in (4, 3000, 5000, 10000, 100000)] == [
        1, 600, 1000, 1000, 1000]
    assert steps_per_epoch(10000, select_every=2000) == 2000  # as a study asked for
    assert steps_per_epoch(300, select_every=2000) == 300


def test_checkpoint_selection_uses_valid_personas_and_reports_both(tmp_path: Path) -> None:
    args = parse_args(cql.Args, ["--env", "persona_gym/OpenChat-v1", "--tier", "mixed",
                                 "--dataset-episodes", "12", "--steps", "6",
                                 "--steps-per-epoch", "2", "--batch-size", "16",
                                 "--select-episodes", "4", "--eval-episodes", "4", "--wandb",
                                 "disabled", "--out", str(tmp_path / "runs")])
    summary = train(args, "DiscreteCQL", cql.make_algo)
    run = Path(summary["logdir"])
    rows = [json.loads(x) for x in (run / "selection.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in rows] == [1, 2, 3] and [r["step"] for r in rows] == [2, 4, 6]
    best = max(rows, key=lambda r: r["valid_normalized_score"])
    assert summary["selected"]["epoch"] == min(
        r["epoch"] for r in rows if r["valid_normalized_score"] == best["valid_normalized_score"])
    selected = json.loads((run / "results_selected.json").read_text())
    final = json.loads((run / "results.json").read_text())
    assert selected["split"] == final["split"] == "test"  # selected on valid, reported on test
    assert selected["policy"].endswith("policy_selected.onnx")
    assert summary["selected"]["normalized_score"] == selected["normalized_score"]
    # the valid score is what evaluate gives on the valid personas, not the test ones
    valid = evaluate("persona_gym/OpenChat-v1", str(run / "policy.onnx"), episodes=4, seeds=[0],
                     split="valid")
    assert valid["split"] == "valid"
    assert valid["normalized_score"] == pytest.approx(rows[-1]["valid_normalized_score"])
    with pytest.raises(ValueError, match="never select or evaluate on the train personas"):
        evaluate("persona_gym/OpenChat-v1", "random", episodes=2, seeds=[0], split="train")


@pytest.mark.parametrize("network", ["candidatewise", "flat"])
def test_network_option_picks_the_encoder_and_names_the_run(network: str,
                                                             tmp_path: Path) -> None:
    args = parse_args(bc.Args, ["--env", "persona_gym/OpenChat-v1", "--tier", "mixed",
                                "--dataset-episodes", "12", "--steps", "2", "--batch-size", "8",
                                "--network", network, "--select-episodes", "0",
                                "--eval-episodes", "0", "--wandb", "disabled",
                                "--out", str(tmp_path / "runs")])
    summary = train(args, "DiscreteBC", bc.make_algo)
    label = "DiscreteBC" if network == "candidatewise" else "DiscreteBC-flat"
    assert summary["algo"] == label and summary["run"] == f"OpenChat-v1__{label}__0"
    params = json.loads((Path(summary["logdir"]) / "params.json").read_text())
    kind = params["config"]["params"]["encoder_factory"]["type"]
    assert kind == ("candidatewise" if network == "candidatewise" else "default")
    assert "selected" not in summary and not (Path(summary["logdir"]) / "selection.jsonl").exists()
    with pytest.raises(SystemExit):
        parse_args(bc.Args, ["--network", "transformer"])


def test_study_puts_online_learners_at_matched_budgets_beside_offline_ones(
        tmp_path: Path) -> None:
    from persona_gym import datasets as D

    spec = StudySpec(env="persona_gym/OpenChat-v1", tiers=("mixed",), sizes=(4,),
                     algos=("bc", "ppo"), seeds=(0,), steps=4, eval_episodes=3,
                     eval_seeds=(0,), wandb="disabled", select_episodes=2)
    result = run_study(spec, tmp_path / "study")
    algos = {r["algo"]: r for r in result["rows"]}
    assert set(algos) == {"DiscreteBC", "PPO"}
    assert algos["DiscreteBC"]["selected_score"] is not None
    assert algos["PPO"]["selected_score"] is None  # online runs have no valid selection
    online = json.loads((tmp_path / "study" / "cells" / "mixed__4__ppo__0.json").read_text())
    ds = D.load(D.dataset_id("persona_gym/OpenChat-v1", "mixed"))
    logged = sum(len(e.actions) for e in ds.iterate_episodes(range(4)))
    assert online["env_steps"] == logged == D.prefix_transitions(ds.spec.dataset_id, 4)
    table = (tmp_path / "study" / "table.md").read_text()
    assert "| mixed | 4 | PPO | online | 1 |" in table and "selected on valid" in table
