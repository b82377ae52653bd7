"""Helpers shared by tests and benchmarks: free ports, app servers, the browser, simulated students.

Tests import it as ``support``; benchmarks as ``tests.support`` (with the
repository root on ``sys.path``). Tests never import benchmarks. Servers
listen on 127.0.0.1 only, and every loop is bounded in time and count.
"""

from __future__ import annotations

import contextlib
import os
import random
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from similarity.limits import LAB_REFRESH_S
from ui.serve_class import wait_healthy

ROOT = Path(__file__).resolve().parent.parent
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

QUERIES = ["a red fruit", "sports", "a boat", "a smiling cat", "flag of japan", "fruit - red", "music", "a tree"]


ACTION_TIMEOUT_S = 120


# Mean seconds a student looks at the results before the next action (uniform
# 0.5x-1.5x). The class "searches every 10 s"; 5 s is twice as busy.
THINK_S = 5.0


@dataclass
class Tally:
    """What the sessions did: latencies per action, errors, sessions that opened."""

    latencies: dict[str, list[float]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    opened: int = 0
    notes: set[str] = field(default_factory=set)  # e.g. each "Trained ..." line the lab's watchers saw
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, action: str, seconds: float) -> None:
        with self.lock:
            self.latencies.setdefault(action, []).append(seconds)

    def fail(self, message: str) -> None:
        with self.lock:
            self.errors.append(message)


class Student:
    """One browser session, spoken to in Streamlit's protocol."""

    def __init__(self, base_url: str):
        from websockets.sync.client import connect

        # A first page load gives the proxy's sticky cookie (if any), as a browser would get it.
        with urllib.request.urlopen(base_url + "/", timeout=30) as response:
            cookies = [c.split(";")[0] for c in response.headers.get_all("Set-Cookie") or []]
        self._exit = contextlib.ExitStack()
        self.ws = self._exit.enter_context(
            connect(
                base_url.replace("http", "ws", 1) + "/_stcore/stream",
                subprotocols=["streamlit"],
                origin=base_url,
                additional_headers={"Cookie": "; ".join(cookies)} if cookies else None,
                max_size=None,
                open_timeout=30,
            )
        )
        self.widgets: dict[tuple[str, str], str] = {}  # (page, user key) -> widget id, learnt from the deltas
        self.texts: list[str] = []  # the markdown and captions the last run showed

    def run(self, page: str, query: str | None = None, press: str | None = None) -> None:
        """Rerun ``page`` (with the search box set to ``query``, or the button of key ``press`` clicked)
        and wait until the script finishes."""
        from streamlit.proto.BackMsg_pb2 import BackMsg
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        message = BackMsg()
        message.rerun_script.query_string = ""
        message.rerun_script.page_name = page
        if query is not None and (page, "query_text") in self.widgets:
            state = message.rerun_script.widget_states.widgets.add()
            state.id, state.string_value = self.widgets[page, "query_text"], query
        if press is not None and (page, press) in self.widgets:
            state = message.rerun_script.widget_states.widgets.add()
            state.id, state.trigger_value = self.widgets[page, press], True
        self.ws.send(message.SerializeToString())
        self.texts = []
        deadline = time.monotonic() + ACTION_TIMEOUT_S
        while time.monotonic() < deadline:
            reply = ForwardMsg()
            reply.ParseFromString(self.ws.recv(timeout=max(0.1, deadline - time.monotonic())))
            kind = reply.WhichOneof("type")
            if kind == "delta" and reply.delta.WhichOneof("type") == "new_element":
                element = reply.delta.new_element
                which = element.WhichOneof("type")
                if which == "exception":
                    raise RuntimeError(f"{page}: exception shown: {element.exception.message[:80]}")
                if which == "markdown":
                    self.texts.append(element.markdown.body)
                widget_id = getattr(getattr(element, which), "id", "") if which else ""
                if isinstance(widget_id, str) and "-" in widget_id and widget_id.startswith("$$ID"):
                    self.widgets[page, widget_id.rsplit("-", 1)[-1]] = widget_id
            if kind == "script_finished":
                return
        raise TimeoutError(f"{page}: no answer in {ACTION_TIMEOUT_S} s")

    def close(self) -> None:
        self._exit.close()


