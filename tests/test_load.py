"""A small class in CI: 3 websocket sessions for 10 s against 2 processes behind HAProxy, zero errors."""

import shutil
from pathlib import Path

import pytest
from support import run_load, start_servers


@pytest.fixture
def class_server(tmp_path):
    if not shutil.which("haproxy") and not Path("/usr/sbin/haproxy").exists():
        pytest.skip("HAProxy is not installed (run `make system`)")
    server, url = start_servers(2, str(tmp_path / "store"))
    yield url
    server.terminate()
    server.wait(timeout=60)
    assert server.returncode == 0  # every process stopped cleanly


def test_three_students_for_ten_seconds_get_no_errors(class_server):
    import urllib.request

    with urllib.request.urlopen(class_server + "/") as response:  # the proxy keeps a browser on one process
        assert "CLIP_SERVER=app" in (response.headers.get("Set-Cookie") or "")
    tally = run_load(class_server, sessions=3, seconds=10, think_s=1.0)
    assert tally.errors == [] and tally.opened == 3
    assert len(tally.latencies["search"]) >= 3 and "open the app" in tally.latencies


def test_three_students_pressing_start_on_the_lab_share_one_training(tmp_path):
    from support import lab_watcher

    server, url = start_servers(1, str(tmp_path / "store"))
    try:
        tally = run_load(url, sessions=3, seconds=120, think_s=1.0, who=lab_watcher)
    finally:
        server.terminate()
        server.wait(timeout=60)
    assert tally.errors == [] and tally.opened == 3
    assert len(tally.latencies["press Start"]) == 3
    (line,) = tally.notes  # every student saw the same run end: "Trained 300 steps in 14.2 s (21 steps/s)."
    assert line.startswith("temperature 0.07: Trained 300 steps in")
