import numpy as np
from conftest import unit_vectors

from similarity import store as store_module
from similarity.store import EmbeddingStore


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


def test_writes_leave_no_temporary_files_and_corrupt_shards_are_dropped(tmp_path):
    store = EmbeddingStore(tmp_path, "m")
    store.add(["a"], unit_vectors(1, 4))
    store.add(["b"], unit_vectors(1, 4, seed=1))
    assert not list(store.folder.glob("*.tmp"))
    (store.folder / "shard-zzzz.npz").write_bytes(b"half a file")  # e.g. a disk that filled up
    reopened = EmbeddingStore(tmp_path, "m")
    assert sorted(reopened.missing(["a", "b", "c"])) == ["c"]


def test_compaction_keeps_every_vector(tmp_path, monkeypatch):
    monkeypatch.setattr(store_module, "COMPACT_AFTER", 3)
    store = EmbeddingStore(tmp_path, "m")
    vectors = unit_vectors(10, 4)
    for i in range(10):
        store.add([f"k{i}"], vectors[i : i + 1])
    assert len(list(store.folder.glob("shard-*.npz"))) <= 3
    np.testing.assert_array_equal(EmbeddingStore(tmp_path, "m").get([f"k{i}" for i in range(10)]), vectors)


def test_clear_forgets_everything(tmp_path):
    store = EmbeddingStore(tmp_path, "m")
    store.add(["a"], unit_vectors(1, 4))
    store.clear()
    assert len(store) == 0 and len(EmbeddingStore(tmp_path, "m")) == 0
