import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score
from test_projection import clustered

from similarity.views.clusters import CLUSTERERS, cluster, confusion, name_clusters, parse_labels, scan_k, zero_shot


@pytest.mark.parametrize("method", list(CLUSTERERS))
def test_each_method_recovers_a_seeded_mixture(method):
    vectors = clustered(n_per=40, centres=3, seed=0)
    truth = np.repeat([0, 1, 2], 40)
    labels = cluster(method, vectors, k=3, seed=0)
    keep = labels >= 0
    assert keep.mean() > 0.8
    assert adjusted_rand_score(truth[keep], labels[keep]) > 0.9


def test_silhouette_chooses_the_true_k():
    scan = scan_k(clustered(n_per=30, centres=4, seed=2), k_max=8)
    assert scan.best_k == 4 and len(scan.inertias) == 7
    assert np.all(np.diff(scan.inertias) < 0)  # the elbow curve falls with k


def test_k_out_of_range_and_tiny_collections_are_explained():
    vectors = clustered(n_per=2, centres=2)
    with pytest.raises(ValueError, match="between 2 and 3 for 4 items"):
        cluster("k-means", vectors, k=7)
    with pytest.raises(ValueError, match="at least 3 items; there are 2"):
        cluster("k-means", vectors[:2], k=2)
    with pytest.raises(ValueError, match="at least 5"):
        cluster("HDBSCAN", vectors)
    with pytest.raises(ValueError, match="at least 3 items; there are 1"):
        scan_k(vectors[:1])


def test_clusters_are_named_by_the_nearest_text():
    vectors = clustered(n_per=20, centres=2, seed=4)
    labels = np.repeat([0, 1], 20)
    names = name_clusters(vectors, labels, np.stack([vectors[25], vectors[5]]), ["second", "first"])
    assert names == {0: "first", 1: "second"}


def test_zero_shot_and_confusion():
    labels = np.eye(3, dtype=np.float32)
    images = np.array([[0.9, 0.1, 0], [0.1, 0.2, 0.9], [0.6, 0.5, 0]], dtype=np.float32)
    assert zero_shot(images, labels).tolist() == [0, 2, 0]
    accuracy, mistakes = confusion(["a", "c", "b", "b"], ["a", "c", "a", "a"])
    assert accuracy == 0.5 and mistakes == [("b", "a", 2)]
    assert parse_labels(" animal, food ,\nvehicle,animal") == ["animal", "food", "vehicle"]
    with pytest.raises(ValueError):
        zero_shot(images, np.zeros((0, 3)))


def test_automatic_k_covers_known_categories_and_says_when_it_hits_the_edge():
    from similarity.views.clusters import explore_clusters, scan_range

    assert scan_range(1000, n_known=20) == 23 and scan_range(1000) == 15 and scan_range(6, n_known=20) == 5
    chosen = explore_clusters(clustered(n_per=30, centres=4, seed=2), "k-means", n_known=4)
    assert chosen.n_clusters == 4 and len(chosen.notes) == 1
    assert chosen.notes[0] == "k = 4 has the best silhouette of k = 2…15; the collection has 4 known categories."
    sixteen = clustered(n_per=10, d=32, centres=16, seed=3)  # more groups than the scan tries
    edge = explore_clusters(sixteen, "k-means")
    assert edge.scan.best_k == 15 and edge.scan.at_edge and "largest k tried" in edge.notes[1]
    covered = explore_clusters(sixteen, "k-means", n_known=16)  # known categories widen the scan
    assert covered.scan.ks[-1] == 19 and not covered.scan.at_edge and len(covered.notes) == 1


def test_noise_is_counted_and_the_silhouette_says_what_it_covers():
    from similarity.views.clusters import explore_clusters

    rng = np.random.default_rng(0)
    scattered = rng.standard_normal((60, 16)).astype(np.float32)
    vectors = np.concatenate(
        [clustered(n_per=40, centres=3, seed=0), scattered / np.linalg.norm(scattered, axis=1)[:, None]]
    )
    result = explore_clusters(vectors, "HDBSCAN")
    assert result.noise == int((result.labels == -1).sum()) > 0 and result.scan is None
    share = 1 - result.noise / len(vectors)
    assert (
        f"measured on the {share:.0%} of items" in result.summary()
        and f"{result.noise:,} items are noise" in result.summary()
    )


def test_big_collections_cluster_with_mini_batches_and_refuse_pairwise_methods():
    from similarity.views.clusters import BIG, explore_clusters

    rng = np.random.default_rng(0)
    centres = rng.standard_normal((6, 16))
    vectors = centres[rng.integers(0, 6, BIG + 5_000)] + 0.3 * rng.standard_normal((BIG + 5_000, 16))
    vectors = (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)
    result = explore_clusters(vectors, "k-means")
    assert len(result.labels) == len(vectors) and result.scan.best_k == 6
    assert any(f"sample of {BIG:,}" in note for note in result.notes)
    for method in ("HDBSCAN", "Agglomerative (average, cosine)"):
        with pytest.raises(ValueError, match="compares every pair of items"):
            explore_clusters(vectors, method, k=6)
