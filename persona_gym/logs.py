"""Real conversation logs: read them, and score them as episodes of the text variant.

Offline RL from logs (DESIGN.md §8): a logged conversation becomes one episode per speaker who
has persona sentences. That speaker is the *agent* (each of its lines is an action of the text
variant, ``persona_gym/{Domain}Text-v1``), its persona sentences are the persona, and everyone
else is the partner. Rewards and per-line scores come from the judges, as the text env scores
free text: :meth:`~persona_gym.judges.reader.TextReader.parse_move` reads the partner's move,
:meth:`~persona_gym.judges.reader.TextReader.parse` reads the facts and the dialogue act of each
line as the answer to that move, :class:`~persona_gym.judges.symbolic.SymbolicJudge` scores, and
:func:`~persona_gym.rewards.line_reward` prices the scores. Real personas are free text, mostly
outside the world's vocabulary, so a text judge (:class:`~persona_gym.judges.base.TextJudge`,
the rule judge by default) also compares each line with the persona sentences and the
speaker's recent lines: :func:`judged_scores` lets its contradictions and entailments count
(docs/logs.md, "What the scores can see").

Two input formats (``fmt`` of :func:`read_conversations`):

* ``"spc-csv"``: Synthetic-Persona-Chat (Jandaghi et al. 2023, CC-BY 4.0) CSV files — columns
  ``user 1 personas``, ``user 2 personas`` (newline-separated sentences) and ``Best Generated
  Conversation`` (lines ``User 1: ...`` / ``User 2: ...``); :func:`read_spc_csv` lists how it
  reads the generator's quirks;
* ``"jsonl"``: the project's own format, one conversation per line, documented in docs/logs.md
  (:func:`read_jsonl`, :func:`write_jsonl`).

Real text may not fit the text variant's spaces; :func:`sanitize_text` maps what it can into
:data:`~persona_gym.envs.variants.TEXT_CHARSET` and truncates, and every change is counted in
:attr:`ScoredEpisode.sanitized` (keys :data:`SANITIZE_KEYS`) so an importer can report them.

Bad input raises :class:`LogFormatError`, which names the file, the row or line and the fix.
"""

from __future__ import annotations

import csv
import json
import math
import os
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import accumulate
from pathlib import Path
from typing import Any

from persona_gym.cards import RewardWeights
from persona_gym.dialogue import Move
from persona_gym.envs.variants import MAX_REPLY_CHARS, TEXT_CHARSET, text_observation
from persona_gym.judges.base import TextJudge, Verdict
from persona_gym.judges.lexical import LexicalJudge
from persona_gym.judges.reader import TextReader
from persona_gym.judges.symbolic import LineScores, SymbolicJudge
from persona_gym.output import write_atomically
from persona_gym.rewards import episode_metrics, line_reward
from persona_gym.world import Fact, Persona

__all__ = [
    "FORMATS",
    "OBSERVATION_LIMITS",
    "SANITIZE_KEYS",
    "SPC_COLUMNS",
    "SPC_READ_KEYS",
    "Conversation",
    "LogFormatError",
    "ScoredEpisode",
    "conversation_to_json",
    "judged_scores",
    "read_conversations",
    "read_jsonl",
    "read_spc_csv",
    "sanitize_text",
    "score_conversation",
    "write_jsonl",
]

FORMATS = ("spc-csv", "jsonl")
"""The ``fmt`` values :func:`read_conversations` accepts."""

SPC_COLUMNS = ("user 1 personas", "user 2 personas", "Best Generated Conversation")
"""The columns a Synthetic-Persona-Chat CSV must have."""

OBSERVATION_LIMITS = {"persona": 4096, "history": 65536, "partner": 1024, "candidates": 8192}
"""``max_length`` of each ``Text`` field of the text variant's observation space (a test checks
that these equal the env's)."""

SANITIZE_KEYS = (
    "chars_mapped",
    "chars_dropped",
    "actions_truncated",
    "partner_truncated",
    "persona_sentences_dropped",
    "history_truncated",
)
"""Counts in :attr:`ScoredEpisode.sanitized`: characters outside the charset replaced by an
equivalent (NFKC/NFKD, line breaks and tabs by a space) or dropped; agent lines cut to
:data:`~persona_gym.envs.variants.MAX_REPLY_CHARS`; partner lines cut to the observation's
``partner`` limit; persona sentences left out to fit the ``persona`` limit; observations whose
oldest exchanges were left out to fit the ``history`` limit."""

