"""Validating submissions: every file gets a verdict, and every problem its own line.

:func:`validate_submission` checks, in order:

1. the file itself (:func:`read_submission`): a regular file of at most
   :data:`~.schema.MAX_SUBMISSION_BYTES`, strict UTF-8 JSON without duplicate keys, nesting at
   most :data:`~.schema.MAX_JSON_DEPTH` deep, integers of at most
   :data:`~.schema.MAX_INT_DIGITS` digits, finite numbers (``NaN`` reads as null; ``Infinity``
   and ``1e400`` are refused);
2. the schema (:data:`~.schema.SUBMISSION_SCHEMA`);
3. the budget: at most :data:`~.schema.MAX_RERUN_EPISODES` episodes over all results
   (:func:`check_budget`);
4. the versions (env ids registered at their current ``-vN``, the protocol, persona_gym);
5. the internal consistency of every results dict: :data:`RESULT_CHECKS`, one named function
   per family of identities;
6. the optional policy artifact: a regular file inside the submission's folder, no symlinks,
   at most :data:`~persona_gym.artifacts.MAX_ARTIFACT_BYTES`, matching sha256; with
   ``rerun=True`` it is re-evaluated with the submission's own seeds and episodes in the
   sandbox (:mod:`.sandbox`: a child process with wall-time, CPU-time and memory limits), and
   results further than :data:`~.schema.RERUN_TOLERANCE` normalized-score points (or
   :data:`~.schema.METRIC_TOLERANCE` on a metric mean) are rejected.

:func:`validate_files` gives every path a :class:`Report`, whatever happens while checking
another: an unexpected error inside the checks becomes an ``internal`` problem for that file.
A submission that passes without an artifact is *unverified* (:attr:`Report.verified`): valid,
listed apart on the site, never ranked.
"""

from __future__ import annotations

import json
import math
import re
import reprlib
import stat
from collections.abc import Callable, Iterable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any

import numpy as np

from persona_gym.artifacts import MAX_ARTIFACT_BYTES, sha256_file
from persona_gym.envs import card_of
from persona_gym.evaluation import BY_TURN_METRICS, PROTOCOL_VERSION, OpenBar, env_entry
from persona_gym.judges.symbolic import METRICS
from persona_gym.leaderboard.sandbox import DEFAULT_LIMITS, LimitExceeded, Limits, SandboxError
from persona_gym.leaderboard.schema import (
    MAX_INT_DIGITS,
    MAX_JSON_DEPTH,
    MAX_RERUN_EPISODES,
    MAX_SUBMISSION_BYTES,
    METRIC_TOLERANCE,
    NARROW_CI_SLACK,
    NUMERIC_TOLERANCE,
    RERUN_TOLERANCE,
    SUBMISSION_SCHEMA,
    WIDE_CI_FACTOR,
)


class LeaderboardError(ValueError):
    """A leaderboard operation cannot proceed; the message names the problem and the fix."""


class SubmissionsRejected(LeaderboardError):
    """``build`` found submissions that fail validation (the message lists every problem)."""


PROBLEM_CODES = ("file", "size", "schema", "budget", "env-version", "protocol-version",
                 "package-version", "inconsistent", "artifact-path", "artifact-symlink",
                 "artifact-hash", "artifact-format", "artifact-run", "limit", "not-reproduced",
                 "internal")


@dataclass(frozen=True)
class Problem:
    """One reason to reject a submission: a stable ``code`` (one of :data:`PROBLEM_CODES`)
    and a one-line message naming the fix."""

    code: str
    message: str

    def __str__(self) -> str:
        return f"[{self.code}] {self.message}"


@dataclass
class Report:
    """The validator's verdict on one submission file."""

    path: Path
    problems: list[Problem] = field(default_factory=list)
    submission: dict[str, Any] | None = None
    reproduced: bool = False
    """True when the artifact was re-evaluated and matched the submitted results."""

    @property
    def ok(self) -> bool:
        """Whether the submission passed every check."""
        return not self.problems

    @property
    def verified(self) -> bool:
        """Whether it passed and carries a policy artifact (so it can be ranked); a passing
        submission without one is *unverified*: listed apart, never ranked."""
        return self.ok and self.submission is not None and "artifact" in self.submission


