"""The leaderboard: the submission format, its validator, and the static site.

A submission is one JSON file under ``leaderboard/submissions/`` (format in
``leaderboard/README.md``; JSON Schema in :data:`SUBMISSION_SCHEMA`, exported as
``leaderboard/schema.json``). Submissions come from strangers, so everything here treats them as
untrusted input:

- :func:`validate_submission` checks, in order: the file itself (a regular file, at most
  :data:`MAX_SUBMISSION_BYTES`, strict UTF-8 JSON without duplicate keys), the schema, the
  versions (env ids registered at their current ``-vN``, :data:`PROTOCOL_VERSION`, persona_gym
  version), the internal consistency of every results dict (see :func:`_check_results`), and the
  optional policy artifact (a regular file inside the submission's folder, no symlinks, at most
  :data:`MAX_ARTIFACT_BYTES`, matching sha256). With ``rerun=True`` the artifact is then loaded
  as TorchScript and re-evaluated with the submission's own seeds and episode counts; a result
  further than :data:`RERUN_TOLERANCE` normalized-score points (or :data:`METRIC_TOLERANCE` on a
  metric mean) from the submitted one is rejected. Every problem is reported, one
  :class:`Problem` each, with a stable ``code``.
- :func:`build_site` publishes only submissions that pass, as plain HTML with inline CSS and one
  small inline script (the table sorter), pinned by a Content-Security-Policy hash. Every
  submitted string is HTML-escaped; URLs become links only when they are ``http(s)``. Nothing
  from a submission is ever executed: no pickle anywhere, and artifacts are only loaded by the
  validator's re-run.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import math
import os
import re
import shutil
import stat
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any
from urllib.parse import urlsplit

import gymnasium as gym
import numpy as np

from persona_gym.cards import load_card
from persona_gym.evaluation import (
    BY_TURN_METRICS,
    PROTOCOL_VERSION,
    RESULTS_FORMAT,
    env_entry,
)
from persona_gym.judges.symbolic import METRICS

SUBMISSION_FORMAT = "persona_gym.submission"
MAX_SUBMISSION_BYTES = 1_000_000
"""Largest accepted submission JSON file (bytes, 1 MB)."""
MAX_ARTIFACT_BYTES = 50_000_000
"""Largest accepted policy artifact (bytes, 50 MB)."""
RERUN_TOLERANCE = 1.0
"""Largest accepted |submitted - re-run| normalized score, in points (see leaderboard/README.md:
evaluation is deterministic, so a faithful submission reproduces exactly on the same kind of
machine; the slack absorbs float differences between CPUs, GPUs and torch builds that can flip a
near-tied argmax in a few episodes)."""
METRIC_TOLERANCE = 0.02
"""Largest accepted |submitted - re-run| difference of a metric mean (metrics lie in [0, 1])."""
NUMERIC_TOLERANCE = 1e-6
"""Slack for identities that hold up to float rounding (means of means, score conversions)."""
NARROW_CI_SLACK = 0.25
WIDE_CI_FACTOR = 7.0
MAX_SCALING_PLOT_BYTES = 5_000_000
SITE_MARKER = ".persona_gym_site"
"""File that marks a folder as a built site, which ``build`` may replace."""

_ENV_ID = r"^persona_gym/[A-Z][A-Za-z]*-v[0-9]+$"
_VERSION = r"^[0-9]+\.[0-9]+\.[0-9]+([.+-]?[A-Za-z0-9.]+)?$"
_ONE_LINE = "^[^\\u0000-\\u001f\\u007f]+$"
_UNIT = {"type": ["number", "null"], "minimum": 0, "maximum": 1}


def _interval(nullable: bool) -> dict[str, Any]:
    item: dict[str, Any] = {"type": ["number", "null"] if nullable else "number"}
    return {"type": "array", "prefixItems": [item, item], "items": False, "minItems": 2}


def _text(max_length: int, one_line: bool = True) -> dict[str, Any]:
    out: dict[str, Any] = {"type": "string", "minLength": 1, "maxLength": max_length}
    if one_line:
        out["pattern"] = _ONE_LINE
    return out


_SEEDS = {"type": "integer", "minimum": 0, "maximum": 2**31 - 1}
_URL = {"type": "string", "maxLength": 500, "pattern": "^https?://[^\\s]+$"}

SUBMISSION_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": "urn:persona-gym:leaderboard:submission:1",
    "title": "persona_gym leaderboard submission",
    "description": "One method's official evaluation results on one or more persona_gym envs. "
    "Documented in leaderboard/README.md; generated from persona_gym.leaderboard."
    "SUBMISSION_SCHEMA (`persona-gym leaderboard schema`).",
    "type": "object",
    "additionalProperties": False,
    "required": ["format", "format_version", "method", "submitter", "description", "env_ids",
                 "persona_gym_version", "protocol_version", "results"],
    "properties": {
        "format": {"const": SUBMISSION_FORMAT},
        "format_version": {"const": 1},
        "method": {**_text(120), "description": "the method's name, as shown in the tables"},
        "submitter": {**_text(200), "description": "people or group submitting"},
        "description": {**_text(4000, one_line=False), "description": "what the method is"},
        "paper_url": {**_URL, "description": "optional http(s) link to a paper"},
        "code_url": {**_URL, "description": "optional http(s) link to the code"},
        "date": {"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$",
                 "description": "optional submission date, YYYY-MM-DD"},
        "env_ids": {"type": "array", "minItems": 1, "maxItems": 50, "uniqueItems": True,
                    "items": {"type": "string", "pattern": _ENV_ID},
                    "description": "the env ids (with -vN) of the results, one each"},
        "dataset_ids": {"type": "array", "maxItems": 50, "uniqueItems": True,
                        "items": _text(200),
                        "description": "optional: datasets the method trained on"},
        "persona_gym_version": {"type": "string", "pattern": _VERSION},
        "protocol_version": {"type": "integer", "minimum": 0},
        "command": {**_text(2000, one_line=False),
                    "description": "optional: the command that produced the results"},
        "training": {
            "type": "object", "additionalProperties": False,
            "description": "optional: how the policy was trained",
            "properties": {
                "algo": _text(100), "dataset": _text(200),
                "steps": {"type": "integer", "minimum": 0}, "seed": {"type": "integer"},
                "notes": _text(2000, one_line=False),
            },
        },
        "artifact": {
            "type": "object", "additionalProperties": False,
            "required": ["path", "sha256", "format"],
            "description": "optional policy file, re-evaluated by the validator on every env",
            "properties": {
                "path": {**_text(300), "description": "relative to the submission's folder"},
                "sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
                "format": {"const": "torchscript"},
            },
        },
        "results": {"type": "array", "minItems": 1, "maxItems": 50,
                    "items": {"$ref": "#/$defs/results"}},
    },
    "$defs": {
        "results": {
            "description": "The output of persona_gym.evaluation.evaluate (persona-gym "
            "evaluate --out), unchanged.",
            "type": "object",
            "additionalProperties": False,
            "required": ["format", "format_version", "protocol_version", "persona_gym_version",
                         "env_id", "policy", "split", "seeds", "episodes_per_seed", "episodes",
                         "normalized_score", "normalized_score_ci", "return_mean", "return_ci",
                         "metrics", "by_turn", "ref_min_score", "ref_max_score", "per_seed"],
            "properties": {
                "format": {"const": RESULTS_FORMAT},
                "format_version": {"const": 1},
                "protocol_version": {"type": "integer", "minimum": 0},
                "persona_gym_version": {"type": "string", "pattern": _VERSION},
                "env_id": {"type": "string", "pattern": _ENV_ID},
                "policy": {"type": "string", "maxLength": 500},
                "split": {"const": "test"},
                "seeds": {"type": "array", "minItems": 1, "maxItems": 20, "uniqueItems": True,
                          "items": _SEEDS},
                "episodes_per_seed": {"type": "integer", "minimum": 1, "maximum": 100_000},
                "episodes": {"type": "integer", "minimum": 1},
                "normalized_score": {"type": "number"},
                "normalized_score_ci": _interval(False),
                "return_mean": {"type": "number"},
                "return_ci": _interval(False),
                "metrics": {
                    "type": "object", "additionalProperties": False, "required": list(METRICS),
                    "properties": {m: {"$ref": "#/$defs/metric"} for m in METRICS},
                },
                "by_turn": {
                    "type": "object", "additionalProperties": False,
                    "required": list(BY_TURN_METRICS),
                    "properties": {m: {"type": "array", "maxItems": 1000, "items": _UNIT}
                                   for m in BY_TURN_METRICS},
                },
                "ref_min_score": {"type": "number"},
                "ref_max_score": {"type": "number"},
                "per_seed": {"type": "array", "minItems": 1, "maxItems": 20,
                             "items": {"$ref": "#/$defs/seed_result"}},
            },
        },
        "metric": {
            "type": "object", "additionalProperties": False, "required": ["mean", "ci"],
            "properties": {"mean": _UNIT, "ci": _interval(True)},
        },
        "seed_result": {
            "type": "object", "additionalProperties": False,
            "required": ["seed", "episodes", "normalized_score", "return_mean", "metrics"],
            "properties": {
                "seed": _SEEDS,
                "episodes": {"type": "integer", "minimum": 1},
                "normalized_score": {"type": "number"},
                "return_mean": {"type": "number"},
                "metrics": {"type": "object", "additionalProperties": False,
                            "required": list(METRICS),
                            "properties": {m: _UNIT for m in METRICS}},
            },
        },
    },
}
"""JSON Schema (draft 2020-12) of a submission; ``leaderboard/schema.json`` is its export."""


class LeaderboardError(ValueError):
    """A leaderboard operation cannot proceed; the message names the problem and the fix."""


class SubmissionsRejected(LeaderboardError):
    """``build`` found submissions that fail validation (the message lists every problem)."""


@dataclass(frozen=True)
class Problem:
    """One reason to reject a submission: a stable ``code`` and a message naming the fix.

    Codes: ``file``, ``size``, ``schema``, ``env-version``, ``protocol-version``,
    ``package-version``, ``inconsistent``, ``artifact-path``, ``artifact-symlink``,
    ``artifact-hash``, ``artifact-run``, ``not-reproduced``.
    """

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


# -- reading ----------------------------------------------------------------------------------


def _json_constant(name: str) -> None:
    if name == "NaN":  # Python's json writes NaN for an undefined value; read it as null
        return None
    raise ValueError(f"non-standard JSON number {name}; write a finite number or null")


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"duplicate key {key!r} in one object; keep one")
        out[key] = value
    return out


def _read_submission(path: Path, report: Report) -> dict[str, Any] | None:
    def fail(code: str, message: str) -> None:
        report.problems.append(Problem(code, message))

    if path.is_symlink():
        fail("file", f"{path} is a symbolic link; submit the JSON file itself")
        return None
    if not path.exists():
        fail("file", f"{path} does not exist")
        return None
    if not stat.S_ISREG(path.lstat().st_mode):
        fail("file", f"{path} is not a regular file; pass submission JSON files")
        return None
    size = path.lstat().st_size
    if size > MAX_SUBMISSION_BYTES:
        fail("size", f"{path} is {size} bytes; a submission may be at most "
                     f"{MAX_SUBMISSION_BYTES} bytes (1 MB): keep per-episode data out of it")
        return None
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        fail("file", f"{path} is not UTF-8 (byte {exc.start}); save it as UTF-8 JSON")
        return None
    try:
        data = json.loads(text, parse_constant=_json_constant, object_pairs_hook=_unique_keys)
    except json.JSONDecodeError as exc:
        fail("file", f"{path} is not valid JSON: {exc.msg} at line {exc.lineno} column "
                     f"{exc.colno}")
        return None
    except ValueError as exc:
        fail("file", f"{path}: {exc}")
        return None
    return data


def _schema_problems(data: Any) -> list[Problem]:
    from jsonschema import Draft202012Validator

    validator = Draft202012Validator(SUBMISSION_SCHEMA)
    out = []
    for err in sorted(validator.iter_errors(data), key=lambda e: list(map(str, e.path))):
        where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in err.path) or "(top)"
        message = err.message if len(err.message) <= 200 else err.message[:200] + "..."
        out.append(Problem("schema", f"schema: at {where.lstrip('.')}: {message}"))
    return out


# -- versions and numbers ---------------------------------------------------------------------


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


def _close(a: float, b: float, tol: float = NUMERIC_TOLERANCE) -> bool:
    return abs(a - b) <= tol * max(1.0, abs(a), abs(b))


def _contains(ci: Sequence[float | None], x: float, tol: float = NUMERIC_TOLERANCE) -> bool:
    lo, hi = ci
    return lo is not None and hi is not None and lo - tol <= x <= hi + tol


def _check_results(r: dict[str, Any], where: str) -> list[Problem]:
    """Internal consistency of one results dict against the current task card.

    Identities that hold exactly (up to float rounding) for the output of ``evaluate``:
    ``episodes = episodes_per_seed * len(seeds)``; per_seed lists the seeds in order with
    ``episodes_per_seed`` each; reference scores are the task card's; the normalized score, the
    mean return and every metric except qa are the means of their per-seed values (qa, averaged
    over question turns, lies between the per-seed values); normalized scores (pooled, per seed
    and CI ends) are ``100 * (R - ref_min) / (ref_max - ref_min)`` of the returns; by_turn has one
    entry per turn of the horizon and its means equal the p2l, l2l and relevance means.

    Plausibility bounds that every honest run satisfies: every CI contains its mean; returns lie
    within the horizon times the reward's range; the return CI is no wider than
    ``WIDE_CI_FACTOR * span / sqrt(episodes)`` (Cantelli's bound on a bootstrap interval, for
    returns of range ``span``) and no narrower than ``NARROW_CI_SLACK * 3.92 * sd(per-seed
    means) / sqrt(episodes)`` (the spread between seeds bounds the spread between episodes).
    """
    out: list[Problem] = []

    def bad(message: str) -> None:
        out.append(Problem("inconsistent", f"{where}: {message}"))

    env_id = r["env_id"]
    entry = env_entry(env_id)
    weights = load_card(gym.registry[env_id].kwargs["card"]).reward
    seeds, n_per, n = r["seeds"], r["episodes_per_seed"], r["episodes"]
    per_seed = r["per_seed"]
    if n != n_per * len(seeds):
        bad(f"episodes {n} != episodes_per_seed {n_per} x {len(seeds)} seeds")
    if [s["seed"] for s in per_seed] != list(seeds):
        bad(f"per_seed lists seeds {[s['seed'] for s in per_seed]}, expected {list(seeds)}")
    wrong = [s["seed"] for s in per_seed if s["episodes"] != n_per]
    if wrong:
        bad(f"per_seed episodes differ from episodes_per_seed {n_per} for seeds {wrong}")
    ref_min, ref_max = r["ref_min_score"], r["ref_max_score"]
    if not (_close(ref_min, entry.ref_min_score) and _close(ref_max, entry.ref_max_score)):
        bad(f"reference scores ({ref_min}, {ref_max}) are not {env_id}'s current ones "
            f"({entry.ref_min_score}, {entry.ref_max_score}); re-evaluate with this persona_gym")
        ref_min, ref_max = entry.ref_min_score, entry.ref_max_score

    def norm(x: float) -> float:
        return 100.0 * (x - ref_min) / (ref_max - ref_min)

    score, ret = r["normalized_score"], r["return_mean"]
    seed_scores = [s["normalized_score"] for s in per_seed]
    seed_returns = [s["return_mean"] for s in per_seed]
    if not _close(score, float(np.mean(seed_scores))):
        bad(f"normalized_score {score:.6g} is not the mean of per_seed normalized_score "
            f"({float(np.mean(seed_scores)):.6g})")
    if not _close(ret, float(np.mean(seed_returns))):
        bad(f"return_mean {ret:.6g} is not the mean of per_seed return_mean "
            f"({float(np.mean(seed_returns)):.6g})")
    if not _close(score, norm(ret)):
        bad(f"normalized_score {score:.6g} does not match return_mean {ret:.6g} "
            f"(100 * (R - ref_min) / (ref_max - ref_min) = {norm(ret):.6g})")
    for s in per_seed:
        if not _close(s["normalized_score"], norm(s["return_mean"])):
            bad(f"per_seed seed {s['seed']}: normalized_score {s['normalized_score']:.6g} does "
                f"not match its return_mean ({norm(s['return_mean']):.6g})")
    ci, rci = r["normalized_score_ci"], r["return_ci"]
    if not (_close(ci[0], norm(rci[0])) and _close(ci[1], norm(rci[1]))):
        bad(f"normalized_score_ci {ci} is not return_ci {rci} converted to normalized scores")
    for name, interval, mean in (("normalized_score_ci", ci, score), ("return_ci", rci, ret)):
        if not _contains(interval, mean):
            bad(f"{name} {interval} does not contain the mean {mean:.6g}")

    horizon = entry.horizon
    line_lo = -(weights.contradiction + weights.repetition)
    line_hi = weights.p2l + weights.l2l + weights.qa
    span = horizon * (line_hi - line_lo)
    if not horizon * line_lo - NUMERIC_TOLERANCE <= ret <= horizon * line_hi + NUMERIC_TOLERANCE:
        bad(f"return_mean {ret:.6g} is outside the reachable range [{horizon * line_lo:g}, "
            f"{horizon * line_hi:g}] of {env_id}")
    width = rci[1] - rci[0]
    widest = min(span, WIDE_CI_FACTOR * span / math.sqrt(n))
    if width > widest + NUMERIC_TOLERANCE:
        bad(f"return_ci {rci} is implausibly wide for {n} episodes (width {width:.4g} > "
            f"{widest:.4g}, the most a 95% bootstrap interval of returns in a range of "
            f"{span:g} can span)")
    narrowest = NARROW_CI_SLACK * 3.92 * float(np.std(seed_returns)) / math.sqrt(n)
    if width < narrowest - NUMERIC_TOLERANCE:
        bad(f"return_ci {rci} is implausibly narrow (width {width:.4g}): the per-seed mean "
            f"returns {[round(x, 4) for x in seed_returns]} alone imply a width of at least "
            f"{narrowest:.4g}")

    for m in METRICS:
        mean, mci = r["metrics"][m]["mean"], r["metrics"][m]["ci"]
        seed_vals = [s["metrics"][m] for s in per_seed]
        known = [v for v in seed_vals if v is not None]
        if mean is None:
            if known:
                bad(f"metrics.{m}.mean is null but per_seed has values {known}")
            continue
        if not known:
            bad(f"metrics.{m}.mean is {mean:.6g} but every per_seed value is null")
            continue
        if not _contains(mci, mean):
            bad(f"metrics.{m}.ci {mci} does not contain the mean {mean:.6g}")
        if m == "qa" or len(known) < len(seed_vals):
            if not min(known) - NUMERIC_TOLERANCE <= mean <= max(known) + NUMERIC_TOLERANCE:
                bad(f"metrics.{m}.mean {mean:.6g} lies outside its per-seed values {known}")
        elif not _close(mean, float(np.mean(known))):
            bad(f"metrics.{m}.mean {mean:.6g} is not the mean of its per-seed values "
                f"({float(np.mean(known)):.6g})")
    for m in BY_TURN_METRICS:
        values = r["by_turn"][m]
        if len(values) != horizon:
            bad(f"by_turn.{m} has {len(values)} entries; {env_id} has a horizon of {horizon}")
            continue
        if m == "qa":
            continue
        if any(v is None for v in values):
            bad(f"by_turn.{m} has null entries; every turn has a {m} score")
            continue
        mean = r["metrics"][m]["mean"]
        if mean is not None and not _close(float(np.mean(values)), mean):
            bad(f"by_turn.{m} averages {float(np.mean(values)):.6g} but metrics.{m}.mean is "
                f"{mean:.6g} (every episode has {horizon} turns, so they must agree)")
    return out


# -- the artifact -----------------------------------------------------------------------------


def _artifact_file(sub_path: Path, rel: str) -> tuple[Path | None, list[Problem]]:
    """Resolve ``rel`` inside the submission's folder, refusing anything that could escape it."""

    def fail(code: str, message: str) -> tuple[None, list[Problem]]:
        return None, [Problem(code, f"artifact.path {rel!r}: {message}")]

    posix = PurePosixPath(rel)
    if posix.is_absolute() or PureWindowsPath(rel).is_absolute() or PureWindowsPath(rel).drive:
        return fail("artifact-path", "is absolute; give a path relative to the submission's "
                    "folder, e.g. my-method/policy.pt")
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


