"""The machinery of server-wide work: a bounded cache per kind of work, computed once per key.

A class of 30 opening the app pays for each computation once. Results are
keyed by what they depend on (the space key = model key + collection content
hash, and the parameters), never by arrays hashed per rerun, and each kind
keeps a bounded number of entries. Results are shared between sessions, so
callers treat them as read-only. What is cached is in :mod:`ui.cache`.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import streamlit as st


class SharedCache:
    """Thread-safe LRU of computed results; each key is computed once.

    Concurrent callers of a key being computed wait for it instead of
    computing it again. ``computed`` counts real computations (tests and
    benchmarks read it).
    """

    def __init__(self, max_entries: int):
        self.max_entries = max_entries
        self.computed = 0
        self._entries: OrderedDict = OrderedDict()
        self._key_locks: dict = {}
        self._lock = threading.Lock()

    def get(self, key, compute: Callable):
        with self._lock:
            if key in self._entries:
                self._entries.move_to_end(key)
                return self._entries[key]
            key_lock = self._key_locks.setdefault(key, threading.Lock())
        with key_lock:
            with self._lock:
                if key in self._entries:
                    return self._entries[key]
            try:
                value = compute()
            except BaseException:  # e.g. a map of too few items: the next caller gets the same message
                with self._lock:
                    self._key_locks.pop(key, None)
                raise
            with self._lock:
                self.computed += 1
                self._entries[key] = value
                while len(self._entries) > self.max_entries:
                    self._entries.popitem(last=False)
                self._key_locks.pop(key, None)
        return value

    def __contains__(self, key) -> bool:
        with self._lock:
            return key in self._entries


# Entries kept per kind of work: a few spaces (models x collections), more of
# the small results that hang off them.
SIZES = {
    "space": 6,
    "baseline": 24,
    "null": 8,
    "labels": 32,
    "queries": 512,
    "gap": 6,
    "references": 6,  # how close things that belong together are, per space
    "gap closed": 3,  # a space with its modality gap removed (a second copy of its vectors)
    "looks": 16,
    "map": 12,
    "map positions": 4,  # every item's place on a sampled map: 8 bytes per item
    "indexed": 4,  # indexed collections' item lists (100k items: ~1 s to read)
    "coverage": 16,
    "clusters": 24,
    "quality": 12,  # recall and zero-shot figures per (space, label list)
    "pca": 6,
    "filtered": 8,  # the space through n components: one per slider position tried
    "thumbnails": 4096,  # ~5-20 KB each
    "map pictures": 8,  # a map's tooltip thumbnails (~0.8 KB each, <= 3,000: ~2.4 MB) and its example pictures
    "ann": 2,  # IVF indexes of big spaces (a second copy of their vectors each)
    "fields": 6,  # each collection's filter fields: a few arrays of one value per item
    "narrowed": 12,  # (items kept, the space narrowed by a filter): a copy of the kept rows' vectors each
    "why": 64,  # "Why this matched" explanations: up to two 192 px pictures each (~0.2 MB)
    "lab": 4,  # the lab's data (the demo's backbone features, ~10 MB) and the shipped model's vectors
}


@st.cache_resource
def caches() -> dict[str, SharedCache]:
    """One cache per kind of work, for the life of the server process."""
    return {kind: SharedCache(size) for kind, size in SIZES.items()}


@st.cache_resource
def workers() -> ThreadPoolExecutor:
    # Long jobs run here, not in the visitor's script thread, so a student who
    # leaves does not cancel work the rest of the class is waiting for.
    return ThreadPoolExecutor(max_workers=2, thread_name_prefix="shared-work")


def shared(kind: str, key: tuple, compute: Callable):
    """The cached result of ``compute()`` for ``key``, computed once per server."""
    return caches()[kind].get(key, compute)


def progress_of(elapsed: float, estimate_s: float) -> tuple[float, str]:
    """(bar share, words) after ``elapsed`` seconds of work estimated at ``estimate_s``.

    The estimate shown is never less than the time already spent: past it the
    words say so, and the bar keeps creeping on (half of what is left per
    estimate's length) without reaching the end.

    >>> [progress_of(seconds, 8.4)[1] for seconds in (3.2, 12.0)]
    ['3 s of about 9 s', '12 s, taking longer than the estimated 9 s']
    """
    shown = max(1, math.ceil(estimate_s))
    if elapsed <= shown:
        return 0.9 * elapsed / shown, f"{elapsed:.0f} s of about {shown} s"
    over = (elapsed - shown) / shown
    return 0.99 - 0.09 * 0.5**over, f"{elapsed:.0f} s, taking longer than the estimated {shown} s"


def shared_with_progress(kind: str, key: tuple, compute: Callable, what: str, estimate_s: float):
    """Like :func:`shared`, with a progress bar towards an estimated time while it runs."""
    cache = caches()[kind]
    if key in cache:
        return cache.get(key, compute)
    job = workers().submit(cache.get, key, compute)
    bar, start = None, time.perf_counter()
    while not job.done():
        share, said = progress_of(time.perf_counter() - start, estimate_s)
        text = f"{what}: {said} (done once for everyone on this server)"
        bar = bar.progress(share, text=text) if bar else st.progress(share, text=text)
        try:
            job.result(timeout=0.5)
        except TimeoutError:
            pass
    if bar:
        bar.empty()
    return job.result()
