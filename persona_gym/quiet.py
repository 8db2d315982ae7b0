"""Keep third-party noise out of the user's way.

d3rlpy imports the unmaintained ``gym`` package, whose import prints a deprecation banner to
stderr in every script that trains anything; persona_gym uses Gymnasium only. Call
:func:`silence_gym_banner` before importing d3rlpy (the modules that import it do).
"""

from __future__ import annotations

import contextlib
import io
import sys


def silence_gym_banner() -> None:
    """Import ``gym`` (if installed and not imported yet) with its banner swallowed."""
    if "gym" in sys.modules:
        return
    with contextlib.redirect_stderr(io.StringIO()), contextlib.suppress(ImportError):
        import gym  # noqa: F401