def sha256_file(path: str | Path) -> str:
    """Hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _rerun_problems(artifact: Path, results: list[dict[str, Any]]) -> list[Problem]:
    """Re-evaluate the artifact with each results dict's seeds and episodes and compare."""
    from persona_gym.evaluation import evaluate
    from persona_gym.policies import TorchScriptPolicy

    out = []
    try:
        policy = TorchScriptPolicy(str(artifact), device="cpu")
    except Exception as exc:  # untrusted file: any failure is a rejection, never a crash
        return [Problem("artifact-run", f"{artifact.name} does not load as TorchScript: "
                        f"{str(exc).splitlines()[0] if str(exc) else type(exc).__name__}")]
    for i, r in enumerate(results):
        env_id = r["env_id"]
        where = f"results[{i}] ({env_id})"
        if env_entry(env_id).variant == "text":
            out.append(Problem("artifact-run", f"{where}: a TorchScript policy acts on vector "
                               "observations; a text variant cannot be re-run from an artifact"))
            continue
        try:
            fresh = evaluate(env_id, policy, episodes=r["episodes_per_seed"], seeds=r["seeds"])
        except Exception as exc:
            msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            out.append(Problem("artifact-run", f"{where}: re-running {artifact.name} failed: "
                               f"{msg}"))
            continue
        diffs = []
        delta = fresh["normalized_score"] - r["normalized_score"]
        if abs(delta) > RERUN_TOLERANCE:
            diffs.append(f"normalized_score {r['normalized_score']:.3f} submitted, "
                         f"{fresh['normalized_score']:.3f} re-run")
        for m in METRICS:
            a, b = r["metrics"][m]["mean"], fresh["metrics"][m]["mean"]
            if (a is None) != (b is None) or (a is not None and abs(a - b) > METRIC_TOLERANCE):
                diffs.append(f"{m} {a} submitted, {b} re-run")
        if diffs:
            out.append(Problem("not-reproduced", f"{where}: re-evaluating the artifact with the "
                               f"submitted seeds {r['seeds']} x {r['episodes_per_seed']} episodes "
                               f"does not reproduce the results: {'; '.join(diffs)} (tolerance "
                               f"{RERUN_TOLERANCE} normalized-score points, {METRIC_TOLERANCE} "
                               "per metric)"))
    return out


