"""Build the site from the committed submissions and screenshot it in headless Chromium.

    python leaderboard/make_screenshot.py   # writes leaderboard/screenshot.png

Uses Debian's /usr/bin/chromium through playwright (no browser download).
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

from playwright.sync_api import sync_playwright

HERE = Path(__file__).resolve().parent
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        site = Path(tmp) / "site"
        subprocess.run([sys.executable, "-m", "persona_gym.cli", "leaderboard", "build",
                        "--out", str(site), "--submissions", str(HERE / "submissions")],
                       check=True)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
            page = browser.new_page(viewport={"width": 1440, "height": 900})
            page.goto((site / "index.html").as_uri())
            page.screenshot(path=str(HERE / "screenshot.png"), full_page=True)
            browser.close()
    print(f"wrote {HERE / 'screenshot.png'}")


if __name__ == "__main__":
    main()
