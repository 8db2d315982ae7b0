"""Tests of the leaderboard (persona_gym/leaderboard.py): every kind of bad submission is rejected
with its own code and message, good ones pass, the CLI's exit codes, and the built site renders
every submitted string inert.

Every submission here wraps the results of a REAL ``evaluate()`` run (reference policies, and a
tiny ONNX policy built in the test for the artifact path); tampering tests change one
thing in an otherwise valid submission, which a test also shows passes untouched.
"""

from __future__ import annotations

import copy
import html
import json
import struct
import zlib
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import gymnasium as gym
import pytest

from persona_gym import leaderboard as lbd
from persona_gym.cli import main
from persona_gym.evaluation import evaluate
from persona_gym.leaderboard.site import safe_url, sorter_js

REPO = Path(__file__).resolve().parents[1]
OPEN_CHAT = "persona_gym/OpenChat-v0"
TUTORING = "persona_gym/Tutoring-v0"
EPISODES, SEEDS = 6, [0, 1]  # small, but real evaluations
PAYLOAD = '<script>window.__pwned=1</script><img src=x onerror="window.__pwned=2">'


# -- helpers shared with test_leaderboard_browser.py -------------------------------------------


def tiny_policy(path: Path, env_id: str = OPEN_CHAT, column: int = 3) -> Path:
    """Export an ONNX policy: argmax over a fixed linear layer that reads, for each
    candidate, one of its four similarity features (3: cosine with the partner's line)."""
    import torch

    env = gym.make(env_id)
    k, size = int(env.action_space.n), int(env.observation_space.shape[0])
    env.close()
    dim = (size - 1 - 4 * k) // (4 + k)  # layout of persona_gym/encoders.py
    first = 4 * dim + k * dim
    weight = torch.zeros(k, size)
    for c in range(k):
        weight[c, first + 4 * c + column] = 1.0

    class Argmax(torch.nn.Module):
        def __init__(self, w: torch.Tensor) -> None:
            super().__init__()
            self.register_buffer("w", w)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.argmax(x @ self.w.t(), dim=-1)

    return lbd.export_onnx(Argmax(weight), size, path)


def reference_submission(policy: str, results: list[dict[str, Any]], **extra: Any) -> dict:
    """A submission around real results of a reference policy, recording how they were made."""
    r0 = results[0]
    envs = ", ".join(r["env_id"] for r in results)
    return lbd.make_submission(
        copy.deepcopy(results), f"{policy} (reference)", "persona_gym tests",
        f"The {policy} reference policy of persona_gym/policies.py.",
        command=f"persona_gym.evaluation.evaluate(ENV, {policy!r}, episodes="
        f"{r0['episodes_per_seed']}, seeds={r0['seeds']}) for ENV in {envs}",
        date="2025-01-01", **extra)


def artifact_submission(folder: Path, name: str, column: int = 3,
                        env_ids: tuple[str, ...] = (OPEN_CHAT,)) -> Path:
    """Build a tiny ONNX policy under ``folder/name/``, evaluate it for real and write
    the submission ``folder/name.json`` with the artifact and its sha256."""
    pt = tiny_policy(folder / name / "policy.onnx", env_ids[0], column)
    results = [evaluate(e, str(pt), episodes=EPISODES, seeds=SEEDS) for e in env_ids]
    sub = lbd.make_submission(
        results, f"Similarity argmax (feature {column})", "persona_gym tests",
        "A fixed linear layer over the per-candidate similarity features, exported with "
        "persona_gym.leaderboard.export_onnx.",
        artifact={"path": f"{name}/policy.onnx", "sha256": lbd.sha256_file(pt),
                  "format": "onnx"},
        training={"algo": "none", "steps": 0, "seed": 0},
        command=f"evaluate(ENV, '{name}/policy.onnx', episodes={EPISODES}, seeds={SEEDS})")
    return write(folder / f"{name}.json", sub)