SPC_READ_KEYS = (
    "continuation_lines_joined",
    "preamble_lines_attributed",
    "stage_directions_dropped",
    "third_party_lines_dropped",
    "separator_lines_dropped",
    "empty_turns_dropped",
)
"""Counts :func:`read_spc_csv` adds to its ``stats`` counter (see its docstring)."""


class LogFormatError(ValueError):
    """A log file is missing or malformed; the message names the file, the row or line, and
    the fix."""


@dataclass(frozen=True)
class Conversation:
    """One logged conversation.

    ``personas`` maps every speaker to its persona sentences (an empty tuple for a speaker
    without one, who is never scored as the agent); ``turns`` are ``(speaker, text)`` in order,
    every speaker a key of ``personas``.
    """

    id: str
    personas: dict[str, tuple[str, ...]]
    turns: tuple[tuple[str, str], ...]


# ---------------------------------------------------------------------------------------------
# Synthetic-Persona-Chat CSV
# ---------------------------------------------------------------------------------------------

_SPC_LABEL = re.compile(
    r"^\s*(?P<deco>[*_]+\s*)?user\s*(?P<n>[12])\s*[*_]*\s*:\s*[*_]*\s*(?P<text>.*)$", re.IGNORECASE
)
_TRAILING_DECO = re.compile(r"\s*[*_]+\s*$")
_SEPARATOR = re.compile(r"^[\s*_=~#-]+$")
_STAGE = re.compile(r"^\s*(?:\[[^\]]*\]?|\([^)]*\)|\*[^*]+\*|_[^_]+_)\s*$")
_HEADING = re.compile(r"^(?:\w+\s+){0,3}\w+$")  # "At the gym", "7pm", "20 minutes later"
_THIRD_PARTY = re.compile(r"^\s*[*_]*\s*(?!user\s*\d)[A-Z][\w.'-]*(?: [A-Z][\w.'-]*)?\s*[*_]*:"
                          r"\s+\S")


def _missing_file(path: Path, what: str) -> LogFormatError:
    if path.is_dir():
        return LogFormatError(f"{path}: is a directory; pass the path of {what} file")
    return LogFormatError(f"{path}: no such file; check the path (it should name {what} file)")


def read_spc_csv(path: str | os.PathLike[str], *,
                 stats: Counter[str] | None = None) -> Iterator[Conversation]:
    """Conversations from a Synthetic-Persona-Chat CSV file, one per data row.

    Speakers are ``"user 1"`` and ``"user 2"``; their personas are the newline-separated,
    non-blank sentences of the ``user 1 personas`` / ``user 2 personas`` cells (one of them may
    be empty). Conversation ids are ``"{file stem}/{row}"``, rows numbered from 1 after the
    header. The ``Best Generated Conversation`` cell is read line by line:

    * ``User 1: text`` / ``User 2: text`` starts a turn; case, spacing and markdown emphasis
      around the label are ignored (``*User 1:* Hi``, ``* User 2: Hello! *``); a label with no
      text is dropped (``empty_turns_dropped``);
    * blank lines are skipped, separator lines (``* * *``, ``---``) dropped
      (``separator_lines_dropped``), and whole-line stage directions in brackets, parentheses or
      emphasis (``[A few minutes later]``) and scene headings (a paragraph of at most four words
      without punctuation: ``At the gym``, ``20 minutes later``) are dropped
      (``stage_directions_dropped``);
    * a line labelled with another name (``Adam: You too.``; SPC has two speakers) is dropped
      (``third_party_lines_dropped``);
    * any other line continues the turn before it and is joined to it with a space
      (``continuation_lines_joined``), as in multi-paragraph turns;
    * unlabelled lines before the first label are User 1's opening when the first label is
      ``User 2`` (SPC conversations open with User 1; ``preamble_lines_attributed``); otherwise
      they are an error.

    ``stats``, if given, receives those counts (keys :data:`SPC_READ_KEYS`). Raises
    :class:`LogFormatError` for a missing file, missing columns, an empty conversation cell, a
    row where neither user has a persona, or unlabelled text that cannot be attributed.
    """
    p = Path(path)
    if not p.is_file():
        raise _missing_file(p, "a Synthetic-Persona-Chat CSV")
    counts: Counter[str] = Counter() if stats is None else stats
    return _read_spc(p, counts)


