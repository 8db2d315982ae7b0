"""The README's snippets for d3rlpy, Stable-Baselines3, a CleanRL-style loop and your own LLM run
as they are written (each in a fresh process, in an empty folder), so they cannot rot."""

from __future__ import annotations

import importlib.util
import math
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SNIPPET = re.compile(r"<!-- snippet: (\w+) -->\n```python\n(.*?)```", re.S)


def snippets() -> dict[str, str]:
    return dict(SNIPPET.findall((REPO / "README.md").read_text("utf-8")))


def test_the_readme_has_a_snippet_for_each_tool() -> None:
    assert set(snippets()) == {"d3rlpy", "sb3", "cleanrl", "llm"}


@pytest.mark.parametrize("name", ["d3rlpy", "sb3", "cleanrl", "llm"])
def test_readme_snippet_runs_as_written(name: str, tmp_path: Path) -> None:
    if name == "sb3" and importlib.util.find_spec("stable_baselines3") is None:
        pytest.skip('Stable-Baselines3 is the optional extra "persona-gym[sb3]" (CI installs it)')
    env = {**os.environ, "MINARI_DATASETS_PATH": str(tmp_path / "minari"),
           "WANDB_MODE": "disabled", "PYTHONWARNINGS": "ignore"}
    if name == "llm":
        sys.path.insert(0, str(Path(__file__).parent))
        try:
            from test_agents import build_random
        finally:
            sys.path.pop(0)
        env["MODEL"] = str(build_random(tmp_path / "tiny-gpt2"))
    work = tmp_path / "work"
    work.mkdir()
    script = work / f"snippet_{name}.py"  # not d3rlpy.py: it would shadow the package
    script.write_text(snippets()[name])
    proc = subprocess.run([sys.executable, str(script)], cwd=work, env=env, capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    numbers = [float(x) for x in proc.stdout.strip().splitlines()[-1].split()]
    assert numbers and all(math.isfinite(x) for x in numbers)
    if name != "llm":  # the artifact the snippet exported for the leaderboard is there
        assert len(list(work.glob("*.onnx"))) == 1
    assert not (work / "d3rlpy_logs").exists()  # nothing written beside the user's files
