"""Minari datasets: build, load, d3rlpy conversion, verification and safe writing."""

from __future__ import annotations

import contextlib
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import gymnasium as gym
import h5py
import minari
import numpy as np
import pytest

from persona_gym import datasets as D
from persona_gym.cli import main
from persona_gym.envs import metric_names
from persona_gym.envs.variants import DESCRIPTOR_DIM
from persona_gym.evaluation import normalized_score
from persona_gym.judges.reader import READER_VERSION


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
    # free-text rewards are the reader's readings: text datasets record its version
    assert meta["persona_gym"].get("reader_version") == (READER_VERSION if "Text" in env_id
                                                          else None)
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
    assert result["dataset_id"] == "persona_gym/logs/fixture-v1" and result["episodes"] == 2
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
    assert info["persona_gym"]["reader_version"] == READER_VERSION
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
    info = D.dataset_info("persona_gym/logs/spc_valid-v1")
    assert tuple(info["metrics"]) == metric_names(D.LOG_ENV)  # scored by task v1's rules
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


# -- robustness: interrupts, kills, concurrent builds, bad files, huge builds (issue 11) -------

ENV = "persona_gym/OpenChat-v0"
MIXED_ID = "persona_gym/openchat/mixed-v0"
posix_only = pytest.mark.skipif(sys.platform != "linux", reason="signals, process groups and "
                                "/proc as on Linux")


def _start_build(root: Path, *, workers: int, episodes: int = 10**12,
                 extra: tuple[str, ...] = ()) -> subprocess.Popen:
    """``persona-gym datasets build`` in its own process group (a terminal's Ctrl-C reaches the
    whole group). 10**12 episodes: it is always still running when signalled."""
    env = {**os.environ, "MINARI_DATASETS_PATH": str(root)}
    cmd = [sys.executable, "-m", "persona_gym.cli", "datasets", "build", "--env", ENV,
           "--tier", "mixed", "--episodes", str(episodes), "--workers", str(workers),
           "--ignore-disk-check", *extra]
    return subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True)