_LONE_CR = re.compile(rb"(?<=\r)(?!\n)")


def _decoded_lines(p: Path) -> Iterator[str]:
    """The lines of ``p`` as text for :mod:`csv`, line ends kept (``\\r``, ``\\n`` and
    ``\\r\\n`` all end a line, as ``open(newline="")`` reads them), decoded one line at a time
    so that a byte that is not UTF-8 is reported on its own line. A BOM on line 1 is dropped."""
    number = 0
    with p.open("rb") as f:
        for raw in f:
            for piece in _LONE_CR.split(raw) if b"\r" in raw else (raw,):
                if not piece:
                    continue
                number += 1
                try:
                    yield piece.decode("utf-8-sig" if number == 1 else "utf-8")
                except UnicodeDecodeError as e:
                    raise LogFormatError(f"{p}: line {number}: not UTF-8 ({e.reason} at byte "
                                         f"{e.start + 1}); save the file as UTF-8") from None


def _read_spc(p: Path, counts: Counter[str]) -> Iterator[Conversation]:
    reader = csv.DictReader(_decoded_lines(p), strict=True)
    try:
        header = reader.fieldnames
    except csv.Error as e:
        raise LogFormatError(f"{p}: line 1: cannot read the CSV header ({e}); the file must "
                             "be a UTF-8 CSV with a header row") from None
    missing = [c for c in SPC_COLUMNS if c not in (header or ())]
    if missing:
        raise LogFormatError(
            f"{p}: line 1: the header lacks the column(s) {missing} (found "
            f"{list(header or [])}); a Synthetic-Persona-Chat CSV needs {list(SPC_COLUMNS)}"
            " — for other logs convert them to the JSONL format (docs/logs.md)"
        )
    row = 0
    start = reader.line_num + 1
    while True:
        where = f"{p}: row {row + 1} (line {start})"
        try:
            record = next(reader)
        except StopIteration:
            return
        except csv.Error as e:
            if "unexpected end of data" in str(e):
                raise LogFormatError(
                    f"{where}: a quoted cell opened in this row is never closed (the file "
                    "ends inside it); add the closing quote, and double every quote inside a "
                    'quoted cell ("")'
                ) from None
            raise LogFormatError(
                f"{where}: malformed CSV on line {reader.reader.line_num} ({e}); quote cells "
                'that hold commas or line breaks and double every quote inside them ("")'
            ) from None
        row += 1
        start = reader.line_num + 1
        yield _spc_conversation(record, where, f"{p.stem}/{row}", counts)


def _paragraph(lines: Sequence[str], i: int) -> bool:
    """Whether ``lines[i]`` stands alone between blank lines (or the cell's ends)."""
    return (i == 0 or not lines[i - 1]) and (i + 1 == len(lines) or not lines[i + 1])


def _spc_conversation(record: dict[str, Any], where: str, conv_id: str,
                      counts: Counter[str]) -> Conversation:
    personas: dict[str, tuple[str, ...]] = {}
    for n in ("1", "2"):
        cell = record.get(f"user {n} personas") or ""
        personas[f"user {n}"] = tuple(s.strip() for s in cell.splitlines() if s.strip())
    if not any(personas.values()):
        raise LogFormatError(f"{where}: both persona cells are empty; give at least one user "
                             "persona sentences or remove the row")
    text = record.get("Best Generated Conversation") or ""
    if not text.strip():
        raise LogFormatError(f"{where}: the 'Best Generated Conversation' cell is empty; "
                             "remove the row")
    turns: list[list[str]] = []  # [speaker, text]
    preamble: list[str] = []
    lines = [raw.strip() for raw in text.splitlines()]
    for i, line in enumerate(lines):
        if not line:
            continue
        m = _SPC_LABEL.match(line)
        if m is not None:
            said = m.group("text")
            if m.group("deco"):
                said = _TRAILING_DECO.sub("", said)
            said = said.strip()
            if not said:
                counts["empty_turns_dropped"] += 1
                continue
            speaker = f"user {m.group('n')}"
            if not turns and preamble:
                if speaker != "user 2":
                    raise LogFormatError(
                        f"{where}: text before the first 'User 1:' line cannot be attributed: "
                        f"{preamble[0][:80]!r}; start the conversation with 'User 1:' or "
                        "'User 2:' or delete that text"
                    )
                turns.append(["user 1", " ".join(preamble)])
                counts["preamble_lines_attributed"] += len(preamble)
                preamble = []
            turns.append([speaker, said])
        elif _SEPARATOR.match(line):
            counts["separator_lines_dropped"] += 1
        elif _STAGE.match(line) or (_HEADING.match(line) and _paragraph(lines, i)):
            counts["stage_directions_dropped"] += 1
        elif _THIRD_PARTY.match(line):
            counts["third_party_lines_dropped"] += 1
        elif turns:
            turns[-1][1] = f"{turns[-1][1]} {line}"
            counts["continuation_lines_joined"] += 1
        else:
            preamble.append(line)
    if not turns:
        shown = preamble[0][:80] if preamble else text.strip()[:80]
        raise LogFormatError(
            f"{where}: no line starts with 'User 1:' or 'User 2:' (first line: {shown!r}); "
            "label each turn with its speaker or remove the row"
        )
    return Conversation(conv_id, personas, tuple((s, t) for s, t in turns))


