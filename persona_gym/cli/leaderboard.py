"""``persona-gym leaderboard``: validate submissions, check pull requests, build the site."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from persona_gym.cli._common import known_env_id, positive_int, progress_bar


def _limits_arguments(p: argparse.ArgumentParser) -> None:
    from persona_gym.leaderboard import DEFAULT_LIMITS as D

    p.add_argument("--wall-s", type=float, default=D.wall_s, metavar="S",
                   help=f"wall-time limit of one artifact's re-evaluation (default {D.wall_s:g})")
    p.add_argument("--cpu-s", type=positive_int, default=D.cpu_s, metavar="S",
                   help=f"CPU-time limit of one re-evaluation (default {D.cpu_s})")
    p.add_argument("--memory-mb", type=positive_int, default=D.memory_bytes // 2**20,
                   metavar="MB", help="address-space limit of the re-evaluation process "
                   f"(default {D.memory_bytes // 2**20})")


def _limits(args: argparse.Namespace) -> Any:
    from persona_gym.leaderboard import Limits

    return Limits(wall_s=args.wall_s, cpu_s=args.cpu_s, memory_bytes=args.memory_mb * 2**20)


def _leaderboard_parsers(p: argparse.ArgumentParser) -> None:
    from persona_gym.leaderboard import (
        MAX_PR_ENTRIES,
        MAX_RERUN_EPISODES,
        PR_PROBLEM_CODES,
        PROBLEM_CODES,
        SUBMISSIONS_DIR,
    )

    lsub = p.add_subparsers(dest="leaderboard_command", required=True, metavar="ACTION")
    lv = lsub.add_parser(
        "validate", help="check submission files; exit code 1 if any is rejected",
        description="Check each submission: the file (regular file, <= 1 MB, strict JSON, "
        "nesting <= 32, integers <= 20 digits, finite numbers), the schema "
        "(leaderboard/schema.json), the budget (at most "
        f"{MAX_RERUN_EPISODES} episodes in all), the versions (env ids at their current -vN, "
        "the evaluation protocol, persona_gym), the internal consistency of every results dict "
        "(means vs per-seed results, score conversions, plausible CIs, by-turn lengths), and "
        "the policy artifact if there is one (inside the submission's folder, no symlinks, "
        "<= 50 MB, sha256, an ONNX graph of allowed operators). The artifact is then "
        "re-evaluated in a child process with wall-time, CPU-time and memory limits, with the "
        "submission's own seeds and episodes, and results further than 1.0 normalized-score "
        "point (0.02 on a metric mean) from the submitted ones are rejected. A passing "
        "submission without an artifact is reported UNVERIFIED: it is listed apart on the "
        "site and never ranked.",
        epilog="Prints OK FILE or REJECTED FILE with one line per problem, each tagged with a "
        f"stable code: {', '.join(PROBLEM_CODES)}. Every file gets its verdict. Exit code 0 "
        "when every file passes, 1 otherwise. See docs/security.md.",
    )
    lv.add_argument("files", nargs="+", metavar="FILE", help="submission JSON files")
    lv.add_argument("--no-rerun", action="store_true",
                    help="skip re-evaluating policy artifacts (path, size, sha256 and the ONNX "
                    "checks still run)")
    lv.add_argument("--json", action="store_true",
                    help="print one JSON list of {file, ok, verified, reproduced, problems: "
                    "[{code, message}]}")
    _limits_arguments(lv)
    lb = lsub.add_parser(
        "build", help="build the static leaderboard site from the validated submissions",
        description="Validate every *.json under --submissions (re-running policy artifacts in "
        "the sandbox unless --no-rerun) and write a static site to --out: index.html with one "
        "ranked table per env (submissions with a policy artifact; click any column header to "
        "sort), the unverified submissions (no artifact) apart and unranked, a page per entry "
        "and the scaling plot. Plain HTML from templates, inline CSS and one small inline "
        "script; no network needed (open index.html from file://). If any submission is "
        "rejected nothing is written (exit code 1). The site is built in a temporary folder "
        "and renamed into place.",
    )
    lb.add_argument("--out", default="leaderboard/site", metavar="DIR",
                    help="output folder (default leaderboard/site); an existing folder is "
                    "replaced only if it is empty or a previous build")
    lb.add_argument("--submissions", default=SUBMISSIONS_DIR, metavar="DIR",
                    help=f"folder of submission JSON files (default {SUBMISSIONS_DIR})")
    lb.add_argument("--scaling-plot", default=None, metavar="PNG",
                    help="the scaling study's plot to show (default: scaling.png next to the "
                    "submissions folder, i.e. leaderboard/scaling.png, when present)")
    lb.add_argument("--rerun", action=argparse.BooleanOptionalAction, default=True,
                    help="re-evaluate policy artifacts in the sandbox (default); --no-rerun "
                    "checks only their paths, hashes and ONNX format (a quick preview)")
    _limits_arguments(lb)
    lr = lsub.add_parser(
        "from-run", help="make a submission from a baseline run folder",
        description="Turn a baseline run (runs/{env}__{algo}__{seed}/ from baselines/*.py) into "
        "a leaderboard submission: its ONNX policy is evaluated with the official protocol "
        "(seeds 0 1 2, 100 episodes each), copied next to the submission with its sha256, and "
        "the command that trained it is recorded from the run's config.json.",
    )
    lr.add_argument("run", help="the run folder (holds config.json and policy.onnx)")
    lr.add_argument("--submissions", default=SUBMISSIONS_DIR, metavar="DIR",
                    help="where to write {name}.json and {name}/policy.onnx (default "
                    f"{SUBMISSIONS_DIR})")
    lr.add_argument("--name", default=None, help="entry folder name (default: the run's name)")
    lr.add_argument("--method", default=None, help="method name (default: '{algo} (baseline)')")
    lr.add_argument("--submitter", default="persona_gym developers", help="who submits")
    lr.add_argument("--selected", action="store_true",
                    help="submit the checkpoint the run selected on valid personas "
                    "(policy_selected.onnx) instead of the final policy; the entry is named "
                    "{run}__selected")
    lc = lsub.add_parser(
        "convert", help="convert a TorchScript policy you made yourself to ONNX",
        description="Export a TorchScript policy file (e.g. an old baseline's policy.pt) as the "
        "ONNX artifact the leaderboard accepts. Loading TorchScript RUNS it (it can read and "
        "write any of your files), so this needs --trusted: only convert files you made.",
    )
    lc.add_argument("source", help="the TorchScript file (.pt)")
    lc.add_argument("out", help="the ONNX file to write (.onnx)")
    lc.add_argument("--env", type=known_env_id, required=True,
                    help="the env the policy acts on (gives the observation width)")
    lc.add_argument("--trusted", action="store_true",
                    help="confirm the file is your own: converting executes it")
    lp = lsub.add_parser(
        "check-pr", help="check a pull request that adds leaderboard entries (what CI runs)",
        description="Check the changes of a pull request, from the merge base of BASE and HEAD "
        "to HEAD, as a leaderboard submission, reading only git's objects (nothing is checked "
        "out; nothing from the pull request runs but its ONNX policies, in the sandbox). The "
        "pull request is refused, before "
        f"any entry is read, if it changes anything outside {SUBMISSIONS_DIR}/, modifies or "
        "deletes an existing file there (only additions are accepted), adds a symbolic link or "
        "a submodule, a file name other than letters, digits and . _ + -, a file over 50 MB, "
        f"no entry or more than {MAX_PR_ENTRIES} entries (an entry is a .json file directly in "
        f"{SUBMISSIONS_DIR}/), or a file that no added entry names as its policy file. Each "
        "added entry is then checked exactly as `validate` does, its ONNX policy re-run in the "
        "sandbox under the limits below; the policy file must be added by the same pull "
        "request. An entry without a policy file is accepted as UNVERIFIED: listed apart on "
        "the site, never ranked. Prints the verdict as a Markdown table.",
        epilog="Exit code 0 when the pull request is accepted (every added entry passes), 1 "
        "when it is refused or an entry is rejected, 2 when the check cannot run (a commit git "
        "cannot find). Before you push a submission: `persona-gym leaderboard check-pr "
        "origin/main HEAD` (commit first: only commits are read). The CI workflow "
        "(.github/workflows/leaderboard-pr.yml) runs `check-pr BASE_SHA HEAD_SHA --repo pr "
        "--summary $GITHUB_STEP_SUMMARY` with this command installed from the base branch. "
        f"Refusal codes: {', '.join(PR_PROBLEM_CODES)}. See leaderboard/README.md and "
        "docs/security.md.",
    )
    lp.add_argument("base", metavar="BASE",
                    help="the branch the pull request goes into, or its commit (e.g. "
                    "origin/main)")
    lp.add_argument("head", metavar="HEAD", help="the pull request's last commit (e.g. HEAD)")
    lp.add_argument("--repo", default=".", metavar="DIR",
                    help="the git repository holding both commits (default: .)")
    lp.add_argument("--summary", default=None, metavar="PATH",
                    help="also append the Markdown verdict to PATH (the workflow passes "
                    "$GITHUB_STEP_SUMMARY, shown as the job's summary)")
    lp.add_argument("--rerun", action=argparse.BooleanOptionalAction, default=True,
                    help="re-evaluate policy files in the sandbox (default); --no-rerun "
                    "checks only their paths, hashes and ONNX format (a quick preview)")
    _limits_arguments(lp)
    lsub.add_parser(
        "schema", help="print the submission JSON Schema (the source of leaderboard/schema.json)",
        description="Print the JSON Schema (draft 2020-12) that validate applies; "
        "leaderboard/schema.json is this output.",
    )


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``leaderboard`` command to ``sub``."""
    p = sub.add_parser(
        "leaderboard", help="validate leaderboard submissions and build the static site",
        description="The leaderboard (leaderboard/README.md): check submission files and the "
        "pull requests that add them, and publish the validated ones as a static site that "
        "works offline from file://.",
    )
    _leaderboard_parsers(p)


