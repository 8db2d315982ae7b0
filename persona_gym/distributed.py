"""Running the project's own work on Ray: one machine's cores or a cluster (docs/scale.md).

This module knows nothing of datasets or studies: it runs functions it is given. Two shapes:

* :func:`ordered_map`: tasks whose results must come back **in task order** with a bounded
  number in flight (dataset generation: chunks of seeds, written by one writer in order). It
  mirrors :func:`persona_gym.datasets._worker_pool`, with ``ray.wait`` in place of pipes.
* :func:`run_all`: independent tasks whose results may come back in any order, each with the
  resources it declares (a scaling-study cell), failures reported and retried, never fatal to
  the others.

Ray is an optional extra (``pip install "persona-gym[ray]"``) and is imported only when one of
these runs: the single-machine paths never import it. :func:`session` starts a local Ray (or
connects to a cluster) for the length of a ``with`` block and leaves an already connected
session alone.

Where it stops: every node must have the same persona_gym installed (Ray sends task arguments,
not code), and anything a task reads from disk (a study's datasets) must be on a filesystem the
node sees; the tasks here check that and say so.

Tasks left in flight (a build stopped by Ctrl-C, a writer that failed) are never passed to
``ray.cancel``: cancelling a task while its reply arrives crashes the driver in Ray up to 2.60
at least (``Check failed: it != submissible_tasks_.end() Tried to complete task that was not
pending``, the race of ray-project/ray#54527; here 3 of 5 Ctrl-C tests aborted that way, 0 of 6
without the cancel). They end with their job instead: a local Ray started by :func:`session` is
shut down at the end of its block, and a cluster ends a driver's tasks when the driver exits.
In a session of your own they run to their end and their results are dropped (a build's chunks
are short; a study's cells still write their files, which the next run reuses).
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import Any, TypeVar

T = TypeVar("T")
R = TypeVar("R")

INSTALL = 'pip install "persona-gym[ray]"'

LOCAL = "local"
"""The address that starts a new local Ray on this machine (Ray's own meaning of ``"local"``)."""


class TaskLost(RuntimeError):
    """A Ray task that did not fail in its own code: its worker or node died, or it was
    cancelled. The message names what Ray reported."""


def require_ray() -> ModuleType:
    """``import ray``, or an ImportError naming the install command."""
    try:
        import ray
    except ImportError:
        raise ImportError(f"--ray needs Ray, an optional extra: {INSTALL}") from None
    return ray


@contextlib.contextmanager
def session(address: str = LOCAL, num_cpus: int | None = None) -> Iterator[None]:
    """Ray for the length of the block.

    ``address``: ``"local"`` starts a new local Ray with ``num_cpus`` CPUs (default: this
    machine's cores) and stops it at the end; anything else is handed to ``ray.init`` to connect
    to a running cluster (``"auto"``: the one ``ray start --head`` started on this machine or
    ``$RAY_ADDRESS``; ``HOST:PORT``; ``ray://HOST:10001`` needs ``ray[client]``), which is left
    running. When this process is already connected (``ray.is_initialized()``), that session is
    used as it is and left open. ``ray.init`` replaces the process's SIGTERM handler; the
    previous one is put back when the block ends."""
    ray = require_ray()
    if ray.is_initialized():
        yield
        return
    if address != LOCAL and num_cpus is not None:
        raise ValueError("num_cpus applies to a local Ray only; a cluster has the CPUs its "
                         "nodes were started with (ray start --num-cpus)")
    if num_cpus is not None and num_cpus < 1:
        raise ValueError(f"a local Ray needs at least 1 CPU, got {num_cpus}")
    if address not in (LOCAL, "auto"):
        _check_reachable(address)
    main = _in_main_thread()
    previous = signal.getsignal(signal.SIGTERM) if main else None
    kwargs: dict[str, Any] = {"include_dashboard": False, "logging_level": logging.WARNING}
    if address == LOCAL:
        kwargs["num_cpus"] = num_cpus
    try:
        ray.init(address=address, **kwargs)
    except BaseException as exc:
        _restore_sigterm(previous)
        if isinstance(exc, ConnectionError):
            raise ConnectionError(
                f"cannot connect to a Ray cluster at {address!r} ({exc}); "
                + (_AUTH_HINT if _auth_failed(exc) else "start one with `ray start --head` "
                   "(docs/scale.md), or pass --ray without an address for a local one")
            ) from None
        raise
    try:
        yield
    finally:
        ray.shutdown()
        _restore_sigterm(previous)


_AUTH_HINT = ("the cluster wants its token: set RAY_AUTH_MODE=token and give this process the "
              "cluster's token (~/.ray/auth_token, RAY_AUTH_TOKEN or RAY_AUTH_TOKEN_PATH; `ray "
              "get-auth-token` on the head prints it). docs/scale.md")


def _auth_failed(exc: BaseException) -> bool:
    """Did Ray refuse this process's (missing) token? (Ray 2.59+ turns token authentication
    on for clusters started with ``ray start``, while a driver given an address defaults to
    none.)"""
    seen: BaseException | None = exc
    while seen is not None:  # Ray chains it, or quotes it in a RuntimeError's text
        if type(seen).__name__ == "AuthenticationError" or "InvalidAuthToken" in str(seen):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _check_reachable(address: str) -> None:
    """Fail at once when nothing listens at ``HOST:PORT`` (``ray.init`` would retry for
    minutes)."""
    where = address.split("://", 1)[-1]
    host, _, port = where.rpartition(":")
    if not host or not port.isdigit():
        raise ValueError(f"Ray address {address!r} is not HOST:PORT, ray://HOST:PORT, auto or "
                         "empty (a local Ray)")
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=5).close()
    except OSError as exc:
        raise ConnectionError(
            f"nothing answers at {where} ({exc.strerror or exc}); is the cluster's head "
            "running (`ray start --head` prints its address)? docs/scale.md") from None


