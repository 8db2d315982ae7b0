"""The leaderboard: the submission format, its validator, the sandbox and the static site.

A submission is one JSON file under ``leaderboard/submissions/`` (format in
``leaderboard/README.md``; JSON Schema in :data:`SUBMISSION_SCHEMA`, exported as
``leaderboard/schema.json``), optionally with an ONNX policy artifact next to it. Submissions
come from strangers, so everything here treats them as untrusted input (docs/security.md):

- :mod:`.schema` — the schema and every limit a submission is held to;
- :mod:`.validate` — reading (size, depth, number checks), the schema, the episode budget,
  versions, the named consistency checks of each results dict, the artifact's path, hash and
  ONNX checks, and its re-evaluation; every file gets a verdict;
- :mod:`.sandbox` — the re-evaluation in a child process with wall-time, CPU-time and memory
  limits;
- :mod:`.site` — the static site from Jinja2 templates (autoescaped); submissions without an
  artifact are shown apart as unverified, never ranked;
- :mod:`.submit` — making submissions, and converting a *trusted* torch policy to ONNX;
- :mod:`.pull_request` — checking a pull request that adds entries (what CI runs:
  ``persona-gym leaderboard check-pr BASE HEAD``): only additions under
  ``leaderboard/submissions/``, read from git as data, each entry validated and re-run.

Nothing from a submission is ever executed as code: the artifact is an ONNX graph checked
against an operator allow-list and run by onnxruntime in the sandbox.
"""

from persona_gym.artifacts import (
    ALLOWED_OPS,
    MAX_ARTIFACT_BYTES,
    ArtifactError,
    check_onnx,
    export_onnx,
    sha256_file,
)
from persona_gym.leaderboard.pull_request import (
    PR_PROBLEM_CODES,
    Change,
    PullRequestCheck,
    append_summary,
    changed_files,
    check_pull_request,
    format_failure,
    format_summary,
)
from persona_gym.leaderboard.sandbox import (
    DEFAULT_LIMITS,
    ArtifactFailed,
    LimitExceeded,
    Limits,
    SandboxError,
    rerun_in_child,
)
from persona_gym.leaderboard.schema import (
    ARTIFACT_FORMAT,
    MAX_EPISODES_PER_SEED,
    MAX_INT_DIGITS,
    MAX_JSON_DEPTH,
    MAX_PR_ENTRIES,
    MAX_RERUN_EPISODES,
    MAX_SEEDS,
    MAX_SUBMISSION_BYTES,
    METRIC_TOLERANCE,
    RERUN_TOLERANCE,
    SITE_MARKER,
    SUBMISSION_FORMAT,
    SUBMISSION_SCHEMA,
    SUBMISSIONS_DIR,
)
from persona_gym.leaderboard.site import BuildResult, build_site
from persona_gym.leaderboard.submit import (
    POLICY_FILE,
    artifact_field,
    convert_torchscript,
    make_submission,
    submission_from_run,
)
from persona_gym.leaderboard.validate import (
    PROBLEM_CODES,
    RESULT_CHECKS,
    LeaderboardError,
    Problem,
    Report,
    SubmissionsRejected,
    format_report,
    read_submission,
    validate_files,
    validate_submission,
)

__all__ = [
    "ALLOWED_OPS", "ARTIFACT_FORMAT", "DEFAULT_LIMITS", "MAX_ARTIFACT_BYTES",
    "MAX_EPISODES_PER_SEED", "MAX_INT_DIGITS", "MAX_JSON_DEPTH", "MAX_PR_ENTRIES",
    "MAX_RERUN_EPISODES", "MAX_SEEDS", "MAX_SUBMISSION_BYTES", "METRIC_TOLERANCE",
    "POLICY_FILE", "PROBLEM_CODES", "PR_PROBLEM_CODES", "RERUN_TOLERANCE", "RESULT_CHECKS",
    "SITE_MARKER", "SUBMISSIONS_DIR", "SUBMISSION_FORMAT", "SUBMISSION_SCHEMA",
    "ArtifactError", "ArtifactFailed", "BuildResult", "Change", "LeaderboardError",
    "LimitExceeded", "Limits", "Problem", "PullRequestCheck", "Report", "SandboxError",
    "SubmissionsRejected", "append_summary", "artifact_field", "build_site", "changed_files",
    "check_onnx", "check_pull_request", "convert_torchscript", "export_onnx", "format_failure",
    "format_report", "format_summary", "make_submission", "read_submission", "rerun_in_child",
    "sha256_file", "submission_from_run", "validate_files", "validate_submission",
]
