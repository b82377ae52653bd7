"""Server-wide work: models, spaces, maps, clusterings, baselines, cached once per server.

Each function keys its result by what it depends on (see :mod:`ui.shared`
for the machinery); results are shared between sessions and read-only.
"""

from __future__ import annotations

import threading
from dataclasses import replace
from pathlib import Path

import numpy as np
import streamlit as st

from similarity.encoders import Encoder, load_encoder
from similarity.ingest.bundled import BUNDLED_COLLECTIONS, SHIPPED_VECTORS
from similarity.ingest.collection import Collection, load_indexed
from similarity.ingest.files import thumbnail_png
from similarity.ingest.space import Space, embed_collection, missing_vectors
from similarity.search import ann
from similarity.search.modality import gap_closing, modality_gap
from similarity.search.pca import fit_pca
from similarity.search.query import PICTURE, TEXT, text_query
from similarity.search.relevance import (
    NullBaseline,
    noise_pictures,
    nonsense_words,
    null_baseline,
    null_queries,
    own_caption_reference,
    same_label_reference,
)
from similarity.storage.items import ItemTable
from similarity.storage.keys import CAPTION, IMAGE
from similarity.storage.lance import connect
from similarity.storage.vectors import EmbeddingStore
from similarity.views import clusters, maps, placement, shipped
from similarity.views.quality import own_pair_quality
from ui.shared import caches, shared, shared_with_progress, workers
from ui.text import plain

# --- models, stores, collections -------------------------------------------


@st.cache_resource(max_entries=3, show_spinner="Loading the model…")
def encoder_for(spec: str) -> Encoder:
    """The model a spec names (:func:`similarity.encoders.load_encoder`), loaded once per server."""
    return load_encoder(spec)


@st.cache_resource(show_spinner="Reading the demo collection…")
def bundled_collection(link: str) -> Collection:
    """A collection that comes with the app (:data:`similarity.ingest.bundled.BUNDLED_COLLECTIONS`), read once."""
    return BUNDLED_COLLECTIONS[link].load()


@st.cache_resource(max_entries=6)
def store_of(root: str, model_key: str, dim: int) -> EmbeddingStore:
    """One store object per folder and model, shared by every session."""
    return EmbeddingStore(Path(root), model_key, shipped=SHIPPED_VECTORS, dim=dim)


def space_of(encoder: Encoder, collection: Collection, root: str) -> Space:
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
            text = f"Embedding with {plain(encoder.name)}: {done:,} of {total:,} new vectors (kept on disk)"
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

            workers().submit(build)
    return None


# --- what hangs off a space ---------------------------------------------------


def null_vectors(encoder: Encoder, modality: str) -> np.ndarray:
    """Meaningless queries (nonsense words or noise pictures) in the model's space."""
    if modality == TEXT:
        return shared("null", (encoder.key, modality), lambda: encoder.encode_texts(nonsense_words()))
    return shared("null", (encoder.key, modality), lambda: encoder.encode_images(noise_pictures()))


def baselines(encoder: Encoder, space: Space, query, closing=None) -> dict[str, NullBaseline]:
    """Null baseline per kind of item for queries like ``query`` (its modality and arithmetic signs).

    ``closing``: the :class:`~similarity.search.modality.GapClosing` that made
    ``space``; the meaningless queries are moved the same way as real ones.
    """

    def compute() -> dict[str, NullBaseline]:
        vectors = null_queries(null_vectors(encoder, query.modality), query.signs)
        if closing is not None:
            vectors = closing.apply(vectors, np.full(len(vectors), query.modality == PICTURE))
        kinds = [kind for kind in (IMAGE, CAPTION) if len(space.rows((kind,)))]
        return {kind: null_baseline(vectors, space.vectors[space.rows((kind,))]) for kind in kinds}

    return shared("baseline", (space.key, query.modality, query.signs), compute)


def query_for(encoder: Encoder, text: str):
    """A typed query (with its arithmetic) encoded once per model and text: a class types the same examples."""
    return shared("queries", (encoder.key, text.strip()), lambda: text_query(encoder.encode_texts, text))


def label_vectors(encoder: Encoder, labels: tuple[str, ...]) -> np.ndarray:
    """Typed labels (zero-shot, cluster names) encoded once per model and label list."""
    return shared("labels", (encoder.key, labels), lambda: encoder.encode_texts(list(labels)))


def gap_of(space: Space):
    """The space's modality gap, or None when it lacks pictures or captions."""

    def compute():
        pictures, captions = space.rows((IMAGE,)), space.rows((CAPTION,))
        if len(pictures) < 2 or len(captions) < 2:
            return None
        own_pictures, own_captions = space.own_pairs()
        own = np.column_stack([np.searchsorted(pictures, own_pictures), np.searchsorted(captions, own_captions)])
        return modality_gap(space.vectors[pictures], space.vectors[captions], own)

    return shared("gap", (space.key,), compute)