def _in_main_thread() -> bool:
    import threading

    return threading.current_thread() is threading.main_thread()


def _restore_sigterm(previous: Any) -> None:
    if previous is not None and _in_main_thread():
        signal.signal(signal.SIGTERM, previous)


def cluster_cpus() -> int:
    """CPUs of the connected Ray cluster (at least 1)."""
    ray = require_ray()
    return max(1, int(ray.cluster_resources().get("CPU", 1)))


def check_fits(cpus: float, gpus: float, *, can_grow: bool,
               say: Callable[[str], None] | None = None) -> None:
    """Can a task declaring ``cpus`` and ``gpus`` run on the connected cluster? If no node has
    them, a Ray task waits for one forever: a cluster that ``can_grow`` (an autoscaler may add
    such a node) gets a warning through ``say``, a fixed one (a local Ray) a ValueError."""
    ray = require_ray()
    nodes = [n.get("Resources", {}) for n in ray.nodes() if n.get("Alive")]
    if any(n.get("CPU", 0) >= cpus and n.get("GPU", 0) >= gpus for n in nodes):
        return
    have = ", ".join(f"{n.get('CPU', 0):g} CPU {n.get('GPU', 0):g} GPU" for n in nodes)
    message = (f"no Ray node has {cpus:g} CPU and {gpus:g} GPU for one task (nodes: "
               f"{have or 'none'})")
    if not can_grow:
        raise ValueError(f"{message}; ask for less (--cpus-per-run, --gpus-per-run) or run on "
                         "a cluster that has it (docs/scale.md)")
    if say is not None:
        say(f"warning: {message}; the tasks wait until such a node joins (Ctrl-C stops)")


_REMOTE: dict[Callable[..., Any], Any] = {}


def _remote(fn: Callable[..., Any]) -> Any:
    """``ray.remote(fn)``, registered once per function."""
    ray = require_ray()
    if fn not in _REMOTE:
        _REMOTE[fn] = ray.remote(fn)
    return _REMOTE[fn]


def _get(ref: Any) -> Any:
    """``ray.get(ref)``: a task's own exception is raised as itself (the remote traceback
    chained to it); anything else Ray reports becomes :class:`TaskLost`."""
    ray = require_ray()
    try:
        return ray.get(ref)
    except ray.exceptions.RayTaskError as exc:
        cause = getattr(exc, "cause", None)
        if isinstance(cause, Exception):
            raise cause from exc
        raise
    except ray.exceptions.RayError as exc:
        raise TaskLost(f"{type(exc).__name__}: {exc}") from None