# -- the validator ----------------------------------------------------------------------------


def validate_submission(path: str | Path, rerun: bool = True) -> Report:
    """Check one submission file; every problem found is in the report (none: it passes).

    ``rerun=False`` skips only the artifact's re-evaluation (its path, size and hash are still
    checked).
    """
    report = Report(Path(path))
    data = _read_submission(report.path, report)
    if data is None:
        return report
    report.problems += _schema_problems(data)
    if report.problems:
        return report
    report.problems += _version_problems(data)
    if any(p.code in ("env-version", "protocol-version") for p in report.problems):
        return report  # the numbers cannot be checked against a different env or protocol
    for i, r in enumerate(data["results"]):
        report.problems += _check_results(r, f"results[{i}] ({r['env_id']})")
    artifact = data.get("artifact")
    if artifact is not None:
        file, problems = _artifact_file(report.path, artifact["path"])
        report.problems += problems
        if file is not None:
            actual = sha256_file(file)
            if actual != artifact["sha256"]:
                report.problems.append(Problem(
                    "artifact-hash", f"artifact {artifact['path']!r} has sha256 {actual}, not "
                    f"the submitted {artifact['sha256']}; the file changed after submission or "
                    "the hash is wrong"))
            elif rerun and not report.problems:
                report.problems += _rerun_problems(file, data["results"])
                report.reproduced = not report.problems
    if not report.problems:
        report.submission = data
    return report


