"""The vector store survives faults and neighbours: damaged files, a killed writer, two writers at once."""

import multiprocessing
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import unit_vectors
from streamlit.testing.v1 import AppTest

from similarity import store as store_module
from similarity.collection import Collection, load_folder
from similarity.embed import embed_collection
from similarity.store import EmbeddingStore

ROOT = Path(__file__).resolve().parent.parent


def _damage(path: Path, how: str) -> None:
    data = path.read_bytes()
    if how == "empty":
        path.write_bytes(b"")
    elif how == "truncated":
        path.write_bytes(data[: len(data) // 2])
    elif how == "flipped byte":
        middle = len(data) // 2
        path.write_bytes(data[:middle] + bytes([data[middle] ^ 0xFF]) + data[middle + 1 :])
    elif how == "wrong vector size":
        with np.load(path) as shard:
            keys = shard["keys"]
        np.savez(path, keys=keys, vectors=unit_vectors(len(keys), 7))
    elif how == "NaN vectors":
        with np.load(path) as shard:
            keys, vectors = shard["keys"], shard["vectors"]
        np.savez(path, keys=keys, vectors=np.full_like(vectors, np.nan))


@pytest.mark.parametrize("how", ["empty", "truncated", "flipped byte", "wrong vector size", "NaN vectors"])
def test_a_damaged_shard_is_set_aside_and_only_its_items_are_embedded_again(bundled, demo, tmp_path, how):
    part = Collection("part", demo.items[:40])
    embed_collection(bundled, EmbeddingStore(tmp_path, bundled.key), part)  # one picture shard, one caption shard
    shards = sorted((tmp_path / bundled.key).glob("shard-*.npz"), key=lambda p: p.stat().st_mtime)
    assert len(shards) == 2
    _damage(shards[0], how)  # the pictures' shard
    stale = tmp_path / bundled.key / "left-by-a-killed-writer.tmp"
    stale.write_bytes(b"half")
    os.utime(stale, (time.time() - 3600, time.time() - 3600))

    reopened = EmbeddingStore(tmp_path, bundled.key, dim=bundled.dim)
    assert len(reopened.set_aside) == 1 and reopened.set_aside[0].startswith(shards[0].name)
    assert (tmp_path / bundled.key / "set-aside" / shards[0].name).exists() and not stale.exists()
    again = embed_collection(bundled, reopened, part)
    assert (again.encoded_images, again.encoded_texts) == (40, 0) and not again.problems
    assert len(EmbeddingStore(tmp_path, bundled.key, dim=bundled.dim).missing([f"x{i}" for i in range(3)])) == 3


def test_every_visitor_still_gets_the_app_when_the_store_is_damaged(tmp_path):
    from similarity.models import load_bundled

    folder = tmp_path / load_bundled().key
    folder.mkdir(parents=True)
    (folder / "shard-broken.npz").write_bytes(b"PK\x03\x04 not a zip at all")
    (folder / "shard-empty.npz").write_bytes(b"")
    for _ in range(2):  # two visitors
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180)
        at.session_state["store_root"] = str(tmp_path)
        at.switch_page("app_pages/search.py").run()
        assert not at.exception and any(c.value.startswith("#1 ") for c in at.caption)
    assert sorted(p.name for p in (folder / "set-aside").iterdir()) == ["shard-broken.npz", "shard-empty.npz"]


def _writer(root: str, prefix: str, n: int) -> None:
    store_module.COMPACT_AFTER = 3  # compact often, to race with the other writer
    store = EmbeddingStore(Path(root), "model")
    vectors = unit_vectors(n, 8, seed=len(prefix))
    for start in range(0, n, 10):
        store.add([f"{prefix}{i}" for i in range(start, start + 10)], vectors[start : start + 10])


def test_two_writer_processes_lose_no_key(tmp_path):
    context = multiprocessing.get_context("spawn")
    writers = [context.Process(target=_writer, args=(str(tmp_path), prefix, 300)) for prefix in ("a", "bb")]
    for w in writers:
        w.start()
    for w in writers:
        w.join(timeout=120)
        assert w.exitcode == 0
    merged = EmbeddingStore(tmp_path, "model")
    expected = [f"a{i}" for i in range(300)] + [f"bb{i}" for i in range(300)]
    assert merged.missing(expected) == [] and not merged.set_aside


def test_sessions_sharing_one_store_object_lose_no_key(tmp_path, monkeypatch):
    import threading

    monkeypatch.setattr(store_module, "COMPACT_AFTER", 3)
    shared = EmbeddingStore(tmp_path, "model")

    def add(prefix):
        for start in range(0, 200, 10):
            shared.add([f"{prefix}{i}" for i in range(start, start + 10)], unit_vectors(10, 8, seed=start))

    threads = [threading.Thread(target=add, args=(p,)) for p in ("s", "t", "u")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    keys = [f"{p}{i}" for p in "stu" for i in range(200)]
    assert EmbeddingStore(tmp_path, "model").missing(keys) == []


_EMBED = """
import sys
from pathlib import Path
from similarity.collection import load_folder
from similarity.embed import embed_collection
from similarity.models import load_bundled
from similarity.store import EmbeddingStore
encoder, pictures = load_bundled(), Path(sys.argv[1])
embed_collection(encoder, EmbeddingStore(Path(sys.argv[2]), encoder.key), load_folder(pictures, allowed=[pictures]))
"""


def test_kill_9_part_way_then_a_rerun_encodes_only_what_was_missing(bundled, tmp_path):
    rng = np.random.default_rng(0)
    pictures = tmp_path / "pictures"
    pictures.mkdir()
    from PIL import Image

    for i in range(700):  # six chunks of 128
        Image.fromarray(rng.integers(0, 256, (24, 24, 3), dtype=np.uint8)).save(pictures / f"p{i:03d}.png")
    store_root = tmp_path / "store"
    job = subprocess.Popen([sys.executable, "-c", _EMBED, str(pictures), str(store_root)], cwd=ROOT)
    folder = store_root / bundled.key
    deadline = time.time() + 120
    while time.time() < deadline and len(list(folder.glob("shard-*.npz"))) < 2:
        time.sleep(0.05)
    job.send_signal(signal.SIGKILL)
    job.wait(timeout=30)
    collection = load_folder(pictures, allowed=[pictures])
    survivor = EmbeddingStore(store_root, bundled.key, dim=bundled.dim)
    stored = 700 - len(survivor.missing([f"img:{item.id}" for item in collection.items]))
    assert 0 < stored < 700 and not survivor.set_aside  # part-way, and nothing stored is damaged
    resumed = embed_collection(bundled, survivor, collection)
    assert resumed.encoded_images == 700 - stored
    clean = embed_collection(bundled, EmbeddingStore(tmp_path / "clean", bundled.key), collection)
    assert np.einsum("nd,nd->n", resumed.vectors, clean.vectors).min() > 0.9999
