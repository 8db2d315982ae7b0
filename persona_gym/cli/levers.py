"""``persona-gym levers``: persona memory and the Assistant axis."""

from __future__ import annotations

import argparse
import json
import sys

from persona_gym.cli._common import (
    known_env_id,
    policy_spec,
    positive_int,
    progress_bar,
    sampling_arguments,
    sampling_options,
    seed_number,
)


def _levers_parsers(p: argparse.ArgumentParser) -> None:
    lsub = p.add_subparsers(dest="lever", required=True, metavar="LEVER")
    m = lsub.add_parser(
        "memory", help="a policy alone and behind a test-time persona memory",
        description="Evaluate a policy alone, behind the persona memory in veto mode (keep the "
        "policy's reply unless it contradicts what the memory holds or repeats itself) and in "
        "rerank mode (always the reply the memory rates best), on the protocol's episodes (test "
        "personas). Prints the normalized score with its 95% CI, p2l, l2l, qa, capability, the "
        "contradiction rate, the share of decisions the memory changed, its own compute per "
        "turn (us) and the wall time per turn (ms, env included). What the memory reads: "
        "docs/levers.md.",
    )
    m.add_argument("--env", type=known_env_id, default="persona_gym/OpenChat-v1",
                   help="environment id, any variant (default persona_gym/OpenChat-v1)")
    m.add_argument("--policy", type=policy_spec, default="drift",
                   help="the policy to wrap (default drift): a reference policy, an ONNX file "
                   "or hf:PATH (text variants)")
    m.add_argument("--episodes", type=positive_int, default=100,
                   help="episodes per seed (default 100)")
    m.add_argument("--seeds", type=seed_number, nargs="+", default=[0, 1, 2],
                   help="evaluation seeds (default 0 1 2)")
    m.add_argument("--modes", default="veto,rerank",
                   help="comma-separated memory modes to compare (default veto,rerank)")
    sampling_arguments(m)
    m.add_argument("--json", action="store_true", help="print the rows as one JSON list")
    a = lsub.add_parser(
        "assistant-axis", help="fit the Assistant axis of a local LLM, monitor it, cap it",
        description="For a local transformers causal LM on a text variant: fit the assistant "
        "direction in one layer's hidden states (assistant-voice minus in-character replies to "
        "the same prompts, train personas), report its separation, the projection of the "
        "agent's replies by turn and by partner move on the protocol's episodes (test "
        "personas), and the same episodes with activation capping along the direction, with "
        "consistency (p2l, l2l, qa) and capability for both. Runs on the GPU when torch sees "
        "one.",
    )
    a.add_argument("--model", required=True,
                   help="folder of a local causal LM (save_pretrained output; never downloaded)")
    a.add_argument("--env", type=known_env_id, default="persona_gym/OpenChatText-v1",
                   help="a text variant (default persona_gym/OpenChatText-v1)")
    a.add_argument("--layer", type=positive_int, required=True,
                   help="residual stream after this many blocks (1 .. number of blocks)")
    a.add_argument("--pairs", type=positive_int, default=64,
                   help="contrast pairs (a quarter held out; default 64)")
    a.add_argument("--episodes", type=positive_int, default=10,
                   help="episodes per seed for each arm (default 10)")
    a.add_argument("--seeds", type=seed_number, nargs="+", default=[0], help="evaluation seeds "
                   "(default 0)")
    a.add_argument("--cap", type=float, default=None,
                   help="cap on the projection (default: --cap-quantile of the persona set)")
    a.add_argument("--cap-quantile", type=float, default=0.9,
                   help="cap at this quantile of the in-character replies' projections "
                   "(default 0.9)")
    a.add_argument("--max-new-tokens", type=positive_int, default=40,
                   help="generation budget per reply (default 40)")
    a.add_argument("--device", default=None, help="torch device (default: cuda if available)")
    a.add_argument("--out", default=None, help="write the report JSON here")
    a.add_argument("--json", action="store_true", help="print the report JSON")


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``levers`` command to ``sub``."""
    p = sub.add_parser(
        "levers", help="the other fixes for persona drift: persona memory, the Assistant axis",
        description="Measure the levers besides offline RL on the same envs and protocol "
        "(docs/levers.md). Run-to-run variance is `persona-gym evaluate --runs-per-persona N`.",
    )
    _levers_parsers(p)


def run(args: argparse.Namespace) -> int:
    """Run ``persona-gym levers`` as parsed into ``args``; the exit code."""
    from persona_gym.output import check_destination, write_atomically

    def fail(message: str) -> int:
        print(f"persona-gym levers {args.lever}: error: {message}", file=sys.stderr)
        return 2

    if args.lever == "memory":
        from persona_gym.levers.memory import MODES, compare, format_rows

        modes = [x.strip() for x in args.modes.split(",") if x.strip()]
        if not modes or any(x not in MODES for x in modes):
            return fail(f"--modes takes a comma-separated list of {', '.join(MODES)}")
        total = args.episodes * len(args.seeds) * (1 + len(modes))
        try:
            hf_options = sampling_options(args)
            with progress_bar(total, f"memory lever on {args.env}") as bar:
                rows = compare(args.env, args.policy, args.episodes, args.seeds, modes,
                               hf_options, progress=bar.update)
        except (ValueError, FileNotFoundError) as exc:
            return fail(str(exc))
        if args.json:
            print(json.dumps(rows))
        else:
            print(f"{args.env} | test personas | seeds {args.seeds} x {args.episodes} episodes")
            print(format_rows(rows))
        return 0
    from persona_gym.levers.assistant_axis import format_study, study

    if not 0.0 <= args.cap_quantile <= 1.0:
        return fail(f"--cap-quantile must be in [0, 1], got {args.cap_quantile}")
    try:
        if args.out:
            check_destination(args.out)
        report = study(args.env, args.model, args.layer, args.pairs, args.episodes, args.seeds,
                       args.cap, args.cap_quantile, args.max_new_tokens, args.device)
    except (ValueError, FileNotFoundError) as exc:
        return fail(str(exc))
    if args.out:
        write_atomically(args.out, json.dumps(report, indent=2))
    print(json.dumps(report) if args.json else format_study(report))
    return 0