def ordered_map(fn: Callable[[T], R], tasks: Iterator[T], workers: int,
                check: Callable[[], None] | None = None) -> Iterator[R]:
    """``fn(task)`` for every task as a Ray task of one CPU, results yielded **in task order**.

    At most ``2 * workers`` tasks are submitted and not yet yielded (finished ones waiting for
    an earlier one included), so memory stays flat however many tasks there are; how many run
    at once is what the cluster's CPUs allow within that. ``check`` is called at least every
    0.1 s while waiting (a build's Ctrl-C check). A task that raises stops the map with its
    exception; Ray retries a task whose worker died (its default ``max_retries``), and one it
    cannot finish raises :class:`TaskLost`. When the iterator is closed or fails, the tasks
    still in flight are dropped, not cancelled (module docstring)."""
    ray = require_ray()
    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    remote = _remote(fn).options(num_cpus=1)
    pending: dict[Any, int] = {}  # object ref -> task index
    done: dict[int, R] = {}
    sent = wanted = 0
    more = True
    while True:
        while more and sent - wanted < 2 * workers:
            task = next(tasks, None)
            if task is None:
                more = False
                break
            pending[remote.remote(task)] = sent
            sent += 1
        if wanted in done:
            yield done.pop(wanted)
            wanted += 1
            continue
        if wanted == sent:
            return
        ready, _ = ray.wait(list(pending), num_returns=1, timeout=0.1)
        if check is not None:
            check()
        for ref in ready:
            done[pending.pop(ref)] = _get(ref)


def _with_env(env: dict[str, str], fn: Callable[..., R], *args: Any) -> R:
    """Run ``fn(*args)`` with ``env`` in ``os.environ`` (restored after): a Ray worker's
    environment is its node's, not the driver's."""
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        return fn(*args)
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@dataclass(frozen=True)
class Outcome:
    """How one task of :func:`run_all` ended: ``result`` when it succeeded, else ``error`` (a
    one-line description of its last failure)."""

    args: tuple[Any, ...]
    result: Any = None
    error: str | None = None
    attempts: int = 1


def run_all(fn: Callable[..., R], calls: Sequence[tuple[Any, ...]], *, cpus: float = 1.0,
            gpus: float = 0.0, retries: int = 2, env: dict[str, str] | None = None,
            report: Callable[[str, Outcome], None] | None = None) -> list[Outcome]:
    """``fn(*args)`` for each ``args`` in ``calls``, each a Ray task declaring ``cpus`` CPUs and
    ``gpus`` GPUs; returns one :class:`Outcome` per call, in the order of ``calls``.

    A failed task (its own exception, or its worker or node lost) is submitted again up to
    ``retries`` times; a call that fails every time is returned with its ``error`` and does not
    stop the others. ``report(event, outcome)`` is called in the driver as tasks end, with
    ``event`` one of ``"done"``, ``"retry"`` (failed; submitted again once ``report``
    returns) and ``"failed"`` (no attempts left). ``env`` is set in the worker's
    ``os.environ`` around each call. On Ctrl-C the tasks in flight are dropped, not cancelled
    (module docstring)."""
    ray = require_ray()
    if retries < 0:
        raise ValueError(f"retries must be >= 0, got {retries}")
    if cpus < 0 or gpus < 0:
        raise ValueError(f"resources must be >= 0, got cpus={cpus}, gpus={gpus}")
    # retries are ours, so every failure reaches the driver and is reported
    remote = _remote(_with_env).options(num_cpus=cpus, num_gpus=gpus, max_retries=0,
                                        name=getattr(fn, "__name__", "task"))
    outcomes: list[Outcome | None] = [None] * len(calls)
    attempts = [0] * len(calls)
    pending: dict[Any, int] = {}

    def submit(i: int) -> None:
        attempts[i] += 1
        pending[remote.remote(env or {}, fn, *calls[i])] = i

    for i in range(len(calls)):
        submit(i)
    while pending:
        ready, _ = ray.wait(list(pending), num_returns=1, timeout=1.0)
        for ref in ready:
            i = pending.pop(ref)
            try:
                outcome = Outcome(calls[i], result=_get(ref), attempts=attempts[i])
                event = "done"
            except Exception as exc:
                outcome = Outcome(calls[i], error=_describe(exc), attempts=attempts[i])
                event = "retry" if attempts[i] <= retries else "failed"
            if report is not None:
                report(event, outcome)
            if event == "retry":
                submit(i)
            else:
                outcomes[i] = outcome
    return [o for o in outcomes if o is not None]


def _describe(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[-1] if text else ''}".rstrip(": ")


def node_name() -> str:
    """This node's host name (for messages about what a node cannot see)."""
    return socket.gethostname()
