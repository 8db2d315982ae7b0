"""The ``persona-gym`` command line."""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Sequence
from typing import Any

ROLLOUT_JSON_HELP = """\
With --json, prints one JSON object with keys: env_id, policy, split, seed, episodes,
normalized_score, normalized_score_ci [low, high] (95% bootstrap), return_mean, return_ci,
metrics {p2l, l2l, qa, relevance, capability, asserted, repetition, contradiction: {mean,
ci}} (v0 ids: no capability or asserted), by_turn {p2l, l2l,
qa, relevance: [mean at turn 1, 2, ...]}, ref_min_score, ref_max_score."""

JUDGE_JSON_HELP = """\
With --eval --json, prints one JSON object: judge, n, accuracy, macro_f1, per_label
{contradiction, entailment, neutral: {precision, recall, f1, support}}, confusion
{gold: {predicted: count}}."""

PLAY_JSON_HELP = """\
With --json, the conversation is still shown on stderr and, at the end, one JSON object is
printed on stdout with keys: env_id, seed, return, normalized_score, metrics {...}."""


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


def _seed(text: str) -> int:
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


def _env_id(text: str) -> str:
    from persona_gym.envs import registered_ids

    ids = registered_ids()
    if text not in ids:
        raise argparse.ArgumentTypeError(
            f"unknown env id {text!r}; run `persona-gym list` to see: {', '.join(ids)}"
        )
    return text


def _policy(text: str) -> str:
    from pathlib import Path

    from persona_gym.artifacts import PROGRAM_SUFFIXES, ArtifactError, refuse_programs
    from persona_gym.levers.memory import split_spec
    from persona_gym.policies import POLICIES

    wrapped = split_spec(text)
    if wrapped is not None:
        if not wrapped[1]:
            raise argparse.ArgumentTypeError(f"{text!r} names no policy to wrap; e.g. "
                                             "memory:drift")
        _policy(wrapped[1])
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


def _innermost(spec: str) -> str:
    """The policy a ``memory:`` spec wraps (the spec itself otherwise)."""
    from persona_gym.levers.memory import split_spec

    wrapped = split_spec(spec)
    return spec if wrapped is None else _innermost(wrapped[1])


def _temperature(text: str) -> float:
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


def _sampling_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--temperature", type=_temperature, default=0.0,
                   help="hf:PATH policies: sample replies at this temperature, seeded per "
                   "episode (default 0: greedy, deterministic)")
    p.add_argument("--top-p", type=float, default=1.0,
                   help="hf:PATH policies, when sampling: nucleus mass (default 1.0)")


def _hf_options(args: argparse.Namespace) -> dict[str, Any] | None:
    """``--temperature`` / ``--top-p`` as HFTextPolicy options (None when left at default);
    a ValueError when they are given for a policy that is not hf:PATH."""
    if args.temperature == 0.0 and args.top_p == 1.0:
        return None
    if not _innermost(args.policy).startswith("hf:"):
        raise ValueError("--temperature and --top-p apply to hf:PATH policies only")
    if not 0.0 < args.top_p <= 1.0:
        raise ValueError(f"--top-p must be in (0, 1], got {args.top_p}")
    return {"temperature": args.temperature, "top_p": args.top_p}


