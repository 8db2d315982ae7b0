"""HFTextPolicy on a tiny GPT-2 built and saved inside the test (no downloads)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import GPT2Config, GPT2LMHeadModel, PreTrainedTokenizerFast

from persona_gym.agents import INSTRUCTION, HFTextPolicy, _StopAfterLine, build_prompt, first_line

CORPUS = [
    "I am a nurse.", "I have a dog.", "Partner: What do you do?", "You: I work at a hospital.",
    "Stay in character as the persona.", "Conversation so far:", "I live in Denver.",
    "Are you an AI? No, I am a person.", "Where do you live?",
]
OBS = {
    "persona": "I am a nurse.\nI have a dog.",
    "history": "Partner: Hi there!\nYou: Hello.\nPartner: Where do you live?\nYou: In Denver.",
    "partner": "What do you do?",
    "candidates": "I am a nurse.\nAs an AI, I have no job.",
}
CONTEXT = 128  # n_positions of the tiny models
CHAIN = " I am\nYou:"  # the rigged model's output loop


def tokenizer() -> Tokenizer:
    """A byte-level BPE tokenizer trained on CORPUS (eos only: no pad token)."""
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.train_from_iterator(CORPUS, trainers.BpeTrainer(
        vocab_size=320, special_tokens=["<|endoftext|>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    return tok


def save(path: Path, tok: Tokenizer, model: GPT2LMHeadModel) -> Path:
    PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<|endoftext|>").save_pretrained(path)
    model.save_pretrained(path)
    return path


def config(tok: Tokenizer, **kw: object) -> GPT2Config:
    return GPT2Config(vocab_size=tok.get_vocab_size(), n_embd=32, n_layer=2, n_head=2,
                      n_positions=CONTEXT, bos_token_id=0, eos_token_id=0, **kw)


def build_random(path: Path) -> Path:
    """A random 2-layer GPT-2 (n_embd 32)."""
    tok = tokenizer()
    torch.manual_seed(0)
    # A wide initialisation makes the random model's greedy output depend on its prompt.
    model = GPT2LMHeadModel(config(tok, initializer_range=0.5))
    return save(path, tok, model)


def build_chain(path: Path) -> Path:
    """A rigged GPT-2 whose next token depends only on the current one, along CHAIN's loop.

    Attention and MLP outputs are zeroed, so the last hidden state is the current token's
    embedding; each CHAIN token gets its own one-hot embedding and the (untied) output layer
    maps it to the next CHAIN token. After a prompt ending in "You:" greedy decoding writes
    " I am\nYou: I am\n..." forever.
    """
    tok = tokenizer()
    ids = tok.encode(CHAIN).ids
    assert len(set(ids)) == len(ids)  # a loop with one successor per token
    torch.manual_seed(0)
    model = GPT2LMHeadModel(config(tok, tie_word_embeddings=False))
    with torch.no_grad():
        t = model.transformer
        t.wte.weight.zero_()
        t.wpe.weight.zero_()
        for block in t.h:
            for lin in (block.attn.c_proj, block.mlp.c_proj):
                lin.weight.zero_()
                lin.bias.zero_()
        model.lm_head.weight.zero_()
        for i, token in enumerate(ids):
            t.wte.weight[token, i] = 10.0
            model.lm_head.weight[ids[(i + 1) % len(ids)], i] = 5.0
    return save(path, tok, model)


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_random(tmp_path_factory.mktemp("gpt2"))


@pytest.fixture(scope="module")
def chain_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_chain(tmp_path_factory.mktemp("chain"))


@pytest.fixture(scope="module")
def policy(model_dir: Path) -> HFTextPolicy:
    return HFTextPolicy(model_dir, device="cpu")


def test_prompt_holds_persona_history_and_partner_in_order() -> None:
    prompt = build_prompt(OBS)
    assert prompt.startswith(INSTRUCTION)
    order = ["I am a nurse.", "I have a dog.", "Partner: Hi there!", "You: Hello.",
             "Partner: Where do you live?", "You: In Denver.", "Partner: What do you do?"]
    positions = [prompt.index(s) for s in order]
    assert positions == sorted(positions)
    assert prompt.endswith("\nPartner: What do you do?\nYou:")
    assert "As an AI" not in prompt  # candidate hints are ignored
    recent = build_prompt(OBS, history_lines=2)
    assert "Hi there!" not in recent and "Partner: Where do you live?\nYou: In Denver." in recent
    assert "Conversation" not in build_prompt({**OBS, "history": ""})


def test_reply_is_one_line_within_max_chars(policy: HFTextPolicy, model_dir: Path) -> None:
    reply = policy.act(OBS)
    assert isinstance(reply, str) and reply
    assert "\n" not in reply and "\r" not in reply and reply == reply.strip()
    assert len(reply) <= 512
    short = HFTextPolicy(model_dir, max_chars=5, device="cpu")
    assert short.act(OBS) == reply[:5]


def test_reply_is_the_first_line_of_the_continuation(chain_dir: Path) -> None:
    policy = HFTextPolicy(chain_dir, device="cpu")
    # The prompt ends with "You:", so the rigged model continues " I am\nYou: I am\n...".
    assert policy.act(OBS) == "I am"
    assert HFTextPolicy(chain_dir, max_chars=3, device="cpu").act(OBS) == "I a"
    # Long prompts are cut at the front: the ending "You:" survives and the loop still runs.
    assert policy.act({**OBS, "history": "\n".join(["You: In Denver."] * 60)}) == "I am"


def test_greedy_replies_are_deterministic(policy: HFTextPolicy, model_dir: Path) -> None:
    first = policy.act(OBS)
    assert policy.act(dict(OBS)) == first
    other = HFTextPolicy(model_dir, device="cpu")  # a fresh load of the same weights
    other.reset(None)
    assert other.act(OBS) == first


def test_reply_depends_on_the_prompt(policy: HFTextPolicy) -> None:
    partners = ["What do you do?", "Are you an AI?", "Where do you live?", "Do you have a dog?"]
    replies = {policy.act({**OBS, "partner": p}) for p in partners}
    assert len(replies) >= 2
    personas = ["I am a nurse.", "I live in Denver.", "I have a dog.\nI am a person."]
    assert len({policy.act({**OBS, "persona": p}) for p in personas}) >= 2


def test_prompt_longer_than_context_keeps_the_tail(policy: HFTextPolicy) -> None:
    long_history = "\n".join(["Partner: Where do you live?", "You: In Denver."] * 40)
    obs = {**OBS, "history": long_history}
    n = len(policy.tokenizer(policy.build_prompt(obs))["input_ids"])
    assert n > CONTEXT  # GPT-2 fails on positions past its context without truncation
    assert policy.max_prompt_tokens == CONTEXT - policy.max_new_tokens
    reply = policy.act(obs)
    assert isinstance(reply, str) and "\n" not in reply


def test_pad_token_falls_back_to_eos(policy: HFTextPolicy) -> None:
    assert policy.tokenizer.pad_token is None
    assert policy.pad_token_id == policy.eos_token_id == policy.tokenizer.eos_token_id


def test_first_line_and_stopping_rule(policy: HFTextPolicy) -> None:
    assert first_line("  I am a nurse. \nPartner: and?") == "I am a nurse."
    assert first_line("\n\n  Hello\tthere\x07!\nmore") == "Hello there!"
    assert first_line(" \n \n") == ""
    tok = policy.tokenizer
    prompt = tok("You:", return_tensors="pt")["input_ids"]
    stop = _StopAfterLine(tok, prompt.shape[1])
    for continuation, done in [(" I am\n", True), ("\n\n I", False), (" I am", False)]:
        ids = torch.cat([prompt, tok(continuation, return_tensors="pt")["input_ids"]], dim=1)
        assert bool(stop(ids, None)[0]) is done


def test_name_and_missing_path(policy: HFTextPolicy, model_dir: Path, tmp_path: Path) -> None:
    assert policy.name == f"hf:{model_dir}"
    with pytest.raises(FileNotFoundError, match=r"no-such-model.*never downloads"):
        HFTextPolicy(tmp_path / "no-such-model")
    with pytest.raises(ValueError, match="max_new_tokens"):
        HFTextPolicy(model_dir, max_new_tokens=CONTEXT)
    with pytest.raises(ValueError, match="max_chars"):
        HFTextPolicy(model_dir, max_chars=0)


def test_bad_observation(policy: HFTextPolicy) -> None:
    with pytest.raises(KeyError, match="partner"):
        policy.act({"persona": "I am a nurse.", "history": ""})
    with pytest.raises(TypeError, match="dict observation"):
        policy.act("What do you do?")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="strings"):
        policy.act({**OBS, "history": ["Partner: hi"]})  # type: ignore[dict-item]


def test_rollout_cli_runs_a_local_lm_on_the_text_variant(
    model_dir: Path, capsys: pytest.CaptureFixture
) -> None:
    from persona_gym.cli import main

    argv = ["rollout", "--env", "persona_gym/OpenChatText-v0", "--policy", f"hf:{model_dir}",
            "--episodes", "2", "--json"]
    assert main(argv) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["episodes"] == 2 and result["policy"] == f"hf:{model_dir}"
    assert len(result["by_turn"]["p2l"]) == 12
    # free text is for the text variants only
    argv[2] = "persona_gym/OpenChat-v0"
    assert main(argv) == 2
    assert "OpenChatText-v0" in capsys.readouterr().err
