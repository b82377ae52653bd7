"""Load benchmark: N simulated students over Streamlit's own websocket protocol (no browsers).

Each session opens the app on the Search page, then for a fixed time types
searches, and now and then visits Map and Clusters, like a student following
a class (:class:`tests.support.Student`). It measures the server: latency of
each action (send -> the script's "finished" message), errors (exceptions
shown, timeouts, dropped connections), and the server processes' memory and CPU.

    python benchmarks/load.py --sessions 1 10 30 --seconds 60 --processes 1 2

``--lab``: every student opens "Watch it learn", presses Start with the
default settings (one run for the whole server) and watches it to its end.

``--processes N`` > 1 starts ``python -m ui.serve_class`` (N servers behind
HAProxy with sticky sessions). Every loop is bounded in time and count;
servers listen on 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from tests.support import THINK_S, Tally, lab_watcher, run_load, start_servers, student, warm  # noqa: E402


def process_tree(pid: int) -> list[int]:
    children = Path(f"/proc/{pid}/task/{pid}/children")
    kids = [int(c) for c in children.read_text().split()] if children.exists() else []
    return [pid] + [p for kid in kids for p in process_tree(kid)]


def usage(pid: int) -> tuple[float, float]:
    """(RSS in MB, CPU seconds) of a process and its children."""
    rss = cpu = 0.0
    for p in process_tree(pid):
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            cpu += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
            rss += int(fields[21]) * os.sysconf("SC_PAGE_SIZE") / 1e6
        except (OSError, IndexError, ValueError):
            pass
    return rss, cpu


def summary(label: str, tally: Tally, seconds: float, rss: float, cpu: float) -> str:
    lines = [
        f"{label}: {tally.opened} sessions opened, errors {len(tally.errors)}, "
        f"server RSS {rss:,.0f} MB, CPU {cpu / seconds:.2f} cores"
    ]
    for action, times in sorted(tally.latencies.items()):
        q = statistics.quantiles(times, n=20, method="inclusive") if len(times) >= 2 else [times[0]] * 19
        p50, p95 = statistics.median(times), q[18]
        lines.append(f"  {action:15s} n={len(times):4d}  p50 {p50:5.2f} s  p95 {p95:5.2f} s  max {max(times):5.2f} s")
    lines += [f"  seen: {note}" for note in sorted(tally.notes)]
    lines += [f"  error: {e}" for e in tally.errors[:5]]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, nargs="+", default=[1, 10, 30])
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--processes", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--think", type=float, default=THINK_S, help="mean seconds between a student's actions")
    parser.add_argument(
        "--lab", action="store_true", help="every student presses Start on Watch it learn and watches the run"
    )
    args = parser.parse_args()
    for processes in args.processes:
        with tempfile.TemporaryDirectory() as store:
            server, url = start_servers(processes, store)
            try:
                for _ in range(processes):  # each server process does its server-wide work once
                    warm(url)
                for n in args.sessions:
                    rss0, cpu0 = usage(server.pid)
                    started = time.monotonic()
                    tally = run_load(url, n, args.seconds, args.think, lab_watcher if args.lab else student)
                    elapsed = time.monotonic() - started
                    rss, cpu = usage(server.pid)
                    print(
                        f"think time {args.think:.1f} s; "
                        + summary(
                            f"{processes} process(es), {n} sessions x {args.seconds:.0f} s",
                            tally,
                            elapsed,
                            rss,
                            cpu - cpu0,
                        ),
                        flush=True,
                    )
            finally:
                server.terminate()
                server.wait(timeout=60)


if __name__ == "__main__":
    main()
