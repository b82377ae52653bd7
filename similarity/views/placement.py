"""Where every item of a sampled map lies, drawn or not, so a selection covers all of them."""

from __future__ import annotations

import numpy as np

from similarity.search import ann
from similarity.views.maps import PROJECTORS, FittedMap

PLACE_INDEX_S_PER_1K, PLACE_S_PER_1K = 0.1, 0.025  # placing undrawn items: index the drawn, then look up each


PLACE_RECALL, PLACE_MAX_PROBES = 0.9, 16


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


def estimate_placement_seconds(method: str, n: int, drawn: int) -> float:
    """Rough time for :func:`positions_of_all` on this kind of machine (measured by ``benchmarks/bench_big.py``)."""
    if PROJECTORS[method].exact_placement:
        return 0.5 + n / 1e6
    return 2.0 + drawn * PLACE_INDEX_S_PER_1K / 1000 + n * PLACE_S_PER_1K / 1000
