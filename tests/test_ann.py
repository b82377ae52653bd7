"""Approximate search for big spaces: the IVF index finds what exact search finds, and says how well."""

import time

import numpy as np
import pytest

from similarity.ingest.space import Space
from similarity.search import ann
from similarity.search.engine import search
from similarity.search.query import Query
from similarity.storage.keys import CAPTION, IMAGE


def clustered(n: int, d: int = 64, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((50, d)).astype(np.float32)
    v = centres[rng.integers(0, 50, n)] + 0.8 * rng.standard_normal((n, d)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def space_of(vectors: np.ndarray, key: str = "model/abc") -> Space:
    n = len(vectors)
    return Space(vectors, np.arange(n), np.array([IMAGE] * n, dtype=object), [], key=key)


def test_the_index_reaches_its_measured_recall_and_never_returns_the_query_itself():
    vectors = clustered(20_000)
    index = ann.build(vectors, np.arange(len(vectors)))
    assert index.recall >= ann.TARGET_RECALL and 1 <= index.nprobe < len(index.centroids)
    assert sorted(index.rows.tolist()) == list(range(len(vectors)))  # every vector in exactly one list
    queries = np.random.default_rng(1).choice(len(vectors), 100, replace=False)
    exact = ann.exact_top(vectors, np.arange(len(vectors)), vectors[queries], queries, 10)
    found = [index.search(vectors[q], 10, exclude=q) for q in queries]
    assert all(q not in rows for q, (rows, _) in zip(queries, found))
    recall = np.mean([len(np.intersect1d(rows, e)) / 10 for (rows, _), e in zip(found, exact)])
    assert recall >= ann.TARGET_RECALL - 0.03  # unseen queries land near the measured figure
    rows, cos = found[0]
    assert np.all(np.diff(cos) <= 0) and np.allclose(cos, vectors[rows] @ vectors[queries[0]], atol=1e-6)


def test_search_through_the_index_says_it_is_approximate_and_agrees_with_exact():
    space = space_of(clustered(20_000))
    index = ann.build(space.vectors, space.rows((IMAGE,)))
    query = Query(space.vectors[7], "item", "picture", row=7)
    exact = search(space, query, 10, (IMAGE,))
    approximate = search(space, query, 10, (IMAGE,), ann=index)
    assert len(np.intersect1d(exact.ranking.indices, approximate.ranking.indices)) >= 8
    assert 7 not in approximate.ranking.indices
    assert "Approximate search" in approximate.note and f"recall@10 = {index.recall:.2f}" in approximate.note
    assert exact.note == ""


def test_a_changed_collection_is_searched_exactly_until_its_own_index_is_built(monkeypatch):
    from ui import cache

    monkeypatch.setattr(ann, "ANN_FROM", 5_000)
    vectors = clustered(6_000)
    before = space_of(vectors, key="model/before")
    assert cache.ann_index(before, (IMAGE,)) is None  # building in the background: exact meanwhile
    deadline = time.time() + 120
    while (index := cache.ann_index(before, (IMAGE,))) is None and time.time() < deadline:
        time.sleep(0.2)
    assert index is not None and len(index.rows) == 6_000
    after = space_of(np.concatenate([vectors, clustered(10, seed=5)]), key="model/after")  # items added
    assert cache.ann_index(after, (IMAGE,)) is None  # the old index is never used for the new items
    fewer = space_of(vectors[:5_900], key="model/fewer")  # items deleted
    assert cache.ann_index(fewer, (IMAGE,)) is None
    while (own := cache.ann_index(fewer, (IMAGE,))) is None and time.time() < deadline:
        time.sleep(0.2)
    assert own is not None and own.rows.max() < 5_900  # its own index never returns a deleted item
    assert cache.ann_index(space_of(vectors[:100], key="model/small"), (IMAGE, CAPTION)) is None  # small: exact


@pytest.mark.parametrize("k", [1, 25])
def test_k_larger_than_what_the_probed_lists_hold_returns_what_there_is(k):
    vectors = clustered(300)
    index = ann.build(vectors, np.arange(300))
    rows, cos = index.search(vectors[0], k, exclude=0)
    assert 1 <= len(rows) <= k and 0 not in rows


def test_vectors_without_clusters_keep_exact_search():
    rng = np.random.default_rng(0)
    noise = rng.standard_normal((4_000, 64)).astype(np.float32)
    index = ann.build(noise / np.linalg.norm(noise, axis=1, keepdims=True), np.arange(4_000))
    assert index.recall >= ann.TARGET_RECALL and not index.worthwhile  # it needs most lists: exact is as fast


def test_nearest_for_many_queries_is_exact_when_every_list_is_probed():
    vectors, queries = clustered(3_000), clustered(500, seed=7)
    index = ann.build(vectors, np.arange(0, 3_000, 3))
    exact = index.rows[(queries @ index.vectors.T).argmax(1)]
    assert (index.nearest(queries, nprobe=len(index.centroids)) == exact).all()
    found = [(index.nearest(queries, nprobe) == exact).mean() for nprobe in (1, 8)]
    assert found[0] <= found[1] and found[1] >= 0.9  # more lists, more exact neighbours
    assert (index.nearest(vectors[index.rows], nprobe=1) == index.rows).all()  # an indexed item finds itself
