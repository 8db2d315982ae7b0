"""Tests of `persona-gym leaderboard check-pr` (persona_gym/leaderboard/pull_request.py) and of
the CI workflows that call it (.github/workflows/).

Every pull request here is a real one: a git repository in tmp_path with a base commit on
``main`` (a README, a package file and one committed entry) and head commits on a branch that add
real submissions (real ``evaluate()`` results, tiny ONNX policies re-run by the real sandbox),
crafted artifacts from test_untrusted.py, and changes a submission must not make. The workflow
tests read the YAML files and run their ``run:`` steps as written, with bash, against such a
repository.
"""

from __future__ import annotations

import copy
import json
import os
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import markdown_it
import pytest
import yaml
from test_leaderboard import (
    EPISODES,
    OPEN_CHAT,
    PAYLOAD,
    SEEDS,
    TUTORING,
    artifact_submission,
    reference_submission,
    write,
)
from test_untrusted import (
    _Ranked,
    _torchscript_submission,
    evil_torchscript,
    slow_graph,
    snapshot,
)

from persona_gym import leaderboard as lbd
from persona_gym.cli import main
from persona_gym.evaluation import evaluate

pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit.:DeprecationWarning")

REPO = Path(__file__).resolve().parents[1]
WORKFLOWS = REPO / ".github" / "workflows"
PR_WORKFLOW = WORKFLOWS / "leaderboard-pr.yml"
SITE_WORKFLOW = WORKFLOWS / "leaderboard-site.yml"
SUBS = lbd.SUBMISSIONS_DIR
BIN = Path(sys.executable).parent  # where `persona-gym` is installed
GIT_ENV = {"GIT_AUTHOR_NAME": "submitter", "GIT_AUTHOR_EMAIL": "submitter@example.org",
           "GIT_COMMITTER_NAME": "submitter", "GIT_COMMITTER_EMAIL": "submitter@example.org",
           "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull}


# -- a repository with a pull request ------------------------------------------------------------


def git(root: Path, *args: str) -> str:
    """Run git in ``root`` with a fixed identity and no user configuration; its stdout."""
    return subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True,
                          text=True, env={**os.environ, **GIT_ENV}).stdout.strip()


def commit(root: Path, message: str) -> str:
    """Commit everything in the work tree; the new commit's hash."""
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", message)
    return git(root, "rev-parse", "HEAD")


@pytest.fixture(scope="module")
def results() -> dict[str, list[dict[str, Any]]]:
    """Real results of reference policies: {policy: [results on OpenChat-v0]}."""
    return {p: [evaluate(OPEN_CHAT, p, episodes=EPISODES, seeds=SEEDS)]
            for p in ("random", "expert")}


@pytest.fixture
def repo(tmp_path: Path, results: dict[str, list[dict[str, Any]]]) -> Path:
    """``tmp_path/ws/pr``: a base commit on ``main`` (README.md, persona_gym/validate.py and the
    committed entry ``existing.json``), and the branch ``pr`` checked out for head commits."""
    root = tmp_path / "ws" / "pr"
    root.mkdir(parents=True)
    git(root, "init", "-q", "-b", "main")
    (root / "README.md").write_text("# a benchmark\n")
    (root / "persona_gym").mkdir()
    (root / "persona_gym" / "validate.py").write_text("ACCEPT_EVERYTHING = False\n")
    write(root / SUBS / "existing.json", reference_submission("random", results["random"]))
    commit(root, "base")
    git(root, "checkout", "-q", "-b", "pr")
    return root


def check_pr(capsys: pytest.CaptureFixture[str], root: Path, *extra: str,
             base: str = "main", head: str = "HEAD") -> tuple[int, str, str]:
    """Run ``persona-gym leaderboard check-pr`` with ``--summary``: exit code, stdout and what
    it appended to the (fresh) summary file."""
    summary = root.parent / "summary.md"
    summary.unlink(missing_ok=True)
    capsys.readouterr()
    code = main(["leaderboard", "check-pr", base, head, "--repo", str(root), "--summary",
                 str(summary), *extra])
    out, _ = capsys.readouterr()
    return code, out, summary.read_text("utf-8")


def render(markdown: str) -> str:
    """Markdown as HTML the way GitHub shows a job summary: CommonMark with tables."""
    return markdown_it.MarkdownIt("commonmark").enable("table").render(markdown)