def validate_files(paths: Iterable[str | Path], rerun: bool = True) -> list[Report]:
    """:func:`validate_submission` for each path."""
    return [validate_submission(p, rerun=rerun) for p in paths]


def format_report(report: Report) -> str:
    """Human-readable verdict: ``OK path`` or ``REJECTED path`` and one line per problem."""
    if report.ok:
        extra = " (artifact re-evaluated: results reproduced)" if report.reproduced else ""
        return f"OK {report.path}{extra}"
    lines = [f"REJECTED {report.path}: {len(report.problems)} problem(s)"]
    lines += [f"  - {p}" for p in report.problems]
    return "\n".join(lines)


# -- the site ---------------------------------------------------------------------------------

SORTER_JS = """\
(function () {
  "use strict";
  function key(cell, numeric) {
    var v = cell.getAttribute("data-value");
    if (numeric) { return v === null || v === "" ? null : parseFloat(v); }
    return (v === null ? cell.textContent : v).trim().toLowerCase();
  }
  function sortTable(table, col, dir) {
    var head = table.tHead.rows[0].cells;
    var numeric = head[col].getAttribute("data-type") === "number";
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = key(a.cells[col], numeric), y = key(b.cells[col], numeric);
      if (x === y) { return 0; }
      if (x === null) { return 1; }
      if (y === null) { return -1; }
      var c = x < y ? -1 : 1;
      return dir === "ascending" ? c : -c;
    });
    rows.forEach(function (r) { body.appendChild(r); });
    Array.prototype.forEach.call(head, function (h) { h.removeAttribute("aria-sort"); });
    head[col].setAttribute("aria-sort", dir);
  }
  Array.prototype.forEach.call(document.querySelectorAll("table.sortable"), function (table) {
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, col) {
      if (!th.querySelector("button")) { return; }
      th.addEventListener("click", function () {  /* the whole cell; its button bubbles here */
        var now = th.getAttribute("aria-sort");
        var dir = now ? (now === "ascending" ? "descending" : "ascending")
                      : (th.getAttribute("data-first") || "ascending");
        sortTable(table, col, dir);
      });
    });
  });
})();
"""

