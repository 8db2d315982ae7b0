"""Mine the lexical judge's single-valued persona attributes (jobs, workplaces, stay-at-home
roles, school grades, kinds of favourite) from Synthetic-Persona-Chat's *training* families, and
write them as a small table shipped with the package (persona_gym/judges/data/).

Source: the conversations of the training families
(:func:`spc_families.training_conversations`: every persona sentence of both speakers in a
training family, none of bench/judge_check_sets.py's held-out families ``check`` ...
``check5``, no conversation a line of dev.jsonl comes from), their persona sentences and lines.
Only the mined words and short phrases are written, with how often each was seen, never
sentences (SPC is CC-BY 4.0, Jandaghi et al., 2023, and stays in ../shared/data).

What is mined, by pattern on the expanded, lower-cased text:

* ``jobs``: the noun phrase (one to three words) after a context that makes it an occupation:
  "I work as a X", "my job is a X", "I'm a X by trade", "I'm a retired X", "I used to be a X",
  "I want to be a X", "my dad is a X", "I'm a X at a hospital / school / bank ..."; kept when
  its last word is an agent noun (-er, -or, -ist, -ian, -ant, -ent, -man, -woman, -ess, -eer)
  or names a job of persona_gym.judges.lexicon's occupation groups, and is not one of a few
  agent nouns that name a stage or a pastime (``lexicon.NOT_JOBS``: "economics major",
  "mountain biker", found that way in these sources). A job is mined here, not
  asserted: the judge still needs "I am a X" / "I work as a X" in the line.
* ``workplaces``: X in "I work at / in a X" (up to three words);
* ``stay_at_home``: Y in "stay-at-home Y" / "stay at home Y";
* ``grades``: the ordinal in "I am in the N grade" / "I'm a Nth grader";
* ``favorite_kinds``: K in "my favorite K is V" (singular K: "my favorite colors are ..." names
  several) that a persona sentence states or that two sources give different V for (so "my
  favorite part is ...", about whatever was just said, stays out), with the number of
  different V seen; values are not kept: the judge compares any two.

The output is deterministic (sorted; counts only) and records its provenance (source file
hash, conversations, families, command) in ``persona_values.provenance.json`` next to it.

    python bench/mine_persona_values.py --spc ../shared/data/spc/Synthetic-Persona-Chat_valid.csv \
        --dev ../shared/data/persona-consistency/dev.jsonl --out persona_gym/judges/data
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter, defaultdict
from pathlib import Path

NP = r"(?P<x>(?:[a-z-]+ ){0,2}?[a-z-]+)"
END = (r"(?=\s*(?:[.,!;?]|$|\b(?:and|at|in|for|but|with|so|who|because|by|on|from|since|now"
       r"|too|when|if|to)\b))")
JOB_CONTEXTS = {
    "work_as": rf"\bi (?:currently |still |now |also )?(?:work|am working|have been working|worked"
               rf"|started working|got a job|started a new job|have a job|had a job) as "
               rf"(?:an?|the) {NP}{END}",
    "job_is": rf"\bmy (?:new |first |day |full-time )?job (?:is being|is|as) (?:an?|the) {NP}{END}",
    "by_trade": rf"\bi am an? {NP} by (?:trade|profession)",
    "retired": rf"\b(?:i am|i was) an? retired {NP}{END}",
    "used_to_be": rf"\bi used to (?:be|work as) an? {NP}{END}",
    "want_to_be": rf"\bi (?:want|wanted|hope|plan|dream) to (?:be|become) an? {NP}{END}",
    "kin": rf"\bmy (?:father|dad|mother|mom|husband|wife|brother|sister|son|daughter) "
           rf"(?:is|was|works as) an? {NP}{END}",
    "at_work": rf"\bi am an? {NP} (?:at|for) (?:an?|the|my) (?:local )?(?:hospital|school|bank"
               rf"|restaurant|company|firm|store|shop|clinic|hotel|library|factory|office"
               rf"|university|college|bakery|bar|museum|zoo|farm)\b",
}
WORKPLACE = re.compile(rf"\bi (?:currently |still |now )?work (?:at|in) (?:an?|the|my) "
                       rf"(?:local )?(?P<x>(?:[a-z-]+ ){{0,2}}?[a-z-]+){END}")
STAY = re.compile(r"\bstay(?:-| )at(?:-| )home (?P<x>[a-z]+)")
GRADE = re.compile(r"\bi am in (?:the )?(?P<x>[a-z0-9]+) grade\b|\bi am an? (?P<y>[a-z0-9]+) "
                   r"grader\b")
FAVORITE = re.compile(r"\bmy (?:absolute |all-time |all time )?favou?rite (?P<k>[a-z]+(?: [a-z]+)?)"
                      r" is (?P<v>[a-z][a-z' -]*?)(?=\s*(?:[.,!;?]|$|\b(?:and|but|because"
                      r"|so|since)\b))")


def mine(texts: list[str], persona: list[str], known_jobs: set[str]) -> dict:
    """The table from expanded, lower-cased ``texts`` (all sources) and ``persona`` (the
    persona sentences among them), module docs."""
    from persona_gym.judges.lexicon import AGENT_NOUN, NOT_JOBS

    jobs: dict[str, Counter] = defaultdict(Counter)
    for t in texts:
        for name, rx in JOB_CONTEXTS.items():
            for m in re.finditer(rx, t):
                phrase = m.group("x")
                head = phrase.split()[-1]
                if head in NOT_JOBS:
                    continue
                if AGENT_NOUN.search(head) or head in known_jobs or phrase in known_jobs:
                    jobs[phrase][name] += 1
    places = Counter(m.group("x") for t in texts for m in WORKPLACE.finditer(t))
    stay = Counter(m.group("x") for t in texts for m in STAY.finditer(t))
    grades = Counter(m.group("x") or m.group("y") for t in texts for m in GRADE.finditer(t))
    stated = {m.group("k") for t in persona for m in FAVORITE.finditer(t)}
    values: dict[str, set[str]] = defaultdict(set)
    for t in texts:
        if "one of my favorite" in t:
            continue
        for m in FAVORITE.finditer(t):
            values[m.group("k")].add(m.group("v").removeprefix("a ").removeprefix("the "))
    return {
        "jobs": {p: sum(c.values()) for p, c in sorted(jobs.items())},
        "workplaces": dict(sorted(places.items())),
        "stay_at_home": dict(sorted(stay.items())),
        "grades": dict(sorted(grades.items())),
        "favorite_kinds": {k: len(v) for k, v in sorted(values.items())
                           if (not k.endswith("s") or k.endswith("ss"))
                           and (len(v) >= 2 or k in stated)},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--spc", type=Path, required=True,
                        help="Synthetic-Persona-Chat_valid.csv (../shared/data/spc/)")
    parser.add_argument("--dev", type=Path, default=None,
                        help="dev.jsonl, read only to leave out the conversations it came from")
    parser.add_argument("--out", type=Path, required=True, help="folder for the table")
    args = parser.parse_args()
    sys.path.insert(0, str(Path(__file__).parent))
    from spc_families import sha256, training_conversations

    from persona_gym.judges import lexicon
    from persona_gym.logs import read_spc_csv

    convs = list(read_spc_csv(args.spc))
    train, counts = training_conversations(convs, args.dev)
    persona = {p for c in train for ps in c.personas.values() for p in ps}
    lines = {t for c in train for _, t in c.turns}
    texts = sorted({lexicon.expand(t) for t in persona | lines})
    table = mine(texts, sorted({lexicon.expand(p) for p in persona}),
                 set(lexicon.BASE_OCCUPATION))
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / "persona_values.json"
    path.write_text(json.dumps(table, indent=1, sort_keys=True) + "\n", "utf-8")
    provenance = {
        "what": "single-valued persona attributes mined for persona_gym.judges.lexicon",
        "command": "python bench/mine_persona_values.py " + " ".join(sys.argv[1:]),
        "spc": {"file": args.spc.name, "sha256": sha256(args.spc),
                "license": "CC-BY 4.0, Jandaghi et al. 2023 (arXiv:2312.10007)", **counts},
        "texts": {"persona_sentences": len(persona), "lines": len(lines)},
        "dev_used_for": "leaving out the conversations its lines come from, nothing else"
                        if args.dev else "not given",
        "table_sha256": sha256(path),
        "entries": {k: len(v) for k, v in table.items()},
    }
    (args.out / "persona_values.provenance.json").write_text(
        json.dumps(provenance, indent=2) + "\n", "utf-8")
    print(json.dumps(provenance, indent=2))


if __name__ == "__main__":
    main()