# -- reading ----------------------------------------------------------------------------------


class _Refused(ValueError):
    """A JSON value the reader refuses (raised from the decoder hooks)."""


def _json_constant(name: str) -> None:
    if name == "NaN":  # Python's json writes NaN for an undefined value; read it as null
        return None
    raise _Refused(f"non-standard JSON number {name}; write a finite number or null")


def _json_int(text: str) -> int:
    digits = len(text.lstrip("-"))
    if digits > MAX_INT_DIGITS:
        raise _Refused(f"an integer with {digits} digits ({text[:12]}...); numbers in a "
                       f"submission have at most {MAX_INT_DIGITS} digits")
    return int(text)


def _json_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _Refused(f"the number {text[:24]} is too large for a float; write a finite "
                       "number")
    return value


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _Refused(f"duplicate key {key[:40]!r} in one object; keep one")
        out[key] = value
    return out


_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)


def json_depth(text: str) -> int:
    """Deepest nesting of ``[``/``{`` in JSON ``text`` (brackets inside strings ignored)."""
    bare = _STRING.sub("", text).encode("utf-8", "replace")
    codes = np.frombuffer(bare, dtype=np.uint8)
    step = (np.isin(codes, (ord("["), ord("{"))).astype(np.int64)
            - np.isin(codes, (ord("]"), ord("}"))).astype(np.int64))
    return int(np.cumsum(step).max(initial=0))


def read_submission(path: str | Path) -> tuple[Any, list[Problem]]:
    """The parsed JSON of ``path`` and no problems, or ``None`` and the one problem that stops
    reading it (check 1 of the module docstring)."""
    path = Path(path)

    def fail(code: str, message: str) -> tuple[None, list[Problem]]:
        return None, [Problem(code, message)]

    if path.is_symlink():
        return fail("file", f"{path} is a symbolic link; submit the JSON file itself")
    if not path.exists():
        return fail("file", f"{path} does not exist")
    if not stat.S_ISREG(path.lstat().st_mode):
        return fail("file", f"{path} is not a regular file; pass submission JSON files")
    size = path.lstat().st_size
    too_big = (f"a submission may be at most {MAX_SUBMISSION_BYTES} bytes (1 MB): keep "
               "per-episode data out of it")
    if size > MAX_SUBMISSION_BYTES:
        return fail("size", f"{path} is {size} bytes; {too_big}")
    with open(path, "rb") as fh:
        raw = fh.read(MAX_SUBMISSION_BYTES + 1)  # never more, even if the file grows
    if len(raw) > MAX_SUBMISSION_BYTES:
        return fail("size", f"{path} grew past {MAX_SUBMISSION_BYTES} bytes while being read; "
                    f"{too_big}")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return fail("file", f"{path} is not UTF-8 (byte {exc.start}); save it as UTF-8 JSON")
    depth = json_depth(text)
    if depth > MAX_JSON_DEPTH:
        return fail("file", f"{path} nests arrays/objects {depth} levels deep; a submission "
                    f"is at most {MAX_JSON_DEPTH} levels deep (the format needs 6)")
    try:
        data = json.loads(text, parse_constant=_json_constant, parse_int=_json_int,
                          parse_float=_json_float, object_pairs_hook=_unique_keys)
    except json.JSONDecodeError as exc:
        return fail("file", f"{path} is not valid JSON: {exc.msg} at line {exc.lineno} column "
                    f"{exc.colno}")
    except (_Refused, ValueError) as exc:
        return fail("file", f"{path}: {exc}")
    except RecursionError:
        return fail("file", f"{path} nests too deeply for the JSON reader; a submission is at "
                    f"most {MAX_JSON_DEPTH} levels deep")
    return data, []


_SHORT = reprlib.Repr()
_SHORT.maxlevel, _SHORT.maxlist, _SHORT.maxdict = 1, 3, 3
_SHORT.maxstring = _SHORT.maxother = 40


