"""One real browser: `streamlit run app.py`, Chromium types a query, images appear."""

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(__file__).resolve().parent.parent / "artifacts"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server(tmp_path):
    if not Path(CHROMIUM).exists():
        if os.environ.get("REQUIRE_BROWSER"):
            pytest.fail(f"Chromium not found at {CHROMIUM}: run `make system`")
        pytest.skip("Chromium is not installed (run `make system`)")
    port = _free_port()
    env = {**os.environ, "CLIP_EXPLORER_CACHE": str(tmp_path / "store"), "HF_HUB_OFFLINE": "1"}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            "app.py",
            "--server.headless",
            "true",
            "--server.port",
            str(port),
            "--browser.gatherUsageStats",
            "false",
        ],
        cwd=Path(__file__).resolve().parent.parent,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            urllib.request.urlopen(f"{url}/_stcore/health", timeout=2)
            break
        except OSError:
            time.sleep(0.5)
    else:
        proc.kill()
        pytest.fail("streamlit did not start within 60 s")
    yield url
    proc.terminate()
    proc.wait(timeout=20)


def test_search_in_a_real_browser(server, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        # Playwright gives every launch a fresh, empty profile (user data dir).
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(f"{server}/search", timeout=60_000)
        box = page.get_by_label("Describe what you are looking for")
        expect(box).to_be_visible(timeout=180_000)  # first visit embeds the demo collection
        box.fill("pizza")
        box.press("Enter")
        first = page.locator('[data-testid="stText"]').filter(has_text="pizza").first
        expect(first).to_be_visible(timeout=60_000)
        images = page.locator('[data-testid="stImage"] img')
        expect(images.first).to_be_visible(timeout=60_000)
        assert images.count() >= 6
        # The sidebar comes from app.py: the page was routed through st.navigation.
        expect(page.get_by_text("Active model")).to_be_visible()
        assert page.locator('[data-testid="stException"]').count() == 0
        SCREENSHOTS.mkdir(exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "search.png"), full_page=True)
        browser.close()
