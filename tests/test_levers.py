"""The levers besides offline RL (issue 15): the persona-memory wrapper, run-to-run variance and
the Assistant axis, on the real envs, the shipped reference policies and tiny transformers
models built in the test (no downloads)."""

from __future__ import annotations

import json
import zlib
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
import torch
from test_agents import OBS

import persona_gym  # noqa: F401  (registers the envs)
from persona_gym.agents import HFTextPolicy, decoder_layers
from persona_gym.cli import main
from persona_gym.evaluation import episode_seed, evaluate, run_episode
from persona_gym.levers.assistant_axis import (
    CappedPolicy,
    LayerTap,
    axis_rollout,
    contrast_sets,
    fit_axis,
)
from persona_gym.levers.memory import (
    IDENTITY_LINE,
    MemoryObservationPolicy,
    MemoryReferencePolicy,
    ObservationReader,
    compare,
)
from persona_gym.levers.variance import (
    evaluate_with_runs,
    persona_runs,
    run_rng,
    variance_components,
    variance_report,
)
from persona_gym.policies import ReferencePolicy, load_policy, make_policy
from persona_gym.world import Persona

ENV = "persona_gym/OpenChat-v1"


# -- persona memory ------------------------------------------------------------------------------


@pytest.mark.parametrize("env_id", [ENV, "persona_gym/OpenChatContinuous-v1",
                                    "persona_gym/OpenChatText-v1"])
def test_memory_changes_drift_decisions_and_raises_its_score(env_id: str) -> None:
    base = evaluate(env_id, "drift", episodes=15, seeds=[0])
    wrapped = load_policy("memory:drift", env_id)
    res = evaluate(env_id, wrapped, episodes=15, seeds=[0])
    assert wrapped.stats.changed > 0 and wrapped.stats.conflicts > 0
    assert res["normalized_score"] > base["normalized_score"] + 15
    assert res["metrics"]["contradiction"]["mean"] < base["metrics"]["contradiction"]["mean"]
    assert res["metrics"]["capability"]["mean"] >= base["metrics"]["capability"]["mean"] - 0.05


def test_memory_reads_no_labels_and_no_persona_facts() -> None:
    """Two wrappers in lockstep, one shown the real turn view and one a view whose candidate
    labels and persona fact list are blanked, make the same choices."""
    env = gym.make(ENV, split="test")
    base = env.unwrapped

    class First(ReferencePolicy):  # proposes candidate 0, reads nothing
        name = "first"
        description = "candidate 0"

        def act(self, view: Any) -> int:
            return 0

    a, b = MemoryReferencePolicy(First(), "rerank"), MemoryReferencePolicy(First(), "rerank")
    for ep in range(3):
        env.reset(seed=ep)
        a.reset(np.random.default_rng(ep))
        b.reset(np.random.default_rng(ep))
        done = False
        while not done:
            view = base.turn_view()
            blind = view._replace(
                candidates=tuple(c._replace(kind="?") for c in view.candidates),
                persona=Persona((), view.persona.sentences))
            i = a.act(view)
            assert b.act(blind) == i
            _, _, term, trunc, _ = env.step(i)
            done = term or trunc
    env.close()


def test_memory_keeps_the_wrapped_policys_own_draws() -> None:
    """The wrapped policy sees the generator untouched: with nothing to veto (the expert) the
    wrapper changes nothing."""
    plain = evaluate(ENV, "expert", episodes=5, seeds=[0])
    wrapped = evaluate(ENV, "memory:expert", episodes=5, seeds=[0])
    assert wrapped["normalized_score"] == plain["normalized_score"] == 100.0


class RandomObservationPolicy:
    """Uniform over the candidates, acting on observations (discrete or continuous)."""

    name = "random-obs"

    def __init__(self, continuous: bool = False) -> None:
        self.continuous = continuous

    def reset(self, rng: np.random.Generator) -> None:
        self.rng = rng

    def act(self, obs: np.ndarray) -> Any:
        i = int(self.rng.integers(8))
        return obs[-8 * 16 :].reshape(8, 16)[i].copy() if self.continuous else i


