"""Write the judge check sets (hand-labelled, from held-out Synthetic-Persona-Chat personas) as
JSONL items for ``persona-gym judge FILE --eval``.

The labels live in ``bench/data/judge_check_labels.jsonl`` as references into the SPC
validation CSV (conversation id, speaker, turn), never as text: SPC is CC-BY 4.0 (Jandaghi et
al., 2023) and stays in ../shared/data. Five sets, built like
../shared/data/persona-consistency/dev.jsonl (a speaker's persona and earlier lines, and a line:
the speaker's own, the partner's reaction to the persona, or a line paired with the persona of
another conversation's speaker), labelled by hand for issue 13 from persona *families* (persona
sentences that co-occur in a persona set, linked transitively) that rounds 1-4's learned judge
(a head over embeddings, since removed) was never trained on; since round 5, ``check`` ...
``check4`` train its cross-encoder and ``check5`` is held out:

* ``check`` (240 items, 80 per label, halves A and B): the development set of the judge work
  (rules and the head's threshold were chosen on it);
* ``check2`` (120 items, 40 per label): a fresh held-out set from 9 other families, labelled
  before the final head was trained and used only for the final figures;
* ``check3`` (150 items: 50 contradictions, 52 entailments, 48 neutral; 60 own lines, 44
  partner lines, 46 lines of other conversations): a third held-out set from 10 further
  families (``family_split`` of bench/spc_families.py), labelled and committed before any
  judge was run on it, and measured once, at the end of the second round of judge work;
* ``check4`` (149 items: 51 contradictions, 49 entailments, 49 neutral; 70 own lines, 44
  partner lines, 35 lines of other conversations): a fourth held-out set from 8 further
  families (``family_split``: 1 in 10 of the families that were training families until
  round 3), labelled and committed before any judge was run on it, for round 3's figures.
  Its contradictions follow dev.jsonl's mix (the partner's "I've never ..." / "I've always
  wanted ..." reactions, other speakers' ages, places, jobs, favourites, pets and partners)
  rather than the one-job clashes the earlier sets lean on. Its families also occur in
  dev.jsonl's source conversations (its items do not: lines of dev.jsonl were left out);
* ``check5`` (203 items: 80 contradictions, 43 entailments, 80 neutral; 34 own lines, 32
  partner lines, 137 lines of other conversations; halves A and B are its two pools): a fifth
  held-out set from 8 further families (``family_split``: 1 in 6 of round 3's training
  families), labelled by an annotator who had not seen the judge, its rules or its output
  (only the data README's definitions and dev.jsonl as examples) from two pools of
  references: A, random own lines, partner reactions and other conversations' lines (287
  items, of which 19 contradictions); B, other conversations' first-person lines that speak
  to an attribute of the persona (residence, job, age, family, pets, favourites, food) or
  react to one of its things with "never" / "always wanted" / "hate" (252 items, 86
  contradictions). All 43 entailments and a seeded sample of 80 of each other label were
  kept; ``confidence`` is the annotator's own high / low (39 low). Labelled and committed
  before any judge ran on it, for round 4's figures.
* ``train6`` (781 items: 45 contradictions, 94 entailments, 642 neutral; 200 own lines, 120
  partner lines, 461 lines of other conversations): *training* data, not a check set, drawn by
  ``python bench/judge_label_pool.py --spc ... --dev ... --set train6 --out /tmp/pool6`` from
  the training families (pool A 480 random references, pool B 301 attribute lines paired with a
  persona on the same attribute) and labelled by six annotators who had not seen the judge
  (only the data README's definitions, dev.jsonl and bench/data/judge_label_instructions.md;
  ``confidence`` is theirs, 89 low).
* ``train7`` (1,128 items: 187 contradictions, 82 entailments, 859 neutral; all pool B, lines
  of other conversations on an attribute paired with a persona on the same attribute):
  *training* data, drawn by ``python bench/judge_label_pool.py --spc ... --dev ... --set
  train7 --out /tmp/pool7 --own 0 --partner 0 --other 0 --targeted 2000 --seed 7 --chunk 141
  --families train,check,check2,check3,check4`` (the training families had 3 attribute lines
  left, so the families of the check sets the adapter already trains on were added; ``check5``'s
  never are) and labelled by eight annotators who had not seen the judge, from the same
  instructions (``confidence`` theirs, 147 low). Committed before any judge ran on it.
* ``train8`` (1,200 items: 58 contradictions, 444 entailments (324 against the speaker's own
  earlier lines), 698 neutral; all pool C, the partner's reactions judged against the persona
  and earlier lines of the speaker they react to): *training* data, drawn by ``python
  bench/judge_label_pool.py --spc ... --dev ... --set train8 --out /tmp/pool8 --own 0
  --partner 0 --other 0 --targeted 0 --reactions 1200 --seed 8 --chunk 150 --families
  train,check,check2,check3,check4`` and labelled by eight annotators who had not seen the
  judge, from the same instructions (``confidence`` theirs, 355 low: most are "Me too!" echoes
  whose object is the partner's unseen line). Committed before any judge ran on it.
* ``train9`` (445 items: 98 contradictions, 56 entailments, 291 neutral; all pool D, the round-7
  learned judge's contradictions beyond the rules: 156 own lines, 153 partner lines, 136 lines
  paired with another conversation's persona): *training* data of hard items, drawn by ``python
  bench/judge_label_pool.py --spc ... --dev ... --set train9 --out /tmp/pool9 --own 0 --partner 0
  --other 0 --targeted 0 --flagged 480 --seed 9 --chunk 60 --families
  train,check,check2,check3,check4`` with the round-7 adapter (commit 63dfdbb; the unused lines ran
  out at 445) and labelled by eight annotators who had not seen the judge or been told how the items
  were chosen, from the same instructions (``confidence`` theirs, 146 low). The annotators call 22%
  of the judge's picks contradictions. Committed before any judge was trained on it.
* ``train10`` (600 items: 288 contradictions, 16 entailments, 296 neutral; all pool E: first-person
  attribute lines of the training families, labelled ones too, in new pairings with a persona of
  another conversation on the same attribute, that the round-8 learned judge calls
  contradictions and the rules do not): *training* data, drawn by ``python
  bench/judge_label_pool.py --spc ... --dev ... --set train10 --out /tmp/pool10 --own 0
  --partner 0 --other 0 --targeted 0 --repaired 600 --seed 10 --chunk 75 --families
  train,check,check2,check3,check4`` at commit 744daf1 (the round-8 adapter; the label file
  before ``train10``) and labelled by eight annotators who had not seen the judge or been told
  how the items were chosen (``confidence`` theirs, 215 low). The annotators call 48% of the
  judge's picks contradictions. Committed before any judge was trained on it.
* ``train11`` (800 items: 512 contradictions, 12 entailments, 276 neutral; all pool E again,
  picked by the round-10 judge): *training* data, drawn by ``python bench/judge_label_pool.py
  --spc ... --dev ... --set train11 --out /tmp/pool11 --own 0 --partner 0 --other 0 --targeted 0
  --repaired 800 --pairings 5 --seed 11 --chunk 100 --families train,check,check2,check3,check4``
  at commit 4c583da (the round-10 adapter; the label file before ``train11``) and labelled by
  eight annotators who had not seen the judge or been told how the items were chosen
  (``confidence`` theirs, 288 low). The annotators call 64% of the judge's picks
  contradictions. Committed before any judge was trained on it.
* ``val11`` (400 items: 79 contradictions, 19 entailments, 302 neutral): a *validation* set,
  never trained on (not in bench/train_judge_adapter.py's ``--train-sets``, so it is measured
  after every training): pool F, random same-attribute pairings of the training families'
  attribute lines with other conversations' personas (``check5``'s main kind of item) with no
  judge's filter, drawn by ``python bench/judge_label_pool.py --spc ... --dev ... --set val11
  --out /tmp/val11 --own 0 --partner 0 --other 0 --targeted 0 --paired 400 --pairings 1 --seed
  111 --chunk 50 --families train,check,check2,check3,check4`` at commit dc731b4 and labelled by
  eight annotators who had not seen the judge (``confidence`` theirs, 45 low). For choosing a
  threshold or comparing adapters without a look at ``check5``.
* ``train12`` (800 items: 168 contradictions, 53 entailments, 579 neutral): pool F again, for
  round 12's training (round 11's adapter never saw it): drawn by ``python
  bench/judge_label_pool.py --spc ... --dev ... --set train12 --out /tmp/pool12 --own 0 --partner
  0 --other 0 --targeted 0 --paired 800 --pairings 1 --seed 12 --chunk 100 --families
  train,check,check2,check3,check4`` at commit ead9d27 (``--hold-out val11``: no line or persona
  of ``val11``; 102 of ``val11``'s 400 items have a line that ``train11``, drawn before it,
  pairs with other personas: ``val11-unseen`` is the other 298, written beside the sets) and
  labelled by eight annotators who had not seen the judge
  (``confidence`` theirs, 109 low). Committed before any judge was trained on it; from round 12
  it is training data.
* second labels (round 9): the 737 low-confidence items of ``train6`` ... ``train9`` labelled
  again by eight annotators who saw neither the first label nor any judge
  (``python bench/judge_annotations.py draw ...``, then ``merge``), stored as ``label2``
  (``against2``, ``confidence2``) next to the first. 561 agree (76%); training without the 176
  that do not (bench/train_judge_adapter.py ``--disagreements drop``) was round 9, not shipped.

Figures (macro-F1; contradiction precision / recall) after round 4 (check4's misses were read
for it; check5 was measured once with round 4's rules, 0.665 (1.00 / 0.41), then its misses
were read): ``lexical`` check 0.864, check2 0.852, check3 0.829, check4 0.873, check5 0.711
(0.98 / 0.56). Since round 5 the ``learned`` judge's cross-encoder is *trained* on ``check``
... ``check4`` and the dev set (bench/train_judge_adapter.py), since round 6 on ``train6`` too;
``check5`` is its held-out set: round 5 0.759 (0.74 / 0.88) when measured, round 6 0.819
(0.79 / 0.89; two adapters averaged, questions and greetings neutral), round 7 (``train7`` and
``train8`` added) 0.854 (0.80 / 0.91), round 8 (``train9`` added) 0.865 (0.85 / 0.90), round
10 (``train10`` added) 0.882 (0.88 / 0.94).
docs/metrics.md has the tables of every round.

Run::

    python bench/judge_check_sets.py --spc ../shared/data/spc/Synthetic-Persona-Chat_valid.csv \
        --out /tmp/judge-check
    persona-gym judge /tmp/judge-check/check5.jsonl --eval --json
    persona-gym judge /tmp/judge-check/check5.jsonl --eval --json --judge lexical
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

LABELS_FILE = Path(__file__).parent / "data" / "judge_check_labels.jsonl"


def build(spc: Path, labels: Path = LABELS_FILE) -> dict[str, list[dict]]:
    """The check sets' items by set name (``check`` ... ``check5``, ``train6`` ...,
    ``val11``, ``val11-unseen``)."""
    from persona_gym.logs import read_spc_csv

    convs = {c.id.rsplit("/", 1)[1]: c for c in read_spc_csv(spc)}
    out: dict[str, list[dict]] = {}
    for raw in labels.read_text("utf-8").splitlines():
        ref = json.loads(raw)

        def conv(key: str) -> object:
            return convs[key.rsplit("/", 1)[1]]

        persona = list(conv(ref["persona"]["conv"]).personas[ref["persona"]["speaker"]])
        line_conv = conv(ref["line"]["conv"])
        line = line_conv.turns[ref["line"]["turn"]][1]
        history: list[str] = []
        if ref["history"]:
            h = ref["history"]
            history = [t for s, t in conv(h["conv"]).turns[: h["before_turn"]]
                       if s == h["speaker"]]
        item = {"id": ref["id"], "persona": persona, "history": history, "line": line,
                "label": ref["label"], "half": ref["half"], "source": ref["source"]}
        # the annotator's own "high" / "low"; a second annotator's label of a low one
        for key in ("confidence", "label2"):  # (bench/judge_annotations.py)
            if key in ref:
                item[key] = ref[key]
        out.setdefault(ref["set"], []).append(item)
    # val11 without the items whose line train11 pairs with another persona (derived, not
    # labelled apart): an adapter trained on train11 has seen none of these lines
    seen = {it["line"] for it in out.get("train11", [])}
    out["val11-unseen"] = [it for it in out.get("val11", []) if it["line"] not in seen]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--spc", type=Path, required=True,
                        help="Synthetic-Persona-Chat_valid.csv (../shared/data/spc/)")
    parser.add_argument("--out", type=Path, required=True, help="folder for the JSONL files")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    for name, items in build(args.spc).items():
        path = args.out / f"{name}.jsonl"
        path.write_text("".join(json.dumps(it) + "\n" for it in items), "utf-8")
        print(f"{path}: {len(items)} items")


if __name__ == "__main__":
    main()
