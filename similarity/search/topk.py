"""Exact top-k: the one ranking every page, map and index is measured against.

Vectors are L2-normalised float32, so cosine similarity is a dot product and
the angle between two vectors is ``arccos(cosine)`` (in degrees here). Ties
go to the lower row, so a ranking never depends on how it was computed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

CHUNK = 65_536  # query x item products are computed this many items at a time (bounded memory)


@dataclass(frozen=True)
class Ranking:
    """Top-k result: row indices, cosines and angles, best first."""

    indices: np.ndarray  # (k,) int
    cosines: np.ndarray  # (k,) float
    angles: np.ndarray  # (k,) degrees, arccos(cosines)


def angles_deg(cosines: np.ndarray) -> np.ndarray:
    """Angle in degrees between unit vectors with these cosines.

    >>> angles_deg(np.array([1.0, 0.0, -1.0])).round(1).tolist()
    [0.0, 90.0, 180.0]
    """
    return np.degrees(np.arccos(np.clip(cosines, -1.0, 1.0)))


def cosines(query: np.ndarray, vectors: np.ndarray) -> np.ndarray:
    """Cosine of ``query`` (d,) with every row of ``vectors`` (n, d)."""
    if query.shape[-1] != vectors.shape[1]:
        raise ValueError(f"query has {query.shape[-1]} dims but the vectors have {vectors.shape[1]}")
    return vectors @ query


def top_k(query: np.ndarray, vectors: np.ndarray, k: int, among: np.ndarray | None = None) -> Ranking:
    """The ``k`` rows most similar to ``query`` (ties: lower index first).

    ``among`` restricts the search to those row indices. ``k`` larger than the
    candidates returns them all.
    """
    candidates = np.arange(len(vectors)) if among is None else np.asarray(among)
    return rank(cosines(query, vectors[candidates] if among is not None else vectors), k, candidates)


def rank(scores: np.ndarray, k: int, candidates: np.ndarray) -> Ranking:
    """The ``k`` best of ``candidates`` whose cosines are ``scores`` (aligned), best first."""
    k = _valid_k(k)
    if len(candidates) == 0:
        raise ValueError("there is nothing to search: the collection has no items of this kind")
    k = min(k, len(scores))
    if k < len(scores):
        # argpartition finds the k-th best score in O(n); every row that ties
        # with it is kept so the final order does not depend on partitioning.
        threshold = scores[np.argpartition(scores, len(scores) - k)[len(scores) - k]]
        pool = np.flatnonzero(scores >= threshold)
    else:
        pool = np.arange(len(scores))
    best = pool[np.lexsort((pool, -scores[pool]))][:k]
    cos = scores[best].astype(np.float64)
    return Ranking(candidates[best], cos, angles_deg(cos))


def top_k_many(
    queries: np.ndarray, vectors: np.ndarray, k: int, exclude: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Each query's ``k`` most similar rows of ``vectors``: (rows ``(q, k)``, cosines ``(q, k)``), best first.

    Reads ``vectors`` once, :data:`CHUNK` rows at a time, keeping each
    query's best ``k`` so far (memory: ``q x (k + CHUNK)``). ``exclude``:
    one row per query that is never its result (the query itself).

    >>> v = np.eye(3, dtype=np.float32)
    >>> top_k_many(v, v, 1, exclude=np.arange(3))[0].shape, top_k_many(v, v, 1)[0].ravel().tolist()
    ((3, 1), [0, 1, 2])
    """
    k = min(_valid_k(k), len(vectors) - (exclude is not None))
    best_rows = np.zeros((len(queries), 0), np.int64)
    best_cos = np.zeros((len(queries), 0), np.float32)
    for start in range(0, len(vectors), CHUNK):
        rows = np.arange(start, min(start + CHUNK, len(vectors)))
        cos = queries @ vectors[start : start + CHUNK].T
        if exclude is not None:
            cos[rows[None, :] == np.asarray(exclude)[:, None]] = -np.inf
        best_rows = np.concatenate([best_rows, np.broadcast_to(rows, cos.shape)], axis=1)
        best_cos = np.concatenate([best_cos, cos], axis=1)
        if best_cos.shape[1] > k:
            keep = np.argpartition(-best_cos, k - 1, axis=1)[:, :k]
            best_rows = np.take_along_axis(best_rows, keep, 1)
            best_cos = np.take_along_axis(best_cos, keep, 1)
    order = np.lexsort((best_rows, -best_cos), axis=-1)
    return np.take_along_axis(best_rows, order, 1), np.take_along_axis(best_cos, order, 1)


def _valid_k(k) -> int:
    """``k`` as a count of results, or ValueError saying what is wrong."""
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"the number of results must be a whole number of at least 1, not {k!r}")
    return int(k)
