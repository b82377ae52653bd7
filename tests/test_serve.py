"""`make run` preloads: the first visitor's search finds the model, space and baseline ready."""

from pathlib import Path

from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parent.parent / "app.py")


def test_the_first_visit_after_preload_computes_nothing(monkeypatch, tmp_path):
    from ui import serve
    from ui.shared import caches

    monkeypatch.setenv("CLIP_EXPLORER_CACHE", str(tmp_path))
    serve.preload()
    before = {kind: c.computed for kind, c in caches().items()}
    at = AppTest.from_file(APP, default_timeout=180)
    at.switch_page("app_pages/search.py").run()
    assert not at.exception and any(c.value.startswith("#1 ") for c in at.caption)
    after = {kind: c.computed for kind, c in caches().items()}
    assert after["space"] == before["space"] and after["baseline"] == before["baseline"]
    assert not [p for p in tmp_path.rglob("*") if p.is_file()]  # nothing encoded, nothing written