def arrive(base_url: str, page: str, action: str, tally: Tally) -> tuple[Student, float]:
    """A new session opening ``page``, timed as ``action`` and counted; returns it and when it began."""
    start = time.monotonic()
    me = Student(base_url)
    me.run(page)
    tally.record(action, time.monotonic() - start)
    with tally.lock:
        tally.opened += 1
    return me, start


def student(base_url: str, seconds: float, tally: Tally, seed: int, think_s: float) -> None:
    rng = random.Random(seed)
    try:
        me, start = arrive(base_url, "search", "open the app", tally)
        stop = start + seconds
        for step in range(10_000):  # bounded in count as well as time
            if time.monotonic() >= stop:
                break
            page, action = (
                ("map", "visit Map")
                if step % 6 == 3
                else ("clusters", "visit Clusters")
                if step % 6 == 5
                else ("search", "search")
            )
            began = time.monotonic()
            me.run(page, rng.choice(QUERIES) if page != "clusters" else None)
            tally.record(action, time.monotonic() - began)
            time.sleep(rng.uniform(0.5, 1.5) * think_s)  # a student reads the results
        me.close()
    except Exception as err:  # noqa: BLE001 - every failure is counted, none stops the others
        tally.fail(f"{type(err).__name__}: {err}")


def lab_watcher(base_url: str, seconds: float, tally: Tally, seed: int, think_s: float) -> None:
    """A student on "Watch it learn": presses Start with the default settings, then watches the run to its end.

    Watching reruns the whole page as often as the page redraws its figures
    (a browser reruns only the figures' fragment: this is an upper bound).
    """
    doing = "open the lab"
    try:
        me, start = arrive(base_url, "lab", doing, tally)
        time.sleep(random.Random(seed).uniform(0, think_s))  # not all at the same instant
        began, doing = time.monotonic(), "press Start"
        me.run("lab", press="lab_start")
        tally.record("press Start", time.monotonic() - began)
        for _ in range(10_000):  # bounded in count as well as time
            if time.monotonic() >= start + seconds:
                tally.fail("the run had not ended when the time was up")
                break
            began, doing = time.monotonic(), "watch"
            me.run("lab")
            tally.record("watch (page rerun)", time.monotonic() - began)
            if ended := [t for t in me.texts if re.search(r": Trained [\d,]+ steps in", t)]:
                with tally.lock:
                    tally.notes.add(ended[0])
                break
            time.sleep(LAB_REFRESH_S)
        me.close()
    except Exception as err:  # noqa: BLE001 - every failure is counted, none stops the others
        tally.fail(f"{doing}: {type(err).__name__}: {err}")


def warm(base_url: str) -> None:
    """One visit to each page, so the server-wide work is done before the measured load."""
    me = Student(base_url)
    for page in ("search", "map", "clusters", "lab"):
        me.run(page)
    me.close()


def run_load(base_url: str, sessions: int, seconds: float, think_s: float = THINK_S, who=student) -> Tally:
    """Start ``sessions`` students (``who``: :func:`student` or :func:`lab_watcher`) at once for ``seconds``."""
    tally = Tally()
    threads = [
        threading.Thread(target=who, args=(base_url, seconds, tally, i, think_s), daemon=True) for i in range(sessions)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=seconds + 2 * ACTION_TIMEOUT_S)
    alive = sum(t.is_alive() for t in threads)
    if alive:
        tally.fail(f"{alive} sessions still running after the time limit")
    return tally


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_servers(processes: int, store: str) -> tuple[subprocess.Popen, str]:
    """The app on 127.0.0.1: one server, or ``processes`` servers behind HAProxy."""
    port = free_port()
    env = {**os.environ, "CLIP_EXPLORER_CACHE": store, "HF_HUB_OFFLINE": "1"}
    if processes == 1:
        command = [sys.executable, "-m", "ui.serve", "--server.port", str(port), "--server.address", "127.0.0.1"]
    else:
        command = [sys.executable, "-m", "ui.serve_class", "--processes", str(processes), "--port", str(port)]
    server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    wait_healthy(url)
    return server, url


def app_test(store_root: str):
    """The whole app in Streamlit's AppTest (a new browser session), on a given embedding store."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180)
    at.session_state["store_root"] = store_root
    return at