CSS = """\
:root { --ink: #1f2933; --muted: #616e7c; --line: #e4e7eb; --head: #f5f7fa;
  --accent: #2b6cb0; --bar: #c3dafe; }
* { box-sizing: border-box; }
body { margin: 0; color: var(--ink); background: #fff; line-height: 1.45;
  font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial,
  sans-serif; }
header.top { background: #102a43; color: #f0f4f8; padding: 22px 32px 18px; }
header.top h1 { margin: 0 0 4px; font-size: 24px; font-weight: 650; letter-spacing: .2px; }
header.top p { margin: 0; color: #bcccdc; max-width: 980px; }
header.top a { color: #9fd3ff; }
main { padding: 8px 32px 32px; max-width: 1480px; }
h2 { font-size: 19px; margin: 28px 0 4px; }
h2 code { font-size: 18px; }
h3 { font-size: 16px; margin: 22px 0 6px; }
p.meta { margin: 0 0 10px; color: var(--muted); font-size: 13.5px; }
code, pre { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; }
pre { background: var(--head); border: 1px solid var(--line); padding: 10px 12px;
  white-space: pre-wrap; word-break: break-word; font-size: 13px; border-radius: 4px; }
table { border-collapse: collapse; font-size: 14px; margin: 6px 0 8px; }
.scroll { overflow-x: auto; }
th, td { padding: 7px 9px; border-bottom: 1px solid var(--line); text-align: left;
  vertical-align: middle; }
thead th { background: var(--head); border-bottom: 2px solid #cbd2d9; font-weight: 600;
  white-space: nowrap; }
thead th[data-type] { cursor: pointer; user-select: none; }
th button { all: unset; cursor: pointer; }
th button:focus-visible { outline: 2px solid var(--accent); outline-offset: 2px; }
th button::after { content: " \\2195"; color: #9aa5b1; font-size: 12px; }
th[aria-sort="ascending"] button::after { content: " \\25B2"; color: var(--accent); }
th[aria-sort="descending"] button::after { content: " \\25BC"; color: var(--accent); }
tbody tr:nth-child(even) { background: #fafbfc; }
tbody tr:hover { background: #eef4fb; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
td.score { min-width: 170px; }
td.score b { font-size: 15px; }
td.score small { color: var(--muted); }
.bar { height: 4px; background: var(--line); border-radius: 2px; margin-top: 4px; }
.bar span { display: block; height: 4px; background: var(--accent); border-radius: 2px; }
table.sortable { width: 100%; }
td.who { min-width: 150px; overflow-wrap: anywhere; }
td.method { min-width: 190px; max-width: 320px; overflow-wrap: anywhere; }
a { color: var(--accent); text-decoration: none; }
a:hover { text-decoration: underline; }
.tag { display: inline-block; font-size: 11.5px; padding: 1px 6px; border-radius: 9px;
  background: #e3f8e8; color: #19692c; border: 1px solid #a8e6b8; white-space: nowrap; }
.none { color: #9aa5b1; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 4px 16px;
  margin: 10px 0; }
dl.facts dt { color: var(--muted); }
dl.facts dd { margin: 0; overflow-wrap: anywhere; }
figure { margin: 16px 0; }
figure img { max-width: 100%; border: 1px solid var(--line); }
figcaption { color: var(--muted); font-size: 13.5px; }
svg.chart text { font-size: 11px; fill: var(--muted); }
.legend span { display: inline-block; margin-right: 14px; font-size: 13px; }
.legend i { display: inline-block; width: 14px; height: 3px; vertical-align: middle;
  margin-right: 5px; }
footer { color: var(--muted); font-size: 13px; padding: 18px 32px 28px;
  border-top: 1px solid var(--line); }
.description { max-width: 900px; white-space: pre-wrap; overflow-wrap: anywhere; }
"""

TABLE_COLUMNS: tuple[tuple[str, str, str, str], ...] = (
    # (key, header, type, title)
    ("rank", "#", "number", "rank by normalized score"),
    ("method", "Method", "text", "method name (links to the entry's page)"),
    ("submitter", "Submitter", "text", "who submitted it"),
    ("score", "Normalized score", "number",
     "100 * (R - random) / (expert - random), mean over test episodes, with its 95% bootstrap CI"),
    ("p2l", "p2l", "number", "prompt-to-line consistency (local drift), higher is better"),
    ("l2l", "l2l", "number", "line-to-line consistency (global drift), higher is better"),
    ("qa", "qa", "number", "Q&A consistency (factual drift), higher is better"),
    ("relevance", "relevance", "number", "the line addresses the partner's move, higher is better"),
    ("repetition", "repetition", "number", "repeated own lines, lower is better"),
    ("contradiction", "contradiction", "number", "lines with any contradiction, lower is better"),
    ("return", "Return", "number", "mean episode return"),
    ("episodes", "Episodes", "number", "test episodes evaluated (seeds x episodes per seed)"),
    ("artifact", "Policy", "text", "a policy file whose results the validator re-ran"),
)
CHART_COLORS = {"p2l": "#2b6cb0", "l2l": "#2f855a", "qa": "#c05621", "relevance": "#6b46c1"}


def _e(value: Any) -> str:
    """HTML-escape anything (quotes included, so it is safe in attributes too)."""
    return html.escape(str(value), quote=True)