def _schema_problems(data: Any) -> list[Problem]:
    from jsonschema import Draft202012Validator

    validator = Draft202012Validator(SUBMISSION_SCHEMA)
    out = []
    for err in sorted(validator.iter_errors(data), key=lambda e: list(map(str, e.path))):
        where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in err.path) or "(top)"
        message = err.message
        if len(message) > 200:  # the offending value, shortened, and the rule it breaks
            message = message.replace(repr(err.instance), _SHORT.repr(err.instance))
        message = message if len(message) <= 300 else message[:300] + "..."
        out.append(Problem("schema", f"schema: at {where.lstrip('.')}: {message}"))
    return out


def check_budget(data: dict[str, Any]) -> list[Problem]:
    """At most :data:`~.schema.MAX_RERUN_EPISODES` episodes (seeds x episodes per seed, over
    every results dict): what the validator may be asked to re-run for one submission."""
    total = sum(len(r["seeds"]) * r["episodes_per_seed"] for r in data["results"])
    if total <= MAX_RERUN_EPISODES:
        return []
    parts = " + ".join(f"{len(r['seeds'])} seeds x {r['episodes_per_seed']}"
                       for r in data["results"])
    return [Problem("budget", f"the results request {parts} = {total} episodes; a submission "
                    f"may request at most {MAX_RERUN_EPISODES} episodes in all (e.g. seeds "
                    "0 1 2 x 100 episodes, the protocol's default): evaluate with fewer")]


# -- versions ---------------------------------------------------------------------------------


def _release(version: str) -> tuple[int, ...]:
    return tuple(int(x) for x in re.findall(r"\d+", version)[:3])


def _env_problems(env_id: str, where: str) -> list[Problem]:
    from persona_gym.envs import registered_ids

    ids = registered_ids()
    if env_id in ids:
        return []
    base = env_id.rsplit("-v", 1)[0]
    current = [i for i in ids if i.rsplit("-v", 1)[0] == base]
    if current:
        return [Problem("env-version", f"{where}: {env_id} is not the current version of this "
                        f"env ({', '.join(current)}); re-evaluate on {current[-1]} with this "
                        "persona_gym")]
    return [Problem("env-version", f"{where}: unknown env id {env_id}; registered ids: "
                    f"{', '.join(ids)}")]


def _version_problems(data: dict[str, Any]) -> list[Problem]:
    import persona_gym

    out = []
    envs_listed = list(data["env_ids"])
    envs_results = [r["env_id"] for r in data["results"]]
    dupes = sorted({e for e in envs_results if envs_results.count(e) > 1})
    if dupes:
        out.append(Problem("schema", f"results holds more than one entry for {', '.join(dupes)};"
                           " keep one results dict per env"))
    if sorted(set(envs_listed)) != sorted(set(envs_results)):
        out.append(Problem("schema", f"env_ids {envs_listed} must list exactly the envs of "
                           f"results ({envs_results})"))
    for env_id in envs_listed:
        out += _env_problems(env_id, "env_ids")
    protocols = {data["protocol_version"]} | {r["protocol_version"] for r in data["results"]}
    for p in sorted(protocols):
        if p < PROTOCOL_VERSION:
            out.append(Problem("protocol-version", f"protocol_version {p} is stale: this "
                               f"persona_gym evaluates with protocol {PROTOCOL_VERSION}; "
                               "re-run `persona-gym evaluate` and resubmit"))
        elif p > PROTOCOL_VERSION:
            out.append(Problem("protocol-version", f"protocol_version {p} is newer than this "
                               f"persona_gym's protocol {PROTOCOL_VERSION}; upgrade persona_gym "
                               "to validate it"))
    out += _reader_problems(data["results"])
    versions = {data["persona_gym_version"]} | {r["persona_gym_version"]
                                                for r in data["results"]}
    if len(versions) > 1:
        out.append(Problem("package-version", f"results were made with several persona_gym "
                           f"versions ({', '.join(sorted(versions))}); evaluate every env with "
                           "one version and set persona_gym_version to it"))
    newest = max(versions, key=_release)
    if _release(newest) > _release(persona_gym.__version__):
        out.append(Problem("package-version", f"persona_gym_version {newest} is newer than "
                           f"this validator's {persona_gym.__version__}; upgrade persona_gym"))
    return out


