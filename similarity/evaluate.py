"""Retrieval quality: recall@k and top-k listings for a model's embeddings.

``queries`` and ``gallery`` are L2-normalised float32 arrays ``(q, d)`` and
``(g, d)``; ``targets[i]`` is the gallery index that query ``i`` should find.
"""

from __future__ import annotations

import numpy as np


def recall_at_k(queries: np.ndarray, gallery: np.ndarray, targets: np.ndarray, k: int = 5) -> float:
    """Fraction of queries whose target is among the ``k`` most similar items.

    >>> g = np.eye(3, dtype=np.float32)
    >>> recall_at_k(g, g, np.array([0, 1, 2]), k=1)
    1.0
    """
    if len(queries) != len(targets):
        raise ValueError(f"{len(queries)} queries but {len(targets)} targets")
    if len(queries) == 0:
        raise ValueError("recall@k needs at least one query")
    sims = queries @ gallery.T
    target_sims = sims[np.arange(len(queries)), targets]
    # Rank = how many items beat the target; ties count against it (honest).
    better = (sims > target_sims[:, None]).sum(axis=1) + (sims == target_sims[:, None]).sum(axis=1) - 1
    return float(np.mean(better < k))
