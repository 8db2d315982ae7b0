"""Files a command writes: the destination checked before the work, the file written whole.

:func:`check_destination` runs before a long job (an evaluation, a judging run) so that a path
that cannot be written is refused at once with the fix, not with a traceback after the work;
:func:`write_atomically` writes to a temporary file next to the destination and renames it, so
a failure (or Ctrl-C) leaves the old file or nothing, never a half-written one or a ``.part``.
Imports nothing of the project.
"""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Iterable
from pathlib import Path

__all__ = ["DestinationError", "check_destination", "write_atomically"]


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


def write_atomically(path: str | os.PathLike[str], text: str | Iterable[str]) -> Path:
    """Write ``text`` (a string or an iterable of strings, UTF-8, ``\\n`` line ends) to
    ``path`` through a temporary file in the same folder renamed into place; on any failure
    the temporary file is removed and ``path`` is untouched. Returns the file written (a
    symbolic link's target)."""
    target = Path(path)
    if target.is_symlink():
        target = target.resolve()
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            for chunk in [text] if isinstance(text, str) else text:
                fh.write(chunk)
        os.chmod(tmp, _mode(target))
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target