def _reader_problems(results: Sequence[dict[str, Any]]) -> list[Problem]:
    """A text variant's results must name the reader version this persona_gym reads free text
    with (its rewards are that reader's readings); other variants' results name none."""
    from persona_gym.envs import reader_version, registered_ids

    out = []
    for i, r in enumerate(results):
        if r["env_id"] not in registered_ids():
            continue  # reported as env-version
        want, got = reader_version(r["env_id"]).get("reader_version"), r.get("reader_version")
        where = f"results[{i}] ({r['env_id']})"
        if want is None and got is not None:
            out.append(Problem("reader-version", f"{where} is not a text variant but records "
                               "reader_version; remove it (only free-text rewards depend on "
                               "the reader)"))
        elif want is not None and got is None:
            out.append(Problem("reader-version", f"{where}: a text-variant result records the "
                               "reader_version its replies were read with; re-run `persona-gym "
                               "evaluate` with this persona_gym and resubmit"))
        elif want is not None and got != want:
            fix = ("re-run `persona-gym evaluate` and resubmit" if got < want
                   else "upgrade persona_gym to validate it")
            out.append(Problem("reader-version", f"{where}: read with reader_version {got}, "
                               f"this persona_gym reads free text with version {want}: {fix}"))
    return out


def _close(a: float, b: float, tol: float = NUMERIC_TOLERANCE) -> bool:
    return abs(a - b) <= tol * max(1.0, abs(a), abs(b))


def _contains(ci: Sequence[float | None], x: float, tol: float = NUMERIC_TOLERANCE) -> bool:
    lo, hi = ci
    return lo is not None and hi is not None and lo - tol <= x <= hi + tol


# -- the numbers: named checks of one results dict ---------------------------------------------


@dataclass
class ResultsView:
    """One results dict with what its checks need from the env's current task card."""

    r: dict[str, Any]
    env_id: str
    horizon: int
    ref_min: float
    ref_max: float
    line_lo: float
    line_hi: float
    version: int

    @classmethod
    def of(cls, r: dict[str, Any]) -> ResultsView:
        card, entry = card_of(r["env_id"])
        lo, hi = card.weights(r["env_id"]).line_bounds
        return cls(r, r["env_id"], entry.horizon, entry.ref_min_score, entry.ref_max_score,
                   lo, hi, entry.version)

    def norm(self, x: float) -> float:
        """A return as a normalized score, with the env's current reference scores."""
        return 100.0 * (x - self.ref_min) / (self.ref_max - self.ref_min)


def check_counts(v: ResultsView) -> list[str]:
    """``episodes = episodes_per_seed * len(seeds)``; per_seed lists the seeds in order, each
    with ``episodes_per_seed`` episodes."""
    r, out = v.r, []
    seeds, n_per, n = r["seeds"], r["episodes_per_seed"], r["episodes"]
    if n != n_per * len(seeds):
        out.append(f"episodes {n} != episodes_per_seed {n_per} x {len(seeds)} seeds")
    listed = [s["seed"] for s in r["per_seed"]]
    if listed != list(seeds):
        out.append(f"per_seed lists seeds {listed}, expected {list(seeds)}")
    wrong = [s["seed"] for s in r["per_seed"] if s["episodes"] != n_per]
    if wrong:
        out.append(f"per_seed episodes differ from episodes_per_seed {n_per} for seeds {wrong}")
    return out


def check_reference_scores(v: ResultsView) -> list[str]:
    """The reference scores are the task card's current ones."""
    lo, hi = v.r["ref_min_score"], v.r["ref_max_score"]
    if _close(lo, v.ref_min) and _close(hi, v.ref_max):
        return []
    return [f"reference scores ({lo}, {hi}) are not {v.env_id}'s current ones ({v.ref_min}, "
            f"{v.ref_max}); re-evaluate with this persona_gym"]


