"""Draw a pool of Synthetic-Persona-Chat references for hand labelling (training data for the
learned judge), from *training* persona families (bench/spc_families.py; ``--families`` adds
those of the check sets the adapter already trains on, never ``check5``'s), never from a line
of dev.jsonl's source conversations or of an already labelled item.

Two pools like check5's (bench/judge_check_sets.py), and four more:

* ``A``: random own lines (with the speaker's earlier lines as history), partner lines (the
  partner's reaction, judged against the persona as if its owner said it) and lines of other
  conversations paired with a persona;
* ``B``: first-person lines of other conversations that speak to an attribute (where one lives,
  job, age, family, pets, favourites, food, "never" / "always wanted" / "hate" reactions),
  paired with a persona that has a sentence on the same attribute, so contradictions are not
  rare;
* ``C`` (``--reactions``, round 7): the partner's first-person reactions that speak to an
  attribute or echo one ("I've never had hummus", "I've always wanted to go", "I love jazz
  too!"), judged against the persona and earlier lines of the speaker they react to, as if
  that speaker said them: dev.jsonl's "partner reaction" contradictions, and entailments;
* ``D`` (``--flagged``, round 8): the shipped learned judge's own mistakes, or hits, where it
  disagrees with the rules (so the pool depends on the shipped adapter): references of pool A's
  three kinds (own line, partner line, a line paired with another conversation's persona, in turn)
  that the learned judge calls contradictions and the rules do not. Logs showed the judge
  over-calling there (docs/metrics.md, "Round 7"), so these are the hard neutral items a precise
  judge must learn from. Lines of bench/judge_log_flags.py's default sample are left out, so that
  measurement stays unseen.
* ``E`` (``--repaired``, round 10): pool B's pairing again, over every first-person attribute
  line of the training families, labelled ones included (only the pairing is new, never one
  already labelled), each with up to ``--pairings`` (default 3) fresh same-attribute personas
  of other conversations; kept, like pool D, where the shipped learned judge calls a
  contradiction and the rules do not. The held-out ``check5`` is mostly such pairings, and the
  judge's contradictions there are less precise than issue 13 asks (docs/metrics.md, "Round
  8"). Pool D's log sample is left out too.
* ``F`` (``--paired``, round 11): pool E's pairings as they come, without the judge's filter:
  ``check5``'s kind of item in its natural mix of labels, for a validation set kept out of
  training (choosing a threshold or comparing adapters without a look at ``check5``).

Writes ``refs.jsonl`` (references into the CSV, no text and no labels: the format of
bench/data/judge_check_labels.jsonl without ``label``) and ``chunk-NN.txt`` files that show
each item's text to an annotator (the instructions annotators get:
bench/data/judge_label_instructions.md). Seeded: the same arguments give the same pool.

    python bench/judge_label_pool.py --spc ../shared/data/spc/Synthetic-Persona-Chat_valid.csv \
        --dev ../shared/data/persona-consistency/dev.jsonl --set train6 --out /tmp/pool6
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
from pathlib import Path
from typing import Any

ATTRIBUTES = {
    "home": r"\bi live\b|\bi(?:'m| am) from\b|\bi grew up\b|"
            r"\bmy (?:house|apartment|farm|town|city)\b",
    "job": r"\bi work\b|\bi(?:'m| am) an? (?:\w+ )?(?:teacher|nurse|doctor|engineer|chef|writer|"
           r"student|lawyer|artist|musician|mechanic|accountant|manager|farmer|pilot|officer|"
           r"driver|designer|programmer|developer|scientist|librarian|cashier|waitress|waiter)\b|"
           r"\bmy job\b|\bretired\b",
    "age": r"\bi(?:'m| am) \d+\b|\byears old\b",
    "family": r"\bmy (?:wife|husband|son|daughter|kids?|children|mom|mother|dad|father|"
              r"brother|sister|boyfriend|girlfriend|parents)\b|\bi(?:'m| am) (?:married|single|"
              r"divorced)\b",
    "pets": r"\bmy (?:dog|cat|pets?|fish|horse|bird|parrot|hamster|snake)s?\b|\bi have an? "
            r"(?:dog|cat|fish|horse|bird|parrot|hamster|snake)",
    "favourite": r"\bfavou?rite\b",
    "food": r"\bvegan\b|\bvegetarian\b|\bi (?:love|like|hate) (?:to )?(?:eat|cook)|\ballergic\b",
    "reaction": r"\bi(?:'ve| have) never\b|\bi(?:'ve| have) always wanted\b|\bi hate\b|"
                r"\bi don't like\b|\bi can't\b",
}
_ATTR = {k: re.compile(v, re.IGNORECASE) for k, v in ATTRIBUTES.items()}
_ECHO = re.compile(r"\btoo\b|\balso\b|\bme neither\b|\bsame here\b", re.IGNORECASE)
_FIRST_PERSON = re.compile(r"\b(?:i|i'm|i've|my|me)\b", re.IGNORECASE)


def attributes(text: str) -> set[str]:
    return {k for k, rx in _ATTR.items() if rx.search(text)}


def flagged(args: argparse.Namespace, lines: list, personas: list, used: set,
            rng: random.Random) -> list[tuple[tuple, tuple]]:
    """Pool D's candidates: the unused ``lines`` as an own line, a partner line or a line
    paired with another conversation's persona in turn, as ``(add arguments, (persona,
    history, line))``."""
    logged = _logged(args.spc)
    todo = []
    for n, (c, i, s, t) in enumerate(lines):
        if (c.id, i) in used or (c.id, i) in logged:
            continue
        kind = ("own-line", "partner-line", "other-persona")[n % 3]
        if kind == "own-line":
            who = s if c.personas.get(s) else None
        elif kind == "partner-line":
            who = next((o for o in c.personas if o != s and c.personas[o]), None)
        else:
            conv, who = rng.choice([p for p in personas if p[0].id != c.id])
        if who is None:
            continue
        if kind == "other-persona":
            todo.append(((kind, conv, who, c, i, False), (list(conv.personas[who]), [], t)))
        else:
            history = [x for y, x in c.turns[:i] if y == who]
            todo.append(((kind, c, who, c, i, True), (list(c.personas[who]), history, t)))
    return todo


def repaired(args: argparse.Namespace, train: list, by_attr: dict, pairs: set,
             rng: random.Random, held_lines: set[tuple[str, int]] = frozenset(),
             held_personas: set[tuple[str, str]] = frozenset()) -> list[tuple[tuple, tuple]]:
    """Pool E's candidates: every first-person attribute line of the training conversations
    (labelled ones too: only the pairing is new) paired ``args.pairings`` times, like pool B,
    with a persona of another conversation that has a sentence on the same attribute, never a
    pairing already labelled or drawn (``pairs``: (persona conversation, speaker, line
    conversation, turn)), nor a line (conversation, turn) or persona (conversation, speaker)
    of a held-out set."""
    logged = _logged(args.spc) | held_lines
    pairs = set(pairs)
    todo = []
    for _ in range(args.pairings):
        for c in train:
            for i, (_, t) in enumerate(c.turns):
                found = sorted(attributes(t))
                if (c.id, i) in logged or len(t.split()) < 3 or not found or \
                        not _FIRST_PERSON.search(t):
                    continue
                choices = [p for p in by_attr[rng.choice(found)] if p[0].id != c.id
                           and (p[0].id, p[1], c.id, i) not in pairs
                           and (p[0].id, p[1]) not in held_personas]
                if choices:
                    conv, who = rng.choice(choices)
                    pairs.add((conv.id, who, c.id, i))
                    todo.append((("other-persona", conv, who, c, i, False),
                                 (list(conv.personas[who]), [], t)))
    rng.shuffle(todo)
    return todo


def _logged(spc: Path) -> set[tuple[str, int]]:
    """The lines of bench/judge_log_flags.py's default sample (left out of pools D and E, so
    that measurement stays unseen)."""
    from judge_log_flags import SAMPLE, SEED, log_sample

    return {ref for ref, _ in log_sample(spc, SAMPLE, random.Random(SEED))[1]}


def judge_flags(todo: list[tuple[tuple, tuple]], half: str, left: int, add: Any) -> None:
    """``add`` (as ``half``) the first ``left`` candidates of ``todo`` that the shipped learned
    judge calls contradictions and its rules do not."""
    from tqdm import tqdm

    from persona_gym.judges.learned import LearnedJudge

    judge = LearnedJudge()
    bar = tqdm(total=left, desc=f"pool {half}: judge contradictions beyond the rules",
               unit="item")
    for start in range(0, len(todo), 256):
        batch = todo[start:start + 256]
        triples = [triple for _, triple in batch]
        verdicts = judge.judge_many(triples, judge.probabilities(triples))
        for (ref, triple), verdict in zip(batch, verdicts, strict=True):
            if left and verdict.label == "contradiction" and \
                    judge.rules.judge(*triple).label == "neutral":
                add(half, *ref)
                left -= 1
                bar.update()
        if not left:
            break
    bar.close()


def write_chunks(refs: list[dict], convs: list, out: Path, chunk: int) -> None:
    """Write ``refs`` (label-file references) as ``out/chunk-NN.txt`` files of ``chunk`` items
    each, showing an annotator each item's persona, the speaker's earlier lines and the line
    (no label)."""
    by_id = {c.id: c for c in convs}
    for n in range(0, len(refs), chunk):
        text = []
        for r in refs[n:n + chunk]:
            p = by_id[r["persona"]["conv"]].personas[r["persona"]["speaker"]]
            lc = by_id[r["line"]["conv"]]
            hist = [] if r["history"] is None else [
                t for s, t in lc.turns[: r["history"]["before_turn"]]
                if s == r["history"]["speaker"]]
            text.append(f"### {r['id']}\nPERSONA:\n" + "".join(f"  - {x}\n" for x in p)
                        + "HISTORY (the speaker's own earlier lines, oldest first):\n"
                        + ("".join(f"  - {x}\n" for x in hist) or "  (none)\n")
                        + f"LINE: {lc.turns[r['line']['turn']][1]}\n")
        (out / f"chunk-{n // chunk:02d}.txt").write_text("\n".join(text), "utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--spc", type=Path, required=True,
                        help="Synthetic-Persona-Chat_valid.csv (../shared/data/spc/)")
    parser.add_argument("--dev", type=Path, required=True,
                        help="dev.jsonl (../shared/data/persona-consistency/)")
    parser.add_argument("--set", required=True, help="name of the labelled set, e.g. train6")
    parser.add_argument("--out", type=Path, required=True, help="folder for refs and chunks")
    parser.add_argument("--own", type=int, default=200, help="pool A own lines")
    parser.add_argument("--partner", type=int, default=120, help="pool A partner lines")
    parser.add_argument("--other", type=int, default=160, help="pool A other conversations")
    parser.add_argument("--targeted", type=int, default=720, help="pool B lines")
    parser.add_argument("--reactions", type=int, default=0,
                        help="pool C lines: the partner's reactions (default 0)")
    parser.add_argument("--flagged", type=int, default=0,
                        help="pool D lines: the learned judge's contradictions beyond the rules "
                             "(default 0; needs persona-gym[minilm])")
    parser.add_argument("--repaired", type=int, default=0,
                        help="pool E lines: attribute lines (labelled ones too) in new pairings "
                        "with a same-attribute persona that the learned judge calls "
                        "contradictions beyond the rules (default 0; needs persona-gym[minilm])")
    parser.add_argument("--paired", type=int, default=0,
                        help="pool F lines: pool E's pairings without the judge's filter, for a "
                             "validation set (default 0)")
    parser.add_argument("--pairings", type=int, default=3,
                        help="pools E and F: new personas paired with each attribute line, one "
                             "per pass (default 3, round 10's)")
    parser.add_argument("--chunk", type=int, default=150, help="items per annotator chunk")
    parser.add_argument("--seed", type=int, default=6)
    parser.add_argument("--hold-out", default="val11",
                        help="comma-separated labelled sets whose lines and personas pools E "
                             "and F never draw (default val11, the validation set; '' for "
                             "none: rounds 10 and 11 drew before it existed)")
    parser.add_argument("--families", default="train",
                        help="comma-separated family splits to draw from (default train; the "
                             "check sets already trained on, check..check4, may be added: "
                             "round 7 did; check5 is refused)")
    args = parser.parse_args()
    splits = tuple(args.families.split(","))
    if "check5" in splits:
        parser.error("--families must not include check5: it is the held-out set")

    sys.path.insert(0, str(Path(__file__).parent))
    from judge_check_sets import LABELS_FILE
    from spc_families import training_conversations

    from persona_gym.logs import read_spc_csv

    convs = list(read_spc_csv(args.spc))
    train, _ = training_conversations(convs, args.dev, splits)
    done, pairs, held_lines, held_personas = set(), set(), set(), set()
    hold_out = set(filter(None, args.hold_out.split(",")))
    for raw in LABELS_FILE.read_text("utf-8").splitlines():
        ref = json.loads(raw)
        if ref["set"] in hold_out:
            held_lines.add((ref["line"]["conv"], ref["line"]["turn"]))
            held_personas.add((ref["persona"]["conv"], ref["persona"]["speaker"]))
        done.add((ref["line"]["conv"], ref["line"]["turn"]))
        pairs.add((ref["persona"]["conv"], ref["persona"]["speaker"], ref["line"]["conv"],
                   ref["line"]["turn"]))
    rng = random.Random(args.seed)
    lines = [(c, i, s, t) for c in train for i, (s, t) in enumerate(c.turns)
             if (c.id, i) not in done and len(t.split()) >= 3]
    rng.shuffle(lines)
    personas = [(c, s) for c in train for s, p in c.personas.items() if p]
    refs: list[dict] = []
    used: set[tuple[str, int]] = set()

    def add(half: str, source: str, conv: object, speaker: str, c: object, i: int,
            history: bool) -> None:
        used.add((c.id, i))
        refs.append({"id": f"{args.set}-{len(refs) + 1:04d}", "set": args.set, "half": half,
                     "source": source, "persona": {"conv": conv.id, "speaker": speaker},
                     "line": {"conv": c.id, "turn": i},
                     "history": {"conv": c.id, "speaker": speaker, "before_turn": i}
                     if history else None})

    quota = {"own-line": args.own, "partner-line": args.partner, "other-persona": args.other}
    for c, i, s, _ in lines:
        if (c.id, i) in used:
            continue
        if quota["own-line"]:
            quota["own-line"] -= 1
            add("A", "own-line", c, s, c, i, True)
        elif quota["partner-line"]:
            other = next((o for o in c.personas if o != s and c.personas[o]), None)
            if other is not None:
                quota["partner-line"] -= 1
                add("A", "partner-line", c, other, c, i, True)
        elif quota["other-persona"]:
            conv, speaker = rng.choice([p for p in personas if p[0].id != c.id])
            quota["other-persona"] -= 1
            add("A", "other-persona", conv, speaker, c, i, False)
    by_attr: dict[str, list] = {k: [] for k in ATTRIBUTES}
    for conv, speaker in personas:
        for k in set().union(*(attributes(p) for p in conv.personas[speaker])):
            by_attr[k].append((conv, speaker))
    left = args.targeted
    for c, i, _, t in lines:
        if not left:
            break
        found = sorted(attributes(t))
        if (c.id, i) in used or not found or not _FIRST_PERSON.search(t):
            continue
        choices = [p for p in by_attr[rng.choice(found)] if p[0].id != c.id]
        if choices:
            conv, speaker = rng.choice(choices)
            add("B", "other-persona", conv, speaker, c, i, False)
            left -= 1
    left = args.reactions
    for c, i, s, t in lines:
        if not left:
            break
        if (c.id, i) in used or not _FIRST_PERSON.search(t) or not (
                attributes(t) or _ECHO.search(t)):
            continue
        other = next((o for o in c.personas if o != s and c.personas[o]), None)
        if other is not None:
            add("C", "partner-line", c, other, c, i, True)
            left -= 1
    if args.flagged:
        judge_flags(flagged(args, lines, personas, used, rng), "D", args.flagged, add)
    held = held_lines, held_personas
    if args.repaired:
        judge_flags(repaired(args, train, by_attr, pairs, rng, *held), "E", args.repaired, add)
    if args.paired:
        for ref, _ in repaired(args, train, by_attr, pairs, rng, *held)[:args.paired]:
            add("F", *ref)
    rng.shuffle(refs)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "refs.jsonl").write_text("".join(json.dumps(r) + "\n" for r in refs), "utf-8")
    write_chunks(refs, convs, args.out, args.chunk)
    counts = {h: sum(r["half"] == h for r in refs) for h in "ABCDEF"}
    print(f"{len(refs)} references ({counts}) from {len(train)} training conversations "
          f"into {args.out}")


if __name__ == "__main__":
    main()
