"""Minari datasets of logged conversations, and their correct conversion to d3rlpy.

Dataset ids mirror env ids (DESIGN.md §8)::

    persona_gym/OpenChat-v1            -> persona_gym/openchat/{tier}-v1
    persona_gym/OpenChatContinuous-v1  -> persona_gym/openchat-continuous/{tier}-v1
    persona_gym/OpenChatText-v1        -> persona_gym/openchat-text/{tier}-v1

Tiers (:data:`TIERS`) name the behaviour policy that logged the conversations; conversations use
**train** personas, and the dataset's eval env is the same id on **test** personas. Episode ``i``
of a build with seed ``s`` is the env reset with seed ``s + i`` and the behaviour policy given
``numpy.random.default_rng([s + i, 1])`` (the evaluation protocol's seeding), so
:func:`verify_dataset` can replay every episode from its stored seed bit for bit.

Each step's ``infos`` holds ``scores`` (p2l, l2l, qa, relevance, repetition, contradiction;
``qa`` is NaN where undefined); each episode's metadata (``dataset.storage.get_episode_metadata``)
holds its ``seed`` and ``policy`` (an index into :data:`POLICY_CODES`).

Writes are safe (docs/datasets.md): a dataset is built in a staging folder with an owner record
on the same filesystem and moved into place only when complete; an existing id is never
replaced without ``force``, and a build in progress never (a lock makes a second build of the id
fail at once, naming the first one's pid); every episode is checked against the spaces before it
is written (Minari only warns); episodes are generated and written in chunks, so memory does not
grow with the number of episodes; a build larger than the free disk is refused. Ctrl-C or
SIGTERM stop a build within a chunk (:class:`BuildInterrupted`) and remove its staging; staging
left by a killed build is stale once its owner is gone, reported by :func:`staging_folders` and
removed by the next build.

Generation runs in-process, in worker processes (``workers``) or as Ray tasks
(``ray_address``, the optional extra ``persona-gym[ray]``; docs/scale.md): the same chunk
function and the same writer, so the dataset is the same, field for field, either way.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import multiprocessing as mp
import os
import pickle
import re
import shutil
import signal
import socket
import subprocess
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np

import persona_gym
from persona_gym.envs import card_of, metric_names, reader_version
from persona_gym.evaluation import env_entry
from persona_gym.output import replace_folder
from persona_gym.policies import POLICIES, ReferencePolicy, make_policy

TIERS = ("random", "drift", "expert", "mixed")
TIER_DESCRIPTIONS = {
    "random": "every conversation logged by the random policy (uniform over the K candidates)",
    "drift": "every conversation logged by the drift policy: consistent early, slipping more "
    "as the conversation goes on and right after emotional or meta turns (an LLM-like agent)",
    "expert": "every conversation logged by the expert (always the consistent in-character "
    "reply)",
    "mixed": "conversations logged in turn by the random, drift and expert policies (one third "
    "each, episode i by policy i mod 3)",
}
MIXED = ("random", "drift", "expert")
POLICY_CODES = tuple(POLICIES)
"""Episode metadata ``policy`` indexes this tuple (random, parrot, assistant, drift, expert)."""

AUTHOR = "persona_gym developers"


class DatasetError(RuntimeError):
    """A dataset cannot be built, read or verified; the message names it and the fix."""


# -- ids ---------------------------------------------------------------------------------------


def dataset_id(env_id: str, tier: str) -> str:
    """The Minari id of ``tier`` logged on ``env_id`` (see the module docstring)."""
    if tier not in TIERS:
        raise ValueError(f"unknown tier {tier!r}; choose from {', '.join(TIERS)}")
    entry = env_entry(env_id)
    name, version = env_id.split("/", 1)[1].rsplit("-v", 1)
    suffix = {"continuous": "Continuous", "text": "Text"}.get(entry.variant, "")
    if suffix and name.endswith(suffix):
        name = name[: -len(suffix)]
    variant = "" if entry.variant == "discrete" else f"-{entry.variant}"
    return f"persona_gym/{name.lower()}{variant}/{tier}-v{version}"


def datasets_root() -> Path:
    """Minari's dataset folder (``$MINARI_DATASETS_PATH`` or ``~/.minari/datasets``)."""
    root = os.environ.get("MINARI_DATASETS_PATH")
    return Path(root) if root else Path.home() / ".minari" / "datasets"


# -- episodes ----------------------------------------------------------------------------------


def _stack(values: list[Any]) -> Any:
    """Per-step values as Minari stores them: arrays for Box/Discrete, dicts of lists for
    Dict-of-Text observations, lists of strings for Text."""
    first = values[0]
    if isinstance(first, dict):
        return {k: [v[k] for v in values] for k in first}
    if isinstance(first, str):
        return list(values)
    return np.asarray(values)


def run_logged_episode(
    env: gym.Env, policy: ReferencePolicy, seed: int
) -> dict[str, Any]:
    """One episode of ``policy`` on ``env``, as the arrays a dataset stores."""
    base = env.unwrapped  # our own env: its checks are the wrappers' checks
    # the policy reads the turn, not the observation: build the observations together at the end
    with base.encoder.deferred():
        obs, _ = base.reset(seed=seed)
        policy.reset(np.random.default_rng([seed, 1]))
        observations, actions, rewards = [obs], [], []
        while True:
            action = base.action_for(policy.act(base.turn_view()))
            obs, reward, terminated, truncated, _ = base.step(action)
            observations.append(obs)
            actions.append(action)
            rewards.append(float(reward))
            if terminated or truncated:
                break
    n = len(rewards)
    return {
        "seed": seed,
        "policy": POLICY_CODES.index(policy.name),
        "observations": _stack(observations),
        "actions": _stack(actions),
        "rewards": np.asarray(rewards, dtype=np.float64),
        "terminations": np.asarray([False] * (n - 1) + [bool(terminated)]),
        "truncations": np.asarray([False] * (n - 1) + [bool(truncated)]),
        # the fields of the version's LineScores (metric_names), in order; NaN where undefined
        "infos": {"scores": np.asarray([e.scores for e in base.transcript], dtype=np.float32)},
    }


def behaviour_policy(tier: str, index: int) -> str:
    """The policy that logs episode ``index`` of a ``tier`` dataset."""
    return MIXED[index % 3] if tier == "mixed" else tier


def _check_spaces(episode: dict[str, Any], obs_space: gym.Space, act_space: gym.Space,
                  where: str) -> None:
    """Reject an episode whose data is outside the spaces (Minari would only warn)."""

    def check(space: gym.Space, data: Any, what: str) -> None:
        if isinstance(space, gym.spaces.Box):
            arr = np.asarray(data)
            ok = (arr.dtype == space.dtype and arr.shape[1:] == space.shape
                  and np.all(arr >= space.low) and np.all(arr <= space.high))
        elif isinstance(space, gym.spaces.Discrete):
            arr = np.asarray(data)
            ok = (np.issubdtype(arr.dtype, np.integer) and np.all(arr >= space.start)
                  and np.all(arr < space.start + space.n))
        elif isinstance(space, gym.spaces.Dict):
            for key, sub in space.spaces.items():
                check(sub, data[key], f"{what}[{key!r}]")
            return
        else:
            ok = all(space.contains(x) for x in data)
        if not ok:
            raise DatasetError(f"{where}: {what} fall outside {space}; nothing was written")

    check(obs_space, episode["observations"], "observations")
    check(act_space, episode["actions"], "actions")


