"""Every registered id: Gymnasium's checks, determinism, pickling, spaces, info and bad input."""

from __future__ import annotations

import contextlib
import pickle
import re

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.error import ResetNeeded
from gymnasium.utils.env_checker import check_env, data_equivalence

import persona_gym
from persona_gym.envs import PersonaDialogueEnv, card_of
from persona_gym.evaluation import env_entry

IDS = persona_gym.registered_ids()


def _nan_as_none(info: dict) -> dict:
    """``info`` with undefined episode metrics (``nan``, never equal to itself) as None."""
    if "metrics" not in info:
        return info
    metrics = {k: None if v != v else v for k, v in info["metrics"].items()}
    return {**info, "metrics": metrics}


def rollout(env: gym.Env, seed: int, steps: int = 60) -> list:
    """(obs, reward, terminated, info) of a seeded rollout with a seeded choice sequence (each
    choice turned into the variant's action: index, descriptor or reply text)."""
    obs, info = env.reset(seed=seed)
    base = env.unwrapped
    choices = np.random.default_rng(seed).integers(0, base.k, size=steps)
    out = [(obs, info)]
    for i in choices:
        obs, reward, term, trunc, info = env.step(base.action_for(int(i)))
        out.append((obs, reward, term, trunc, _nan_as_none(info)))
        if term or trunc:
            obs, info = env.reset()
            out.append((obs, info))
    return out


def test_registry_covers_domains_and_a_long_variant() -> None:
    assert {"persona_gym/OpenChat-v0", "persona_gym/Tutoring-v0",
            "persona_gym/Counseling-v0"} <= set(IDS)
    assert max(env_entry(i).horizon for i in IDS) >= 40


@pytest.mark.parametrize("env_id", IDS)
def test_check_env(env_id: str) -> None:
    env = gym.make(env_id)
    check_env(env.unwrapped)


@pytest.mark.parametrize("env_id", IDS)
def test_same_seed_same_conversation(env_id: str) -> None:
    a, b = gym.make(env_id), gym.make(env_id)
    assert data_equivalence(rollout(a, 3), rollout(b, 3), exact=True)
    c = gym.make(env_id)
    assert not data_equivalence(rollout(a, 3), rollout(c, 4), exact=True)


@pytest.mark.parametrize("env_id", IDS)
def test_reset_with_seed_then_reset_is_deterministic(env_id: str) -> None:
    env = gym.make(env_id)
    env.reset(seed=11)
    second = env.reset()[0]
    env.reset(seed=11)
    assert np.array_equal(second, env.reset()[0])


@pytest.mark.parametrize("env_id", IDS)
def test_env_pickles_mid_episode(env_id: str) -> None:
    env = gym.make(env_id)
    env.reset(seed=5)
    env.step(env.unwrapped.action_for(0))
    clone = pickle.loads(pickle.dumps(env))
    for _ in range(3):  # the consistent reply: the partner never leaves (v1)
        i = [c.kind for c in env.unwrapped.candidates].index("consistent")
        o1, r1, t1, _, i1 = env.step(env.unwrapped.action_for(i))
        o2, r2, t2, _, i2 = clone.step(clone.unwrapped.action_for(i))
        assert data_equivalence(o1, o2, exact=True) and r1 == r2 and t1 == t2 and i1 == i2


@pytest.mark.parametrize("env_id", IDS)
def test_episode_length_and_final_metrics(env_id: str) -> None:
    """An episode lasts the horizon unless the partner leaves (v1); the final info sums it."""
    env = gym.make(env_id)
    horizon = env_entry(env_id).horizon
    keys = {"turn", "move", "kind", "scores"}
    if env_entry(env_id).version >= 1:
        keys |= {"trust", "partner_left"}
    for seed in range(10):
        obs, _ = env.reset(seed=seed)
        env.action_space.seed(seed)
        total, steps, term = 0.0, 0, False
        while not term:
            assert env.observation_space.contains(obs)
            obs, r, term, trunc, info = env.step(env.action_space.sample())
            assert not trunc
            total += r
            steps += 1
            assert set(info) == (keys | {"metrics"} if term else keys)
        assert steps == horizon or info["partner_left"]
        assert info["metrics"]["return"] == pytest.approx(total)
        assert info["metrics"]["length"] == steps


@pytest.mark.parametrize("split", ["train", "valid", "test"])
@pytest.mark.parametrize("env_id", IDS)
def test_many_random_episodes_run_clean(env_id: str, split: str) -> None:
    """A broad sweep of seeds: every turn offers K distinct lines and rewards stay in range."""
    env = gym.make(env_id, split=split)
    card, _ = card_of(env_id)
    lo, hi = card.weights(env_id).line_bounds
    episodes = 40 if "Long" in env_id else 150
    for seed in range(episodes):
        env.reset(seed=1000 + seed)
        env.action_space.seed(seed)
        term = False
        while not term:
            _, reward, term, _, _ = env.step(env.action_space.sample())
            assert lo <= reward <= hi
            assert len({c.text for c in env.unwrapped.candidates}) == env.unwrapped.k or term


