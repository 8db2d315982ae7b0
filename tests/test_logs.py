"""Reading real conversation logs and scoring them as text-variant episodes (persona_gym.logs)."""

from __future__ import annotations

import csv
import json
import math
import re
from collections import Counter
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

import persona_gym  # noqa: F401  (registers the ids)
from persona_gym.cards import load_card, shipped_card_names
from persona_gym.dialogue import Line, LineScores, Move
from persona_gym.envs.variants import MAX_REPLY_CHARS, text_observation
from persona_gym.judges.lexical import LexicalJudge
from persona_gym.judges.symbolic import SymbolicJudge
from persona_gym.logs import (
    OBSERVATION_LIMITS,
    SANITIZE_KEYS,
    Conversation,
    LogFormatError,
    ScoredEpisode,
    read_conversations,
    read_jsonl,
    read_spc_csv,
    sanitize_text,
    score_conversation,
    write_jsonl,
)
from persona_gym.partners import STYLES, Partner
from persona_gym.rng import Stream
from persona_gym.speaker import Speaker
from persona_gym.world import Persona, load_ontology, sample_persona

ROOT = Path(__file__).resolve().parents[1]
SPC_VALID = ROOT.parent / "shared" / "data" / "spc" / "Synthetic-Persona-Chat_valid.csv"
JUDGE = LexicalJudge()
WEIGHTS = load_card("open_chat").reward
SILENT = LineScores(math.nan, math.nan, math.nan, 0.0, 0.0, 0.0, 0.0, 0.0)
ENV = gym.make("persona_gym/OpenChatText-v1")

# A hand-made conversation whose scores follow from docs/metrics.md with the OpenChat weights
# (p2l .4, l2l .3, qa .3, contradiction .5, repetition .5).
CONV = Conversation(
    id="c1",
    personas={
        "A": ("I am a nurse.", "I have a dog."),
        "B": ("I don't have any pets.", "I am 25 years old."),
        "host": (),
    },
    turns=(
        ("host", "Welcome, both of you."),
        ("B", "Hi! What do you do for a living?"),
        ("A", "I'm a nurse, actually."),  # asked the job: consistent answer
        ("B", "Nice. Do you have any pets?"),
        ("A", "Yes, I've got a dog. Do you have any pets?"),  # consistent answer
        ("B", "I have a dog named Rex."),  # persona: no pets -> p2l 0, qa 0
        ("A", "How old are you?"),  # an open remark answered by a question: relevant
        ("B", "I'm 25."),
        ("B", "Well, I'm 42 now."),  # against persona (25) and its own earlier line
    ),
)


def episodes_by_speaker(conv: Conversation = CONV) -> dict[str, ScoredEpisode]:
    return {e.speaker: e for e in score_conversation(conv, JUDGE, WEIGHTS)}


def assert_in_spaces(ep: ScoredEpisode) -> None:
    assert len(ep.observations) == len(ep.actions) + 1
    for obs in ep.observations:
        assert ENV.observation_space.contains(obs), obs
    for action in ep.actions:
        assert ENV.action_space.contains(action), action


# ---------------------------------------------------------------------------------------------
# Scoring
# ---------------------------------------------------------------------------------------------


def test_consistent_speaker_scores_one_per_line() -> None:
    a = episodes_by_speaker()["A"]
    assert a.actions == ["I'm a nurse, actually.", "Yes, I've got a dog. Do you have any pets?",
                         "How old are you?"]
    assert a.moves == ["ask", "ask", "open"]
    assert [s.p2l for s in a.scores[:2]] == [1.0, 1.0] and math.isnan(a.scores[2].p2l)
    assert [s.l2l for s in a.scores[:2]] == [1.0, 1.0] and math.isnan(a.scores[2].l2l)
    assert [s.qa for s in a.scores[:2]] == [1.0, 1.0] and math.isnan(a.scores[2].qa)
    # the question back asserts nothing: it is no evidence of consistency, and earns w.idle
    assert [s.asserted for s in a.scores] == [1.0, 1.0, 0.0]
    assert a.rewards == pytest.approx([1.0, 1.0, WEIGHTS.idle])
    assert a.metrics()["return"] == pytest.approx(2.0 + WEIGHTS.idle)