class _EpisodeWriter:
    """Writes episodes into an open Minari HDF5 file in Minari's own layout (one group per
    episode; ``id``, ``seed``, ``total_steps`` and ``policy`` attributes; one dataset per field,
    groups for dict fields, UTF-8 string datasets for text).

    It talks to HDF5's low-level API: Minari's writer makes every field a chunked, resizable
    dataset (about 1 ms per episode) and h5py's high-level calls spend more time in Python than
    HDF5 spends creating the objects; episodes here are written once, so contiguous datasets
    created directly do.
    """

    def __init__(self, fh: Any) -> None:
        import h5py
        from h5py import h5a, h5d, h5g, h5p, h5s, h5t

        self.fh = fh
        self._h5py, self._h5a, self._h5d, self._h5g, self._h5s = h5py, h5a, h5d, h5g, h5s
        self._gcpl = h5p.create(h5p.GROUP_CREATE)  # as h5py's track_order=True
        self._gcpl.set_link_creation_order(h5p.CRT_ORDER_TRACKED | h5p.CRT_ORDER_INDEXED)
        self._scalar = h5s.create(h5s.SCALAR)
        self._types: dict[np.dtype, Any] = {}
        self._spaces: dict[tuple[int, ...], Any] = {}
        self._py_create = h5t.py_create

    def _type(self, dtype: np.dtype) -> Any:
        tid = self._types.get(dtype)
        if tid is None:
            tid = self._types[dtype] = self._py_create(dtype, logical=True)
        return tid

    def _group(self, parent: Any, name: str) -> Any:
        return self._h5g.create(parent, name.encode(), gcpl=self._gcpl)

    def _attr(self, gid: Any, name: str, value: int) -> None:
        arr = np.asarray(value, dtype=np.int64)
        tid = self._type(arr.dtype)
        self._h5a.create(gid, name.encode(), tid, self._scalar).write(arr, tid)

    def _put(self, gid: Any, key: str, data: Any) -> None:
        if isinstance(data, dict):
            sub = self._group(gid, key)
            for k, v in data.items():
                self._put(sub, k, v)
        elif isinstance(data, list) and data and isinstance(data[0], str):
            h5py = self._h5py
            h5py.Group(gid).create_dataset(
                key, data=data, dtype=h5py.string_dtype(encoding="utf-8"))
        else:
            arr = np.ascontiguousarray(data)
            space = self._spaces.get(arr.shape)
            if space is None:
                space = self._spaces[arr.shape] = self._h5s.create_simple(arr.shape)
            tid = self._type(arr.dtype)  # also the memory type: h5py would make a new one
            all_ = self._h5s.ALL
            self._h5d.create(gid, key.encode(), tid, space).write(all_, all_, arr, tid)

    def episode(self, index: int, ep: dict[str, Any]) -> int:
        """Write ``ep`` as ``episode_{index}``; returns its number of steps."""
        gid = self._group(self.fh.id, f"episode_{index}")
        steps = len(ep["rewards"])
        self._attr(gid, "id", index)
        if ep.get("seed") is not None:
            self._attr(gid, "seed", ep["seed"])
        self._attr(gid, "total_steps", steps)
        if ep.get("policy") is not None:
            self._attr(gid, "policy", ep["policy"])
        for key in ("observations", "actions", "rewards", "terminations", "truncations",
                    "infos"):
            self._put(gid, key, ep[key])
        return steps


def _append_episodes(storage: Any, episodes: list[dict[str, Any]]) -> None:
    """Append episodes to a Minari HDF5 storage (see :class:`_EpisodeWriter`)."""
    import h5py

    path = Path(storage.data_path) / "main_data.hdf5"
    with h5py.File(path, "a", track_order=True) as fh:
        first = len(fh)
        writer = _EpisodeWriter(fh)
        steps = sum(writer.episode(i, ep) for i, ep in enumerate(episodes, first))
        total = len(fh)
    storage.update_metadata({"total_episodes": total,
                             "total_steps": int(storage.total_steps) + steps})


# -- interrupts, locks and staging -------------------------------------------------------------

STAGING_DIR = ".persona_gym_tmp"
"""Under the datasets root: one staging folder per build in progress, and one lock file per
dataset id being written."""

LEGACY_STALE_SECONDS = 3600
"""A staging folder without an owner record (left by a persona_gym older than owner records)
counts as stale once no file in it has changed for this long (a live build writes every chunk)."""


class BuildInterrupted(KeyboardInterrupt):
    """A build stopped by SIGINT (Ctrl-C) or SIGTERM; its staging folder was removed and
    nothing was written. A ``KeyboardInterrupt``, so callers that stop on Ctrl-C still do."""

    def __init__(self, signum: int) -> None:
        self.signum = signum
        super().__init__(f"interrupted by {signal.Signals(signum).name}; the partial build was "
                         "removed and nothing was written")


class _Stop:
    """While a build runs (in the main thread), SIGINT and SIGTERM only record themselves; the
    build checks at safe points (between episodes and chunks, and while it waits for workers)
    and raises :class:`BuildInterrupted` there.

    Python's own Ctrl-C handling raises ``KeyboardInterrupt`` between any two bytecodes: when
    that lands in a weakref callback (h5py's and multiprocessing's object registries use them),
    Python prints "Exception ignored in ... KeyboardInterrupt" and the build carries on writing.
    A recorded signal cannot be lost that way."""

    signum: ClassVar[int | None] = None
    owner: ClassVar[int] = 0  # pid whose handlers these are (forked workers inherit them)
    depth: ClassVar[int] = 0
    previous: ClassVar[dict[int, Any]] = {}

    @staticmethod
    def handler(signum: int, frame: Any) -> None:
        if os.getpid() != _Stop.owner:  # a forked worker, before it set its own handlers
            if signum == signal.SIGTERM:
                os._exit(128 + signum)
            return
        if _Stop.signum is None:
            _Stop.signum = signum


@contextlib.contextmanager
def _stop_signals() -> Iterator[None]:
    """Install the :class:`_Stop` handlers for SIGINT and SIGTERM (nested uses share them; in a
    thread other than the main one nothing is installed: Python allows handlers only there)."""
    main = threading.current_thread() is threading.main_thread()
    if main and _Stop.depth == 0:
        _Stop.signum, _Stop.owner = None, os.getpid()
        _Stop.previous = {s: signal.signal(s, _Stop.handler)
                          for s in (signal.SIGINT, signal.SIGTERM)}
    _Stop.depth += main
    try:
        yield
    finally:
        _Stop.depth -= main
        if main and _Stop.depth == 0:
            for s, old in _Stop.previous.items():
                signal.signal(s, old)
            # a signal that came after the last check (the dataset was complete) is dropped
            _Stop.signum = None


