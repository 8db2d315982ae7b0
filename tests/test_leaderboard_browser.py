"""The built leaderboard site in a real browser: Debian's headless Chromium at /usr/bin/chromium,
driven by playwright-python (no browser is ever downloaded). Skipped only when that Chromium is
absent; `.ci/run` installs it.

The site is built from real ``evaluate()`` runs: tiny ONNX policies (ranked, re-run by the
validator in its sandbox), reference policies (no artifact: listed apart as unverified, never
ranked), and a ranked entry whose method name is a script-injection payload.
(leaderboard/screenshot.png, of the committed entries, is taken by leaderboard/make_screenshot.py.)
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from test_leaderboard import (
    OPEN_CHAT,
    PAYLOAD,
    SEEDS,
    TUTORING,
    artifact_submission,
    png_bytes,
    reference_submission,
    write,
)

from persona_gym import leaderboard as lbd
from persona_gym.evaluation import evaluate

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]
REPO = Path(__file__).resolve().parents[1]
REF_EPISODES, REF_SEEDS = 10, [0, 1, 2]  # the reference entries (the artifact's: SEEDS)

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at "
                                "/usr/bin/chromium (apt-get install chromium; .ci/run installs it)")
# the ranked entries: tiny ONNX policies reading similarity feature COLUMN, on these envs
RANKED = {"similarity-argmax": (3, (OPEN_CHAT, TUTORING)), "feature-0": (0, (OPEN_CHAT, TUTORING)),
          "feature-1": (1, (OPEN_CHAT,)), "feature-2": (2, (OPEN_CHAT,))}
REFERENCE = ["expert (reference)", "drift (reference)", "random (reference)",
             "parrot (reference)", "assistant (reference)"]


@pytest.fixture(scope="module")
def sites(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Two sites: ``all`` (with the injected entry) and ``clean`` (for the screenshot)."""
    root = tmp_path_factory.mktemp("leaderboard")
    plan = {"expert": (OPEN_CHAT, TUTORING), "drift": (OPEN_CHAT, TUTORING),
            "random": (OPEN_CHAT, TUTORING), "parrot": (OPEN_CHAT,), "assistant": (OPEN_CHAT,)}
    results = {p: [evaluate(e, p, episodes=REF_EPISODES, seeds=REF_SEEDS) for e in envs]
               for p, envs in plan.items()}
    out = {}
    for name in ("all", "clean"):
        subs = root / name / "submissions"
        for policy, rs in results.items():
            write(subs / f"{policy}.json", reference_submission(policy, rs))
        for slug, (column, envs) in RANKED.items():
            artifact_submission(subs, slug, column=column, env_ids=envs)
        plot = None
        if name == "all":
            injected = artifact_submission(subs, "injected", column=2)
            data = json.loads(injected.read_text("utf-8"))
            data["method"] = PAYLOAD  # the artifact is untouched: its sha256 still matches
            write(injected, data)
            plot = root / "plot.png"  # a stand-in for the scaling study's plot
            plot.write_bytes(png_bytes(40, 30))
        built = lbd.build_site(subs, root / name / "site", scaling_plot=plot, rerun=True)
        assert len(built.ranked) == len(RANKED) + (name == "all")
        out[name] = built.out
    return out


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh page; after the test, no request may have left file:// and no script error."""
    context = browser.new_context(viewport={"width": 1360, "height": 900})
    pg = context.new_page()
    requests: list[str] = []
    errors: list[str] = []
    pg.on("request", lambda r: requests.append(r.url))
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    pg.requests = requests
    yield pg
    context.close()
    assert requests, "the page made no requests at all"
    leaving = [u for u in requests if not u.startswith("file://")]
    assert not leaving, f"requests left file://: {leaving}"
    assert not errors, f"console errors / page errors (a CSP violation shows here): {errors}"


def _table(env_id: str) -> str:
    return f'table[data-env="{env_id}"]'


def _column(pg: Any, env_id: str, key: str) -> list[str]:
    """The data-value of column ``key`` in table order."""
    col = pg.eval_on_selector(
        f'{_table(env_id)} thead th[data-key="{key}"]', "th => th.cellIndex")
    return pg.eval_on_selector_all(
        f"{_table(env_id)} tbody tr",
        "(rows, c) => rows.map(r => r.cells[c].getAttribute('data-value'))", col)


def _scores(pg: Any, env_id: str = OPEN_CHAT) -> list[float]:
    return [float(v) for v in _column(pg, env_id, "score")]