def test_contradicting_speaker_is_flagged_and_penalised() -> None:
    b = episodes_by_speaker()["B"]
    assert b.moves == ["open", "open", "ask", "ask", "open"]
    pets, age, older = b.scores[2], b.scores[3], b.scores[4]
    # "I have a dog named Rex." against "I don't have any pets." (answering "any pets?")
    assert (pets.p2l, pets.l2l, pets.qa, pets.relevance, pets.contradiction) == (0, 1, 0, 1, 1)
    assert b.rewards[2] == pytest.approx(-WEIGHTS.contradiction) and b.rewards[2] < 0
    assert (age.p2l, age.qa, b.rewards[3]) == (1.0, 1.0, pytest.approx(1.0))
    # "I'm 42 now." against the persona's 25 and against its own "I'm 25."
    assert (older.p2l, older.l2l, older.contradiction) == (0.0, 0.0, 1.0)
    assert b.rewards[4] == pytest.approx(-WEIGHTS.contradiction)
    # questions address open remarks but assert nothing: a small amount each (v1)
    assert b.rewards[:2] == pytest.approx([WEIGHTS.idle, WEIGHTS.idle])


def test_one_episode_per_speaker_with_a_persona_and_a_line() -> None:
    eps = score_conversation(CONV, JUDGE, WEIGHTS)
    assert [e.speaker for e in eps] == ["A", "B"]  # "host" has no persona
    silent = Conversation("c2", {"A": ("I am a nurse.",), "B": ("I have a cat.",)},
                          (("A", "Hello."),))
    assert [e.speaker for e in score_conversation(silent, JUDGE, WEIGHTS)] == ["A"]
    for e in eps:
        assert e.conversation_id == "c1" and e.persona == CONV.personas[e.speaker]
        assert len(e.rewards) == len(e.scores) == len(e.moves) == len(e.actions)


def test_observations_are_the_text_envs() -> None:
    a = episodes_by_speaker()["A"]
    persona = CONV.personas["A"]
    partners = ["Welcome, both of you. Hi! What do you do for a living?",
                "Nice. Do you have any pets?", "I have a dog named Rex."]
    exchanges = list(zip(partners, a.actions, strict=True))
    for t, obs in enumerate(a.observations[:-1]):
        assert obs == text_observation(persona, exchanges[:t], partners[t], [])
    assert a.observations[-1] == text_observation(persona, exchanges, "", [])
    assert a.observations[1] == {
        "persona": "I am a nurse.\nI have a dog.",
        "history": "Partner: Welcome, both of you. Hi! What do you do for a living?\n"
                   "You: I'm a nurse, actually.",
        "partner": "Nice. Do you have any pets?",
        "candidates": "",
    }
    assert set(a.observations[0]) == set(ENV.observation_space.spaces)
    b = episodes_by_speaker()["B"]
    # B speaks twice in a row: the second line answers an empty partner line
    assert b.observations[4]["partner"] == "" and b.observations[5]["partner"] == ""
    assert b.observations[5]["history"].endswith("Partner: How old are you?\nYou: I'm 25.\n"
                                                 "You: Well, I'm 42 now.")
    for e in (a, b):
        assert_in_spaces(e)


def crowd(speakers: int) -> Conversation:
    """One conversation of ``speakers`` speakers, one persona sentence and one line each."""
    return Conversation("crowd", {f"s{i}": (f"I have {i % 5 + 1} cats.",)
                                  for i in range(speakers)},
                        tuple((f"s{i}", f"Line {i}: I like tea.") for i in range(speakers)))


def test_scoring_time_grows_linearly_with_speakers() -> None:
    """Issue 11: 1,000 speakers took 5 s and 8,000 took 93 s. Eight times the speakers must
    cost about eight times the time (quadratic would be 64x; the bound leaves room for noise)."""
    import time

    def seconds(n: int) -> float:
        best = math.inf
        for _ in range(3):
            start = time.perf_counter()
            score_conversation(crowd(n), JUDGE, WEIGHTS)
            best = min(best, time.perf_counter() - start)
        return best

    small, large = seconds(500), seconds(4000)
    assert large / small < 24, (small, large)


def test_many_speakers_see_the_partner_lines_since_their_last_line() -> None:
    eps = score_conversation(crowd(400), JUDGE, WEIGHTS)
    assert len(eps) == 400
    assert eps[0].observations[0]["partner"] == ""
    assert eps[1].observations[0]["partner"] == "Line 0: I like tea."
    late = eps[399].observations[0]["partner"]  # 399 lines joined, cut to the limit
    assert late.startswith("Line 0: I like tea. Line 1: ")
    assert len(late) <= OBSERVATION_LIMITS["partner"] < len(late) + 25
    assert eps[399].sanitized["partner_truncated"] == 1


