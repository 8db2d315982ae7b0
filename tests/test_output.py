"""Output files: the destination is checked before the work and written whole or not at all."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from persona_gym.output import DestinationError, check_destination, write_atomically


def test_writable_destinations_pass_and_leave_nothing(tmp_path: Path) -> None:
    assert check_destination(tmp_path / "new.json") == tmp_path / "new.json"
    (tmp_path / "old.json").write_text("old")
    assert check_destination(tmp_path / "old.json") == tmp_path / "old.json"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["old.json"]  # the probe is gone


@pytest.mark.parametrize(
    ("make", "words"),
    [(lambda d: d / "sub", "is a folder; give a file name"),
     (lambda d: d / "missing" / "r.json", "does not exist; create it first (mkdir -p"),
     (lambda d: d / "file.txt" / "r.json", "is not a folder"),
     (lambda d: Path(os.devnull), "exists and is not a regular file")],
    ids=["folder", "missing-folder", "file-as-folder", "device"],
)
def test_unwritable_destinations_name_the_fix(tmp_path: Path, make: Callable[[Path], Path],
                                             words: str) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "file.txt").write_text("x")
    with pytest.raises(DestinationError, match=words.replace("(", r"\(")):
        check_destination(make(tmp_path))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file.txt", "sub"]


def test_write_replaces_whole_and_keeps_the_mode(tmp_path: Path) -> None:
    out = tmp_path / "r.jsonl"
    out.write_text("old\n")
    out.chmod(0o640)
    write_atomically(out, (f"line {i}\n" for i in range(3)))
    assert out.read_text() == "line 0\nline 1\nline 2\n"
    assert out.stat().st_mode & 0o777 == 0o640
    assert [p.name for p in tmp_path.iterdir()] == ["r.jsonl"]


def test_a_failure_midway_leaves_the_old_file_and_no_part(tmp_path: Path) -> None:
    out = tmp_path / "r.jsonl"
    out.write_text("old\n")

    def rows() -> Iterator[str]:
        yield "new\n"
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        write_atomically(out, rows())
    assert out.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["r.jsonl"]


def test_a_link_is_followed_not_replaced(tmp_path: Path) -> None:
    target = tmp_path / "real.json"
    target.write_text("old")
    link = tmp_path / "link.json"
    link.symlink_to(target)
    assert check_destination(link) == target
    write_atomically(link, "new")
    assert link.is_symlink() and target.read_text() == "new"