# ---------------------------------------------------------------------------------------------
# JSONL
# ---------------------------------------------------------------------------------------------

_JSONL_FIX = "see docs/logs.md for the format"


def read_jsonl(path: str | os.PathLike[str]) -> Iterator[Conversation]:
    """Conversations from a JSONL file in the project's format (docs/logs.md), one per line.

    Each non-blank line is an object with ``id`` (a non-empty string, unique in the file),
    ``personas`` (speaker -> list of persona sentences; ``[]`` for a speaker without one; at
    least one speaker needs a sentence) and ``turns`` (a non-empty list of ``{"speaker": ...,
    "text": ...}``, every speaker a key of ``personas``, every text non-blank). Other keys are
    ignored. Raises :class:`LogFormatError` naming the file, the line and the fix.
    """
    p = Path(path)
    if not p.is_file():
        raise _missing_file(p, "a JSONL conversation")
    return _read_jsonl(p)


def _read_jsonl(p: Path) -> Iterator[Conversation]:
    seen: dict[str, int] = {}
    with p.open("rb") as f:
        for lineno, raw in enumerate(f, start=1):
            where = f"{p}: line {lineno}"
            try:
                line = raw.decode("utf-8-sig" if lineno == 1 else "utf-8")
            except UnicodeDecodeError as e:
                raise LogFormatError(f"{where}: not UTF-8 ({e.reason} at byte {e.start}); "
                                     "save the file as UTF-8") from None
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as e:
                raise LogFormatError(
                    f"{where}: invalid JSON ({e.msg} at column {e.colno}); each line must be "
                    f"one JSON object, {_JSONL_FIX}"
                ) from None
            conv = _conversation_from_json(obj, where)
            if conv.id in seen:
                raise LogFormatError(f"{where}: duplicate id {conv.id!r} (first on line "
                                     f"{seen[conv.id]}); give every conversation its own id")
            seen[conv.id] = lineno
            yield conv