def test_a_long_speaker_keeps_the_latest_history_quickly() -> None:
    """Thousands of lines by one speaker: each observation keeps the latest exchanges that fit
    (as :func:`test_overlong_history_keeps_the_latest_exchanges`), without rebuilding the
    history once per dropped exchange."""
    import time

    n = 1500
    conv = Conversation("long", {"A": ("I am a nurse.",), "B": ()},
                        tuple(t for i in range(n) for t in (("B", f"Question {i}, how are you "
                                                                  "doing today?"),
                                                           ("A", f"Answer {i}: I am fine."))))
    start = time.perf_counter()
    (ep,) = score_conversation(conv, JUDGE, WEIGHTS)
    assert time.perf_counter() - start < 10
    last = ep.observations[-1]["history"]
    assert len(last) <= OBSERVATION_LIMITS["history"]
    assert last.endswith(f"You: Answer {n - 1}: I am fine.")
    assert ep.sanitized["history_truncated"] == sum(
        len(text_observation(ep.persona, list(zip(
            [f"Question {i}, how are you doing today?" for i in range(k)],
            ep.actions[:k], strict=True)), "")["history"]) > OBSERVATION_LIMITS["history"]
        for k in range(n + 1))


def test_rewards_rescore_from_the_stored_actions() -> None:
    """The dataset's actions, replayed through the judges, give the stored rewards."""
    from persona_gym.logs import JUDGE_HISTORY, TRUSTED_CONTRADICTIONS, judged_scores

    for ep in score_conversation(CONV, JUDGE, WEIGHTS):
        facts = tuple(f for s in ep.persona for f in JUDGE.parse(s).facts if not f.negated)
        sym = SymbolicJudge(JUDGE.ontology, Persona(facts, ep.persona))
        for i, (obs, action, score) in enumerate(zip(ep.observations, ep.actions, ep.scores,
                                                     strict=False)):
            move = JUDGE.parse_move(obs["partner"])
            line = JUDGE.reader.parse(action, move)
            verdict = JUDGE.judge(ep.persona, ep.actions[max(0, i - JUDGE_HISTORY):i], action)
            if verdict.label == "contradiction" and verdict.against not in TRUSTED_CONTRADICTIONS:
                verdict = None
            s = judged_scores(sym.score(move, line), verdict, move, line.act)
            assert s.info() == score.info()
            sym.commit(line, s)


def test_negated_persona_sentence_is_not_read_as_its_opposite() -> None:
    conv = Conversation("soda", {"A": ("I do not drink soda.",), "B": ()},
                        (("B", "Want a soda?"), ("A", "No thanks, I don't drink soda.")))
    (ep,) = score_conversation(conv, JUDGE, WEIGHTS)
    assert ep.scores[0].p2l == 1.0 and ep.scores[0].contradiction == 0.0


def test_open_move_is_addressed_by_any_reply_but_evasion_or_recitation() -> None:
    persona = Persona((), ("I like tea.",))
    sym = SymbolicJudge(load_ontology(), persona)
    move = Move("open", "What a day.")
    for act, relevant in (("answer", 1.0), ("engage", 1.0), ("empathize", 1.0),
                          ("deny_ai", 1.0), ("evade", 0.0), ("recite", 0.0)):
        assert sym.score(move, Line("Sure.", (), act)).relevance == relevant, act


# ---------------------------------------------------------------------------------------------
# Sanitizing
# ---------------------------------------------------------------------------------------------


def test_sanitize_maps_drops_and_counts() -> None:
    counts: Counter[str] = Counter()
    text = "Caf\u00e9 \u2615 \u201cquoted\u201d \ufb01ne\nnext \u0436 cafe\u0301 \u2212 1"
    out = sanitize_text(text, None, counts)
    assert out == "Café  “quoted” fine next  café - 1"
    # mapped: ﬁ, the line break, e + combining accent, the minus sign; dropped: ☕ and ж
    assert counts == Counter({"chars_mapped": 4, "chars_dropped": 2})
    assert sanitize_text("plain text", None, counts) == "plain text"
    assert counts == Counter({"chars_mapped": 4, "chars_dropped": 2})
    long = "word " * 200
    cut = sanitize_text(long, MAX_REPLY_CHARS)
    assert len(cut) <= MAX_REPLY_CHARS and cut.endswith("word")


