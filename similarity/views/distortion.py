"""How much a 2-D map distorts the space.

sklearn's trustworthiness (are neighbours on the map real neighbours?), how
many of a query's true top-k stay its k nearest points on the map, and the
map's angles against the true ones.
"""

from __future__ import annotations

import numpy as np

from similarity.search.topk import angles_deg, top_k


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
