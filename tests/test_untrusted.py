"""Untrusted submissions run nothing (issue 11; docs/security.md).

Every test here would fail on the code before the fix: a TorchScript artifact that writes or
reads a file is refused before anything loads it (the test checks the file system after); crafted
ONNX graphs (a disallowed operator, a custom domain, external data, a wrong signature) are
refused; a submission over the episode budget and an artifact that is too slow or too greedy hit
their limits with a one-line verdict; a submission without an artifact is listed as unverified
and never ranked; crafted JSON gives every file its own one-line verdict.

Real parts only: the artifacts are real TorchScript archives and real ONNX graphs, re-evaluated
by the real sandbox (a child process) with tiny limits so that the tests stay short.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import time
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from test_leaderboard import (
    EPISODES,
    OPEN_CHAT,
    SEEDS,
    artifact_submission,
    reference_submission,
    write,
)

from persona_gym import leaderboard as lbd
from persona_gym.artifacts import ArtifactError, OnnxPolicy, check_onnx
from persona_gym.cli import main
from persona_gym.evaluation import evaluate
from persona_gym.policies import load_policy

pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit.:DeprecationWarning")


def _width(env_id: str = OPEN_CHAT) -> int:
    env = gym.make(env_id)
    try:
        return int(env.observation_space.shape[0])
    finally:
        env.close()


def snapshot(root: Path) -> dict[str, tuple[int, int, str]]:
    """Every file under ``root``: (size, mtime_ns, sha256), to prove nothing changed."""
    out = {}
    for p in sorted(root.rglob("*")):
        if p.is_file() and not p.is_symlink():
            out[str(p.relative_to(root))] = (p.stat().st_size, p.stat().st_mtime_ns,
                                             hashlib.sha256(p.read_bytes()).hexdigest())
    return out


# -- crafted TorchScript: a program, refused before it can run ------------------------------------


def evil_torchscript(path: Path, target: Path, mode: str) -> Path:
    """A real TorchScript policy whose forward writes ``target`` (``mode='write'``: the
    ``torch.from_file(path, shared=True)`` trick of issue 11) or reads it into its output
    (``mode='read'``). Only scripted and saved here, never run."""
    import torch

    class Evil(torch.nn.Module):
        def __init__(self, target: str, write: bool) -> None:
            super().__init__()
            self.target = target
            self.write = write

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            data = torch.from_file(self.target, self.write, 64, dtype=torch.uint8)
            if self.write:
                data.fill_(65)  # overwrites (or creates) the target file
            return torch.argmax(x[:, :8] + data[:8].float(), dim=-1)

    path.parent.mkdir(parents=True, exist_ok=True)
    torch.jit.script(Evil(str(target), mode == "write")).save(str(path))
    return path


@pytest.fixture
def victim(tmp_path: Path) -> dict[str, Path]:
    """A file an attacker would overwrite, one it would read, and where the artifacts live."""
    home = tmp_path / "home"
    home.mkdir()
    (home / "module.py").write_text("print('an innocent module')\n")
    (home / "secret.txt").write_text("the user's secret\n" * 8)
    subs = tmp_path / "subs"
    evil_torchscript(subs / "writer" / "policy.pt", home / "module.py", "write")
    evil_torchscript(subs / "reader" / "policy.pt", home / "secret.txt", "read")
    evil_torchscript(subs / "creator" / "policy.pt", home / "created.py", "write")
    return {"home": home, "subs": subs, "root": tmp_path}


def _torchscript_submission(subs: Path, name: str, rel: str, fmt: str = "onnx") -> Path:
    """A submission whose real results come from a benign run but whose artifact is ``rel``."""
    results = [evaluate(OPEN_CHAT, "random", episodes=EPISODES, seeds=SEEDS)]
    sub = lbd.make_submission(results, name, "mallory", "crafted", artifact={
        "path": rel, "sha256": lbd.sha256_file(subs / rel), "format": fmt})
    return write(subs / f"{name}.json", sub)


@pytest.mark.parametrize("name", ["writer", "reader", "creator"])
def test_torchscript_artifact_is_refused_and_nothing_is_touched(
        victim: dict[str, Path], name: str, capsys: pytest.CaptureFixture[str]) -> None:
    subs = victim["subs"]
    pt = subs / name / "policy.pt"
    # as a submission artifact, named as it is and disguised as .onnx
    path = _torchscript_submission(subs, name, f"{name}/policy.pt")
    disguised = subs / name / "policy.onnx"
    disguised.write_bytes(pt.read_bytes())
    path2 = _torchscript_submission(subs, f"{name}-disguised", f"{name}/policy.onnx")
    before = snapshot(victim["root"])  # the submissions themselves are written now
    for p in (path, path2):
        report = lbd.validate_submission(p)  # rerun=True: the old validator ran it here
        assert [x.code for x in report.problems] == ["artifact-format"], report.problems
        message = report.problems[0].message
        assert "TorchScript" in message and "export_onnx" in message and "convert" in message
    with pytest.raises(lbd.SubmissionsRejected, match="artifact-format"):
        lbd.build_site(subs, victim["root"] / "site", rerun=True)
    # evaluate / rollout / load_policy: the one loader refuses it too
    with pytest.raises(ArtifactError, match="TorchScript, a program rather than data"):
        load_policy(str(pt))
    with pytest.raises(ArtifactError, match="a program rather than data"):
        evaluate(OPEN_CHAT, str(pt), episodes=1, seeds=[0])
    with pytest.raises(ArtifactError, match="is TorchScript"):  # by its bytes, not its name
        OnnxPolicy(disguised)
    for command in ("evaluate", "rollout"):
        with pytest.raises(SystemExit) as exc:
            main([command, "--env", OPEN_CHAT, "--policy", str(pt)])
        assert exc.value.code == 2
        err = capsys.readouterr().err
        assert "TorchScript" in err and "Traceback" not in err
    assert snapshot(victim["root"]) == before  # not one byte written anywhere
    assert not (victim["home"] / "created.py").exists()
    assert (victim["home"] / "module.py").read_text() == "print('an innocent module')\n"


def test_convert_runs_a_torchscript_file_only_when_told_it_is_trusted(
        victim: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = snapshot(victim["root"])
    code = main(["leaderboard", "convert", str(victim["subs"] / "creator" / "policy.pt"),
                 str(tmp_path / "out.onnx"), "--env", OPEN_CHAT])
    assert code == 2 and "--trusted" in capsys.readouterr().err
    assert snapshot(victim["root"]) == before and not (tmp_path / "out.onnx").exists()
    # a benign file of one's own converts, and acts exactly as the TorchScript did
    import torch

    class Linear(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.w = torch.nn.Parameter(torch.randn(8, _width()))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.argmax(x @ self.w.t(), dim=-1)

    mine = tmp_path / "mine.pt"
    module = torch.jit.script(Linear())
    module.save(str(mine))
    assert main(["leaderboard", "convert", str(mine), str(tmp_path / "mine.onnx"), "--env",
                 OPEN_CHAT, "--trusted"]) == 0
    obs = np.random.default_rng(0).random((16, _width()), dtype=np.float32)
    expected = module(torch.from_numpy(obs)).numpy()
    assert np.array_equal(OnnxPolicy(tmp_path / "mine.onnx").act_batch(obs), expected)


def test_pickle_is_refused_by_name_and_by_content(tmp_path: Path) -> None:
    import pickle

    blob = pickle.dumps({"weights": [1, 2, 3]})
    for name in ("policy.pkl", "policy.onnx"):
        (tmp_path / name).write_bytes(blob)
        with pytest.raises(ArtifactError, match="pickle, a program rather than data"):
            check_onnx(tmp_path / name)


# -- crafted ONNX graphs --------------------------------------------------------------------------


def onnx_graph(path: Path, nodes: list[Any], *, inits: tuple[Any, ...] = (),
               out_type: int | None = None, out_shape: list[Any] | None = None,
               opsets: tuple[tuple[str, int], ...] = (("", 17),),
               in_type: int | None = None, width: int | None = None) -> Path:
    """Save an ONNX model: input ``obs`` float32 [batch, width], output ``action``."""
    from onnx import TensorProto, helper, save

    width = width or _width()
    graph = helper.make_graph(
        nodes, "crafted",
        [helper.make_tensor_value_info("obs", in_type or TensorProto.FLOAT, ["batch", width])],
        [helper.make_tensor_value_info("action", out_type or TensorProto.INT64,
                                       out_shape or ["batch"])],
        initializer=list(inits))
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid(d, v) for d, v in opsets])
    model.ir_version = 8
    path.parent.mkdir(parents=True, exist_ok=True)
    save(model, str(path))
    return path


def _argmax(src: str = "obs") -> Any:
    from onnx import helper

    return helper.make_node("ArgMax", [src], ["action"], axis=1, keepdims=0)


def test_a_legal_crafted_graph_runs(tmp_path: Path) -> None:
    """The control: the helpers make a graph the checks accept and onnxruntime runs."""
    policy = OnnxPolicy(onnx_graph(tmp_path / "ok.onnx", [_argmax()]))
    env = gym.make(OPEN_CHAT)
    policy.check_spaces(env.observation_space, env.action_space)
    obs = np.zeros((3, _width()), dtype=np.float32)
    obs[:, 5] = 1
    assert policy.act_batch(obs).tolist() == [5, 5, 5]


def test_crafted_onnx_is_refused(tmp_path: Path) -> None:
    from onnx import TensorProto, helper

    secret = tmp_path / "secret.bin"
    secret.write_bytes(np.arange(8, dtype=np.float32).tobytes())
    external = TensorProto(name="w", data_type=TensorProto.FLOAT, dims=[8],
                           data_location=TensorProto.EXTERNAL)
    for key, value in (("location", "../secret.bin"), ("offset", "0"), ("length", "32")):
        entry = external.external_data.add()
        entry.key, entry.value = key, value
    cases = {
        "custom-domain": (onnx_graph(
            tmp_path / "g" / "custom.onnx",
            [helper.make_node("WriteFile", ["obs"], ["action"], domain="com.evil")],
            opsets=(("", 17), ("com.evil", 1))), "operator domain 'com.evil'"),
        "custom-node": (onnx_graph(
            tmp_path / "g" / "node.onnx",
            [helper.make_node("WriteFile", ["obs"], ["action"], domain="com.evil")]),
            "custom operator com.evil:WriteFile"),
        "disallowed-op": (onnx_graph(
            tmp_path / "g" / "random.onnx",
            [helper.make_node("RandomUniformLike", ["obs"], ["r"]), _argmax("r")]),
            "operator RandomUniformLike is not allowed"),
        "control-flow": (onnx_graph(
            tmp_path / "g" / "loop.onnx",
            [helper.make_node("Loop", ["", ""], ["action"],
                              body=helper.make_graph([], "body", [], []))]),
            "operator Loop is not allowed"),
        "external-data": (onnx_graph(
            tmp_path / "g" / "external.onnx",
            [helper.make_node("Gather", ["w", "obs"], ["action"])], inits=(external,)),
            "keeps its data in an external file"),
        "int-input": (onnx_graph(tmp_path / "g" / "int.onnx", [_argmax()],
                                 in_type=TensorProto.INT64), "must be float32"),
        "old-opset": (onnx_graph(tmp_path / "g" / "old.onnx", [_argmax()], opsets=(("", 1),)),
                      "uses opset 1"),
    }
    for name, (path, fragment) in cases.items():
        with pytest.raises(ArtifactError) as exc:
            OnnxPolicy(path)
        assert fragment in str(exc.value), (name, str(exc.value))
        assert "\n" not in str(exc.value)
    # as a submission: one verdict line, before anything runs
    subs = tmp_path / "g"
    path = _torchscript_submission(subs, "external", "external.onnx")
    report = lbd.validate_submission(path)
    assert [p.code for p in report.problems] == ["artifact-format"]
    assert secret.read_bytes() == np.arange(8, dtype=np.float32).tobytes()


def test_a_graph_that_answers_the_wrong_kind_of_action_is_refused(tmp_path: Path) -> None:
    """Floats for a Discrete env (the old loader truncated them): a verdict, not a run."""
    from onnx import TensorProto, helper

    path = onnx_graph(tmp_path / "sub" / "float.onnx",
                      [helper.make_node("Identity", ["obs"], ["action"])],
                      out_type=TensorProto.FLOAT, out_shape=["batch", _width()])
    sub = _torchscript_submission(tmp_path / "sub", "float", "float.onnx")
    report = lbd.validate_submission(sub, limits=lbd.Limits(wall_s=60, cpu_s=30))
    assert [p.code for p in report.problems] == ["artifact-run"], report.problems
    assert "a Discrete env needs integer [batch] candidate indices" in report.problems[0].message
    assert path.exists()


def test_export_refuses_a_module_outside_the_allow_list(tmp_path: Path) -> None:
    import torch

    class Noisy(torch.nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.argmax(x + torch.rand_like(x), dim=-1)

    with pytest.raises(ArtifactError, match="RandomUniformLike is not allowed"):
        lbd.export_onnx(Noisy(), _width(), tmp_path / "noisy.onnx")
    assert list(tmp_path.iterdir()) == []  # no half-written or refused file left


def test_oversized_onnx_is_refused_without_reading_it(tmp_path: Path) -> None:
    big = tmp_path / "big.onnx"
    with open(big, "wb") as fh:  # sparse: costs no disk
        fh.truncate(lbd.MAX_ARTIFACT_BYTES + 1)
    with pytest.raises(ArtifactError, match="may be at most 50000000 bytes"):
        check_onnx(big)


# -- limits ---------------------------------------------------------------------------------------


def slow_graph(path: Path, chain: int = 3000) -> Path:
    """Legal operators only, but slow: ``chain`` MatMuls by a [width, width] identity."""
    from onnx import helper, numpy_helper

    width = _width()
    eye = numpy_helper.from_array(np.eye(width, dtype=np.float32), "eye")
    nodes, src = [], "obs"
    for i in range(chain):
        nodes.append(helper.make_node("MatMul", [src, "eye"], [f"h{i}"]))
        src = f"h{i}"
    return onnx_graph(path, [*nodes, _argmax(src)], inits=(eye,))


def greedy_graph(path: Path) -> Path:
    """Legal operators only, but greedy: two Concats blow [batch, width] up 1000 x 1000."""
    from onnx import helper

    nodes = [helper.make_node("Concat", ["obs"] * 1000, ["wide"], axis=1),
             helper.make_node("Concat", ["wide"] * 1000, ["wider"], axis=1), _argmax("wider")]
    return onnx_graph(path, nodes)


def _limited_submission(tmp_path: Path, name: str, graph: Path) -> Path:
    return _torchscript_submission(tmp_path, name, f"{name}/{graph.name}")


def test_slow_artifact_hits_the_wall_time_limit(tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    graph = slow_graph(tmp_path / "slow" / "policy.onnx")
    path = _limited_submission(tmp_path, "slow", graph)
    start = time.monotonic()
    report = lbd.validate_submission(path, limits=lbd.Limits(wall_s=3, cpu_s=600))
    assert time.monotonic() - start < 20
    assert [str(p) for p in report.problems] == [
        "[limit] policy.onnx: re-evaluation exceeded the 3 s wall-time limit"]
    code = main(["leaderboard", "validate", str(path), "--wall-s", "3"])
    out, err = capsys.readouterr()
    assert code == 1 and "exceeded the 3 s wall-time limit" in out and "Traceback" not in err


def test_slow_artifact_hits_the_cpu_time_limit(tmp_path: Path) -> None:
    graph = slow_graph(tmp_path / "slow" / "policy.onnx")
    path = _limited_submission(tmp_path, "slow", graph)
    report = lbd.validate_submission(path, limits=lbd.Limits(wall_s=120, cpu_s=1))
    assert [str(p) for p in report.problems] == [
        "[limit] policy.onnx: re-evaluation exceeded the 1 s CPU-time limit"]


def test_greedy_artifact_hits_the_memory_limit(tmp_path: Path) -> None:
    graph = greedy_graph(tmp_path / "greedy" / "policy.onnx")
    path = _limited_submission(tmp_path, "greedy", graph)
    report = lbd.validate_submission(
        path, limits=lbd.Limits(wall_s=120, cpu_s=60, memory_bytes=1024**3))
    assert [str(p) for p in report.problems] == [
        "[limit] policy.onnx: re-evaluation exceeded the 1 GiB memory limit"]


def test_over_budget_submission_is_refused_before_any_rerun(tmp_path: Path) -> None:
    """Issue 11: 20 seeds x 100,000 episodes was accepted (about 13 hours of re-running)."""
    path = artifact_submission(tmp_path, "argmax")
    base = json.loads(path.read_text("utf-8"))
    huge = copy.deepcopy(base)
    r = huge["results"][0]
    r["seeds"] = list(range(20))
    r["episodes_per_seed"] = 100_000
    report = lbd.validate_submission(write(tmp_path / "huge.json", huge))
    messages = " ".join(p.message for p in report.problems)
    assert {p.code for p in report.problems} == {"schema"}
    assert f"maximum of {lbd.MAX_EPISODES_PER_SEED}" in messages and "too long" in messages
    # within each field's limit, over the total: the budget check names the limit
    two = copy.deepcopy(base)
    r = two["results"][0]
    r["seeds"], r["episodes_per_seed"] = list(range(10)), 1000
    two["results"].append(copy.deepcopy(r))
    two["results"][1]["env_id"] = "persona_gym/Tutoring-v0"
    two["env_ids"].append("persona_gym/Tutoring-v0")
    start = time.monotonic()
    report = lbd.validate_submission(write(tmp_path / "two.json", two))
    assert time.monotonic() - start < 10  # refused, not re-run
    budget = [p for p in report.problems if p.code == "budget"]
    assert len(budget) == 1 and "= 20000 episodes" in budget[0].message
    assert f"at most {lbd.MAX_RERUN_EPISODES} episodes" in budget[0].message
    assert not report.reproduced


# -- unverified is not ranked ---------------------------------------------------------------------


class _Ranked(HTMLParser):
    """Method names inside ranked tables (``table.sortable``) and in the unverified section."""

    def __init__(self) -> None:
        super().__init__()
        self.ranked: list[str] = []
        self.unverified: list[str] = []
        self._where: str | None = None
        self._in_method = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "table":
            classes = (a.get("class") or "").split()
            self._where = ("ranked" if "sortable" in classes
                           else "unverified" if "unverified" in classes else None)
        elif tag == "td" and "method" in (a.get("class") or "").split():
            self._in_method = True

    def handle_endtag(self, tag: str) -> None:
        if tag == "td":
            self._in_method = False
        elif tag == "table":
            self._where = None

    def handle_data(self, data: str) -> None:
        if self._in_method and self._where:
            getattr(self, self._where).append(data)


def test_submission_without_artifact_is_never_ranked(tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    """Issue 11: the expert's results under another name were ranked first at 100.0."""
    subs = tmp_path / "subs"
    artifact_submission(subs, "honest")
    expert = [evaluate(OPEN_CHAT, "expert", episodes=EPISODES, seeds=SEEDS)]
    fake = reference_submission("expert", expert)
    fake["method"] = "Totally My Own Method"
    fake_path = write(subs / "fake.json", fake)

    report = lbd.validate_submission(fake_path)
    assert report.ok and not report.verified and not report.reproduced
    assert main(["leaderboard", "validate", str(fake_path)]) == 0
    assert "UNVERIFIED" in capsys.readouterr().out

    built = lbd.build_site(subs, tmp_path / "site")
    assert built.ranked == ["honest"] and built.unverified == ["fake"]
    index = _Ranked()
    index.feed((tmp_path / "site" / "index.html").read_text("utf-8"))
    assert index.ranked == ["Similarity argmax (feature 3)"]
    assert index.unverified == ["Totally My Own Method"]
    entry = (tmp_path / "site" / "entries" / "fake.html").read_text("utf-8")
    assert "unverified" in entry and "not ranked" in entry


