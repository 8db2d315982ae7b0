"""bench/shortcuts.py (issue 10's shortcut table) on tiny settings: its output contract, that its
oracles see what the env judges, and that its text heuristics read nothing but texts."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

import persona_gym  # noqa: F401  (registers the ids)

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "bench" / "shortcuts.py"


@pytest.fixture(scope="module")
def sc():
    spec = importlib.util.spec_from_file_location("shortcuts_bench", SCRIPT)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def run_v0() -> tuple[dict, str, str]:
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--envs", "OpenChat-v0", "--episodes", "10", "--seeds",
         "0", "--train-turns", "400", "--epochs", "2", "--calib-turns", "300",
         "--torch-threads", "1"],
        capture_output=True, text=True, timeout=600, check=True, cwd=ROOT)
    last = proc.stdout.strip().splitlines()[-1]
    return json.loads(last), proc.stdout, proc.stderr


def test_json_line_holds_every_policy_and_figure(sc, run_v0) -> None:
    out, stdout, stderr = run_v0
    env = "persona_gym/OpenChat-v0"
    assert out["bench"] == "shortcuts" and out["envs"] == [env]
    assert out["episodes_per_seed"] == 10 and out["seeds"] == [0]
    names = {n.replace("{N}", "4") for n in sc.ALL_NAMES} - set(sc.V1_ONLY)
    assert set(out["scores"][env]) == names
    for r in out["results"][env].values():
        assert {"normalized_score", "normalized_score_ci", "return_mean", "per_seed",
                "metrics"} <= set(r)
        assert {"p2l", "l2l", "qa", "relevance"} <= set(r["metrics"])
    assert out["ceiling"][env]["train_turns"] == 400
    assert out["judge_check"][env]["reward_matches_env"] == 1.0
    assert out["greedy_gap"][env] == pytest.approx(
        out["scores"][env]["expert"] - out["scores"][env]["oracle:greedy"], abs=1e-2)
    checks = {(c["policy"], c["target"]) for c in out["checks"]}
    assert ("oracle:persona_blind", "<= 35") in checks
    assert ("learn:candidatewise", ">= 75") in checks
    assert all(c["scope"] == "v0 (targets are for v1)" for c in out["checks"])
    # the table on stdout, progress on stderr
    table = stdout.strip().splitlines()[:-1]
    assert table[0].startswith("Normalized score")
    assert any(line.startswith("oracle:history_blind") for line in table)
    assert "OpenChat-v0 oracle:greedy" in stderr


def test_oracles_order_as_they_should_on_v0(run_v0) -> None:
    s = run_v0[0]["scores"]["persona_gym/OpenChat-v0"]
    assert s["expert"] == pytest.approx(100.0)
    assert s["oracle:greedy"] == pytest.approx(100.0)  # v0: the reward is myopic
    assert s["oracle:greedy"] > s["random"] + 50
    assert s["oracle:recent4"] >= s["oracle:persona_blind"] > s["random"] + 20
    assert s["parrot"] < 0 and s["assistant"] < 0


def test_oracle_judge_reproduces_the_newest_openchat(sc) -> None:
    # the guard that matters when the dynamics change: fed the lines said, the oracles' own
    # judge must score every candidate as the env's judge does
    (env_id,) = sc.resolve_envs("OpenChat", None)
    info = sc.check_judge(env_id, sc.reward_function(env_id), episodes=3)
    assert info["turns"] > 0


def test_discovery_picks_discrete_ids_newest_first(sc) -> None:
    ids = sc.discrete_ids()
    assert "persona_gym/OpenChat-v0" in ids
    assert not any("Continuous" in i or "Text" in i for i in ids)
    default = sc.resolve_envs(None, None)
    families = [i.rsplit("-v", 1)[0] for i in default]
    assert len(families) == len(set(families))
    assert sc.resolve_envs("OpenChat-v0", None) == ["persona_gym/OpenChat-v0"]
    assert sc.resolve_envs(None, 0) == [i for i in ids if i.endswith("-v0")]
    with pytest.raises(SystemExit, match="not a registered discrete"):
        sc.resolve_envs("OpenChatText-v0", None)


def test_text_heuristics_read_only_texts(sc) -> None:
    # candidates with nothing but .text: reading .kind, .facts or .act would raise
    texts = ["No, that's not right. I'm a nurse.", "I'd rather not say.", "Like I said, I'm 34.",
             "Ha, what made you ask?", "I am a nurse."]
    view = SimpleNamespace(
        persona=SimpleNamespace(sentences=("I am a nurse.", "I have two dogs.")),
        candidates=tuple(SimpleNamespace(text=t) for t in texts), turn=0, horizon=12,
        move=None)
    enc = sc.env_encoder("persona_gym/OpenChat-v0")
    rules = [sc.Longest(), sc.Shortest(), sc.CorrectPremise(), sc.LikeISaid(),
             sc.ThreeRule(enc, {sc._norm("I'd rather not say.")})]
    picks = {}
    for r in rules:
        r.reset(np.random.default_rng(0))
        picks[r.name] = r.act(view)
    assert picks["h:correct_premise"] == 0 and picks["h:like_i_said"] == 2
    assert picks["h:longest"] == 0 and picks["h:shortest"] == 4
    assert picks["h:three_rule"] not in (1, 4)  # a fixed phrase, a verbatim recitation


def test_bad_arguments_fail_clearly(sc) -> None:
    with pytest.raises(SystemExit):
        sc.parse_args(["--policies", "nonsense"])
    with pytest.raises(SystemExit):
        sc.parse_args(["--seeds", "a,b"])


def test_extra_similarity_columns_become_rules(sc) -> None:
    # a v1 encoder may add similarity columns (e.g. with a memory of the whole transcript):
    # each must become a max / min rule so no single-rule heuristic goes unmeasured
    enc = sc.env_encoder("persona_gym/OpenChat-v0")

    class WithMemory:
        def __init__(self, inner):
            self.inner, self.dim, self.k = inner, inner.dim, inner.k

        def split(self, obs):
            ctx, cand = self.inner.split(obs)
            memory = np.zeros((*cand.shape[:-1], 1), dtype=cand.dtype)
            memory[..., 2, 0] = 1.0
            return ctx, np.concatenate([cand, memory], -1)

    wrapped = WithMemory(enc)
    wrapped._shortcut_sim_columns = 5
    assert sc.sim_column_names(wrapped)[-1] == "extra0"
    rule = sc.SimilarityRule(wrapped, 4, 1.0)
    assert rule.name == "h:max_sim_extra0" and sc.is_single_rule(rule.name)
    obs = np.zeros((3, enc.size), dtype=np.float32)
    assert rule.act_batch(obs).tolist() == [2, 2, 2]


def test_newest_openchat_runs_and_checks_every_rule(sc) -> None:
    proc = subprocess.run(
        [sys.executable, "-W", "ignore", str(SCRIPT), "--envs", "OpenChat", "--episodes", "4",
         "--seeds", "0", "--no-train", "--calib-turns", "200"],
        capture_output=True, text=True, timeout=600, check=True, cwd=ROOT)
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    (env,) = out["envs"]
    scores = out["scores"][env]
    assert scores["expert"] == pytest.approx(100.0)
    checked = {c["policy"] for c in out["checks"] if c["target"] == "<= 10"}
    assert checked == {n for n in scores if sc.is_single_rule(n)}
    assert len(checked) >= len(sc.SINGLE_RULES)
    for r in out["results"][env].values():
        assert not any(k.startswith("_") for k in r["metrics"])
