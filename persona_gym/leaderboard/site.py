"""The static leaderboard site: validated submissions rendered with Jinja2 templates.

The page lives in ``templates/`` (``base.html``, ``index.html``, ``entry.html``) and
``static/`` (``site.css``, ``sorter.js``), shipped as package data. Rendering uses Jinja2 with
autoescaping on and undefined names as errors, so every submitted string is HTML-escaped
wherever it lands (text or attribute); URLs become links only when they are plain ``http(s)``.
The CSS and the one script (the table sorter) are inlined, and the script is pinned by a
Content-Security-Policy hash: the site needs no network and works from ``file://``.

Ranking: only submissions with a policy artifact are ranked (re-run by the validator in the
default build). A submission without an artifact is listed apart under "Unverified
submissions" and never gets a rank.
"""

from __future__ import annotations

import base64
import hashlib
import math
import re
import shutil
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from persona_gym.evaluation import BY_TURN_METRICS, PROTOCOL_VERSION, env_entry
from persona_gym.judges.symbolic import METRICS
from persona_gym.leaderboard.sandbox import DEFAULT_LIMITS, Limits
from persona_gym.leaderboard.schema import MAX_SCALING_PLOT_BYTES, REQUIRED_METRICS, SITE_MARKER
from persona_gym.leaderboard.validate import (
    LeaderboardError,
    Report,
    SubmissionsRejected,
    format_report,
    validate_files,
)
from persona_gym.output import folder_written_atomically

TABLE_COLUMNS: tuple[tuple[str, str, str, str], ...] = (
    # (key, header, type, title)
    ("rank", "#", "number", "rank by normalized score"),
    ("method", "Method", "text", "method name (links to the entry's page)"),
    ("submitter", "Submitter", "text", "who submitted it"),
    ("score", "Normalized score", "number",
     "100 * (R - random) / (expert - random), mean over test episodes, with its 95% bootstrap CI"),
    ("p2l", "p2l", "number", "prompt-to-line consistency (local drift), higher is better"),
    ("l2l", "l2l", "number", "line-to-line consistency (global drift), higher is better"),
    ("qa", "qa", "number", "Q&A consistency (factual drift), higher is better"),
    ("relevance", "relevance", "number", "the line addresses the partner's move, higher is better"),
    ("repetition", "repetition", "number", "repeated own lines, lower is better"),
    ("contradiction", "contradiction", "number", "lines with any contradiction, lower is better"),
    ("return", "Return", "number", "mean episode return"),
    ("episodes", "Episodes", "number", "test episodes evaluated (seeds x episodes per seed)"),
    ("artifact", "Policy", "text", "a policy file whose results the validator re-ran"),
)
TABLE_METRICS = REQUIRED_METRICS
"""The metric columns of the ranked table: those every task version reports (a v1 entry's
capability and assertion rate are on its own page)."""
CHART_COLORS = {"p2l": "#2b6cb0", "l2l": "#2f855a", "qa": "#c05621", "relevance": "#6b46c1"}


def safe_url(url: Any) -> bool:
    """Whether ``url`` may become a link: ``http(s)`` with a host and no whitespace or control
    characters (anything else is shown as escaped text)."""
    if not isinstance(url, str) or not url:
        return False
    parts = urlsplit(url)
    return (parts.scheme in ("http", "https") and bool(parts.netloc)
            and not re.search(r"[\s\x00-\x1f]", url))


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "entry"


def _fmt(x: float | None, digits: int = 3) -> str:
    return "–" if x is None else f"{x:.{digits}f}"


@cache
def _static(name: str) -> str:
    return resources.files("persona_gym.leaderboard").joinpath("static", name).read_text("utf-8")


def sorter_js() -> str:
    """The one script of the site (static/sorter.js), inlined into index.html verbatim."""
    return _static("sorter.js")


@cache
def _templates() -> Any:
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("persona_gym.leaderboard", "templates"),
        autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=False,
        keep_trailing_newline=True)
    env.tests["safe_url"] = safe_url
    return env


def _csp(script: str | None) -> str:
    if script is None:
        script_src = "'none'"
    else:
        digest = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode()
        script_src = f"'sha256-{digest}'"
    return (f"default-src 'none'; script-src {script_src}; style-src 'unsafe-inline'; "
            "img-src 'self'; base-uri 'none'; form-action 'none'")


def _render(template: str, *, title: str, root: str = "", script: str | None = None,
            footer: bool = False, **context: Any) -> str:
    from markupsafe import Markup

    # the CSS and the script are the package's own files, inlined verbatim (the CSP pins the
    # script's exact bytes); everything else is escaped by the template
    return _templates().get_template(template).render(
        title=title, root=root, script=Markup(script) if script is not None else None,
        footer=footer, csp=_csp(script), css=Markup(_static("site.css")), **context)


@dataclass
class _Entry:
    slug: str
    data: dict[str, Any]
    reproduced: bool

    @property
    def verified(self) -> bool:
        """Ranked: a policy artifact is attached (and passed its checks)."""
        return "artifact" in self.data


