"""Checking a pull request that adds leaderboard entries: what the CI workflow runs.

:func:`check_pull_request` takes a git repository and two commits, the pull request's base and
head, and decides without running anything the pull request contains:

1. **the changes**: ``git merge-base BASE HEAD``, then ``git diff-tree -r -z --no-renames``
   from that merge base to HEAD (plumbing, so no diff setting of the user changes its output; a
   rename is a deletion and an addition). Only git's objects are read: nothing is checked out;
2. **the rules**, checked on the list of changes alone (a *refusal* stops the check before any
   file is read): every changed path lies under :data:`~.schema.SUBMISSIONS_DIR`; every change is
   an addition (no existing file is modified, deleted or changes type); every added file is a
   regular file (no symbolic link, no submodule) with a plain name (letters, digits, ``.``,
   ``_``, ``+``, ``-``, not starting with a dot) and at most
   :data:`~persona_gym.artifacts.MAX_ARTIFACT_BYTES`; at least one and at most
   :data:`~.schema.MAX_PR_ENTRIES` entries (``*.json`` directly in the submissions folder);
3. **the entries**: the added files are copied out of git's object store, by hash, into a
   temporary folder laid out as the repository; every added file that is not an entry must be the
   policy file (``artifact.path``) of an added entry; and every entry is checked by
   :func:`~.validate.validate_submission`, which re-runs its ONNX policy in the sandbox
   (:mod:`.sandbox`). An entry's policy file must come in the same pull request: only the added
   files are in the folder the validator sees;
4. **the verdict**: accepted when nothing was refused and every entry passes. An entry without a
   policy file passes as *unverified*: listed apart on the site and never ranked, as ``validate``
   and ``build`` treat it.

:func:`format_summary` writes the verdict as Markdown (the CI job's summary); every string that
comes from the pull request is escaped there. What this protects against, and what the CI
workflow adds (the checker's code comes from the base branch): docs/security.md.
"""

from __future__ import annotations

import re
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import IO

from persona_gym.artifacts import MAX_ARTIFACT_BYTES
from persona_gym.leaderboard.sandbox import DEFAULT_LIMITS, Limits
from persona_gym.leaderboard.schema import MAX_PR_ENTRIES, SUBMISSIONS_DIR
from persona_gym.leaderboard.validate import (
    LeaderboardError,
    Problem,
    Report,
    read_submission,
    validate_files,
)

PR_PROBLEM_CODES = ("pr-outside", "pr-changed", "pr-not-file", "pr-name", "pr-size",
                    "pr-entries", "pr-stray")
"""Codes of the refusals of a whole pull request (an entry's own problems use
:data:`~.validate.PROBLEM_CODES`)."""

REGULAR_MODES = ("100644", "100755")
"""git file modes of regular files (an executable bit is kept by git but never used here)."""

_MODE_NAMES = {"120000": "a symbolic link", "160000": "a submodule", "040000": "a folder"}
_STATUS_NAMES = {"A": "added", "M": "modified", "D": "deleted", "T": "type changed",
                 "U": "unmerged", "X": "unknown change"}
_PLAIN_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]{0,99}")
_MAX_LISTED = 20


@dataclass(frozen=True)
class Change:
    """One changed path from the merge base to HEAD, as ``git diff-tree --raw`` gives it."""

    status: str
    """git's status letter: ``A`` added, ``M`` modified, ``D`` deleted, ``T`` type changed."""
    path: str
    """The path inside the repository, ``/``-separated."""
    mode: str
    """The mode at HEAD: ``100644`` a file, ``120000`` a symbolic link, ``160000`` a submodule,
    ``000000`` when deleted."""
    blob: str
    """The object id at HEAD (zeros when deleted)."""

    def __str__(self) -> str:
        return f"{_shown(self.path)} ({_STATUS_NAMES.get(self.status, self.status)})"


@dataclass
class PullRequestCheck:
    """The verdict on one pull request (:func:`check_pull_request`)."""

    base: str
    """The merge base of BASE and HEAD (the commit the changes are counted from)."""
    head: str
    """The head commit."""
    changes: list[Change]
    """Every changed path, in git's order."""
    refusals: list[Problem] = field(default_factory=list)
    """Rules of :data:`PR_PROBLEM_CODES` the pull request breaks as a whole."""
    reports: list[Report] = field(default_factory=list)
    """One report per added entry, its path relative to the repository (empty when a rule on
    the changes refused the pull request before any file was read)."""
    rerun: bool = True
    """Whether policy files were re-run in the sandbox."""

    @property
    def accepted(self) -> bool:
        """Whether the pull request can be merged as a submission: no refusal, at least one
        entry, and every entry passes (unverified entries included)."""
        return not self.refusals and bool(self.reports) and all(r.ok for r in self.reports)


# -- git ------------------------------------------------------------------------------------------