# -- every file gets a verdict --------------------------------------------------------------------


def crafted_files(folder: Path, good: dict[str, Any]) -> dict[str, tuple[Path, str, str]]:
    """{name: (path, expected code, message fragment)} of crafted submission files."""
    folder.mkdir(parents=True, exist_ok=True)
    text = json.dumps(good)
    score = json.dumps(good["results"][0]["normalized_score"])
    episodes = f'"episodes": {good["results"][0]["episodes"]}'
    out: dict[str, tuple[Path, str, str]] = {}

    def add(name: str, content: str | bytes, code: str, fragment: str) -> None:
        path = folder / f"{name}.json"
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
        out[name] = (path, code, fragment)

    add("int-401-digits-score", text.replace(score, "9" * 401, 1), "file",
        "at most 20 digits")
    add("int-401-digits-episodes", text.replace(episodes, '"episodes": ' + "1" * 401, 1),
        "file", "integer with 401 digits")
    add("nested-100000-arrays", "[" * 100_000 + "]" * 100_000, "file", "levels deep")
    add("nested-100000-objects", '{"a":' * 100_000 + "1" + "}" * 100_000, "file",
        "levels deep")
    add("nested-in-a-field", text.replace('"description": ', '"description": '
                                          + "[" * 5000 + "]" * 5000 + ', "x": ', 1),
        "file", "5001 levels deep")
    add("float-overflow", text.replace(score, "1e400", 1), "file", "too large for a float")
    add("infinity", text.replace(score, "-Infinity", 1), "file", "Infinity")
    add("nan-score", text.replace(score, "NaN", 1), "schema", "None is not of type 'number'")
    add("huge", text + " " * (lbd.MAX_SUBMISSION_BYTES + 1), "size", "at most 1000000 bytes")
    add("string-score", text.replace(score, '"100"', 1), "schema", "is not of type 'number'")
    add("bool-seed", text.replace('"seeds": [0', '"seeds": [true', 1), "schema",
        "True is not of type 'integer'")
    add("list-top", "[1, 2, 3]", "schema", "is not of type 'object'")
    add("results-object", text.replace('"results": [', '"results": [[', 1)[:-1] + "]}",
        "schema", "is not of type 'object'")
    add("empty", "", "file", "is not valid JSON")
    add("binary", b"\x00\xff\xfe" * 100, "file", "is not UTF-8")
    (folder / "folder.json").mkdir()
    out["folder"] = (folder / "folder.json", "file", "not a regular file")
    os.mkfifo(folder / "fifo.json")  # reading it would block forever
    out["fifo"] = (folder / "fifo.json", "file", "not a regular file")
    return out