def write(path: Path, submission: dict[str, Any]) -> Path:
    """Write a submission as JSON; returns the path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(submission, indent=1), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def real_results() -> dict[str, dict[str, dict[str, Any]]]:
    """{policy: {env_id: results}} from real evaluations."""
    return {p: {e: evaluate(e, p, episodes=EPISODES, seeds=SEEDS) for e in (OPEN_CHAT, TUTORING)}
            for p in ("expert", "drift", "random")}


def problems(path: Path, rerun: bool = True) -> list[lbd.Problem]:
    return lbd.validate_submission(path, rerun=rerun).problems


def only(report_problems: list[lbd.Problem], code: str, fragment: str) -> lbd.Problem:
    """The problems have ``code``, one of which mentions ``fragment``; return it."""
    assert report_problems, "expected a rejection"
    codes = {p.code for p in report_problems}
    assert codes == {code}, f"expected only {code!r}, got {[str(p) for p in report_problems]}"
    hits = [p for p in report_problems if fragment in p.message]
    assert hits, f"no {code} message mentions {fragment!r}: {[str(p) for p in report_problems]}"
    return hits[0]


# -- the schema ----------------------------------------------------------------------------------


def test_schema_file_is_the_validators_schema() -> None:
    from jsonschema import Draft202012Validator

    committed = json.loads((REPO / "leaderboard" / "schema.json").read_text("utf-8"))
    assert committed == lbd.SUBMISSION_SCHEMA, (
        "leaderboard/schema.json is stale: run `persona-gym leaderboard schema > "
        "leaderboard/schema.json`")
    Draft202012Validator.check_schema(committed)
    assert committed["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def test_real_evaluate_output_fits_the_results_schema(real_results: dict) -> None:
    from jsonschema import Draft202012Validator

    schema = {**lbd.SUBMISSION_SCHEMA, "$ref": "#/$defs/results"}
    del schema["required"], schema["properties"], schema["additionalProperties"]
    validator = Draft202012Validator(schema)
    for by_env in real_results.values():
        for r in by_env.values():
            assert not list(validator.iter_errors(r))


# -- valid submissions pass ----------------------------------------------------------------------


@pytest.mark.parametrize("policy", ["expert", "drift", "random"])
def test_real_submissions_pass(tmp_path: Path, real_results: dict, policy: str) -> None:
    results = list(real_results[policy].values())
    path = write(tmp_path / f"{policy}.json", reference_submission(
        policy, results, dataset_ids=["persona_gym/openchat/mixed-v0"],
        code_url="https://example.org/code"))
    report = lbd.validate_submission(path)
    assert report.ok, [str(p) for p in report.problems]
    assert report.submission is not None and report.submission["env_ids"] == [OPEN_CHAT, TUTORING]
    assert not report.reproduced  # no artifact, nothing re-run


def test_text_results_name_the_current_reader_version(tmp_path: Path) -> None:
    """Free-text rewards are the reader's readings: a text-variant result records the reader
    version and passes without an artifact (unverified); a missing, stale or newer version is
    refused with the fix."""
    from persona_gym.judges.reader import READER_VERSION

    text = evaluate("persona_gym/OpenChatText-v1", "expert", episodes=EPISODES, seeds=SEEDS)
    assert text["reader_version"] == READER_VERSION
    report = lbd.validate_submission(write(tmp_path / "text.json",
                                           reference_submission("expert", [text])))
    assert report.ok and not report.reproduced, [str(p) for p in report.problems]
    for name, version, fragment in [("missing", None, "records the reader_version"),
                                    ("stale", READER_VERSION - 1, "re-run `persona-gym evaluate`"),
                                    ("newer", READER_VERSION + 1, "upgrade persona_gym")]:
        changed = copy.deepcopy(text)
        changed.pop("reader_version")
        if version is not None:
            changed["reader_version"] = version
        only(problems(write(tmp_path / f"{name}.json", reference_submission("expert", [changed]))),
             "reader-version", fragment)


def test_v1_results_with_early_endings_pass(tmp_path: Path) -> None:
    """On v1 a partner leaves a random agent early, so by-turn averages cover fewer episodes at
    late turns and differ from the per-episode means; the validator must accept that."""
    v1 = evaluate("persona_gym/OpenChat-v1", "random", episodes=EPISODES, seeds=SEEDS)
    p2l = [x for x in v1["by_turn"]["p2l"] if x is not None]
    assert abs(sum(p2l) / len(p2l) - v1["metrics"]["p2l"]["mean"]) > 1e-3  # they do differ
    path = write(tmp_path / "v1.json", reference_submission("random", [v1]))
    report = lbd.validate_submission(path)
    assert report.ok, [str(p) for p in report.problems]
    v1["by_turn"]["l2l"][0] = None
    only(problems(write(tmp_path / "v1-null.json", reference_submission("random", [v1]))),
         "inconsistent", "by_turn.l2l[0] is null")


def test_artifact_is_rerun_and_reproduces(tmp_path: Path) -> None:
    path = artifact_submission(tmp_path, "argmax", env_ids=(OPEN_CHAT, TUTORING))
    report = lbd.validate_submission(path)
    assert report.ok, [str(p) for p in report.problems]
    assert report.reproduced
    skipped = lbd.validate_submission(path, rerun=False)
    assert skipped.ok and not skipped.reproduced


COMMITTED = sorted((REPO / "leaderboard" / "submissions").glob("*.json"))


@pytest.mark.parametrize("path", COMMITTED or [pytest.param(None, marks=pytest.mark.skip(
    reason="no submissions committed under leaderboard/submissions/ yet"))],
    ids=lambda p: p.name if p else "none")
def test_committed_submissions_validate(path: Path) -> None:
    report = lbd.validate_submission(path)
    assert report.ok, lbd.format_report(report)
    assert report.submission is not None and report.submission.get("command"), (
        "baseline entries record the command that produced them")


# -- each kind of bad submission, its own code and message ----------------------------------------


def _set_score(r: dict, delta: float) -> None:
    """Shift the normalized score, its per-seed values and its CI together (consistently)."""
    r["normalized_score"] += delta
    r["normalized_score_ci"] = [x + delta for x in r["normalized_score_ci"]]
    for s in r["per_seed"]:
        s["normalized_score"] += delta


def _ci_around(r: dict, lo: float, hi: float) -> None:
    """Set the return CI to [return_mean + lo, return_mean + hi], normalized CI to match."""
    a, b = r["ref_min_score"], r["ref_max_score"]
    r["return_ci"] = [r["return_mean"] + lo, r["return_mean"] + hi]
    r["normalized_score_ci"] = [100 * (x - a) / (b - a) for x in r["return_ci"]]


def _metric(r: dict, name: str, delta: float) -> None:
    m = r["metrics"][name]
    m["mean"] += delta
    m["ci"] = [m["ci"][0] + delta, m["ci"][1] + delta]


Mutation = Callable[[dict], Any]
TAMPERING: list[tuple[str, Mutation, str, str]] = [
    ("missing-field", lambda s: s.pop("method"), "schema", "'method' is a required property"),
    ("wrong-type", lambda s: s["results"][0].update(normalized_score="high"), "schema",
     "results[0].normalized_score"),
    ("unknown-field", lambda s: s.update(secret=1), "schema", "Additional properties"),
    ("metric-out-of-range", lambda s: s["results"][0]["metrics"]["p2l"].update(mean=1.5),
     "schema", "results[0].metrics.p2l.mean"),
    ("javascript-url", lambda s: s.update(paper_url="javascript:alert(1)"), "schema",
     "paper_url"),
    ("newline-in-method", lambda s: s.update(method="a\nb"), "schema", "method"),
    ("env-ids-mismatch", lambda s: s["env_ids"].append(TUTORING), "schema",
     "must list exactly the envs of results"),
    ("unregistered-env-version", lambda s: (s.update(env_ids=["persona_gym/OpenChat-v7"]),
                                            s["results"][0].update(env_id="persona_gym/OpenChat-v7")),
     "env-version", "is not the current version of this env (persona_gym/OpenChat-v0, "
                    "persona_gym/OpenChat-v1)"),
    ("unknown-env", lambda s: (s.update(env_ids=["persona_gym/Nowhere-v0"]),
                               s["results"][0].update(env_id="persona_gym/Nowhere-v0")),
     "env-version", "unknown env id persona_gym/Nowhere-v0"),
    ("stale-protocol", lambda s: (s.update(protocol_version=0),
                                  s["results"][0].update(protocol_version=0)),
     "protocol-version", "protocol_version 0 is stale"),
    ("future-protocol", lambda s: (s.update(protocol_version=99),
                                   s["results"][0].update(protocol_version=99)),
     "protocol-version", "is newer than this persona_gym's protocol"),
    ("future-package", lambda s: (s.update(persona_gym_version="9.0.0"),
                                  s["results"][0].update(persona_gym_version="9.0.0")),
     "package-version", "9.0.0 is newer than this validator's"),
    ("mixed-package", lambda s: s.update(persona_gym_version="0.0.9"), "package-version",
     "several persona_gym versions"),
    ("score-not-mean-of-seeds", lambda s: s["results"][0].update(
        normalized_score=s["results"][0]["normalized_score"] + 5.0), "inconsistent",
     "is not the mean of per_seed normalized_score"),
    ("score-shifted-consistently", lambda s: _set_score(s["results"][0], 5.0), "inconsistent",
     "does not match return_mean"),
    ("ci-excludes-mean", lambda s: _ci_around(s["results"][0], 0.5, 1.0), "inconsistent",
     "does not contain the mean"),
    ("ci-too-narrow", lambda s: _ci_around(s["results"][0], 0.0, 0.0), "inconsistent",
     "implausibly narrow"),
    ("ci-too-wide", lambda s: _ci_around(s["results"][0], -15.0, 15.0), "inconsistent",
     "implausibly wide"),
    ("ci-not-converted", lambda s: s["results"][0].update(normalized_score_ci=[
        s["results"][0]["normalized_score_ci"][0] - 3, s["results"][0]["normalized_score_ci"][1]]),
     "inconsistent", "is not return_ci"),
    ("episode-count", lambda s: s["results"][0].update(episodes=s["results"][0]["episodes"] + 1),
     "inconsistent", "episodes_per_seed"),
    ("reference-scores", lambda s: s["results"][0].update(ref_max_score=13.0), "inconsistent",
     "are not persona_gym/OpenChat-v0's current ones"),
    ("by-turn-length", lambda s: s["results"][0]["by_turn"]["p2l"].pop(), "inconsistent",
     "horizon of 12"),
    ("by-turn-mean", lambda s: s["results"][0]["by_turn"]["relevance"].__setitem__(
        0, 1.0 - s["results"][0]["by_turn"]["relevance"][0]), "inconsistent", "averages"),
    ("metric-not-mean-of-seeds", lambda s: _metric(s["results"][0], "l2l", -0.05),
     "inconsistent", "metrics.l2l.mean"),
    ("seed-list", lambda s: s["results"][0]["per_seed"].reverse(), "inconsistent",
     "per_seed lists seeds"),
    ("reader-version-off-text", lambda s: s["results"][0].update(reader_version=1),
     "reader-version", "is not a text variant but records reader_version"),
]


@pytest.mark.parametrize(("mutate", "code", "fragment"), [t[1:] for t in TAMPERING],
                         ids=[t[0] for t in TAMPERING])
def test_tampered_submission_is_rejected(tmp_path: Path, real_results: dict, mutate: Mutation,
                                         code: str, fragment: str) -> None:
    sub = reference_submission("drift", [real_results["drift"][OPEN_CHAT]])
    assert not problems(write(tmp_path / "untouched.json", sub))  # passes before tampering
    mutate(sub)
    only(problems(write(tmp_path / "tampered.json", sub)), code, fragment)


def test_each_tampering_has_its_own_message(tmp_path: Path, real_results: dict) -> None:
    seen: dict[str, str] = {}
    for name, mutate, _, _ in TAMPERING:
        sub = reference_submission("drift", [real_results["drift"][OPEN_CHAT]])
        mutate(sub)
        msgs = [p.message for p in problems(write(tmp_path / f"{name}.json", sub))]
        key = " | ".join(sorted(m.replace(str(tmp_path), "") for m in msgs))
        assert key not in seen, f"{name} and {seen.get(key)} give the same message: {key}"
        seen[key] = name


def test_unreadable_files_are_rejected(tmp_path: Path, real_results: dict) -> None:
    good = write(tmp_path / "good.json", reference_submission(
        "random", [real_results["random"][OPEN_CHAT]]))
    text = good.read_text("utf-8")
    only(problems(tmp_path / "missing.json"), "file", "does not exist")
    (tmp_path / "dupe.json").write_text(text.replace('"format": ', '"method": "x", "format": ', 1))
    only(problems(tmp_path / "dupe.json"), "file", "duplicate key 'method'")
    (tmp_path / "inf.json").write_text(text.replace('"return_mean": ', '"return_mean": Infinity,'
                                                    ' "x": ', 1))
    only(problems(tmp_path / "inf.json"), "file", "non-standard JSON number Infinity")
    (tmp_path / "broken.json").write_text(text[:-40])
    only(problems(tmp_path / "broken.json"), "file", "is not valid JSON")
    (tmp_path / "latin1.json").write_bytes(text.replace("random", "randé").encode("latin-1"))
    only(problems(tmp_path / "latin1.json"), "file", "is not UTF-8")
    (tmp_path / "link.json").symlink_to(good)
    only(problems(tmp_path / "link.json"), "file", "is a symbolic link")


def test_nan_is_read_as_null(tmp_path: Path, real_results: dict) -> None:
    """Python's json writes NaN for an undefined CI; it reads as null, which the schema allows
    only where a value may be undefined."""
    sub = reference_submission("random", [real_results["random"][OPEN_CHAT]])
    path = write(tmp_path / "nan.json", sub)
    text = path.read_text("utf-8")
    r = sub["results"][0]
    path.write_text(text.replace(json.dumps(r["normalized_score"]), "NaN", 1))
    only(problems(path), "schema", "None is not of type 'number'")


def test_oversized_submission_is_rejected(tmp_path: Path, real_results: dict) -> None:
    sub = reference_submission("random", [real_results["random"][OPEN_CHAT]])
    path = write(tmp_path / "big.json", sub)
    path.write_text(path.read_text("utf-8") + " " * lbd.MAX_SUBMISSION_BYTES)  # still valid JSON
    only(problems(path), "size", "at most 1000000 bytes")


# -- artifacts ------------------------------------------------------------------------------------


def _with_artifact(sub_path: Path, **artifact: str) -> Path:
    """Rewrite the submission's artifact fields."""
    sub = json.loads(sub_path.read_text("utf-8"))
    sub["artifact"].update(artifact)
    return write(sub_path, sub)


