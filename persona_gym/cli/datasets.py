"""``persona-gym datasets``: build, list, inspect, verify and import Minari datasets."""

from __future__ import annotations

import argparse
import json
import sys

from persona_gym.cli._common import known_env_id, positive_int, progress_bar, seed_number
from persona_gym.datasets import TIERS
from persona_gym.evaluation import format_value
from persona_gym.logs import FORMATS


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``datasets`` command to ``sub``."""
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
    b.add_argument("--env", type=known_env_id, required=True, help="environment id (any variant)")
    b.add_argument("--tier", choices=TIERS, required=True,
                   help="behaviour policy: random, drift, expert, or mixed (a third each)")
    b.add_argument("--episodes", type=positive_int, required=True, help="conversations to log")
    b.add_argument("--seed", type=seed_number, default=0, help="seed of episode 0 (default 0)")
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
    imp.add_argument("--format", choices=FORMATS, required=True,
                     help="spc-csv (Synthetic-Persona-Chat) or jsonl (docs/logs.md)")
    imp.add_argument("--judge", choices=("lexical",), default="lexical",
                     help="the judge that reads the lines (lexical)")
    imp.add_argument("--name", default=None,
                     help="dataset name (default: the file name); id persona_gym/logs/NAME-v1")
    imp.add_argument("--force", action="store_true", help="replace an existing dataset")
    imp.add_argument("--json", action="store_true",
                     help="print {dataset_id, episodes, transitions, sanitized} as JSON")


def run(args: argparse.Namespace) -> int:
    """Run ``persona-gym datasets`` as parsed into ``args``; the exit code."""
    import time

    from persona_gym import datasets as D

    def fail(message: str, code: int = 2) -> int:
        print(f"persona-gym datasets: error: {message}", file=sys.stderr)
        return code

    action = args.datasets_command
    try:
        if action == "build":
            start = time.perf_counter()
            with progress_bar(args.episodes, f"{args.tier} on {args.env}") as bar:
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
                    f"{k} {format_value(v)}" for k, v in info["metrics"].items()))
        elif action == "verify":
            with progress_bar(None, f"verify {args.dataset_id}") as bar:
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
