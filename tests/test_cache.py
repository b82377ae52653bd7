"""The server-wide cache: each key computed once, even by concurrent sessions; bounded."""

import threading
import time

from ui.cache import SharedCache


def test_concurrent_sessions_compute_a_key_once():
    cache, calls = SharedCache(max_entries=4), []

    def slow():
        calls.append(1)
        time.sleep(0.2)
        return "map"

    results = []
    threads = [threading.Thread(target=lambda: results.append(cache.get(("space", "PCA"), slow))) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=10)
    assert results == ["map"] * 8 and len(calls) == 1 and cache.computed == 1


def test_least_recently_used_entries_are_dropped_beyond_the_bound():
    cache = SharedCache(max_entries=2)
    for key in ("a", "b"):
        cache.get(key, lambda key=key: key.upper())
    cache.get("a", lambda: "recomputed")  # "a" is now the most recent
    cache.get("c", lambda: "C")
    assert "a" in cache and "c" in cache and "b" not in cache
    assert cache.get("a", lambda: "recomputed") == "A" and cache.computed == 3