def _conversation_from_json(obj: Any, where: str) -> Conversation:
    if not isinstance(obj, dict):
        raise LogFormatError(f"{where}: expected a JSON object, got {type(obj).__name__}; "
                             f"{_JSONL_FIX}")
    missing = [k for k in ("id", "personas", "turns") if k not in obj]
    if missing:
        raise LogFormatError(f"{where}: missing key(s) {missing}; every line needs 'id', "
                             f"'personas' and 'turns', {_JSONL_FIX}")
    conv_id = obj["id"]
    if not isinstance(conv_id, str) or not conv_id.strip():
        raise LogFormatError(f"{where}: 'id' must be a non-empty string, got {conv_id!r}; "
                             'write it in quotes, e.g. "id": "c1"')
    raw_personas = obj["personas"]
    if not isinstance(raw_personas, dict):
        raise LogFormatError(f"{where}: 'personas' must be an object mapping each speaker to a "
                             f'list of sentences, e.g. {{"A": ["I am a nurse."], "B": []}}')
    personas: dict[str, tuple[str, ...]] = {}
    for speaker, sentences in raw_personas.items():
        if not isinstance(sentences, list) or not all(isinstance(s, str) for s in sentences):
            raise LogFormatError(f"{where}: personas[{speaker!r}] must be a list of strings "
                                 f"(use [] for a speaker without a persona)")
        if any(not s.strip() for s in sentences):
            raise LogFormatError(f"{where}: personas[{speaker!r}] holds a blank sentence; "
                                 "remove it")
        personas[speaker] = tuple(sentences)
    if not any(personas.values()):
        raise LogFormatError(f"{where}: no speaker has persona sentences (personas: "
                             f"{raw_personas!r}); give the speaker to score at least one "
                             "sentence")
    raw_turns = obj["turns"]
    if not isinstance(raw_turns, list) or not raw_turns:
        raise LogFormatError(f"{where}: 'turns' must be a non-empty list of "
                             '{"speaker": ..., "text": ...} objects')
    turns: list[tuple[str, str]] = []
    for i, turn in enumerate(raw_turns):
        if not isinstance(turn, dict) or "speaker" not in turn or "text" not in turn:
            raise LogFormatError(f"{where}: turns[{i}] must be an object with 'speaker' and "
                                 f"'text', got {turn!r}")
        speaker, text = turn["speaker"], turn["text"]
        if not isinstance(text, str) or not text.strip():
            raise LogFormatError(f"{where}: turns[{i}].text must be a non-blank string, got "
                                 f"{text!r}; drop the turn or give its text")
        if not isinstance(speaker, str) or speaker not in personas:
            raise LogFormatError(
                f"{where}: turns[{i}] has unknown speaker {speaker!r} (personas has "
                f"{sorted(personas)}); add it to 'personas' (with [] if it has no persona) or "
                "fix the name"
            )
        turns.append((speaker, text))
    return Conversation(conv_id, personas, tuple(turns))


def conversation_to_json(conv: Conversation) -> dict[str, Any]:
    """``conv`` as the JSON object of one line of the JSONL format."""
    return {
        "id": conv.id,
        "personas": {speaker: list(s) for speaker, s in conv.personas.items()},
        "turns": [{"speaker": speaker, "text": text} for speaker, text in conv.turns],
    }


def write_jsonl(conversations: Iterable[Conversation], path: str | os.PathLike[str]) -> int:
    """Write ``conversations`` in the JSONL format (UTF-8, one per line); returns how many.

    Written with :func:`persona_gym.output.write_atomically` (a temporary file renamed into
    place), so a failure leaves no half-written file.
    """
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    n = 0

    def lines() -> Iterator[str]:
        nonlocal n
        for conv in conversations:
            yield json.dumps(conversation_to_json(conv), ensure_ascii=False) + "\n"
            n += 1

    write_atomically(p, lines())
    return n


def read_conversations(path: str | os.PathLike[str], fmt: str, *,
                       stats: Counter[str] | None = None) -> Iterator[Conversation]:
    """Conversations from ``path`` in format ``fmt`` (one of :data:`FORMATS`).

    ``stats`` receives :func:`read_spc_csv`'s repair counts (the JSONL reader repairs nothing).
    """
    if fmt == "spc-csv":
        return read_spc_csv(path, stats=stats)
    if fmt == "jsonl":
        return read_jsonl(path)
    raise LogFormatError(f"{path}: unknown log format {fmt!r}; use one of {list(FORMATS)}")


# ---------------------------------------------------------------------------------------------
# Sanitizing
# ---------------------------------------------------------------------------------------------

_ALLOWED = frozenset(TEXT_CHARSET)
_SPACE_LIKE = frozenset("\n\r\t\x0b\x0c\x85\u2028\u2029")
_EXTRA_MAP = {"\u2212": "-", "\u2192": "->", "\u2190": "<-", "\u21d2": "=>", "\u2764": "<3",
              "\u2665": "<3", "\u00d7": "x"}


@lru_cache(maxsize=4096)
def _map_char(c: str) -> str | None:
    """An in-charset replacement for a character outside it, or None to drop it."""
    if c in _SPACE_LIKE:
        return " "
    for form in ("NFKC", "NFKD"):
        s = unicodedata.normalize(form, c)
        s = "".join(ch for ch in s if not unicodedata.combining(ch))
        if s and all(ch in _ALLOWED and ch not in _SPACE_LIKE for ch in s):
            return s
    return _EXTRA_MAP.get(c)