def test_tampered_artifact_hash_is_rejected(tmp_path: Path) -> None:
    path = artifact_submission(tmp_path, "argmax")
    _with_artifact(path, sha256="0" * 64)
    only(problems(path), "artifact-hash", "not the submitted " + "0" * 64)
    _with_artifact(path, sha256=lbd.sha256_file(tmp_path / "argmax" / "policy.onnx"))
    assert not problems(path)
    with open(tmp_path / "argmax" / "policy.onnx", "ab") as fh:  # changed after submission
        fh.write(b"\0")
    only(problems(path), "artifact-hash", "the file changed after submission")


def test_artifact_that_does_not_reproduce_is_rejected(tmp_path: Path) -> None:
    path = artifact_submission(tmp_path, "argmax", column=3)
    other = tiny_policy(tmp_path / "other" / "policy.onnx", column=0)  # a different policy
    _with_artifact(path, path="other/policy.onnx", sha256=lbd.sha256_file(other))
    p = only(problems(path), "not-reproduced", "does not reproduce the results")
    assert "normalized_score" in p.message and "tolerance 1.0" in p.message
    assert not problems(path, rerun=False)  # only the re-run can tell


def test_artifact_that_is_not_onnx_is_rejected(tmp_path: Path) -> None:
    path = artifact_submission(tmp_path, "argmax")
    fake = tmp_path / "argmax" / "fake.onnx"
    fake.write_bytes(b"\xff\xff definitely not an ONNX protobuf")
    _with_artifact(path, path="argmax/fake.onnx", sha256=lbd.sha256_file(fake))
    only(problems(path), "artifact-format", "is not an ONNX model")
    assert lbd.validate_submission(path, rerun=False).problems  # refused even without a re-run