def test_entries_render(sites: dict[str, Path], page: Any) -> None:
    page.goto((sites["all"] / "index.html").as_uri())
    methods = page.locator(f"{_table(OPEN_CHAT)} tbody td.method").all_inner_texts()
    assert sorted(methods) == sorted([
        "Similarity argmax (feature 3)", "Similarity argmax (feature 0)",
        "Similarity argmax (feature 1)", "Similarity argmax (feature 2)", PAYLOAD])
    assert page.locator(f"{_table(TUTORING)} tbody tr").count() == 2
    img = page.locator("#scaling img")  # the scaling plot, copied into the site, loads
    assert img.evaluate("i => i.complete && i.naturalWidth") == 40
    assert _scores(page) == sorted(_scores(page), reverse=True)  # best first
    assert _column(page, OPEN_CHAT, "rank") == [str(i) for i in range(1, len(methods) + 1)]
    # submissions without a policy file: shown apart, marked unverified, never ranked
    unverified = page.locator("#unverified table tbody td.method").all_inner_texts()
    assert sorted(set(unverified)) == sorted(REFERENCE)
    assert page.locator("#unverified .tag.unverified").count() == len(unverified) == 8
    for ref in REFERENCE:
        assert page.locator("table.sortable", has_text=ref).count() == 0
    row = page.locator(f"{_table(OPEN_CHAT)} tbody tr", has_text="Similarity argmax (feature 3)")
    assert "re-run" in row.inner_text()  # the validator re-ran its policy file
    row.locator("td.method a").click()
    assert page.url.endswith("entries/similarity-argmax.html#openchat-v0")
    assert page.locator("#openchat-v0 table.per-seed tbody tr").count() == len(SEEDS)
    assert page.locator("#openchat-v0 table.by-turn thead th").count() == 1 + 12  # the horizon
    assert page.locator("#openchat-v0 svg.chart polyline").count() == 4
    page.goto((sites["all"] / "entries" / "expert.html").as_uri())
    assert "unverified" in page.locator("main").inner_text()


def test_clicking_a_column_header_sorts(sites: dict[str, Path], page: Any) -> None:
    page.goto((sites["all"] / "index.html").as_uri())
    before = _scores(page)
    assert before == sorted(before, reverse=True) and before != sorted(before)
    header = page.locator(f'{_table(OPEN_CHAT)} th[data-key="score"]')
    header.click()
    assert _scores(page) == sorted(before)
    assert header.get_attribute("aria-sort") == "ascending"
    header.click()
    assert _scores(page) == sorted(before, reverse=True)
    assert header.get_attribute("aria-sort") == "descending"

    page.locator(f'{_table(OPEN_CHAT)} th[data-key="p2l"]').click()
    p2l = [float(v) for v in _column(page, OPEN_CHAT, "p2l")]
    assert p2l == sorted(p2l, reverse=True) and header.get_attribute("aria-sort") is None
    page.locator(f'{_table(OPEN_CHAT)} th[data-key="method"]').click()
    names = page.locator(f"{_table(OPEN_CHAT)} tbody td.method").all_inner_texts()
    assert names == sorted(names, key=str.lower)
    page.locator(f'{_table(OPEN_CHAT)} th[data-key="method"]').click()
    assert page.locator(f"{_table(OPEN_CHAT)} tbody td.method").all_inner_texts() == names[::-1]
    assert _scores(page, TUTORING) == sorted(_scores(page, TUTORING), reverse=True)  # untouched


def test_injected_method_name_is_shown_as_text(sites: dict[str, Path], page: Any) -> None:
    page.goto((sites["all"] / "index.html").as_uri())
    cell = page.locator(f"{_table(OPEN_CHAT)} tbody td.method", has_text="window.__pwned")
    assert cell.inner_text() == PAYLOAD
    assert page.evaluate("typeof window.__pwned") == "undefined"
    assert page.locator("img").count() == 1  # the scaling plot only
    assert page.locator("script").count() == 1  # the sorter only
    cell.locator("a").click()
    assert page.locator("main h2").first.inner_text() == PAYLOAD
    assert page.evaluate("typeof window.__pwned") == "undefined"
    assert page.locator("script").count() == 0 and page.locator("img").count() == 0


def test_screenshot(sites: dict[str, Path], page: Any, tmp_path: Path) -> None:
    """A full-page screenshot of the site (without the injected entry) fits the viewport's
    width and is a PNG."""
    page.set_viewport_size({"width": 1440, "height": 900})
    page.goto((sites["clean"] / "index.html").as_uri())
    assert page.evaluate("document.documentElement.scrollWidth") <= 1440  # nothing overflows
    shot = tmp_path / "screenshot.png"
    page.screenshot(path=str(shot), full_page=True)
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) < 300_000