def check_score_identities(v: ResultsView) -> list[str]:
    """The normalized score and the mean return are the means of their per-seed values;
    normalized scores (pooled, per seed, CI ends) are ``100 * (R - ref_min) / (ref_max -
    ref_min)`` of the returns; every CI contains its mean."""
    r, out = v.r, []
    score, ret = r["normalized_score"], r["return_mean"]
    seed_scores = [s["normalized_score"] for s in r["per_seed"]]
    seed_returns = [s["return_mean"] for s in r["per_seed"]]
    if not _close(score, float(np.mean(seed_scores))):
        out.append(f"normalized_score {score:.6g} is not the mean of per_seed normalized_score "
                   f"({float(np.mean(seed_scores)):.6g})")
    if not _close(ret, float(np.mean(seed_returns))):
        out.append(f"return_mean {ret:.6g} is not the mean of per_seed return_mean "
                   f"({float(np.mean(seed_returns)):.6g})")
    if not _close(score, v.norm(ret)):
        out.append(f"normalized_score {score:.6g} does not match return_mean {ret:.6g} "
                   f"(100 * (R - ref_min) / (ref_max - ref_min) = {v.norm(ret):.6g})")
    for s in r["per_seed"]:
        if not _close(s["normalized_score"], v.norm(s["return_mean"])):
            out.append(f"per_seed seed {s['seed']}: normalized_score {s['normalized_score']:.6g}"
                       f" does not match its return_mean ({v.norm(s['return_mean']):.6g})")
    ci, rci = r["normalized_score_ci"], r["return_ci"]
    if not (_close(ci[0], v.norm(rci[0])) and _close(ci[1], v.norm(rci[1]))):
        out.append(f"normalized_score_ci {ci} is not return_ci {rci} converted to normalized "
                   "scores")
    for name, interval, mean in (("normalized_score_ci", ci, score), ("return_ci", rci, ret)):
        if not _contains(interval, mean):
            out.append(f"{name} {interval} does not contain the mean {mean:.6g}")
    return out


def check_return_plausibility(v: ResultsView) -> list[str]:
    """Returns lie within the horizon times the reward's range; the return CI is no wider than
    ``WIDE_CI_FACTOR * span / sqrt(episodes)`` (Cantelli's bound on a bootstrap interval, for
    returns of range ``span``) and no narrower than ``NARROW_CI_SLACK * 3.92 * sd(per-seed
    means) / sqrt(episodes)`` (the spread between seeds bounds the spread between episodes)."""
    r, out = v.r, []
    ret, rci, n = r["return_mean"], r["return_ci"], r["episodes"]
    span = v.horizon * (v.line_hi - v.line_lo)
    lo_bound, hi_bound = v.horizon * v.line_lo, v.horizon * v.line_hi
    if not lo_bound - NUMERIC_TOLERANCE <= ret <= hi_bound + NUMERIC_TOLERANCE:
        out.append(f"return_mean {ret:.6g} is outside the reachable range [{lo_bound:g}, "
                   f"{hi_bound:g}] of {v.env_id}")
    width = rci[1] - rci[0]
    widest = min(span, WIDE_CI_FACTOR * span / math.sqrt(max(n, 1)))
    if width > widest + NUMERIC_TOLERANCE:
        out.append(f"return_ci {rci} is implausibly wide for {n} episodes (width {width:.4g} > "
                   f"{widest:.4g}, the most a 95% bootstrap interval of returns in a range of "
                   f"{span:g} can span)")
    seed_returns = [s["return_mean"] for s in r["per_seed"]]
    narrowest = NARROW_CI_SLACK * 3.92 * float(np.std(seed_returns)) / math.sqrt(max(n, 1))
    if width < narrowest - NUMERIC_TOLERANCE:
        out.append(f"return_ci {rci} is implausibly narrow (width {width:.4g}): the per-seed "
                   f"mean returns {[round(x, 4) for x in seed_returns]} alone imply a width of "
                   f"at least {narrowest:.4g}")
    return out