def _git(repo: Path, *args: str, stdin: bytes | None = None,
         stdout: IO[bytes] | None = None) -> bytes:
    """Run ``git -C repo ARGS``; its stdout (or write it to the open file ``stdout``)."""
    try:
        proc = subprocess.run(["git", "-C", str(repo), *args], input=stdin,
                              stdout=stdout or subprocess.PIPE, stderr=subprocess.PIPE,
                              check=False)
    except FileNotFoundError:
        raise LeaderboardError("git is not installed; check-pr reads the pull request's "
                               "commits with git") from None
    if proc.returncode != 0:
        err = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        raise LeaderboardError(f"`git {' '.join(args[:3])}` failed in {repo}: "
                               f"{err[-1] if err else f'exit status {proc.returncode}'}")
    return proc.stdout or b""


def _commit(repo: Path, rev: str, which: str) -> str:
    """The full hash of the commit ``rev`` names."""
    try:
        return _git(repo, "rev-parse", "--verify", "--quiet", "--end-of-options",
                    f"{rev}^{{commit}}").decode().strip()
    except LeaderboardError:
        raise LeaderboardError(
            f"{which} {rev!r} is not a commit in {repo}: name a branch, tag or commit hash that "
            "the repository holds (in CI, check out with fetch-depth: 0 so that both the base "
            "and the head are there)") from None


def changed_files(repo: str | Path, base: str, head: str) -> tuple[str, str, list[Change]]:
    """The merge base of ``base`` and ``head``, the head commit, and every path changed from
    that merge base to ``head`` (what ``git diff BASE...HEAD`` shows), renames as a deletion and
    an addition. Raises :class:`~.validate.LeaderboardError` naming a commit git cannot find."""
    repo = Path(repo)
    try:
        _git(repo, "rev-parse", "--git-dir")
    except LeaderboardError:
        raise LeaderboardError(f"{repo} is not a git repository; pass --repo, the folder of a "
                               "clone that holds both commits") from None
    base_id, head_id = _commit(repo, base, "BASE"), _commit(repo, head, "HEAD")
    try:
        merge_base = _git(repo, "merge-base", base_id, head_id).decode().strip()
    except LeaderboardError:
        raise LeaderboardError(f"BASE {base!r} and HEAD {head!r} share no history in {repo}; "
                               "give the pull request's base branch as BASE") from None
    raw = _git(repo, "diff-tree", "-r", "-z", "--no-renames", "--raw", merge_base, head_id)
    fields = raw.split(b"\0")
    changes = []
    for meta, path in zip(fields[0::2], fields[1::2], strict=False):
        if not meta.startswith(b":"):
            break
        _old_mode, mode, _old_blob, blob, status = meta[1:].decode().split()
        changes.append(Change(status[0], path.decode("utf-8", "surrogateescape"), mode, blob))
    return merge_base, head_id, changes


# -- the rules ------------------------------------------------------------------------------------


def _shown(path: str) -> str:
    """A path as printable ASCII (odd characters escaped)."""
    return path if path.isascii() and path.isprintable() else ascii(path)[1:-1]


def _listed(changes: Sequence[Change]) -> str:
    names = [str(c) for c in changes[:_MAX_LISTED]]
    more = len(changes) - len(names)
    return ", ".join(names) + (f" and {more} more" if more > 0 else "")


def is_entry(path: str) -> bool:
    """Whether the repository path is an entry: a ``*.json`` file directly in
    :data:`~.schema.SUBMISSIONS_DIR` (what ``build`` reads)."""
    p = PurePosixPath(path)
    return p.suffix == ".json" and p.parent == PurePosixPath(SUBMISSIONS_DIR)