def _columns() -> list[dict[str, str]]:
    out = []
    for key, label, typ, title in TABLE_COLUMNS:
        first = "descending" if typ == "number" and key != "rank" else "ascending"
        if key in ("repetition", "contradiction"):
            first = "ascending"
        out.append({"key": key, "label": label, "type": typ, "title": title, "first": first})
    return out


def _row(entry: _Entry, r: dict[str, Any], rank: int) -> dict[str, Any]:
    lo, hi = r["normalized_score_ci"]
    score = r["normalized_score"]
    metrics = []
    for m in TABLE_METRICS:
        mean = r["metrics"][m]["mean"]
        metrics.append({"value": "" if mean is None else repr(mean), "text": _fmt(mean)})
    return {"rank": rank, "slug": entry.slug, "method": entry.data["method"],
            "submitter": entry.data["submitter"], "score_value": repr(score),
            "score": f"{score:.1f}", "lo": f"{lo:.1f}", "hi": f"{hi:.1f}",
            "bar": f"{min(100.0, max(0.0, score)):.1f}", "metrics": metrics,
            "return_value": repr(r["return_mean"]), "return_text": f"{r['return_mean']:.2f}",
            "episodes": r["episodes"], "reproduced": entry.reproduced}


def _index_page(entries: list[_Entry], scaling: bool) -> str:
    import persona_gym
    from persona_gym.envs import registered_ids

    by_env: dict[str, list[tuple[_Entry, dict[str, Any]]]] = {}
    unverified = []
    for entry in entries:
        for r in entry.data["results"]:
            if entry.verified:
                by_env.setdefault(r["env_id"], []).append((entry, r))
            else:
                lo, hi = r["normalized_score_ci"]
                unverified.append({
                    "slug": entry.slug, "method": entry.data["method"],
                    "submitter": entry.data["submitter"], "env_id": r["env_id"],
                    "anchor": _slug(r["env_id"].split("/", 1)[1]),
                    "score": f"{r['normalized_score']:.1f}", "lo": f"{lo:.1f}",
                    "hi": f"{hi:.1f}"})
    tables = []
    for env_id in (i for i in registered_ids() if i in by_env):
        rows = sorted(by_env[env_id],
                      key=lambda er: (-er[1]["normalized_score"], er[0].data["method"]))
        info = env_entry(env_id)
        tables.append({"env_id": env_id, "anchor": _slug(env_id.split("/", 1)[1]),
                       "description": info.description, "horizon": info.horizon,
                       "rows": [_row(e, r, i + 1) for i, (e, r) in enumerate(rows)]})
    return _render("index.html", title="persona_gym leaderboard", script=sorter_js(),
                   footer=True, tables=tables, unverified=unverified, columns=_columns(),
                   scaling=scaling, n_ranked=sum(e.verified for e in entries),
                   n_unverified=sum(not e.verified for e in entries),
                   protocol=PROTOCOL_VERSION, version=persona_gym.__version__)


def _chart(by_turn: dict[str, list[float | None]]) -> dict[str, Any]:
    """Geometry of the by-turn line chart (numbers only; no submitted text)."""
    horizon = len(by_turn["p2l"])
    w, h, left, bottom, top, right = 640, 220, 40, 26, 10, 12
    pw, ph = w - left - right, h - top - bottom

    def x(t: int) -> float:
        return left + (pw * t / (horizon - 1) if horizon > 1 else pw / 2)

    def y(v: float) -> float:
        return top + ph * (1 - v)

    step = max(1, math.ceil(horizon / 12))
    lines = []
    for m in BY_TURN_METRICS:
        pts = [(x(t), y(float(v))) for t, v in enumerate(by_turn[m]) if v is not None]
        if pts:
            lines.append({"color": CHART_COLORS[m],
                          "points": " ".join(f"{a:.1f},{b:.1f}" for a, b in pts)})
    return {"w": w, "h": h, "left": left, "right": w - right,
            "grid": [{"y": f"{y(v):.1f}", "label_y": f"{y(v) + 4:.1f}", "label": f"{v:g}"}
                     for v in (0, 0.25, 0.5, 0.75, 1)],
            "ticks": [{"x": f"{x(t):.1f}", "label": t + 1} for t in range(0, horizon, step)],
            "lines": lines,
            "legend": [{"color": CHART_COLORS[m], "name": m} for m in BY_TURN_METRICS]}


