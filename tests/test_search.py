import numpy as np
import pytest
from conftest import unit_vectors

from similarity.search.engine import rank_changes
from similarity.search.pca import fit_pca
from similarity.search.query import combine, parse_query
from similarity.search.topk import angles_deg, cosines, top_k


def reference_top_k(query, vectors, k):
    scores = vectors @ query
    order = np.lexsort((np.arange(len(scores)), -scores))  # best first, ties by index
    return order[:k], scores[order[:k]]


@pytest.mark.parametrize("k", [1, 5, 99, 100, 150])
def test_top_k_matches_brute_force(k):
    vectors = unit_vectors(100, 16, seed=1)
    query = unit_vectors(1, 16, seed=2)[0]
    ranking = top_k(query, vectors, k)
    expected, scores = reference_top_k(query, vectors, k)
    assert ranking.indices.tolist() == expected.tolist()
    np.testing.assert_allclose(ranking.cosines, scores, rtol=1e-6)
    assert len(ranking.indices) == min(k, 100)  # k > n returns everything


def test_ties_break_by_index_even_at_the_cut():
    base = unit_vectors(3, 8, seed=3)
    vectors = np.repeat(base, 4, axis=0)  # every vector four times
    for k in range(1, 12):
        ranking = top_k(base[1], vectors, k)
        assert ranking.indices.tolist() == reference_top_k(base[1], vectors, k)[0].tolist()


def test_angles_are_arccos_of_cosines():
    vectors = unit_vectors(50, 32, seed=4)
    ranking = top_k(vectors[0], vectors, 10)
    np.testing.assert_allclose(ranking.angles, np.degrees(np.arccos(np.clip(ranking.cosines, -1, 1))))
    assert ranking.angles[0] == pytest.approx(0, abs=0.1)  # the vector itself
    assert np.all(np.diff(ranking.angles) >= 0)  # best match = smallest angle
    assert angles_deg(np.array([1.0000001, -1.0000001])).tolist() == [0.0, 180.0]


def test_search_among_a_subset_returns_original_rows():
    vectors = unit_vectors(40, 8, seed=5)
    among = np.arange(1, 40, 2)
    ranking = top_k(vectors[3], vectors, 5, among=among)
    assert set(ranking.indices) <= set(among)
    assert ranking.indices[0] == 3


def test_bad_k_and_empty_candidates_say_what_is_wrong():
    vectors = unit_vectors(5, 4)
    for bad in (0, -3, 2.5, True):
        with pytest.raises(ValueError, match="number of results must be a whole number of at least 1"):
            top_k(vectors[0], vectors, bad)
    with pytest.raises(ValueError, match="nothing to search"):
        top_k(vectors[0], vectors, 3, among=np.array([], dtype=int))
    with pytest.raises(ValueError, match="dims"):
        cosines(np.ones(3, np.float32), vectors)


def test_query_arithmetic():
    assert parse_query("dog + hat - sun") == [(1, "dog"), (1, "hat"), (-1, "sun")]
    assert parse_query("t-shirt") == [(1, "t-shirt")]
    for empty in ["", "   ", " + "]:
        with pytest.raises(ValueError):
            parse_query(empty)
    a, b = unit_vectors(2, 8, seed=6)
    combined = combine(np.stack([a, b]), [1, -1])
    assert np.linalg.norm(combined) == pytest.approx(1)
    assert combined @ a > 0 > combined @ b
    with pytest.raises(ValueError, match="cancel"):
        combine(np.stack([a, a]), [1, -1])


def test_pca_filter_keeps_unit_vectors_and_reports_variance():
    vectors = unit_vectors(200, 32, seed=7)
    pca = fit_pca(vectors, 8)
    reduced = pca.apply(vectors)
    assert reduced.shape == (200, 8)
    np.testing.assert_allclose(np.linalg.norm(reduced, axis=1), 1, rtol=1e-5)
    assert 0 < pca.explained.sum() < 1 and np.all(np.diff(pca.explained) <= 1e-9)
    with pytest.raises(ValueError, match="between 1 and 32"):
        fit_pca(vectors, 33)


def test_rank_changes_list_rows_of_either_ranking():
    vectors = unit_vectors(30, 8, seed=8)
    a = top_k(vectors[0], vectors, 3)
    b = top_k(vectors[1], vectors, 3)
    changes = rank_changes(a, b)
    assert changes[0] == {
        "row": int(a.indices[0]),
        "rank_before": 1,
        "rank_after": (b.indices.tolist().index(a.indices[0]) + 1) if a.indices[0] in b.indices else None,
    }
    assert {c["row"] for c in changes} == set(a.indices) | set(b.indices)