def _wait_for_writing(root: Path, proc: subprocess.Popen, min_bytes: int = 0) -> Path:
    """The build's staging folder, once its HDF5 file exists (and holds ``min_bytes``)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        files = list((root / D.STAGING_DIR).glob("*/**/main_data.hdf5"))
        if files and files[0].stat().st_size >= min_bytes:
            return files[0].relative_to(root / D.STAGING_DIR).parents[-2]
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.01)
    proc.kill()
    raise AssertionError(f"the build wrote nothing in 60 s: {proc.communicate()}")


def _children(pid: int, count: int) -> list[int]:
    """The ``count`` child processes of ``pid`` (a build's workers), once they have started."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        kids = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            with contextlib.suppress(OSError, IndexError, ValueError):
                if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                    kids.append(int(stat.parent.name))
        if len(kids) >= count:
            return kids
        time.sleep(0.05)
    raise AssertionError(f"pid {pid} has {kids}, not {count} children")


def _group_gone(pgid: int, within: float = 5.0) -> bool:
    """Has every process of the group exited (a build's workers included)?"""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    os.killpg(pgid, signal.SIGKILL)
    return False


def _noise(stderr: str) -> list[str]:
    """Lines of a traceback or of an exception Python ignored (warnings, e.g. gymnasium's
    about an old env version, are not the build's to silence)."""
    return [line for line in stderr.splitlines()
            if line.startswith(("Traceback", "Exception ignored", "KeyboardInterrupt"))]


def _stop(proc: subprocess.Popen) -> tuple[float, str]:
    """Wait (at most 20 s) for ``proc``; returns (seconds waited, stderr)."""
    start = time.monotonic()
    try:
        _, err = proc.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        _, err = proc.communicate()
    return time.monotonic() - start, err.decode()


@posix_only
@pytest.mark.slow
def test_ctrl_c_always_stops_a_build(tmp_path: Path) -> None:
    """The fault hunt as a test: builds with and without workers get SIGINT at random moments,
    sent to the main process or to the whole process group (a terminal's Ctrl-C). On main, 8 of
    30 such builds hung until SIGKILL (Pool.terminate deadlocked on a lock a worker killed by
    SIGINT held; in the main process the KeyboardInterrupt was swallowed as "Exception ignored
    in ... WeakValueDictionary" and the build kept writing) and every one printed a traceback."""
    rng = random.Random(11)
    cases = [(target, workers) for target in ("pid", "group") for workers in (1, 2, 2)]
    for rep, (target, workers) in enumerate(cases + cases[1:3] + cases[4:6]):
        root = tmp_path / f"rep{rep}"
        proc = _start_build(root, workers=workers)
        _wait_for_writing(root, proc)
        time.sleep(rng.uniform(0.2, 2.0))
        (os.killpg if target == "group" else os.kill)(proc.pid, signal.SIGINT)
        seconds, err = _stop(proc)
        case = f"rep {rep}: SIGINT to {target}, {workers} worker(s): {err!r}"
        assert seconds < 5, case
        assert proc.returncode == 130, case
        assert err.strip().splitlines()[-1] == (
            "persona-gym datasets: interrupted by SIGINT; the partial build was removed and "
            "nothing was written"), case
        assert not _noise(err), case
        assert _group_gone(proc.pid), case  # no worker left behind
        assert not (root / D.STAGING_DIR).exists(), case
        assert not (root / MIXED_ID).exists(), case


@posix_only
def test_sigterm_stops_a_build_and_removes_its_staging(tmp_path: Path) -> None:
    proc = _start_build(tmp_path, workers=2)
    _wait_for_writing(tmp_path, proc, min_bytes=1)
    proc.terminate()
    seconds, err = _stop(proc)
    assert seconds < 5 and proc.returncode == 128 + signal.SIGTERM, err
    assert "interrupted by SIGTERM" in err.strip().splitlines()[-1] and not _noise(err)
    assert _group_gone(proc.pid)
    assert not (tmp_path / D.STAGING_DIR).exists()


@posix_only
def test_staging_of_a_killed_build_is_reported_and_removed(
        datasets_path: Path, capsys: pytest.CaptureFixture) -> None:
    """SIGKILL leaves the staging folder (nothing can run then); its workers die with it, the
    lock goes with it, `datasets list` reports the folder and the next build removes it."""
    proc = _start_build(datasets_path, workers=2)
    name = _wait_for_writing(datasets_path, proc, min_bytes=2_000_000)
    assert len(_children(proc.pid, 2)) == 2
    proc.kill()
    proc.communicate()
    assert _group_gone(proc.pid), "workers outlived their parent"
    staging = datasets_path / D.STAGING_DIR / name
    assert staging.is_dir() and str(proc.pid) in staging.name
    [found] = D.staging_folders()
    assert found.state == "stale" and found.pid == proc.pid and found.dataset_id == MIXED_ID
    assert main(["datasets", "list"]) == 0
    out = capsys.readouterr().out
    assert f"stale staging of {MIXED_ID} (pid {proc.pid} is gone" in out and str(staging) in out
    assert main(["datasets", "list", "--json"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out) == [] and "stale staging" in captured.err
    # the next build (another id, so the killed build's lock does not matter) cleans up
    D.build_dataset(ENV, "random", 2, workers=1)
    assert not staging.exists() and not (datasets_path / D.STAGING_DIR).exists()
    assert D.list_datasets() == ["persona_gym/openchat/random-v0"]


def test_staging_of_a_live_build_is_kept(datasets_path: Path) -> None:
    """A staging folder whose owner runs is a build in progress: reported, never removed. One
    without an owner record (left by an older persona_gym) is stale once untouched for an hour."""
    live = datasets_path / D.STAGING_DIR / f"{os.getpid()}-0123abcd"
    live.mkdir(parents=True)
    (live / "owner.json").write_text(json.dumps(D._owner_record(MIXED_ID)))
    legacy = datasets_path / D.STAGING_DIR / "9f0e4c2a1b3d4e5f9a8b7c6d5e4f3a2b"
    legacy.mkdir()
    (legacy / "main_data.hdf5").write_bytes(b"x" * 10)
    states = {s.path.name: s.state for s in D.staging_folders()}
    assert states == {live.name: "building", legacy.name: "unknown"}
    old = time.time() - D.LEGACY_STALE_SECONDS - 60
    os.utime(legacy / "main_data.hdf5", (old, old))
    assert [s.path for s in D.remove_stale_staging()] == [legacy]
    assert live.is_dir() and not legacy.exists()


@posix_only
def test_second_build_of_the_same_id_fails_at_once(
        datasets_path: Path, capsys: pytest.CaptureFixture) -> None:
    """On main both builds exited 0 and the later one silently replaced the other."""
    proc = _start_build(datasets_path, workers=1)
    try:
        _wait_for_writing(datasets_path, proc)
        for force in (False, True):
            start = time.monotonic()
            with pytest.raises(D.DatasetError) as err:
                D.build_dataset(ENV, "mixed", 3, workers=1, force=force)
            assert time.monotonic() - start < 2
            message = str(err.value)
            assert f"being built right now by pid {proc.pid}" in message
            assert f"kill {proc.pid}" in message and "--force replaces a finished dataset, " \
                "never a build in progress" in message
        argv = ["datasets", "build", "--env", ENV, "--tier", "mixed", "--episodes", "3",
                "--workers", "1", "--force"]
        assert main(argv) == 2
        assert f"pid {proc.pid}" in capsys.readouterr().err
        # another id builds meanwhile
        assert D.build_dataset(ENV, "expert", 2, workers=1) == "persona_gym/openchat/expert-v0"
        assert not (datasets_path / MIXED_ID).exists()
    finally:
        proc.send_signal(signal.SIGINT)
        _stop(proc)
    assert proc.returncode == 130
    # the lock went with the build: the id builds now
    assert D.build_dataset(ENV, "mixed", 3, workers=1) == MIXED_ID
    assert not (datasets_path / D.STAGING_DIR).exists()


@posix_only
def test_a_dead_worker_stops_the_build(tmp_path: Path) -> None:
    """A worker killed by the kernel (e.g. out of memory) is named, not waited for: on main the
    pool replaced it and the build waited forever for the lost chunk."""
    proc = _start_build(tmp_path, workers=2)
    _wait_for_writing(tmp_path, proc, min_bytes=1)
    worker = _children(proc.pid, 2)[0]
    os.kill(worker, signal.SIGKILL)
    seconds, err = _stop(proc)
    assert seconds < 5 and proc.returncode == 2, err
    assert f"generation worker (pid {worker}) died with exit code -9" in err
    assert not _noise(err)
    assert _group_gone(proc.pid) and not (tmp_path / D.STAGING_DIR).exists()


def test_size_estimate_matches_the_build() -> None:
    need, per_step = D.estimate_bytes(ENV, "mixed", 30)
    ds_id = D.build_dataset(ENV, "mixed", 30, workers=1)
    on_disk = sum(f.stat().st_size for f in (D.datasets_root() / ds_id).rglob("*")
                  if f.is_file())
    assert need == pytest.approx(on_disk, rel=0.05)
    assert per_step == pytest.approx(on_disk / minari.load_dataset(ds_id).total_steps, rel=0.05)


class _Started(Exception):
    """Raised by a progress callback: the build began writing."""


def _refuse_to_start(n: int) -> None:
    raise _Started


def test_a_build_larger_than_the_free_disk_is_refused(
        datasets_path: Path, capsys: pytest.CaptureFixture) -> None:
    """On main, --episodes 100000000 (about 8 TB at 7 KB per transition) started writing with
    no estimate. Here: twice what the free disk holds, whatever its size."""
    need, per_step = D.estimate_bytes(ENV, "mixed", 10**8)
    assert 5e12 < need < 1.2e13 and 5_000 < per_step < 10_000  # the "about 8 TB"
    datasets_path.mkdir()
    free = shutil.disk_usage(datasets_path).free
    episodes = int(2 * free / (per_step * 12)) + 1000
    start = time.monotonic()
    with pytest.raises(D.DatasetError) as err:
        D.build_dataset(ENV, "mixed", episodes, workers=1, progress=_refuse_to_start)
    assert time.monotonic() - start < 5
    message = str(err.value)
    assert f"{episodes:,} episodes of persona_gym/openchat/mixed-v0 need about" in message
    assert re.search(r"need about [\d.]+ [KMGTP]B on disk \([\d,]+ bytes per transition, "
                     r"measured on the first episodes\) but only [\d.]+ [KMGTP]B are free",
                     message), message
    assert "--ignore-disk-check" in message and "MINARI_DATASETS_PATH" in message
    assert main(["datasets", "build", "--env", ENV, "--tier", "random", "--episodes",
                 str(episodes)]) == 2
    assert "need about" in capsys.readouterr().err
    assert D.list_datasets() == [] and not (datasets_path / D.STAGING_DIR).exists()


def test_huge_builds_stream_their_tasks(datasets_path: Path) -> None:
    """10**12 episodes with the disk check off: the tasks are made as needed (on main, a list
    of 2 * 10**10 tasks was built first: MemoryError). Stopped after the first chunk."""
    written = []

    def stop_after_first_chunk(n: int) -> None:
        written.append(n)
        raise KeyboardInterrupt

    for workers in (1, 2):
        with pytest.raises(KeyboardInterrupt):
            D.build_dataset(ENV, "mixed", 10**12, workers=workers, ignore_disk_check=True,
                            progress=stop_after_first_chunk)
    assert written == [50, 50]
    assert D.list_datasets() == [] and not (datasets_path / D.STAGING_DIR).exists()


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One small mixed build, copied into each tampering test."""
    root = tmp_path_factory.mktemp("pristine")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MINARI_DATASETS_PATH", str(root))
        D.build_dataset(ENV, "mixed", 4, workers=1)
    return root


def _scores_inf(fh: h5py.File) -> None:
    fh["episode_1"]["infos"]["scores"][3, 0] = np.inf


def _flip(field: str) -> Callable[[h5py.File], None]:
    def flip(fh: h5py.File) -> None:
        fh["episode_2"][field][...] = ~fh["episode_2"][field][()]
    return flip


def _set_attr(name: str, value: object) -> Callable[[h5py.File], None]:
    def set_attr(fh: h5py.File) -> None:
        fh["episode_2"].attrs[name] = value
    return set_attr


def _del_seed(fh: h5py.File) -> None:
    del fh["episode_3"].attrs["seed"]


@pytest.mark.parametrize(("tamper", "expected"), [
    (_scores_inf, "episode 1 (seed 1, policy drift): infos/scores differ from the env's "
                  "replay at step 3"),
    (_flip("terminations"), "episode 2 (seed 2, policy expert): terminations differ from the "
                            "env's replay at step 0"),
    (_flip("truncations"), "episode 2 (seed 2, policy expert): truncations differ"),
    (_set_attr("policy", 99), "episode 2: attribute policy=99 is not a policy code (0 random, "
                              "1 parrot, 2 assistant, 3 drift, 4 expert); a mixed build logs "
                              "episode 2 with 4 (expert)"),
    (_set_attr("policy", 0), "episode 2: attribute policy=0 (random); a mixed build logs "
                             "episode 2 with 4 (expert)"),
    (_del_seed, "episode 3: attribute seed is missing (a build writes 3)"),
    (_set_attr("seed", "two"), "episode 2: attribute seed='two' is not an integer"),
    (_set_attr("total_steps", 13), "episode 2: attribute total_steps=13, a build writes 12"),
], ids=["scores-inf", "terminations", "truncations", "policy-99", "policy-wrong",
        "seed-missing", "seed-text", "total-steps"])
def test_verify_checks_every_stored_field(
        tamper: Callable[[h5py.File], None], expected: str, pristine: Path, datasets_path: Path,
        capsys: pytest.CaptureFixture) -> None:
    """On main, verify passed the first three and raised IndexError / TypeError on the
    attributes."""
    shutil.copytree(pristine, datasets_path)
    assert D.verify_dataset(MIXED_ID) is None
    with h5py.File(datasets_path / MIXED_ID / "data" / "main_data.hdf5", "a") as fh:
        tamper(fh)
    message = D.verify_dataset(MIXED_ID)
    assert message is not None and "\n" not in message
    assert message.startswith(f"{MIXED_ID}: {expected}")
    assert message.endswith("rebuild it with `persona-gym datasets build ... --force`")
    assert main(["datasets", "verify", MIXED_ID]) == 1
    captured = capsys.readouterr()
    assert captured.out.startswith("MISMATCH") and "Traceback" not in captured.err


def test_unwritable_datasets_folder_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                             capsys: pytest.CaptureFixture) -> None:
    """On main: a NotADirectoryError traceback."""
    (tmp_path / "afile").write_text("")
    monkeypatch.setenv("MINARI_DATASETS_PATH", str(tmp_path / "afile" / "minari"))
    assert main(["datasets", "build", "--env", ENV, "--tier", "random", "--episodes", "2",
                 "--workers", "1"]) == 2
    err = capsys.readouterr().err
    assert "cannot write under" in err and "MINARI_DATASETS_PATH" in err


def test_build_refuses_a_negative_seed(capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["datasets", "build", "--env", "persona_gym/OpenChat-v1", "--tier", "random",
              "--episodes", "2", "--seed", "-5"])
    assert exc.value.code == 2
    assert "seed must be >= 0, got -5" in capsys.readouterr().err