def _fmt(x: float | None, digits: int = 3) -> str:
    return "–" if x is None else f"{x:.{digits}f}"


def _link(url: str | None, label: str | None = None) -> str:
    """An ``<a>`` for an http(s) URL; anything else is shown as plain escaped text."""
    if not url:
        return ""
    parts = urlsplit(url)
    ok = parts.scheme in ("http", "https") and parts.netloc and not re.search(r"[\s\x00-\x1f]",
                                                                               url)
    if not ok:
        return _e(url)
    return (f'<a href="{_e(url)}" rel="nofollow noopener noreferrer">'
            f"{_e(label if label is not None else url)}</a>")


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "entry"


def _csp(script: str | None) -> str:
    if script is None:
        script_src = "'none'"
    else:
        digest = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode()
        script_src = f"'sha256-{digest}'"
    return (f"default-src 'none'; script-src {script_src}; style-src 'unsafe-inline'; "
            "img-src 'self'; base-uri 'none'; form-action 'none'")


def _page(title: str, body: str, script: str | None = None, root: str = "",
          footer: str = "") -> str:
    tail = f"<script>{script}</script>\n" if script is not None else ""
    return (
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        f'<meta http-equiv="Content-Security-Policy" content="{_e(_csp(script))}">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<meta name="referrer" content="no-referrer">\n'
        f"<title>{_e(title)}</title>\n<style>\n{CSS}</style>\n</head>\n<body>\n"
        '<header class="top"><h1><a href="' + root + 'index.html" style="color:inherit">'
        "persona_gym leaderboard</a></h1>\n<p>Persona consistency in multi-turn dialogue. "
        "Normalized score: 0 = the random policy, 100 = the expert oracle (mean over test-split "
        "episodes, 95% bootstrap CI). Only submissions that pass "
        "<code>persona-gym leaderboard validate</code> are listed.</p></header>\n"
        f"<main>\n{body}\n</main>\n"
        + (f"<footer>{footer}</footer>\n" if footer else "")
        + f"{tail}</body>\n</html>\n"
    )


@dataclass
class _Entry:
    slug: str
    data: dict[str, Any]
    reproduced: bool


def _row(entry: _Entry, r: dict[str, Any], rank: int, env_anchor: str) -> str:
    d = entry.data
    lo, hi = r["normalized_score_ci"]
    score = r["normalized_score"]
    width = min(100.0, max(0.0, score))
    cells = [
        f'<td class="num" data-value="{rank}">{rank}</td>',
        f'<td class="method" data-value="{_e(d["method"].lower())}"><a href="entries/'
        f'{entry.slug}.html#{env_anchor}">{_e(d["method"])}</a></td>',
        f"<td class=\"who\">{_e(d['submitter'])}</td>",
        f'<td class="num score" data-value="{score!r}"><b>{score:.1f}</b> '
        f'<small>[{lo:.1f}, {hi:.1f}]</small><div class="bar"><span style="width:{width:.1f}%">'
        "</span></div></td>",
    ]
    for m in METRICS:
        mean = r["metrics"][m]["mean"]
        value = "" if mean is None else repr(mean)
        cells.append(f'<td class="num" data-value="{value}">{_fmt(mean)}</td>')
    cells.append(f'<td class="num" data-value="{r["return_mean"]!r}">'
                 f"{r['return_mean']:.2f}</td>")
    cells.append(f'<td class="num" data-value="{r["episodes"]}">{r["episodes"]}</td>')
    if entry.reproduced:
        cells.append('<td data-value="1"><span class="tag" title="the validator re-ran the '
                     'policy file and reproduced these results">re-run ✓</span></td>')
    elif "artifact" in d:
        cells.append('<td data-value="2"><span class="tag" title="a policy file is attached '
                     'and its sha256 matches; not re-run in this build">sha256 ✓</span></td>')
    else:
        cells.append('<td data-value="3"><span class="none">–</span></td>')
    return "<tr>" + "".join(cells) + "</tr>"


def _env_table(env_id: str, rows: list[tuple[_Entry, dict[str, Any]]]) -> str:
    anchor = _slug(env_id.split("/", 1)[1])
    rows = sorted(rows, key=lambda er: (-er[1]["normalized_score"], er[0].data["method"]))
    head = []
    for key, label, typ, title in TABLE_COLUMNS:
        first = "descending" if typ == "number" and key not in ("rank",) else "ascending"
        if key in ("repetition", "contradiction"):
            first = "ascending"
        sort = ' aria-sort="descending"' if key == "score" else ""
        cls = ' class="num"' if typ == "number" else ""
        head.append(f'<th scope="col"{cls} data-key="{key}" data-type="{typ}" '
                    f'data-first="{first}" title="{_e(title)}"{sort}>'
                    f"<button type=\"button\">{_e(label)}</button></th>")
    body = "\n".join(_row(e, r, i + 1, anchor) for i, (e, r) in enumerate(rows))
    entry = env_entry(env_id)
    return (
        f'<section id="{anchor}"><h2><code>{_e(env_id)}</code></h2>\n'
        f'<p class="meta">{_e(entry.description)} · horizon {entry.horizon} · '
        f"{len(rows)} entr{'y' if len(rows) == 1 else 'ies'} · click a column header to sort"
        "</p>\n"
        f'<div class="scroll"><table class="sortable" data-env="{_e(env_id)}"><thead><tr>'
        f'{"".join(head)}</tr></thead>\n<tbody>\n{body}\n</tbody></table></div></section>'
    )


