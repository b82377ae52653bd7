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


def test_make_run_prints_no_context_warnings_while_it_preloads(tmp_path):
    """The preload thread fills caches outside a visitor's run: Streamlit must not warn about it in the log."""
    import os
    import subprocess
    import sys

    from support import ROOT, Student, free_port

    from ui.serve_class import wait_healthy

    port = free_port()
    env = {**os.environ, "CLIP_EXPLORER_CACHE": str(tmp_path), "HF_HUB_OFFLINE": "1"}
    command = [sys.executable, "-m", "ui.serve", "--server.port", str(port), "--server.address", "127.0.0.1"]
    server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        url = f"http://127.0.0.1:{port}"
        wait_healthy(url, limit_s=60)
        student = Student(url)
        student.run("search")  # waits for the model and demo space the preload is computing
        student.close()
    finally:
        server.terminate()
        output, _ = server.communicate(timeout=30)
    assert "Stopping" in output or "URL" in output  # the log was read
    assert "missing ScriptRunContext" not in output
