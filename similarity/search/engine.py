"""One search, ready to show: the top results, every candidate's score, and what they mean.

Exact search ranks every candidate (one matrix product); approximate search
asks an ANN index (:mod:`similarity.search.ann`) for big spaces and samples
the scores for the histogram. Both return the same :class:`SearchResult`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from similarity.limits import MAX_RESULTS, SCORE_SAMPLE, TERM_RESULTS
from similarity.search.query import Query
from similarity.search.relevance import judge
from similarity.search.topk import Ranking, angles_deg, cosines, rank
from similarity.words import plural


def rank_changes(before: Ranking, after: Ranking) -> list[dict]:
    """Rows ranked in either list, with their rank (1-based) in each, or None."""
    rank_a = {int(r): i + 1 for i, r in enumerate(before.indices)}
    rank_b = {int(r): i + 1 for i, r in enumerate(after.indices)}
    rows = list(dict.fromkeys([*rank_a, *rank_b]))
    return [{"row": r, "rank_before": rank_a.get(r), "rank_after": rank_b.get(r)} for r in rows]


@dataclass(frozen=True)
class SearchResult:
    """One search, ready to show: results, every candidate's score, and their meaning."""

    ranking: Ranking  # rows of the space, best first
    scores: np.ndarray  # cosine of the query with every candidate (the histogram)
    relevance: object  # relevance.Relevance of the best match (None without baselines)
    top_kind: str  # kind of the best match (its null baseline was used)
    terms: list[tuple[str, Ranking]]  # each arithmetic term's own top results
    approximate: str = ""  # how an ANN index found the results, or "" for exact search

    @property
    def note(self) -> str:
        if self.approximate:
            return self.approximate
        n = len(self.scores)
        return f"Only {plural(n, 'item')} to rank: showing all of them." if len(self.ranking.indices) == n else ""


def search(
    space,
    query: Query,
    k: int,
    kinds: tuple[str, ...],
    baselines: dict | None = None,
    ann=None,
    references: dict | None = None,
) -> SearchResult:
    """Top-``k`` rows of ``kinds`` for ``query``, judged against ``baselines``.

    ``k`` is clamped to :data:`~similarity.limits.MAX_RESULTS` (and to the
    candidates). ``baselines`` maps a kind to its
    :class:`~similarity.search.relevance.NullBaseline` for this query's
    modality. The query's own row is never its own result. ``ann``: an index
    over the same rows (:func:`similarity.search.ann.build`), for big
    spaces; the histogram and the verdict's spread then use a fixed sample.
    ``references``: (query modality, item kind) -> the
    :class:`~similarity.search.relevance.PositiveReference` the verdict places
    the best match against.
    """
    k = min(k, MAX_RESULTS) if isinstance(k, (int, np.integer)) and k >= 1 else k  # rank() refuses the rest
    among = space.rows(kinds)
    if query.row is not None:
        among = among[among != query.row]
    if ann is None:
        ranking, scores, top, approximate = _exact(space, query, k, among)
    else:
        ranking, scores, top, approximate = _approximate(space, query, k, among, ann)
        among = among[:: max(1, len(among) // SCORE_SAMPLE)]
    top_kind = str(space.kind[ranking.indices[0]])
    terms = []
    if len(query.terms) > 1:
        terms = [
            (("− " if sign < 0 else "") + text, top(vector))
            for (sign, text), vector in zip(query.terms, query.term_vectors)
        ]
    top_scores = scores[space.kind[among] == top_kind]
    reference = (references or {}).get((query.modality, top_kind))
    relevance = judge(ranking.cosines[0], top_scores, baselines[top_kind], reference) if baselines else None
    return SearchResult(ranking, scores, relevance, top_kind, terms, approximate)


def _exact(space, query: Query, k: int, among: np.ndarray):
    # One matrix product over all rows, then views: no copies of the vectors per search.
    scores = cosines(query.vector, space.vectors)[among]

    def top(vector):
        return rank(cosines(vector, space.vectors)[among], TERM_RESULTS, among)

    return rank(scores, k, among), scores, top, ""


def _approximate(space, query: Query, k: int, among: np.ndarray, ann):
    sample = among[:: max(1, len(among) // SCORE_SAMPLE)]

    def top(vector, n=TERM_RESULTS):
        rows, cos = ann.search(vector, n, exclude=query.row)
        return Ranking(rows, cos.astype(np.float64), angles_deg(cos))

    note = f"{ann.description} The histogram shows a sample of {len(sample):,} of {len(among):,} items."
    return top(query.vector, k), cosines(query.vector, space.vectors[sample]), top, note
