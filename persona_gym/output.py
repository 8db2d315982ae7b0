"""Files a command writes: the destination checked before the work, the file written whole.

:func:`check_destination` runs before a long job (an evaluation, a judging run) so that a path
that cannot be written is refused at once with the fix, not with a traceback after the work;
:func:`write_atomically` writes to a temporary file next to the destination and renames it, so
a failure (or Ctrl-C) leaves the old file or nothing, never a half-written one or a ``.part``.
The one way this project writes a file or a folder whole:

- :func:`write_atomically`: text;
- :func:`file_written_atomically`: a temporary file name to hand to a library that writes by
  name (an ONNX export), renamed into place when the block ends without an error;
- :func:`folder_written_atomically`: a temporary folder to fill (a static site), swapped into
  place the same way; :func:`replace_folder`: that swap, for a folder built elsewhere (a
  Minari dataset built in its staging folder).

A rename within one filesystem is atomic; a folder that already exists is first renamed aside
and then removed, so between those two renames (microseconds) the path does not exist.
Imports nothing of the project.
"""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

__all__ = ["DestinationError", "check_destination", "file_written_atomically",
           "folder_written_atomically", "replace_folder", "write_atomically"]


class DestinationError(ValueError):
    """An output path cannot be written; the message names the path and the fix."""


def check_destination(path: str | os.PathLike[str], example: str = "results.json") -> Path:
    """The file to write for ``path``, after checking it can be written: not a folder nor
    another non-regular file, in an existing folder where a file can be created (tried with
    a temporary file, removed at once). A symbolic link is followed: its target is written.
    Raises :class:`DestinationError`; ``example`` is the file name it suggests for a folder."""
    p = Path(path)
    if not str(path):
        raise DestinationError("the output path is empty; give a file name")
    if p.is_dir():
        raise DestinationError(f"{p} is a folder; give a file name, e.g. {p / example}")
    if p.exists() and not p.is_file():
        raise DestinationError(f"{p} exists and is not a regular file; give a file name")
    target = p.resolve() if p.is_symlink() else p
    folder = target.parent
    if not folder.exists():
        raise DestinationError(f"folder {folder} does not exist; create it first "
                               f"(mkdir -p {folder}) or write elsewhere")
    if not folder.is_dir():
        raise DestinationError(f"{folder} is not a folder; {p} cannot be created in it")
    try:
        fd, probe = tempfile.mkstemp(dir=folder, prefix=f".{target.name}.", suffix=".part")
    except OSError as exc:
        raise DestinationError(f"cannot create files in {folder} ({exc.strerror}); write "
                               "to a folder you can write to") from None
    os.close(fd)
    os.unlink(probe)
    return target


def _mode(target: Path) -> int:
    """The permission bits for ``target``: those of the file it replaces, else the umask's."""
    try:
        return stat.S_IMODE(target.stat().st_mode)
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


@contextmanager
def file_written_atomically(path: str | os.PathLike[str], mode: int | None = None,
                            suffix: str = ".part") -> Iterator[Path]:
    """A temporary file (created empty, named ``.{name}.XXXX{suffix}``) in ``path``'s folder
    to write by name; when the block ends without an error it gets ``mode`` (default: the
    mode of the file it replaces, else the umask's) and is renamed to ``path``. On any error,
    Ctrl-C included, it is removed and ``path`` is untouched. A symbolic link at ``path`` is
    followed: its target is replaced."""
    target = Path(path)
    if target.is_symlink():
        target = target.resolve()
    fd, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=suffix)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        os.chmod(tmp, _mode(target) if mode is None else mode)
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_atomically(path: str | os.PathLike[str], text: str | Iterable[str],
                     mode: int | None = None) -> Path:
    """Write ``text`` (a string or an iterable of strings, UTF-8, ``\\n`` line ends) to
    ``path`` through a temporary file in the same folder renamed into place; on any failure
    the temporary file is removed and ``path`` is untouched. ``mode``: the file's permission
    bits (default: those of the file it replaces, else the umask's). Returns the file written
    (a symbolic link's target)."""
    target = Path(path).resolve() if Path(path).is_symlink() else Path(path)
    with file_written_atomically(target, mode) as tmp, \
            open(tmp, "w", encoding="utf-8", newline="\n") as fh:
        for chunk in [text] if isinstance(text, str) else text:
            fh.write(chunk)
    return target


def replace_folder(new: str | os.PathLike[str], path: str | os.PathLike[str],
                   aside: str | os.PathLike[str] | None = None) -> Path:
    """Move the folder ``new`` to ``path`` (same filesystem) by renames. An existing ``path``
    is first renamed to ``aside`` (a path that does not exist yet; default: inside a fresh
    temporary folder next to ``path``) and, once ``new`` is in place, removed. Returns
    ``path``."""
    target, new = Path(path), Path(new)
    if not target.exists():
        os.replace(new, target)
        return target
    holder = None
    if aside is None:
        holder = Path(tempfile.mkdtemp(prefix=f".{target.name}-old-", dir=target.parent))
        aside = holder / target.name
    try:
        os.replace(target, aside)
        try:
            os.replace(new, target)
        except BaseException:
            os.replace(aside, target)  # the old folder goes back
            raise
    except BaseException:
        if holder is not None:
            with suppress(OSError):  # not empty if the old folder could not go back
                holder.rmdir()
        raise
    shutil.rmtree(aside if holder is None else holder, ignore_errors=True)
    return target


@contextmanager
def folder_written_atomically(path: str | os.PathLike[str],
                              mode: int = 0o755) -> Iterator[Path]:
    """An empty temporary folder next to ``path`` to fill; when the block ends without an
    error it gets ``mode`` and replaces ``path`` (:func:`replace_folder`). On any error, Ctrl-C
    included, it is removed and ``path`` is untouched. Checking that an existing ``path`` may
    be replaced is the caller's."""
    target = Path(path)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        yield tmp
        os.chmod(tmp, mode)
        replace_folder(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