def change_problems(changes: Sequence[Change]) -> list[Problem]:
    """The rules a pull request's changes must keep (step 2 of the module docstring), from the
    list of changes alone."""
    prefix = SUBMISSIONS_DIR + "/"
    out = []
    outside = [c for c in changes if not c.path.startswith(prefix)]
    if outside:
        out.append(Problem("pr-outside", f"the pull request changes files outside {prefix}: "
                           f"{_listed(outside)}. A submission adds files under {prefix} and "
                           "nothing else: send any other change in a pull request of its own"))
    inside = [c for c in changes if c.path.startswith(prefix)]
    changed = [c for c in inside if c.status != "A"]
    if changed:
        out.append(Problem("pr-changed", f"the pull request changes existing files: "
                           f"{_listed(changed)}. Only additions are accepted: a merged entry is "
                           "not edited or removed by a submission; add a new entry under a new "
                           "name (maintainers change merged entries themselves)"))
    added = [c for c in inside if c.status == "A"]
    odd = [c for c in added if c.mode not in REGULAR_MODES]
    if odd:
        kinds = ", ".join(f"{_shown(c.path)} ({_MODE_NAMES.get(c.mode, 'mode ' + c.mode)})"
                          for c in odd[:_MAX_LISTED])
        out.append(Problem("pr-not-file", f"the pull request adds things that are not regular "
                           f"files: {kinds}. Commit the files themselves"))
    badly_named = [c for c in added
                   if not all(_PLAIN_NAME.fullmatch(part)
                              for part in c.path[len(prefix):].split("/"))]
    if badly_named:
        out.append(Problem("pr-name", f"the pull request adds files whose names are not plain: "
                           f"{_listed(badly_named)}. Name every folder and file with letters, "
                           "digits, '.', '_', '+' and '-' (at most 100 characters, not starting "
                           "with a dot), e.g. my-method.json and my-method/policy.onnx"))
    entries = [c for c in added if is_entry(c.path)]
    if not entries:
        out.append(Problem("pr-entries", f"the pull request adds no entry: an entry is a .json "
                           f"file directly in {prefix} (e.g. {prefix}my-method.json)"))
    elif len(entries) > MAX_PR_ENTRIES:
        out.append(Problem("pr-entries", f"the pull request adds {len(entries)} entries; one "
                           f"pull request may add at most {MAX_PR_ENTRIES} (each is re-run): "
                           "split it"))
    return out


def _size_problems(repo: Path, added: Sequence[Change]) -> list[Problem]:
    answer = _git(repo, "cat-file", "--batch-check",
                  stdin="".join(f"{c.blob}\n" for c in added).encode())
    sizes = {}
    for line in answer.decode().splitlines():
        blob, _kind, size = line.split()
        sizes[blob] = int(size)
    big = [c for c in added if sizes[c.blob] > MAX_ARTIFACT_BYTES]
    if not big:
        return []
    listed = ", ".join(f"{_shown(c.path)} ({sizes[c.blob]} bytes)" for c in big[:_MAX_LISTED])
    return [Problem("pr-size", f"the pull request adds files over {MAX_ARTIFACT_BYTES} bytes "
                    f"(50 MB), the most a policy file may have: {listed}")]


def _named_policy_files(root: Path, entries: Sequence[Change]) -> set[str]:
    """The repository paths the entries name as their policy file (``artifact.path``), read
    with the validator's reader; an entry that cannot be read names none."""
    named = set()
    for c in entries:
        data, _ = read_submission(root / c.path)
        artifact = data.get("artifact") if isinstance(data, dict) else None
        rel = artifact.get("path") if isinstance(artifact, dict) else None
        if isinstance(rel, str):
            named.add((PurePosixPath(c.path).parent / rel).as_posix())
    return named


def _relabeled(report: Report, root: Path, rel: str) -> Report:
    """``report`` with the repository path ``rel`` and the temporary folder cut from its
    messages (the submitter knows the files by their place in the repository)."""
    prefix = f"{root}/"
    problems = [Problem(p.code, p.message.replace(prefix, "")) for p in report.problems]
    return Report(Path(rel), problems, report.submission, report.reproduced)


# -- the check ------------------------------------------------------------------------------------


def check_pull_request(repo: str | Path, base: str, head: str, *, rerun: bool = True,
                       limits: Limits = DEFAULT_LIMITS) -> PullRequestCheck:
    """Check the pull request from ``base`` to ``head`` in the git repository ``repo`` (steps
    1-4 of the module docstring): its changes against the rules, then every added entry with
    :func:`~.validate.validate_submission` (``rerun`` and ``limits`` as there).

    Nothing from the pull request is executed: files are read from git's object store as data,
    and a policy file runs only as a checked ONNX graph in the sandbox. Raises
    :class:`~.validate.LeaderboardError` when git cannot give the changes (a commit it cannot
    find, no common history, no git)."""
    repo = Path(repo)
    merge_base, head_id, changes = changed_files(repo, base, head)
    check = PullRequestCheck(merge_base, head_id, changes, rerun=rerun)
    check.refusals = change_problems(changes)
    if check.refusals:
        return check
    check.refusals = _size_problems(repo, changes)
    if check.refusals:
        return check
    entries = [c for c in changes if is_entry(c.path)]
    with tempfile.TemporaryDirectory(prefix="persona-gym-pr-") as tmp:
        root = Path(tmp).resolve()
        for c in changes:  # plain names (checked above): each lands inside root
            target = root / c.path
            target.parent.mkdir(parents=True, exist_ok=True)
            with open(target, "wb") as fh:
                _git(repo, "cat-file", "blob", c.blob, stdout=fh)
        named = _named_policy_files(root, entries)
        stray = [c for c in changes if not is_entry(c.path) and c.path not in named]
        if stray:
            check.refusals.append(Problem(
                "pr-stray", f"the pull request adds files that no added entry names as its "
                f"policy file (artifact.path): {_listed(stray)}. A submission adds entries "
                f"({SUBMISSIONS_DIR}/NAME.json) and the policy files they name, nothing else"))
        reports = validate_files([root / c.path for c in entries], rerun=rerun, limits=limits)
        check.reports = [_relabeled(r, root, c.path)
                         for r, c in zip(reports, entries, strict=True)]
    return check