def test_every_crafted_file_gets_a_one_line_verdict(tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    good = reference_submission("random", [evaluate(OPEN_CHAT, "random", episodes=EPISODES,
                                                    seeds=SEEDS)])
    good_path = write(tmp_path / "good.json", good)
    crafted = crafted_files(tmp_path / "crafted", good)
    paths = [p for p, _, _ in crafted.values()]
    paths.insert(len(paths) // 2, good_path)  # a good file in the middle of the bad ones
    start = time.monotonic()
    reports = lbd.validate_files(paths)
    assert time.monotonic() - start < 30
    assert [r.path for r in reports] == paths
    by_path = {r.path: r for r in reports}
    assert by_path[good_path].ok
    for name, (path, code, fragment) in crafted.items():
        problems = by_path[path].problems
        assert problems, name
        assert {p.code for p in problems} == {code}, (name, [str(p) for p in problems])
        assert any(fragment in p.message for p in problems), (name, [str(p) for p in problems])
        assert all("\n" not in p.message and len(p.message) < 600 for p in problems), name
    # the CLI: one verdict per file, no traceback, exit code 1
    code = main(["leaderboard", "validate", "--no-rerun", *map(str, paths)])
    out, err = capsys.readouterr()
    assert code == 1 and "Traceback" not in out + err
    assert sum(line.startswith(("OK ", "REJECTED ")) for line in out.splitlines()) == len(paths)
    assert f"{len(crafted)} of {len(paths)} submission(s) rejected" in err


def test_a_check_that_fails_unexpectedly_still_gives_that_file_a_verdict(tmp_path: Path) -> None:
    """A file the checks did not foresee must not take the other files' verdicts with it."""
    good = write(tmp_path / "good.json", reference_submission(
        "random", [evaluate(OPEN_CHAT, "random", episodes=EPISODES, seeds=SEEDS)]))
    reports = lbd.validate_files([tmp_path / "nothing.json", good, 12345])  # type: ignore[list-item]
    assert [r.ok for r in reports] == [False, True, False]
    assert reports[2].problems[0].code in ("internal", "file")


def test_the_documented_limits_are_the_codes() -> None:
    """docs/security.md and leaderboard/README.md state the limits; they must be the real ones."""
    repo = Path(__file__).resolve().parents[1]
    limits = lbd.DEFAULT_LIMITS
    facts = (f"**{limits.wall_s:g} s**", f"**{limits.cpu_s} s**",
             f"**{limits.memory_bytes // 1024**3} GiB**", f"**{lbd.MAX_RERUN_EPISODES:,}**",
             f"**{lbd.MAX_SEEDS} seeds × {lbd.MAX_EPISODES_PER_SEED:,} episodes per seed**",
             f"**{lbd.MAX_JSON_DEPTH}**", f"**{lbd.MAX_INT_DIGITS}**",
             f"**{lbd.MAX_ARTIFACT_BYTES // 10**6} MB**")
    for doc in (repo / "docs" / "security.md", repo / "leaderboard" / "README.md"):
        text = " ".join(doc.read_text("utf-8").split())  # line breaks do not matter
        for fact in facts:
            assert fact in text, f"{doc.name} does not state {fact}"