def _check_stop() -> None:
    """Raise :class:`BuildInterrupted` if SIGINT or SIGTERM arrived during the build."""
    if _Stop.signum is not None and os.getpid() == _Stop.owner:
        raise BuildInterrupted(_Stop.signum)


def _process_start(pid: int) -> int | None:
    """The process's start time in clock ticks since boot (Linux), to tell a reused pid apart."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return int(stat.rsplit(")", 1)[1].split()[19])
    except (OSError, ValueError, IndexError):
        return None


def _owner_record(ds_id: str) -> dict[str, Any]:
    pid = os.getpid()
    return {"pid": pid, "host": socket.gethostname(), "process_start": _process_start(pid),
            "dataset_id": ds_id, "started": time.strftime("%Y-%m-%d %H:%M:%S")}


def _owner_alive(record: dict[str, Any]) -> bool | None:
    """Is the process that wrote ``record`` still running? ``None``: another host's, unknown."""
    if record.get("host") not in (None, socket.gethostname()):
        return None
    pid = record.get("pid")
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # another user's process: alive
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        if state in ("Z", "X"):  # exited, not yet reaped
            return False
    except (OSError, IndexError):
        pass
    start = record.get("process_start")
    return start is None or _process_start(pid) in (None, start)


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        record = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None


_HELD_LOCKS: dict[str, tuple[int, int]] = {}
"""Dataset id -> (lock file descriptor, holding thread id) for the locks this process holds."""


def _lock_path(ds_id: str) -> Path:
    return datasets_root() / STAGING_DIR / (ds_id.replace("/", "__") + ".lock")


@contextlib.contextmanager
def _build_lock(ds_id: str) -> Iterator[None]:
    """Hold the lock of ``ds_id`` for a build: a second build of the same id (another process
    or thread) fails at once with the holder's pid. The kernel drops the lock when its process
    dies, even by SIGKILL. Reentrant within one thread. No lock where ``fcntl`` is missing."""
    try:
        import fcntl
    except ImportError:  # not POSIX
        yield
        with contextlib.suppress(OSError):
            (datasets_root() / STAGING_DIR).rmdir()
        return
    held = _HELD_LOCKS.get(ds_id)
    if held is not None and held[1] == threading.get_ident():
        yield
        return
    path = _lock_path(ds_id)
    while True:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise DatasetError(
                f"cannot write under {datasets_root()} ({exc.strerror}: {exc.filename}); point "
                "MINARI_DATASETS_PATH at a folder you can write"
            ) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise DatasetError(_busy_message(ds_id, path)) from None
        try:  # the holder before us may have removed the file: lock the one at the path
            if os.fstat(fd).st_ino == os.stat(path).st_ino:
                break
        except FileNotFoundError:
            pass
        os.close(fd)
    os.ftruncate(fd, 0)
    os.write(fd, json.dumps(_owner_record(ds_id)).encode())
    _HELD_LOCKS[ds_id] = (fd, threading.get_ident())
    try:
        yield
    finally:
        del _HELD_LOCKS[ds_id]
        with contextlib.suppress(OSError):
            path.unlink()  # while still holding it (see the inode check above)
        os.close(fd)
        with contextlib.suppress(OSError):
            path.parent.rmdir()  # when no other build or staging is left


def _busy_message(ds_id: str, path: Path) -> str:
    record = None
    for _ in range(20):  # the holder writes its record right after taking the lock
        record = _read_json(path)
        if record:
            break
        time.sleep(0.05)
    who = (f"pid {record.get('pid')} on {record.get('host')} (started {record.get('started')})"
           if record else "another process (its record is unreadable)")
    pid = record.get("pid") if record else "PID"
    return (f"dataset {ds_id} is being built right now by {who}; two builds of one id would "
            f"overwrite each other, so this one stops. Wait for that build to finish, or stop "
            f"it (kill {pid}), then run again. --force replaces a finished dataset, never a "
            f"build in progress (lock file {path})")


_STAGING_NAME = re.compile(r"^(\d+)-[0-9a-f]+$")


@dataclasses.dataclass(frozen=True)
class Staging:
    """A folder under ``{datasets root}/.persona_gym_tmp/``: a build in progress or the
    remains of one that was killed."""

    path: Path
    dataset_id: str | None
    pid: int | None
    state: str
    """``building`` (its owner runs), ``stale`` (its owner is gone: the next build removes it)
    or ``unknown`` (owned by a process on another host, or recently touched without a record)."""
    bytes: int

    def describe(self) -> str:
        what = self.dataset_id or "unknown dataset"
        owner = f"pid {self.pid}" if self.pid is not None else "no owner record"
        size = _human_bytes(self.bytes)
        if self.state == "building":
            return f"building {what} ({owner}, {size} so far): {self.path}"
        if self.state == "stale":
            return (f"stale staging of {what} ({owner} is gone, {size}): {self.path}; the next "
                    f"`persona-gym datasets build` removes it (or: rm -rf {self.path})")
        return (f"staging of {what} ({owner}, {size}) whose owner cannot be checked from this "
                f"host: {self.path}; remove it by hand once no build uses it")