def _chart(by_turn: dict[str, list[float | None]]) -> str:
    """An inline SVG line chart of the by-turn metrics (numbers only; no submitted text)."""
    horizon = len(by_turn["p2l"])
    w, h, left, bottom, top, right = 640, 220, 40, 26, 10, 12
    pw, ph = w - left - right, h - top - bottom

    def x(t: int) -> float:
        return left + (pw * t / (horizon - 1) if horizon > 1 else pw / 2)

    def y(v: float) -> float:
        return top + ph * (1 - v)

    parts = [f'<svg class="chart" width="{w}" height="{h}" viewBox="0 0 {w} {h}" '
             'role="img" aria-label="consistency by turn">']
    for v in (0, 0.25, 0.5, 0.75, 1):
        parts.append(f'<line x1="{left}" x2="{w - right}" y1="{y(v):.1f}" y2="{y(v):.1f}" '
                     'stroke="#e4e7eb"/>')
        parts.append(f'<text x="{left - 6}" y="{y(v) + 4:.1f}" text-anchor="end">{v:g}</text>')
    step = max(1, math.ceil(horizon / 12))
    for t in range(0, horizon, step):
        parts.append(f'<text x="{x(t):.1f}" y="{h - 8}" text-anchor="middle">{t + 1}</text>')
    for m in BY_TURN_METRICS:
        pts = [(x(t), y(float(v))) for t, v in enumerate(by_turn[m]) if v is not None]
        if pts:
            path = " ".join(f"{a:.1f},{b:.1f}" for a, b in pts)
            parts.append(f'<polyline fill="none" stroke="{CHART_COLORS[m]}" stroke-width="2" '
                         f'points="{path}"/>')
    parts.append("</svg>")
    legend = "".join(f'<span><i style="background:{CHART_COLORS[m]}"></i>{m}</span>'
                     for m in BY_TURN_METRICS)
    return "".join(parts) + f'<div class="legend">{legend}</div>'


def _entry_page(entry: _Entry) -> str:
    d = entry.data
    facts = [("Submitter", _e(d["submitter"]))]
    if d.get("date"):
        facts.append(("Date", _e(d["date"])))
    for key, label in (("paper_url", "Paper"), ("code_url", "Code")):
        if d.get(key):
            facts.append((label, _link(d[key])))
    facts.append(("Environments", ", ".join(f"<code>{_e(i)}</code>" for i in d["env_ids"])))
    if d.get("dataset_ids"):
        facts.append(("Training data", ", ".join(f"<code>{_e(i)}</code>"
                                                  for i in d["dataset_ids"])))
    for key, value in d.get("training", {}).items():
        facts.append((f"Training {key}", _e(value)))
    facts.append(("persona_gym", _e(d["persona_gym_version"])))
    facts.append(("Protocol", _e(d["protocol_version"])))
    if "artifact" in d:
        a = d["artifact"]
        status = ("re-evaluated by the validator: results reproduced" if entry.reproduced
                  else "hash checked; not re-evaluated in this build")
        facts.append(("Policy file", f"<code>{_e(a['path'])}</code> ({_e(a['format'])}, "
                      f"sha256 <code>{_e(a['sha256'])}</code>; {status})"))
    body = [f"<p><a href=\"../index.html\">← all entries</a></p><h2>{_e(d['method'])}</h2>",
            '<dl class="facts">' + "".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in facts)
            + "</dl>",
            f'<div class="description">{_e(d["description"])}</div>']
    if d.get("command"):
        body.append(f"<h3>Command</h3><pre>{_e(d['command'])}</pre>")
    for r in d["results"]:
        anchor = _slug(r["env_id"].split("/", 1)[1])
        lo, hi = r["normalized_score_ci"]
        body.append(f'<section id="{anchor}"><h2><code>{_e(r["env_id"])}</code></h2>')
        body.append(f'<p class="meta">{r["episodes"]} test episodes: seeds '
                    f'{_e(", ".join(map(str, r["seeds"])))} ({r["episodes_per_seed"]} '
                    "episodes each) · reference scores {r['ref_min_score']:g} (random) to "
                    f"{r['ref_max_score']:g} (expert)</p>")
        rows = [f"<tr><th>normalized score</th><td class=\"num\">{r['normalized_score']:.2f}"
                f"</td><td class=\"num\">[{lo:.2f}, {hi:.2f}]</td></tr>",
                f"<tr><th>return</th><td class=\"num\">{r['return_mean']:.3f}</td>"
                f"<td class=\"num\">[{r['return_ci'][0]:.3f}, {r['return_ci'][1]:.3f}]</td></tr>"]
        for m in METRICS:
            mm = r["metrics"][m]
            ci = mm["ci"]
            rows.append(f"<tr><th>{m}</th><td class=\"num\">{_fmt(mm['mean'])}</td>"
                        f"<td class=\"num\">[{_fmt(ci[0])}, {_fmt(ci[1])}]</td></tr>")
        body.append('<h3>Summary</h3><table class="summary"><thead><tr><th>metric</th>'
                    '<th class="num">mean</th><th class="num">95% CI</th></tr></thead><tbody>'
                    + "".join(rows) + "</tbody></table>")
        turns = range(len(r["by_turn"]["p2l"]))
        head = "".join(f'<th class="num">{t + 1}</th>' for t in turns)
        trs = "".join(f"<tr><th>{m}</th>" + "".join(
            f'<td class="num">{_fmt(v, 2)}</td>' for v in r["by_turn"][m]) + "</tr>"
            for m in BY_TURN_METRICS)
        body.append("<h3>Consistency by turn</h3><p class=\"meta\">mean over episodes at each "
                    "turn index; qa over the question turns only</p>" + _chart(r["by_turn"])
                    + f'<div style="overflow-x:auto"><table class="by-turn"><thead><tr>'
                    f"<th>turn</th>{head}</tr></thead><tbody>{trs}</tbody></table></div>")
        seed_head = "".join(f'<th class="num">{m}</th>' for m in METRICS)
        seed_rows = "".join(
            f'<tr><td class="num">{s["seed"]}</td><td class="num">{s["episodes"]}</td>'
            f'<td class="num">{s["normalized_score"]:.2f}</td>'
            f'<td class="num">{s["return_mean"]:.3f}</td>'
            + "".join(f'<td class="num">{_fmt(s["metrics"][m])}</td>' for m in METRICS)
            + "</tr>" for s in r["per_seed"])
        body.append('<h3>Per seed</h3><table class="per-seed"><thead><tr>'
                    '<th class="num">seed</th><th class="num">episodes</th>'
                    '<th class="num">normalized score</th><th class="num">return</th>'
                    f"{seed_head}</tr></thead><tbody>{seed_rows}</tbody></table></section>")
    return _page(f"{d['method']} · persona_gym leaderboard", "\n".join(body), root="../")