def _entry_page(entry: _Entry) -> str:
    results = []
    for r in entry.data["results"]:
        lo, hi = r["normalized_score_ci"]
        summary = [{"name": "normalized score", "mean": f"{r['normalized_score']:.2f}",
                    "lo": f"{lo:.2f}", "hi": f"{hi:.2f}"},
                   {"name": "return", "mean": f"{r['return_mean']:.3f}",
                    "lo": f"{r['return_ci'][0]:.3f}", "hi": f"{r['return_ci'][1]:.3f}"}]
        summary += [{"name": m, "mean": _fmt(r["metrics"][m]["mean"]),
                     "lo": _fmt(r["metrics"][m]["ci"][0]), "hi": _fmt(r["metrics"][m]["ci"][1])}
                    for m in METRICS if m in r["metrics"]]
        results.append({
            "env_id": r["env_id"], "anchor": _slug(r["env_id"].split("/", 1)[1]),
            "episodes": r["episodes"], "seeds": ", ".join(map(str, r["seeds"])),
            "episodes_per_seed": r["episodes_per_seed"],
            "ref_min": f"{r['ref_min_score']:g}", "ref_max": f"{r['ref_max_score']:g}",
            "summary": summary, "chart": _chart(r["by_turn"]),
            "turns": list(range(1, len(r["by_turn"]["p2l"]) + 1)),
            "by_turn": [{"name": m, "cells": [_fmt(v, 2) for v in r["by_turn"][m]]}
                        for m in BY_TURN_METRICS],
            "per_seed": [{"seed": s["seed"], "episodes": s["episodes"],
                          "score": f"{s['normalized_score']:.2f}",
                          "return_text": f"{s['return_mean']:.3f}",
                          "metrics": [_fmt(s["metrics"].get(m)) for m in METRICS]}
                         for s in r["per_seed"]],
        })
    return _render("entry.html", title=f"{entry.data['method']} · persona_gym leaderboard",
                   root="../", d=entry.data, results=results, verified=entry.verified,
                   reproduced=entry.reproduced, metric_names=list(METRICS))


@dataclass
class BuildResult:
    """What :func:`build_site` published: ``entries`` (every slug), ``ranked`` (the slugs of
    entries with an artifact) and ``unverified`` (those without)."""

    out: Path
    entries: list[str]
    reports: list[Report]
    ranked: list[str]
    unverified: list[str]


def _check_png(path: Path) -> None:
    if path.is_symlink() or not path.is_file():
        raise LeaderboardError(f"scaling plot {path} is not a regular file")
    if path.stat().st_size > MAX_SCALING_PLOT_BYTES:
        raise LeaderboardError(f"scaling plot {path} is over {MAX_SCALING_PLOT_BYTES} bytes")
    with open(path, "rb") as fh:
        if fh.read(8) != b"\x89PNG\r\n\x1a\n":
            raise LeaderboardError(f"scaling plot {path} is not a PNG file")


def build_site(
    submissions: str | Path,
    out: str | Path,
    scaling_plot: str | Path | None = None,
    rerun: bool = True,
    limits: Limits = DEFAULT_LIMITS,
) -> BuildResult:
    """Validate every ``*.json`` in ``submissions`` and write the static site to ``out``.

    Any rejected submission stops the build (:class:`SubmissionsRejected` listing every
    problem) and nothing is written. ``rerun`` (the default) re-evaluates every policy artifact
    in the sandbox under ``limits``; ``rerun=False`` checks only their paths and hashes (a
    quick local preview: the ranked rows then say "sha256 ✓", not "re-run ✓"). The site is
    written to a temporary folder next to ``out`` and renamed into place; an existing ``out``
    is replaced only if it is empty or a previous build (it holds :data:`SITE_MARKER`).
    """
    sub_dir, out = Path(submissions), Path(out)
    if not sub_dir.is_dir():
        raise LeaderboardError(f"no submissions folder at {sub_dir}; pass --submissions DIR")
    if out.exists() and not (out.is_dir() and (not any(out.iterdir())
                                               or (out / SITE_MARKER).is_file())):
        raise LeaderboardError(f"{out} exists and is not a site built by persona-gym; "
                               "choose another --out or remove it")
    plot = Path(scaling_plot) if scaling_plot is not None else None
    if plot is not None:
        _check_png(plot)
    files = sorted(p for p in sub_dir.iterdir() if p.suffix == ".json")
    reports = validate_files(files, rerun=rerun, limits=limits)
    bad = [r for r in reports if not r.ok]
    if bad:
        raise SubmissionsRejected(
            f"{len(bad)} of {len(reports)} submissions rejected; nothing was built:\n"
            + "\n".join(format_report(r) for r in bad))
    entries: list[_Entry] = []
    taken: set[str] = set()
    for report in reports:
        assert report.submission is not None
        slug = base = _slug(report.path.stem)
        k = 2
        while slug in taken:
            slug, k = f"{base}-{k}", k + 1
        taken.add(slug)
        entries.append(_Entry(slug, report.submission, report.reproduced))
    out.parent.mkdir(parents=True, exist_ok=True)
    with folder_written_atomically(out, mode=0o755) as tmp:
        (tmp / "entries").mkdir()
        for entry in entries:
            (tmp / "entries" / f"{entry.slug}.html").write_text(_entry_page(entry), "utf-8")
        if plot is not None:
            shutil.copyfile(plot, tmp / "scaling.png")
        (tmp / "index.html").write_text(_index_page(entries, plot is not None), "utf-8")
        (tmp / SITE_MARKER).write_text("built by persona-gym leaderboard build\n", "utf-8")
    return BuildResult(out, [e.slug for e in entries], reports,
                       ranked=[e.slug for e in entries if e.verified],
                       unverified=[e.slug for e in entries if not e.verified])