class _Table(HTMLParser):
    """The text of every table cell by row (``<br>`` as a newline), and every tag seen."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self.tags: set[str] = set()
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            self._cell = []
        elif tag == "br" and self._cell is not None:
            self._cell.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None:
            self.rows[-1].append("".join(self._cell).strip())
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def parsed(markdown: str) -> _Table:
    table = _Table()
    table.feed(render(markdown))
    return table


def rows(markdown: str) -> dict[str, list[str]]:
    """The verdict table as rendered: {entry file name: [verdict, method, scores, problems]},
    each cell's text; every row has the table's five cells."""
    table = parsed(markdown)
    if not table.rows:
        return {}
    assert table.rows[0] == ["entry", "verdict", "method", "normalized score", "problems"]
    assert all(len(row) == 5 for row in table.rows), table.rows
    return {row[0]: row[1:] for row in table.rows[1:]}


def refusal_codes(markdown: str) -> list[str]:
    return re.findall(r"^- `(pr-[a-z-]+)`", markdown, re.M)


# -- accepted -------------------------------------------------------------------------------------


def test_good_entries_are_accepted(repo: Path, results: dict,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    artifact_submission(repo / SUBS, "argmax")  # argmax.json + argmax/policy.onnx
    write(repo / SUBS / "claims.json", reference_submission("expert", results["expert"]))
    commit(repo, "add two entries")
    summary = repo.parent / "summary.md"
    summary.write_text("an earlier step's summary\n")
    code = main(["leaderboard", "check-pr", "main", "HEAD", "--repo", str(repo), "--summary",
                 str(summary)])
    out = capsys.readouterr().out
    assert code == 0, out
    text = summary.read_text("utf-8")
    assert text == "an earlier step's summary\n" + out  # appended, and the same as printed
    table = rows(out)
    assert set(table) == {"argmax.json", "claims.json"}  # only the added entries: not existing
    assert table["argmax.json"][:2] == ["✅ ranked: policy re-run, results reproduced",
                                        "Similarity argmax (feature 3)"]
    assert table["claims.json"][0].startswith("⚠️ unverified: no policy file")
    assert table["claims.json"][1] == "expert (reference)"
    score = results["expert"][0]["normalized_score"]
    assert table["claims.json"][2] == f"persona_gym/OpenChat-v0: {score:.2f}"
    assert table["argmax.json"][3] == table["claims.json"][3] == "—"
    assert "**Verdict: accepted.** 2 entries pass: 1 ranked, 1 unverified." in out
    assert refusal_codes(out) == []


def test_changes_are_counted_from_the_merge_base(repo: Path, results: dict) -> None:
    """``BASE...HEAD``: what the base branch did after the fork is not the pull request's."""
    write(repo / SUBS / "claims.json", reference_submission("expert", results["expert"]))
    head = commit(repo, "add an entry")
    git(repo, "checkout", "-q", "main")
    (repo / "README.md").write_text("# a benchmark, moved on\n")
    commit(repo, "main moves on")
    check = lbd.check_pull_request(repo, "main", head)
    assert [(c.status, c.path) for c in check.changes] == [("A", f"{SUBS}/claims.json")]
    assert check.accepted and check.base == git(repo, "merge-base", "main", head)


# -- refused: what the pull request changes -------------------------------------------------------


def test_a_pull_request_that_touches_other_files_is_refused(
        repo: Path, results: dict, capsys: pytest.CaptureFixture[str]) -> None:
    write(repo / SUBS / "claims.json", reference_submission("expert", results["expert"]))
    (repo / "README.md").write_text("# a benchmark with my entry on top\n")
    (repo / "persona_gym" / "validate.py").write_text("ACCEPT_EVERYTHING = True\n")
    (repo / ".github" / "workflows").mkdir(parents=True)
    (repo / ".github" / "workflows" / "leaderboard-pr.yml").write_text("on: push\n")
    commit(repo, "an entry, and some other changes")
    code, out, summary = check_pr(capsys, repo)
    assert code == 1 and summary == out
    assert refusal_codes(out) == ["pr-outside"]
    (line,) = [x for x in out.splitlines() if x.startswith("- `pr-outside`")]
    for named in (".github/workflows/leaderboard-pr.yml (added)", "README.md (modified)",
                  "persona_gym/validate.py (modified)"):
        assert named in line, named
    assert "claims.json" not in line
    assert rows(out) == {}  # refused before any entry is read
    assert "**Verdict: refused.** No entry was checked" in out
    assert lbd.check_pull_request(repo, "main", "HEAD").reports == []


