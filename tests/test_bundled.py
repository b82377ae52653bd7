"""The bundled offline model: real semantics on the demo collection."""

import numpy as np
import pytest

from similarity.embed import IMAGE, embed_collection
from similarity.search import text_query, top_k
from similarity.store import EmbeddingStore


@pytest.fixture(scope="module")
def demo_space(bundled, demo, tmp_path_factory):
    return embed_collection(bundled, EmbeddingStore(tmp_path_factory.mktemp("store"), bundled.key), demo)


def test_encoder_face(bundled):
    texts = bundled.encode_texts(["a cat", "pizza", "a cat"])
    assert texts.shape == (3, bundled.dim) and texts.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(texts, axis=1), 1, rtol=1e-5)
    np.testing.assert_allclose(texts[0], texts[2], atol=1e-6)  # batch padding does not change a caption
    np.testing.assert_allclose(texts[1], bundled.encode_texts(["pizza"])[0], atol=1e-5)
    assert "emoji" in bundled.provenance and bundled.encode_images([]).shape == (0, bundled.dim)


@pytest.mark.parametrize("query,expected", [("pizza", "pizza"), ("a dog", "dog"), ("rocket", "rocket")])
def test_text_finds_the_right_picture(bundled, demo, demo_space, query, expected):
    pictures = demo_space.rows((IMAGE,))
    ranking = top_k(text_query(bundled.encode_texts, query), demo_space.vectors, 5, among=pictures)
    names = [demo.items[demo_space.item[r]].caption for r in ranking.indices]
    assert any(expected in n for n in names), names


def test_automatic_cluster_names_match_emoji_groups_for_most_clusters(bundled, demo, demo_space):
    from similarity.clusters import cluster, name_agreement, name_clusters

    pictures = demo_space.rows((IMAGE,))
    vectors = demo_space.vectors[pictures]
    truth = [demo.items[demo_space.item[r]].label for r in pictures]
    groups = sorted(set(truth))
    labels = cluster("k-means", vectors, k=len(groups), seed=0)
    names = name_clusters(vectors, labels, bundled.encode_texts(groups), groups)
    assert name_agreement(labels, names, truth) / len(names) > 0.5  # measured: 6 of 9 clusters