def test_documented_info_keys_are_the_real_ones() -> None:
    doc = PersonaDialogueEnv.__doc__ or ""
    section = doc.split("## Information")[1].split("##")[0]
    documented = set(re.findall(r"``(\w+)``", section))
    env = gym.make("persona_gym/OpenChat-v1")
    _, reset_info = env.reset(seed=0)
    step_keys, score_keys, metric_keys = set(), set(), set()
    term = False
    while not term:
        _, _, term, _, info = env.step(0)
        step_keys |= set(info)
        score_keys |= set(info["scores"])
    metric_keys |= set(info["metrics"])
    assert (set(reset_info) | step_keys | score_keys | {"return", "length"}) <= documented
    assert metric_keys - score_keys == {"return", "length"}


def test_observation_is_a_function_of_the_texts_only() -> None:
    """No label leakage: the observation is rebuilt exactly from what the agent could read."""
    env = gym.make("persona_gym/OpenChat-v0")
    obs, _ = env.reset(seed=2)
    base = env.unwrapped
    for _ in range(5):
        enc = base.encoder
        rebuilt = enc.encode(
            enc.sum_vector(base.persona.sentences),
            [e.line.text for e in base.transcript],
            [e.move.text for e in base.transcript],
            base.move.text,
            [c.text for c in base.candidates],
            base.turn / base.horizon,
        )
        assert np.array_equal(obs, rebuilt)
        obs, *_ = env.step(1)
    # permuting the candidates permutes the candidate blocks: position carries no label
    texts = [c.text for c in base.candidates]
    a = enc.encode(base._persona_vec, [], [], base.move.text, texts, 0.5)
    b = enc.encode(base._persona_vec, [], [], base.move.text, texts[::-1], 0.5)
    d, k = enc.dim, enc.k
    blocks_a = a[4 * d : 4 * d + k * d].reshape(k, d)
    blocks_b = b[4 * d : 4 * d + k * d].reshape(k, d)
    assert np.array_equal(blocks_a, blocks_b[::-1])


@pytest.mark.parametrize("env_id", ["persona_gym/OpenChat-v0",
                                    "persona_gym/OpenChatContinuous-v0",
                                    "persona_gym/CounselingContinuous-v0",
                                    "persona_gym/OpenChat-v1",
                                    "persona_gym/OpenChatContinuous-v1",
                                    "persona_gym/OpenChatLong-v1"])
def test_deferred_observations_are_the_immediate_ones_bit_for_bit(env_id: str) -> None:
    """Dataset logging builds a conversation's observations together at the end; they must be
    the ones stepping gives."""

    def rollout(defer: bool) -> list[np.ndarray]:
        env = gym.make(env_id).unwrapped
        env.action_space.seed(3)
        out = []
        for seed in range(8):  # one block spanning several conversations, and short windows
            with env.encoder.deferred() if defer else contextlib.nullcontext():
                obs, _ = env.reset(seed=seed)
                out.append(obs)
                done = False
                while not done:
                    obs, _, done, _, _ = env.step(env.action_space.sample())
                    out.append(obs)
        return out

    now, later = rollout(False), rollout(True)
    assert len(now) == len(later) >= 8 * 2  # v1 episodes may end early (the partner leaves)
    assert all(a.tobytes() == b.tobytes() for a, b in zip(now, later, strict=True))


def test_deferred_blocks_fill_at_the_end_and_do_not_nest() -> None:
    env = gym.make("persona_gym/OpenChat-v0").unwrapped
    enc = env.encoder
    with enc.deferred():
        obs, _ = env.reset(seed=1)
        obs[:] = np.nan  # not built yet: the end of the block overwrites it
        with pytest.raises(RuntimeError, match="do not nest"), enc.deferred():
            pass
    assert np.isfinite(obs).all() and obs[: enc.dim].any()
    with pytest.raises(ValueError), enc.deferred():
        env.reset(seed=2)
        raise ValueError("boom")
    assert enc._pending is None  # a failed block leaves the encoder usable
    assert env.reset(seed=1)[0].tobytes() == obs.tobytes()


def test_render_ansi_shows_transcript_and_scores() -> None:
    env = gym.make("persona_gym/OpenChat-v0", render_mode="ansi")
    _, info = env.reset(seed=0)
    text = env.render()
    assert info["persona"][0] in text and env.unwrapped.move.text in text
    env.step(0)
    text = env.render()
    line = env.unwrapped.transcript[0].line.text
    assert line in text and "p2l=" in text and "l2l=" in text and "reward=" in text
    plain = gym.make("persona_gym/OpenChat-v0")
    plain.reset(seed=0)
    assert plain.render() is None  # no render_mode, no frame