def test_observation_reader_decodes_the_fact_blocks_exactly() -> None:
    env = gym.make(ENV, split="test")
    base = env.unwrapped
    reader = ObservationReader(env)
    rng = np.random.default_rng(0)
    for ep in range(6):
        obs, _ = env.reset(seed=1_000_000 + ep)
        assert set(reader.persona(obs)) == set(base.persona.facts)
        done = False
        while not done:
            move = reader.move(obs)
            assert (move.kind, move.relation, move.value) == (
                base.move.kind, base.move.relation, base.move.value)
            for line, read in zip(base.candidates, reader.candidates(obs), strict=True):
                if not (line.facts and not read.facts):  # "likes X. dislikes X." codes as 0
                    assert set(read.facts) == set(line.facts) and read.act == line.act
            obs, _, term, trunc, _ = env.step(int(rng.integers(8)))
            done = term or trunc
    env.close()


@pytest.mark.parametrize("env_id, continuous", [(ENV, False),
                                                ("persona_gym/OpenChatContinuous-v1", True)])
def test_memory_over_an_observation_policy(env_id: str, continuous: bool) -> None:
    base = evaluate(env_id, RandomObservationPolicy(continuous), episodes=10, seeds=[0])
    scores = {}
    for mode in ("veto", "rerank"):
        pol = MemoryObservationPolicy(RandomObservationPolicy(continuous), env_id, mode)
        res = evaluate(env_id, pol, episodes=10, seeds=[0])
        assert pol.stats.changed > 0
        assert res["metrics"]["contradiction"]["mean"] < 0.05
        scores[mode] = res["normalized_score"]
    assert base["normalized_score"] < 10 < 50 < scores["veto"] < scores["rerank"]


def test_memory_rewrites_an_llm_agents_persona_block() -> None:
    """On the text variant the wrapped agent reads a rewritten persona: what it committed to,
    the slips it made, and its humanity; the reply is its own."""
    seen: list[dict[str, str]] = []

    class Scripted:
        name = "scripted"
        replies = ("I am a nurse.", "I work as a chef.", "As an AI, I have no job.", "Okay.")

        def reset(self, rng: np.random.Generator) -> None:
            self.turn = 0

        def act(self, obs: dict[str, str]) -> str:
            seen.append(dict(obs))
            reply = self.replies[min(self.turn, len(self.replies) - 1)]
            self.turn += 1
            return reply

    pol = MemoryObservationPolicy(Scripted())
    pol.reset(np.random.default_rng(0))
    obs = {"persona": "I am a nurse.\nI have a dog.", "history": "", "partner": "What do you do?",
           "candidates": ""}
    replies = [pol.act(obs) for _ in range(4)]
    assert tuple(replies) == Scripted.replies
    assert seen[0]["persona"].splitlines() == ["I am a nurse.", "I have a dog.", IDENTITY_LINE]
    second = seen[1]["persona"]
    assert "Earlier in this conversation I said:\nI am a nurse." in second
    assert '"I work as a chef."' in seen[2]["persona"]  # a slip, remembered as one
    assert '"As an AI, I have no job."' in seen[3]["persona"]
    stats = pol.stats.as_dict()
    assert stats["conflicts"] == 2 and stats["extra_prompt_chars_per_turn"] > 0


def test_memory_specs_and_compare_rows() -> None:
    assert load_policy("memory:drift").name == "memory:drift"
    assert load_policy("memory+rerank:drift").mode == "rerank"
    with pytest.raises(ValueError, match="names no policy"):
        load_policy("memory:")
    with pytest.raises(ValueError, match="unknown policy"):
        load_policy("memory:nope")
    rows = compare(ENV, "drift", episodes=3, seeds=[0])
    assert [r["policy"] for r in rows] == ["drift", "memory:drift", "memory+rerank:drift"]
    for r in rows:
        assert {"p2l", "l2l", "qa", "capability"} <= set(r["metrics"]) and r["ms_per_turn"] > 0
    assert rows[1]["us_per_turn"] > 0 and 0 < rows[1]["changed_share"] <= 1