def test_unfit_text_is_sanitized_into_the_spaces_and_counted() -> None:
    long_line = "I really like long walks on the beach. " * 20  # ~780 characters
    conv = Conversation(
        "messy",
        {"A": ("I am a nurse \U0001f469\u200d\u2695\ufe0f.", "I have a dog."), "B": ()},
        (
            ("B", "Hi \U0001f600! What do you do\nfor a living?"),
            ("A", "I\u2019m a nurse, actually \u2728."),
            ("B", "x" * 1500),
            ("A", long_line),
        ),
    )
    (ep,) = score_conversation(conv, JUDGE, WEIGHTS)
    assert_in_spaces(ep)
    assert ep.persona[0] == "I am a nurse ."
    assert ep.actions[0] == "I\u2019m a nurse, actually ."
    assert ep.moves[0] == "ask" and ep.scores[0].qa == 1.0  # still read after cleaning
    assert ep.observations[0]["partner"] == "Hi ! What do you do for a living?"
    assert len(ep.actions[1]) <= MAX_REPLY_CHARS
    assert len(ep.observations[1]["partner"]) <= OBSERVATION_LIMITS["partner"]
    assert set(ep.sanitized) == set(SANITIZE_KEYS)
    assert ep.sanitized["chars_dropped"] == 4 + 1 + 1  # 4 in the persona emoji, 😀, ✨
    assert ep.sanitized["chars_mapped"] == 1  # the line break
    assert ep.sanitized["actions_truncated"] == 1 and ep.sanitized["partner_truncated"] == 1


def test_overlong_history_keeps_the_latest_exchanges() -> None:
    line = "I like long walks. " * 25  # ~475 characters
    turns = tuple((spk, f"{i} {line}") for i in range(160) for spk in ("B", "A"))
    conv = Conversation("long", {"A": ("I have a dog.",), "B": ()}, turns)
    (ep,) = score_conversation(conv, JUDGE, WEIGHTS)
    assert_in_spaces(ep)
    assert ep.sanitized["history_truncated"] > 0
    last = ep.observations[-1]["history"]
    assert last.endswith(f"You: 159 {line}") and "You: 0 " not in last
    assert len(last) <= OBSERVATION_LIMITS["history"]


def test_observation_limits_are_the_text_envs() -> None:
    spaces = ENV.observation_space.spaces
    assert {k: spaces[k].max_length for k in spaces} == OBSERVATION_LIMITS
    assert ENV.action_space.max_length == MAX_REPLY_CHARS


# ---------------------------------------------------------------------------------------------
# JSONL
# ---------------------------------------------------------------------------------------------


def test_jsonl_round_trip(tmp_path: Path) -> None:
    other = Conversation("c2", {"X": ("I like jazz music.",), "Y": ("Ünïcödé ok.",)},
                         (("Y", "Héllo “there”"), ("X", "Hi! 😀")))
    path = tmp_path / "sub" / "convs.jsonl"
    assert write_jsonl([CONV, other], path) == 2
    assert list(read_jsonl(path)) == [CONV, other]
    assert list(read_conversations(path, "jsonl")) == [CONV, other]
    assert not [p for p in path.parent.iterdir() if p.name != "convs.jsonl"]  # no temp left
    first = json.loads(path.read_text(encoding="utf-8").splitlines()[0])
    assert first["turns"][0] == {"speaker": "host", "text": "Welcome, both of you."}
    assert first["personas"]["host"] == []


def test_documented_jsonl_example_reads(tmp_path: Path) -> None:
    doc = (ROOT / "docs" / "logs.md").read_text(encoding="utf-8")
    example = re.search(r"```json\n(.*?)\n```", doc, re.S)
    assert example is not None
    path = tmp_path / "doc.jsonl"
    path.write_text(example.group(1) + "\n", encoding="utf-8")
    (conv,) = read_jsonl(path)
    assert conv.id == "c1" and conv.personas["host"] == ()
    assert [e.speaker for e in score_conversation(conv, JUDGE, WEIGHTS)] == ["A", "B"]


def _turns(*pairs: tuple[str, str]) -> list[dict[str, str]]:
    return [{"speaker": s, "text": t} for s, t in pairs]


