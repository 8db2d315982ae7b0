"""Re-evaluating a stranger's policy artifact in a child process with hard limits.

The artifact is already a checked ONNX graph (persona_gym/artifacts.py), so it cannot touch
files or the network; what a legal graph can still do is take a long time or a lot of memory
(one forward pass of a crafted artifact took 257 s in the fault hunt of issue 11). So every
re-evaluation runs in a fresh Python process (``python -m persona_gym.leaderboard.sandbox``),
which before loading the artifact limits itself:

- CPU time (``RLIMIT_CPU``): :attr:`Limits.cpu_s` seconds for the re-evaluation, counted after
  the child's imports; the kernel stops it with SIGXCPU;
- address space (``RLIMIT_AS``): :attr:`Limits.memory_bytes`; allocations beyond it fail;
- file size (``RLIMIT_FSIZE`` = 0): the child cannot grow any file (it only writes to pipes);
- core dumps off.

The parent gives it :attr:`Limits.wall_s` seconds of wall time (child start included) and then
kills its process group. The child runs in an empty temporary folder with the parent's
environment (so that it computes observations bit for bit as the parent would) and runs the
graph on one onnxruntime thread. Every outcome is a one-line message: a limit hit is a
:class:`LimitExceeded`, any other failure an :class:`ArtifactFailed`, never a traceback.

Request (JSON on stdin): ``{"artifact": PATH, "cpu_s": N, "memory_bytes": N, "runs":
[{"env_id", "seeds", "episodes"}, ...], "progress": BOOL}``. Answer (the last JSON line on
stdout): ``{"results": [...]}`` (``evaluate`` output per run) or ``{"error": MESSAGE, "kind":
"memory" | "artifact"}``. With ``"progress": true`` the child first writes ``{"progress": N}``
lines, N episodes done each, which the parent hands to its progress callback as they come.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Limits:
    """What one submission's re-evaluation may use (defaults: the documented limits of
    docs/security.md; the budget of episodes is in :mod:`.schema`)."""

    wall_s: float = 300.0
    """Wall-clock seconds for the whole child process, start-up included."""
    cpu_s: int = 300
    """CPU seconds for the re-evaluation (after the child's imports)."""
    memory_bytes: int = 2 * 1024**3
    """Address-space limit of the child (2 GiB; the evaluation needs about 0.3 GiB)."""

    def __post_init__(self) -> None:
        if not (self.wall_s > 0 and self.cpu_s >= 1 and self.memory_bytes >= 64 * 1024**2):
            raise ValueError(f"limits must be positive (wall_s > 0, cpu_s >= 1, memory_bytes "
                             f">= 64 MiB); got {self}")


DEFAULT_LIMITS = Limits()


class SandboxError(Exception):
    """A re-evaluation did not produce results; ``str()`` is the one-line verdict."""


class LimitExceeded(SandboxError):
    """The child hit its wall-time, CPU-time or memory limit."""


class ArtifactFailed(SandboxError):
    """The artifact was refused or failed while running."""


def _child_env() -> dict[str, str]:
    """The parent's environment (BLAS settings such as ``OPENBLAS_CORETYPE`` change float
    rounding in the observation encoder, so the child must compute exactly as an in-process
    ``evaluate`` would), plus no bytecode writes and the parent's import path."""
    return {**os.environ, "PYTHONDONTWRITEBYTECODE": "1",
            "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}


def rerun_in_child(artifact: str | Path, runs: list[dict[str, Any]],
                   limits: Limits = DEFAULT_LIMITS,
                   progress: Callable[[int], object] | None = None) -> list[dict[str, Any]]:
    """``evaluate`` results of the ONNX ``artifact`` for each run ``{"env_id", "seeds",
    "episodes"}``, computed in a limited child process; raises :class:`LimitExceeded` or
    :class:`ArtifactFailed` with a one-line message. ``progress(n)`` is called (from a reader
    thread) as the child finishes episodes."""
    request = json.dumps({"artifact": str(Path(artifact).resolve()), "cpu_s": limits.cpu_s,
                          "memory_bytes": limits.memory_bytes, "runs": runs,
                          "progress": progress is not None})
    with tempfile.TemporaryDirectory(prefix="persona-gym-sandbox-") as cwd:
        proc = subprocess.Popen(
            [sys.executable, "-B", "-s", "-m", "persona_gym.leaderboard.sandbox"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=cwd,
            env=_child_env(), start_new_session=True)
        try:
            out, err = _communicate(proc, request.encode(), limits.wall_s, progress)
        except subprocess.TimeoutExpired:
            raise LimitExceeded(f"re-evaluation exceeded the {limits.wall_s:g} s wall-time "
                                "limit") from None
    code = proc.returncode
    if code in (-signal.SIGXCPU, -signal.SIGKILL) or code == 128 + signal.SIGXCPU:
        raise LimitExceeded(f"re-evaluation exceeded the {limits.cpu_s} s CPU-time limit")
    try:
        answer = json.loads(out.decode("utf-8").strip().splitlines()[-1])
    except (ValueError, IndexError, UnicodeDecodeError):
        tail = err.decode("utf-8", "replace").strip().splitlines()
        last = tail[-1][:300] if tail else f"exit status {code}"
        if any(m in last for m in ("MemoryError", "bad_alloc", "Failed to allocate")):
            raise LimitExceeded(f"re-evaluation exceeded the {_gib(limits.memory_bytes)} "
                                "memory limit") from None
        raise ArtifactFailed(f"the re-evaluation process failed: {last}") from None
    if "error" in answer:
        if answer.get("kind") == "memory":
            raise LimitExceeded(f"re-evaluation exceeded the {_gib(limits.memory_bytes)} memory "
                                "limit")
        raise ArtifactFailed(str(answer["error"]))
    return list(answer["results"])


def _progress_count(line: bytes) -> int | None:
    """N for a child's ``{"progress": N}`` line, else None."""
    if not line.startswith(b'{"progress": '):
        return None
    try:
        n = json.loads(line)["progress"]
    except (ValueError, KeyError, TypeError):
        return None
    return n if type(n) is int and n >= 0 else None


def _communicate(proc: subprocess.Popen[bytes], request: bytes, timeout: float,
                 progress: Callable[[int], object] | None) -> tuple[bytes, bytes]:
    """``proc.communicate(request, timeout)``, except that the child's progress lines on
    stdout go to ``progress`` as they come instead of into the returned stdout. On any error
    (:class:`subprocess.TimeoutExpired` included) the child's process group is killed first."""
    assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
    stdout, stderr = proc.stdout, proc.stderr
    out: list[bytes] = []
    err: list[bytes] = []

    def read_out() -> None:
        report = progress
        for line in stdout:  # drained to the end, or the child would block on a full pipe
            n = _progress_count(line)
            if n is None:
                out.append(line)
            elif report is not None:
                try:
                    report(n)
                except Exception:  # a broken progress display never stops the check
                    report = None

    readers = [threading.Thread(target=read_out, daemon=True),
               threading.Thread(target=lambda: err.append(stderr.read()), daemon=True)]
    for reader in readers:
        reader.start()
    try:
        try:
            proc.stdin.write(request)
            proc.stdin.close()
        except BrokenPipeError:  # the child died before reading: its exit status says why
            pass
        proc.wait(timeout=timeout)
    except BaseException:
        _kill_group(proc)
        proc.wait()
        raise
    finally:
        for reader in readers:
            reader.join(timeout=10)
    return b"".join(out), b"".join(err)


def _gib(n: int) -> str:
    return f"{n / 1024**3:g} GiB" if n >= 1024**3 else f"{n / 1024**2:g} MiB"


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    """Kill the child's process group (the session ``start_new_session`` gave it)."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        proc.kill()


# -- the child -----------------------------------------------------------------------------------


def _limit_self(cpu_s: int, memory_bytes: int) -> None:
    import resource

    used = resource.getrusage(resource.RUSAGE_SELF)
    spent = int(used.ru_utime + used.ru_stime) + 1
    resource.setrlimit(resource.RLIMIT_CPU, (spent + cpu_s, spent + cpu_s + 2))
    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails, not kills


def _out_of_memory(exc: BaseException) -> bool:
    """Whether an error (onnxruntime's arena, a C++ allocation) says memory ran out."""
    text = str(exc)
    return isinstance(exc, MemoryError) or any(
        m in text for m in ("Failed to allocate", "bad_alloc", "Cannot allocate memory"))


def _progress_writer(fd: int) -> Callable[[int], None]:
    """The child's progress callback: a ``{"progress": N}`` line on the answer pipe."""
    def write(n: int) -> None:
        os.write(fd, b'{"progress": %d}\n' % n)

    return write


def _child_main() -> int:
    answer_fd = os.dup(1)  # only the answer goes to the real stdout
    os.dup2(2, 1)
    try:
        request = json.loads(sys.stdin.read())
        import gymnasium as gym

        from persona_gym.artifacts import ArtifactError, OnnxPolicy
        from persona_gym.evaluation import evaluate

        _limit_self(int(request["cpu_s"]), int(request["memory_bytes"]))
        report_progress = _progress_writer(answer_fd) if request.get("progress") else None
        answer: dict[str, Any]
        try:
            policy = OnnxPolicy(request["artifact"])
            results = []
            for run in request["runs"]:
                env = gym.make(run["env_id"])
                try:
                    policy.check_spaces(env.observation_space, env.action_space)
                finally:
                    env.close()
                results.append(evaluate(run["env_id"], policy, episodes=int(run["episodes"]),
                                        seeds=[int(s) for s in run["seeds"]],
                                        progress=report_progress))
            answer = {"results": results}
        except MemoryError:
            answer = {"error": "out of memory", "kind": "memory"}
        except ArtifactError as exc:  # refused, or failed on a batch (onnxruntime's error)
            answer = {"error": str(exc), "kind": "memory" if _out_of_memory(exc) else "artifact"}
        except Exception as exc:  # a legal graph that fails at run time in another way
            first = str(exc).splitlines()[0] if str(exc) else ""
            answer = {"error": f"running the artifact failed: {type(exc).__name__}: "
                      f"{first[:300]}", "kind": "memory" if _out_of_memory(exc) else "artifact"}
    except MemoryError:
        answer = {"error": "out of memory", "kind": "memory"}
    os.write(answer_fd, (json.dumps(answer) + "\n").encode("utf-8"))
    return 0


if __name__ == "__main__":
    sys.exit(_child_main())
