"""Agents for the text variant: a local transformers causal LM playing the persona.

:class:`HFTextPolicy` reads the text env's observation (a dict of strings: ``persona``,
``history``, ``partner`` and the optional ``candidates`` hints, which it ignores), writes a
prompt and answers with the first non-empty line of the model's greedy continuation::

    policy = HFTextPolicy("models/my-chat-model")
    obs, info = env.reset(seed=0)
    policy.reset(np.random.default_rng(0))
    obs, reward, terminated, truncated, info = env.step(policy.act(obs))

The model is loaded from a local folder only (``local_files_only=True``); nothing is
downloaded. Decoding is greedy by default, so a policy's replies are a deterministic function of
the observation (on a given device and library version); with ``temperature > 0`` it samples,
seeded from the generator :meth:`HFTextPolicy.reset` receives (no global RNG is left changed), so
``(env seed, policy seed)`` still fixes a conversation — what run-to-run variance needs
(:mod:`persona_gym.levers.variance`).

Hooks for analysis and interventions (:mod:`persona_gym.levers.assistant_axis`):
:func:`decoder_layers` finds a model's transformer blocks (forward hooks on block ``l - 1`` see
and may change the residual stream after ``l`` blocks), and after every :meth:`~HFTextPolicy.act`
``last_prompt_ids`` and ``last_reply_ids`` hold the token ids the reply was generated from and
as.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any
from unicodedata import category

import numpy as np

from persona_gym.envs.variants import TEXT_CHARSET

INSTRUCTION = (
    "You are the person described below. Stay in character: answer your partner in one short "
    "line, in the first person, never contradicting your persona or anything you said before."
)
"""The first paragraph of every prompt."""

OBS_KEYS = ("persona", "history", "partner")
"""Observation keys the policy reads (``candidates`` is optional and ignored)."""


def build_prompt(obs: Mapping[str, str], history_lines: int = 12) -> str:
    """The prompt for one turn: instruction, persona, recent history, then the partner's line.

    ``history_lines`` keeps the most recent lines of ``obs["history"]`` (0 keeps none). The
    prompt ends with ``"Partner: {partner}\\nYou:"`` so the model continues as the persona.
    """
    if not isinstance(obs, Mapping):
        raise TypeError(
            f"obs must be the text env's dict observation, got {type(obs).__name__}"
        )
    missing = [k for k in OBS_KEYS if k not in obs]
    if missing:
        raise KeyError(
            f"observation lacks {missing}; the text policy needs a dict with keys {OBS_KEYS} "
            "(use a persona_gym *Text* env)"
        )
    bad = [k for k in OBS_KEYS if not isinstance(obs[k], str)]
    if bad:
        raise TypeError(f"observation entries {bad} must be strings")
    persona = [s.strip() for s in obs["persona"].splitlines() if s.strip()]
    history = [s.strip() for s in obs["history"].splitlines() if s.strip()]
    history = history[len(history) - history_lines :] if history_lines > 0 else []
    parts = [INSTRUCTION, "", "Your persona:", *persona, ""]
    if history:
        parts += ["Conversation so far:", *history]
    parts.append(f"Partner: {' '.join(obs['partner'].split())}")
    parts.append("You:")
    return "\n".join(parts)


class HFTextPolicy:
    """A text-variant policy that answers with a local transformers causal LM (greedy).

    Arguments:
        model_path: folder of a causal LM and its tokenizer (``save_pretrained`` output).
        max_new_tokens: generation budget per reply.
        max_chars: replies are cut to this many characters (the text env's action limit).
        history_lines: how many recent history lines go into the prompt.
        device: torch device; ``None`` picks CUDA when available, else the CPU.
        temperature: 0 (default) decodes greedily; above 0, samples at this temperature.
        top_p: nucleus sampling mass when sampling (1.0: the whole distribution).

    A prompt longer than the model's context keeps its tail (the partner's line and the most
    recent history survive). ``name`` is ``"hf:<model_path>"``.
    """

    def __init__(
        self,
        model_path: str | Path,
        *,
        max_new_tokens: int = 40,
        max_chars: int = 512,
        history_lines: int = 12,
        device: str | None = None,
        temperature: float = 0.0,
        top_p: float = 1.0,
    ) -> None:
        if isinstance(temperature, bool) or not isinstance(temperature, (int, float)) or not (
            0.0 <= temperature < float("inf")
        ):
            raise ValueError(f"temperature must be a float >= 0 (0: greedy), got {temperature!r}")
        if isinstance(top_p, bool) or not isinstance(top_p, (int, float)) or not 0.0 < top_p <= 1:
            raise ValueError(f"top_p must be in (0, 1], got {top_p!r}")
        self.temperature, self.top_p = float(temperature), float(top_p)
        self.rng = np.random.default_rng(0)
        self.last_prompt_ids: Any = None
        self.last_reply_ids: Any = None
        for arg, value in (("max_new_tokens", max_new_tokens), ("max_chars", max_chars)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{arg} must be a positive int, got {value!r}")
        if isinstance(history_lines, bool) or not isinstance(history_lines, int) or (
            history_lines < 0
        ):
            raise ValueError(f"history_lines must be an int >= 0, got {history_lines!r}")
        path = Path(model_path).expanduser()
        if not (path / "config.json").is_file():
            raise FileNotFoundError(
                f"no causal LM at {str(path)!r} (no config.json there); persona_gym never "
                "downloads models: pass the folder of a local transformers model saved with "
                "save_pretrained"
            )
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        try:
            self.tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
            model = AutoModelForCausalLM.from_pretrained(path, local_files_only=True)
        except OSError as err:
            raise FileNotFoundError(
                f"cannot load a causal LM from {str(path)!r} ({err}); the folder must hold a "
                "local transformers model and its tokenizer; models are never downloaded"
            ) from err
        self.device = torch.device(
            device if device is not None else ("cuda" if torch.cuda.is_available() else "cpu")
        )
        self.model = model.to(self.device).eval()
        self.name = f"hf:{path}"
        self.max_new_tokens, self.max_chars = max_new_tokens, max_chars
        self.history_lines = history_lines
        tok = self.tokenizer
        eos = tok.eos_token_id if tok.eos_token_id is not None else model.config.eos_token_id
        if isinstance(eos, list):
            eos = eos[0] if eos else None
        pad = tok.pad_token_id if tok.pad_token_id is not None else eos
        self.pad_token_id: int = int(pad) if pad is not None else 0
        self.eos_token_id: int | None = None if eos is None else int(eos)
        limits = [
            getattr(model.config, "max_position_embeddings", None),
            getattr(model.config, "n_positions", None),
            getattr(tok, "model_max_length", None),
        ]
        context = min((int(x) for x in limits if isinstance(x, int) and x > 0), default=None)
        if context is not None and context <= max_new_tokens:
            raise ValueError(
                f"max_new_tokens={max_new_tokens} leaves no room for a prompt in the model's "
                f"context of {context} tokens; lower max_new_tokens"
            )
        self.max_prompt_tokens: int | None = (
            None if context is None else context - max_new_tokens
        )

    def __repr__(self) -> str:
        return f"HFTextPolicy({self.name!r})"

    def reset(self, rng: np.random.Generator | None = None) -> None:
        """Start an episode. Greedy decoding has no randomness; sampling draws one seed per
        reply from ``rng``."""
        if rng is not None:
            self.rng = rng

    @property
    def sampling(self) -> bool:
        """Whether replies are sampled (``temperature > 0``)."""
        return self.temperature > 0.0

    def prompt_ids(self, prompt: str) -> Any:
        """The token ids of ``prompt`` ``[1, n]``, the tail kept when it exceeds the model's
        context (the partner's line and the most recent history survive)."""
        ids = self.tokenizer(prompt, return_tensors="pt")["input_ids"]
        if self.max_prompt_tokens is not None and ids.shape[1] > self.max_prompt_tokens:
            ids = ids[:, -self.max_prompt_tokens :]
        return ids

    def build_prompt(self, obs: Mapping[str, str]) -> str:
        """The prompt for ``obs`` (see :func:`build_prompt`)."""
        return build_prompt(obs, self.history_lines)

    def act(self, obs: Mapping[str, str]) -> str:
        """The reply to ``obs``: the first non-empty line of the greedy continuation.

        Stripped, without control characters (see :func:`first_line`) and at most
        ``max_chars`` characters long.
        """
        import torch

        prompt = self.build_prompt(obs)
        ids = self.prompt_ids(prompt).to(self.device)
        kwargs: dict[str, Any] = {
            "attention_mask": torch.ones_like(ids),
            "max_new_tokens": self.max_new_tokens,
            "do_sample": self.sampling,
            "num_beams": 1,
            "pad_token_id": self.pad_token_id,
            "stopping_criteria": [_StopAfterLine(self.tokenizer, ids.shape[1])],
        }
        if self.sampling:
            kwargs.update(temperature=self.temperature, top_p=self.top_p, top_k=0)
        if self.eos_token_id is not None:
            kwargs["eos_token_id"] = self.eos_token_id
        with torch.inference_mode():
            if self.sampling:  # seeded from the episode's generator; global state restored
                seed = int(self.rng.integers(2**63))
                cuda = ([torch.cuda.current_device() if self.device.index is None
                         else self.device.index] if self.device.type == "cuda" else [])
                with torch.random.fork_rng(devices=cuda):
                    torch.manual_seed(seed)
                    out = self.model.generate(ids, **kwargs)
            else:
                out = self.model.generate(ids, **kwargs)
        self.last_prompt_ids, self.last_reply_ids = ids, out[:, ids.shape[1] :]
        text = self.tokenizer.decode(out[0, ids.shape[1] :], skip_special_tokens=True)
        return first_line(text)[: self.max_chars]


def decoder_layers(model: Any) -> Any:
    """The transformer blocks of a causal LM, in order (``model.transformer.h`` for GPT-2,
    ``model.model.layers`` for Llama, Qwen and Mistral, ``model.gpt_neox.layers`` for Pythia,
    ...): a forward hook on block ``l - 1`` sees the residual stream after ``l`` blocks."""
    import torch

    for path in ("transformer.h", "model.layers", "gpt_neox.layers", "model.decoder.layers",
                 "transformer.blocks", "transformer.layers", "layers"):
        obj = model
        for part in path.split("."):
            obj = getattr(obj, part, None)
            if obj is None:
                break
        if isinstance(obj, torch.nn.ModuleList) and len(obj) > 0:
            return obj
    raise ValueError(f"cannot find the transformer blocks of {type(model).__name__}; "
                     "decoder_layers knows transformer.h, model.layers, gpt_neox.layers, "
                     "model.decoder.layers, transformer.blocks and transformer.layers")


_ALLOWED = frozenset(TEXT_CHARSET)

def first_line(text: str) -> str:
    """The first non-empty line of ``text``, stripped, in the text variants' charset.

    Tabs become spaces; control and format characters, and anything outside
    :data:`persona_gym.envs.variants.TEXT_CHARSET` (emoji, CJK, U+FFFD), are dropped, so the
    reply is one line the text env accepts ("" when there is none).
    """
    for line in text.splitlines():
        line = "".join(
            " " if ch == "\t" else ch
            for ch in line
            if ch == "\t" or (category(ch)[0] != "C" and ch in _ALLOWED)
        ).strip()
        if line:
            return line
    return ""


class _StopAfterLine:
    """Stopping criterion: stop once the continuation holds a non-empty line and a newline."""

    def __init__(self, tokenizer: Any, prompt_len: int) -> None:
        self.tokenizer, self.prompt_len = tokenizer, prompt_len

    def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> Any:
        import torch

        text = self.tokenizer.decode(input_ids[0, self.prompt_len :], skip_special_tokens=True)
        head, newline, _ = text.lstrip().partition("\n")
        done = bool(newline) and bool(head.strip())
        return torch.full((input_ids.shape[0],), done, dtype=torch.bool, device=input_ids.device)
