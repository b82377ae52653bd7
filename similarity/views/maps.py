"""2-D maps of the embedding space: PCA, UMAP and t-SNE, fitted once and sampled when big.

Every map flattens a 256- or 512-d space onto a plane, so distances and
angles on it are approximations; :mod:`similarity.views.distortion` says how
much. Each method is a :class:`Projector` in :data:`PROJECTORS` (which also
fills the page's picker).
"""

from __future__ import annotations

import itertools
import os
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from similarity.search.topk import top_k_many
from similarity.views.distortion import trustworthiness


@dataclass(frozen=True)
class Projector:
    """A 2-D map method: ``fit(vectors, seed) -> (coords, place)``.

    ``place(query_vectors)`` puts new vectors on the fitted map; ``exact``
    says whether that is the method's own transform or an approximation.
    """

    name: str
    axis_unit: str  # what a unit on the axes means
    exact_placement: bool
    fit: object


def _fit_pca(vectors: np.ndarray, seed: int):
    from sklearn.decomposition import PCA

    pca = PCA(n_components=2, random_state=seed).fit(vectors)
    return pca.transform(vectors), pca.transform


def exact_knn(vectors: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Each row's ``k`` most similar rows (itself first) and cosine distances.

    Exact and fast for unit vectors (the chunked top-k), and it spares
    UMAP its approximate neighbour search, whose numba compilation costs
    half a minute on first use.
    """
    indices, cos = top_k_many(vectors, vectors, k)
    return indices, np.maximum(1 - cos, 0)


EXACT_KNN_MAX = 20_000  # above: UMAP's own approximate neighbours, in parallel (100k points: 67 s, not 4+ min)


def _fit_umap(vectors: np.ndarray, seed: int):
    import umap

    k = min(15, len(vectors) - 1)
    big = len(vectors) > EXACT_KNN_MAX
    reducer = umap.UMAP(
        n_neighbors=k,
        metric="cosine",
        precomputed_knn=(None, None, None) if big else exact_knn(vectors, k),
        n_epochs=200,  # umap's own default above 10k points; its 500 below that buys little
        # A seed makes umap run on one thread: big maps trade run-to-run identity for speed
        # (each map is computed once per server and cached).
        random_state=None if big else seed,
        low_memory=big,
        init="random" if len(vectors) < 10 else "spectral",
    )
    coords = reducer.fit_transform(vectors)
    _compiled.add("UMAP")
    return coords, lambda queries: place_by_neighbours(vectors, coords, queries)


def _fit_tsne(vectors: np.ndarray, seed: int):
    from sklearn.manifold import TSNE

    coords = TSNE(
        n_components=2, perplexity=min(30.0, (len(vectors) - 1) / 3), metric="cosine", init="pca", random_state=seed
    ).fit_transform(vectors)
    return coords, lambda queries: place_by_neighbours(vectors, coords, queries)


def place_by_neighbours(vectors: np.ndarray, coords: np.ndarray, queries: np.ndarray, k: int = 5) -> np.ndarray:
    """Put each query at the similarity-weighted mean position of its k nearest items."""
    indices, cos = top_k_many(np.atleast_2d(queries), vectors, k)
    weights = np.maximum(cos, 1e-6)
    return (coords[indices] * weights[..., None]).sum(1) / weights.sum(1, keepdims=True)


PROJECTORS = {
    "PCA": Projector("PCA", "principal-component units (cosine-scale)", True, _fit_pca),
    "UMAP": Projector("UMAP", "UMAP units (only neighbourhoods are meaningful)", False, _fit_umap),
    "t-SNE": Projector("t-SNE", "t-SNE units (only neighbourhoods are meaningful)", False, _fit_tsne),
}


MIN_POINTS = 3  # fewer points than this cannot make a meaningful map


def project(method: str, vectors: np.ndarray, seed: int = 0):
    """Fit a 2-D map: returns ``(coords (n, 2), place)``; see :data:`PROJECTORS`."""
    if method not in PROJECTORS:
        raise ValueError(f"unknown map {method!r}: choose one of {', '.join(PROJECTORS)}")
    if len(vectors) < MIN_POINTS:
        raise ValueError(f"a map needs at least {MIN_POINTS} items; this collection has {len(vectors)}")
    coords, place = PROJECTORS[method].fit(vectors, seed)
    return np.asarray(coords, dtype=np.float32), place


# Seconds per 1,000 points, measured with `python -m similarity.views.shipped` (which times the
# demo's real fits) on the 2-core machine a class shares, under load (load average 5-6): PCA
# 0.4-1.5 s for 1,861-3,722 points; UMAP 1.4 s for 1,861 and 3.9 s for 3,722 once numba has
# compiled; t-SNE 46-57 s for 1,861 and 83 s for 3,722 (19 s for 1,861 in a later run, load 5.4).
# An idle machine is 5-10x faster at t-SNE (4.4 s and 9.1 s): an estimate for the progress bar,
# which says so when a fit runs longer.
SECONDS_PER_1K = {"PCA": 0.2, "UMAP": 1.0, "t-SNE": 15.0}


# umap-learn's numba kernels compile on the process's first UMAP (benchmarks/bench_umap.py; the
# same run as above: 8.9 s for the first 1,861-point UMAP, 1.4 s for the second).
# Compiling them at start-up instead slowed every visitor's first pages; few classes use UMAP.
UMAP_COMPILE_SECONDS = 7.5


_compiled: set[str] = set()


MAP_POINTS_ENV = "CLIP_EXPLORER_MAP_POINTS"


def _host_cap() -> int | None:
    """A host's own lower cap on drawn points (a weak projector laptop), if set."""
    raw = os.environ.get(MAP_POINTS_ENV, "").strip()
    if not raw:
        return None
    if not raw.isdigit() or int(raw) < MIN_POINTS:
        raise ValueError(f"{MAP_POINTS_ENV} must be a whole number of points, at least {MIN_POINTS}, not {raw!r}")
    return int(raw)


# The most points a map fits and draws: beyond, a seeded sample (t-SNE is O(n log n) with a large
# constant; 100k WebGL points are 7.2 MB of JSON, far below Streamlit's message limit).
MAX_POINTS = {
    method: min(cap, _host_cap() or cap) for method, cap in {"PCA": 100_000, "UMAP": 100_000, "t-SNE": 20_000}.items()
}


def map_rows(rows: np.ndarray, method: str, seed: int = 0) -> np.ndarray:
    """The rows a ``method`` map shows: all of them, or a seeded sample of :data:`MAX_POINTS`.

    >>> len(map_rows(np.arange(50_000), "t-SNE")), len(map_rows(np.arange(50), "t-SNE"))
    (20000, 50)
    """
    cap = MAX_POINTS[method]
    if len(rows) <= cap:
        return rows
    return np.sort(np.random.default_rng(seed).choice(rows, cap, replace=False))


def estimate_seconds(method: str, n: int) -> float:
    """Rough time to fit ``method`` on ``n`` points on this kind of machine.

    >>> estimate_seconds("t-SNE", 4000)
    60.5
    """
    compile_first = UMAP_COMPILE_SECONDS if method == "UMAP" and "UMAP" not in _compiled else 0.0
    return SECONDS_PER_1K[method] * n / 1000 + 0.5 + compile_first


_fitted_maps = itertools.count()


@dataclass
class FittedMap:
    """A 2-D map of some vectors; its trustworthiness is measured once, when first asked."""

    method: str
    vectors: np.ndarray  # (n, d) the mapped vectors
    coords: np.ndarray  # (n, 2)
    place: object  # (q, d) vectors -> (q, 2) map positions
    seed: int = 0
    serial: int = field(default_factory=lambda: next(_fitted_maps))  # tells two fits of one map apart

    @cached_property
    def trustworthiness(self) -> float:
        return trustworthiness(self.vectors, self.coords, seed=self.seed)


def fit_map(method: str, vectors: np.ndarray, seed: int = 0) -> FittedMap:
    """Fit a map (the slow, query-independent part)."""
    coords, place = project(method, vectors, seed)
    return FittedMap(method, vectors, coords, place, seed)