def _index_page(entries: list[_Entry], scaling: bool) -> str:
    from persona_gym.envs import registered_ids

    by_env: dict[str, list[tuple[_Entry, dict[str, Any]]]] = {}
    for entry in entries:
        for r in entry.data["results"]:
            by_env.setdefault(r["env_id"], []).append((entry, r))
    order = [i for i in registered_ids() if i in by_env]
    body = []
    if order:
        body.append('<p class="meta" style="margin-top:14px">Environments: ' + " · ".join(
            f'<a href="#{_slug(i.split("/", 1)[1])}">{_e(i)}</a>' for i in order) + "</p>")
    else:
        body.append("<p>No submissions yet. See <code>leaderboard/README.md</code> to submit.</p>")
    body += [_env_table(env_id, by_env[env_id]) for env_id in order]
    if scaling:
        body.append('<section id="scaling"><h2>Scaling with data</h2><figure>'
                    '<img src="scaling.png" alt="normalized score against dataset size">'
                    "<figcaption>The baselines' scaling study: normalized score against the "
                    "number of logged episodes they learned from.</figcaption></figure>"
                    "</section>")
    import persona_gym

    footer = (f"{len(entries)} validated submission{'' if len(entries) == 1 else 's'} · "
              f"evaluation protocol {PROTOCOL_VERSION} · built with persona_gym "
              f"{_e(persona_gym.__version__)} by <code>persona-gym leaderboard build</code>")
    return _page("persona_gym leaderboard", "\n".join(body), script=SORTER_JS, footer=footer)


@dataclass
class BuildResult:
    """What :func:`build_site` published."""

    out: Path
    entries: list[str]
    reports: list[Report]


def _check_png(path: Path) -> None:
    if path.is_symlink() or not path.is_file():
        raise LeaderboardError(f"scaling plot {path} is not a regular file")
    if path.stat().st_size > MAX_SCALING_PLOT_BYTES:
        raise LeaderboardError(f"scaling plot {path} is over {MAX_SCALING_PLOT_BYTES} bytes")
    with open(path, "rb") as fh:
        if fh.read(8) != b"\x89PNG\r\n\x1a\n":
            raise LeaderboardError(f"scaling plot {path} is not a PNG file")


def build_site(
    submissions: str | Path,
    out: str | Path,
    scaling_plot: str | Path | None = None,
    rerun: bool = False,
) -> BuildResult:
    """Validate every ``*.json`` in ``submissions`` and write the static site to ``out``.

    Any rejected submission stops the build (:class:`LeaderboardError` listing every problem)
    and nothing is written. ``rerun`` also re-evaluates policy artifacts (slower; by default
    ``validate`` does that when a submission is added). The site is written to a temporary
    folder next to ``out`` and renamed into place; an existing ``out`` is replaced only if it
    is empty or a previous build (it holds :data:`SITE_MARKER`).
    """
    sub_dir, out = Path(submissions), Path(out)
    if not sub_dir.is_dir():
        raise LeaderboardError(f"no submissions folder at {sub_dir}; pass --submissions DIR")
    if out.exists() and not (out.is_dir() and (not any(out.iterdir())
                                               or (out / SITE_MARKER).is_file())):
        raise LeaderboardError(f"{out} exists and is not a site built by persona-gym; "
                               "choose another --out or remove it")
    plot = Path(scaling_plot) if scaling_plot is not None else None
    if plot is not None:
        _check_png(plot)
    files = sorted(p for p in sub_dir.iterdir() if p.suffix == ".json")
    reports = validate_files(files, rerun=rerun)
    bad = [r for r in reports if not r.ok]
    if bad:
        raise SubmissionsRejected(
            f"{len(bad)} of {len(reports)} submissions rejected; nothing was built:\n"
            + "\n".join(format_report(r) for r in bad))
    entries: list[_Entry] = []
    taken: set[str] = set()
    for report in reports:
        assert report.submission is not None
        slug = base = _slug(report.path.stem)
        k = 2
        while slug in taken:
            slug, k = f"{base}-{k}", k + 1
        taken.add(slug)
        entries.append(_Entry(slug, report.submission, report.reproduced))
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent))
    try:
        (tmp / "entries").mkdir()
        for entry in entries:
            (tmp / "entries" / f"{entry.slug}.html").write_text(_entry_page(entry), "utf-8")
        if plot is not None:
            shutil.copyfile(plot, tmp / "scaling.png")
        (tmp / "index.html").write_text(_index_page(entries, plot is not None), "utf-8")
        (tmp / SITE_MARKER).write_text("built by persona-gym leaderboard build\n", "utf-8")
        os.chmod(tmp, 0o755)
        if out.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{out.name}-old-", dir=out.parent))
            os.replace(out, old / "site")
            os.replace(tmp, out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return BuildResult(out, [e.slug for e in entries], reports)


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


def submission_from_run(run_dir: str | Path, submissions: str | Path, *, name: str | None = None,
                        method: str | None = None,
                        submitter: str = "persona_gym developers") -> Path:
    """Write ``{submissions}/{name}.json`` and ``{submissions}/{name}/policy.pt`` (the layout of
    leaderboard/README.md) from a baseline run folder: the policy is evaluated with the
    official protocol defaults and the command that trained it is taken from the run's
    ``config.json``. Returns the submission's path."""
    import shutil

    from persona_gym.evaluation import evaluate

    run = Path(run_dir)
    config_path, policy = run / "config.json", run / "policy.pt"
    if not config_path.is_file() or not policy.is_file():
        raise LeaderboardError(f"{run} is not a baseline run folder (needs config.json and "
                               "policy.pt, as baselines/*.py write them)")
    config = json.loads(config_path.read_text())
    name = name or config["run"]
    folder = Path(submissions) / name
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(policy, folder / "policy.pt")
    env_id = config["args"]["env"]
    results = evaluate(env_id, str(folder / "policy.pt"))
    results["policy"] = f"{name}/policy.pt"
    args = config["args"]
    submission = make_submission(
        [results],
        method=method or f"{config['algo']} (baseline)",
        submitter=submitter,
        description=(f"d3rlpy {config['algo']} trained for {args['steps']} updates (batch "
                     f"{args['batch_size']}, seed {args['seed']}) on {config['dataset_id']} "
                     f"({config['transitions']} transitions); persona_gym baseline."),
        dataset_ids=[config["dataset_id"]],
        command=config["command"],
        training={"algo": config["algo"], "dataset": config["dataset_id"],
                  "steps": args["steps"], "seed": args["seed"]},
        artifact={"path": f"{name}/policy.pt", "sha256": sha256_file(folder / "policy.pt"),
                  "format": "torchscript"},
    )
    out = Path(submissions) / f"{name}.json"
    tmp = out.with_suffix(".part")
    tmp.write_text(json.dumps(submission, indent=2) + "\n")
    tmp.replace(out)
    return out
