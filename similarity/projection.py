"""2-D maps of the embedding space, with how much they distort it.

Every map flattens a 256- or 512-d space onto a plane, so distances and
angles on it are approximations. :func:`distortion` measures that honestly:
sklearn's trustworthiness (are neighbours on the map real neighbours?) and
how many of a query's true top-k stay its k nearest points on the map.
"""

from __future__ import annotations

import itertools
import os
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from similarity.search import angles_deg, top_k


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


def exact_knn(vectors: np.ndarray, k: int, chunk: int = 2048) -> tuple[np.ndarray, np.ndarray]:
    """Each row's ``k`` most similar rows (itself first) and cosine distances.

    Exact and fast for unit vectors (a chunked matrix product), and it spares
    UMAP its approximate neighbour search, whose numba compilation costs
    half a minute on first use.
    """
    n = len(vectors)
    indices = np.empty((n, k), dtype=np.int64)
    distances = np.empty((n, k), dtype=np.float32)
    for start in range(0, n, chunk):
        sims = vectors[start : start + chunk] @ vectors.T
        part = np.argpartition(sims, n - k, axis=1)[:, n - k :]
        part_sims = np.take_along_axis(sims, part, axis=1)
        order = np.argsort(-part_sims, axis=1, kind="stable")
        indices[start : start + chunk] = np.take_along_axis(part, order, axis=1)
        distances[start : start + chunk] = 1 - np.take_along_axis(part_sims, order, axis=1)
    return indices, np.maximum(distances, 0)


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
    return coords, lambda queries: _place_by_neighbours(vectors, coords, queries)


def _fit_tsne(vectors: np.ndarray, seed: int):
    from sklearn.manifold import TSNE

    coords = TSNE(
        n_components=2, perplexity=min(30.0, (len(vectors) - 1) / 3), metric="cosine", init="pca", random_state=seed
    ).fit_transform(vectors)
    return coords, lambda queries: _place_by_neighbours(vectors, coords, queries)


def _place_by_neighbours(vectors: np.ndarray, coords: np.ndarray, queries: np.ndarray, k: int = 5) -> np.ndarray:
    """Put a query at the similarity-weighted mean position of its k nearest items."""
    out = []
    for q in np.atleast_2d(queries):
        ranking = top_k(q, vectors, k)
        weights = np.maximum(ranking.cosines, 1e-6)
        out.append((coords[ranking.indices] * weights[:, None]).sum(0) / weights.sum())
    return np.array(out)


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