def test_changing_or_removing_a_committed_entry_is_refused(
        repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    existing = repo / SUBS / "existing.json"
    sub = json.loads(existing.read_text("utf-8"))
    sub["method"] = "random, now renamed by someone else"
    write(existing, sub)
    modified = commit(repo, "edit an entry")
    existing.unlink()
    deleted = commit(repo, "remove it")
    git(repo, "checkout", "-q", "main")
    git(repo, "checkout", "-q", "-b", "rename")
    git(repo, "mv", f"{SUBS}/existing.json", f"{SUBS}/mine.json")
    renamed = commit(repo, "claim it as mine")
    for head, named in ((modified, "existing.json (modified)"),
                        (deleted, "existing.json (deleted)"),
                        (renamed, "existing.json (deleted)")):
        code, out, _ = check_pr(capsys, repo, head=head)
        assert code == 1 and "pr-changed" in refusal_codes(out), out
        assert f"{SUBS}/{named}" in out and "Only additions are accepted" in out
        assert rows(out) == {}


def test_links_odd_names_stray_files_and_too_many_entries_are_refused(
        repo: Path, results: dict) -> None:
    def refusals(message: str) -> list[lbd.Problem]:
        head = commit(repo, message)
        check = lbd.check_pull_request(repo, "main", head)
        assert not check.accepted
        git(repo, "reset", "-q", "--hard", "main")
        return check.refusals

    entry = reference_submission("expert", results["expert"])
    write(repo / SUBS / "mine.json", entry)
    os.symlink("../../README.md", repo / SUBS / "link.json")
    (only,) = refusals("a symbolic link")
    assert only.code == "pr-not-file" and f"{SUBS}/link.json (a symbolic link)" in only.message

    write(repo / SUBS / "my method.json", entry)
    write(repo / SUBS / ".hidden.json", entry)
    (only,) = refusals("odd names")
    assert only.code == "pr-name"
    assert "my method.json" in only.message and ".hidden.json" in only.message

    write(repo / SUBS / "mine.json", entry)
    (repo / SUBS / "mine").mkdir()
    (repo / SUBS / "mine" / "notes.txt").write_text("how I trained it\n")
    (only,) = refusals("a stray file")
    assert only.code == "pr-stray" and f"{SUBS}/mine/notes.txt (added)" in only.message

    for i in range(lbd.MAX_PR_ENTRIES + 1):
        write(repo / SUBS / f"copy-{i}.json", entry)
    (only,) = refusals("too many entries")
    assert only.code == "pr-entries"
    assert f"adds {lbd.MAX_PR_ENTRIES + 1} entries" in only.message

    (repo / SUBS / "argmax").mkdir()
    (repo / SUBS / "argmax" / "policy.onnx").write_bytes(b"a policy file without its entry")
    codes = [p.code for p in refusals("a policy file without its entry")]
    assert codes == ["pr-entries"]


# -- rejected: what the entries contain -----------------------------------------------------------


def test_a_malicious_or_runaway_artifact_is_rejected_and_runs_nothing(
        repo: Path, results: dict, capsys: pytest.CaptureFixture[str]) -> None:
    home = repo.parent.parent / "home"
    home.mkdir()
    (home / "module.py").write_text("print('an innocent module')\n")
    subs = repo / SUBS
    evil_torchscript(subs / "evil" / "policy.onnx", home / "module.py", "write")  # disguised
    _torchscript_submission(subs, "evil", "evil/policy.onnx")
    slow_graph(subs / "slow" / "policy.onnx")  # legal operators, but slow
    _torchscript_submission(subs, "slow", "slow/policy.onnx")
    artifact_submission(subs, "argmax")
    commit(repo, "three entries, two of them bad")
    before = snapshot(home), snapshot(repo)
    code, out, summary = check_pr(capsys, repo, "--wall-s", "3")
    assert code == 1 and summary == out
    assert (snapshot(home), snapshot(repo)) == before  # the artifact wrote nothing
    table = rows(out)
    assert table["evil.json"][0] == "❌ rejected"
    assert table["evil.json"][3].startswith("artifact-format ")
    assert "TorchScript" in table["evil.json"][3]
    assert table["slow.json"][3] == ("limit policy.onnx: re-evaluation exceeded the 3 s "
                                     "wall-time limit")
    assert table["argmax.json"][0] == "✅ ranked: policy re-run, results reproduced"
    assert "**Verdict: rejected.** 2 of 3 entries rejected" in out
    assert "/tmp" not in out and "persona-gym-pr-" not in out  # paths as in the repository


def test_an_over_budget_entry_is_rejected_before_any_rerun(
        repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = artifact_submission(repo / SUBS, "huge")
    sub = json.loads(path.read_text("utf-8"))
    r = sub["results"][0]
    r["seeds"], r["episodes_per_seed"] = list(range(10)), 1000
    sub["results"].append({**copy.deepcopy(r), "env_id": TUTORING})
    sub["env_ids"].append(TUTORING)
    write(path, sub)
    commit(repo, "an entry that asks for 20,000 episodes")
    code, out, _ = check_pr(capsys, repo)
    assert code == 1
    verdict, _, _, found = rows(out)["huge.json"]
    assert verdict == "❌ rejected"
    assert "budget the results request 10 seeds x 1000 + 10 seeds x 1000 = 20000 episodes" \
        in found and f"at most {lbd.MAX_RERUN_EPISODES} episodes" in found


def test_the_verdict_table_is_inert(repo: Path, results: dict,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    """Strings from the pull request cannot add rows, cells, HTML or links to the summary."""
    sub = reference_submission("expert", results["expert"])
    sub["method"] = f"{PAYLOAD} | forged cell | [click](https://example.org)"
    write(repo / SUBS / "claims.json", sub)
    bad = reference_submission("random", results["random"])
    bad["artifact"] = {"path": "<img src=x onerror=alert(1)>|.onnx", "sha256": "0" * 64,
                       "format": "onnx"}
    write(repo / SUBS / "bad.json", bad)
    commit(repo, "entries with markup")
    code, out, _ = check_pr(capsys, repo)
    assert code == 1
    page = parsed(out)
    assert page.tags <= {"h2", "p", "code", "strong", "table", "thead", "tbody", "tr", "th",
                         "td", "br"}, page.tags  # no script, img or a from the payloads
    table = rows(out)  # and five cells per row: the | in the payloads split none
    assert table["claims.json"][1] == sub["method"]  # shown as the text it is
    assert table["bad.json"][3].startswith(
        "artifact-path artifact.path '<img src=x onerror=alert(1)>|.onnx': no file at "
        f"{SUBS}/<img src=x")


def test_a_commit_git_cannot_find_is_a_usage_error(repo: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    summary = repo.parent / "summary.md"
    code = main(["leaderboard", "check-pr", "main", "no-such-branch", "--repo", str(repo),
                 "--summary", str(summary)])
    out, err = capsys.readouterr()
    assert code == 2 and out == "" and "Traceback" not in err
    message = "HEAD 'no-such-branch' is not a commit in"
    assert f"check-pr: error: {message}" in err and "fetch-depth: 0" in err
    assert f"**The check could not run:** {message}" in summary.read_text("utf-8")
    with pytest.raises(lbd.LeaderboardError, match="is not a git repository; pass --repo"):
        lbd.check_pull_request(repo.parent, "main", "HEAD")


# -- the workflows --------------------------------------------------------------------------------


def load(path: Path) -> dict[str, Any]:
    """A workflow file; YAML 1.1 reads the key ``on`` as True, so it is renamed back."""
    data = yaml.safe_load(path.read_text("utf-8"))
    data["on"] = data.pop(True)
    return data


def steps(workflow: dict[str, Any]) -> list[dict[str, Any]]:
    return [s for job in workflow["jobs"].values() for s in job["steps"]]


def step_running(workflow: dict[str, Any], command: str) -> dict[str, Any]:
    (found,) = [s for s in steps(workflow) if command in s.get("run", "")]
    return found


def run_step(step: dict[str, Any], cwd: Path, github: dict[str, str]) -> int:
    """Run a workflow step's ``run:`` script as the runner does (``bash --noprofile --norc -eo
    pipefail``), with its ``env:``
    (each value one ``${{ ... }}`` expression, looked up in ``github``) and ``persona-gym`` on
    the PATH (the install step's job)."""
    env = {**os.environ, **GIT_ENV, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}",
           "GITHUB_STEP_SUMMARY": str(cwd / "step-summary.md")}
    for name, value in step.get("env", {}).items():
        expression = re.fullmatch(r"\$\{\{ *([\w.]+) *\}\}", value)
        assert expression, f"{name}: {value}"
        env[name] = github[expression.group(1)]
    return subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]],
                          cwd=cwd, env=env).returncode