def test_truncated_filter_equals_a_smaller_fit():
    vectors = unit_vectors(100, 16, seed=10)
    big, small = fit_pca(vectors, 10).truncated(4), fit_pca(vectors, 4)
    np.testing.assert_allclose(np.abs(big.apply(vectors)), np.abs(small.apply(vectors)), atol=1e-5)
    np.testing.assert_allclose(big.explained, small.explained, rtol=1e-5)


def _space(n=40, d=16, seed=12):
    from similarity.ingest.collection import Item
    from similarity.ingest.space import Space
    from similarity.storage.keys import CAPTION, IMAGE

    vectors = unit_vectors(n, d, seed=seed)
    items = [Item(f"id{i}", f"f{i}.png", caption=f"caption {i}") for i in range(n // 2)]
    return Space(vectors, np.repeat(np.arange(n // 2), 2), np.array([IMAGE, CAPTION] * (n // 2), dtype=object), items)


def test_search_leaves_the_query_item_out_and_judges_the_best_match():
    from similarity.search.engine import search
    from similarity.search.query import PICTURE, Query
    from similarity.search.relevance import NullBaseline

    space = _space()
    pictures = space.rows(("image",))
    baselines = {"image": NullBaseline(np.linspace(-0.2, 0.2, 50)), "caption": NullBaseline(np.linspace(-0.2, 0.2, 50))}
    result = search(space, Query(space.vectors[4], "f2.png", PICTURE, row=4), 5, ("image",), baselines)
    assert 4 not in result.ranking.indices and set(result.ranking.indices) <= set(pictures)
    expected = top_k(space.vectors[4], space.vectors, 5, among=pictures[pictures != 4])
    assert result.ranking.indices.tolist() == expected.indices.tolist()
    assert len(result.scores) == len(pictures) - 1 and result.top_kind == "image"
    assert result.relevance.best == pytest.approx(expected.cosines[0])
    assert result.relevance.beats_null == pytest.approx(
        np.mean(np.linspace(-0.2, 0.2, 50) < expected.cosines[0]), abs=0.03
    )
    assert search(space, Query(space.vectors[4], "x", PICTURE), 99, ("image",)).note.startswith("Only 20 items")


def test_query_arithmetic_shows_each_terms_own_results():
    from similarity.search.engine import search
    from similarity.search.query import text_query

    space = _space()
    table = {"alpha": space.vectors[0], "beta": space.vectors[2]}
    query = text_query(lambda texts: np.stack([table[t] for t in texts]), "alpha - beta")
    assert query.signs == (1, -1) and query.label == "alpha - beta"
    result = search(space, query, 3, ("image", "caption"))
    assert [name for name, _ in result.terms] == ["alpha", "− beta"]
    assert result.terms[0][1].indices[0] == 0 and result.terms[1][1].indices[0] == 2
    assert result.relevance is None  # no baselines given


def test_the_core_clamps_k_to_the_result_cap_and_refuses_nonsense():
    from similarity.limits import MAX_RESULTS
    from similarity.search.engine import search
    from similarity.search.query import PICTURE, Query

    space = _space(n=200)
    query = Query(space.vectors[0], "x", PICTURE)
    assert len(search(space, query, 10**9, ("image", "caption")).ranking.indices) == MAX_RESULTS
    with pytest.raises(ValueError, match="at least 1"):
        search(space, query, -1, ("image",))


def test_a_pasted_essay_or_endless_arithmetic_is_refused_with_the_limit():
    from similarity.limits import MAX_QUERY_CHARS, MAX_QUERY_TERMS

    with pytest.raises(ValueError, match=f"at most {MAX_QUERY_CHARS:,} characters"):
        parse_query("apple " * 2_000)
    with pytest.raises(ValueError, match=f"at most {MAX_QUERY_TERMS} are combined"):
        parse_query(" + ".join(["a"] * 50))
    assert len(parse_query(" + ".join(["apple"] * MAX_QUERY_TERMS))) == MAX_QUERY_TERMS


def test_the_modality_gap_sentence_never_prints_minus_zero():
    from similarity.search.modality import modality_gap

    pictures, captions = unit_vectors(50, 8, seed=1), unit_vectors(50, 8, seed=2)
    gap = modality_gap(pictures, captions, np.column_stack([np.arange(50), np.arange(50)]))
    gap = type(gap)(*[np.array([-0.001, -0.0004, 0.3])] * 4, gap.centre_angle, gap.centre_distance)
    assert "-0.00" not in gap.sentence() and "median 0.00" in gap.sentence()