def check_metrics(v: ResultsView) -> list[str]:
    """Every metric's CI contains its mean; the mean is the mean of its per-seed values (qa,
    averaged over question turns, and metrics with null seeds lie between them)."""
    r, out = v.r, []
    for m in (m for m in METRICS if m in r["metrics"]):  # v0 results lack v1's additions
        mean, mci = r["metrics"][m]["mean"], r["metrics"][m]["ci"]
        seed_vals = [s["metrics"][m] for s in r["per_seed"]]
        known = [x for x in seed_vals if x is not None]
        if mean is None:
            if known:
                out.append(f"metrics.{m}.mean is null but per_seed has values {known}")
            continue
        if not known:
            out.append(f"metrics.{m}.mean is {mean:.6g} but every per_seed value is null")
            continue
        if not _contains(mci, mean):
            out.append(f"metrics.{m}.ci {mci} does not contain the mean {mean:.6g}")
        if m == "qa" or len(known) < len(seed_vals):
            if not min(known) - NUMERIC_TOLERANCE <= mean <= max(known) + NUMERIC_TOLERANCE:
                out.append(f"metrics.{m}.mean {mean:.6g} lies outside its per-seed values "
                           f"{known}")
        elif not _close(mean, float(np.mean(known))):
            out.append(f"metrics.{m}.mean {mean:.6g} is not the mean of its per-seed values "
                       f"({float(np.mean(known)):.6g})")
    return out


def check_by_turn(v: ResultsView) -> list[str]:
    """by_turn has one entry per turn of the horizon; on v0, where every episode runs to the
    horizon, its p2l, l2l and relevance averages equal the metric means. On v1 a partner may
    leave early, so late turns average fewer episodes (or none: null) and the two differ."""
    r, out = v.r, []
    for m in BY_TURN_METRICS:
        values = r["by_turn"][m]
        if len(values) != v.horizon:
            out.append(f"by_turn.{m} has {len(values)} entries; {v.env_id} has a horizon of "
                       f"{v.horizon}")
            continue
        if m == "qa":
            continue
        if v.version >= 1:
            if values[0] is None:
                out.append(f"by_turn.{m}[0] is null; every episode has a first turn")
            continue
        if any(x is None for x in values):
            out.append(f"by_turn.{m} has null entries; every turn has a {m} score")
            continue
        mean = r["metrics"][m]["mean"]
        if mean is not None and not _close(float(np.mean(values)), mean):
            out.append(f"by_turn.{m} averages {float(np.mean(values)):.6g} but metrics.{m}.mean "
                       f"is {mean:.6g} (every episode has {v.horizon} turns, so they must agree)")
    return out


RESULT_CHECKS: tuple[Callable[[ResultsView], list[str]], ...] = (
    check_counts, check_reference_scores, check_score_identities, check_return_plausibility,
    check_metrics, check_by_turn)
"""The internal-consistency checks of one results dict, in order; each returns messages."""


def _check_results(r: dict[str, Any], where: str) -> list[Problem]:
    """Every :data:`RESULT_CHECKS` check of one results dict, as ``inconsistent`` problems."""
    view = ResultsView.of(r)
    return [Problem("inconsistent", f"{where}: {message}")
            for check in RESULT_CHECKS for message in check(view)]


# -- the artifact -----------------------------------------------------------------------------


def _artifact_file(sub_path: Path, rel: str) -> tuple[Path | None, list[Problem]]:
    """Resolve ``rel`` inside the submission's folder, refusing anything that could escape it."""

    def fail(code: str, message: str) -> tuple[None, list[Problem]]:
        return None, [Problem(code, f"artifact.path {rel!r}: {message}")]

    posix = PurePosixPath(rel)
    if posix.is_absolute() or PureWindowsPath(rel).is_absolute() or PureWindowsPath(rel).drive:
        return fail("artifact-path", "is absolute; give a path relative to the submission's "
                    "folder, e.g. my-method/policy.onnx")
    if "\\" in rel or any(p == ".." for p in posix.parts):
        return fail("artifact-path", "leaves the submission's folder ('..' or '\\'); put the "
                    "file next to the submission or below it")
    base = sub_path.parent.resolve()
    current = base
    for part in posix.parts:
        current = current / part
        if current.is_symlink():
            return fail("artifact-symlink", f"{current} is a symbolic link; commit the file "
                        "itself")
    if not current.exists():
        return fail("artifact-path", f"no file at {current}")
    info = current.lstat()
    if not stat.S_ISREG(info.st_mode):
        return fail("artifact-path", f"{current} is not a regular file")
    if not current.resolve().is_relative_to(base):
        return fail("artifact-path", "resolves outside the submission's folder")
    if info.st_size > MAX_ARTIFACT_BYTES:
        return fail("size", f"{info.st_size} bytes; a policy artifact may be at most "
                    f"{MAX_ARTIFACT_BYTES} bytes (50 MB)")
    return current, []


