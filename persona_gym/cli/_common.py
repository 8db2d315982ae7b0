"""What several commands share: argument types, the policy option, the progress bar."""

from __future__ import annotations

import argparse
from typing import Any


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


def seed_number(text: str) -> int:
    from persona_gym.evaluation import MAX_SEED

    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer seed, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"seed must be >= 0, got {value}")
    if value > MAX_SEED:
        raise argparse.ArgumentTypeError(f"seed must be <= {MAX_SEED} (numpy's seed range), "
                                         f"got {value}")
    return value


def known_env_id(text: str) -> str:
    from persona_gym.envs import registered_ids

    ids = registered_ids()
    if text not in ids:
        raise argparse.ArgumentTypeError(
            f"unknown env id {text!r}; run `persona-gym list` to see: {', '.join(ids)}"
        )
    return text


def policy_spec(text: str) -> str:
    from pathlib import Path

    from persona_gym.artifacts import PROGRAM_SUFFIXES, ArtifactError, refuse_programs
    from persona_gym.levers.memory import split_spec
    from persona_gym.policies import POLICIES

    wrapped = split_spec(text)
    if wrapped is not None:
        if not wrapped[1]:
            raise argparse.ArgumentTypeError(f"{text!r} names no policy to wrap; e.g. "
                                             "memory:drift")
        policy_spec(wrapped[1])
        return text
    if text.startswith("hf:"):
        if not Path(text[3:]).is_dir():
            raise argparse.ArgumentTypeError(
                f"{text[3:]!r} is not a folder; hf:PATH needs a local transformers causal LM "
                "(saved with save_pretrained); nothing is downloaded"
            )
        return text
    if text.lower().endswith(PROGRAM_SUFFIXES):
        try:
            refuse_programs(text)
        except ArtifactError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None
    if text.endswith(".onnx"):
        if not Path(text).is_file():
            raise argparse.ArgumentTypeError(f"no ONNX policy file at {text!r}")
        return text
    if text not in POLICIES:
        raise argparse.ArgumentTypeError(
            f"unknown policy {text!r}; choose from {', '.join(POLICIES)}, a policy.onnx file "
            "or hf:PATH, or memory:ANY of those"
        )
    return text


def innermost(spec: str) -> str:
    """The policy a ``memory:`` spec wraps (the spec itself otherwise)."""
    from persona_gym.levers.memory import split_spec

    wrapped = split_spec(spec)
    return spec if wrapped is None else innermost(wrapped[1])


def temperature(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not 0.0 <= value < float("inf"):
        raise argparse.ArgumentTypeError(f"temperature must be >= 0 (0: greedy), got {value}")
    return value


POLICY_HELP = (
    "a reference policy (random, parrot, assistant, drift, expert), an ONNX file (policy.onnx, "
    "e.g. from a baseline run; TorchScript and pickle are refused), hf:PATH, a local "
    "transformers causal LM, for the text variants (...Text-v1), or memory:ANY of those: the "
    "policy behind a test-time persona memory (memory+rerank:ANY always takes the candidate "
    "the memory rates best; docs/levers.md)")


def sampling_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--temperature", type=temperature, default=0.0,
                   help="hf:PATH policies: sample replies at this temperature, seeded per "
                   "episode (default 0: greedy, deterministic)")
    p.add_argument("--top-p", type=float, default=1.0,
                   help="hf:PATH policies, when sampling: nucleus mass (default 1.0)")


def sampling_options(args: argparse.Namespace) -> dict[str, Any] | None:
    """``--temperature`` / ``--top-p`` as HFTextPolicy options (None when left at default);
    a ValueError when they are given for a policy that is not hf:PATH."""
    if args.temperature == 0.0 and args.top_p == 1.0:
        return None
    if not innermost(args.policy).startswith("hf:"):
        raise ValueError("--temperature and --top-p apply to hf:PATH policies only")
    if not 0.0 < args.top_p <= 1.0:
        raise ValueError(f"--top-p must be in (0, 1], got {args.top_p}")
    return {"temperature": args.temperature, "top_p": args.top_p}


def print_wrapper_stats(policy: Any) -> None:
    """One line on what a memory wrapper did (nothing for other policies)."""
    stats = getattr(policy, "stats", None)
    if stats is None or not hasattr(stats, "as_dict"):
        return
    d = stats.as_dict()
    extra = (f", {d['extra_prompt_chars_per_turn']:.0f} extra prompt characters per turn"
             if d["extra_prompt_chars_per_turn"] else "")
    print(f"persona memory: changed {d['changed']} of {d['turns']} decisions, saw "
          f"{d['conflicts']} contradictions, {d['us_per_turn']:.0f} us per turn of its own "
          f"compute{extra}")


def progress_bar(total: int | None, desc: str) -> Any:
    from persona_gym.progress import progress

    return progress(total, desc, unit="ep")