def test_artifact_paths_that_escape_are_rejected(tmp_path: Path) -> None:
    folder = tmp_path / "subs"
    path = artifact_submission(folder, "argmax")
    outside = tmp_path / "x.onnx"
    outside.write_bytes((folder / "argmax" / "policy.onnx").read_bytes())
    digest = lbd.sha256_file(outside)
    cases = [("../x.onnx", "leaves the submission's folder"),
             ("argmax/../../x.onnx", "leaves the submission's folder"),
             ("..\\x.onnx", "leaves the submission's folder"),
             (str(outside), "is absolute"),
             ("C:\\x.onnx", "is absolute"),
             ("argmax/nothing.onnx", "no file at")]
    for rel, fragment in cases:
        _with_artifact(path, path=rel, sha256=digest)
        only(problems(path), "artifact-path", fragment)


def test_symlinked_artifacts_are_rejected(tmp_path: Path) -> None:
    path = artifact_submission(tmp_path, "argmax")
    real = tmp_path / "argmax" / "policy.onnx"
    digest = lbd.sha256_file(real)
    (tmp_path / "argmax" / "link.onnx").symlink_to(real)  # a link inside the folder
    _with_artifact(path, path="argmax/link.onnx", sha256=digest)
    only(problems(path), "artifact-symlink", "is a symbolic link")
    (tmp_path / "linkdir").symlink_to(tmp_path / "argmax", target_is_directory=True)
    _with_artifact(path, path="linkdir/policy.onnx", sha256=digest)
    only(problems(path), "artifact-symlink", "linkdir is a symbolic link")