# -- bad input -------------------------------------------------------------------------------


@pytest.fixture
def env() -> gym.Env:
    e = gym.make("persona_gym/OpenChat-v0")
    e.reset(seed=0)
    return e


@pytest.mark.parametrize("action", [8, -1, 100])
def test_out_of_range_action(env: gym.Env, action: int) -> None:
    with pytest.raises(ValueError, match=r"out of range for Discrete\(8\).*\[0, 7\]"):
        env.step(action)


@pytest.mark.parametrize("action", [1.5, "2", None, True, np.array([1, 2]), [0]])
def test_ill_typed_action(env: gym.Env, action: object) -> None:
    with pytest.raises(TypeError, match="action must be an int index"):
        env.step(action)


def test_numpy_integer_actions_are_accepted(env: gym.Env) -> None:
    env.step(np.int64(1))
    env.step(np.array(2))


def test_step_after_episode_end() -> None:
    e = gym.make("persona_gym/OpenChat-v0")
    e.reset(seed=0)
    term = False
    while not term:
        term = e.step(0)[2]
    with pytest.raises(ResetNeeded, match=r"conversation has ended.*call env.reset\(\)"):
        e.unwrapped.step(0)


def test_step_before_reset() -> None:
    with pytest.raises(ResetNeeded, match=r"reset\(\) before"):
        gym.make("persona_gym/OpenChat-v0").unwrapped.step(0)


def test_unknown_kwargs_are_named() -> None:
    with pytest.raises(TypeError, match=r"unknown keyword argument\(s\) \['horizn'\].*accepted"):
        gym.make("persona_gym/OpenChat-v0", horizn=5)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"split": "dev"}, "split='dev' is not a split"),
        ({"encoder": "bert"}, "encoder='bert' is unknown"),
        ({"render_mode": "human"}, "render_mode='human' is not supported"),
        ({"horizon": 0}, "horizon must be a positive int"),
        ({"card": "nope"}, "unknown task card 'nope'"),
    ],
)
def test_bad_constructor_arguments(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        gym.make("persona_gym/OpenChat-v0", **kwargs)


def test_reset_options_are_rejected(env: gym.Env) -> None:
    with pytest.raises(ValueError, match="takes no options"):
        env.reset(options={"persona": 1})


def test_test_split_uses_held_out_style_and_test_personas() -> None:
    from persona_gym.world import split_of

    seen = set()
    for split in ("train", "test"):
        e = gym.make("persona_gym/OpenChat-v0", split=split)
        styles = set()
        for seed in range(60):
            _, info = e.reset(seed=seed)
            styles.add(info["style"])
            assert split_of(e.unwrapped.persona.facts) == split
        seen.add((split, "skeptic" in styles))
    assert seen == {("train", False), ("test", True)}


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_vector_env(mode: str) -> None:
    envs = gym.make_vec("persona_gym/OpenChat-v0", num_envs=2, vectorization_mode=mode)
    try:
        obs, _ = envs.reset(seed=0)
        assert obs.shape == (2, *envs.single_observation_space.shape)
        single = gym.make("persona_gym/OpenChat-v0")
        assert np.array_equal(obs[1], single.reset(seed=1)[0])  # env i is seeded seed + i
        _, reward, _, _, info = envs.step(np.array([0, 1]))
        assert reward.shape == (2,) and info["scores"]["p2l"].shape == (2,)
    finally:
        envs.close()


def test_conversations_do_not_depend_on_the_process_hash_seed(tmp_path) -> None:
    """Same seed, same conversation in any process: no iteration over hash-ordered sets."""
    import subprocess
    import sys

    code = (
        "import hashlib, gymnasium as gym, numpy as np, persona_gym\n"
        "h = hashlib.sha256()\n"
        "for env_id in persona_gym.registered_ids():\n"
        "    env = gym.make(env_id)\n"
        "    rng = np.random.default_rng(0)\n"
        "    for seed in range(6):\n"
        "        obs, _ = env.reset(seed=seed)\n"
        "        term = False\n"
        "        while not term:\n"
        "            a = env.unwrapped.action_for(int(rng.integers(env.unwrapped.k)))\n"
        "            obs, r, term, _, info = env.step(a)\n"
        "            h.update(repr((obs if isinstance(obs, dict) else obs.tobytes(), r,\n"
        "                           info['scores'])).encode())\n"
        "print(h.hexdigest())\n"
    )
    digests = set()
    for hash_seed in ("1", "2", "3"):
        env = {**__import__("os").environ, "PYTHONHASHSEED": hash_seed}
        out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                             text=True, check=True, cwd=tmp_path)
        digests.add(out.stdout.strip())
    assert len(digests) == 1


