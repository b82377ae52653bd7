"""The demo's maps and default clustering, computed once and shipped beside its vectors.

A fresh server would otherwise fit every map (t-SNE: tens of seconds on two
cores) and scan k on the first visit to Map and Clusters. ``views.npz`` beside
each bundled collection (:mod:`similarity.ingest.bundled`: ``data/demo/``,
``data/clipart/``) holds, for the bundled model and the collection as they are now:

- every map (PCA, UMAP, t-SNE x pictures, captions, both) with its
  trustworthiness. PCA ships its mean and two components, so its points and
  ``place`` are PCA's own exact transform of the space's vectors; UMAP and
  t-SNE ship their points as float16 (about 3 significant digits: a t-SNE map
  spans ±80, so points move by < 0.06, far below a drawn dot) and place a
  query at the mean position of its nearest items, as a fresh fit does;
- the clustering the Clusters page opens with (k-means on the pictures, k
  chosen by silhouette): labels, silhouette, the k scan and its notes.

The file is tagged with the model key (the weights' hash) and the demo's
content hash: a retrained model or a changed demo ignores it and computes
as before. ``python -m similarity.views.shipped [demo|clipart]`` (run by
``make model`` for the demo, by ``make`` for the clipart) writes it again.
"""

from __future__ import annotations

import sys
import tempfile
import time
import zipfile
from functools import partial
from pathlib import Path

import numpy as np

from similarity.encoders import Encoder, load_encoder
from similarity.ingest.bundled import BUNDLED_COLLECTIONS, EMOJI, SHIPPED_VECTORS, Bundled
from similarity.ingest.space import Space, embed_collection
from similarity.storage.keys import CAPTION, IMAGE
from similarity.storage.vectors import EmbeddingStore
from similarity.views.clusters import CLUSTERERS, Clustering, KScan, explore_clusters
from similarity.views.distortion import trustworthiness
from similarity.views.maps import MIN_POINTS, PROJECTORS, FittedMap, fit_map, map_rows, place_by_neighbours

MAP_KINDS = ((IMAGE,), (CAPTION,), (IMAGE, CAPTION))  # the Map page's Pictures / Captions / Both
SEED = 0  # the seed the app fits maps and clusterings with


def first_clustering(space: Space) -> tuple[tuple[str, ...], str, int | None, int, int]:
    """(kinds, method, k, reduce, n_known) of the Clusters page's first visit (app_pages/clusters.py):
    the pictures (captions when there are none), the first clusterer, k by silhouette, no PCA.
    """
    kinds = (IMAGE,) if len(space.rows((IMAGE,))) else (CAPTION,)
    n_known = len({label for r in space.rows(kinds) if (label := space.item_of(r).label)})
    return kinds, next(iter(CLUSTERERS)), None, 0, n_known


def _map_prefix(method: str, kinds: tuple[str, ...]) -> str:
    return f"map.{method}.{'+'.join(kinds)}."


def _pca_place(mean: np.ndarray, components: np.ndarray, queries: np.ndarray) -> np.ndarray:
    """PCA's transform: the centred vectors on the two components."""
    return ((np.atleast_2d(queries) - mean) @ components.T).astype(np.float32)


def ship_views(space: Space, path: Path) -> dict[str, float]:
    """Fit every map and the first clustering of ``space`` and write them to ``path``.

    Returns the seconds each fit took on this machine (the figures behind
    the progress estimates).
    """
    model_key, content_hash = space.key.rsplit("/", 1)
    arrays: dict[str, np.ndarray] = {"model_key": np.array(model_key), "content_hash": np.array(content_hash)}
    seconds = {}
    for method in PROJECTORS:
        for kinds in MAP_KINDS:
            rows = map_rows(space.rows(kinds), method, SEED)
            if len(rows) < MIN_POINTS:
                continue
            vectors, prefix = space.vectors[rows], _map_prefix(method, kinds)
            start = time.perf_counter()
            fitted = fit_map(method, vectors, SEED)
            what = f"{method} map of {len(rows):,} ({'+'.join(kinds)})"
            seconds[what] = time.perf_counter() - start
            if method == "PCA":
                pca = fitted.place.__self__  # the fitted sklearn PCA whose transform places points
                arrays[prefix + "mean"] = pca.mean_.astype(np.float32)
                arrays[prefix + "components"] = pca.components_.astype(np.float32)
                coords = _pca_place(arrays[prefix + "mean"], arrays[prefix + "components"], vectors)
            else:
                arrays[prefix + "coords"] = fitted.coords.astype(np.float16)
                coords = arrays[prefix + "coords"].astype(np.float32)
            start = time.perf_counter()
            arrays[prefix + "trust"] = np.array(trustworthiness(vectors, coords, seed=SEED))
            seconds[f"{what}: trustworthiness"] = time.perf_counter() - start
    kinds, method, k, reduce, n_known = first_clustering(space)
    start = time.perf_counter()
    result = explore_clusters(space.vectors[space.rows(kinds)], method, k, reduce, n_known, SEED)
    seconds[f"{method} of {len(space.rows(kinds)):,} with the k scan"] = time.perf_counter() - start
    scan = result.scan or KScan(np.zeros(0, int), np.zeros(0), np.zeros(0))
    arrays |= {
        "clusters.kinds": np.array("+".join(kinds)),
        "clusters.method": np.array(method),
        "clusters.k": np.array(-1 if k is None else k),
        "clusters.reduce": np.array(reduce),
        "clusters.n_known": np.array(n_known),
        "clusters.labels": result.labels.astype(np.int16),
        "clusters.silhouette": np.array(result.silhouette),
        "clusters.ks": np.asarray(scan.ks, dtype=np.int16),
        "clusters.silhouettes": np.asarray(scan.silhouettes, dtype=np.float64),
        "clusters.inertias": np.asarray(scan.inertias, dtype=np.float64),
        "clusters.notes": np.array(result.notes, dtype=str),
    }
    with open(path, "wb") as fh:  # np.savez would add ".npz" to a name without it
        np.savez_compressed(fh, **arrays)
    return seconds