def test_the_pull_request_workflow_has_no_secrets_and_no_write_access() -> None:
    text = PR_WORKFLOW.read_text("utf-8")
    workflow = load(PR_WORKFLOW)
    assert set(workflow["on"]) == {"pull_request"}
    assert workflow["on"]["pull_request"]["paths"] == [f"{SUBS}/**"]
    assert "pull_request_target" not in text and "secrets." not in text
    assert workflow["permissions"] == {"contents": "read"}
    assert all("permissions" not in job for job in workflow["jobs"].values())
    checkouts = [s for s in steps(workflow) if s.get("uses", "").startswith("actions/checkout@")]
    assert len(checkouts) == 2
    assert all(s["with"]["persist-credentials"] is False for s in checkouts)
    code, data = sorted(checkouts, key=lambda s: s["with"]["path"])
    assert code["with"] == {"ref": "${{ github.event.pull_request.base.sha }}", "path": "base",
                            "persist-credentials": False}
    assert data["with"]["path"] == "pr" and data["with"]["fetch-depth"] == 0
    install = step_running(workflow, "pip")
    assert "install -q ./base" in install["run"]
    assert not re.search(r"(^|[\s/.])pr(/|\s|$)", install["run"])  # nothing from the PR
    for step in steps(workflow):  # expressions only in env/with: nothing interpolated into bash
        assert "${{" not in step.get("run", ""), step


