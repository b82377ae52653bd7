import numpy as np
import pytest
from conftest import unit_vectors
from sklearn.manifold import trustworthiness as sk_trustworthiness

from similarity.limits import MAX_LINKED
from similarity.search.topk import top_k
from similarity.views.distortion import map_angles, overlap_at_k, trustworthiness
from similarity.views.maps import PROJECTORS, fit_map, project
from similarity.views.query_on_map import map_report


def clustered(n_per=40, d=16, centres=3, seed=0):
    rng = np.random.default_rng(seed)
    means = unit_vectors(centres, d, seed=seed + 1) * 3
    v = np.concatenate([m + rng.standard_normal((n_per, d)) * 0.3 for m in means]).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


@pytest.mark.parametrize("method", list(PROJECTORS))
def test_every_map_is_seeded_and_places_a_query(method):
    vectors = clustered()
    coords, place = project(method, vectors, seed=0)
    again, _ = project(method, vectors, seed=0)
    assert coords.shape == (120, 2) and np.isfinite(coords).all()
    np.testing.assert_allclose(coords, again, atol=1e-4)
    xy = np.asarray(place(vectors[:1]))
    assert xy.shape == (1, 2)
    # A query equal to an item of the first group lands among that group on the map.
    nearest = np.argsort(np.linalg.norm(coords - xy[0], axis=1))[:10]
    assert np.mean(nearest < 40) >= 0.8


def test_trustworthiness_equals_sklearns():
    vectors = clustered()
    coords, _ = project("PCA", vectors)
    assert trustworthiness(vectors, coords, n_neighbors=5) == pytest.approx(
        sk_trustworthiness(vectors, coords, n_neighbors=5, metric="cosine")
    )


def test_overlap_is_one_when_the_map_keeps_the_ranking():
    vectors = unit_vectors(30, 2, seed=3)  # already 2-D: the map is the space itself
    assert overlap_at_k(vectors[0], vectors, vectors[0], vectors, 5) == 1.0


def test_map_report_links_the_true_top_k_and_leaves_the_query_item_out():
    vectors = clustered()
    fitted = fit_map("PCA", vectors)
    report = map_report(fitted, vectors, vectors[5], k=MAX_LINKED)
    assert report.ranking.indices[0] == 5 and len(report.ranking.indices) == MAX_LINKED
    assert f"{MAX_LINKED} best matches" in report.sentence() and 0 <= report.overlap_at_k <= 1
    assert len(map_report(fitted, vectors, vectors[5], k=10_000).ranking.indices) == MAX_LINKED  # the core clamps
    mine = map_report(fitted, vectors, vectors[5], k=8, exclude=5)
    assert 5 not in mine.ranking.indices
    assert mine.ranking.indices.tolist() == report.ranking.indices[1:9].tolist()
    np.testing.assert_allclose(
        mine.map_angles, map_angles(mine.query_xy, fitted.coords[mine.ranking.indices], fitted.coords.mean(axis=0))
    )
    assert fitted.trustworthiness == pytest.approx(trustworthiness(vectors, fitted.coords))


def test_map_angles_are_protractor_angles():
    coords = np.array([[1.0, 0.0], [0.0, 2.0], [-1.0, 0.0]])
    np.testing.assert_allclose(map_angles(np.array([3.0, 0.0]), coords, np.zeros(2)), [0, 90, 180])


def test_true_angles_of_results_are_arccos_of_full_space_cosines():
    vectors = unit_vectors(50, 32, seed=9)
    ranking = top_k(vectors[0], vectors, 8)
    full = vectors[ranking.indices] @ vectors[0]
    np.testing.assert_allclose(ranking.angles, np.degrees(np.arccos(np.clip(full, -1, 1))), atol=1e-6)


@pytest.mark.parametrize("n", [1, 2])
def test_tiny_collections_get_a_clear_message(n):
    with pytest.raises(ValueError, match=f"at least 3 items; this collection has {n}"):
        project("PCA", unit_vectors(n, 8))
    with pytest.raises(ValueError, match="unknown map"):
        project("MDS", unit_vectors(5, 8))


def test_exact_knn_matches_brute_force_and_starts_with_itself(monkeypatch):
    from similarity.search import topk
    from similarity.views.maps import exact_knn

    monkeypatch.setattr(topk, "CHUNK", 64)  # several chunks: the running top-k across them
    vectors = unit_vectors(300, 16, seed=11)
    indices, distances = exact_knn(vectors, 6)
    brute = np.argsort(-(vectors @ vectors.T), axis=1, kind="stable")[:, :6]
    np.testing.assert_array_equal(indices, brute)
    assert (indices[:, 0] == np.arange(300)).all() and np.allclose(distances[:, 0], 0, atol=1e-6)
    assert np.all(np.diff(distances, axis=1) >= 0)
