"""Real browsers: `streamlit run app.py`, Chromium searches, every page fits a projector."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from support import CHROMIUM, CHROMIUM_FLAGS, ROOT, free_port

from ui.serve_class import wait_healthy

SCREENSHOTS = ROOT / "artifacts"
PAGES = {
    "home": "",
    "search": "search",
    "map": "map",
    "clusters": "clusters",
    "collection": "collections",
    "lab": "lab",
}
# What each page shows once its work is done.
READY = {
    "home": "Active model",
    "search": "cos ",
    "map": "trustworthiness",
    "clusters": "Zero-shot labels",
    "collection": "Active:",
    "lab": "Learning rate",
}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    yield from _serve(tmp_path_factory)


@pytest.fixture(scope="module")
def sampled_server(tmp_path_factory):
    """A host that caps maps at 1,000 drawn points: the demo's 3,722 items become a sampled map."""
    yield from _serve(tmp_path_factory, CLIP_EXPLORER_MAP_POINTS="1000")


def _serve(tmp_path_factory, **settings):
    if not Path(CHROMIUM).exists():
        if os.environ.get("REQUIRE_BROWSER"):
            pytest.fail(f"Chromium not found at {CHROMIUM}: run `make system`")
        pytest.skip("Chromium is not installed (run `make system`)")
    port = free_port()
    store = str(tmp_path_factory.mktemp("store"))
    env = {**os.environ, "CLIP_EXPLORER_CACHE": store, "HF_HUB_OFFLINE": "1", **settings}
    command = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port)]
    proc = subprocess.Popen(
        [*command, "--server.address", "127.0.0.1"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, limit_s=60)
    except TimeoutError:
        proc.kill()
        pytest.fail("streamlit did not start within 60 s")
    yield url
    proc.terminate()
    proc.wait(timeout=20)


@pytest.fixture(scope="module")
def browser(server):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        # Playwright gives every launch a fresh, empty profile (user data dir).
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield chromium
        chromium.close()


def _open(browser, url: str, width: int, height: int, ready: str):
    from playwright.sync_api import expect

    page = browser.new_page(viewport={"width": width, "height": height})
    page.goto(url, timeout=60_000)
    expect(page.get_by_text(ready).first).to_be_visible(timeout=180_000)
    expect(page.locator('[data-test-script-state="notRunning"]')).to_have_count(1, timeout=180_000)  # done running
    expect(page.locator('[data-testid="stSkeleton"]')).to_have_count(0, timeout=30_000)  # lazy widgets drawn
    page.wait_for_timeout(500)  # let plotly finish drawing
    return page


def test_search_in_a_real_browser(server, browser):
    from playwright.sync_api import expect

    page = _open(browser, f"{server}/search", 1400, 1000, "cos ")
    box = page.get_by_label("Describe what you are looking for")
    box.fill("pizza")
    box.press("Enter")
    first = page.locator('[data-testid="stText"]').filter(has_text="pizza").first
    expect(first).to_be_visible(timeout=60_000)
    expect(page.get_by_text("match.").first).to_be_visible()  # the verdict: strong / weak / no real match
    images = page.locator('[data-testid="stImage"] img')
    assert images.count() >= 6
    # The sidebar comes from app.py: the page was routed through st.navigation.
    expect(page.get_by_text("Active model")).to_be_visible()
    # One click on a result searches by it.
    page.get_by_role("button", name="More like this").first.click()
    expect(page.get_by_text("Item (or press").first).to_be_visible(timeout=60_000)
    assert page.locator('[data-testid="stException"]').count() == 0
    page.close()


@pytest.mark.parametrize("name", list(PAGES))
def test_every_page_fits_a_projector(server, browser, name):
    """At 1024x768 nothing is wider than the window; screenshots at both sizes for people to look at."""
    SCREENSHOTS.mkdir(exist_ok=True)
    for width, height in ((1024, 768), (1920, 1080)):
        page = _open(browser, f"{server}/{PAGES[name]}", width, height, READY[name])
        assert page.locator('[data-testid="stException"]').count() == 0
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{name} is {overflow}px wider than a {width}px window"
        # The page scrolls inside Streamlit's main container: grow the window to the content to capture it all.
        tall = page.evaluate("document.querySelector('[data-testid=\"stMainBlockContainer\"]').scrollHeight")
        page.set_viewport_size({"width": width, "height": min(max(height, tall + 120), 8000)})
        page.wait_for_timeout(800)
        page.screenshot(path=str(SCREENSHOTS / f"{name}-{width}.png"))
        page.close()


def test_a_lasso_on_a_sampled_map_selects_every_item_inside_it(sampled_server, browser):
    """Drawn around the whole map, the lasso selects all 3,722 items, not only the 1,000 drawn."""
    from playwright.sync_api import expect

    page = _open(browser, f"{sampled_server}/map", 1400, 1000, "trustworthiness")
    page.get_by_text("Both", exact=True).click()  # pictures and captions: 3,722 items, 1,000 drawn
    expect(page.get_by_text("seeded sample of 1,000 of 3,722 items")).to_be_visible(timeout=120_000)
    expect(page.locator('[data-test-script-state="notRunning"]')).to_have_count(1, timeout=180_000)
    page.get_by_text("Pictures on hover", exact=True).first.click()  # box and lasso select on the plain (plotly) map
    expect(page.locator(".js-plotly-plot .nsewdrag")).to_have_count(1, timeout=120_000)
    expect(page.locator('[data-test-script-state="notRunning"]')).to_have_count(1, timeout=180_000)
    page.wait_for_timeout(500)  # let plotly finish drawing
    drawing = page.locator(".js-plotly-plot .nsewdrag").first  # the map's drawing area
    drawing.scroll_into_view_if_needed()  # the click on the toggle below it scrolled the page
    area = drawing.bounding_box()
    left, top = area["x"] + 4, area["y"] + 4
    right, bottom = area["x"] + area["width"] - 4, area["y"] + area["height"] - 4
    page.mouse.move(left, top)
    page.mouse.down()
    for x, y in ((right, top), (right, bottom), (left, bottom), (left, top + 2)):
        page.mouse.move(x, y, steps=8)
    page.mouse.up()
    expect(page.get_by_text("3,722 selected: 1,861 pictures, 1,861 captions")).to_be_visible(timeout=120_000)
    expect(page.get_by_text("1,000 of them are drawn; the other 2,722 lie inside too")).to_be_visible()
    expect(page.locator('[data-testid="stImage"] img').nth(11)).to_be_visible(timeout=60_000)  # its pictures
    assert page.locator('[data-testid="stException"]').count() == 0
    page.close()


def _overlaps(boxes: list[dict]) -> list[tuple[int, int]]:
    """Pairs of boxes (x, y, width, height) that intersect."""
    return [
        (i, j)
        for i, a in enumerate(boxes)
        for j, b in enumerate(boxes[:i])
        if a["x"] < b["x"] + b["width"]
        and b["x"] < a["x"] + a["width"]
        and a["y"] < b["y"] + b["height"]
        and b["y"] < a["y"] + a["height"]
    ]


def test_a_projector_shows_the_verdict_and_first_results_without_scrolling(server, browser):
    from playwright.sync_api import expect

    page = _open(browser, f"{server}/search", 1024, 768, "cos ")
    page.locator('[data-testid="stButtonGroup"]').get_by_text("a musical instrument").click()  # one click
    expect(page.locator('[data-testid="stText"]').filter(has_text="trumpet").first).to_be_visible(timeout=60_000)
    verdict = page.get_by_text("match.").first.bounding_box()
    first_card = page.get_by_text("#1 ·").first.bounding_box()
    assert verdict["y"] + verdict["height"] <= 768, verdict
    assert first_card["y"] + first_card["height"] <= 768, first_card  # the first result's rank and angle
    page.close()


@pytest.mark.parametrize("size", [(1024, 768), (1920, 1080)])
def test_the_query_and_its_results_are_named_on_the_map_with_no_label_on_another(server, browser, size):
    from playwright.sync_api import expect

    page = _open(browser, f"{server}/map", *size, "trustworthiness")
    names = page.locator('[data-testid="stVegaLiteChart"] .mark-text.role-mark text')  # Vega's SVG text marks
    texts = names.all_text_contents()
    assert texts[0].startswith("★ a red fruit") and any(t.startswith("1. ") for t in texts), texts
    assert not _overlaps([box for box in (name.bounding_box() for name in names.all()) if box]), texts
    page.get_by_text("Pictures on hover", exact=True).first.click()  # the plain (plotly) map
    expect(page.locator(".js-plotly-plot .annotation")).not_to_have_count(0, timeout=120_000)
    labels = page.locator(".js-plotly-plot .annotation .annotation-text-g")  # the boxed text, not its arrow
    texts = labels.all_text_contents()
    assert texts[0].startswith("★ a red fruit") and any(t.startswith("1. ") for t in texts), texts
    boxes = [box for box in (label.bounding_box() for label in labels.all()) if box]
    assert len(boxes) == len(texts) and not _overlaps(boxes), texts
    chart = page.locator(".js-plotly-plot").first.bounding_box()
    assert chart["y"] < size[1] / 2  # the map starts on the first screen
    page.close()


def test_a_search_shared_as_a_link_opens_the_same_search_in_a_new_browser(server, browser):
    from playwright.sync_api import expect

    page = _open(browser, f"{server}/search", 1024, 768, "cos ")
    box = page.get_by_label("Describe what you are looking for")
    box.fill("a smiling cat")
    box.press("Enter")
    expect(page.locator('[data-testid="stText"]').filter(has_text="cat").first).to_be_visible(timeout=60_000)
    expect(page).to_have_url(re.compile(r"q=a(\+|%20)smiling(\+|%20)cat"), timeout=30_000)
    link = page.url
    first = page.locator('[data-testid="stText"]').first.text_content()
    page.close()
    other = browser.new_context(viewport={"width": 1024, "height": 768})  # another student: only the link is shared
    copy = other.new_page()
    copy.goto(link, timeout=60_000)
    expect(copy.locator('[data-testid="stText"]').first).to_have_text(first, timeout=120_000)
    expect(copy.get_by_label("Describe what you are looking for")).to_have_value("a smiling cat")
    other.close()


def test_hovering_a_point_of_the_map_shows_its_picture(server, browser):
    """The demo's map is drawn with pictures: the mouse over a point opens Vega's tooltip with its thumbnail."""
    from playwright.sync_api import expect

    page = _open(browser, f"{server}/map", 1400, 1000, "trustworthiness")
    chart = page.locator('[data-testid="stVegaLiteChart"]')
    expect(chart).to_have_count(1, timeout=60_000)
    area = chart.bounding_box()
    picture = page.locator("#vg-tooltip-element.visible img")
    # A bounded grid over where the points lie (left of the names' column), nearest the middle first.
    grid = [(0.1 + 0.5 * i / 14, 0.1 + 0.7 * j / 11) for i in range(15) for j in range(12)]
    grid.sort(key=lambda p: (p[0] - 0.35) ** 2 + (p[1] - 0.45) ** 2)
    for fx, fy in grid:
        page.mouse.move(area["x"] + fx * area["width"], area["y"] + fy * area["height"])
        if picture.count():
            break
    else:
        pytest.fail("no point of the map showed a picture under the mouse")
    assert picture.first.get_attribute("src").startswith("data:image/webp;base64,")
    page.wait_for_function("document.querySelector('#vg-tooltip-element.visible img')?.naturalWidth > 0")
    assert page.locator("#vg-tooltip-element.visible h2").text_content().endswith("(image)")  # its caption
    assert page.locator('[data-testid="stException"]').count() == 0
    page.close()


def test_a_class_starts_watches_and_replays_a_training_run_at_1024(server, browser):
    """Start trains for everyone; the figures move while it trains; a second student sees the same run; replay."""
    from playwright.sync_api import expect

    page = _open(browser, f"{server}/lab", 1024, 768, "Learning rate")
    page.get_by_role("spinbutton", name="Steps").fill("200")
    page.get_by_role("spinbutton", name="Steps").press("Enter")
    expect(page.get_by_text("No run with these settings")).to_be_visible(timeout=60_000)
    page.get_by_role("button", name="Start").click()
    status = page.get_by_text(re.compile(r"training for everyone on this server, step [\d,]+ of 200"))
    expect(status).to_be_visible(timeout=60_000)
    seen = {status.text_content()}
    for _ in range(100):  # bounded: the figures are redrawn while it trains
        if page.get_by_text("Trained 200 steps").count():
            break
        if status.count():
            seen.add(status.text_content())
        page.wait_for_timeout(300)
    assert len(seen) >= 2, seen  # the step shown moved on without a click
    expect(page.get_by_text("Trained 200 steps").first).to_be_visible(timeout=120_000)
    expect(page.get_by_role("button", name="Start")).to_be_disabled(timeout=30_000)  # the page, not only the figures
    matrix = page.locator(".js-plotly-plot").first
    expect(matrix).to_contain_text("step 200")
    expect(page.get_by_text("Learning rate", exact=True)).to_be_hidden()  # the settings folded away once it started
    shown = matrix.bounding_box()
    assert shown["y"] + shown["height"] <= 768, shown  # the whole matrix on a projector's first screen
    other = browser.new_page(viewport={"width": 1024, "height": 768})  # a second student: no second training
    other.goto(f"{server}/lab", timeout=60_000)
    other.get_by_role("spinbutton", name="Steps").fill("200")
    other.get_by_role("spinbutton", name="Steps").press("Enter")
    expect(other.get_by_text("Trained 200 steps").first).to_be_visible(timeout=60_000)
    expect(other.get_by_role("button", name="Start")).to_be_disabled()
    other.close()
    page.get_by_role("button", name="Replay").click()
    expect(matrix).to_contain_text("step 0", timeout=10_000)  # the replay starts from the untrained head
    expect(matrix).to_contain_text("step 200", timeout=30_000)  # and ends where the run did
    assert page.locator('[data-testid="stException"]').count() == 0
    page.close()