# -- the summary ----------------------------------------------------------------------------------

_MARKDOWN_ACTIVE = str.maketrans({c: "\\" + c for c in "\\`&<>|[]"})


def markdown_text(text: str, limit: int = 400) -> str:
    """``text`` as inert Markdown for one table cell or list item: whitespace (newlines too)
    collapsed, at most ``limit`` characters, and every character that could start HTML, an
    entity, a link or image, a code span or a new cell (``\\ ` & < > | [ ]``) backslash-escaped,
    so that it renders as itself. Emphasis (``*``, ``_``) is left alone: it cannot leave the
    cell, and escaping it would garble names in the job's log."""
    flat = " ".join(str(text).split())
    if len(flat) > limit:
        flat = flat[:limit - 1] + "…"
    return flat.translate(_MARKDOWN_ACTIVE)


def _verdict(report: Report, rerun: bool) -> str:
    if not report.ok:
        return "❌ rejected"
    if report.reproduced:
        return "✅ ranked: policy re-run, results reproduced"
    if report.verified:
        return "✅ ranked: policy checked" + ("" if rerun else " (not re-run: --no-rerun)")
    return "⚠️ unverified: no policy file, results not re-run; listed apart, never ranked"


def _row(report: Report, rerun: bool) -> str:
    entry = f"`{_shown(report.path.name)}`"
    method = results = problems = "—"
    if report.submission is not None:
        method = markdown_text(report.submission["method"], 120)
        results = "<br>".join(
            f"{markdown_text(r['env_id'])}: {r['normalized_score']:.2f}"
            for r in report.submission["results"])
    if report.problems:
        shown = [f"`{p.code}` {markdown_text(p.message)}" for p in report.problems[:10]]
        if len(report.problems) > 10:
            shown.append(f"… and {len(report.problems) - 10} more")
        problems = "<br>".join(shown)
    return f"| {entry} | {_verdict(report, rerun)} | {method} | {results} | {problems} |"


def format_summary(check: PullRequestCheck) -> str:
    """The verdict as Markdown: the refusals, a table of the entries (entry, verdict, method,
    normalized score per env, problems) and a last line that says what to do."""
    n = len(check.changes)
    lines = ["## Leaderboard submission check", "",
             f"{n} changed file{'s' if n != 1 else ''} from `{check.base[:12]}` (merge base) "
             f"to `{check.head[:12]}`.", ""]
    if check.refusals:
        lines += ["**Refused:**", ""]
        lines += [f"- `{p.code}`: {markdown_text(p.message, 2000)}" for p in check.refusals]
        lines.append("")
    if check.reports:
        lines += ["| entry | verdict | method | normalized score | problems |",
                  "|---|---|---|---|---|"]
        lines += [_row(r, check.rerun) for r in check.reports]
        lines.append("")
    rejected = sum(not r.ok for r in check.reports)
    local = "`persona-gym leaderboard check-pr origin/main HEAD` runs this check locally"
    if check.accepted:
        ranked = sum(r.verified for r in check.reports)
        lines.append(f"**Verdict: accepted.** {len(check.reports)} entr"
                     f"{'y passes' if len(check.reports) == 1 else 'ies pass'}: {ranked} ranked, "
                     f"{len(check.reports) - ranked} unverified. Once merged, the site is rebuilt "
                     "(every policy re-run again) and published.")
    elif check.refusals and not check.reports:
        lines.append(f"**Verdict: refused.** No entry was checked; fix the above and push "
                     f"again ({local}).")
    else:
        parts = ([f"{rejected} of {len(check.reports)} entries rejected"] if rejected else [])
        if check.refusals:
            parts.append("the pull request is refused")
        lines.append(f"**Verdict: rejected.** {'; '.join(parts).capitalize()}: fix what is "
                     f"named above and push again ({local}).")
    return "\n".join(lines) + "\n"


def format_failure(message: str) -> str:
    """Markdown for a check that could not run (git could not give the changes)."""
    return ("## Leaderboard submission check\n\n**The check could not run:** "
            f"{markdown_text(message, 2000)}\n")


def append_summary(path: str | Path, text: str) -> None:
    """Append ``text`` to the file ``path`` (GitHub's ``$GITHUB_STEP_SUMMARY`` is appended to,
    as other steps may write to it too)."""
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(text)


__all__ = ["PR_PROBLEM_CODES", "REGULAR_MODES", "Change", "PullRequestCheck",
           "append_summary", "change_problems", "changed_files", "check_pull_request",
           "format_failure", "format_summary", "is_entry", "markdown_text"]