# -- run-to-run variance --------------------------------------------------------------------------


def test_variance_components_recover_a_known_ratio() -> None:
    rng = np.random.default_rng(0)
    persona = rng.normal(0.0, 1.0, size=(600, 1))  # between = 1
    table = 5.0 + persona + rng.normal(0.0, np.sqrt(2.0), size=(600, 8))  # within = 2
    c = variance_components(table)
    assert c["within"] == pytest.approx(2.0, rel=0.06)
    assert c["between"] == pytest.approx(1.0, rel=0.15)
    assert c["ratio"] == pytest.approx(2.0, rel=0.15)
    assert c["within_share"] == pytest.approx(2 / 3, rel=0.05)
    assert variance_components(np.tile([[1.0, 2.0]], (5, 1)))["between"] == 0.0
    with pytest.raises(ValueError, match="at least 2"):
        variance_components(np.ones((1, 4)))


class ModePolicy(ReferencePolicy):
    """A synthetic stochastic policy with a known variance structure: for each episode it draws
    once whether to play the expert (capability 1 on every line) or to say nothing (capability
    0), with a probability set by the persona: 0.8 or 0.2 by a hash of its sentences."""

    name = "mode"
    description = "expert or silent for a whole episode"

    @staticmethod
    def p(persona: Persona) -> float:
        return 0.8 if zlib.crc32("|".join(persona.sentences).encode()) % 2 else 0.2

    def reset(self, rng: np.random.Generator) -> None:
        super().reset(rng)
        self.mode: str | None = None

    def act(self, view: Any) -> int:
        if self.mode is None:
            self.mode = "expert" if self.rng.random() < self.p(view.persona) else "silent"
        if self.mode == "expert":
            return next(i for i, c in enumerate(view.candidates) if c.kind == "consistent")
        return next(i for i, c in enumerate(view.candidates) if not c.facts)


def test_variance_report_recovers_the_ratio_of_a_synthetic_stochastic_policy() -> None:
    runs = persona_runs(ENV, ModePolicy(), runs=6, episodes=120, seeds=[0])
    env = gym.make(ENV, split="test")
    ps = []
    for j in range(120):
        env.reset(seed=episode_seed(0, j))
        ps.append(ModePolicy.p(env.unwrapped.persona))
    env.close()
    ps_arr = np.array(ps)
    within, between = float((ps_arr * (1 - ps_arr)).mean()), float(ps_arr.var(ddof=1))
    report = variance_report(ENV, runs, "mode")
    cap = report["metrics"]["capability"]
    table = np.array([[e.metrics["capability"] for e in p] for p in runs[0]])
    assert set(np.unique(table)) <= {0.0, 1.0}
    assert cap["within"] == pytest.approx(within, rel=0.2)
    assert cap["between"] == pytest.approx(between, rel=0.35)
    lo, hi = cap["ratio_ci"]
    assert lo <= within / between <= (hi if hi is not None else np.inf)
    assert cap["ratio"] == pytest.approx(within / between, rel=0.35)
    assert report["stochastic"] and report["personas"] == 120 and report["runs_per_persona"] == 6


def test_runs_replay_the_persona_and_run_zero_is_the_official_episode() -> None:
    env = gym.make(ENV, split="test")
    pol = make_policy("drift")
    es = episode_seed(0, 3)
    personas = set()
    for r in range(3):
        run_episode(env, pol, es, run_rng(es, r))
        personas.add(env.unwrapped.persona)
    assert len(personas) == 1
    env.close()
    results, report = evaluate_with_runs(ENV, "drift", runs=3, episodes=8, seeds=[0, 1])
    assert results == evaluate(ENV, "drift", episodes=8, seeds=[0, 1])
    assert report["metrics"]["normalized_score"]["within"] > 0
    _, det = evaluate_with_runs(ENV, "expert", runs=2, episodes=4, seeds=[0])
    assert not det["stochastic"] and det["metrics"]["p2l"]["within"] == 0.0
    json.dumps(det, allow_nan=False)


