"""The submission format: its JSON Schema and the limits every submission must respect.

One home for the numbers a stranger's file is held to (sizes, budgets, tolerances); the
validator (:mod:`.validate`), the sandbox (:mod:`.sandbox`) and the documentation
(leaderboard/README.md, docs/security.md) all read them from here.
"""

from __future__ import annotations

from typing import Any

from persona_gym.evaluation import BY_TURN_METRICS, RESULTS_FORMAT
from persona_gym.judges.symbolic import METRICS
from persona_gym.v0.judge import METRICS as REQUIRED_METRICS  # what every task version reports

SUBMISSION_FORMAT = "persona_gym.submission"
ARTIFACT_FORMAT = "onnx"
"""The only policy-artifact format (persona_gym/artifacts.py: a checked ONNX graph)."""
MAX_SUBMISSION_BYTES = 1_000_000
"""Largest accepted submission JSON file (bytes, 1 MB)."""
MAX_JSON_DEPTH = 32
"""Deepest nesting of arrays and objects a submission may have (the format needs 6)."""
MAX_INT_DIGITS = 20
"""Longest integer literal a submission may hold (an integer too long for a float would crash
the arithmetic of the checks)."""
MAX_SEEDS = 10
"""Most evaluation seeds one results dict may list."""
MAX_EPISODES_PER_SEED = 1_000
"""Most episodes per seed one results dict may request."""
MAX_RERUN_EPISODES = 10_000
"""Most episodes one submission may ask the validator to re-run, over all of its envs
(seeds x episodes per seed, summed; about 30 s on one CPU core for the baselines' MLPs)."""
RERUN_TOLERANCE = 1.0
"""Largest accepted |submitted - re-run| normalized score, in points (see leaderboard/README.md:
evaluation is deterministic, so a faithful submission reproduces exactly on the same kind of
machine; the slack absorbs float differences between CPUs and onnxruntime builds that can flip a
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
SUBMISSIONS_DIR = "leaderboard/submissions"
"""Where entries live in the repository: ``{name}.json`` directly in it, each with its policy
file below it; the only folder a submission pull request may add files to."""
MAX_PR_ENTRIES = 5
"""Most entries one pull request may add (each re-run may take up to the sandbox's wall-time
limit, so this bounds the CI job)."""

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
            "description": "optional ONNX policy file, re-evaluated by the validator on every "
            "env; without it a submission is listed as unverified and not ranked",
            "properties": {
                "path": {**_text(300), "description": "relative to the submission's folder"},
                "sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
                "format": {"const": ARTIFACT_FORMAT},
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
                "seeds": {"type": "array", "minItems": 1, "maxItems": MAX_SEEDS,
                          "uniqueItems": True, "items": _SEEDS},
                "episodes_per_seed": {"type": "integer", "minimum": 1,
                                      "maximum": MAX_EPISODES_PER_SEED},
                "episodes": {"type": "integer", "minimum": 1},
                "normalized_score": {"type": "number"},
                "normalized_score_ci": _interval(False),
                "return_mean": {"type": "number"},
                "return_ci": _interval(False),
                "metrics": {
                    "type": "object", "additionalProperties": False,
                    "required": list(REQUIRED_METRICS),
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
                "per_seed": {"type": "array", "minItems": 1, "maxItems": MAX_SEEDS,
                             "items": {"$ref": "#/$defs/seed_result"}},
                "reader_version": {"type": "integer", "minimum": 0},  # text variants only
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
                            "required": list(REQUIRED_METRICS),
                            "properties": {m: _UNIT for m in METRICS}},
            },
        },
    },
}
"""JSON Schema (draft 2020-12) of a submission; ``leaderboard/schema.json`` is its export."""
