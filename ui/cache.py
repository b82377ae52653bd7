"""Server-wide caches: work that does not depend on the browser session.

A class of 30 opening the app pays for each computation once. Results are
keyed by what they depend on (the space key = model key + collection content
hash, and the parameters), never by arrays hashed per rerun, and each kind
keeps a bounded number of entries. Results are shared between sessions, so
callers treat them as read-only.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import numpy as np
import streamlit as st

from similarity import ann, models, projection
from similarity.collection import DEMO_VECTORS, Collection, load_demo, thumbnail_png
from similarity.embed import CAPTION, IMAGE, Space, embed_collection, missing_vectors
from similarity.relevance import (
    TEXT,
    NullBaseline,
    modality_gap,
    noise_pictures,
    nonsense_words,
    null_baseline,
    null_queries,
)
from similarity.store import EmbeddingStore, connect
from similarity.vector_table import ItemTable, load_indexed


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
    "looks": 16,
    "map": 12,
    "map positions": 4,  # every item's place on a sampled map: 8 bytes per item
    "indexed": 4,  # indexed collections' item lists (100k items: ~1 s to read)
    "coverage": 16,
    "clusters": 24,
    "pca": 6,
    "filtered": 8,  # the space through n components: one per slider position tried
    "thumbnails": 4096,  # ~5-20 KB each
    "ann": 2,  # IVF indexes of big spaces (a second copy of their vectors each)
}


@st.cache_resource
def caches() -> dict[str, SharedCache]:
    """One cache per kind of work, for the life of the server process."""
    return {kind: SharedCache(size) for kind, size in SIZES.items()}


@st.cache_resource
def _workers() -> ThreadPoolExecutor:
    # Long jobs run here, not in the visitor's script thread, so a student who
    # leaves does not cancel work the rest of the class is waiting for.
    return ThreadPoolExecutor(max_workers=2, thread_name_prefix="shared-work")


def shared(kind: str, key: tuple, compute: Callable):
    """The cached result of ``compute()`` for ``key``, computed once per server."""
    return caches()[kind].get(key, compute)


def shared_with_progress(kind: str, key: tuple, compute: Callable, what: str, estimate_s: float):
    """Like :func:`shared`, with a progress bar towards an estimated time while it runs."""
    cache = caches()[kind]
    if key in cache:
        return cache.get(key, compute)
    job = _workers().submit(cache.get, key, compute)
    bar, start = None, time.perf_counter()
    while not job.done():
        elapsed = time.perf_counter() - start
        text = f"{what}: {elapsed:.0f} s of about {estimate_s:.0f} s (done once for everyone on this server)"
        share = min(elapsed / max(estimate_s, 1e-3), 0.99)
        bar = bar.progress(share, text=text) if bar else st.progress(share, text=text)
        try:
            job.result(timeout=0.5)
        except TimeoutError:
            pass
    if bar:
        bar.empty()
    return job.result()


# --- models, stores, collections -------------------------------------------


@st.cache_resource(max_entries=3, show_spinner="Loading the model…")
def load_encoder(choice) -> models.Encoder:
    """The model for a :class:`ui.state.ModelChoice` (kind, arch, source)."""
    if choice.kind == "bundled":
        return models.load_bundled()
    if choice.kind == "pretrained":
        return models.load_pretrained(choice.arch, choice.source)
    return models.load_checkpoint(choice.source, choice.arch)


@st.cache_resource(show_spinner="Reading the demo collection…")
def demo_collection() -> Collection:
    return load_demo()


@st.cache_resource(max_entries=6)
def store_of(root: str, model_key: str, dim: int) -> EmbeddingStore:
    """One store object per folder and model, shared by every session."""
    return EmbeddingStore(Path(root), model_key, shipped=(DEMO_VECTORS,), dim=dim)


def space_of(encoder: models.Encoder, collection: Collection, root: str) -> Space:
    """The collection in the model's space; encodes only what the store lacks, with progress.

    An indexed collection's vectors come from its LanceDB index (nothing is
    encoded when it was indexed with this model).
    """
    root = collection.indexed_in or root
    store = store_of(root, encoder.key, encoder.dim)

    def compute() -> Space:
        store.catch_up()  # the indexer or another server process may have added vectors since it was read
        bar = None

        def progress(done: int, total: int) -> None:
            nonlocal bar
            text = f"Embedding with {encoder.name}: {done:,} of {total:,} new vectors (kept on disk)"
            bar = bar.progress(done / total, text=text) if bar else st.progress(done / total, text=text)

        space = embed_collection(encoder, store, collection, progress)
        if bar:
            bar.empty()
        return space

    return shared("space", (encoder.key, collection.content_hash, root), compute)


_building: set = set()
_building_lock = threading.Lock()


def ann_index(space: Space, kinds: tuple[str, ...]):
    """The space's ANN index when it is big enough to need one; None while it is built.

    The build runs once per server in the shared worker; until it is ready,
    searches are exact (slower, never wrong).
    """
    rows = space.rows(kinds)
    if len(rows) < ann.ANN_FROM:
        return None
    cache, key = caches()["ann"], (space.key, kinds)
    if key in cache:
        index = cache.get(key, lambda: None)
        return index if index.worthwhile else None
    with _building_lock:
        if key not in _building:
            _building.add(key)

            def build():
                try:
                    cache.get(key, lambda: ann.build(space.vectors, rows))
                finally:
                    _building.discard(key)

            _workers().submit(build)
    return None


# --- what hangs off a space ---------------------------------------------------


def null_vectors(encoder: models.Encoder, modality: str) -> np.ndarray:
    """Meaningless queries (nonsense words or noise pictures) in the model's space."""
    if modality == TEXT:
        return shared("null", (encoder.key, modality), lambda: encoder.encode_texts(nonsense_words()))
    return shared("null", (encoder.key, modality), lambda: encoder.encode_images(noise_pictures()))


