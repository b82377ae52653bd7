"""Embedding a collection through the store: nothing is encoded twice."""

import numpy as np

from similarity.ingest.collection import Collection, load_folder
from similarity.ingest.space import embed_collection
from similarity.storage.keys import CAPTION, IMAGE
from similarity.storage.vectors import EmbeddingStore


def test_reopening_encodes_nothing_and_adding_encodes_only_the_new(bundled, demo, tmp_path):
    small = Collection("part", demo.items[:30])
    first = embed_collection(bundled, EmbeddingStore(tmp_path, bundled.key), small)
    assert (first.encoded_images, first.encoded_texts) == (30, 30)
    again = embed_collection(bundled, EmbeddingStore(tmp_path, bundled.key), small)  # a restart
    assert (again.encoded_images, again.encoded_texts) == (0, 0)
    np.testing.assert_array_equal(again.vectors, first.vectors)
    bigger = embed_collection(bundled, EmbeddingStore(tmp_path, bundled.key), Collection("all", demo.items[:40]))
    assert (bigger.encoded_images, bigger.encoded_texts) == (10, 10)
    assert bigger.vectors.shape == (80, bundled.dim) and bigger.vectors.dtype == np.float32


def test_progress_is_reported_up_to_the_total(bundled, demo, tmp_path):
    calls = []
    embed_collection(
        bundled,
        EmbeddingStore(tmp_path, bundled.key),
        Collection("p", demo.items[:200]),
        progress=lambda done, total: calls.append((done, total)),
    )
    assert calls[-1] == (400, 400) and [d for d, _ in calls] == sorted(d for d, _ in calls)


def test_a_picture_that_fails_to_decode_is_reported_and_the_rest_kept(bundled, make_image, tmp_path):
    make_image("c/red.png")
    make_image("c/blue.png", color=(0, 0, 250))
    collection = load_folder(tmp_path / "c", allowed=[tmp_path])
    (tmp_path / "c/blue.png").write_bytes(b"broken after loading")  # e.g. the file changed on disk
    space = embed_collection(bundled, EmbeddingStore(tmp_path / "store", bundled.key), collection)
    assert len(space.vectors) == 1 and any("blue.png" in p for p in space.problems)


def test_rows_know_their_item_and_kind(bundled, demo, tmp_path):
    space = embed_collection(bundled, EmbeddingStore(tmp_path, bundled.key), Collection("s", demo.items[:5]))
    assert space.rows((IMAGE,)).tolist() == [0, 2, 4, 6, 8]
    assert space.rows((CAPTION,)).tolist() == [1, 3, 5, 7, 9]
    assert space.item.tolist() == [0, 0, 1, 1, 2, 2, 3, 3, 4, 4]