V0_FINGERPRINTS = {  # (train split, test split)
    "persona_gym/OpenChat-v0": ("9c2bd15a64f01a6c", "3c8e07814c104ecb"),
    "persona_gym/Tutoring-v0": ("72c121abb3bd2608", "4540a93f062115c3"),
    "persona_gym/Counseling-v0": ("925797ee43ed27cc", "bba8795313f844a9"),
    "persona_gym/OpenChatLong-v0": ("5761d717ab342a39", "4e3e06fc155c5b86"),
}
"""sha256 (first 16 hex digits) of 20 seeded conversations per id and split: personas, styles,
partner moves, candidate texts, rewards and per-line scores (not the observation bytes, whose
last bits depend on the machine's BLAS). Published scores, datasets and leaderboard entries
rest on these conversations: a change here is a new env version (v1), not an edit of v0."""


V1_FINGERPRINTS = {  # (train split, test split), mostly the consistent reply
    "persona_gym/Counseling-v1": ("b8e790fb410b2e70", "d347dd1fe50fa9d1"),
    "persona_gym/OpenChat-v1": ("7204d4a7f5ad890d", "a7b70728a03051a9"),
    "persona_gym/OpenChatLong-v1": ("9998ca08d6299f14", "fc67b2518b744ec6"),
    "persona_gym/Tutoring-v1": ("83513981f2594f02", "0c831f2be664f6ee"),
}
"""The same for v1 (released with this version of persona_gym): a change is a v2."""


def _fingerprints(env_id: str, mostly_right: bool) -> tuple[str, ...]:
    """sha256 of 20 seeded conversations per split; random choices, or (``mostly_right``, so
    v1's partner stays to the horizon) the consistent reply 4 times in 5."""
    import hashlib

    got = []
    for split in ("train", "test"):
        env = gym.make(env_id, split=split).unwrapped
        rng = np.random.default_rng(7)
        h = hashlib.sha256()
        for seed in range(20):
            env.reset(seed=seed)
            h.update(repr((env.style, env.persona)).encode())
            done = False
            while not done:
                h.update(repr((env.move, [c.text for c in env.candidates])).encode())
                action = int(rng.integers(env.k))
                if mostly_right and rng.random() < 0.8:
                    action = [c.kind for c in env.candidates].index("consistent")
                _, reward, done, _, info = env.step(action)
                h.update(repr((reward, info)).encode())
        got.append(h.hexdigest()[:16])
    return tuple(got)


@pytest.mark.parametrize("env_id", sorted(V0_FINGERPRINTS))
def test_v0_conversations_are_frozen(env_id: str) -> None:
    assert _fingerprints(env_id, mostly_right=False) == V0_FINGERPRINTS[env_id], (
        "the v0 conversations changed: if that is intended, register a new version")


@pytest.mark.parametrize("env_id", sorted(V1_FINGERPRINTS))
def test_v1_conversations_are_frozen(env_id: str) -> None:
    assert _fingerprints(env_id, mostly_right=True) == V1_FINGERPRINTS[env_id], (
        "the v1 conversations changed: if that is intended, register a new version")


def test_fact_vectors_are_the_normalised_sum_of_their_codes() -> None:
    """The fact coder's shortcut for texts whose facts each own a slot (a precomputed unit code
    per slot) gives the same bits as the general path: add the codes, mark the act or move,
    scale every slot to norm <= 1; negated facts and opposite relations (which share a slot
    with a negated code) included, and facts sharing a slot still summed."""
    coder = PersonaDialogueEnv(version=1).facts
    rng = np.random.default_rng(0)
    relations = [*coder.slots, *coder.opposites]
    acts, moves = [None, *coder.acts], [None, *coder.moves]
    shared = 0
    for _ in range(2000):
        n = int(rng.integers(0, 4))
        facts = tuple((relations[int(rng.integers(len(relations)))], f"v{rng.integers(3)}",
                       bool(rng.integers(2))) for _ in range(n))
        act, move = acts[int(rng.integers(len(acts)))], moves[int(rng.integers(len(moves)))]
        expected = np.zeros(coder.size, dtype=np.float32)
        coder.add(expected, facts)
        if act is not None:
            expected[coder.acts[act]] = 1.0
        if move is not None:
            expected[coder.moves[move]] = 1.0
        expected = coder.normalize(expected)
        assert coder.vector(facts, act=act, move=move).tobytes() == expected.tobytes(), facts
        slots = [coder.opposites.get(r, r) for r, _, _ in facts]
        shared += len(set(slots)) < len(slots)
    assert shared > 20  # the general path ran too