def shipped_tag(path: Path = EMOJI.views) -> str | None:
    """The space key (``model key/content hash``) a shipped file was made for; None when absent or unreadable."""
    try:
        with np.load(path, allow_pickle=False) as data:
            return f"{data['model_key']}/{data['content_hash']}"
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
        return None


def _read(space: Space, path: Path | None, prefix: str) -> dict[str, np.ndarray] | None:
    """The arrays under ``prefix`` when ``path`` (default: any bundled collection's views) was made for this
    space (model and content); else None.
    """
    if path is None:
        return next((found for b in BUNDLED_COLLECTIONS.values() if (found := _read(space, b.views, prefix))), None)
    try:
        with np.load(path, allow_pickle=False) as data:
            if f"{data['model_key']}/{data['content_hash']}" != space.key:
                return None
            found = {name[len(prefix) :]: data[name] for name in data.files if name.startswith(prefix)}
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
        return None  # missing or unreadable: the view is simply computed
    return found or None


def shipped_map(space: Space, method: str, kinds: tuple[str, ...], path: Path | None = None) -> FittedMap | None:
    """The shipped ``method`` map of the rows of ``kinds``, as :func:`~similarity.views.maps.fit_map` gives it;
    None when there is none for this space.
    """
    data = _read(space, path, _map_prefix(method, kinds))
    if data is None:
        return None
    vectors = space.vectors[map_rows(space.rows(kinds), method, SEED)]
    try:
        if method == "PCA":
            place = partial(_pca_place, data["mean"], data["components"])
            coords = place(vectors)
        else:
            coords = data["coords"].astype(np.float32)
            if len(coords) != len(vectors):
                return None
            place = partial(place_by_neighbours, vectors, coords)
        trust = float(data["trust"])
    except (KeyError, ValueError):  # a part missing, or another dimension: compute instead
        return None
    fitted = FittedMap(method, vectors, coords, place, SEED)
    fitted.trustworthiness = trust  # measured when shipped: the cached property is not computed again
    return fitted


def shipped_clustering(
    space: Space,
    kinds: tuple[str, ...],
    method: str,
    k: int | None,
    reduce: int,
    n_known: int,
    path: Path | None = None,
) -> Clustering | None:
    """The shipped clustering when it was made for this space with exactly these parameters; else None."""
    data = _read(space, path, "clusters.")
    if data is None:
        return None
    try:
        made = (str(data["kinds"]), str(data["method"]), int(data["k"]), int(data["reduce"]), int(data["n_known"]))
        asked = ("+".join(kinds), method, -1 if k is None else k, reduce, n_known)
        if made != asked or len(data["labels"]) != len(space.rows(kinds)):
            return None
        scan = KScan(data["ks"].astype(int), data["silhouettes"], data["inertias"]) if len(data["ks"]) else None
        notes = tuple(data["notes"].tolist())
        return Clustering(method, data["labels"].astype(np.intp), float(data["silhouette"]), scan, notes)
    except (KeyError, ValueError):
        return None


def bundled_space(encoder: Encoder, bundled: Bundled = EMOJI) -> Space:
    """A bundled collection as the app sees it: its shipped vectors (encoded afresh only for another model)."""
    with tempfile.TemporaryDirectory() as tmp:
        store = EmbeddingStore(tmp, encoder.key, shipped=SHIPPED_VECTORS, dim=encoder.dim)
        return embed_collection(encoder, store, bundled.load())


def ship_bundled_views(encoder: Encoder, bundled: Bundled = EMOJI) -> dict[str, float]:
    """Write a bundled collection's views for ``encoder`` (the bundled model); returns the seconds each fit took."""
    return ship_views(bundled_space(encoder, bundled), bundled.views)


if __name__ == "__main__":
    chosen = BUNDLED_COLLECTIONS[sys.argv[1] if len(sys.argv) > 1 else EMOJI.link]
    for what, seconds in ship_bundled_views(load_encoder("bundled"), chosen).items():
        print(f"{what}: {seconds:.2f} s")
    print(f"wrote {chosen.views} ({chosen.views.stat().st_size / 1024:.0f} KB)")
