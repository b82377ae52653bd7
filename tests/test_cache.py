"""The server-wide cache: each key computed once, even by concurrent sessions; bounded."""

import threading
import time

from ui.shared import SharedCache


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


def test_a_failed_computation_is_not_cached_and_leaves_no_lock_behind():
    import pytest

    cache = SharedCache(max_entries=2)

    def refuse():
        raise ValueError("a map needs at least 3 items")

    for _ in range(2):  # every caller gets the message; nothing is stored
        with pytest.raises(ValueError, match="at least 3 items"):
            cache.get("tiny", refuse)
    assert "tiny" not in cache and cache.computed == 0 and not cache._key_locks