GOOD = {"id": "g", "personas": {"A": ["I am a nurse."], "B": []},
        "turns": _turns(("B", "Hi"), ("A", "Hello"))}


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('{"id": "x", "personas": {', r"invalid JSON .*column"),
        ("[1, 2]", r"expected a JSON object, got list"),
        (json.dumps({"id": "x", "turns": []}), r"missing key\(s\) \['personas'\]"),
        (json.dumps({**GOOD, "id": 3}), r"'id' must be a non-empty string"),
        (json.dumps({**GOOD, "personas": ["I am a nurse."]}), r"'personas' must be an object"),
        (json.dumps({**GOOD, "personas": {"A": "I am a nurse.", "B": []}}),
         r"personas\['A'\] must be a list of strings"),
        (json.dumps({**GOOD, "personas": {"A": ["I am a nurse.", " "], "B": []}}),
         r"blank sentence"),
        (json.dumps({**GOOD, "personas": {"A": [], "B": []}}),
         r"no speaker has persona sentences"),
        (json.dumps({**GOOD, "personas": {}}), r"no speaker has persona sentences"),
        (json.dumps({**GOOD, "turns": []}), r"'turns' must be a non-empty list"),
        (json.dumps({**GOOD, "turns": [{"speaker": "A"}]}),
         r"turns\[0\] must be an object with 'speaker' and 'text'"),
        (json.dumps({**GOOD, "turns": _turns(("A", "Hi"), ("A", "  "))}),
         r"turns\[1\]\.text must be a non-blank string"),
        (json.dumps({**GOOD, "turns": _turns(("A", "Hi"), ("C", "Who?"))}),
         r"turns\[1\] has unknown speaker 'C' .*add it to 'personas'"),
        (json.dumps(GOOD), r"duplicate id 'g' \(first on line 1\)"),
    ],
)
def test_jsonl_bad_input_names_file_line_and_fix(tmp_path: Path, line: str,
                                                 message: str) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps(GOOD) + "\n\n" + line + "\n", encoding="utf-8")
    with pytest.raises(LogFormatError, match=message) as err:
        list(read_jsonl(path))
    assert f"{path}: line 3:" in str(err.value)


def test_missing_files_and_unknown_format(tmp_path: Path) -> None:
    missing = tmp_path / "nope.jsonl"
    with pytest.raises(LogFormatError, match=r"nope\.jsonl: no such file"):
        read_jsonl(missing)
    with pytest.raises(LogFormatError, match=r"nope\.csv: no such file"):
        read_spc_csv(tmp_path / "nope.csv")
    with pytest.raises(LogFormatError, match=r"is a directory"):
        read_conversations(tmp_path, "spc-csv")
    with pytest.raises(LogFormatError, match=r"unknown log format 'csv'.*'spc-csv', 'jsonl'"):
        read_conversations(missing, "csv")
    path = tmp_path / "latin1.jsonl"
    path.write_bytes(b'{"id": "caf\xe9"}\n')
    with pytest.raises(LogFormatError, match=r"line 1: not UTF-8"):
        list(read_jsonl(path))


# ---------------------------------------------------------------------------------------------
# Synthetic-Persona-Chat CSV
# ---------------------------------------------------------------------------------------------

SPC_HEADER = ["user 1 personas", "user 2 personas", "Best Generated Conversation"]


def write_spc(path: Path, rows: list[list[str]], header: list[str] = SPC_HEADER) -> Path:
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    return path