def test_oversized_artifact_is_rejected(tmp_path: Path) -> None:
    path = artifact_submission(tmp_path, "argmax")
    big = tmp_path / "argmax" / "big.onnx"
    with open(big, "wb") as fh:  # sparse: costs no disk
        fh.truncate(lbd.MAX_ARTIFACT_BYTES + 1)
    _with_artifact(path, path="argmax/big.onnx", sha256="1" * 64)
    only(problems(path), "size", "at most 50000000 bytes")


# -- the CLI --------------------------------------------------------------------------------------


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_validate_exit_codes(tmp_path: Path, real_results: dict,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    good = write(tmp_path / "good.json", reference_submission(
        "expert", [real_results["expert"][OPEN_CHAT]]))
    art = artifact_submission(tmp_path, "argmax")
    sub = reference_submission("drift", [real_results["drift"][OPEN_CHAT]])
    sub["results"][0]["normalized_score"] += 5
    bad = write(tmp_path / "bad.json", sub)

    code, out, _ = run_cli(capsys, "leaderboard", "validate", str(good), str(art))
    assert code == 0
    assert f"OK {good}" in out and "results reproduced" in out
    code, out, err = run_cli(capsys, "leaderboard", "validate", str(good), str(bad))
    assert code == 1
    assert f"REJECTED {bad}" in out and "[inconsistent]" in out and "1 of 2" in err
    code, out, _ = run_cli(capsys, "leaderboard", "validate", "--json", str(good), str(bad))
    assert code == 1
    verdicts = json.loads(out)
    assert [v["ok"] for v in verdicts] == [True, False]
    assert verdicts[1]["problems"][0]["code"] == "inconsistent"
    with pytest.raises(SystemExit) as exc:  # no file at all: a usage error
        main(["leaderboard", "validate"])
    assert exc.value.code == 2


def test_cli_validate_prints_progress_lines_when_not_on_a_terminal(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The re-evaluations are the long part: stderr (not a terminal here) gets plain progress
    lines over the episodes they re-run, counted by the sandboxed children as they go."""
    subs = [artifact_submission(tmp_path, name, column) for name, column in (("a", 3), ("b", 0))]
    code, out, err = run_cli(capsys, "leaderboard", "validate", *map(str, subs))
    assert code == 0 and out.count("OK ") == 2
    assert "\r" not in err
    total = 2 * EPISODES * len(SEEDS)
    lines = [ln for ln in err.splitlines() if ln.startswith("re-run 2 artifact(s)")]
    assert len(lines) >= 2, err
    assert "0%" in lines[0] and f"0/{total}" in lines[0]
    assert "100%" in lines[-1] and f"{total}/{total}" in lines[-1]


def test_rerun_progress_counts_every_episode_and_changes_nothing(tmp_path: Path) -> None:
    pt = tiny_policy(tmp_path / "policy.onnx")
    runs = [{"env_id": OPEN_CHAT, "seeds": SEEDS, "episodes": EPISODES}]
    counted: list[int] = []
    with_progress = lbd.rerun_in_child(pt, runs, progress=counted.append)
    assert sum(counted) == EPISODES * len(SEEDS) and len(counted) >= len(SEEDS)
    assert with_progress == lbd.rerun_in_child(pt, runs)


def test_cli_schema_prints_the_schema(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "leaderboard", "schema")
    assert code == 0 and json.loads(out) == lbd.SUBMISSION_SCHEMA


def test_cli_build(tmp_path: Path, real_results: dict,
                   capsys: pytest.CaptureFixture[str]) -> None:
    subs = tmp_path / "leaderboard" / "submissions"
    for policy in ("expert", "random"):
        write(subs / f"{policy}.json",
              reference_submission(policy, list(real_results[policy].values())))
    out = tmp_path / "site"
    code, stdout, _ = run_cli(capsys, "leaderboard", "build", "--submissions", str(subs),
                              "--out", str(out))
    assert code == 0 and "0 ranked and 2 unverified entries" in stdout
    assert "scaling" not in stdout
    assert {p.name for p in (out / "entries").iterdir()} == {"expert.html", "random.html"}
    index = (out / "index.html").read_text("utf-8")
    # no artifact: listed (under both envs) in the unverified section, never in a ranked table
    assert index.count("expert (reference)") == 2 and 'id="unverified"' in index
    assert "data-env=" not in index
    assert "scaling.png" not in index  # no plot: no figure
    (tmp_path / "leaderboard" / "scaling.png").write_bytes(png_bytes())  # the default spot
    code, stdout, _ = run_cli(capsys, "leaderboard", "build", "--submissions", str(subs),
                              "--out", str(out))
    assert code == 0 and "with the scaling plot" in stdout
    assert (out / "scaling.png").read_bytes() == png_bytes()
    assert '<img src="scaling.png"' in (out / "index.html").read_text("utf-8")

    sub = reference_submission("drift", [real_results["drift"][OPEN_CHAT]])
    sub["results"][0]["episodes"] += 1
    write(subs / "drift.json", sub)
    fresh = tmp_path / "fresh"
    code, _, err = run_cli(capsys, "leaderboard", "build", "--submissions", str(subs),
                           "--out", str(fresh))
    assert code == 1 and "drift.json" in err and "nothing was built" in err
    assert not fresh.exists()
    code, _, err = run_cli(capsys, "leaderboard", "build", "--submissions",
                           str(tmp_path / "nowhere"), "--out", str(fresh))
    assert code == 2 and "no submissions folder" in err


# -- the site -------------------------------------------------------------------------------------


def png_bytes(width: int = 4, height: int = 3) -> bytes:
    """A small valid PNG (grey pixels), written without an image library."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    raw = b"".join(b"\0" + b"\x80" * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0,
                                                               0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


class _Tags(HTMLParser):
    """Collects what a browser would treat as active content."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.scripts: list[str] = []
        self.handlers: list[tuple[str, str]] = []
        self.images: list[str | None] = []
        self.hrefs: list[str | None] = []
        self.text: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handlers += [(tag, k) for k, _ in attrs if k.startswith("on")]
        if tag == "script":
            self._in_script = True
            self.scripts.append("")
        elif tag == "img":
            self.images.append(dict(attrs).get("src"))
        elif tag in ("a", "link", "base", "iframe", "object", "embed", "form"):
            self.hrefs.append(dict(attrs).get("href") or dict(attrs).get("src") or tag)

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.scripts[-1] += data
        else:
            self.text.append(data)


def test_script_injection_in_every_text_field_is_inert(tmp_path: Path, real_results: dict) -> None:
    subs = tmp_path / "subs"
    results = [copy.deepcopy(real_results["drift"][OPEN_CHAT])]
    results[0]["policy"] = PAYLOAD
    evil = lbd.make_submission(
        results, PAYLOAD, PAYLOAD, PAYLOAD + "\nsecond line " + PAYLOAD,
        paper_url="https://example.org/<script>window.__pwned=3</script>",
        code_url='https://example.org/"onmouseover="window.__pwned=4"',
        dataset_ids=[PAYLOAD], command=PAYLOAD,
        training={"algo": PAYLOAD, "dataset": PAYLOAD, "steps": 1, "seed": 0, "notes": PAYLOAD})
    write(subs / "evil.json", evil)
    write(subs / "expert.json", reference_submission("expert",
                                                     [real_results["expert"][OPEN_CHAT]]))
    (tmp_path / "plot.png").write_bytes(png_bytes())
    lbd.build_site(subs, tmp_path / "site", scaling_plot=tmp_path / "plot.png")

    pages = sorted((tmp_path / "site").rglob("*.html"))
    assert [p.name for p in pages] == ["evil.html", "expert.html", "index.html"]
    for page in pages:
        raw = page.read_text("utf-8")
        assert "<script>window" not in raw and "<img src=x" not in raw, page
        tags = _Tags()
        tags.feed(raw)
        assert tags.scripts == ([sorter_js()] if page.name == "index.html" else []), page
        assert not tags.handlers, f"{page}: event-handler attributes {tags.handlers}"
        assert all(src == "scaling.png" for src in tags.images), tags.images
        for href in tags.hrefs:  # our relative links, or the submitted https URLs
            assert href is not None and urlsplit(href).scheme in ("", "https"), href
        text = "".join(tags.text)
        if page.name != "expert.html":
            assert PAYLOAD in text, f"{page}: the method name is not shown as text"
    entry = "".join(_parsed_text(tmp_path / "site" / "entries" / "evil.html"))
    assert entry.count(PAYLOAD) >= 7  # method, submitter, description x2, dataset, command, ...
    index = html.unescape((tmp_path / "site" / "index.html").read_text("utf-8"))
    assert "default-src 'none'; script-src 'sha256-" in index  # CSP: only our script may run


def _parsed_text(page: Path) -> list[str]:
    tags = _Tags()
    tags.feed(page.read_text("utf-8"))
    return tags.text


def test_only_http_urls_become_links() -> None:
    assert safe_url("https://example.org/x") and safe_url("http://example.org")
    for url in ("javascript:alert(1)", "data:text/html,<script>1</script>", "//evil.org",
                "https://exa mple.org", "file:///etc/passwd", "vbscript:x", None, 3):
        assert not safe_url(url), url


def test_build_replaces_only_a_previous_site(tmp_path: Path, real_results: dict) -> None:
    subs = tmp_path / "subs"
    write(subs / "a.json", reference_submission("expert", [real_results["expert"][OPEN_CHAT]]))
    write(subs / "b.json", reference_submission("random", [real_results["random"][OPEN_CHAT]]))
    site = tmp_path / "site"
    assert lbd.build_site(subs, site).entries == ["a", "b"]
    (subs / "b.json").unlink()
    assert lbd.build_site(subs, site).entries == ["a"]
    assert not (site / "entries" / "b.html").exists()  # replaced, not merged
    assert sorted(p.name for p in tmp_path.iterdir()) == ["site", "subs"]  # no temp leftovers
    precious = tmp_path / "mine"
    precious.mkdir()
    (precious / "notes.txt").write_text("keep me")
    with pytest.raises(lbd.LeaderboardError, match="is not a site built by persona-gym"):
        lbd.build_site(subs, precious)
    assert (precious / "notes.txt").read_text() == "keep me"
    (tmp_path / "fake.png").write_bytes(b"GIF89a not a png")
    with pytest.raises(lbd.LeaderboardError, match="is not a PNG"):
        lbd.build_site(subs, tmp_path / "other", scaling_plot=tmp_path / "fake.png")
    assert not (tmp_path / "other").exists()


def test_empty_leaderboard_builds(tmp_path: Path) -> None:
    (tmp_path / "subs").mkdir()
    lbd.build_site(tmp_path / "subs", tmp_path / "site")
    assert "No submissions yet" in (tmp_path / "site" / "index.html").read_text("utf-8")


# -- from a baseline run ---------------------------------------------------------------------------


def test_from_run_makes_a_submission_that_reproduces(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """A real (tiny) d3rlpy run exports policy.onnx; from-run turns it into a submission that
    validates with its artifact re-run in the sandbox, and is ranked."""
    from persona_gym.baselines import bc

    from persona_gym.training import parse_args, train

    monkeypatch.setenv("MINARI_DATASETS_PATH", str(tmp_path / "minari"))
    args = parse_args(bc.Args, ["--env", OPEN_CHAT, "--dataset-episodes", "12", "--steps", "4",
                                "--eval-episodes", "0", "--select-episodes", "5",
                                "--wandb", "disabled",
                                "--out", str(tmp_path / "runs")])
    run = Path(train(args, "DiscreteBC", bc.make_algo)["logdir"])
    assert (run / "policy.onnx").is_file() and not (run / "policy.pt").exists()
    path = lbd.submission_from_run(run, tmp_path / "subs")
    sub = json.loads(path.read_text("utf-8"))
    assert sub["artifact"]["format"] == "onnx"
    assert sub["artifact"]["path"] == f"{run.name}/policy.onnx"
    report = lbd.validate_submission(path)
    assert report.ok and report.reproduced and report.verified, lbd.format_report(report)
    # the checkpoint selected on valid personas can be submitted instead, under its own name
    picked = lbd.submission_from_run(run, tmp_path / "subs", selected=True)
    sub = json.loads(picked.read_text("utf-8"))
    assert picked.name == f"{run.name}__selected.json" and "valid personas" in sub["description"]
    assert sub["artifact"]["sha256"] == lbd.sha256_file(run / "policy_selected.onnx")
    report = lbd.validate_submission(picked)
    assert report.ok and report.reproduced, lbd.format_report(report)
    (run / "policy_selected.onnx").unlink()  # as a run with --select-episodes 0 has none
    with pytest.raises(lbd.LeaderboardError, match="drop --selected"):
        lbd.submission_from_run(run, tmp_path / "subs3", selected=True)
    # a run folder from before (policy.pt only) is refused with the way forward
    (run / "policy.onnx").rename(run / "policy.pt")
    with pytest.raises(lbd.LeaderboardError, match="leaderboard convert"):
        lbd.submission_from_run(run, tmp_path / "subs2")


def test_progress_from_a_rerun_is_capped_at_the_submissions_episodes(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The child's progress lines only move a display, but a forged count must not run it past
    the submission's episodes (nor backwards)."""
    from persona_gym.leaderboard import validate as v

    def forged(artifact: Path, results: list, limits: object, progress: object) -> list:
        for n in (3, -5, 10**9, 7):
            progress(n)  # type: ignore[operator]
        return []

    monkeypatch.setattr(v, "_rerun_problems", forged)
    item = v._Rerun(v.Report(tmp_path / "s.json"), tmp_path / "policy.onnx",
                    {"results": [{"seeds": [0, 1], "episodes_per_seed": 10}]})
    shown: list[int] = []
    item.run(v.DEFAULT_LIMITS, shown.append)
    assert shown == [3, 17] and item.report.reproduced