def trustworthiness(
    vectors: np.ndarray, coords: np.ndarray, n_neighbors: int = 5, sample: int = 2000, seed: int = 0
) -> float:
    """sklearn's trustworthiness, on a seeded sample for large collections."""
    from sklearn.manifold import trustworthiness as sk_trust

    n_neighbors = min(n_neighbors, (min(len(vectors), sample) - 1) // 2)
    if n_neighbors < 1:
        raise ValueError("trustworthiness needs at least 3 points")
    if len(vectors) > sample:
        pick = np.random.default_rng(seed).choice(len(vectors), sample, replace=False)
        vectors, coords = vectors[pick], coords[pick]
    return float(sk_trust(vectors, coords, n_neighbors=n_neighbors, metric="cosine"))


def overlap_at_k(query: np.ndarray, vectors: np.ndarray, query_xy: np.ndarray, coords: np.ndarray, k: int) -> float:
    """Share of the true top-k (cosine) that are the k nearest on the map."""
    k = min(k, len(vectors))
    true = set(top_k(query, vectors, k).indices.tolist())
    on_map = np.argsort(np.linalg.norm(coords - query_xy, axis=1), kind="stable")[:k]
    return len(true & set(on_map.tolist())) / k


# Seconds per 1,000 points on a 2-core CPU, measured on the demo's 1,861 and
# 3,722 vectors (t-SNE 4.4 s and 9.1 s; UMAP 1.6 s for 3,722 once numba has
# compiled); a time estimate for the progress bar, not a promise.
SECONDS_PER_1K = {"PCA": 0.05, "UMAP": 0.5, "t-SNE": 2.5}
# umap-learn's numba kernels compile on the process's first UMAP (benchmarks/bench_umap.py).
# Compiling them at start-up instead slowed every visitor's first pages; few classes use UMAP.
UMAP_COMPILE_SECONDS = 7.0
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
PLACE_INDEX_S_PER_1K, PLACE_S_PER_1K = 0.1, 0.025  # placing undrawn items: index the drawn, then look up each
PLACE_RECALL, PLACE_MAX_PROBES = 0.9, 16


def map_rows(rows: np.ndarray, method: str, seed: int = 0) -> np.ndarray:
    """The rows a ``method`` map shows: all of them, or a seeded sample of :data:`MAX_POINTS`.

    >>> len(map_rows(np.arange(50_000), "t-SNE")), len(map_rows(np.arange(50), "t-SNE"))
    (20000, 50)
    """
    cap = MAX_POINTS[method]
    if len(rows) <= cap:
        return rows
    return np.sort(np.random.default_rng(seed).choice(rows, cap, replace=False))


def positions_of_all(fitted: FittedMap, vectors: np.ndarray, rows: np.ndarray, drawn: np.ndarray) -> np.ndarray:
    """A map position for each of ``rows`` (sorted), where ``fitted`` mapped only its sorted subset ``drawn``.

    So that a box or lasso on a sampled map selects every item inside it,
    not only the drawn ones. PCA places every row exactly (its own
    transform). UMAP and t-SNE have no transform worth its cost at this
    scale: an undrawn row takes the place of its most similar drawn row,
    looked for in the nearest lists of an inverted-file index (approximately
    the most similar: the index is tuned to find 90% of each item's ten most
    similar drawn items).
    """
    from similarity import ann

    if PROJECTORS[fitted.method].exact_placement:
        place = fitted.place
    else:
        index = ann.build(vectors, drawn, target=PLACE_RECALL)
        nprobe = min(index.nprobe, PLACE_MAX_PROBES)  # bounded: vectors without clusters would need every list

        def place(chunk: np.ndarray) -> np.ndarray:
            return fitted.coords[np.searchsorted(drawn, index.nearest(chunk, nprobe))]

    positions = np.empty((len(rows), 2), np.float32)
    for start in range(0, len(rows), 65_536):
        positions[start : start + 65_536] = place(vectors[rows[start : start + 65_536]])
    positions[np.searchsorted(rows, drawn)] = fitted.coords  # drawn rows stay exactly where they are drawn
    return positions


def estimate_seconds(method: str, n: int) -> float:
    """Rough time to fit ``method`` on ``n`` points on this kind of machine.

    >>> estimate_seconds("t-SNE", 4000)
    10.5
    """
    compile_first = UMAP_COMPILE_SECONDS if method == "UMAP" and "UMAP" not in _compiled else 0.0
    return SECONDS_PER_1K[method] * n / 1000 + 0.5 + compile_first


def estimate_placement_seconds(method: str, n: int, drawn: int) -> float:
    """Rough time for :func:`positions_of_all` on this kind of machine (measured by ``benchmarks/bench_big.py``)."""
    if PROJECTORS[method].exact_placement:
        return 0.5 + n / 1e6
    return 2.0 + drawn * PLACE_INDEX_S_PER_1K / 1000 + n * PLACE_S_PER_1K / 1000


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


@dataclass(frozen=True)
class MapReport:
    """One query on a fitted map: where it lands, its true top-k, and the distortion."""

    query_xy: np.ndarray  # (2,)
    ranking: object  # search.Ranking over the map's rows (indices into them)
    overlap_at_k: float  # share of the true top-k that are the k nearest on the map
    trustworthiness: float
    map_angles: np.ndarray  # (k,) degrees, measured on the map around its centre
    rank_agreement: float  # Spearman of the true and the map's angles
    placement: str  # how the query was put on the map

    def sentence(self) -> str:
        k = len(self.ranking.indices)
        return (
            f"Of the query's {k} best matches in the full space, {self.overlap_at_k:.0%} are also its "
            f"{k} nearest points on this map; trustworthiness {self.trustworthiness:.2f} "
            "(1.00 = the map invents no false neighbours). Closer to 1 means the map can be read more literally. "
            + self.placement
        )


def map_report(fitted: FittedMap, vectors: np.ndarray, query: np.ndarray, k: int, exclude=None) -> MapReport:
    """The query on ``fitted`` (a map of ``vectors``), linked to its true top-``k``.

    ``exclude`` is the row the query itself is: left out of its own results.
    """
    among = np.arange(len(vectors)) if exclude is None else np.delete(np.arange(len(vectors)), exclude)
    ranking = top_k(query, vectors, k, among=among)
    query_xy = fitted.place(query[None, :])[0]
    overlap = overlap_at_k(query, vectors[among], query_xy, fitted.coords[among], len(ranking.indices))
    angles_on_map = map_angles(query_xy, fitted.coords[ranking.indices], fitted.coords.mean(axis=0))
    placement = (
        ""
        if PROJECTORS[fitted.method].exact_placement
        else f"{fitted.method} places no new points: the query sits at the mean position of its 5 most similar items."
    )
    return MapReport(
        query_xy,
        ranking,
        overlap,
        fitted.trustworthiness,
        angles_on_map,
        rank_agreement(ranking.angles, angles_on_map),
        placement,
    )


def map_angles(query_xy: np.ndarray, coords: np.ndarray, origin: np.ndarray) -> np.ndarray:
    """Angle (degrees) at ``origin`` between the query and each point on the map.

    The map's counterpart of the true angle: what a student would measure with
    a protractor on the picture.
    """
    a = query_xy - origin
    b = coords - origin
    cos = (b @ a) / np.maximum(np.linalg.norm(a) * np.linalg.norm(b, axis=1), 1e-12)
    return angles_deg(cos)


def rank_agreement(true_angles: np.ndarray, map_angles_deg: np.ndarray) -> float:
    """Spearman correlation of two angle lists: 1 = the map keeps the order.

    >>> rank_agreement(np.array([10.0, 20.0, 30.0]), np.array([1.0, 2.0, 3.0]))
    1.0
    """
    from scipy.stats import spearmanr

    if len(true_angles) < 2:
        return float("nan")
    return float(spearmanr(true_angles, map_angles_deg).statistic)
