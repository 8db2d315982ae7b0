"""Tests of the ``persona-gym`` command line, run in-process through ``persona_gym.cli.main``."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import gymnasium as gym
import pytest

import persona_gym
from persona_gym.cli import build_parser, main
from persona_gym.evaluation import env_entry
from persona_gym.judges.symbolic import METRICS
from persona_gym.policies import POLICIES

OPEN_CHAT = "persona_gym/OpenChat-v1"
METRIC_NAMES = ("p2l", "l2l", "qa", "relevance", "capability", "asserted", "repetition",
                "contradiction")
BY_TURN_NAMES = ("p2l", "l2l", "qa", "relevance")


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """Run ``persona-gym ARGV`` in-process; return (exit code, stdout, stderr)."""
    capsys.readouterr()  # drop anything printed before
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> Any:
    """Run a ``--json`` command and parse its stdout, which must be exactly one JSON value."""
    code, out, _ = run_cli(capsys, *argv)
    assert code == 0
    assert len(out.strip().splitlines()) == 1, f"expected one JSON line, got:\n{out}"
    return json.loads(out)


def normalized(episode_return: float, env_id: str) -> float:
    """The D4RL-style normalized score, computed here from the task card's reference scores."""
    e = env_entry(env_id)
    return 100.0 * (episode_return - e.ref_min_score) / (e.ref_max_score - e.ref_min_score)


# -- list ---------------------------------------------------------------------------------------