def _truncate(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` characters, at a space when one is near the end."""
    cut = text[:limit]
    space = cut.rfind(" ")
    if space >= limit * 0.8:
        cut = cut[:space]
    return cut.rstrip()


def sanitize_text(text: str, limit: int | None = None,
                  counts: Counter[str] | None = None) -> str:
    """``text`` made valid for the text variant's spaces.

    Characters outside :data:`~persona_gym.envs.variants.TEXT_CHARSET` are replaced by their
    compatibility (NFKC) or decomposed-without-accents (NFKD) form when that is in the charset,
    line breaks and tabs by a space (one observation line per utterance), a few symbols by
    ASCII (``−`` -> ``-``, ``→`` -> ``->``), and the rest dropped (emoji, other scripts). A text
    over ``limit`` characters is cut, at a space near the end if there is one. ``counts``, if
    given, gets ``chars_mapped`` and ``chars_dropped`` added (truncation is counted by the
    caller, who knows what was cut).
    """
    if not (set(text) <= _ALLOWED and not _SPACE_LIKE.intersection(text)):
        out: list[str] = []
        mapped = dropped = 0
        composed = unicodedata.normalize("NFC", text)  # "e" + combining accent -> "é"
        if composed != text:
            mapped += max(1, len(text) - len(composed))
            text = composed
        for c in text:
            if c in _ALLOWED and c not in _SPACE_LIKE:
                out.append(c)
                continue
            r = _map_char(c)
            if r is None:
                dropped += 1
            else:
                mapped += 1
                out.append(r)
        text = "".join(out)
        if counts is not None:
            counts["chars_mapped"] += mapped
            counts["chars_dropped"] += dropped
    if limit is not None and len(text) > limit:
        text = _truncate(text, limit)
    return text


# ---------------------------------------------------------------------------------------------
# Scoring
# ---------------------------------------------------------------------------------------------


@dataclass
class ScoredEpisode:
    """One speaker's side of a logged conversation, as an episode of the text variant.

    ``observations`` has ``T + 1`` entries (before each of the ``T`` agent lines, then the
    final one with an empty ``partner``), built with
    :func:`~persona_gym.envs.variants.text_observation` and no candidate hints. ``actions`` are
    the agent's lines after :func:`sanitize_text` (what was scored); ``rewards``, ``scores`` and
    ``moves`` (the partner move kind before each line) align with them. ``sanitized`` counts
    every change made to fit the spaces (keys :data:`SANITIZE_KEYS`).
    """

    conversation_id: str
    speaker: str
    persona: tuple[str, ...]
    observations: list[dict[str, str]]
    actions: list[str]
    rewards: list[float]
    scores: list[LineScores]
    moves: list[str]
    sanitized: dict[str, int] = field(default_factory=lambda: dict.fromkeys(SANITIZE_KEYS, 0))

    @property
    def length(self) -> int:
        """The number of agent lines ``T``."""
        return len(self.actions)

    def metrics(self) -> dict[str, float]:
        """Episode means of the metrics plus ``return`` and ``length``
        (:func:`~persona_gym.rewards.episode_metrics`)."""
        return episode_metrics(self.scores, self.rewards)


def _persona_sentences(sentences: Sequence[str], counts: Counter[str]) -> tuple[str, ...]:
    """Sanitized, non-blank persona sentences that fit the observation's ``persona`` field."""
    kept: list[str] = []
    size = -1
    for s in sentences:
        s = sanitize_text(s, None, counts).strip()
        if not s:
            continue
        if size + 1 + len(s) > OBSERVATION_LIMITS["persona"]:
            counts["persona_sentences_dropped"] += 1
            continue
        kept.append(s)
        size += 1 + len(s)
    return tuple(kept)


def _observation(persona: tuple[str, ...], exchanges: list[tuple[str, str]], partner: str,
                 counts: Counter[str], start: int = 0) -> tuple[dict[str, str], int]:
    """:func:`text_observation`, leaving out the oldest exchanges if the history is too long;
    also returns how many were left out. ``start`` is how many a shorter prefix of the same
    ``exchanges`` left out: a longer history cannot keep more, so the search starts there."""
    obs = text_observation(persona, exchanges[start:], partner, [])
    while len(obs["history"]) > OBSERVATION_LIMITS["history"]:
        start += 1
        obs = text_observation(persona, exchanges[start:], partner, [])
    if start:
        counts["history_truncated"] += 1
    return obs, start


def _partner_line(texts: Sequence[str], first: int, end: int, next_said: Sequence[int]) -> str:
    """The non-empty ``texts[first:end]`` joined by a space, but only as far as the first
    ``OBSERVATION_LIMITS["partner"] + 1`` characters (what :func:`_truncate` reads), so that a
    long stretch of other speakers costs no more than the limit. ``next_said[i]`` is the first
    index >= i with a non-empty text."""
    limit = OBSERVATION_LIMITS["partner"]
    parts: list[str] = []
    size = -1
    i = next_said[first]
    while i < end and size <= limit:
        parts.append(texts[i])
        size += 1 + len(texts[i])
        i = next_said[i + 1]
    return " ".join(parts)


JUDGE_HISTORY = 12
"""How many of the speaker's latest lines the text judge compares a line with."""

TRUSTED_CONTRADICTIONS = frozenset({"persona"})
"""Which of a text judge's contradictions count in imported logs: those against the persona.
On the SPC validation split about half of the rule judge's contradictions with the persona were
real, and only about one in eight of those with the speaker's own earlier lines (reactions,
wishes and tastes it reads as denials), so the latter are left to the symbolic judge's ``l2l``
(docs/logs.md)."""


def judged_scores(scores: LineScores, verdict: Verdict | None, move: Move,
                  act: str = "answer") -> LineScores:
    """``scores`` (the symbolic judge's, from the facts the reader found) with a text judge's
    ``verdict`` on the same line folded in:

    * ``contradiction`` against the persona sets ``p2l = 0``, against an earlier line
      ``l2l = 0``; the line then asserts something (``asserted = 1``), is a contradiction and,
      answering a question, a wrong answer (``qa = 0``);
    * ``entailment`` of a line the reader found nothing in: it asserts something consistent
      (``asserted = 1``, ``p2l`` = ``l2l`` = 1); after a question it addresses the move
      unless its ``act`` is ``evade`` or ``recite`` (a real speaker restating their persona
      after a question is answering it in words the reader cannot place), and ``qa`` stays
      undefined (the judge cannot tell which relation it answers); after other moves its
      relevance is the symbolic judge's (by the act);
    * ``neutral`` (or no verdict) changes nothing.
    """
    if verdict is None or verdict.label == "neutral":
        return scores
    s = scores._asdict()
    if verdict.label == "contradiction":
        s["asserted"] = s["contradiction"] = 1.0
        if verdict.against == "history":
            s["l2l"] = 0.0
            s["p2l"] = 1.0 if math.isnan(s["p2l"]) else s["p2l"]
        else:
            s["p2l"] = 0.0
            s["l2l"] = 1.0 if math.isnan(s["l2l"]) else s["l2l"]
        if move.is_question:
            s["qa"] = 0.0
    elif not s["asserted"]:
        s["asserted"] = s["p2l"] = s["l2l"] = 1.0
        if move.is_question and act not in ("evade", "recite"):
            s["relevance"] = 1.0
    s["capability"] = s["relevance"] * s["asserted"]
    return LineScores(**s)


def score_conversation(conv: Conversation, reader: TextReader | LexicalJudge,
                       weights: RewardWeights, judge: TextJudge | None = None
                       ) -> list[ScoredEpisode]:
    """One :class:`ScoredEpisode` per speaker of ``conv`` with persona sentences and at least
    one line, in the order of ``conv.personas``.

    ``reader`` reads the texts; ``judge`` (any :class:`~persona_gym.judges.base.TextJudge`)
    compares each line with X's persona sentences and X's latest :data:`JUDGE_HISTORY` lines,
    and its verdict is folded into the scores (:func:`judged_scores`; of its contradictions only
    those in :data:`TRUSTED_CONTRADICTIONS`). Passing a
    :class:`~persona_gym.judges.lexical.LexicalJudge` as ``reader`` makes it both: its reader
    reads and it judges (unless ``judge`` is given). With a bare reader and no ``judge``, only
    the world's facts count. For speaker ``X`` as the agent: the persona is ``Persona(facts
    read by reader.parse from each sentence, the sentences)`` (a denial such as "I do not drink
    soda" is kept as a negated fact, which the symbolic judge treats as a denial) — scored by a
    fresh
    :class:`~persona_gym.judges.symbolic.SymbolicJudge`. Before each of X's lines the partner
    line is everything the other speakers said since X's previous line, joined by a space (""
    when X speaks first or twice in a row); its move is ``reader.parse_move(partner line)``,
    the line is ``reader.parse(X's line, move)``, its scores ``judged_scores(sym.score(move,
    line), judge verdict, move)``, its reward
    :func:`~persona_gym.rewards.line_reward`, and then the line is committed to X's history.
    What others say after X's last line is not part of X's episode. All texts are sanitized
    first (:func:`sanitize_text`), so the stored actions are exactly what was scored.
    """
    if isinstance(reader, LexicalJudge):
        judge = reader if judge is None else judge
        reader = reader.reader
    texts: list[str] = []
    turns_of: dict[str, list[int]] = {}
    turn_counts: list[Counter[str]] = []
    for i, (speaker, text) in enumerate(conv.turns):
        c: Counter[str] = Counter()
        texts.append(sanitize_text(text, None, c))
        turn_counts.append(c)
        turns_of.setdefault(speaker, []).append(i)
    next_said = [len(texts)] * (len(texts) + 1)
    for i in range(len(texts) - 1, -1, -1):
        next_said[i] = i if texts[i] else next_said[i + 1]
    # What sanitizing changed in turns 0 .. i-1, for each i (an agent's episode counts every
    # turn up to its last line: its own and the partner lines it saw).
    keys = sorted({k for c in turn_counts for k in c})
    changed_before = {k: list(accumulate((c[k] for c in turn_counts), initial=0)) for k in keys}
    episodes: list[ScoredEpisode] = []
    for agent, sentences in conv.personas.items():
        own_turns = turns_of.get(agent)
        if not sentences or not own_turns:
            continue
        counts: Counter[str] = Counter()
        kept = _persona_sentences(sentences, counts)
        if not kept:
            continue
        facts: dict[Fact, None] = {}
        for s in kept:
            facts.update(dict.fromkeys(reader.parse(s).facts))
        persona = Persona(tuple(facts), kept)
        sym = SymbolicJudge(reader.ontology, persona)
        observations: list[dict[str, str]] = []
        actions: list[str] = []
        rewards: list[float] = []
        scores: list[LineScores] = []
        moves: list[str] = []
        exchanges: list[tuple[str, str]] = []
        dropped = 0  # oldest exchanges left out of the history
        previous = -1
        for turn in own_turns:
            partner = _partner_line(texts, previous + 1, turn, next_said)
            previous = turn
            if len(partner) > OBSERVATION_LIMITS["partner"]:
                partner = _truncate(partner, OBSERVATION_LIMITS["partner"])
                counts["partner_truncated"] += 1
            action = texts[turn]
            if len(action) > MAX_REPLY_CHARS:
                action = _truncate(action, MAX_REPLY_CHARS)
                counts["actions_truncated"] += 1
            obs, dropped = _observation(kept, exchanges, partner, counts, dropped)
            observations.append(obs)
            move = reader.parse_move(partner)
            line = reader.parse(action, move)
            s = sym.score(move, line)
            if judge is not None and action.strip():
                verdict = judge.judge(kept, actions[-JUDGE_HISTORY:], action)
                if (verdict.label == "contradiction"
                        and verdict.against not in TRUSTED_CONTRADICTIONS):
                    verdict = None
                s = judged_scores(s, verdict, move, line.act)
            sym.commit(line, s)
            actions.append(action)
            scores.append(s)
            rewards.append(line_reward(s, weights))
            moves.append(move.kind)
            exchanges.append((partner, action))
        observations.append(_observation(kept, exchanges, "", counts, dropped)[0])
        for k in keys:
            counts[k] += changed_before[k][previous + 1]
        sanitized = dict.fromkeys(SANITIZE_KEYS, 0)
        sanitized.update({k: v for k, v in counts.items() if k in sanitized})
        episodes.append(ScoredEpisode(conv.id, agent, kept, observations, actions, rewards,
                                      scores, moves, sanitized))
    return episodes