def references(space: Space) -> dict:
    """(query modality, item kind) -> how close things that belong together are here (or None)."""

    def compute() -> dict:
        pictures, captions = space.own_pairs()
        own = own_caption_reference(space.vectors[pictures], space.vectors[captions])
        found = {(TEXT, IMAGE): own, (PICTURE, CAPTION): own}
        for kind, modality, what in ((IMAGE, PICTURE, "pictures"), (CAPTION, TEXT, "captions")):
            rows = space.rows((kind,))
            labels = [space.item_of(r).label for r in rows]
            found[modality, kind] = same_label_reference(space.vectors[rows], labels, what)
        return found

    return shared("references", (space.key,), compute)


def without_gap(space: Space):
    """(the space with its modality gap closed, the closing), once per server; None without both kinds."""

    def compute():
        pictures, captions = space.rows((IMAGE,)), space.rows((CAPTION,))
        if len(pictures) < 2 or len(captions) < 2:
            return None
        closing = gap_closing(space.vectors[pictures], space.vectors[captions])
        vectors = closing.apply(space.vectors, space.kind == IMAGE)
        return replace(space, vectors=vectors, key=f"{space.key}/gap-closed"), closing

    return shared("gap closed", (space.key,), compute)


def quality(encoder: Encoder, space: Space, labels: tuple[str, ...]):
    """How well the model finds the space's own pairs and labels, once per server for (space, label list)."""
    vectors = label_vectors(encoder, labels) if labels else None
    return shared("quality", (space.key, labels), lambda: own_pair_quality(space, labels, vectors))


def thumbnail(path: Path, size: int) -> bytes:
    """A result card's picture, made once per server: big photos are not shrunk again on every rerun."""
    return shared("thumbnails", (str(path), size), lambda: thumbnail_png(path, size))


def pca_of(space: Space, n_components: int):
    """The PCA noise filter fitted to the whole space (components can be sliced later)."""
    return shared("pca", (space.key, n_components), lambda: fit_pca(space.vectors, n_components))


def filtered_space(space: Space, pca, n: int) -> Space:
    """The space seen through the first ``n`` components of ``pca``."""
    return shared("filtered", (space.key, n), lambda: replace(space, vectors=pca.truncated(n).apply(space.vectors)))


def fitted_map(space: Space, method: str, kinds: tuple[str, ...]):
    """A 2-D map of the rows of ``kinds`` (a seeded sample of big spaces), fitted once per server.

    The demo's maps ship with its vectors (:mod:`similarity.views.shipped`): read, not fitted.
    """
    key = (space.key, method, kinds)
    if key not in caches()["map"] and (ready := shipped.shipped_map(space, method, kinds)) is not None:
        return shared("map", key, lambda: ready)
    rows = maps.map_rows(space.rows(kinds), method)
    return shared_with_progress(
        "map",
        key,
        lambda: maps.fit_map(method, space.vectors[rows]),
        f"Computing the {method} map of {len(rows):,} items",
        maps.estimate_seconds(method, len(rows)),
    )


def map_positions(space: Space, method: str, kinds: tuple[str, ...]) -> np.ndarray:
    """Where every row of ``kinds`` lies on its map, drawn or not (a sampled map places the rest once per server)."""
    fitted = fitted_map(space, method, kinds)
    rows = space.rows(kinds)
    drawn = maps.map_rows(rows, method)
    if len(drawn) == len(rows):
        return fitted.coords
    return shared_with_progress(
        "map positions",
        fitted.serial,  # not the space: an unseeded UMAP fitted again lands elsewhere
        lambda: placement.positions_of_all(fitted, space.vectors, rows, drawn),
        f"Placing the {len(rows) - len(drawn):,} items this {method} map does not draw",
        placement.estimate_placement_seconds(method, len(rows), len(drawn)),
    )


def missing_for(encoder: Encoder, collection: Collection) -> tuple[int, int]:
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
    """A clustering of the rows of ``kinds`` (k None = chosen by silhouette), once per server.

    The demo's first clustering ships with its vectors (:mod:`similarity.views.shipped`): read, not computed.
    """
    key = (space.key, kinds, method, k, reduce, n_known)
    if (
        key not in caches()["clusters"]
        and (ready := shipped.shipped_clustering(space, kinds, method, k, reduce, n_known)) is not None
    ):
        return shared("clusters", key, lambda: ready)
    rows = space.rows(kinds)
    return shared_with_progress(
        "clusters",
        key,
        lambda: clusters.explore_clusters(space.vectors[rows], method, k, reduce, n_known),
        f"Clustering {len(rows):,} items" + (" and choosing k" if k is None else ""),
        clusters.estimate_seconds(len(rows), k is None),
    )
