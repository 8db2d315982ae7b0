"""Dataset generation and the scaling study on Ray (persona_gym.distributed), against the
single-machine paths they must reproduce. A local Ray with 2 CPUs, started by the tests
themselves: no external service."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pytest
import torch

from persona_gym import datasets as D
from persona_gym.cli import main
from persona_gym.scaling import StudySpec, run_study

ray = pytest.importorskip("ray", reason='needs the extra: pip install "persona-gym[ray]"')

ENV = "persona_gym/OpenChat-v1"
posix_only = pytest.mark.skipif(sys.platform != "linux", reason="signals, process groups and "
                                "/proc as on Linux")


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "minari"
    monkeypatch.setenv("MINARI_DATASETS_PATH", str(root))
    monkeypatch.setenv("WANDB_SILENT", "true")
    monkeypatch.delenv("WANDB_MODE", raising=False)
    return root


@pytest.fixture(scope="module")
def ray_cluster() -> Iterator[None]:
    """One local Ray with 2 CPUs for the tests that share it, stopped at the end. Its workers
    start with the environment of the first test; the code under test must pass on what a
    task needs (MINARI_DATASETS_PATH), as it must on a real cluster."""
    ray.init(address="local", num_cpus=2, include_dashboard=False)
    try:
        yield
    finally:
        ray.shutdown()


# -- comparing datasets ------------------------------------------------------------------------


def _same_hdf5(a: h5py.Group, b: h5py.Group, where: str = "") -> None:
    """Every group, dataset and attribute of ``a`` equals ``b``'s, in the same order, dtypes
    and shapes included (NaN equals NaN)."""
    assert list(a.keys()) == list(b.keys()), where
    assert dict(a.attrs) == dict(b.attrs), where
    for key in a:
        path = f"{where}/{key}"
        if isinstance(a[key], h5py.Group):
            assert isinstance(b[key], h5py.Group), path
            _same_hdf5(a[key], b[key], path)
            continue
        x, y = a[key][()], b[key][()]
        assert (x.dtype, x.shape) == (y.dtype, y.shape), path
        if x.dtype.kind == "f":
            assert np.array_equal(x, y, equal_nan=True), path
        else:
            assert np.array_equal(x, y), path
        assert dict(a[key].attrs) == dict(b[key].attrs), path


def _same_dataset(first: Path, second: Path) -> None:
    """Two builds of one id hold the same data: the HDF5 file field by field, episode order
    included, and the same metadata."""
    with h5py.File(first / "data" / "main_data.hdf5") as a, \
            h5py.File(second / "data" / "main_data.hdf5") as b:
        assert len(a) > 1
        _same_hdf5(a, b)
    meta = [json.loads((p / "data" / "metadata.json").read_text()) for p in (first, second)]
    assert meta[0] == meta[1]


def _set_aside(ds_id: str) -> Path:
    """Move a built dataset out of the way (so the same id can be built again)."""
    path = D.datasets_root() / ds_id
    aside = D.datasets_root() / "aside" / path.name
    aside.parent.mkdir(parents=True, exist_ok=True)
    path.rename(aside)
    return aside


# -- without Ray ---------------------------------------------------------------------------------


def test_ray_is_only_imported_when_asked_for() -> None:
    code = ("import sys; import persona_gym.cli, persona_gym.datasets, persona_gym.scaling, "
            "persona_gym.distributed; print('ray' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"


def test_without_ray_the_commands_name_the_install(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture, tmp_path: Path) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # as if not installed
    code = main(["datasets", "build", "--env", ENV, "--tier", "drift", "--episodes", "2",
                 "--ray"])
    assert code == 2
    assert 'pip install "persona-gym[ray]"' in capsys.readouterr().err
    code = main(["scale", "--tiers", "drift", "--sizes", "2", "--algos", "bc", "--seeds", "1",
                 "--steps", "1", "--eval-episodes", "1", "--wandb", "disabled", "--ray",
                 "--out", str(tmp_path / "study")])
    assert code == 2
    assert 'pip install "persona-gym[ray]"' in capsys.readouterr().err
    assert not D.list_datasets()


@pytest.mark.parametrize(("address", "words"), [
    ("127.0.0.1:1", "nothing answers at 127.0.0.1:1"),  # ray.init would retry for minutes
    ("headnode", "Ray address 'headnode' is not HOST:PORT"),
])
def test_a_bad_address_fails_at_once(address: str, words: str,
                                     capsys: pytest.CaptureFixture) -> None:
    start = time.monotonic()
    code = main(["datasets", "build", "--env", ENV, "--tier", "drift", "--episodes", "2",
                 "--ray", address])
    assert code == 2 and words in capsys.readouterr().err
    assert time.monotonic() - start < 10 and not ray.is_initialized()
    assert not D.list_datasets()


def test_ray_options_of_scale_need_ray(capsys: pytest.CaptureFixture, tmp_path: Path) -> None:
    assert main(["scale", "--gpus-per-run", "1", "--out", str(tmp_path / "s")]) == 2
    assert "apply to --ray" in capsys.readouterr().err
    assert main(["scale", "--report-only", "--ray", "--out", str(tmp_path / "s")]) == 2
    assert "--report-only trains nothing; drop --ray" in capsys.readouterr().err
    assert not (tmp_path / "s").exists()


# -- the command line, with its own local Ray --------------------------------------------------


def _cli(*args: str, root: Path) -> subprocess.Popen:
    """``persona-gym ARGS`` in its own process group, as from a terminal."""
    env = {**os.environ, "MINARI_DATASETS_PATH": str(root)}
    return subprocess.Popen([sys.executable, "-m", "persona_gym.cli", *args], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)


def _group_gone(pgid: int, within: float = 10.0) -> bool:
    """Has every process of the group exited (Ray's own processes included)?"""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    os.killpg(pgid, signal.SIGKILL)
    return False


@posix_only
def test_cli_build_on_a_local_ray_writes_the_plain_build(isolated: Path) -> None:
    """`datasets build --ray --workers 2` starts a local Ray with 2 CPUs, writes the same
    dataset as the plain in-process build, and leaves no Ray process behind."""
    plain = D.build_dataset(ENV, "mixed", 30, seed=7, workers=1)
    aside = _set_aside(plain)
    proc = _cli("datasets", "build", "--env", ENV, "--tier", "mixed", "--episodes", "30",
                "--seed", "7", "--ray", "--workers", "2", "--json", root=isolated)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert json.loads(out.strip().splitlines()[-1])["dataset_id"] == plain
    assert _group_gone(proc.pid), "Ray processes outlived the build"
    _same_dataset(aside, D.datasets_root() / plain)
    assert D.verify_dataset(plain) is None


@posix_only
@pytest.mark.parametrize(("signum", "to_group"), [(signal.SIGINT, True), (signal.SIGTERM, False)],
                         ids=["ctrl-c-to-the-group", "sigterm-to-the-build"])
def test_signals_stop_a_ray_build(isolated: Path, signum: int, to_group: bool) -> None:
    """SIGINT to the whole process group (a terminal's Ctrl-C) or SIGTERM to the build (whose
    handler ray.init replaces) stop a build on a local Ray as they stop a plain one: exit 130 or
    143, one line, no staging, no Ray process left."""
    proc = _cli("datasets", "build", "--env", ENV, "--tier", "mixed", "--episodes",
                str(10**9), "--ignore-disk-check", "--ray", "--workers", "2", root=isolated)
    deadline = time.monotonic() + 90
    while not list((isolated / D.STAGING_DIR).glob("*/**/main_data.hdf5")):
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the build wrote nothing in 90 s"
        time.sleep(0.05)
    time.sleep(1.0)
    (os.killpg if to_group else os.kill)(proc.pid, signum)
    try:
        _, err = proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        raise AssertionError("the build did not stop within 30 s of the signal") from None
    assert proc.returncode == 128 + signum, err
    assert err.strip().splitlines()[-1] == (
        f"persona-gym datasets: interrupted by {signal.Signals(signum).name}; the partial "
        "build was removed and nothing was written"), err
    assert _group_gone(proc.pid), "Ray processes outlived the build"
    assert not (isolated / D.STAGING_DIR).exists()
    assert not D.list_datasets()


# -- on a shared local Ray ---------------------------------------------------------------------


@pytest.mark.parametrize(("env_id", "workers"), [(ENV, 1), ("persona_gym/OpenChatText-v1", 2)])
def test_ray_build_equals_the_plain_build(ray_cluster: None, env_id: str, workers: int) -> None:
    """Every field of every episode, episode order included, with small chunks (so later
    chunks often finish before earlier ones) and any number of workers."""
    plain = D.build_dataset(env_id, "mixed", 21, seed=5, workers=2, chunk_episodes=4)
    aside = _set_aside(plain)
    on_ray = D.build_dataset(env_id, "mixed", 21, seed=5, workers=workers, chunk_episodes=3,
                             ray_address="local")
    assert on_ray == plain
    _same_dataset(aside, D.datasets_root() / plain)
    assert ray.is_initialized()  # a session the caller opened is left open


def test_chunks_come_back_in_task_order_when_they_finish_out_of_it(ray_cluster: None) -> None:
    """The first chunk is 16 episodes, the next ones 1 each: they finish first, and still
    come back after it, in order."""
    from persona_gym import distributed

    bounds = [(0, 16), *((i, i + 1) for i in range(16, 24))]
    tasks = ((ENV, "mixed", 100, a, b) for a, b in bounds)
    chunks = list(distributed.ordered_map(D._generate_chunk, tasks, workers=2))
    assert [[ep["seed"] for ep in chunk] for chunk in chunks] == [
        list(range(100 + a, 100 + b)) for a, b in bounds]
    with pytest.raises(ValueError, match="workers must be >= 1"):
        next(distributed.ordered_map(D._generate_chunk, iter([]), workers=0))


def test_a_cell_no_node_can_run_is_refused_before_anything_runs(
        ray_cluster: None, capsys: pytest.CaptureFixture, tmp_path: Path) -> None:
    """On a Ray that cannot grow, a cell asking for a GPU it has not would wait forever."""
    code = main(["scale", "--tiers", "drift", "--sizes", "2", "--algos", "bc", "--seeds", "1",
                 "--steps", "1", "--eval-episodes", "1", "--wandb", "disabled", "--ray",
                 "--gpus-per-run", "1", "--out", str(tmp_path / "study")])
    assert code == 2
    err = capsys.readouterr().err
    assert "no Ray node has 1 CPU and 1 GPU for one task (nodes: 2 CPU 0 GPU)" in err
    assert not D.list_datasets() and not (tmp_path / "study" / "cells").exists()


def _cells(out: Path) -> dict[str, dict[str, Any]]:
    """The study's cell files, without the one field a rerun changes (wall-clock seconds)."""
    cells = {}
    for path in sorted((out / "cells").glob("*.json")):
        cell = json.loads(path.read_text())
        assert cell.pop("train_seconds") > 0
        cells[path.name] = cell
    return cells


def test_study_on_ray_retries_reports_and_equals_the_local_study(ray_cluster: None,
                                                                 tmp_path: Path) -> None:
    """Two cells through Ray: one fails once and is retried, the other fails every attempt
    without stopping the study; the rerun runs only the missing cell; the cells then equal a
    single-process study's, field for field.

    Equal is exact because it was measured so: a tiny cell trained again with the same number
    of torch threads gives a byte-identical cell file but for train_seconds (d3rlpy.seed fixes
    torch, numpy and random; evaluation is seeded by the protocol). The number of threads can
    change the result (a tiny PPO cell: 9.264 with 2 threads, 9.142 with 1, each every time),
    so both sides train with 2: the Ray cells declare 2 CPUs, the in-process study gets
    torch.set_num_threads(2)."""
    spec = StudySpec(env=ENV, tiers=("drift",), sizes=(6, 12), algos=("bc",), seeds=(0,),
                     steps=4, eval_episodes=3, eval_seeds=(0,), wandb="disabled",
                     select_episodes=2, batch_size=16)
    out = tmp_path / "ray"
    (out / "runs").mkdir(parents=True)
    # a real failure: a file where a cell's run folder must go
    for size in (6, 12):
        (out / "runs" / f"drift__{size}").write_text("in the way")
    lines: list[str] = []

    def progress(line: str) -> None:
        lines.append(line)
        if line.startswith("failed drift size=12"):  # the cause goes away before the retry
            (out / "runs" / "drift__12").unlink()

    first = run_study(spec, out, progress, ray_address="local", cpus_per_run=2, retries=1)
    assert [(f["size"], f["attempts"]) for f in first["failed"]] == [(6, 2)]
    assert first["failed"][0]["error"].startswith(("FileExistsError", "NotADirectoryError"))
    assert any(x.startswith("failed drift size=6 bc seed=0 (attempt 1 of 2), retrying")
               for x in lines)
    assert any(x.startswith("FAILED drift size=6 bc seed=0 after 2 attempts") for x in lines)
    assert "done drift size=12 bc seed=0" in lines
    assert [r["size"] for r in first["rows"]] == [12]  # the table of the finished cells
    assert "| drift | 12 | DiscreteBC | 4 | 1 |" in (out / "table.md").read_text()
    done = out / "cells" / "drift__12__bc__0.json"
    stamp = done.stat().st_mtime_ns

    (out / "runs" / "drift__6").unlink()
    lines.clear()
    second = run_study(spec, out, progress, ray_address="local", cpus_per_run=2, retries=1)
    assert second["failed"] == []
    assert lines[0].startswith("1 of 2 cells to run on Ray (2 CPU, 0 GPU each")
    assert done.stat().st_mtime_ns == stamp  # the finished cell was reused, not re-run
    for name in ("table.md", "table.csv", "scaling.png", "by_turn.png"):
        assert (out / name).stat().st_size > 0, name

    threads = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        local = run_study(spec, tmp_path / "local")
    finally:
        torch.set_num_threads(threads)
    assert local["failed"] == []
    assert _cells(out) == _cells(tmp_path / "local")
    assert second["rows"] == local["rows"]  # identical normalized scores, CIs, metrics
    assert (tmp_path / "local" / "table.md").read_text() == (out / "table.md").read_text()
