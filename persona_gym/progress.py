"""Progress for every long job: one helper on tqdm.

On a terminal it is tqdm's bar. Anywhere else (a CI log, ``| tee``, a notebook's captured
stderr) tqdm's bar would be one endless line of carriage returns, so :func:`progress` writes a
plain line instead, at the start, at most every ``PLAIN_INTERVAL_S`` seconds, and at the end.
"""

from __future__ import annotations

import io
import sys
from typing import Any, TextIO

PLAIN_INTERVAL_S = 10.0
"""Seconds between plain progress lines when stderr is not a terminal."""


class _Lines(io.TextIOBase):
    """A stream that turns tqdm's carriage-return redraws into whole lines."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def write(self, text: str) -> int:
        line = text.replace("\r", "").strip()
        if line:
            self.stream.write(line + "\n")
            self.stream.flush()
        return len(text)

    def flush(self) -> None:
        self.stream.flush()


def progress(total: int | None, desc: str, unit: str = "it",
             stream: TextIO | None = None) -> Any:
    """A tqdm progress bar on ``stream`` (stderr by default) that also reads well when the
    stream is not a terminal (plain lines at most every :data:`PLAIN_INTERVAL_S` seconds). Use
    it as a context manager and call ``update(n)``."""
    from tqdm import tqdm

    out = sys.stderr if stream is None else stream
    if out.isatty():
        return tqdm(total=total, desc=desc, unit=unit, file=out, leave=False,
                    dynamic_ncols=True)
    return tqdm(total=total, desc=desc, unit=unit, file=_Lines(out), leave=True, ncols=80,
                mininterval=PLAIN_INTERVAL_S, maxinterval=PLAIN_INTERVAL_S, ascii=True)
