"""Cosine search: top-k with angles, query arithmetic, and the PCA noise filter.

Vectors are L2-normalised float32, so cosine similarity is a dot product and
the angle between two vectors is ``arccos(cosine)`` (in degrees here).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np


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
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
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


# Operators stand apart from words, so "t-shirt" and "x-ray" stay one term.
_TERM = re.compile(r"(?:^|\s+)([+-])(?:\s+|$)")


def parse_query(text: str) -> list[tuple[int, str]]:
    """Split query arithmetic into signed terms; say what is wrong with a bad one.

    >>> parse_query("dog + hat - sun")
    [(1, 'dog'), (1, 'hat'), (-1, 'sun')]
    >>> parse_query("-sun + t-shirt")
    [(-1, 'sun'), (1, 't-shirt')]
    >>> parse_query("dog + ")
    Traceback (most recent call last):
    ValueError: '+' has nothing after it: add a word (e.g. fruit - red) or remove the '+'
    """
    text = text.strip()
    if not text:
        raise ValueError("type something to search for")
    text = re.sub(r"^([+-])\s*", r"\1 ", text if text[0] in "+-" else "+ " + text)
    parts = _TERM.split(text)
    terms = [(sign, term.strip()) for sign, term in zip(parts[1::2], parts[2::2])]
    for sign, term in terms:
        if not term:
            raise ValueError(f"'{sign}' has nothing after it: add a word (e.g. fruit - red) or remove the '{sign}'")
        if not any(ch.isalnum() for ch in term):
            raise ValueError(f"{term!r} has no letters or digits: type words to search for")
    return [(1 if sign == "+" else -1, term) for sign, term in terms]


def combine(vectors: np.ndarray, signs: list[int]) -> np.ndarray:
    """Signed sum of unit vectors, renormalised (the "dog + hat" query)."""
    total = (np.asarray(signs, dtype=np.float32)[:, None] * vectors).sum(axis=0)
    norm = np.linalg.norm(total)
    if norm < 1e-6:
        raise ValueError("the terms cancel out: the combined query has no direction")
    return (total / norm).astype(np.float32)


@dataclass(frozen=True)
class PCAFilter:
    """Project onto the top principal components and renormalise.

    As in the white paper's noise filter: keep the directions along which the
    collection varies most, drop the rest, and compare angles there.
    """

    mean: np.ndarray  # (d,)
    components: np.ndarray  # (c, d)
    explained: np.ndarray  # (c,) explained variance ratio per component

    def truncated(self, n: int) -> PCAFilter:
        """The same filter keeping only the first ``n`` components."""
        return PCAFilter(self.mean, self.components[:n], self.explained[:n])

    def apply(self, vectors: np.ndarray) -> np.ndarray:
        reduced = (np.atleast_2d(vectors) - self.mean) @ self.components.T
        norms = np.linalg.norm(reduced, axis=1, keepdims=True)
        return (reduced / np.maximum(norms, 1e-12)).astype(np.float32)


def fit_pca(vectors: np.ndarray, n_components: int, seed: int = 0) -> PCAFilter:
    """Fit the noise filter on a collection's vectors ``(n, d)``."""
    from sklearn.decomposition import PCA

    limit = min(vectors.shape)
    if not 1 <= n_components <= limit:
        raise ValueError(
            f"choose between 1 and {limit} components for {len(vectors)} vectors of {vectors.shape[1]} dims"
        )
    # Full SVD: the first c components are the same whatever n_components is.
    pca = PCA(n_components=n_components, svd_solver="full", random_state=seed).fit(vectors)
    return PCAFilter(pca.mean_.astype(np.float32), pca.components_.astype(np.float32), pca.explained_variance_ratio_)


@dataclass(frozen=True)
class Query:
    """What the user searches with: a unit vector and where it came from."""

    vector: np.ndarray  # (d,) unit length
    label: str
    modality: str  # relevance.TEXT or relevance.PICTURE
    row: int | None = None  # the space row it is ("more like this"): left out of its own results
    terms: tuple[tuple[int, str], ...] = ()  # signed terms of query arithmetic
    term_vectors: np.ndarray | None = None  # (t, d), one per term

    @property
    def signs(self) -> tuple[int, ...]:
        """Signs of the arithmetic terms ((1,) for a plain query): shapes its null baseline."""
        return tuple(sign for sign, _ in self.terms) or (1,)

    def position_in(self, rows: np.ndarray) -> int | None:
        """Where the query's own row is in ``rows`` (to leave it out), or None."""
        if self.row is None:
            return None
        found = np.flatnonzero(np.asarray(rows) == self.row)
        return int(found[0]) if len(found) else None

    def with_vector(self, vector: np.ndarray) -> Query:
        """The same query in another space (e.g. after the PCA noise filter)."""
        return Query(vector, self.label, self.modality, self.row)


def text_query(encode_texts, text: str) -> Query:
    """Query for ``text``, with ``+``/``-`` arithmetic applied to the terms' vectors."""
    from similarity.relevance import TEXT

    terms = parse_query(text)
    vectors = encode_texts([term for _, term in terms])
    return Query(combine(vectors, [sign for sign, _ in terms]), text.strip(), TEXT, None, tuple(terms), vectors)


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
        return f"Only {n} items to rank: showing all of them." if len(self.ranking.indices) == n else ""


def search(
    space, query: Query, k: int, kinds: tuple[str, ...], baselines: dict | None = None, ann=None
) -> SearchResult:
    """Top-``k`` rows of ``kinds`` for ``query``, judged against ``baselines``.

    ``baselines`` maps a kind to its :class:`~similarity.relevance.NullBaseline`
    for this query's modality. The query's own row is never its own result.
    ``ann``: an :class:`~similarity.ann.IvfIndex` over the same rows, for big
    spaces; the histogram and the verdict's spread then use a fixed sample.
    """
    from similarity.limits import SCORE_SAMPLE, TERM_RESULTS
    from similarity.relevance import judge

    among = space.rows(kinds)
    if query.row is not None:
        among = among[among != query.row]
    if ann is None:
        # One matrix product over all rows, then views: no copies of the vectors per search.
        scores = cosines(query.vector, space.vectors)[among]
        ranking = rank(scores, k, among)

        def top(vector):
            return rank(cosines(vector, space.vectors)[among], TERM_RESULTS, among)
    else:
        sample = among[:: max(1, len(among) // SCORE_SAMPLE)]
        scores = cosines(query.vector, space.vectors[sample])
        among = sample

        def nearest(vector, n):
            rows, cos = ann.search(vector, n, exclude=query.row)
            return Ranking(rows, cos.astype(np.float64), angles_deg(cos))

        ranking = nearest(query.vector, k)

        def top(vector):
            return nearest(vector, TERM_RESULTS)

    top_kind = str(space.kind[ranking.indices[0]])
    top_scores = scores[space.kind[among] == top_kind]
    terms = []
    if len(query.terms) > 1:
        terms = [
            (("− " if sign < 0 else "") + text, top(vector))
            for (sign, text), vector in zip(query.terms, query.term_vectors)
        ]
    relevance = judge(ranking.cosines[0], top_scores, baselines[top_kind]) if baselines else None
    approximate = ""
    if ann is not None:
        approximate = (
            f"Approximate search (an IVF index, {ann.nprobe} of {len(ann.centroids):,} lists scanned): "
            f"recall@10 = {ann.recall:.2f}, measured against exact search on this collection's own items. "
            f"The histogram shows a sample of {len(sample):,} of {len(space.rows(kinds)):,} items."
        )
    return SearchResult(ranking, scores, relevance, top_kind, terms, approximate)
