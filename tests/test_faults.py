"""The vector store survives faults and neighbours: damaged files, a killed writer, two writers at once."""

import multiprocessing
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import unit_vectors
from streamlit.testing.v1 import AppTest

from similarity.ingest.collection import Collection, load_folder
from similarity.ingest.space import embed_collection
from similarity.storage import vectors as store_module
from similarity.storage.vectors import EmbeddingStore

ROOT = Path(__file__).resolve().parent.parent


def _damage(table: Path, how: str) -> None:
    data_files = sorted((table / "data").glob("*.lance"))
    if how == "data file deleted":
        data_files[0].unlink()
    elif how == "data file truncated":
        data_files[0].write_bytes(data_files[0].read_bytes()[:40])
    elif how == "data file flipped":
        raw = data_files[0].read_bytes()
        middle = len(raw) // 2
        data_files[0].write_bytes(
            raw[:middle] + bytes(b ^ 0xFF for b in raw[middle : middle + 64]) + raw[middle + 64 :]
        )
    elif how == "manifests garbled":
        for manifest in (table / "_versions").glob("*.manifest"):
            manifest.write_bytes(b"not a manifest")
    elif how == "data folder deleted":
        shutil.rmtree(table / "data")


@pytest.mark.parametrize(
    # (NaN vectors cannot get in: LanceDB itself refuses them on write.)
    "how",
    ["data file deleted", "data file truncated", "data file flipped", "manifests garbled", "data folder deleted"],
)
def test_a_damaged_table_is_set_aside_and_its_items_are_embedded_again(bundled, demo, tmp_path, how):
    part = Collection("part", demo.items[:40])
    embed_collection(bundled, EmbeddingStore(tmp_path, bundled.key), part)
    table = next(tmp_path.glob("vectors__*.lance"))
    _damage(table, how)
    reopened = EmbeddingStore(tmp_path, bundled.key, dim=bundled.dim)
    assert len(reopened.set_aside) == 1 and reopened.set_aside[0].startswith(table.name.removesuffix(".lance"))
    assert len(list((tmp_path / "set-aside").iterdir())) == 1 and not table.exists()
    again = embed_collection(bundled, reopened, part)
    assert (again.encoded_images, again.encoded_texts) == (40, 40) and not again.problems
    assert EmbeddingStore(tmp_path, bundled.key, dim=bundled.dim).missing(again_keys(part)) == []


def again_keys(collection) -> list[str]:
    from similarity.ingest.space import vector_rows

    return [key for _, _, key in vector_rows(collection)]


def test_every_visitor_still_gets_the_app_when_the_store_is_damaged(tmp_path):
    from similarity.encoders.bundled import load_bundled

    versions = tmp_path / f"vectors__{load_bundled().key}.lance" / "_versions"
    versions.mkdir(parents=True)
    (versions / "1.manifest").write_bytes(b"PK\x03\x04 not a manifest at all")
    for _ in range(2):  # two visitors
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180)
        at.session_state["store_root"] = str(tmp_path)
        at.switch_page("app_pages/search.py").run()
        assert not at.exception and any(c.value.startswith("#1 ") for c in at.caption)
    assert len(list((tmp_path / "set-aside").iterdir())) == 1


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
from similarity.ingest.collection import load_folder
from similarity.ingest.space import embed_collection
from similarity.encoders.bundled import load_bundled
from similarity.storage.vectors import EmbeddingStore
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
    versions = store_root / f"vectors__{bundled.key}.lance" / "_versions"
    deadline = time.time() + 120
    while time.time() < deadline and len(list(versions.glob("*.manifest"))) < 2:  # two batches committed
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