def baselines(encoder: models.Encoder, space: Space, query) -> dict[str, NullBaseline]:
    """Null baseline per kind of item for queries like ``query`` (its modality and arithmetic signs)."""

    def compute() -> dict[str, NullBaseline]:
        vectors = null_queries(null_vectors(encoder, query.modality), query.signs)
        kinds = [kind for kind in (IMAGE, CAPTION) if len(space.rows((kind,)))]
        return {kind: null_baseline(vectors, space.vectors[space.rows((kind,))]) for kind in kinds}

    return shared("baseline", (space.key, query.modality, query.signs), compute)


def text_query(encoder: models.Encoder, text: str):
    """A typed query (with its arithmetic) encoded once per model and text: a class types the same examples."""
    from similarity.search import text_query as encode_query

    return shared("queries", (encoder.key, text.strip()), lambda: encode_query(encoder.encode_texts, text))


def label_vectors(encoder: models.Encoder, labels: tuple[str, ...]) -> np.ndarray:
    """Typed labels (zero-shot, cluster names) encoded once per model and label list."""
    return shared("labels", (encoder.key, labels), lambda: encoder.encode_texts(list(labels)))


def gap_of(space: Space):
    """The space's modality gap, or None when it lacks pictures or captions."""

    def compute():
        pictures, captions = space.rows((IMAGE,)), space.rows((CAPTION,))
        if len(pictures) < 2 or len(captions) < 2:
            return None
        caption_of = {int(space.item[r]): j for j, r in enumerate(captions)}
        own = np.array(
            [(i, caption_of[int(space.item[r])]) for i, r in enumerate(pictures) if int(space.item[r]) in caption_of]
        ).reshape(-1, 2)
        return modality_gap(space.vectors[pictures], space.vectors[captions], own)

    return shared("gap", (space.key,), compute)


def thumbnail(path: Path, size: int) -> bytes:
    """A result card's picture, made once per server: big photos are not shrunk again on every rerun."""
    return shared("thumbnails", (str(path), size), lambda: thumbnail_png(path, size))


def pca_of(space: Space, n_components: int):
    """The PCA noise filter fitted to the whole space (components can be sliced later)."""
    from similarity.search import fit_pca

    return shared("pca", (space.key, n_components), lambda: fit_pca(space.vectors, n_components))


def filtered_space(space: Space, pca, n: int) -> Space:
    """The space seen through the first ``n`` components of ``pca``."""
    return shared("filtered", (space.key, n), lambda: replace(space, vectors=pca.truncated(n).apply(space.vectors)))


def fitted_map(space: Space, method: str, kinds: tuple[str, ...]):
    """A 2-D map of the rows of ``kinds`` (a seeded sample of big spaces), fitted once per server."""
    rows = projection.map_rows(space.rows(kinds), method)
    return shared_with_progress(
        "map",
        (space.key, method, kinds),
        lambda: projection.fit_map(method, space.vectors[rows]),
        f"Computing the {method} map of {len(rows):,} items",
        projection.estimate_seconds(method, len(rows)),
    )


def map_positions(space: Space, method: str, kinds: tuple[str, ...]) -> np.ndarray:
    """Where every row of ``kinds`` lies on its map, drawn or not (a sampled map places the rest once per server)."""
    fitted = fitted_map(space, method, kinds)
    rows = space.rows(kinds)
    drawn = projection.map_rows(rows, method)
    if len(drawn) == len(rows):
        return fitted.coords
    return shared_with_progress(
        "map positions",
        fitted.serial,  # not the space: an unseeded UMAP fitted again lands elsewhere
        lambda: projection.positions_of_all(fitted, space.vectors, rows, drawn),
        f"Placing the {len(rows) - len(drawn):,} items this {method} map does not draw",
        projection.estimate_placement_seconds(method, len(rows), len(drawn)),
    )


def missing_for(encoder: models.Encoder, collection: Collection) -> tuple[int, int]:
    """(pictures, captions) opening an indexed collection with ``encoder`` would encode, once per state of the index."""
    store = store_of(collection.indexed_in, encoder.key, encoder.dim)
    store.catch_up()
    key = (encoder.key, collection.content_hash, collection.indexed_in, len(store))
    return shared("coverage", key, lambda: missing_vectors(store, collection))


def indexed_collection(name: str, uri: str) -> Collection:
    """An indexed collection, read once per server for each version of its table (the indexer's runs make new ones)."""
    state = ItemTable(connect(uri), name).state()
    return shared("indexed", (uri, name, state), lambda: load_indexed(name, uri))


def clustering(space: Space, kinds: tuple[str, ...], method: str, k: int | None, reduce: int, n_known: int):
    """A clustering of the rows of ``kinds`` (k None = chosen by silhouette), once per server."""
    from similarity.clusters import estimate_seconds, explore_clusters

    rows = space.rows(kinds)
    return shared_with_progress(
        "clusters",
        (space.key, kinds, method, k, reduce, n_known),
        lambda: explore_clusters(space.vectors[rows], method, k, reduce, n_known),
        f"Clustering {len(rows):,} items" + (" and choosing k" if k is None else ""),
        estimate_seconds(len(rows), k is None),
    )