def sha256_matches(file: Path, artifact: dict[str, Any]) -> list[Problem]:
    """The artifact's bytes hash to the submitted sha256."""
    actual = sha256_file(file)
    if actual == artifact["sha256"]:
        return []
    return [Problem("artifact-hash", f"artifact {artifact['path']!r} has sha256 {actual}, not "
                    f"the submitted {artifact['sha256']}; the file changed after submission or "
                    "the hash is wrong")]


def check_artifact_format(file: Path) -> list[Problem]:
    """The artifact is a checked ONNX graph (persona_gym/artifacts.py); TorchScript, pickle
    and anything else are refused before anything loads them."""
    from persona_gym.artifacts import ArtifactError, check_onnx

    try:
        check_onnx(file)
    except ArtifactError as exc:
        return [Problem("artifact-format", str(exc))]
    return []


def _rerun_problems(artifact: Path, results: list[dict[str, Any]], limits: Limits,
                    progress: Callable[[int], object] | None = None) -> list[Problem]:
    """Re-evaluate the artifact in the sandbox with each results dict's seeds and episodes
    and compare."""
    from persona_gym.leaderboard.sandbox import rerun_in_child

    for i, r in enumerate(results):
        if env_entry(r["env_id"]).variant == "text":
            return [Problem("artifact-run", f"results[{i}] ({r['env_id']}): a policy artifact "
                            "acts on vector observations; a text variant cannot be re-run from "
                            "an artifact (submit it without one: it is listed as unverified)")]
    runs = [{"env_id": r["env_id"], "seeds": r["seeds"], "episodes": r["episodes_per_seed"]}
            for r in results]
    try:
        fresh_all = rerun_in_child(artifact, runs, limits, progress)
    except LimitExceeded as exc:
        return [Problem("limit", f"{artifact.name}: {exc}")]
    except SandboxError as exc:
        return [Problem("artifact-run", f"{artifact.name}: {exc}")]
    out = []
    for i, (r, fresh) in enumerate(zip(results, fresh_all, strict=True)):
        diffs = []
        if abs(fresh["normalized_score"] - r["normalized_score"]) > RERUN_TOLERANCE:
            diffs.append(f"normalized_score {r['normalized_score']:.3f} submitted, "
                         f"{fresh['normalized_score']:.3f} re-run")
        for m in (m for m in METRICS if m in r["metrics"]):
            a, b = r["metrics"][m]["mean"], fresh["metrics"][m]["mean"]
            if (a is None) != (b is None) or (a is not None and abs(a - b) > METRIC_TOLERANCE):
                diffs.append(f"{m} {a} submitted, {b} re-run")
        if diffs:
            out.append(Problem("not-reproduced", f"results[{i}] ({r['env_id']}): re-evaluating "
                               f"the artifact with the submitted seeds {r['seeds']} x "
                               f"{r['episodes_per_seed']} episodes does not reproduce the "
                               f"results: {'; '.join(diffs)} (tolerance {RERUN_TOLERANCE} "
                               f"normalized-score points, {METRIC_TOLERANCE} per metric)"))
    return out


# -- the validator ----------------------------------------------------------------------------


@dataclass
class _Rerun:
    """A submission that passed every other check and has an artifact to re-evaluate."""

    report: Report
    artifact: Path
    data: dict[str, Any]

    @property
    def episodes(self) -> int:
        return sum(len(r["seeds"]) * r["episodes_per_seed"] for r in self.data["results"])

    def run(self, limits: Limits, progress: Callable[[int], object] | None = None) -> None:
        """Re-evaluate the artifact and complete the report. The child's progress counts only
        move a progress display; they are capped at this submission's episodes all the same."""
        shown = 0

        def capped(n: int) -> None:
            nonlocal shown
            step = max(0, min(n, self.episodes - shown))
            shown += step
            if step and progress is not None:
                progress(step)

        self.report.problems += _rerun_problems(self.artifact, self.data["results"], limits,
                                                None if progress is None else capped)
        self.report.reproduced = not self.report.problems
        if not self.report.problems:
            self.report.submission = self.data


