"""Serve a class: N app processes behind HAProxy, one address for the students.

One Streamlit process runs every visitor's script in one Python interpreter,
so it tops out near one CPU core. ``python -m ui.serve_class --processes N``
(``make serve-class``) starts N ``ui.serve`` processes on local ports and
HAProxy (Debian's ``haproxy``) in front of them: each browser is kept on one
process by a cookie (its session, uploads and pictures live there), and
websockets pass through. All processes read the same vector store; each
computes its own maps and clusterings once. Ctrl+C (or SIGTERM) stops them all.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

HAPROXY_CONFIG = """
global
    maxconn 2000

defaults
    mode http
    timeout connect 5s
    timeout client 60s
    timeout server 300s
    # A student's websocket stays open all lesson long.
    timeout tunnel 8h

frontend class
    bind {bind}:{port}
    default_backend app

backend app
    balance leastconn
    # Sticky: a browser's first response sets the cookie naming its process.
    cookie CLIP_SERVER insert indirect nocache
    option httpchk GET /_stcore/health
{servers}
"""


def haproxy_config(bind: str, port: int, backend_ports: list[int]) -> str:
    """HAProxy configuration for the class's address and the app processes' ports."""
    servers = "\n".join(f"    server app{i} 127.0.0.1:{p} check cookie app{i}" for i, p in enumerate(backend_ports))
    return HAPROXY_CONFIG.format(bind=bind, port=port, servers=servers)


def wait_healthy(url: str, limit_s: float = 120) -> None:
    """Return once the app at ``url`` answers its health check; TimeoutError after ``limit_s``."""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"{url}/_stcore/health", timeout=2)
            return
        except OSError:
            time.sleep(0.2)
    raise TimeoutError(f"{url} did not answer within {limit_s:.0f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--processes", type=int, default=max(1, os.cpu_count() or 1))
    parser.add_argument("--port", type=int, default=8501, help="the address students open")
    parser.add_argument("--bind", default="127.0.0.1", help="0.0.0.0 to let a classroom network in")
    args = parser.parse_args()
    haproxy = shutil.which("haproxy") or "/usr/sbin/haproxy"
    if not Path(haproxy).exists():
        sys.exit("HAProxy is not installed: `sudo apt-get install haproxy` (or `make system`).")
    first = args.port + 10
    ports = list(range(first, first + args.processes))
    children: list[subprocess.Popen] = []

    def stop() -> None:
        for child in children:
            if child.poll() is None:
                child.terminate()
        for child in children:
            try:
                child.wait(timeout=30)
            except subprocess.TimeoutExpired:
                child.kill()

    def on_signal(*_) -> None:
        stop()
        sys.exit(0)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        for port in ports:
            options = ["--server.port", str(port), "--server.address", "127.0.0.1", "--server.headless", "true"]
            children.append(subprocess.Popen([sys.executable, "-m", "ui.serve", *options], cwd=ROOT))
        for port in ports:
            wait_healthy(f"http://127.0.0.1:{port}")
        with tempfile.TemporaryDirectory() as tmp:
            config = Path(tmp) / "haproxy.cfg"
            config.write_text(haproxy_config(args.bind, args.port, ports), encoding="utf-8")
            children.append(subprocess.Popen([haproxy, "-db", "-f", str(config)]))
            print(f"A class on http://{args.bind}:{args.port} served by {args.processes} processes", flush=True)
            while all(child.poll() is None for child in children):
                time.sleep(1)
            sys.exit("a server process stopped: stopping the others")
    finally:
        stop()


if __name__ == "__main__":
    main()