def test_spc_csv_reads_turns_and_repairs_quirks(tmp_path: Path) -> None:
    path = write_spc(tmp_path / "spc_small.csv", [
        ["I am a nurse.\nI have a dog.", "I don't have any pets.\n",
         "User 1: Hi! Do you have any pets?\nUser 2: I have a dog named Rex.\nUser 1: Cool."],
        ["I like tea.", "",
         "*User 1:* Hello there.\n\n*User 2:* Hi!\nI am glad to meet you.\n[Later]\n\n* * *\n"
         "Adam: hey there\n\nAt the park\n\n* User 1: Bye. *\nUser 2:"],
        ["I like dogs.", "I like cats.",
         "Hi there!\nI like dogs.\n\nUser 2: Hello!\nuser 1 : Bye."],
    ])
    stats: Counter[str] = Counter()
    convs = list(read_conversations(path, "spc-csv", stats=stats))
    assert [c.id for c in convs] == ["spc_small/1", "spc_small/2", "spc_small/3"]
    assert convs[0].personas == {"user 1": ("I am a nurse.", "I have a dog."),
                                 "user 2": ("I don't have any pets.",)}
    assert convs[0].turns == (("user 1", "Hi! Do you have any pets?"),
                              ("user 2", "I have a dog named Rex."), ("user 1", "Cool."))
    assert convs[1].personas["user 2"] == ()
    assert convs[1].turns == (("user 1", "Hello there."), ("user 2", "Hi! I am glad to meet you."),
                              ("user 1", "Bye."))
    assert convs[2].turns == (("user 1", "Hi there! I like dogs."), ("user 2", "Hello!"),
                              ("user 1", "Bye."))
    assert stats == Counter({"continuation_lines_joined": 1, "stage_directions_dropped": 2,
                             "separator_lines_dropped": 1, "third_party_lines_dropped": 1,
                             "empty_turns_dropped": 1, "preamble_lines_attributed": 2})
    eps = {e.speaker: e for e in score_conversation(convs[0], JUDGE, WEIGHTS)}
    assert eps["user 2"].scores[0].p2l == 0.0 and eps["user 2"].rewards[0] < 0
    assert not any(s.contradiction for s in eps["user 1"].scores)


@pytest.mark.parametrize(
    ("row", "message"),
    [
        (["I like tea.", "I like jazz.", "  \n"], r"row 2 \(line 3\): the 'Best Generated "
                                                  r"Conversation' cell is empty"),
        (["", " \n", "User 1: Hi"], r"row 2 \(line 3\): both persona cells are empty"),
        (["I like tea.", "", "Hello\nHow are you?"],
         r"row 2 \(line 3\): no line starts with 'User 1:' or 'User 2:' \(first line: 'Hello'\)"),
        (["I like tea.", "", "Hello\nUser 1: Hi"],
         r"row 2 \(line 3\): text before the first 'User 1:' line cannot be attributed: "
         r"'Hello'"),
    ],
)
def test_spc_bad_rows_name_row_and_fix(tmp_path: Path, row: list[str], message: str) -> None:
    path = write_spc(tmp_path / "bad.csv", [["I like tea.", "", "User 1: Hi"], row])
    with pytest.raises(LogFormatError, match=message) as err:
        list(read_spc_csv(path))
    assert str(err.value).startswith(f"{path}: row 2")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"I like tea.,,User 1: Hi\n\"I like \xff dogs.\",,User 1: Hi\n",
         r"bad\.csv: line 3: not UTF-8 \(invalid start byte at byte 9\); save the file as UTF-8"),
        (b"I like tea.,,User 1: Hi\nI like dogs.,,\"User 1: Hi\nUser 2: Yo\n\xe9\nUser 1: ok\"\n",
         r"bad\.csv: line 5: not UTF-8"),
        (b"I like tea.,,User 1: Hi\nI like dogs.,,\"User 1: Hi\nUser 2: Yo\n",
         r"row 2 \(line 3\): a quoted cell opened in this row is never closed"),
        (b"I like tea.,,User 1: Hi\n\"I like dogs.,,\"User 1: Hi\nUser 2: Yo\"\n"
         b"I sing.,,User 1: Hi\n",
         r"row 2 \(line 3\): malformed CSV on line 3 \(',' expected after '\"'\).*double"),
    ],
    ids=["bad-byte-line-3", "bad-byte-inside-a-cell", "unclosed-quote", "stray-quote"],
)
def test_spc_undecodable_or_misquoted_input_names_the_right_line(
    tmp_path: Path, data: bytes, message: str
) -> None:
    """A bad byte is reported on its own line (not line 1); a quote problem as a quote
    problem (not as an empty cell)."""
    path = tmp_path / "bad.csv"
    path.write_bytes(",".join(SPC_HEADER).encode() + b"\n" + data)
    with pytest.raises(LogFormatError, match=message) as err:
        list(read_spc_csv(path))
    assert "cell is empty" not in str(err.value) and "header" not in str(err.value)


def test_spc_reads_lone_carriage_return_line_ends(tmp_path: Path) -> None:
    path = tmp_path / "mac.csv"
    path.write_bytes(b"\xef\xbb\xbf" + ",".join(SPC_HEADER).encode()
                     + b'\rI like tea.,,"User 1: Hi\rUser 2: Yo"\r')
    (conv,) = read_spc_csv(path)
    assert conv.turns == (("user 1", "Hi"), ("user 2", "Yo"))


