"""Classroom benchmark: a real server and a real browser, this tree against a baseline commit.

For each version (this working tree, and ``--baseline REV`` checked out in a
temporary git worktree) it starts the server with an empty embedding cache,
connects headless Chromium at once, and measures:

- cold start: server spawn -> first search results visible;
- a second student: the first visit to each page in a *new* browser session,
  after a first session has visited them (work the server should share);
- a clusters rerun after changing the label field.

Times are wall-clock in the browser (server work + drawing), so they bound
the server time from above. Both versions run in the same process, one after
the other, on the same machine; the ratios are what to compare.

    python benchmarks/bench_classroom.py [--baseline 7db2892]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from tests.support import CHROMIUM, CHROMIUM_FLAGS, free_port  # noqa: E402  (one set of browser flags)
from ui.serve_class import wait_healthy  # noqa: E402

PAGES = {"search": "#1 ·", "map": "trustworthiness", "clusters": "Zero-shot labels"}
LIMIT_MS = 300_000  # the baseline embeds the demo on its first search: minutes, not seconds


def _done(page, ready: str) -> None:
    from playwright.sync_api import expect

    expect(page.get_by_text(ready).first).to_be_visible(timeout=LIMIT_MS)
    expect(page.locator('[data-test-script-state="notRunning"]')).to_have_count(1, timeout=LIMIT_MS)


def _visit(context, url: str, ready: str) -> float:
    page = context.new_page()
    page.set_viewport_size({"width": 1024, "height": 768})
    start = time.perf_counter()
    page.goto(url, timeout=LIMIT_MS)
    _done(page, ready)
    elapsed = time.perf_counter() - start
    page.close()
    return elapsed


def _switch_map(context, url: str, method: str) -> float:
    """Seconds from picking ``method`` in the Map page's picker to the map being drawn."""
    page = context.new_page()
    page.set_viewport_size({"width": 1024, "height": 768})
    page.goto(f"{url}/map", timeout=LIMIT_MS)
    _done(page, PAGES["map"])
    page.get_by_role("combobox", name="Map", exact=True).click()
    start = time.perf_counter()
    page.get_by_role("option", name=method, exact=True).click()
    try:  # the run may finish before "running" is seen
        page.locator('[data-test-script-state="running"]').wait_for(timeout=2000)
    except Exception:
        pass
    _done(page, PAGES["map"])
    elapsed = time.perf_counter() - start
    page.close()
    return elapsed


def measure(tree: Path, command: list[str], browser) -> dict[str, float]:
    """All figures for one version of the app in ``tree``."""
    port = free_port()
    env = {**os.environ, "CLIP_EXPLORER_CACHE": tempfile.mkdtemp(prefix="bench-store-"), "HF_HUB_OFFLINE": "1"}
    options = ["--server.port", str(port), "--server.address", "127.0.0.1", "--server.headless", "true"]
    options += ["--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"]
    url = f"http://127.0.0.1:{port}"
    start = time.perf_counter()
    server = subprocess.Popen(
        [sys.executable, "-m", *command, *options],
        cwd=tree,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_healthy(url, limit_s=60)
        figures = {}
        first = browser.new_context()
        page = first.new_page()
        page.set_viewport_size({"width": 1024, "height": 768})
        page.goto(f"{url}/search", timeout=LIMIT_MS)
        _done(page, PAGES["search"])
        figures["cold start -> first results"] = time.perf_counter() - start
        for name, ready in PAGES.items():
            figures[f"first student, {name}"] = _visit(first, f"{url}/{name}", ready)
        for method in ("UMAP", "t-SNE"):  # each map is fitted (or read) once per server
            figures[f"first student, map {method}"] = _switch_map(first, url, method)
        second = browser.new_context()  # another student: a new Streamlit session
        for name, ready in PAGES.items():
            figures[f"second student, {name}"] = _visit(second, f"{url}/{name}", ready)
        page = second.new_page()
        page.set_viewport_size({"width": 1024, "height": 768})
        page.goto(f"{url}/clusters", timeout=LIMIT_MS)
        _done(page, PAGES["clusters"])
        box = page.get_by_label("Name clusters with these labels")
        for labels, figure in (("", "from captions"), ("animal, food, flag, face, vehicle", "from typed labels")):
            box = page.get_by_label("Name clusters with these labels")
            box.fill(labels)
            rerun = time.perf_counter()
            box.press("Enter")
            try:  # the run may finish before "running" is seen
                page.locator('[data-test-script-state="running"]').wait_for(timeout=2000)
            except Exception:
                pass
            _done(page, PAGES["clusters"])
            figures[f"clusters rerun, names {figure}"] = time.perf_counter() - rerun
        return figures
    finally:
        server.terminate()
        server.wait(timeout=30)


# Server time alone, without a browser: Streamlit's AppTest runs the version's
# pages in a subprocess (its own modules), a first session, then a second.
_SERVER_TIME = """
import json, sys, time
from streamlit.testing.v1 import AppTest
times = {}
for student in ("first", "second"):
    for page in ("search", "map", "clusters"):
        at = AppTest.from_file("app.py", default_timeout=300)
        at.session_state["store_root"] = sys.argv[1]
        start = time.perf_counter()
        at.switch_page(f"app_pages/{page}.py").run()
        times[f"{student} student, {page} (server time)"] = time.perf_counter() - start
print(json.dumps(times))
"""


def server_seconds(tree: Path) -> dict[str, float]:
    import json

    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    out = subprocess.run(
        [sys.executable, "-c", _SERVER_TIME, tempfile.mkdtemp(prefix="bench-store-")],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", default="7db2892", help="git revision to compare with")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as p:
        baseline = Path(tmp) / "baseline"
        subprocess.run(["git", "worktree", "add", "--detach", str(baseline), args.baseline], cwd=ROOT, check=True)
        onnx = ROOT / "data" / "models" / "emoji-clip" / "onnx"  # not in git: both versions start on ONNX Runtime
        if onnx.is_dir() and not (baseline / onnx.relative_to(ROOT)).exists():
            shutil.copytree(onnx, baseline / onnx.relative_to(ROOT))
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        try:
            now = measure(ROOT, ["ui.serve"], browser) | server_seconds(ROOT)
            before = measure(baseline, ["streamlit", "run", "app.py"], browser) | server_seconds(baseline)
        finally:
            browser.close()
            subprocess.run(["git", "worktree", "remove", "--force", str(baseline)], cwd=ROOT, check=False)
    print(f"{'figure (seconds, 1024x768, 2 cores)':44s} {'this tree':>10s} {args.baseline:>10s} {'speed-up':>9s}")
    for name in now:
        print(f"{name:44s} {now[name]:10.1f} {before[name]:10.1f} {before[name] / now[name]:8.1f}x")


if __name__ == "__main__":
    main()
