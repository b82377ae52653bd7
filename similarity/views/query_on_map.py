"""One query on a fitted map: where it lands, its true top-k, and how far to trust the picture."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from similarity.limits import MAX_LINKED
from similarity.search.topk import top_k
from similarity.views.distortion import map_angles, overlap_at_k, rank_agreement
from similarity.views.maps import PROJECTORS, FittedMap


@dataclass(frozen=True)
class MapReport:
    """One query on a fitted map: where it lands, its true top-k, and the distortion."""

    query_xy: np.ndarray  # (2,)
    ranking: object  # similarity.search.topk.Ranking over the map's rows (indices into them)
    overlap_at_k: float  # share of the true top-k that are the k nearest on the map
    trustworthiness: float
    map_angles: np.ndarray  # (k,) degrees, measured on the map around its centre
    rank_agreement: float  # Spearman of the true and the map's angles
    placement: str  # how the query was put on the map

    def sentence(self) -> str:
        k = len(self.ranking.indices)
        return (
            f"How far to trust this map: of the query's {k} best matches in the full space, "
            f"{self.overlap_at_k:.0%} are also its {k} nearest points here; trustworthiness "
            f"{self.trustworthiness:.2f}: whether points that look near on the map are really near "
            "(1 = always; points placed at random score about 0.5). " + self.placement
        ).strip()


def map_report(fitted: FittedMap, vectors: np.ndarray, query: np.ndarray, k: int, exclude=None) -> MapReport:
    """The query on ``fitted`` (a map of ``vectors``), linked to its true top-``k``.

    ``exclude`` is the row the query itself is: left out of its own results.
    ``k`` is clamped to :data:`~similarity.limits.MAX_LINKED`.
    """
    k = min(k, MAX_LINKED) if k >= 1 else k  # top_k refuses the rest
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