def test_spc_missing_columns(tmp_path: Path) -> None:
    path = write_spc(tmp_path / "cols.csv", [["a", "b"]], header=["persona", "conversation"])
    with pytest.raises(LogFormatError, match=r"cols\.csv: line 1: the header lacks the column"
                                             r".*'user 1 personas'.*JSONL"):
        list(read_spc_csv(path))


# ---------------------------------------------------------------------------------------------
# Partner moves
# ---------------------------------------------------------------------------------------------


def test_parse_move_reads_the_worlds_questions() -> None:
    onto = load_ontology()
    questions = [(q, r.name) for r in onto.relations.values() for q in r.question]
    right = sum(JUDGE.parse_move(q) == Move("ask", q, rel) for q, rel in questions)
    assert right / len(questions) >= 0.95
    # the looser cues alone (no template lookup) still place most of them
    from persona_gym.judges.lexicon import expand, sentence_key

    loose = sum(JUDGE.reader._question_relation(sentence_key(expand(q)), exact=False) == rel
                for q, rel in questions)
    assert loose / len(questions) >= 0.9


def test_parse_move_reads_simulated_partners() -> None:
    """Every shipped card's partners, with their greetings, acks, probes and false premises."""
    onto = load_ontology()
    right: Counter[str] = Counter()
    total: Counter[str] = Counter()
    for name in shipped_card_names():
        card = load_card(name)
        for seed in range(40):
            rng = Stream(np.random.default_rng(seed))
            persona = sample_persona(onto, rng, "train", card.persona.relations)
            partner = Partner(card.partner, onto, list(STYLES)[seed % len(STYLES)],
                              Speaker(onto, persona), rng)
            move = partner.first_move()
            for _ in range(8):
                got = JUDGE.parse_move(move.text)
                total[move.kind] += 1
                if move.is_question:
                    right[move.kind] += got.kind == "ask" and got.relation == move.relation
                elif move.kind == "small_talk":
                    right[move.kind] += got.kind in ("open", "ask")
                else:
                    right[move.kind] += got.kind == move.kind
                move = partner.next_move((), SILENT)
    for kind in total:
        assert right[kind] / total[kind] >= 0.95, (kind, right[kind], total[kind])
    assert {"ask", "probe", "premise", "meta", "emotional"} <= set(total)


@pytest.mark.parametrize(
    ("text", "kind", "relation"),
    [
        ("do you have any pets?", "ask", "have_pet"),
        ("So, what do you do for work?", "ask", "has_profession"),
        ("That's great! What kind of music do you like to listen to?", "ask", "like_music"),
        ("Do you like to go hiking?", "ask", "has_hobby"),
        ("What kind of dog do you have?", "ask", "have_pet"),
        ("I'm a teacher. What about you?", "ask", "has_profession"),
        ("Where did you grow up?", "ask", "born_in"),
        ("Are you a bot?", "meta", None),
        ("Wait... am I talking to an AI right now?", "meta", None),
        ("Are you a real person?", "meta", None),
        ("I've been so lonely since my divorce.", "emotional", None),
        ("My mom passed away last week.", "emotional", None),
        ("I went to the beach today. It was fun!", "open", None),
        ("Hi, how are you?", "open", None),
        ("What's your name?", "open", None),
        ("Are you a computer programmer?", "open", None),
        ("Are you a real estate agent?", "open", None),
        ("", "open", None),
    ],
)
def test_parse_move_hand_written(text: str, kind: str, relation: str | None) -> None:
    assert JUDGE.parse_move(text) == Move(kind, text, relation)


def test_parse_move_rejects_non_text() -> None:
    with pytest.raises(TypeError, match="must be a string"):
        JUDGE.parse_move(None)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------------
# The real file
# ---------------------------------------------------------------------------------------------


@pytest.mark.skipif(not SPC_VALID.is_file(),
                    reason=f"Synthetic-Persona-Chat validation split not found at {SPC_VALID} "
                           "(development data, not shipped with the project)")
