"""Approximate search for big spaces: the IVF index finds what exact search finds, and says how well."""

import time

import numpy as np
import pytest

from similarity.ingest.space import Space
from similarity.search import ann
from similarity.search.engine import search
from similarity.search.query import Query
from similarity.search.topk import top_k_many
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
    assert index.recall >= ann.TARGET_RECALL and 1 <= index.nprobe < index.lists
    assert sorted(index.rows.tolist()) == list(range(len(vectors)))  # every vector in exactly one list
    queries = np.random.default_rng(1).choice(len(vectors), 100, replace=False)
    exact = top_k_many(vectors[queries], vectors, 10, exclude=queries)[0]
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
    assert index.description in approximate.note and f"{index.nprobe:,} of {index.lists:,} lists" in index.description
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
    exact = index.rows[top_k_many(queries, vectors[index.rows], 1)[0][:, 0]]
    assert (index.nearest(queries, nprobe=index.lists) == exact).all()
    found = [(index.nearest(queries, nprobe) == exact).mean() for nprobe in (1, 8)]
    assert found[0] <= found[1] and found[1] >= 0.9  # more lists, more exact neighbours
    assert (index.nearest(vectors[index.rows], nprobe=1) == index.rows).all()  # an indexed item finds itself


def test_results_never_include_the_excluded_row_even_when_it_is_the_best_match():
    vectors = clustered(5_000)
    index = ann.build(vectors, np.arange(0, 5_000, 2))  # the even rows only
    for q in range(0, 400, 2):
        rows, cos = index.search(vectors[q], 10, exclude=q)
        assert q not in rows and len(rows) == 10 and np.all(rows % 2 == 0)
        assert np.all(np.diff(cos) <= 0)
    rows, _ = index.search(vectors[0], 10)
    assert rows[0] == 0  # without exclude, an indexed item is its own best match


def test_k_beyond_the_index_size_returns_every_row():
    vectors = clustered(2_000)
    index = ann.build(vectors, np.arange(500, 1_000))
    assert index.nprobe < index.lists  # a tuned search alone would not reach every list
    rows, cos = index.search(vectors[0], 600)
    assert sorted(rows.tolist()) == list(range(500, 1_000))
    assert np.allclose(cos, vectors[rows] @ vectors[0], atol=1e-5) and np.all(np.diff(cos) <= 0)
    rows, _ = index.search(vectors[700], 500, exclude=700)
    assert sorted(rows.tolist()) == sorted(set(range(500, 1_000)) - {700})


def test_the_same_seed_builds_the_same_index():
    vectors = clustered(8_000)
    a, b = ann.build(vectors, np.arange(8_000), seed=3), ann.build(vectors, np.arange(8_000), seed=3)
    assert (a.nprobe, a.recall) == (b.nprobe, b.recall) and np.array_equal(a.centroids, b.centroids)
    for q in (0, 17, 4_000):
        assert np.array_equal(a.search(vectors[q], 10, exclude=q)[0], b.search(vectors[q], 10, exclude=q)[0])
    assert np.array_equal(a.nearest(vectors[:1_000]), b.nearest(vectors[:1_000]))