def test_list_text_shows_every_id_with_its_description(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Each registered id has its own line carrying the card's description."""
    code, out, _ = run_cli(capsys, "list")
    assert code == 0
    lines = out.splitlines()
    ids = persona_gym.registered_ids()
    assert ids, "no persona_gym ids are registered"
    assert len(lines) == len(ids)
    for env_id in ids:
        matching = [line for line in lines if line.split()[0] == env_id]
        assert len(matching) == 1, f"{env_id} should appear on exactly one line:\n{out}"
        assert env_entry(env_id).description in matching[0]


def test_list_json_keys_are_the_registered_ids(capsys: pytest.CaptureFixture[str]) -> None:
    """``list --json`` maps every registered id to its description and horizon."""
    rows = run_json(capsys, "list", "--json")
    assert set(rows) == set(persona_gym.registered_ids())
    for env_id, row in rows.items():
        entry = env_entry(env_id)
        assert row["description"] == entry.description
        assert row["horizon"] == entry.horizon


# -- rollout ------------------------------------------------------------------------------------


def check_summary(result: dict[str, Any], env_id: str, episodes: int) -> None:
    """Structure shared by ``rollout --json`` and each policy of ``demo --json``."""
    entry = env_entry(env_id)
    assert result["env_id"] == env_id
    assert result["episodes"] == episodes
    assert result["ref_min_score"] == entry.ref_min_score
    assert result["ref_max_score"] == entry.ref_max_score
    assert result["normalized_score"] == pytest.approx(normalized(result["return_mean"], env_id))
    lo, hi = result["normalized_score_ci"]
    assert lo <= result["normalized_score"] + 1e-9 and result["normalized_score"] <= hi + 1e-9
    assert set(result["metrics"]) == set(METRIC_NAMES) == set(METRICS)
    for name, m in result["metrics"].items():
        assert set(m) == {"mean", "ci"}, name
        assert len(m["ci"]) == 2, name
        if m["mean"] is not None:
            assert m["ci"][0] - 1e-9 <= m["mean"] <= m["ci"][1] + 1e-9, name
    assert set(result["by_turn"]) == set(BY_TURN_NAMES)
    for name, values in result["by_turn"].items():
        assert len(values) == entry.horizon, name


def test_rollout_expert_json(capsys: pytest.CaptureFixture[str]) -> None:
    """The expert earns the reference max: normalized score 100, perfect consistency."""
    result = run_json(capsys, "rollout", "--env", OPEN_CHAT, "--policy", "expert",
                      "--episodes", "5", "--json")
    check_summary(result, OPEN_CHAT, 5)
    assert result["policy"] == "expert"
    assert result["split"] == "test"
    assert result["seed"] == 0
    assert result["normalized_score"] == pytest.approx(100.0, abs=1e-9)
    assert result["return_mean"] == pytest.approx(env_entry(OPEN_CHAT).ref_max_score)
    assert result["metrics"]["contradiction"]["mean"] == 0.0
    assert result["metrics"]["p2l"]["mean"] == 1.0


def test_rollout_random_json_is_far_below_expert(capsys: pytest.CaptureFixture[str]) -> None:
    """The random policy has the same JSON layout and scores far below the expert's 100."""
    argv = ("rollout", "--env", OPEN_CHAT, "--episodes", "5", "--json")
    random_result = run_json(capsys, *argv, "--policy", "random")
    expert_result = run_json(capsys, *argv, "--policy", "expert")
    check_summary(random_result, OPEN_CHAT, 5)
    assert random_result["policy"] == "random"
    assert random_result["normalized_score"] < expert_result["normalized_score"] - 50


def test_rollout_is_deterministic_given_the_seed(capsys: pytest.CaptureFixture[str]) -> None:
    """Same seed, same JSON bit for bit; another seed gives other conversations."""
    argv = ("rollout", "--env", OPEN_CHAT, "--policy", "random", "--episodes", "4", "--json")
    first = run_json(capsys, *argv, "--seed", "7")
    second = run_json(capsys, *argv, "--seed", "7")
    other = run_json(capsys, *argv, "--seed", "8")
    assert first == second
    assert other["seed"] == 8
    assert {k: v for k, v in other.items() if k != "seed"} != {
        k: v for k, v in first.items() if k != "seed"
    }


def test_rollout_text_output(capsys: pytest.CaptureFixture[str]) -> None:
    """The table has its header, one row per metric and a by-turn section, one column a turn."""
    code, out, _ = run_cli(capsys, "rollout", "--env", OPEN_CHAT, "--policy", "random",
                           "--episodes", "3")
    assert code == 0
    lines = out.splitlines()
    assert OPEN_CHAT in lines[0] and "random" in lines[0]
    assert any(line.startswith("normalized score") for line in lines)
    assert any(line.startswith("return") for line in lines)
    header = next(line for line in lines if line.startswith("metric"))
    assert "mean" in header and "95% CI" in header
    for name in METRIC_NAMES:
        assert any(line.split()[:1] == [name] for line in lines), name

    start = next(i for i, line in enumerate(lines) if "consistency by turn index" in line)
    section = lines[start + 1:]
    horizon = env_entry(OPEN_CHAT).horizon
    turn_row = section[0].split()
    assert turn_row[0] == "turn"
    assert [int(t) for t in turn_row[1:]] == list(range(1, horizon + 1))
    rows = {line.split()[0]: line.split()[1:] for line in section[1:] if line.strip()}
    assert set(rows) == set(BY_TURN_NAMES)
    for name, cells in rows.items():
        assert len(cells) == horizon, name


# -- demo ---------------------------------------------------------------------------------------


def test_demo_json_compares_every_policy(capsys: pytest.CaptureFixture[str]) -> None:
    """``demo --json`` has all five reference policies and the expert tops them at 100 (the
    training part is the quick scaling study, tested in test_training.py)."""
    both = run_json(capsys, "demo", "--episodes", "3", "--skip-training", "--json")
    assert both["training"] == []
    results = both["reference"]
    assert set(results) == set(POLICIES) == {"random", "parrot", "assistant", "drift", "expert"}
    for name, r in results.items():
        assert r["policy"] == name
        check_summary(r, OPEN_CHAT, 3)
    expert = results["expert"]["normalized_score"]
    assert expert == pytest.approx(100.0, abs=1e-9)
    for name, r in results.items():
        if name != "expert":
            assert r["normalized_score"] < expert, name


# -- play ---------------------------------------------------------------------------------------


def direct_rollout_return(env_id: str, seed: int, action: int) -> tuple[float, float]:
    """Play ``action`` every turn on the test split; return (sum of rewards, metrics return)."""
    env = gym.make(env_id, split="test")
    try:
        env.reset(seed=seed)
        total = 0.0
        while True:
            _, reward, terminated, truncated, info = env.step(action)
            total += float(reward)
            if terminated or truncated:
                return total, float(info["metrics"]["return"])
    finally:
        env.close()


def test_play_json_matches_a_direct_rollout(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Answering 0 every turn (after one invalid line) gives the same return as gymnasium."""
    horizon = env_entry(OPEN_CHAT).horizon
    monkeypatch.setattr("sys.stdin", io.StringIO("x\n" + "0\n" * horizon))
    code, out, err = run_cli(capsys, "play", "--env", OPEN_CHAT, "--seed", "1", "--json")
    assert code == 0
    result = json.loads(out.strip().splitlines()[-1])
    assert result["env_id"] == OPEN_CHAT
    assert result["seed"] == 1
    summed, expected = direct_rollout_return(OPEN_CHAT, seed=1, action=0)
    assert result["return"] == pytest.approx(expected)
    assert result["return"] == pytest.approx(summed)
    assert result["normalized_score"] == pytest.approx(normalized(expected, OPEN_CHAT))
    length = int(result["metrics"]["length"])  # the partner may leave early (v1)
    assert 1 <= length <= horizon
    # The invalid line was re-asked: one prompt per turn plus one.
    assert "Please type a number" in err
    assert err.count("Your reply") == length + 1
    assert "Conversation over" in err


@pytest.mark.parametrize("stdin", ["q\n", ""], ids=["quit", "eof"])
def test_play_quit_or_eof_stops(
    stdin: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Typing q (or closing stdin) stops the game with exit code 1."""
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    code, out, _ = run_cli(capsys, "play", "--env", OPEN_CHAT, "--seed", "0")
    assert code == 1
    assert "Stopped" in out
    assert "Conversation over" not in out


# -- bad input ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--env", "persona_gym/Nope-v0"], "unknown env id"),
        (["--env", OPEN_CHAT, "--episodes", "0"], "positive integer"),
        (["--env", OPEN_CHAT, "--episodes", "many"], "positive integer"),
        (["--env", OPEN_CHAT, "--policy", "bogus"], "unknown policy"),
    ],
    ids=["env", "episodes-0", "episodes-text", "policy"],
)
def test_rollout_bad_input_is_a_usage_error(
    extra: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Bad arguments exit with code 2 and a message naming the problem."""
    with pytest.raises(SystemExit) as exc:
        main(["rollout", *extra])
    assert exc.value.code == 2
    _, err = capsys.readouterr()
    assert message in err


# -- the installed console script -------------------------------------------------------------


def test_console_script_help() -> None:
    """The installed ``persona-gym`` script runs and ``rollout --help`` documents the JSON."""
    script = Path(sys.executable).parent / "persona-gym"
    assert script.is_file(), f"console script not installed next to {sys.executable}"
    top = subprocess.run([str(script), "--help"], capture_output=True, text=True, timeout=60)
    assert top.returncode == 0, top.stderr
    for command in ("list", "rollout", "play", "demo", "refscores"):
        assert command in top.stdout
    sub = subprocess.run([str(script), "rollout", "--help"], capture_output=True, text=True,
                         timeout=60)
    assert sub.returncode == 0, sub.stderr
    help_text = " ".join(sub.stdout.split())
    for key in ("normalized_score", "normalized_score_ci", "return_mean", "metrics", "by_turn",
                "ref_min_score", "ref_max_score", *METRIC_NAMES):
        assert key in help_text, key


# -- evaluate: the destination and the seeds are checked before any episode runs -------------


def evaluate_args(*extra: str) -> list[str]:
    return ["evaluate", "--env", OPEN_CHAT, "--policy", "expert", "--episodes", "2",
            "--seeds", "0", *extra]


@pytest.mark.parametrize(
    ("out", "words"),
    [("missing/results.json", ["missing", "does not exist", "mkdir"]),
     ("folder", ["is a folder", "give a file name"])],
    ids=["missing-folder", "onto-folder"],
)
def test_evaluate_out_is_checked_before_the_work(
    out: str, words: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A destination that cannot be written is refused up front (exit 2, nothing printed,
    nothing left behind) instead of a traceback after the whole evaluation."""
    (tmp_path / "folder").mkdir()
    code, stdout, err = run_cli(capsys, *evaluate_args("--json", "--out", str(tmp_path / out)))
    assert code == 2 and stdout == ""
    assert err.startswith("persona-gym evaluate: error: ") and len(err.strip().splitlines()) == 1
    for word in words:
        assert word in err, (word, err)
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["folder"]


def test_evaluate_out_is_written_whole(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "results.json"
    out.write_text("old")
    printed = run_json(capsys, *evaluate_args("--json", "--out", str(out)))
    assert json.loads(out.read_text()) == printed
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results.json"]


@pytest.mark.parametrize(
    ("argv", "words"),
    [(["rollout", "--env", OPEN_CHAT, "--seed", "-5"], "seed must be >= 0, got -5"),
     (["rollout", "--env", OPEN_CHAT, "--seed", str(2**32)], "seed must be <= 4294967295"),
     (["evaluate", "--env", OPEN_CHAT, "--policy", "expert", "--seeds", "-101"],
      "seed must be >= 0, got -101"),
     (["play", "--seed", "-1"], "seed must be >= 0, got -1")],
    ids=["rollout-negative", "rollout-huge", "evaluate-negative", "play-negative"],
)
def test_bad_seeds_are_usage_errors(argv: list[str], words: str,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    assert words in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "words"),
    [(["rollout", "--env", OPEN_CHAT, "--episodes", "5", "--seed", str(2**32 - 3)],
      "uses env seeds up to 4294967297"),
     ([*evaluate_args()[:-1], "500000"], "evaluation seed 500000 is too large"),
     ([*evaluate_args()[:-1], "1", "1"], "evaluation seed 1 is given twice")],
    ids=["rollout-past-the-range", "evaluate-past-the-range", "evaluate-twice"],
)
def test_seeds_out_of_range_after_offsets_are_one_line_errors(
    argv: list[str], words: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, stdout, err = run_cli(capsys, *argv)
    assert code == 2 and stdout == ""
    assert err.startswith(f"persona-gym {argv[0]}: error: ") and words in err
    assert len(err.strip().splitlines()) == 1


def test_help_never_shows_a_doubled_percent_sign(capsys: pytest.CaptureFixture[str]) -> None:
    """argparse %-formats help strings but not descriptions: '%%' there prints literally."""
    for command in ("rollout", "evaluate", "demo", "scale", "datasets", "leaderboard"):
        with pytest.raises(SystemExit):
            main([command, "--help"])
        out = capsys.readouterr().out
        assert "%%" not in out and "usage:" in out, command


def _choices(*path: str) -> dict[str, Any]:
    """The ``choices`` of every option of the (sub)command at ``path``."""
    parser = build_parser()
    for name in path:
        sub = next(a for a in parser._actions if a.dest.endswith("command") or a.dest == "lever")
        parser = sub.choices[name]  # type: ignore[index]
    return {a.option_strings[0]: a.choices for a in parser._actions
            if a.option_strings and a.choices is not None}


def test_choices_are_the_library_constants() -> None:
    """Split, tier, judge, network and log-format choices are the constants that own those
    names (a new one reaches the CLI with no second edit), not copies of them."""
    from persona_gym.datasets import TIERS
    from persona_gym.judges import TEXT_JUDGES
    from persona_gym.logs import FORMATS
    from persona_gym.training import NETWORKS
    from persona_gym.world import SPLITS

    assert _choices("rollout")["--split"] is SPLITS
    assert _choices("play")["--split"] is SPLITS
    assert _choices("datasets", "build")["--tier"] is TIERS
    assert _choices("datasets", "import-logs")["--format"] is FORMATS
    assert _choices("judge")["--judge"] is TEXT_JUDGES
    assert _choices("scale")["--network"] is NETWORKS


def test_long_jobs_print_progress_lines_when_not_on_a_terminal(tmp_path: Path) -> None:
    """Output to a pipe gets plain progress lines (not carriage-return redraws) before the
    tables; the Gym banner d3rlpy drags in stays out of the way."""
    proc = subprocess.run(
        [sys.executable, "-m", "persona_gym.cli", "demo", "--episodes", "4", "--skip-training",
         "--out", str(tmp_path / "demo")],
        capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = proc.stderr.splitlines()
    bars = [ln for ln in lines if "expert on persona_gym/OpenChat-v1" in ln]
    assert len(bars) >= 2 and "0%" in bars[0] and "100%" in bars[-1]
    assert "\r" not in proc.stderr
    # and a training script's d3rlpy import prints no old-Gym banner
    proc = subprocess.run([sys.executable, "-c", "import persona_gym.networks, d3rlpy"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and "Gym has been unmaintained" not in proc.stderr