def _check_submission(path: str | Path, rerun: bool) -> tuple[Report, _Rerun | None]:
    """Every check but the re-evaluation; with ``rerun``, what is left to re-evaluate (None
    when the report is final)."""
    report = Report(Path(path))
    data, report.problems = read_submission(report.path)
    if report.problems:
        return report, None
    report.problems += _schema_problems(data)
    if report.problems:
        return report, None
    report.problems += check_budget(data)
    report.problems += _version_problems(data)
    if any(p.code in ("env-version", "protocol-version") for p in report.problems):
        return report, None  # the numbers cannot be checked against another env or protocol
    for i, r in enumerate(data["results"]):
        report.problems += _check_results(r, f"results[{i}] ({r['env_id']})")
    artifact = data.get("artifact")
    if artifact is not None:
        file, problems = _artifact_file(report.path, artifact["path"])
        report.problems += problems
        if file is not None:
            report.problems += sha256_matches(file, artifact) or check_artifact_format(file)
            if rerun and not report.problems:
                return report, _Rerun(report, file, data)
    if not report.problems:
        report.submission = data
    return report, None


def validate_submission(path: str | Path, rerun: bool = True,
                        limits: Limits = DEFAULT_LIMITS) -> Report:
    """Check one submission file; every problem found is in the report (none: it passes).

    ``rerun=False`` skips only the artifact's re-evaluation (its path, size, hash and ONNX
    checks still run). ``limits`` bound the re-evaluation (:class:`~.sandbox.Limits`).
    """
    report, pending = _check_submission(path, rerun)
    if pending is not None:
        pending.run(limits)
    return report


def _internal(path: Any, exc: BaseException) -> list[Problem]:
    first = str(exc).splitlines()[0][:200] if str(exc) else ""
    return [Problem("internal", f"{path} could not be checked ({type(exc).__name__}: {first}); "
                    "the file is rejected: fix what the message names, or report the validator "
                    "bug")]


def validate_files(paths: Iterable[str | Path], rerun: bool = True,
                   limits: Limits = DEFAULT_LIMITS, open_bar: OpenBar | None = None,
                   ) -> list[Report]:
    """:func:`validate_submission` for each path; every path gets its report, even when
    checking one of them fails in a way the checks did not foresee (an ``internal``
    problem for that file; the other files are still checked).

    Every file is checked first; the artifacts that passed are then re-evaluated, with a
    progress bar from ``open_bar`` (e.g. :func:`persona_gym.progress.progress`) over the
    episodes they re-run."""
    reports: list[Report] = []
    pending: list[_Rerun] = []
    for p in paths:
        try:
            report, rerun_left = _check_submission(p, rerun)
        except (Exception, RecursionError, MemoryError) as exc:
            report, rerun_left = Report(Path(str(p)), _internal(p, exc)), None
        reports.append(report)
        if rerun_left is not None:
            pending.append(rerun_left)
    if not pending:
        return reports
    bar = (open_bar(sum(r.episodes for r in pending), f"re-run {len(pending)} artifact(s)")
           if open_bar is not None else nullcontext())
    with bar as shown:
        for item in pending:
            try:
                item.run(limits, None if shown is None else shown.update)
            except (Exception, RecursionError, MemoryError) as exc:
                item.report.problems = _internal(item.report.path, exc)
                item.report.submission = None
    return reports


def format_report(report: Report) -> str:
    """Human-readable verdict: ``OK path`` (with whether the artifact was re-run, or that the
    submission is unverified) or ``REJECTED path`` and one line per problem."""
    if report.ok:
        if report.reproduced:
            extra = " (artifact re-evaluated: results reproduced; ranked)"
        elif report.verified:
            extra = " (artifact hash and format checked, not re-run; ranked)"
        else:
            extra = (" (UNVERIFIED: no policy artifact, results not re-run; listed apart, "
                     "not ranked)")
        return f"OK {report.path}{extra}"
    lines = [f"REJECTED {report.path}: {len(report.problems)} problem(s)"]
    lines += [f"  - {p}" for p in report.problems]
    return "\n".join(lines)