def test_cli_evaluate_runs_per_persona(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out, var = tmp_path / "r.json", tmp_path / "v.json"
    assert main(["evaluate", "--env", ENV, "--policy", "drift", "--episodes", "4", "--seeds",
                 "0", "--runs-per-persona", "3", "--out", str(out), "--variance-out", str(var),
                 "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["variance"]["runs_per_persona"] == 3
    official = json.loads(out.read_text())
    assert "variance" not in official and official["policy"] == "drift"
    assert official == evaluate(ENV, "drift", episodes=4, seeds=[0])
    assert json.loads(var.read_text())["metrics"]["capability"]["personas"] == 4
    assert main(["evaluate", "--env", ENV, "--policy", "drift", "--episodes", "2", "--seeds",
                 "0", "--temperature", "0.5"]) == 2
    assert "hf:PATH policies only" in capsys.readouterr().err
    assert main(["evaluate", "--env", ENV, "--policy", "memory:drift", "--episodes", "3",
                 "--seeds", "0"]) == 0
    assert "persona memory: changed" in capsys.readouterr().out


def test_cli_levers_help_and_memory(capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (["levers", "--help"], ["levers", "memory", "--help"],
                 ["levers", "assistant-axis", "--help"]):
        with pytest.raises(SystemExit):
            main(argv)
        assert "usage:" in capsys.readouterr().out
    assert main(["levers", "memory", "--episodes", "2", "--seeds", "0", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows[0]["policy"] == "drift" and "capability" in rows[2]["metrics"]


# -- LLM agents: sampling, the Assistant axis, capping ---------------------------------------------


def build_world_model(path: Path) -> Path:
    """A random 2-layer GPT-2 (n_embd 32) whose BPE vocabulary is learned from the text env's
    own lines (prompts, in-character and assistant-voice replies), so words are tokens."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import GPT2Config, GPT2LMHeadModel, PreTrainedTokenizerFast

    from persona_gym.agents import build_prompt

    env = gym.make("persona_gym/OpenChatText-v1")
    corpus = []
    for ep in range(30):
        obs, _ = env.reset(seed=ep)
        done = False
        while not done:
            corpus += [build_prompt(obs), *obs["candidates"].splitlines()]
            obs, _, term, trunc, _ = env.step(env.unwrapped.candidates[0].text)
            done = term or trunc
    env.close()
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.train_from_iterator(corpus, trainers.BpeTrainer(
        vocab_size=1200, special_tokens=["<|endoftext|>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    torch.manual_seed(0)
    model = GPT2LMHeadModel(GPT2Config(
        vocab_size=tok.get_vocab_size(), n_embd=32, n_layer=2, n_head=2, n_positions=512,
        bos_token_id=0, eos_token_id=0))
    PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<|endoftext|>").save_pretrained(path)
    model.save_pretrained(path)
    return path


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> HFTextPolicy:
    return HFTextPolicy(build_world_model(tmp_path_factory.mktemp("gpt2")), device="cpu",
                        max_new_tokens=12)


def test_sampling_is_seeded_by_the_episode_generator(tiny: HFTextPolicy) -> None:
    sampler = HFTextPolicy(Path(tiny.name[3:]), device="cpu", max_new_tokens=12,
                           temperature=1.5)
    state = torch.random.get_rng_state()

    def replies(seed: int) -> list[str]:
        sampler.reset(np.random.default_rng(seed))
        return [sampler.act(OBS) for _ in range(4)]

    assert replies(1) == replies(1)
    assert replies(1) != replies(2)
    assert torch.equal(state, torch.random.get_rng_state())  # no global RNG left changed
    tiny.reset(np.random.default_rng(1))
    greedy = tiny.act(OBS)
    tiny.reset(np.random.default_rng(2))
    assert tiny.act(OBS) == greedy
    with pytest.raises(ValueError, match="temperature"):
        HFTextPolicy(Path(tiny.name[3:]), temperature=-1.0)


@pytest.fixture(scope="module")
def axis(tiny: HFTextPolicy) -> Any:
    pairs = contrast_sets("persona_gym/OpenChatText-v1", tiny, 40)
    assert {"emotional", "meta"} & {p.move for p in pairs} or len(pairs) == 40
    return fit_axis(tiny, pairs, layer=2, heldout=0.25)


def test_assistant_direction_separates_its_contrast_sets(axis: Any) -> None:
    assert np.linalg.norm(axis.direction) == pytest.approx(1.0, abs=1e-5)
    assert axis.assistant_projections.mean() > axis.persona_projections.mean()
    assert axis.separation["auc"] >= 0.8 and axis.separation["accuracy"] >= 0.7
    assert axis.separation["fit_pairs"] == 30 and axis.separation["heldout_pairs"] == 10
    assert axis.cap_at(0.0) == pytest.approx(axis.persona_projections.min())


def test_capping_changes_text_only_when_the_projection_exceeds_the_cap(
        tiny: HFTextPolicy, axis: Any) -> None:
    observations = [dict(OBS, partner=p) for p in
                    ("What do you do?", "Are you an AI?", "I feel so lonely lately.",
                     "Where do you live?")]
    plain = [tiny.act(o) for o in observations]
    # the largest projection any position reaches while generating these replies
    with LayerTap(tiny, axis.layer, record=True) as tap:
        for o in observations:
            tiny.act(o)
    top = max(float((s.float() @ torch.as_tensor(axis.direction)).max()) for s in tap.states)
    high = CappedPolicy(tiny, axis, top + 1e-3)
    assert [high.act(o) for o in observations] == plain
    assert high.capped_positions == 0 and high.positions > 0
    low = CappedPolicy(tiny, axis, top - 50.0)
    capped = [low.act(o) for o in observations]
    assert low.capped_positions > 0 and capped != plain
    assert len(decoder_layers(tiny.model)) == 2
    with pytest.raises(ValueError, match="layer must be"):
        LayerTap(tiny, 3)


def test_axis_rollout_reports_by_turn_and_move(tiny: HFTextPolicy, axis: Any) -> None:
    env_id = "persona_gym/OpenChatText-v1"
    run = axis_rollout(env_id, tiny, axis, episodes=2, seeds=[0])
    assert run["results"] == evaluate(env_id, tiny, episodes=2, seeds=[0]) | {
        "policy": run["results"]["policy"]}
    assert run["by_turn"]["0"]["n"] == 2
    assert sum(g["n"] for g in run["by_move"].values()) == len(run["turns"])
    capped = axis_rollout(env_id, CappedPolicy(tiny, axis, axis.cap_at(0.5)), axis, 2, [0])
    assert 0 < capped["capped_share"] <= 1
    assert capped["projection_mean"] <= run["projection_mean"]
    assert "capability" in capped["results"]["metrics"]


def test_memory_wraps_an_onnx_policy_file(tmp_path: Path) -> None:
    """``memory:FILE.onnx``: the checked artifact proposes, the memory reads the observation."""
    from persona_gym.artifacts import export_onnx
    from persona_gym.networks import CandidateScorer, Greedy, Layout

    layout = Layout.of_env(ENV)
    torch.manual_seed(0)
    path = export_onnx(Greedy(CandidateScorer(layout, hidden=16)), layout.width,
                       tmp_path / "untrained.onnx")
    plain = evaluate(ENV, str(path), episodes=5, seeds=[0])
    wrapped = evaluate(ENV, f"memory+rerank:{path}", episodes=5, seeds=[0])
    assert wrapped["policy"] == f"memory+rerank:{path}"
    assert wrapped["metrics"]["contradiction"]["mean"] == 0.0
    assert wrapped["normalized_score"] > plain["normalized_score"] + 30
