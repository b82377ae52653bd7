"""The bundled offline model: real semantics on the demo collection."""

import numpy as np
import pytest

from similarity.ingest.collection import Collection
from similarity.ingest.space import embed_collection
from similarity.search.query import text_query
from similarity.search.topk import top_k
from similarity.storage.keys import CAPTION, IMAGE
from similarity.storage.paths import DEMO_VECTORS
from similarity.storage.vectors import EmbeddingStore, read_shipped


@pytest.fixture(scope="module")
def demo_space(bundled, demo, tmp_path_factory):
    """The demo as the app opens it: from the shipped vectors, nothing encoded."""
    store = EmbeddingStore(tmp_path_factory.mktemp("store"), bundled.key, shipped=(DEMO_VECTORS,))
    return embed_collection(bundled, store, demo)


def test_a_fresh_install_encodes_no_demo_item(demo_space):
    assert (demo_space.encoded_images, demo_space.encoded_texts) == (0, 0)
    assert demo_space.vectors.shape == (3722, 384) and not demo_space.problems


def test_shipped_vectors_are_this_models_own(bundled, demo, tmp_path):
    """Retraining without `python -m similarity.ingest.space` would ship stale vectors: this fails then."""
    shipped = read_shipped(DEMO_VECTORS, bundled.key)
    assert len(shipped) == 3722, (
        "data/demo/vectors.npz was made by another model: run python -m similarity.ingest.space"
    )
    fresh = embed_collection(bundled, EmbeddingStore(tmp_path, bundled.key), Collection("part", demo.items[::97]))
    from similarity.ingest.space import vector_rows

    keys = [key for _, _, key in vector_rows(Collection("part", demo.items[::97]))]
    cos = np.einsum("nd,nd->n", fresh.vectors, np.stack([shipped[k] for k in keys]))
    assert cos.min() > 0.999  # float16 storage, renormalised
    assert read_shipped(DEMO_VECTORS, "another-model") == {}


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
    ranking = top_k(text_query(bundled.encode_texts, query).vector, demo_space.vectors, 5, among=pictures)
    names = [demo.items[demo_space.item[r]].caption for r in ranking.indices]
    assert any(expected in n for n in names), names


def test_automatic_cluster_names_match_emoji_groups_for_most_clusters(bundled, demo, demo_space):
    from similarity.views.clusters import cluster, name_agreement, name_clusters

    pictures = demo_space.rows((IMAGE,))
    vectors = demo_space.vectors[pictures]
    truth = [demo.items[demo_space.item[r]].label for r in pictures]
    groups = sorted(set(truth))
    labels = cluster("k-means", vectors, k=len(groups), seed=0)
    names = name_clusters(vectors, labels, bundled.encode_texts(groups), groups)
    assert name_agreement(labels, names, truth) / len(names) > 0.5  # measured: 6 of 9 clusters


def test_real_queries_beat_the_null_baseline_and_nonsense_does_not(bundled, demo_space):
    from similarity.search.relevance import nonsense_words, null_baseline, null_queries

    pictures = demo_space.vectors[demo_space.rows((IMAGE,))]
    baseline = null_baseline(bundled.encode_texts(nonsense_words()), pictures)
    real = bundled.encode_texts(["a red fruit", "a smiling cat", "a musical instrument", "flag of japan"])
    best_real = (real @ pictures.T).max(axis=1)
    # Never "no real match" for a real query; most clear the strong line (measured: 2 strong, 2 weak).
    assert (best_real >= baseline.weak_at).all() and (best_real >= baseline.strong_at).sum() >= 2
    other_nonsense = bundled.encode_texts(nonsense_words(100, seed=1))  # not the baseline's own phrases
    best = (other_nonsense @ pictures.T).max(axis=1)
    assert np.mean(best >= baseline.strong_at) <= 0.05 and np.mean(best < baseline.weak_at) >= 0.8
    pairs = null_queries(bundled.encode_texts(nonsense_words(20)), (1, -1))
    np.testing.assert_allclose(np.linalg.norm(pairs, axis=1), 1, rtol=1e-5)


def test_modality_gap_figures_from_the_demo(demo_space):
    from similarity.search.modality import modality_gap

    pictures, captions = demo_space.rows((IMAGE,)), demo_space.rows((CAPTION,))
    own = np.column_stack([np.arange(len(pictures)), np.arange(len(captions))])  # the demo pairs them in order
    assert (demo_space.item[pictures] == demo_space.item[captions]).all()
    gap = modality_gap(demo_space.vectors[pictures], demo_space.vectors[captions], own)
    assert gap.own_caption[1] > gap.picture_caption[2]  # a picture's own caption beats unrelated ones
    assert 20 < gap.centre_angle < 160 and "modality gap" in gap.sentence()


def test_photos_get_sensible_answers_offline(bundled):
    """The photo mode (ImageNet's classes read through the text tower): the 20-photo check of the card."""
    from training.photos import load_photos

    names, photos, captions, _ = load_photos()
    sims = bundled.encode_texts(captions) @ bundled.encode_images(photos).T
    found = {n: names[int(i)] for n, i in zip(names, sims.argmax(1))}
    assert sum(n == f for n, f in found.items()) >= 10, found  # measured: 12 of 20 (chance: 1)
    assert all(found[n] == n for n in ("chelsea", "coffee", "rocket", "flower.jpg")), found
    assert "ImageNet" in bundled.photo_note


def test_odd_pictures_go_through_the_new_tower(bundled):
    """1 x 1, 20,000 x 20, grey-scale and CMYK pictures: unit vectors, a cat photo in CMYK still a cat."""
    from PIL import Image

    from training.photos import load_photos

    names, photos, captions, _ = load_photos()
    cat = photos[names.index("chelsea")]
    odd = [Image.new("RGB", (1, 1), (200, 30, 30)), Image.new("RGB", (20_000, 20), (0, 120, 255)), cat.convert("L")]
    odd.append(cat.convert("CMYK"))
    vectors = bundled.encode_images(odd)
    assert np.isfinite(vectors).all() and np.allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-5)
    words = bundled.encode_texts(captions)
    assert names[int(np.argmax(words @ vectors[3]))] == "chelsea"  # CMYK is read as the same photo
