import numpy as np
from conftest import unit_vectors

from similarity.storage import vectors as store_module
from similarity.storage.vectors import EmbeddingStore


def test_vectors_survive_a_restart(tmp_path):
    vectors = unit_vectors(5, 8)
    EmbeddingStore(tmp_path, "model-a").add([f"k{i}" for i in range(5)], vectors)
    reopened = EmbeddingStore(tmp_path, "model-a")
    assert len(reopened) == 5
    np.testing.assert_array_equal(reopened.get(["k3", "k0"]), vectors[[3, 0]])


def test_models_do_not_share_vectors(tmp_path):
    EmbeddingStore(tmp_path, "model-a").add(["k"], unit_vectors(1, 8))
    assert "k" not in EmbeddingStore(tmp_path, "model/b")


def test_missing_lists_only_new_keys_once(tmp_path):
    store = EmbeddingStore(tmp_path, "m")
    store.add(["a", "b"], unit_vectors(2, 4))
    assert store.missing(["a", "c", "b", "c", "d"]) == ["c", "d"]


def test_the_store_is_one_lancedb_table_per_model_with_kinds(tmp_path):
    import lancedb

    store = EmbeddingStore(tmp_path, "ViT-B-32/laion")
    store.add(["img:abc", "txt:def"], unit_vectors(2, 4))
    store.add(["img:abc"], unit_vectors(1, 4, seed=3))  # already stored: not written twice
    table = lancedb.connect(str(tmp_path)).open_table("vectors__ViT-B-32_laion")
    rows = table.to_arrow().to_pylist()
    assert [(r["key"], r["kind"]) for r in rows] == [("img:abc", "image"), ("txt:def", "caption")]
    assert table.schema.field("vector").type.list_size == 4


def test_compaction_keeps_every_vector(tmp_path, monkeypatch):
    monkeypatch.setattr(store_module, "COMPACT_AFTER", 3)
    store = EmbeddingStore(tmp_path, "m")
    vectors = unit_vectors(10, 4)
    for i in range(10):
        store.add([f"k{i}"], vectors[i : i + 1])
    assert store.table.count_rows() == 10
    np.testing.assert_array_equal(EmbeddingStore(tmp_path, "m").get([f"k{i}" for i in range(10)]), vectors)


def test_clear_forgets_everything(tmp_path):
    store = EmbeddingStore(tmp_path, "m")
    store.add(["a"], unit_vectors(1, 4))
    store.clear()
    assert len(store) == 0 and len(EmbeddingStore(tmp_path, "m")) == 0
    store.add(["b"], unit_vectors(1, 4))  # and it starts again
    assert EmbeddingStore(tmp_path, "m").keys() == ["b"]


def test_a_table_of_another_vector_size_is_refused_not_overwritten(tmp_path):
    import pytest

    EmbeddingStore(tmp_path, "m").add(["a"], unit_vectors(1, 4))
    with pytest.raises(ValueError, match="holds vectors of size 4, but this model gives 8"):
        EmbeddingStore(tmp_path, "m", dim=8)
    assert EmbeddingStore(tmp_path, "m", dim=4).keys() == ["a"]


def test_a_long_lived_store_catches_up_with_what_another_writer_added(tmp_path):
    server = EmbeddingStore(tmp_path, "m")  # the app's store object, read once at start
    server.add(["own"], unit_vectors(1, 8))
    server.catch_up()  # nothing new from others: its own vector stays
    assert len(server) == 1
    indexer = EmbeddingStore(tmp_path, "m")
    vectors = unit_vectors(3, 8, seed=1)
    indexer.add(["a", "b", "c"], vectors)
    assert server.missing(["a", "own"]) == ["a"]  # not seen yet
    server.catch_up()
    assert server.missing(["a", "b", "c", "own"]) == []
    np.testing.assert_array_equal(server.get(["c", "a"]), vectors[[2, 0]])
