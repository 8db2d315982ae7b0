"""Output files: the destination is checked before the work and written whole or not at all."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from persona_gym.output import (
    DestinationError,
    check_destination,
    file_written_atomically,
    folder_written_atomically,
    replace_folder,
    write_atomically,
)


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


def test_a_file_written_by_name_lands_whole_with_the_mode_asked(tmp_path: Path) -> None:
    out = tmp_path / "policy.onnx"
    out.write_bytes(b"old")
    with file_written_atomically(out, mode=0o604, suffix=".onnx") as tmp:
        assert tmp.parent == tmp_path and tmp.name.endswith(".onnx") and tmp.exists()
        tmp.write_bytes(b"new")  # as a library that takes a file name would
        assert out.read_bytes() == b"old"
    assert out.read_bytes() == b"new"
    assert out.stat().st_mode & 0o777 == 0o604
    assert [p.name for p in tmp_path.iterdir()] == ["policy.onnx"]


def test_a_file_written_by_name_is_dropped_on_an_error(tmp_path: Path) -> None:
    out = tmp_path / "policy.onnx"
    with pytest.raises(ValueError, match="refused"), file_written_atomically(out) as tmp:
        tmp.write_bytes(b"half")
        raise ValueError("refused")
    assert list(tmp_path.iterdir()) == []


def site(folder: Path, page: str) -> Path:
    folder.mkdir()
    (folder / "index.html").write_text(page)
    return folder


def test_a_folder_is_replaced_whole_and_the_old_one_removed(tmp_path: Path) -> None:
    out = site(tmp_path / "site", "old")
    with folder_written_atomically(out) as tmp:
        (tmp / "index.html").write_text("new")
        assert (out / "index.html").read_text() == "old"
    assert (out / "index.html").read_text() == "new"
    assert out.stat().st_mode & 0o777 == 0o755
    assert [p.name for p in tmp_path.iterdir()] == ["site"]


def test_a_folder_half_written_leaves_the_old_one(tmp_path: Path) -> None:
    out = site(tmp_path / "site", "old")
    with pytest.raises(KeyboardInterrupt), folder_written_atomically(out) as tmp:
        (tmp / "index.html").write_text("half")
        raise KeyboardInterrupt
    assert (out / "index.html").read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["site"]


def test_replace_folder_puts_the_old_copy_aside_then_removes_it(tmp_path: Path) -> None:
    out = site(tmp_path / "dataset", "old")
    new = site(tmp_path / "staging", "new")
    (tmp_path / "trash").mkdir()
    assert replace_folder(new, out, aside=tmp_path / "trash" / "replaced") == out
    assert (out / "index.html").read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dataset", "trash"]
    assert list((tmp_path / "trash").iterdir()) == []
    # into a path that does not exist yet: one rename
    assert replace_folder(site(tmp_path / "more", "x"), tmp_path / "fresh") == tmp_path / "fresh"
    assert (tmp_path / "fresh" / "index.html").read_text() == "x"


def test_replace_folder_puts_the_old_one_back_when_the_new_cannot_move(tmp_path: Path) -> None:
    out = site(tmp_path / "site", "old")
    with pytest.raises(FileNotFoundError):
        replace_folder(tmp_path / "missing", out)
    assert (out / "index.html").read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["site"]