def _print_wrapper_stats(policy: Any) -> None:
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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="persona-gym",
        description="Persona-consistency dialogue environments for reinforcement learning.",
        epilog="Start with `persona-gym demo`; `persona-gym COMMAND --help` explains each "
        "command. Metrics and reward: docs/metrics.md; results: RESULTS.md.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("list", help="list the registered environments",
                       description="List every registered persona_gym id with a description.")
    p.add_argument("--json", action="store_true",
                   help="print one JSON object {id: {description, horizon, domain, card}}")

    p = sub.add_parser(
        "rollout", help="run a reference policy and report metrics",
        description="Run a reference policy for N episodes (test personas by default) and print "
        "mean and 95% CI per metric, the normalized score, and consistency by turn index.",
        epilog=ROLLOUT_JSON_HELP, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--env", type=_env_id, required=True, help="environment id (see `list`)")
    p.add_argument("--policy", type=_policy, default="expert",
                   help=POLICY_HELP + " (default: expert)")
    p.add_argument("--episodes", type=_positive_int, default=100, help="episodes (default 100)")
    p.add_argument("--seed", type=_seed, default=0, help="first episode seed (default 0)")
    p.add_argument("--split", choices=("train", "valid", "test"), default="test",
                   help="persona split (default: test)")
    _sampling_arguments(p)
    p.add_argument("--json", action="store_true", help="print one JSON object (keys below)")

    p = sub.add_parser(
        "play", help="play the agent yourself in the terminal",
        description="Pick the agent's replies yourself: the partner's line and the numbered "
        "candidates are shown, you type a number, and each line's scores are shown back. "
        "Type q to quit.",
        epilog=PLAY_JSON_HELP, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--env", type=_env_id, default="persona_gym/OpenChat-v1",
                   help="environment id (default persona_gym/OpenChat-v1)")
    p.add_argument("--seed", type=_seed, default=None, help="episode seed (default: random)")
    p.add_argument("--split", choices=("train", "valid", "test"), default="test",
                   help="persona split (default: test)")
    p.add_argument("--json", action="store_true", help="print the final result as JSON")

    p = sub.add_parser(
        "judge", help="judge persona consistency of lines in a JSONL file",
        description="Judge each line of a JSONL file (keys id, persona, history, line; the "
        "format of shared/data/persona-consistency, answer-key fields ignored) and write one "
        '{"id", "label", "against", "evidence", "scores"} per line. The input is validated '
        "first: a malformed line (not JSON, not UTF-8, over 1 MiB, missing keys) STOPS the run "
        "(exit code 2, naming the line number) before anything is judged or written.",
        epilog=JUDGE_JSON_HELP, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("file", help="JSONL file of items to judge")
    p.add_argument("--judge", choices=("learned", "lexical", "nli"), default="learned",
                   help="learned (default: rules + a small head over MiniLM embeddings, "
                   "offline, needs the minilm extra), lexical (rules only, no model) or nli "
                   "(needs --model)")
    p.add_argument("--model", default=None,
                   help="for --judge nli: a local transformers NLI model folder")
    p.add_argument("--batch-size", type=_positive_int, default=32,
                   help="pairs per forward pass for --judge nli (default 32)")
    p.add_argument("--out", default=None,
                   help="write verdicts here (JSONL; checked before judging starts, written "
                   "whole or not at all); default: stdout unless --eval")
    p.add_argument("--eval", action="store_true",
                   help="score the verdicts against the file's label field: accuracy, "
                   "per-class precision/recall/F1, macro-F1, confusion matrix")
    p.add_argument("--json", action="store_true", help="with --eval: print one JSON object")

    p = sub.add_parser(
        "datasets", help="build, list, inspect, verify and import Minari datasets",
        description="Minari datasets of logged conversations (persona_gym/{domain}{-variant}/"
        "{tier}-v1). They live in $MINARI_DATASETS_PATH (default ~/.minari/datasets).",
    )
    dsub = p.add_subparsers(dest="datasets_command", required=True, metavar="ACTION")
    b = dsub.add_parser(
        "build", help="log conversations of a reference policy as a dataset",
        description="Log N conversations on train personas with the tier's behaviour policy "
        "and write them as a Minari dataset (HDF5) whose eval env uses test personas. Built "
        "in a staging folder ($MINARI_DATASETS_PATH/.persona_gym_tmp/) and moved into place "
        "when complete; an existing id is kept unless --force. A second build of an id that "
        "is being built fails at once, --force or not. A build larger than the free disk is "
        "refused (the estimate is in the message) unless --ignore-disk-check. Ctrl-C stops a "
        "build within seconds and removes its staging (exit 130; SIGTERM: 143); staging left "
        "by a killed build is removed by the next build and shown by `datasets list`. "
        "Details: docs/datasets.md.",
    )
    b.add_argument("--env", type=_env_id, required=True, help="environment id (any variant)")
    b.add_argument("--tier", choices=("random", "drift", "expert", "mixed"), required=True,
                   help="behaviour policy: random, drift, expert, or mixed (a third each)")
    b.add_argument("--episodes", type=_positive_int, required=True, help="conversations to log")
    b.add_argument("--seed", type=_seed, default=0, help="seed of episode 0 (default 0)")
    b.add_argument("--force", action="store_true",
                   help="replace an existing finished dataset (never a build in progress)")
    b.add_argument("--ignore-disk-check", action="store_true",
                   help="build even when the size estimate exceeds the free disk")
    b.add_argument("--workers", type=int, default=None,
                   help="generation processes (default: one per core; 1 = in-process); with "
                   "--ray: the CPUs of the local Ray it starts (default: this machine's cores), "
                   "or on a cluster the bound on chunks in flight (2 x workers; default: the "
                   "cluster's CPUs)")
    b.add_argument("--ray", nargs="?", const="local", default=None, metavar="ADDRESS",
                   help="generate the chunks of episodes as Ray tasks (needs pip install "
                   "\"persona-gym[ray]\"); they stream back and this process writes them in "
                   "order: the dataset is the same as without --ray. Without ADDRESS: start a "
                   "local Ray for this build. ADDRESS: auto (the cluster `ray start --head` "
                   "started here, or $RAY_ADDRESS), HOST:PORT of a cluster's head, or "
                   "ray://HOST:10001 (Ray Client). docs/scale.md")
    b.add_argument("--json", action="store_true",
                   help="print {dataset_id, episodes, seconds} as one JSON object")
    lst = dsub.add_parser(
        "list", help="list local persona_gym datasets (and any staging left by killed builds)",
        description="List the local persona_gym dataset ids, then the staging folders under "
        ".persona_gym_tmp/: builds in progress, and stale ones left by a killed build (the "
        "next build removes them). With --json the staging lines go to stderr.",
    )
    lst.add_argument("--json", action="store_true", help="print a JSON list of ids")
    i = dsub.add_parser(
        "info", help="episodes, transitions, size, per-metric means, normalized score",
        description="Summarise a dataset: episodes, transitions, bytes on disk, mean per-metric "
        "scores and the normalized score of the logged behaviour.",
    )
    i.add_argument("dataset_id", help="e.g. persona_gym/openchat/mixed-v1")
    i.add_argument("--json", action="store_true",
                   help="print one JSON object: dataset_id, episodes, transitions, bytes_on_disk, "
                   "bytes_per_transition, return_mean, normalized_score, metrics, ref_min_score, "
                   "ref_max_score, eval_env, persona_gym, description")
    v = dsub.add_parser(
        "verify", help="replay every episode and compare it bit for bit",
        description="Check every stored field: each episode's attributes (id, seed, "
        "total_steps, policy) against what a build writes, and its observations, actions, "
        "rewards, terminations, truncations and infos against a replay from its seed with its "
        "behaviour policy, bit for bit; and the totals in the metadata. Exit code 1 with the "
        "first problem named in one line (episode, field, step); 2 if the file cannot be read. "
        "Details: docs/datasets.md.",
    )
    v.add_argument("dataset_id", help="e.g. persona_gym/openchat/mixed-v1")
    imp = dsub.add_parser(
        "import-logs", help="turn real conversation logs into a text-variant dataset",
        description="Read logged conversations (Synthetic-Persona-Chat CSV or the JSONL format "
        "of docs/logs.md) and write persona_gym/logs/{name}-v1: each speaker with a persona "
        "becomes an episode of the text variant (its lines are the actions), scored by the "
        "judge. Malformed input stops the import with the file and line named; nothing is "
        "written.",
    )
    imp.add_argument("file", help="the log file")
    imp.add_argument("--format", choices=("spc-csv", "jsonl"), required=True,
                     help="spc-csv (Synthetic-Persona-Chat) or jsonl (docs/logs.md)")
    imp.add_argument("--judge", choices=("lexical",), default="lexical",
                     help="the judge that reads the lines (lexical)")
    imp.add_argument("--name", default=None,
                     help="dataset name (default: the file name); id persona_gym/logs/NAME-v1")
    imp.add_argument("--force", action="store_true", help="replace an existing dataset")
    imp.add_argument("--json", action="store_true",
                     help="print {dataset_id, episodes, transitions, sanitized} as JSON")

    p = sub.add_parser(
        "evaluate", help="the official evaluation protocol, written as results.json",
        description="Evaluate a policy with the official protocol: test personas (including the "
        "held-out partner style), fixed seeds, N episodes per seed; normalized score with a "
        "95% bootstrap CI, per-metric means, consistency by turn index, per-seed results. "
        "Trained policies run batched (a vector env, one forward pass per step).",
        epilog="The results format is documented in leaderboard/README.md and validated by "
        "leaderboard/schema.json.",
    )
    p.add_argument("--env", type=_env_id, required=True, help="environment id")
    p.add_argument("--policy", required=True, type=_policy, help=POLICY_HELP)
    p.add_argument("--episodes", type=_positive_int, default=100,
                   help="episodes per seed (default 100)")
    p.add_argument("--seeds", type=_seed, nargs="+", default=[0, 1, 2],
                   help="evaluation seeds, distinct non-negative integers (default 0 1 2)")
    p.add_argument("--out", default=None,
                   help="write the results JSON here (checked before the evaluation starts; "
                   "written whole or not at all)")
    _sampling_arguments(p)
    p.add_argument("--runs-per-persona", type=_positive_int, default=1, metavar="N",
                   help="also replay every episode's persona N times in all (N >= 2), keeping "
                   "the env seed and varying only the policy's randomness (run 0 is the "
                   "official episode), and report each metric's within-persona and "
                   "between-persona variance and their ratio with a 95%% bootstrap CI "
                   "(docs/levers.md); the official results are unchanged")
    p.add_argument("--variance-out", default=None, metavar="PATH",
                   help="with --runs-per-persona: write the variance report JSON here")
    p.add_argument("--json", action="store_true",
                   help="print the results JSON (with --runs-per-persona, plus a 'variance' "
                   "key holding the report)")

    p = sub.add_parser(
        "scale", help="the scaling study: score vs dataset size per algorithm",
        description="Train baselines on growing prefixes of each tier's dataset, evaluate them "
        "with the official protocol and write table.md, table.csv, scaling.png and by_turn.png "
        "into --out. Finished cells are kept: re-running resumes. --ray runs the cells as "
        "Ray tasks, on this machine's cores or a cluster (docs/scale.md).",
    )
    p.add_argument("--env", type=_env_id, default="persona_gym/OpenChat-v1",
                   help="environment id (discrete or continuous variant)")
    p.add_argument("--tiers", default="drift,mixed", help="comma-separated tiers")
    p.add_argument("--sizes", default="100,300,1000,3000,10000",
                   help="comma-separated dataset sizes in episodes")
    p.add_argument("--algos", default="bc,cql,bcq",
                   help="comma-separated baselines: bc, cql, bcq (discrete ids), iql, "
                   "td3plusbc (continuous ids; bc and cql run on both); online ppo, dqn "
                   "(discrete ids, needs [sb3]) with as many env steps as the cell's "
                   "dataset has transitions")
    p.add_argument("--network", choices=("candidatewise", "flat"), default="candidatewise",
                   help="the learners' network: one shared scorer per candidate (default) or "
                   "d3rlpy's flat MLP; cells of both can share one --out")
    p.add_argument("--select-episodes", type=int, default=50,
                   help="valid-persona episodes after each epoch to select a checkpoint, "
                   "reported beside the final policy (0: none; default 50)")
    p.add_argument("--seeds", type=_positive_int, default=3, help="training seeds per cell")
    p.add_argument("--steps", type=_positive_int, default=10_000, help="updates per run")
    p.add_argument("--batch-size", type=_positive_int, default=256, help="minibatch size")
    p.add_argument("--eval-episodes", type=_positive_int, default=100,
                   help="evaluation episodes per evaluation seed")
    p.add_argument("--eval-seeds", type=int, nargs="+", default=[0],
                   help="evaluation seeds (default 0)")
    p.add_argument("--device", default="auto", help="auto, cpu:0 or cuda:0")
    p.add_argument("--wandb", choices=("offline", "online", "disabled"), default="offline",
                   help="wandb mode (default offline: nothing leaves the machine)")
    p.add_argument("--quick", action="store_true",
                   help="smoke-test settings (sizes 100,300; 400 updates; 1 seed; 50 episodes)")
    p.add_argument("--report-only", action="store_true",
                   help="train nothing: write the tables and plots over every finished cell in "
                   "--out (cells of several studies may share it), evaluating the behaviour "
                   "policies with --env, --eval-episodes and --eval-seeds if not cached")
    p.add_argument("--out", default="scaling", help="output folder (default scaling/)")
    p.add_argument("--json", action="store_true", help="print the aggregate rows as JSON")
    p.add_argument("--ray", nargs="?", const="local", default=None, metavar="ADDRESS",
                   help="run each missing cell as a Ray task (needs pip install "
                   "\"persona-gym[ray]\"); the datasets are built on Ray too. Without ADDRESS: "
                   "start a local Ray with this machine's cores. ADDRESS: auto (the cluster `ray "
                   "start --head` started here, or $RAY_ADDRESS), HOST:PORT, or "
                   "ray://HOST:10001. $MINARI_DATASETS_PATH must be on a filesystem every node "
                   "sees (and --out should be, to keep the run folders together). A failed "
                   "cell is reported and retried (--retries); the others go on, and the "
                   "tables are made from the finished cells. docs/scale.md")
    p.add_argument("--cpus-per-run", type=float, default=1.0,
                   help="with --ray: CPUs each cell declares (default 1; its torch threads)")
    p.add_argument("--gpus-per-run", type=float, default=0.0,
                   help="with --ray: GPUs each cell declares (default 0; 0.5 puts two cells on "
                   "a GPU). --device auto then trains on the cell's GPU when it has one, else "
                   "on the CPU")
    p.add_argument("--retries", type=int, default=2,
                   help="with --ray: times a failed cell is submitted again (default 2)")

    p = sub.add_parser(
        "demo", help="the README's main job: reference policies, then a quick offline-RL run",
        description="End to end on embedded defaults, CPU only, a few minutes: (1) every "
        "reference policy on the env (test personas): normalized score with 95% CI, per-metric "
        "means and the drift policy's consistency by turn index; (2) a small mixed dataset of "
        "the discrete variant, BC, CQL and BCQ (candidate-wise networks) trained briefly on it, "
        "evaluated with the "
        "official protocol, a table and plots (scaling.png, by_turn.png) in --out.",
    )
    p.add_argument("--env", type=_env_id, default="persona_gym/OpenChat-v1",
                   help="environment id for part 1 (default persona_gym/OpenChat-v1)")
    p.add_argument("--episodes", type=_positive_int, default=200,
                   help="episodes per reference policy (default 200)")
    p.add_argument("--seed", type=_seed, default=0, help="first episode seed (default 0)")
    p.add_argument("--out", default="persona_gym_demo",
                   help="folder for datasets, runs, table and plots (default persona_gym_demo/)")
    p.add_argument("--skip-training", action="store_true", help="only part 1")
    p.add_argument("--json", action="store_true",
                   help="print one JSON object {reference: {policy: rollout summary}, "
                   "training: [rows of the table]}")

    p = sub.add_parser(
        "refscores", help="measure an env's reference scores (random and expert)",
        description="Measure ref_min_score (random) and ref_max_score (expert) on test "
        "personas, as recorded in the env's task card.",
    )
    p.add_argument("--env", type=_env_id, required=True, help="environment id")
    p.add_argument("--episodes", type=_positive_int, default=2000,
                   help="episodes per policy (default 2000)")
    p.add_argument("--seed", type=_seed, default=10_000, help="first seed (default 10000)")
    p.add_argument("--json", action="store_true", help="print {ref_min_score, ref_max_score, ...}")

    p = sub.add_parser(
        "levers", help="the other fixes for persona drift: persona memory, the Assistant axis",
        description="Measure the levers besides offline RL on the same envs and protocol "
        "(docs/levers.md). Run-to-run variance is `persona-gym evaluate --runs-per-persona N`.",
    )
    _levers_parsers(p)

    p = sub.add_parser(
        "leaderboard", help="validate leaderboard submissions and build the static site",
        description="The leaderboard (leaderboard/README.md): check submission files and the "
        "pull requests that add them, and publish the validated ones as a static site that "
        "works offline from file://.",
    )
    _leaderboard_parsers(p)
    return parser


def _progress(total: int | None, desc: str) -> Any:
    from persona_gym.progress import progress

    return progress(total, desc, unit="ep")


def cmd_list(args: argparse.Namespace) -> int:
    import gymnasium as gym

    from persona_gym.envs import card_of, registered_ids

    rows = {}
    for env_id in registered_ids():
        card, entry = card_of(env_id)
        rows[env_id] = {"description": entry.description, "horizon": entry.horizon,
                        "domain": card.domain, "card": gym.registry[env_id].kwargs["card"]}
    if args.json:
        print(json.dumps(rows))
        return 0
    width = max(len(i) for i in rows)
    for env_id, row in rows.items():
        print(f"{env_id:<{width}}  {row['description']}")
    return 0


def _fmt(x: float | None, digits: int = 3) -> str:
    return "  -  " if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.{digits}f}"


def cmd_rollout(args: argparse.Namespace) -> int:
    from persona_gym.evaluation import check_rollout_seed, env_entry, rollout, summarize
    from persona_gym.policies import load_policy

    inner = _innermost(args.policy)
    if inner.startswith("hf:") and env_entry(args.env).variant != "text":
        print(f"persona-gym rollout: error: {inner} answers in free text; use a text "
              f"variant such as {args.env.replace('-v', 'Text-v', 1)}", file=sys.stderr)
        return 2
    try:
        check_rollout_seed(args.seed, args.episodes)  # before the progress line: one-line errors
        policy = load_policy(args.policy, args.env, _hf_options(args))
        with _progress(args.episodes, f"{args.policy} on {args.env}") as bar:
            episodes = rollout(args.env, policy, args.episodes, args.seed, args.split,
                               progress=bar.update)
    except (ValueError, FileNotFoundError) as exc:  # bad seeds, a policy that misbehaves
        print(f"persona-gym rollout: error: {exc}", file=sys.stderr)
        return 2
    result = {"policy": args.policy, "split": args.split, "seed": args.seed,
              **summarize(args.env, episodes)}
    if args.json:
        print(json.dumps(result))
        return 0
    _print_wrapper_stats(policy)
    lo, hi = result["normalized_score_ci"]
    print(f"{args.env} | policy {args.policy} | {args.split} personas | "
          f"{result['episodes']} episodes from seed {args.seed}")
    print(f"normalized score  {result['normalized_score']:7.1f}   95% CI [{lo:.1f}, {hi:.1f}]")
    print(f"return            {result['return_mean']:7.3f}   (ref min {result['ref_min_score']}, "
          f"ref max {result['ref_max_score']})")
    print()
    print(f"{'metric':<14}{'mean':>8}{'95% CI':>20}")
    for name, m in result["metrics"].items():
        ci = f"[{_fmt(m['ci'][0])}, {_fmt(m['ci'][1])}]"
        print(f"{name:<14}{_fmt(m['mean']):>8}{ci:>20}")
    print()
    print("consistency by turn index (mean over episodes; qa over question turns)")
    horizon = len(result["by_turn"]["p2l"])
    step = max(1, math.ceil(horizon / 16))
    turns = list(range(0, horizon, step))
    print(f"{'turn':<11}" + "".join(f"{t + 1:>6}" for t in turns))
    for name, values in result["by_turn"].items():
        print(f"{name:<11}" + "".join(f"{_fmt(values[t], 2):>6}" for t in turns))
    return 0


def cmd_judge(args: argparse.Namespace) -> int:
    from persona_gym.judges import LABELS, get_judge
    from persona_gym.judges.evaluate import JudgeInputError, classification_report, load_items
    from persona_gym.output import check_destination, write_atomically

    def fail(message: str) -> int:
        print(f"persona-gym judge: error: {message}", file=sys.stderr)
        return 2

    try:
        if args.out:
            check_destination(args.out, example="verdicts.jsonl")
        items = load_items(args.file)
        judge = get_judge(args.judge, args.model, args.batch_size)
    except (JudgeInputError, ValueError, FileNotFoundError, ImportError) as exc:
        return fail(str(exc))
    if args.eval:
        bad = [i for i, it in enumerate(items) if it.get("label") not in LABELS]
        if bad:
            return fail(f"--eval needs a label in {LABELS} on every item; item "
                        f"{items[bad[0]]['id']!r} has {items[bad[0]].get('label')!r}")
    with _progress(len(items), f"{args.judge} judge") as bar:
        verdicts = []
        for start in range(0, len(items), 64):
            chunk = items[start : start + 64]
            verdicts += judge.judge_many([(it["persona"], it["history"], it["line"])
                                          for it in chunk])
            bar.update(len(chunk))
    rows = [{"id": it["id"], **v.as_dict()} for it, v in zip(items, verdicts, strict=True)]
    if args.out:
        try:
            write_atomically(args.out, (json.dumps(r) + "\n" for r in rows))
        except OSError as exc:
            return fail(f"could not write {args.out} ({exc.strerror or exc}); nothing was "
                        "written, rerun with another --out")
    elif not args.eval:
        for r in rows:
            print(json.dumps(r))
    if args.eval:
        report = classification_report([it["label"] for it in items],
                                       [v.label for v in verdicts])
        report = {"judge": args.judge, **report}
        if args.json:
            print(json.dumps(report))
        else:
            print(f"{args.judge} judge on {args.file}: {report['n']} items, "
                  f"accuracy {report['accuracy']:.3f}, macro-F1 {report['macro_f1']:.3f}\n")
            print(f"{'label':<15}{'precision':>10}{'recall':>10}{'f1':>10}{'support':>9}")
            for label, m in report["per_label"].items():
                print(f"{label:<15}{m['precision']:>10.3f}{m['recall']:>10.3f}"
                      f"{m['f1']:>10.3f}{m['support']:>9}")
            print(f"\nconfusion (rows: gold, columns: predicted)\n{'':<15}"
                  + "".join(f"{lab[:13]:>15}" for lab in LABELS))
            for g in LABELS:
                print(f"{g:<15}" + "".join(f"{report['confusion'][g][p]:>15}" for p in LABELS))
    return 0


def cmd_datasets(args: argparse.Namespace) -> int:
    import time

    from persona_gym import datasets as D

    def fail(message: str, code: int = 2) -> int:
        print(f"persona-gym datasets: error: {message}", file=sys.stderr)
        return code

    action = args.datasets_command
    try:
        if action == "build":
            start = time.perf_counter()
            with _progress(args.episodes, f"{args.tier} on {args.env}") as bar:
                ds_id = D.build_dataset(args.env, args.tier, args.episodes, args.seed,
                                        force=args.force, progress=bar.update,
                                        workers=args.workers,
                                        ignore_disk_check=args.ignore_disk_check,
                                        ray_address=args.ray)
            seconds = time.perf_counter() - start
            if args.json:
                print(json.dumps({"dataset_id": ds_id, "episodes": args.episodes,
                                  "seconds": seconds}))
            else:
                print(f"wrote {ds_id}: {args.episodes} episodes in {seconds:.1f} s "
                      f"({D.datasets_root() / ds_id})")
        elif action == "list":
            ids = D.list_datasets()
            if args.json:
                print(json.dumps(ids))
            else:
                print("\n".join(ids) if ids else f"no persona_gym datasets in {D.datasets_root()}")
            for staging in D.staging_folders():
                print(staging.describe(), file=sys.stderr if args.json else sys.stdout)
        elif action == "info":
            info = D.dataset_info(args.dataset_id)
            if args.json:
                print(json.dumps(info))
            else:
                print(f"{info['dataset_id']}: {info['episodes']} episodes, "
                      f"{info['transitions']} transitions, {info['bytes_on_disk'] / 1e6:.1f} MB "
                      f"({info['bytes_per_transition']:.0f} bytes/transition)")
                print(f"logged behaviour: normalized score {info['normalized_score']:.1f}, "
                      f"mean return {info['return_mean']:.3f} (eval env {info['eval_env']})")
                print("mean per-line scores: " + ", ".join(
                    f"{k} {_fmt(v)}" for k, v in info["metrics"].items()))
        elif action == "verify":
            with _progress(None, f"verify {args.dataset_id}") as bar:
                problem = D.verify_dataset(args.dataset_id, progress=bar.update)
            if problem:
                print(f"MISMATCH {problem}")
                return 1
            print(f"{args.dataset_id}: every episode replays bit for bit")
        elif action == "import-logs":
            result = D.import_logs(args.file, args.format, name=args.name, force=args.force)
            if args.json:
                print(json.dumps(result))
            else:
                print(f"wrote {result['dataset_id']}: {result['episodes']} episodes, "
                      f"{result['transitions']} transitions "
                      f"({result['sanitized']} characters or lines sanitized)")
    except (D.DatasetError, ValueError, FileNotFoundError, ImportError, ConnectionError) as exc:
        return fail(str(exc))
    except D.BuildInterrupted as exc:
        print(f"persona-gym datasets: {exc}", file=sys.stderr)
        return 128 + exc.signum
    except KeyboardInterrupt:  # before the build took over Ctrl-C: nothing was started
        print("persona-gym datasets: interrupted; nothing was written", file=sys.stderr)
        return 130
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    from persona_gym.evaluation import check_evaluation_seeds, evaluate
    from persona_gym.output import check_destination, write_atomically
    from persona_gym.policies import load_policy

    def fail(message: str) -> int:
        print(f"persona-gym evaluate: error: {message}", file=sys.stderr)
        return 2

    if args.variance_out and args.runs_per_persona < 2:
        return fail("--variance-out needs --runs-per-persona N with N >= 2")
    report = None
    try:
        for path in (args.out, args.variance_out):
            if path:
                check_destination(path)
        check_evaluation_seeds(args.seeds, args.episodes)  # before the progress line
        policy = load_policy(args.policy, args.env, _hf_options(args))
        if args.runs_per_persona > 1:
            from persona_gym.levers.variance import evaluate_with_runs

            total = args.episodes * len(args.seeds) * args.runs_per_persona
            with _progress(total, f"evaluate x{args.runs_per_persona} runs on {args.env}") as bar:
                results, report = evaluate_with_runs(args.env, policy, args.runs_per_persona,
                                                     args.episodes, args.seeds,
                                                     progress=bar.update)
        else:
            with _progress(args.episodes * len(args.seeds), f"evaluate on {args.env}") as bar:
                results = evaluate(args.env, policy, args.episodes, args.seeds,
                                   progress=bar.update)
        results["policy"] = args.policy  # the spec as given, as a results file names it
    except (ValueError, FileNotFoundError) as exc:
        return fail(str(exc))
    if report is not None:
        report["policy"] = args.policy
        if args.variance_out:
            try:
                write_atomically(args.variance_out, json.dumps(report, indent=2))
            except OSError as exc:
                print(json.dumps(report))
                return fail(f"could not write {args.variance_out} ({exc.strerror or exc}); "
                            "the report is printed on stdout above")
    if args.out:
        try:
            write_atomically(args.out, json.dumps(results, indent=2))
        except OSError as exc:  # the folder changed during the run: keep the results
            print(json.dumps(results))
            return fail(f"could not write {args.out} ({exc.strerror or exc}); the results "
                        "are printed on stdout above")
    if args.json:
        print(json.dumps(results if report is None else {**results, "variance": report}))
    else:
        lo, hi = results["normalized_score_ci"]
        print(f"{args.env} | {args.policy} | seeds {args.seeds} x {args.episodes} episodes: "
              f"normalized score {results['normalized_score']:.1f} [{lo:.1f}, {hi:.1f}]")
        print("  " + ", ".join(f"{m} {_fmt(v['mean'])}" for m, v in results["metrics"].items()))
        _print_wrapper_stats(policy)
        if report is not None:
            from persona_gym.levers.variance import format_report

            print()
            print(format_report(report))
        for path in (args.out, args.variance_out):
            if path:
                print(f"wrote {path}")
    return 0


def _scale_spec(args: argparse.Namespace) -> Any:
    from persona_gym.scaling import QUICK, StudySpec

    def ints(text: str) -> tuple[int, ...]:
        return tuple(int(x) for x in text.split(",") if x)

    fields = {"sizes": ints(args.sizes), "steps": args.steps,
              "eval_episodes": args.eval_episodes, "seeds": tuple(range(args.seeds)),
              "eval_seeds": tuple(args.eval_seeds)}
    if args.quick:
        fields.update(QUICK)
    return StudySpec(env=args.env, tiers=tuple(t for t in args.tiers.split(",") if t),
                     algos=tuple(a for a in args.algos.split(",") if a), device=args.device,
                     wandb=args.wandb, batch_size=args.batch_size, network=args.network,
                     select_episodes=args.select_episodes, **fields)


def cmd_scale(args: argparse.Namespace) -> int:
    from persona_gym.scaling import report, run_study
    from persona_gym.training import quiet_d3rlpy

    quiet_d3rlpy()
    try:
        if args.ray is None and (args.cpus_per_run != 1.0 or args.gpus_per_run != 0.0
                                 or args.retries != 2):
            raise ValueError("--cpus-per-run, --gpus-per-run and --retries apply to --ray; "
                             "add --ray (docs/scale.md)")
        if args.cpus_per_run < 0 or args.gpus_per_run < 0 or args.retries < 0:
            raise ValueError("--cpus-per-run, --gpus-per-run and --retries must be >= 0")
        spec = _scale_spec(args)
        if args.report_only:
            if args.ray is not None:
                raise ValueError("--report-only trains nothing; drop --ray")
            result = {**report(spec, args.out), "failed": []}
        else:
            result = run_study(spec, args.out,
                               progress=lambda cell: print(f"cell: {cell}", file=sys.stderr),
                               ray_address=args.ray, cpus_per_run=args.cpus_per_run,
                               gpus_per_run=args.gpus_per_run, retries=args.retries)
    except (ValueError, FileExistsError, ImportError, ConnectionError) as exc:
        print(f"persona-gym scale: error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(result["rows"]))
    elif result["rows"]:
        from pathlib import Path

        print((Path(args.out) / "table.md").read_text())
        print(f"tables and plots in {args.out}/ (table.md, table.csv, scaling.png, by_turn.png)")
    if result["failed"]:
        for cell in result["failed"]:
            print(f"persona-gym scale: cell {cell['tier']} size={cell['size']} {cell['algo']} "
                  f"seed={cell['seed']} failed {cell['attempts']} times: {cell['error']}",
                  file=sys.stderr)
        print(f"persona-gym scale: {len(result['failed'])} cell(s) failed; the tables hold the "
              "finished ones. Run the same command again to retry them (finished cells are "
              "kept)", file=sys.stderr)
        return 1
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from persona_gym.evaluation import rollout, summarize
    from persona_gym.policies import POLICIES

    results = {}
    for name in POLICIES:
        with _progress(args.episodes, f"{name} on {args.env}") as bar:
            eps = rollout(args.env, name, args.episodes, args.seed, "test", progress=bar.update)
        results[name] = {"policy": name, "split": "test", "seed": args.seed,
                         **summarize(args.env, eps)}
    if not args.json:  # each table as soon as it is ready
        _print_reference_tables(args, results)
    rows = [] if args.skip_training else _demo_training(args)
    if args.json:
        print(json.dumps({"reference": results, "training": rows}))
        return 0
    if rows:
        from pathlib import Path

        out = Path(args.out)
        print("\noffline RL from logged conversations (quick settings: a smoke test, not a "
              "result; see RESULTS.md)")
        print((out / "table.md").read_text())
        print("How to read it: each row trains on the first N logged episodes (train personas) "
              "and is scored on test\npersonas (0 = random, 100 = expert); 'selected on valid' "
              "is the checkpoint that scored best on\nvalid personas; 'behaviour' is the logged "
              "policy's own score, the bar offline RL should clear.")
        print(f"plots: {out / 'scaling.png'}, {out / 'by_turn.png'}")
    return 0


def _print_reference_tables(args: argparse.Namespace, results: dict[str, Any]) -> None:
    print(f"{args.env}: reference policies on test personas, {args.episodes} episodes each "
          f"from seed {args.seed}\n")
    first = next(iter(results.values()))["metrics"]
    cols = [c for c in ("p2l", "l2l", "qa", "capability", "asserted", "repetition")
            if c in first]  # consistency next to capability (v1)
    print("normalized: 0 = random, 100 = expert. p2l / l2l / qa: consistency with the persona, "
          "with one's own\nearlier lines, of answers (over lines that assert something); "
          "capability: the move was answered\ninformatively; asserted: share of lines that "
          "assert something (docs/metrics.md)\n")
    print(f"{'policy':<11}{'normalized':>11}{'95% CI':>17}" + "".join(f"{c:>11}" for c in cols))
    for name, r in results.items():
        lo, hi = r["normalized_score_ci"]
        ci = f"[{lo:.1f}, {hi:.1f}]"
        print(f"{name:<11}{r['normalized_score']:>11.1f}{ci:>17}"
              + "".join(f"{_fmt(r['metrics'][c]['mean']):>11}" for c in cols))
    print("How to read it: the parrot stays in character but answers nothing and the assistant "
          "answers out of\ncharacter; both score near or below random, so consistency pays only "
          "together with capability.")
    drift = results["drift"]["by_turn"]
    print("\ndrift policy, consistency by turn index (it slips more as the conversation goes on)")
    horizon = len(drift["p2l"])
    turns = list(range(0, horizon, max(1, math.ceil(horizon / 16))))
    print(f"{'turn':<11}" + "".join(f"{t + 1:>6}" for t in turns))
    for name in ("p2l", "l2l", "qa"):
        print(f"{name:<11}" + "".join(f"{_fmt(drift[name][t], 2):>6}" for t in turns))
    print("How to read it: the share of the drift policy's lines at each turn that keep the "
          "persona (p2l), its own\nearlier lines (l2l) and its earlier answers (qa); '-' where "
          "no line at that turn asserts anything.", flush=True)


def _demo_training(args: argparse.Namespace) -> list[dict[str, Any]]:
    """Part 2 of the demo: the quick scaling study of BC, CQL and BCQ, datasets under --out."""
    import os
    from pathlib import Path

    from persona_gym.scaling import QUICK, StudySpec, run_study
    from persona_gym.training import quiet_d3rlpy

    quiet_d3rlpy()
    os.environ.setdefault("MINARI_DATASETS_PATH", str(Path(args.out).resolve() / "minari"))
    os.environ.setdefault("WANDB_SILENT", "true")
    spec = StudySpec(env="persona_gym/OpenChat-v1", tiers=("mixed",),
                     algos=("bc", "cql", "bcq"), batch_size=128, device="cpu:0", **QUICK)
    print(f"training BC, CQL and BCQ on CPU into {args.out}/ (a few minutes) ...",
          file=sys.stderr)
    return run_study(spec, args.out,
                     progress=lambda cell: print(f"  {cell}", file=sys.stderr))["rows"]


def cmd_refscores(args: argparse.Namespace) -> int:
    from persona_gym.evaluation import rollout

    out: dict[str, Any] = {"env_id": args.env, "episodes": args.episodes, "seed": args.seed}
    for key, policy in (("ref_min_score", "random"), ("ref_max_score", "expert")):
        with _progress(args.episodes, f"{policy} on {args.env}") as bar:
            eps = rollout(args.env, policy, args.episodes, args.seed, "test", progress=bar.update)
        out[key] = round(float(sum(e.metrics["return"] for e in eps) / len(eps)), 4)
    if args.json:
        print(json.dumps(out))
    else:
        print(f"# {args.env}: `persona-gym refscores --env {args.env} --episodes {args.episodes} "
              f"--seed {args.seed}`")
        print(f"ref_min_score = {out['ref_min_score']}")
        print(f"ref_max_score = {out['ref_max_score']}")
    return 0


def cmd_play(args: argparse.Namespace) -> int:
    import gymnasium as gym

    from persona_gym.evaluation import normalized_score

    show = sys.stderr if args.json else sys.stdout
    from persona_gym.evaluation import env_entry

    free_text = env_entry(args.env).variant == "text"
    env = gym.make(args.env, split=args.split, render_mode="ansi")
    _, info = env.reset(seed=args.seed)
    base = env.unwrapped
    prompt = "a number, or type your own reply" if free_text else "a number"
    print("You are the agent. Your persona:", file=show)
    for s in info["persona"]:
        print(f"  - {s}", file=show)
    while True:
        view = base.turn_view()  # type: ignore[attr-defined]
        print(f"\nPartner: {view.move.text}", file=show)
        for i, c in enumerate(view.candidates):
            print(f"  ({i}) {c.text}", file=show)
        while True:
            print(f"Your reply [{prompt} 0-{len(view.candidates) - 1}, q to quit]: ", end="",
                  file=show, flush=True)
            answer = sys.stdin.readline()
            if not answer or answer.strip().lower() in ("q", "quit"):
                print("\nStopped.", file=show)
                return 1
            answer = answer.strip()
            if answer.isdecimal() and int(answer) < len(view.candidates):
                action = base.action_for(int(answer))  # type: ignore[attr-defined]
                break
            if free_text and answer:
                action = answer[:512]
                break
            print(f"Please type {prompt} from 0 to {len(view.candidates) - 1}.", file=show)
        try:
            _, reward, terminated, _, info = env.step(action)
        except ValueError as exc:  # e.g. a character outside the text charset
            print(f"  !! {exc}", file=show)
            continue
        s = {k: "-" if v is None else f"{v:.2f}".rstrip("0").rstrip(".")
             for k, v in info["scores"].items()}
        print(f"  -> p2l={s['p2l']} l2l={s['l2l']} qa={s['qa']} relevance={s['relevance']}"
              f" repetition={s['repetition']} reward={reward:+.2f}", file=show)
        if terminated:
            break
    m = info["metrics"]
    score = float(normalized_score(m["return"], args.env))
    print(f"\nConversation over. Return {m['return']:+.2f}, normalized score {score:.1f}.",
          file=show)
    if args.json:
        print(json.dumps({"env_id": args.env, "seed": args.seed, "return": m["return"],
                          "normalized_score": score, "metrics": m}))
    return 0


def _limits_arguments(p: argparse.ArgumentParser) -> None:
    from persona_gym.leaderboard import DEFAULT_LIMITS as D

    p.add_argument("--wall-s", type=float, default=D.wall_s, metavar="S",
                   help=f"wall-time limit of one artifact's re-evaluation (default {D.wall_s:g})")
    p.add_argument("--cpu-s", type=_positive_int, default=D.cpu_s, metavar="S",
                   help=f"CPU-time limit of one re-evaluation (default {D.cpu_s})")
    p.add_argument("--memory-mb", type=_positive_int, default=D.memory_bytes // 2**20,
                   metavar="MB", help="address-space limit of the re-evaluation process "
                   f"(default {D.memory_bytes // 2**20})")


def _limits(args: argparse.Namespace) -> Any:
    from persona_gym.leaderboard import Limits

    return Limits(wall_s=args.wall_s, cpu_s=args.cpu_s, memory_bytes=args.memory_mb * 2**20)


def _leaderboard_parsers(p: argparse.ArgumentParser) -> None:
    from persona_gym.leaderboard import (
        MAX_PR_ENTRIES,
        MAX_RERUN_EPISODES,
        PR_PROBLEM_CODES,
        PROBLEM_CODES,
        SUBMISSIONS_DIR,
    )

    lsub = p.add_subparsers(dest="leaderboard_command", required=True, metavar="ACTION")
    lv = lsub.add_parser(
        "validate", help="check submission files; exit code 1 if any is rejected",
        description="Check each submission: the file (regular file, <= 1 MB, strict JSON, "
        "nesting <= 32, integers <= 20 digits, finite numbers), the schema "
        "(leaderboard/schema.json), the budget (at most "
        f"{MAX_RERUN_EPISODES} episodes in all), the versions (env ids at their current -vN, "
        "the evaluation protocol, persona_gym), the internal consistency of every results dict "
        "(means vs per-seed results, score conversions, plausible CIs, by-turn lengths), and "
        "the policy artifact if there is one (inside the submission's folder, no symlinks, "
        "<= 50 MB, sha256, an ONNX graph of allowed operators). The artifact is then "
        "re-evaluated in a child process with wall-time, CPU-time and memory limits, with the "
        "submission's own seeds and episodes, and results further than 1.0 normalized-score "
        "point (0.02 on a metric mean) from the submitted ones are rejected. A passing "
        "submission without an artifact is reported UNVERIFIED: it is listed apart on the "
        "site and never ranked.",
        epilog="Prints OK FILE or REJECTED FILE with one line per problem, each tagged with a "
        f"stable code: {', '.join(PROBLEM_CODES)}. Every file gets its verdict. Exit code 0 "
        "when every file passes, 1 otherwise. See docs/security.md.",
    )
    lv.add_argument("files", nargs="+", metavar="FILE", help="submission JSON files")
    lv.add_argument("--no-rerun", action="store_true",
                    help="skip re-evaluating policy artifacts (path, size, sha256 and the ONNX "
                    "checks still run)")
    lv.add_argument("--json", action="store_true",
                    help="print one JSON list of {file, ok, verified, reproduced, problems: "
                    "[{code, message}]}")
    _limits_arguments(lv)
    lb = lsub.add_parser(
        "build", help="build the static leaderboard site from the validated submissions",
        description="Validate every *.json under --submissions (re-running policy artifacts in "
        "the sandbox unless --no-rerun) and write a static site to --out: index.html with one "
        "ranked table per env (submissions with a policy artifact; click any column header to "
        "sort), the unverified submissions (no artifact) apart and unranked, a page per entry "
        "and the scaling plot. Plain HTML from templates, inline CSS and one small inline "
        "script; no network needed (open index.html from file://). If any submission is "
        "rejected nothing is written (exit code 1). The site is built in a temporary folder "
        "and renamed into place.",
    )
    lb.add_argument("--out", default="leaderboard/site", metavar="DIR",
                    help="output folder (default leaderboard/site); an existing folder is "
                    "replaced only if it is empty or a previous build")
    lb.add_argument("--submissions", default=SUBMISSIONS_DIR, metavar="DIR",
                    help=f"folder of submission JSON files (default {SUBMISSIONS_DIR})")
    lb.add_argument("--scaling-plot", default=None, metavar="PNG",
                    help="the scaling study's plot to show (default: scaling.png next to the "
                    "submissions folder, i.e. leaderboard/scaling.png, when present)")
    lb.add_argument("--rerun", action=argparse.BooleanOptionalAction, default=True,
                    help="re-evaluate policy artifacts in the sandbox (default); --no-rerun "
                    "checks only their paths, hashes and ONNX format (a quick preview)")
    _limits_arguments(lb)
    lr = lsub.add_parser(
        "from-run", help="make a submission from a baseline run folder",
        description="Turn a baseline run (runs/{env}__{algo}__{seed}/ from baselines/*.py) into "
        "a leaderboard submission: its ONNX policy is evaluated with the official protocol "
        "(seeds 0 1 2, 100 episodes each), copied next to the submission with its sha256, and "
        "the command that trained it is recorded from the run's config.json.",
    )
    lr.add_argument("run", help="the run folder (holds config.json and policy.onnx)")
    lr.add_argument("--submissions", default=SUBMISSIONS_DIR, metavar="DIR",
                    help="where to write {name}.json and {name}/policy.onnx (default "
                    f"{SUBMISSIONS_DIR})")
    lr.add_argument("--name", default=None, help="entry folder name (default: the run's name)")
    lr.add_argument("--method", default=None, help="method name (default: '{algo} (baseline)')")
    lr.add_argument("--submitter", default="persona_gym developers", help="who submits")
    lr.add_argument("--selected", action="store_true",
                    help="submit the checkpoint the run selected on valid personas "
                    "(policy_selected.onnx) instead of the final policy; the entry is named "
                    "{run}__selected")
    lc = lsub.add_parser(
        "convert", help="convert a TorchScript policy you made yourself to ONNX",
        description="Export a TorchScript policy file (e.g. an old baseline's policy.pt) as the "
        "ONNX artifact the leaderboard accepts. Loading TorchScript RUNS it (it can read and "
        "write any of your files), so this needs --trusted: only convert files you made.",
    )
    lc.add_argument("source", help="the TorchScript file (.pt)")
    lc.add_argument("out", help="the ONNX file to write (.onnx)")
    lc.add_argument("--env", type=_env_id, required=True,
                    help="the env the policy acts on (gives the observation width)")
    lc.add_argument("--trusted", action="store_true",
                    help="confirm the file is your own: converting executes it")
    lp = lsub.add_parser(
        "check-pr", help="check a pull request that adds leaderboard entries (what CI runs)",
        description="Check the changes of a pull request, from the merge base of BASE and HEAD "
        "to HEAD, as a leaderboard submission, reading only git's objects (nothing is checked "
        "out; nothing from the pull request runs but its ONNX policies, in the sandbox). The "
        "pull request is refused, before "
        f"any entry is read, if it changes anything outside {SUBMISSIONS_DIR}/, modifies or "
        "deletes an existing file there (only additions are accepted), adds a symbolic link or "
        "a submodule, a file name other than letters, digits and . _ + -, a file over 50 MB, "
        f"no entry or more than {MAX_PR_ENTRIES} entries (an entry is a .json file directly in "
        f"{SUBMISSIONS_DIR}/), or a file that no added entry names as its policy file. Each "
        "added entry is then checked exactly as `validate` does, its ONNX policy re-run in the "
        "sandbox under the limits below; the policy file must be added by the same pull "
        "request. An entry without a policy file is accepted as UNVERIFIED: listed apart on "
        "the site, never ranked. Prints the verdict as a Markdown table.",
        epilog="Exit code 0 when the pull request is accepted (every added entry passes), 1 "
        "when it is refused or an entry is rejected, 2 when the check cannot run (a commit git "
        "cannot find). Before you push a submission: `persona-gym leaderboard check-pr "
        "origin/main HEAD` (commit first: only commits are read). The CI workflow "
        "(.github/workflows/leaderboard-pr.yml) runs `check-pr BASE_SHA HEAD_SHA --repo pr "
        "--summary $GITHUB_STEP_SUMMARY` with this command installed from the base branch. "
        f"Refusal codes: {', '.join(PR_PROBLEM_CODES)}. See leaderboard/README.md and "
        "docs/security.md.",
    )
    lp.add_argument("base", metavar="BASE",
                    help="the branch the pull request goes into, or its commit (e.g. "
                    "origin/main)")
    lp.add_argument("head", metavar="HEAD", help="the pull request's last commit (e.g. HEAD)")
    lp.add_argument("--repo", default=".", metavar="DIR",
                    help="the git repository holding both commits (default: .)")
    lp.add_argument("--summary", default=None, metavar="PATH",
                    help="also append the Markdown verdict to PATH (the workflow passes "
                    "$GITHUB_STEP_SUMMARY, shown as the job's summary)")
    lp.add_argument("--rerun", action=argparse.BooleanOptionalAction, default=True,
                    help="re-evaluate policy files in the sandbox (default); --no-rerun "
                    "checks only their paths, hashes and ONNX format (a quick preview)")
    _limits_arguments(lp)
    lsub.add_parser(
        "schema", help="print the submission JSON Schema (the source of leaderboard/schema.json)",
        description="Print the JSON Schema (draft 2020-12) that validate applies; "
        "leaderboard/schema.json is this output.",
    )


def cmd_leaderboard(args: argparse.Namespace) -> int:
    from pathlib import Path

    from persona_gym import leaderboard as lbd

    action = args.leaderboard_command
    prog = f"persona-gym leaderboard {action}"
    if action == "schema":
        print(json.dumps(lbd.SUBMISSION_SCHEMA, indent=2))
        return 0
    if action == "convert":
        if not args.trusted:
            print(f"{prog}: error: converting loads {args.source} with torch.jit.load, which "
                  "runs it with your permissions; pass --trusted if you made this file "
                  "yourself (never for a file from someone else)", file=sys.stderr)
            return 2
        try:
            out = lbd.convert_torchscript(args.source, args.out, args.env)
        except (lbd.ArtifactError, RuntimeError, OSError) as exc:
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            print(f"{prog}: error: {first}", file=sys.stderr)
            return 2
        print(f"wrote {out} (sha256 {lbd.sha256_file(out)})")
        return 0
    if action == "from-run":
        try:
            path = lbd.submission_from_run(args.run, args.submissions, name=args.name,
                                           method=args.method, submitter=args.submitter,
                                           selected=args.selected)
        except (lbd.LeaderboardError, FileNotFoundError, ValueError) as exc:
            print(f"{prog}: error: {exc}", file=sys.stderr)
            return 2
        print(f"wrote {path}")
        return 0
    try:
        limits = _limits(args)
    except ValueError as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return 2
    if action == "check-pr":
        return _check_pr(args, limits, prog)
    if action == "validate":
        reports = lbd.validate_files(args.files, rerun=not args.no_rerun, limits=limits)
        if args.json:
            print(json.dumps([{"file": str(r.path), "ok": r.ok, "verified": r.verified,
                               "reproduced": r.reproduced,
                               "problems": [{"code": p.code, "message": p.message}
                                            for p in r.problems]} for r in reports]))
        else:
            for r in reports:
                print(lbd.format_report(r))
        rejected = sum(not r.ok for r in reports)
        if rejected and not args.json:
            print(f"{rejected} of {len(reports)} submission(s) rejected", file=sys.stderr)
        return 1 if rejected else 0
    plot = args.scaling_plot
    if plot is None:
        default = Path(args.submissions).parent / "scaling.png"
        plot = default if default.is_file() else None
    try:
        result = lbd.build_site(args.submissions, args.out, scaling_plot=plot,
                                rerun=args.rerun, limits=limits)
    except lbd.SubmissionsRejected as exc:
        print(f"{prog}: {exc}", file=sys.stderr)
        return 1
    except lbd.LeaderboardError as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {result.out / 'index.html'}: {len(result.ranked)} ranked and "
          f"{len(result.unverified)} unverified entries"
          f"{', with the scaling plot' if plot is not None else ''}")
    return 0


def _check_pr(args: argparse.Namespace, limits: Any, prog: str) -> int:
    from persona_gym import leaderboard as lbd

    print(f"{prog}: checking {args.base}...{args.head} in {args.repo}", file=sys.stderr)
    try:
        check = lbd.check_pull_request(args.repo, args.base, args.head, rerun=args.rerun,
                                       limits=limits)
    except lbd.LeaderboardError as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        if args.summary:
            lbd.append_summary(args.summary, lbd.format_failure(str(exc)))
        return 2
    text = lbd.format_summary(check)
    print(text, end="")
    if args.summary:
        lbd.append_summary(args.summary, text)
    return 0 if check.accepted else 1


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
    m.add_argument("--env", type=_env_id, default="persona_gym/OpenChat-v1",
                   help="environment id, any variant (default persona_gym/OpenChat-v1)")
    m.add_argument("--policy", type=_policy, default="drift",
                   help="the policy to wrap (default drift): a reference policy, an ONNX file "
                   "or hf:PATH (text variants)")
    m.add_argument("--episodes", type=_positive_int, default=100,
                   help="episodes per seed (default 100)")
    m.add_argument("--seeds", type=_seed, nargs="+", default=[0, 1, 2],
                   help="evaluation seeds (default 0 1 2)")
    m.add_argument("--modes", default="veto,rerank",
                   help="comma-separated memory modes to compare (default veto,rerank)")
    _sampling_arguments(m)
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
    a.add_argument("--env", type=_env_id, default="persona_gym/OpenChatText-v1",
                   help="a text variant (default persona_gym/OpenChatText-v1)")
    a.add_argument("--layer", type=_positive_int, required=True,
                   help="residual stream after this many blocks (1 .. number of blocks)")
    a.add_argument("--pairs", type=_positive_int, default=64,
                   help="contrast pairs (a quarter held out; default 64)")
    a.add_argument("--episodes", type=_positive_int, default=10,
                   help="episodes per seed for each arm (default 10)")
    a.add_argument("--seeds", type=_seed, nargs="+", default=[0], help="evaluation seeds "
                   "(default 0)")
    a.add_argument("--cap", type=float, default=None,
                   help="cap on the projection (default: --cap-quantile of the persona set)")
    a.add_argument("--cap-quantile", type=float, default=0.9,
                   help="cap at this quantile of the in-character replies' projections "
                   "(default 0.9)")
    a.add_argument("--max-new-tokens", type=_positive_int, default=40,
                   help="generation budget per reply (default 40)")
    a.add_argument("--device", default=None, help="torch device (default: cuda if available)")
    a.add_argument("--out", default=None, help="write the report JSON here")
    a.add_argument("--json", action="store_true", help="print the report JSON")


def cmd_levers(args: argparse.Namespace) -> int:
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
            hf_options = _hf_options(args)
            with _progress(total, f"memory lever on {args.env}") as bar:
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


COMMANDS = {"list": cmd_list, "rollout": cmd_rollout, "play": cmd_play, "judge": cmd_judge,
            "datasets": cmd_datasets, "evaluate": cmd_evaluate, "scale": cmd_scale,
            "demo": cmd_demo, "refscores": cmd_refscores,
            "leaderboard": cmd_leaderboard, "levers": cmd_levers}


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return COMMANDS[args.command](args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