def _human_bytes(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB", "PB"):
        if n < 1000 or unit == "PB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    raise AssertionError  # unreachable


def staging_folders() -> list[Staging]:
    """Every staging folder under the datasets root, with whether its build still runs."""
    tmp = datasets_root() / STAGING_DIR
    if not tmp.is_dir():
        return []
    found = []
    for path in sorted(p for p in tmp.iterdir() if p.is_dir()):
        files = [f for f in path.rglob("*") if f.is_file()]
        size = sum(f.stat().st_size for f in files)
        record = _read_json(path / "owner.json")
        named = _STAGING_NAME.match(path.name)
        if record is None and named:  # created, record not written yet (or lost)
            record = {"pid": int(named.group(1))}
        if record is not None:
            alive = _owner_alive(record)
            state = {True: "building", False: "stale", None: "unknown"}[alive]
            pid = record.get("pid") if isinstance(record.get("pid"), int) else None
            found.append(Staging(path, record.get("dataset_id"), pid, state, size))
        else:
            newest = max((f.stat().st_mtime for f in files), default=path.stat().st_mtime)
            quiet = time.time() - newest > LEGACY_STALE_SECONDS
            found.append(Staging(path, None, None, "stale" if quiet else "unknown", size))
    return found


def remove_stale_staging() -> list[Staging]:
    """Remove the staging folders whose build is gone (and lock files nobody holds); returns
    what was removed."""
    removed = [s for s in staging_folders() if s.state == "stale"]
    for s in removed:
        shutil.rmtree(s.path, ignore_errors=True)
    tmp = datasets_root() / STAGING_DIR
    try:
        import fcntl
    except ImportError:
        return removed
    for path in tmp.glob("*.lock") if tmp.is_dir() else ():
        try:
            fd = os.open(path, os.O_RDWR)
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            if os.fstat(fd).st_ino == os.stat(path).st_ino:
                path.unlink()
        except OSError:
            pass  # held: a build runs (or the file went away)
        finally:
            os.close(fd)
    with contextlib.suppress(OSError):
        tmp.rmdir()
    return removed


def _new_staging(ds_id: str) -> Path:
    staging = datasets_root() / STAGING_DIR / f"{os.getpid()}-{uuid.uuid4().hex[:16]}"
    staging.mkdir(parents=True)
    (staging / "owner.json").write_text(json.dumps(_owner_record(ds_id)))
    return staging


# -- safe writing ------------------------------------------------------------------------------


@contextlib.contextmanager
def _datasets_path(path: Path) -> Iterator[None]:
    old = os.environ.get("MINARI_DATASETS_PATH")
    os.environ["MINARI_DATASETS_PATH"] = str(path)
    try:
        yield
    finally:
        if old is None:
            del os.environ["MINARI_DATASETS_PATH"]
        else:
            os.environ["MINARI_DATASETS_PATH"] = old


def _code_permalink() -> str:
    here = Path(__file__).resolve().parent
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=here, capture_output=True,
                                text=True, timeout=5, check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        commit = "unknown"
    return f"persona_gym {persona_gym.__version__} (git {commit}), persona_gym/datasets.py"


def write_dataset(
    ds_id: str,
    episodes: Iterable[list[dict[str, Any]]],
    *,
    env: gym.Env,
    eval_env: Any,
    ref_min_score: float,
    ref_max_score: float,
    description: str,
    algorithm_name: str,
    extra_metadata: dict[str, Any],
    force: bool = False,
    progress: Callable[[int], None] | None = None,
) -> Path:
    """Write chunks of episodes (lists of dicts as :func:`run_logged_episode` returns) as the
    Minari dataset ``ds_id``: staged in a folder of its own under ``.persona_gym_tmp/`` (with
    an owner record) and moved into place when complete, under the id's lock. SIGINT or SIGTERM
    stops it at the next chunk with :class:`BuildInterrupted`; stale staging of killed builds
    is removed first. Returns the dataset's folder. ``episodes`` is closed when this returns or
    fails (a generator's workers stop)."""
    try:
        with _stop_signals(), _build_lock(ds_id):
            return _write_locked(ds_id, episodes, env=env, eval_env=eval_env,
                                 ref_min_score=ref_min_score, ref_max_score=ref_max_score,
                                 description=description, algorithm_name=algorithm_name,
                                 extra_metadata=extra_metadata, force=force, progress=progress)
    finally:
        close = getattr(episodes, "close", None)
        if close is not None:
            close()


def _write_locked(ds_id: str, episodes: Iterable[list[dict[str, Any]]], *, env: gym.Env,
                  eval_env: Any, ref_min_score: float, ref_max_score: float, description: str,
                  algorithm_name: str, extra_metadata: dict[str, Any], force: bool,
                  progress: Callable[[int], None] | None) -> Path:
    import warnings

    import minari
    from minari.namespace import create_namespace, list_local_namespaces

    root = datasets_root()
    final = root / ds_id
    if final.exists() and not force:
        raise DatasetError(
            f"dataset {ds_id} already exists at {final}; pass --force (force=True) to replace it"
        )
    remove_stale_staging()
    staging = _new_staging(ds_id)
    try:
        with _datasets_path(staging), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Minari warns about optional metadata we skip
            dataset = minari.create_dataset_from_buffers(
                dataset_id=ds_id,
                buffer=[],
                env=env,
                eval_env=eval_env,
                algorithm_name=algorithm_name,
                author={AUTHOR},
                code_permalink=_code_permalink(),
                ref_min_score=ref_min_score,
                ref_max_score=ref_max_score,
                description=description,
                data_format="hdf5",
                requirements=[f"persona-gym=={persona_gym.__version__}", "gymnasium==1.0.0"],
            )
            count = 0
            for chunk in episodes:
                _check_stop()
                for ep in chunk:
                    _check_spaces(ep, env.observation_space, env.action_space,
                                  f"{ds_id} episode {count}")
                    count += 1
                _append_episodes(dataset.storage, chunk)
                if progress:
                    progress(len(chunk))
                _check_stop()
            if not count:
                raise DatasetError(f"{ds_id}: no episodes to write")
            dataset.storage.update_metadata(
                {**extra_metadata, "dataset_size": dataset.storage.get_size()}
            )
        _check_stop()  # the last point where an interrupt discards the build
        namespace = ds_id.rsplit("/", 1)[0]
        with _datasets_path(root):
            if namespace not in list_local_namespaces():
                create_namespace(namespace)
        final.parent.mkdir(parents=True, exist_ok=True)
        # force: an existing copy is swapped into the staging folder (removed with it)
        replace_folder(staging / ds_id, final, aside=staging / "replaced")
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return final


# -- build -------------------------------------------------------------------------------------


def _eval_spec(env_id: str) -> Any:
    spec = gym.spec(env_id)
    return dataclasses.replace(spec, kwargs={**spec.kwargs, "split": "test"})


_WORKER_STATE: dict[tuple[str, str], tuple[gym.Env, dict[str, ReferencePolicy]]] = {}

Task = tuple[str, str, int, int, int]
"""(env_id, tier, seed, start, stop): episodes ``start .. stop - 1`` of a build."""


def _generate_chunk(task: Task) -> list[dict[str, Any]]:
    """Episodes ``start .. stop - 1`` of a build (runs in a worker process or in-process)."""
    env_id, tier, seed, start, stop = task
    if (env_id, tier) not in _WORKER_STATE:
        names = set(MIXED) if tier == "mixed" else {tier}
        _WORKER_STATE[env_id, tier] = (gym.make(env_id, split="train"),
                                       {n: make_policy(n) for n in names})
    env, policies = _WORKER_STATE[env_id, tier]
    chunk = []
    for i in range(start, stop):
        _check_stop()
        chunk.append(run_logged_episode(env, policies[behaviour_policy(tier, i)], seed + i))
    return chunk


def _tasks(env_id: str, tier: str, episodes: int, seed: int, chunk: int) -> Iterator[Task]:
    """The build's chunks, made as they are needed (10**12 episodes take no memory)."""
    for start in range(0, episodes, chunk):
        yield (env_id, tier, seed, start, min(start + chunk, episodes))


def _generate(env_id: str, tier: str, episodes: int, seed: int, workers: int,
              chunk: int, on_ray: bool = False) -> Iterator[list[dict[str, Any]]]:
    """Chunks of logged episodes, in order; with ``workers > 1`` generated by worker processes
    with at most ``2 * workers`` chunks in flight (memory stays flat). ``on_ray``: the chunks
    are Ray tasks of the connected Ray session instead (the same bound; :mod:`distributed`)."""
    tasks = _tasks(env_id, tier, episodes, seed, chunk)
    if on_ray:
        from persona_gym import distributed

        try:
            yield from distributed.ordered_map(_generate_chunk, tasks, workers, _check_stop)
        except distributed.TaskLost as exc:
            raise DatasetError(f"a generation task was lost on Ray ({exc}); nothing was "
                               "written. Run again") from None
        return
    if workers <= 1 or episodes <= chunk:
        for task in tasks:
            yield _generate_chunk(task)
        return
    yield from _worker_pool(tasks, workers)


def _worker_main(conn: Any, parent: int) -> None:
    """A generation worker: answers each task from ``conn`` with ``(True, chunk)`` or
    ``(False, exception)``, in order, until the pipe closes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C to the process group: the parent's
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # how the parent stops a worker
    with contextlib.suppress(Exception):  # Linux: die with the parent, even after its SIGKILL
        import ctypes

        ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    if os.getppid() != parent:
        os._exit(1)
    for fd, _ in list(_HELD_LOCKS.values()):  # forked copies: a dead build's lock must go
        with contextlib.suppress(OSError):
            os.close(fd)
    _HELD_LOCKS.clear()
    while True:
        try:
            task = conn.recv()
        except (EOFError, OSError):
            return
        try:
            reply: tuple[bool, Any] = (True, _generate_chunk(task))
        except Exception as exc:  # sent to the parent, which raises it
            reply = (False, exc)
        try:
            conn.send(reply)
        except (pickle.PicklingError, TypeError, AttributeError):
            conn.send((False, RuntimeError(f"{type(reply[1]).__name__}: {reply[1]}")))
        except (BrokenPipeError, OSError):
            return


def _worker_pool(tasks: Iterator[Task], workers: int) -> Iterator[list[dict[str, Any]]]:
    """Run ``tasks`` on ``workers`` processes and yield their chunks in task order.

    Each worker has its own pipe, so no lock is shared between processes: a worker that dies
    cannot leave one held (``multiprocessing.Pool`` deadlocks in ``terminate`` when a worker
    dies holding its queue's lock, which Ctrl-C to the process group used to cause), a dead
    worker is noticed, and stopping is: close the pipes, SIGTERM, then SIGKILL after 2 s."""
    methods = mp.get_all_start_methods()
    ctx = mp.get_context("fork" if "fork" in methods else "spawn")
    procs: list[Any] = []
    conns: list[Any] = []
    try:
        for _ in range(workers):
            mine, theirs = ctx.Pipe()
            proc = ctx.Process(target=_worker_main, args=(theirs, os.getpid()), daemon=True)
            proc.start()
            theirs.close()
            procs.append(proc)
            conns.append(mine)
        outstanding: list[deque[int]] = [deque() for _ in procs]
        done: dict[int, list[dict[str, Any]]] = {}
        sent = wanted = 0
        more = True
        while True:
            while more and sent - wanted < 2 * workers:
                task = next(tasks, None)
                if task is None:
                    more = False
                    break
                w = min(range(workers), key=lambda k: len(outstanding[k]))
                _send(conns[w], procs[w], task)
                outstanding[w].append(sent)
                sent += 1
            if wanted in done:
                yield done.pop(wanted)
                wanted += 1
                continue
            if wanted == sent:
                return
            ready = mp.connection.wait(conns + [p.sentinel for p in procs], timeout=0.1)
            _check_stop()
            for w, conn in enumerate(conns):
                if conn in ready and outstanding[w]:
                    ok, payload = _receive(conn, procs[w])
                    index = outstanding[w].popleft()
                    if not ok:
                        raise payload
                    done[index] = payload
                elif outstanding[w] and procs[w].exitcode is not None and not conn.poll():
                    raise _worker_died(procs[w])
    finally:
        for conn in conns:
            conn.close()
        for proc in procs:
            if proc.exitcode is None:
                proc.terminate()
        deadline = time.monotonic() + 2.0
        for proc in procs:
            proc.join(max(0.0, deadline - time.monotonic()))
            if proc.exitcode is None:
                proc.kill()
                proc.join()


def _worker_died(proc: Any) -> DatasetError:
    code = proc.exitcode
    why = " (killed: out of memory?)" if code == -signal.SIGKILL else ""
    return DatasetError(f"a generation worker (pid {proc.pid}) died with exit code {code}{why}; "
                        "nothing was written. Run again, with fewer --workers if memory is "
                        "short")


def _send(conn: Any, proc: Any, task: Task) -> None:
    try:
        conn.send(task)
    except OSError:
        raise _worker_died(proc) from None


def _receive(conn: Any, proc: Any) -> tuple[bool, Any]:
    try:
        return conn.recv()
    except (EOFError, OSError, pickle.UnpicklingError):
        proc.join(1.0)
        raise _worker_died(proc) from None


def default_workers() -> int:
    """Generation processes for a build: one per core (the writer shares them), at most 8."""
    return max(1, min(os.cpu_count() or 1, 8))


def estimate_bytes(env_id: str, tier: str, episodes: int, seed: int = 0) -> tuple[int, float]:
    """``(bytes, bytes per transition)`` a build of ``episodes`` would take on disk: its first
    episodes (one per behaviour policy of the tier) written by the build's own writer into an
    in-memory HDF5 file, scaled up. Observation width dominates (about 4 bytes per float per
    step); text observations are measured as they come."""
    import h5py

    sample = _generate_chunk((env_id, tier, seed, 0, min(episodes, len(MIXED))))
    with h5py.File(f"estimate-{uuid.uuid4().hex}", "w", driver="core", backing_store=False,
                   block_size=512, track_order=True) as fh:
        fh.flush()
        empty = fh.id.get_filesize()
        writer = _EpisodeWriter(fh)
        steps = sum(writer.episode(i, ep) for i, ep in enumerate(sample))
        fh.flush()
        per_step = (fh.id.get_filesize() - empty) / steps
    per_episode = per_step * steps / len(sample)
    return int(per_episode * episodes) + 24_000, per_step  # + metadata and the file header


def _check_disk(ds_id: str, episodes: int, need: int, per_step: float) -> None:
    root = datasets_root()
    existing = next(p for p in (root, *root.parents) if p.exists())
    free = shutil.disk_usage(existing).free
    if need > free:
        raise DatasetError(
            f"{episodes:,} episodes of {ds_id} need about {_human_bytes(need)} on disk "
            f"({per_step:,.0f} bytes per transition, measured on the first episodes) but only "
            f"{_human_bytes(free)} are free under {root}; build fewer episodes, point "
            "MINARI_DATASETS_PATH at a larger disk, or pass --ignore-disk-check "
            "(ignore_disk_check=True) to build anyway"
        )


def build_dataset(
    env_id: str,
    tier: str,
    episodes: int,
    seed: int = 0,
    *,
    force: bool = False,
    progress: Callable[[int], None] | None = None,
    workers: int | None = None,
    chunk_episodes: int = 50,
    ignore_disk_check: bool = False,
    ray_address: str | None = None,
) -> str:
    """Log ``episodes`` conversations of ``tier`` on ``env_id`` (train personas) as a Minari
    dataset; returns its id. See the module docstring for seeding and safety. The result does
    not depend on ``workers``, nor on ``ray_address``.

    ``ray_address``: generate the chunks as Ray tasks (``pip install "persona-gym[ray]"``) and
    write them here, in order, with the same writer. ``"local"`` starts a local Ray with
    ``workers`` CPUs (default: this machine's cores) for this build; any other address connects
    to that cluster (``"auto"``, ``HOST:PORT``, ``ray://HOST:10001``), where ``workers``
    (default: the cluster's CPUs) bounds the chunks in flight to ``2 * workers``. A Ray session
    this process already has is used as it is. docs/scale.md.

    Before anything is written: a build of the same id in progress fails this one at once
    (:class:`DatasetError` naming its pid; ``force`` does not override it), and a build whose
    size estimate (:func:`estimate_bytes`) exceeds the free disk is refused unless
    ``ignore_disk_check``. Ctrl-C or SIGTERM raise :class:`BuildInterrupted` within a chunk and
    leave nothing behind."""
    if isinstance(episodes, bool) or not isinstance(episodes, int) or episodes < 1:
        raise ValueError(f"episodes must be an integer >= 1, got {episodes!r}")
    ds_id = dataset_id(env_id, tier)
    entry = env_entry(env_id)
    if (datasets_root() / ds_id).exists() and not force:
        raise DatasetError(
            f"dataset {ds_id} already exists at {datasets_root() / ds_id}; pass --force "
            "(force=True) to replace it"
        )
    ray_session: contextlib.AbstractContextManager[None] = contextlib.nullcontext()
    if ray_address is not None:
        from persona_gym import distributed

        if workers is not None and workers < 1:
            raise ValueError(f"workers must be >= 1 on Ray, got {workers}")
        local = ray_address == distributed.LOCAL
        ray_session = distributed.session(ray_address, workers if local else None)
    # Ray first: ray.init replaces the SIGTERM handler, the build's own must be on top
    with ray_session, _stop_signals(), _build_lock(ds_id):
        if ray_address is not None:
            workers = workers or distributed.cluster_cpus()
        workers = default_workers() if workers is None else workers
        env = gym.make(env_id, split="train")
        if not ignore_disk_check:
            need, per_step = estimate_bytes(env_id, tier, episodes, seed)
            _check_disk(ds_id, episodes, need, per_step)
        _check_stop()
        write_dataset(
            ds_id,
            _generate(env_id, tier, episodes, seed, workers, chunk_episodes,
                      on_ray=ray_address is not None),
            env=env,
            eval_env=_eval_spec(env_id),
            ref_min_score=entry.ref_min_score,
            ref_max_score=entry.ref_max_score,
            description=(
                f"{entry.description} Tier '{tier}': {TIER_DESCRIPTIONS[tier]}. Conversations "
                f"use train personas; evaluate on the eval env (test personas, held-out partner "
                f"style). Episode i: env seed {seed} + i, policy rng default_rng([seed + i, 1]). "
                f"infos: scores ({', '.join(metric_names(env_id))}; NaN where undefined); episode "
                f"metadata: seed and policy (index into {list(POLICY_CODES)})."
            ),
            algorithm_name=f"persona_gym reference policy: {tier}",
            extra_metadata={"persona_gym": {"env_id": env_id, "tier": tier, "seed": seed,
                                            "policy_codes": list(POLICY_CODES),
                                            "metrics": list(metric_names(env_id)),
                                            **reader_version(env_id)}},
            force=force,
            progress=progress,
        )
        env.close()
    return ds_id


# -- reading, checking, converting -------------------------------------------------------------


def prefix_transitions(ds_id: str, episodes: int) -> int:
    """Transitions in the first ``episodes`` episodes of a local dataset, read from the episode
    attributes alone (an online learner's matched step budget)."""
    import h5py

    path = datasets_root() / ds_id / "data" / "main_data.hdf5"
    if not path.exists():
        raise DatasetError(f"no local dataset {ds_id} under {datasets_root()}; build it first")
    with h5py.File(path, "r") as fh:
        if episodes > len(fh):
            raise DatasetError(f"{ds_id} has {len(fh)} episodes, fewer than {episodes}")
        return sum(int(fh[f"episode_{i}"].attrs["total_steps"]) for i in range(episodes))


def load(ds_id: str) -> Any:
    """``minari.load_dataset`` for a local dataset, with clear errors (never downloads)."""
    import minari

    path = datasets_root() / ds_id
    if not path.exists():
        raise DatasetError(
            f"no local dataset {ds_id} under {datasets_root()}; build it with "
            f"`persona-gym datasets build` or list them with `persona-gym datasets list`"
        )
    data_file = path / "data" / "main_data.hdf5"
    try:
        dataset = minari.load_dataset(ds_id, download=False)
        dataset.total_steps  # noqa: B018  (touches the metadata)
    except Exception as exc:
        raise DatasetError(
            f"dataset {ds_id} at {path} cannot be read ({type(exc).__name__}: {exc}); the files "
            f"may be corrupted or truncated: rebuild it with --force"
        ) from None
    _check_readable(data_file, ds_id)
    return dataset


def _check_readable(data_file: Path, ds_id: str) -> None:
    import h5py

    try:
        with h5py.File(data_file, "r") as fh:
            fh.keys()
    except OSError as exc:
        raise DatasetError(
            f"{data_file} (dataset {ds_id}) is not a readable HDF5 file ({exc}); it may be "
            "corrupted or truncated: rebuild it with --force"
        ) from None


def list_datasets() -> list[str]:
    """Ids of the local persona_gym datasets, sorted."""
    root = datasets_root() / "persona_gym"
    if not root.is_dir():
        return []
    return sorted(
        str(p.parent.parent.relative_to(datasets_root()))
        for p in root.glob("**/data/metadata.json")
        if ".persona_gym_tmp" not in p.parts
    )


def iter_episodes(dataset: Any) -> Iterator[Any]:
    """Episodes of a dataset, with a clear error naming the file when one cannot be read."""
    path = Path(dataset.storage.data_path)
    try:
        yield from dataset.iterate_episodes()
    except (OSError, KeyError, ValueError, TypeError, AssertionError) as exc:
        raise DatasetError(
            f"{path / 'main_data.hdf5'}: an episode cannot be read ({exc}); the file may be "
            "corrupted or truncated: rebuild the dataset with --force"
        ) from None


def dataset_info(ds_id: str) -> dict[str, Any]:
    """Episodes, transitions, size on disk, per-metric means and the logged behaviour's
    normalized score (the dict ``persona-gym datasets info --json`` prints)."""
    dataset = load(ds_id)
    meta = dataset.storage.metadata
    names = (meta.get("persona_gym") or {}).get("metrics") or list(metric_names(LOG_ENV))
    returns, sums, counts = [], np.zeros(len(names)), np.zeros(len(names))
    for ep in iter_episodes(dataset):
        returns.append(float(np.sum(ep.rewards)))
        scores = np.asarray(ep.infos["scores"], dtype=np.float64)
        ok = ~np.isnan(scores)
        sums += np.where(ok, scores, 0.0).sum(axis=0)
        counts += ok.sum(axis=0)
    ref_min, ref_max = float(meta["ref_min_score"]), float(meta["ref_max_score"])
    norm = 100.0 * (np.asarray(returns) - ref_min) / (ref_max - ref_min)
    path = datasets_root() / ds_id
    size = sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
    return {
        "dataset_id": ds_id,
        "episodes": int(dataset.total_episodes),
        "transitions": int(dataset.total_steps),
        "bytes_on_disk": size,
        "bytes_per_transition": size / max(int(dataset.total_steps), 1),
        "return_mean": float(np.mean(returns)),
        "normalized_score": float(norm.mean()),
        "metrics": {m: (float(s / c) if c else None)
                    for m, s, c in zip(names, sums, counts, strict=True)},
        "ref_min_score": ref_min,
        "ref_max_score": ref_max,
        "eval_env": json.loads(meta["eval_env_spec"])["id"] if meta.get("eval_env_spec")
        else None,
        "persona_gym": meta.get("persona_gym"),
        "description": meta.get("description"),
    }


def _difference(replay: Any, stored: Any, path: str) -> str | None:
    """Where ``stored`` differs from ``replay`` (bit for bit, dtypes included), or ``None``."""
    if isinstance(replay, dict):
        if not isinstance(stored, dict) or replay.keys() != stored.keys():
            keys = sorted(stored) if isinstance(stored, dict) else type(stored).__name__
            return f"{path} hold {keys}, a build writes {sorted(replay)}"
        for key in replay:
            found = _difference(replay[key], stored[key], f"{path}/{key}")
            if found:
                return found
        return None
    if isinstance(replay, list) and replay and isinstance(replay[0], str):
        stored = list(stored) if isinstance(stored, list | tuple) else stored
        if stored == replay:
            return None
        if not isinstance(stored, list) or len(stored) != len(replay):
            return f"{path} differ from the env's replay (length)"
        step = next(t for t, (a, b) in enumerate(zip(replay, stored, strict=True)) if a != b)
        return f"{path} differ from the env's replay at step {step}"
    a, b = np.asarray(replay), np.asarray(stored)
    if a.dtype != b.dtype or a.shape != b.shape:
        return (f"{path} are {b.dtype}{list(b.shape)}, the env's replay gives "
                f"{a.dtype}{list(a.shape)}")
    same = (a == b) | ((a != a) & (b != b)) if a.dtype.kind in "fc" else a == b
    if bool(np.all(same)):
        return None
    step = int(np.argwhere(~same)[0][0]) if same.ndim else 0
    return f"{path} differ from the env's replay at step {step}"


_ALTERED = ("the file was changed or damaged after it was built: rebuild it with `persona-gym "
            "datasets build ... --force`")


def _attribute_problem(attrs: Any, index: int, tier: str, seed: int, steps: int) -> str | None:
    """What is wrong with an episode's attributes (``id``, ``seed``, ``total_steps``,
    ``policy``) against what a build of ``tier`` from ``seed`` writes, or ``None``."""
    policy = behaviour_policy(tier, index)
    expected = {"id": index, "seed": seed + index, "total_steps": steps,
                "policy": POLICY_CODES.index(policy)}
    for name, want in expected.items():
        if name not in attrs:
            return f"attribute {name} is missing (a build writes {want})"
        value = np.asarray(attrs[name])
        if value.shape != () or value.dtype.kind not in "iu":
            return f"attribute {name}={attrs[name]!r} is not an integer (a build writes {want})"
        if int(value) != want:
            got = int(value)
            if name == "policy":
                known = ", ".join(f"{c} {n}" for c, n in enumerate(POLICY_CODES))
                what = (f"({POLICY_CODES[got]})" if 0 <= got < len(POLICY_CODES)
                        else f"is not a policy code ({known})")
                return (f"attribute policy={got} {what}; a {tier} build logs episode {index} "
                        f"with {want} ({policy})")
            return f"attribute {name}={got}, a build writes {want}"
    return None


def verify_dataset(ds_id: str, progress: Callable[[int], None] | None = None) -> str | None:
    """Check every stored field against the env: each episode's attributes (``id``, ``seed``,
    ``total_steps``, ``policy``) against what the build writes, its observations, actions,
    rewards, terminations, truncations and infos against a replay from its seed with its
    behaviour policy, bit for bit (dtypes included), and the episode and step totals in the
    metadata. Returns ``None`` when all match, else a one-line message naming the first problem
    (episode, field, step). Raises :class:`DatasetError` when the dataset cannot be read or was
    not made by :func:`build_dataset`."""
    import h5py

    dataset = load(ds_id)
    meta = dataset.storage.metadata.get("persona_gym") or {}
    env_id, tier, seed = meta.get("env_id"), meta.get("tier"), meta.get("seed")
    if env_id is None or tier is None:
        raise DatasetError(f"{ds_id} was not built by `persona-gym datasets build`: no replay "
                           "information in its metadata")
    if tier not in TIERS or isinstance(seed, bool) or not isinstance(seed, int):
        return (f"{ds_id}: metadata persona_gym has tier={tier!r}, seed={seed!r}; a build "
                f"writes a tier of {', '.join(TIERS)} and an integer seed; {_ALTERED}")
    try:
        env = gym.make(env_id, split="train")
    except gym.error.Error as exc:
        raise DatasetError(f"{ds_id} was logged on {env_id}, which this persona_gym cannot make "
                           f"({exc}); install the version named in its requirements") from None
    policies = {n: make_policy(n) for n in POLICY_CODES}
    data_file = Path(dataset.storage.data_path) / "main_data.hdf5"
    total_episodes, steps_seen = int(dataset.total_episodes), 0
    with h5py.File(data_file, "r") as fh:
        if len(fh) != total_episodes:
            return (f"{ds_id}: {data_file} holds {len(fh)} episodes, its metadata says "
                    f"{total_episodes}; {_ALTERED}")
        for i, ep in enumerate(iter_episodes(dataset)):
            steps = len(ep.rewards)
            problem = _attribute_problem(fh[f"episode_{i}"].attrs, i, tier, seed, steps)
            if problem:
                return f"{ds_id}: episode {i}: {problem}; {_ALTERED}"
            policy = behaviour_policy(tier, i)
            where = f"{ds_id}: episode {i} (seed {seed + i}, policy {policy})"
            replay = run_logged_episode(env, policies[policy], seed + i)
            for field in ("observations", "actions", "rewards", "terminations", "truncations",
                          "infos"):
                problem = _difference(replay[field], getattr(ep, field), field)
                if problem:
                    return f"{where}: {problem}; {_ALTERED}"
            steps_seen += steps
            if progress:
                progress(1)
    total_steps = int(dataset.total_steps)
    if steps_seen != total_steps:
        return (f"{ds_id}: the episodes hold {steps_seen} steps, the metadata says "
                f"{total_steps}; {_ALTERED}")
    env.close()
    return None


def to_mdp(dataset: Any, episodes: int | None = None) -> Any:
    """A d3rlpy ``MDPDataset`` aligned observation-to-action.

    Minari stores T + 1 observations and T actions per episode; every transition pairs
    observation ``t`` with action ``t``, so each episode's last observation is dropped. (d3rlpy's
    own ``get_minari`` concatenates all T + 1 observations with the T actions, which shifts every
    episode after the first.) Discrete actions become ``int64``; text datasets cannot be used
    by d3rlpy and raise :class:`DatasetError`. ``episodes`` keeps the first N episodes (the
    scaling study trains on growing prefixes of one dataset).
    """
    from d3rlpy.dataset import MDPDataset

    if isinstance(dataset, str):
        dataset = load(dataset)
    if not isinstance(dataset.observation_space, gym.spaces.Box):
        raise DatasetError(
            f"{dataset.spec.dataset_id} has {type(dataset.observation_space).__name__} "
            "observations; d3rlpy needs vectors: use a discrete or continuous dataset"
        )
    if episodes is not None and not 0 < episodes <= dataset.total_episodes:
        raise DatasetError(f"episodes={episodes} but {dataset.spec.dataset_id} holds "
                           f"{dataset.total_episodes}; build a larger dataset")
    obs, actions, rewards, terms, truncs = [], [], [], [], []
    for i, ep in enumerate(iter_episodes(dataset)):
        if episodes is not None and i >= episodes:
            break
        obs.append(np.asarray(ep.observations)[:-1])
        actions.append(np.asarray(ep.actions))
        rewards.append(np.asarray(ep.rewards, dtype=np.float32))
        terms.append(np.asarray(ep.terminations, dtype=np.float32))
        truncs.append(np.asarray(ep.truncations, dtype=np.float32))
    act = np.concatenate(actions)
    if isinstance(dataset.action_space, gym.spaces.Discrete):
        act = act.astype(np.int64)
    return MDPDataset(
        observations=np.concatenate(obs),
        actions=act,
        rewards=np.concatenate(rewards),
        terminals=np.concatenate(terms),
        timeouts=np.concatenate(truncs),
        action_space=_d3rlpy_action_space(dataset.action_space),
        action_size=_action_size(dataset.action_space),
    )


def _d3rlpy_action_space(space: gym.Space) -> Any:
    from d3rlpy.constants import ActionSpace

    if isinstance(space, gym.spaces.Discrete):
        return ActionSpace.DISCRETE
    return ActionSpace.CONTINUOUS


def _action_size(space: gym.Space) -> int:
    return int(space.n) if isinstance(space, gym.spaces.Discrete) else int(space.shape[0])


# -- real logs ---------------------------------------------------------------------------------

LOG_ENV = "persona_gym/OpenChatText-v1"
"""The env whose spaces imported logs use (and whose test split is their eval env)."""


def import_logs(path: str | Path, fmt: str, name: str | None = None, *, force: bool = False,
                progress: Callable[[int], None] | None = None) -> dict[str, Any]:
    """Turn logged conversations into the text-variant dataset ``persona_gym/logs/{name}-v1``.

    Every speaker with persona sentences becomes an episode (its lines are the actions), read
    by the lexical judge and scored by the symbolic judge with the open-chat reward weights
    (:mod:`persona_gym.logs`). The whole file is read and validated before anything is written.
    """
    import re

    from persona_gym.judges.lexical import LexicalJudge
    from persona_gym.logs import read_conversations, score_conversation

    name = name or Path(path).stem
    name = re.sub(r"[^a-z0-9_]+", "_", name.lower()).strip("_") or "log"
    ds_id = f"persona_gym/logs/{name}-v1"
    if (datasets_root() / ds_id).exists() and not force:
        raise DatasetError(f"dataset {ds_id} already exists; pass --force to replace it")
    judge = LexicalJudge()
    card, _ = card_of(LOG_ENV)
    weights = card.weights(LOG_ENV)
    conversations = list(read_conversations(path, fmt))  # validates the whole file first
    episodes: list[dict[str, Any]] = []
    sanitized = 0
    for conv in conversations:
        for ep in score_conversation(conv, judge, weights):
            n = len(ep.actions)
            sanitized += sum(ep.sanitized.values())
            episodes.append({
                "seed": None,
                "observations": _stack(ep.observations),
                "actions": list(ep.actions),
                "rewards": np.asarray(ep.rewards, dtype=np.float64),
                "terminations": np.asarray([False] * (n - 1) + [True]),
                "truncations": np.zeros(n, dtype=bool),
                "infos": {"scores": np.asarray(
                    [[np.nan if np.isnan(v) else v for v in s] for s in ep.scores],
                    dtype=np.float32)},
            })
    if not episodes:
        raise DatasetError(f"{path}: no speaker with a persona and at least one line")
    entry = env_entry(LOG_ENV)
    env = gym.make(LOG_ENV, split="train")
    write_dataset(
        ds_id,
        (episodes[i : i + 200] for i in range(0, len(episodes), 200)),
        env=env,
        eval_env=_eval_spec(LOG_ENV),
        ref_min_score=entry.ref_min_score,
        ref_max_score=entry.ref_max_score,
        description=(
            f"Logged conversations imported from {Path(path).name} ({fmt}): each speaker with a "
            "persona is an episode of the text variant, its lines the actions; facts read by "
            "the lexical judge, scores by the symbolic judge (docs/metrics.md), open-chat "
            "reward weights. Episode lengths follow the logs, so normalized scores against "
            f"{LOG_ENV}'s references are indicative only. infos: scores "
            f"({', '.join(metric_names(LOG_ENV))}). Synthetic-Persona-Chat is CC-BY 4.0 "
            "(Jandaghi et al., 2023): cite it when you report results on it."
        ),
        algorithm_name=f"logged conversations ({fmt})",
        extra_metadata={"persona_gym": {"source": str(Path(path).name), "format": fmt,
                                        "judge": "lexical", **reader_version(LOG_ENV),
                                        "metrics": list(metric_names(LOG_ENV)),
                                        "sanitized": sanitized}},
        force=force,
        progress=progress,
    )
    env.close()
    return {"dataset_id": ds_id, "episodes": len(episodes),
            "transitions": int(sum(len(e["actions"]) for e in episodes)),
            "sanitized": sanitized}