def run(args: argparse.Namespace) -> int:
    """Run ``persona-gym leaderboard`` as parsed into ``args``; the exit code."""
    from pathlib import Path

    from persona_gym import leaderboard as lbd

    action = args.leaderboard_command
    prog = f"persona-gym leaderboard {action}"
    if action == "schema":
        print(json.dumps(lbd.SUBMISSION_SCHEMA, indent=2))
        return 0
    if action == "convert":
        if not args.trusted:
            print(f"{prog}: error: converting loads {args.source} with torch.jit.load, which "
                  "runs it with your permissions; pass --trusted if you made this file "
                  "yourself (never for a file from someone else)", file=sys.stderr)
            return 2
        try:
            out = lbd.convert_torchscript(args.source, args.out, args.env)
        except (lbd.ArtifactError, RuntimeError, OSError) as exc:
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            print(f"{prog}: error: {first}", file=sys.stderr)
            return 2
        print(f"wrote {out} (sha256 {lbd.sha256_file(out)})")
        return 0
    if action == "from-run":
        try:
            path = lbd.submission_from_run(args.run, args.submissions, name=args.name,
                                           method=args.method, submitter=args.submitter,
                                           selected=args.selected)
        except (lbd.LeaderboardError, FileNotFoundError, ValueError) as exc:
            print(f"{prog}: error: {exc}", file=sys.stderr)
            return 2
        print(f"wrote {path}")
        return 0
    try:
        limits = _limits(args)
    except ValueError as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return 2
    if action == "check-pr":
        return _check_pr(args, limits, prog)
    if action == "validate":
        reports = lbd.validate_files(args.files, rerun=not args.no_rerun, limits=limits,
                                     open_bar=progress_bar)
        if args.json:
            print(json.dumps([{"file": str(r.path), "ok": r.ok, "verified": r.verified,
                               "reproduced": r.reproduced,
                               "problems": [{"code": p.code, "message": p.message}
                                            for p in r.problems]} for r in reports]))
        else:
            for r in reports:
                print(lbd.format_report(r))
        rejected = sum(not r.ok for r in reports)
        if rejected and not args.json:
            print(f"{rejected} of {len(reports)} submission(s) rejected", file=sys.stderr)
        return 1 if rejected else 0
    plot = args.scaling_plot
    if plot is None:
        default = Path(args.submissions).parent / "scaling.png"
        plot = default if default.is_file() else None
    try:
        result = lbd.build_site(args.submissions, args.out, scaling_plot=plot,
                                rerun=args.rerun, limits=limits)
    except lbd.SubmissionsRejected as exc:
        print(f"{prog}: {exc}", file=sys.stderr)
        return 1
    except lbd.LeaderboardError as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {result.out / 'index.html'}: {len(result.ranked)} ranked and "
          f"{len(result.unverified)} unverified entries"
          f"{', with the scaling plot' if plot is not None else ''}")
    return 0


def _check_pr(args: argparse.Namespace, limits: Any, prog: str) -> int:
    from persona_gym import leaderboard as lbd

    print(f"{prog}: checking {args.base}...{args.head} in {args.repo}", file=sys.stderr)
    try:
        check = lbd.check_pull_request(args.repo, args.base, args.head, rerun=args.rerun,
                                       limits=limits)
    except lbd.LeaderboardError as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        if args.summary:
            lbd.append_summary(args.summary, lbd.format_failure(str(exc)))
        return 2
    text = lbd.format_summary(check)
    print(text, end="")
    if args.summary:
        lbd.append_summary(args.summary, text)
    return 0 if check.accepted else 1