def test_spc_validation_split_reads_scores_and_fits_the_spaces() -> None:
    stats: Counter[str] = Counter()
    convs = list(read_conversations(SPC_VALID, "spc-csv", stats=stats))
    assert len(convs) == 1000 and len({c.id for c in convs}) == 1000
    assert all(len(c.turns) >= 4 for c in convs)
    episodes = [e for c in convs for e in score_conversation(c, JUDGE, WEIGHTS)]
    assert len(episodes) == 2000
    obs_space, act_space = ENV.observation_space, ENV.action_space
    for ep in episodes:
        assert len(ep.observations) == ep.length + 1 and ep.observations[-1]["partner"] == ""
        assert all(obs_space.contains(o) for o in ep.observations), ep.conversation_id
        assert all(act_space.contains(a) for a in ep.actions), ep.conversation_id
    scores = [s for ep in episodes for s in ep.scores]
    assert len(scores) > 25_000
    p2l = np.nanmean([s.p2l for s in scores])  # over the lines that assert something
    l2l = np.nanmean([s.l2l for s in scores])
    assert 0.8 < p2l <= 1.0 and 0.8 < l2l <= 1.0
    flagged = np.mean([s.contradiction for s in scores])
    assert 0 < flagged < 0.05  # mostly in character, some contradictions found
    moves = Counter(m for ep in episodes for m in ep.moves)
    assert moves["ask"] / len(scores) > 0.05 and moves["open"] / len(scores) > 0.5
    rewards = np.array([r for ep in episodes for r in ep.rewards])
    lo, hi = WEIGHTS.line_bounds
    # mostly in character: more earned than lost, but (v1) a line the reader finds no fact in
    # earns only w.idle, and most real lines are such (issue 13: a reader for real text)
    assert np.isfinite(rewards).all() and lo <= rewards.min() and rewards.max() <= hi
    assert 0 < rewards.mean() < 0.5
    assert stats["stage_directions_dropped"] > 0 and stats["continuation_lines_joined"] > 0


# ---------------------------------------------------------------------------------------------
# Issue 13: the text judge gives real logs signal beyond the world's vocabulary
# ---------------------------------------------------------------------------------------------

FREE = Conversation(
    "free", {"A": ("I am a carpenter.", "I like to go sailing."), "B": ()},
    (("B", "Nice weather today."),
     ("A", "It is! I'm a carpenter, so I love days like this for work outside."),
     ("B", "Do you play any games?"),
     ("A", "I've never been sailing, but I'd like to learn."),
     ("B", "What did you have for lunch?"),
     ("A", "Just a sandwich.")),
)


def test_judged_logs_reward_restatements_and_flag_denials() -> None:
    (ep,) = score_conversation(FREE, JUDGE, WEIGHTS)
    restated, denied, idle = ep.scores
    assert (restated.asserted, restated.p2l, restated.contradiction) == (1.0, 1.0, 0.0)
    assert ep.rewards[0] == pytest.approx(1.0)
    assert (denied.p2l, denied.contradiction) == (0.0, 1.0)
    assert ep.rewards[1] == pytest.approx(-WEIGHTS.contradiction)
    assert idle.asserted == 0.0 and ep.rewards[2] == pytest.approx(WEIGHTS.idle)
    # a bare reader sees none of it: "carpenter" and "sailing" are no facts of the world's
    (bare,) = score_conversation(FREE, JUDGE.reader, WEIGHTS)
    assert bare.rewards == pytest.approx([WEIGHTS.idle] * 3)


def test_judged_scores_folds_a_verdict_into_the_metrics() -> None:
    from persona_gym.judges.base import Verdict
    from persona_gym.logs import judged_scores

    nothing = LineScores(math.nan, math.nan, math.nan, 0.0, 0.0, 0.0, 0.0, 0.0)
    ask = Move("ask", "What do you do?", "has_profession")
    ent = judged_scores(nothing, Verdict("entailment", "persona", "I am a carpenter."), ask)
    assert (ent.asserted, ent.p2l, ent.l2l, ent.relevance, ent.capability) == (1, 1, 1, 1, 1)
    assert math.isnan(ent.qa)  # the judge cannot tell which relation it answers
    dodge = judged_scores(nothing, Verdict("entailment", "persona", "x"), ask, "evade")
    assert dodge.relevance == 0.0
    con = judged_scores(nothing, Verdict("contradiction", "history", "I'm 25."), ask)
    assert (con.contradiction, con.l2l, con.p2l, con.qa) == (1.0, 0.0, 1.0, 0.0)
    assert judged_scores(nothing, Verdict("neutral"), ask) == nothing
    assert judged_scores(nothing, None, ask) == nothing