def test_the_pull_request_workflow_runs_check_pr_as_written(repo: Path, results: dict) -> None:
    step = step_running(load(PR_WORKFLOW), "check-pr")
    assert step["run"].startswith("persona-gym leaderboard check-pr ")
    assert '--summary "$GITHUB_STEP_SUMMARY"' in step["run"] and "--repo pr" in step["run"]
    workspace = repo.parent
    base = git(repo, "rev-parse", "main")
    artifact_submission(repo / SUBS, "argmax")
    good = commit(repo, "a good entry")
    (repo / "README.md").write_text("# mine now\n")
    bad = commit(repo, "and a README change")
    for head, expected in ((good, 0), (bad, 1)):
        summary = workspace / "step-summary.md"
        summary.unlink(missing_ok=True)
        event = {"github.event.pull_request.base.sha": base,
                 "github.event.pull_request.head.sha": head}
        assert run_step(step, workspace, event) == expected
        text = summary.read_text("utf-8")
        if expected == 0:
            assert rows(text)["argmax.json"][0] == "✅ ranked: policy re-run, results reproduced"
        else:
            assert refusal_codes(text) == ["pr-outside"] and "README.md (modified)" in text


def test_the_site_workflow_builds_and_publishes_from_the_default_branch(
        tmp_path: Path, results: dict) -> None:
    text = SITE_WORKFLOW.read_text("utf-8")
    workflow = load(SITE_WORKFLOW)
    assert set(workflow["on"]) == {"push", "workflow_dispatch"}
    assert workflow["on"]["push"] == {"branches": ["main"]}
    assert workflow["permissions"] == {"contents": "read"} and "secrets." not in text
    jobs = workflow["jobs"]
    assert "permissions" not in jobs["build"]
    assert jobs["deploy"]["permissions"] == {"pages": "write", "id-token": "write"}
    assert jobs["deploy"]["needs"] == "build"
    assert [s["uses"].split("@")[0] for s in jobs["deploy"]["steps"]] == ["actions/deploy-pages"]
    build = step_running(workflow, "persona-gym leaderboard build")
    out = re.search(r"--out (\S+)", build["run"]).group(1)
    (upload,) = [s for s in jobs["build"]["steps"]
                 if s.get("uses", "").startswith("actions/upload-pages-artifact@")]
    assert upload["with"]["path"] == out
    # the build step, as written, on a checkout with a ranked and an unverified entry
    artifact_submission(tmp_path / SUBS, "argmax")
    write(tmp_path / SUBS / "claims.json", reference_submission("expert", results["expert"]))
    assert run_step(build, tmp_path, {}) == 0
    index = _Ranked()
    index.feed((tmp_path / out / "index.html").read_text("utf-8"))
    assert index.ranked == ["Similarity argmax (feature 3)"]
    assert index.unverified == ["expert (reference)"]


def test_the_documented_pull_request_limits_are_the_codes() -> None:
    """The README states the entries per pull request; the job's timeout covers their re-runs."""
    readme = " ".join((REPO / "leaderboard" / "README.md").read_text("utf-8").split())
    assert f"at most **{lbd.MAX_PR_ENTRIES} entries**" in readme
    assert "persona-gym leaderboard check-pr origin/main HEAD" in readme
    (job,) = load(PR_WORKFLOW)["jobs"].values()
    rerun_s = lbd.MAX_PR_ENTRIES * lbd.DEFAULT_LIMITS.wall_s
    assert job["timeout-minutes"] * 60 >= rerun_s + 15 * 60  # and a quarter hour to install
