"""The vector store survives faults and neighbours: damaged files, a killed writer, two writers at once."""

import errno
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
from similarity.storage.damage import TemporaryStoreError
from similarity.storage.items import ItemTable
from similarity.storage.lance import connect
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
    elif how == "manifest bytes flipped":
        for manifest in (table / "_versions").glob("*.manifest"):
            raw = manifest.read_bytes()
            middle = len(raw) // 2
            manifest.write_bytes(raw[:middle] + bytes(b ^ 0xFF for b in raw[middle : middle + 16]) + raw[middle + 16 :])
    elif how == "_versions deleted":
        shutil.rmtree(table / "_versions")
    elif how == "manifests replaced by folders":
        for manifest in (table / "_versions").glob("*.manifest"):
            manifest.unlink()
            manifest.mkdir()
    elif how == "table folder replaced by a file":
        shutil.rmtree(table)
        table.write_bytes(b"not a table")
    else:
        raise ValueError(how)


MANIFEST_DAMAGE = ["manifest bytes flipped", "manifests garbled", "_versions deleted", "manifests replaced by folders"]
FOLDER_DAMAGE = [*MANIFEST_DAMAGE, "table folder replaced by a file"]


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


@pytest.mark.parametrize("how", FOLDER_DAMAGE)
def test_damage_found_on_catch_up_is_set_aside_and_the_store_carries_on_without_a_restart(tmp_path, how):
    """A server's store, read before the damage, meets it on catch_up (every add and open): no error, no restart."""
    store = EmbeddingStore(tmp_path, "model", dim=8)
    for start in (0, 10):  # two commits: two manifests
        store.add([f"k{i}" for i in range(start, start + 10)], unit_vectors(10, 8, seed=start))
    table = tmp_path / "vectors__model.lance"
    _damage(table, how)
    store.catch_up()
    assert len(store.set_aside) == 1 and len(store) == 0  # its items will be embedded again
    assert [p.name.startswith("vectors__model-") for p in (tmp_path / "set-aside").iterdir()] == [True]
    store.add(["k0", "k1"], unit_vectors(2, 8))  # a working table again
    store.catch_up()
    assert EmbeddingStore(tmp_path, "model", dim=8).missing(["k0", "k1"]) == [] and len(store) == 2


def _flaky(monkeypatch, method: str, errors: list[BaseException]) -> list[int]:
    """LanceDB's ``method`` raises each of ``errors`` once, in turn, then works; returns the count of calls."""
    from lancedb.table import LanceTable

    real, calls = getattr(LanceTable, method), []

    def flaky(self, *args, **kwargs):
        calls.append(1)
        if len(calls) <= len(errors):
            raise errors[len(calls) - 1]
        return real(self, *args, **kwargs)

    monkeypatch.setattr(LanceTable, method, flaky)
    return calls


PASSING = {
    "too many open files": OSError(errno.EMFILE, "Too many open files"),
    "file table full": OSError(errno.ENFILE, "Too many open files in system"),
    "try again": OSError(errno.EAGAIN, "Resource temporarily unavailable"),
    "interrupted": OSError(errno.EINTR, "Interrupted system call"),
    "out of memory": OSError(errno.ENOMEM, "Cannot allocate memory"),
    "Lance's words": RuntimeError("lance error: LanceError(IO): Too many open files (os error 24), /src/io.rs:1:1"),
}


@pytest.mark.parametrize("failures", [1, 2])
@pytest.mark.parametrize("error", list(PASSING))
def test_a_passing_read_failure_is_retried_and_a_healthy_table_kept(tmp_path, monkeypatch, error, failures):
    store = EmbeddingStore(tmp_path, "model", dim=8)
    keys = [f"k{i}" for i in range(520)]
    store.add(keys, unit_vectors(520, 8))
    items = ItemTable(connect(tmp_path), "shop")
    items.add([{"path": f"/p/{i}.png", "caption": None, "size": 1, "mtime": 1.0, "id": f"{i}"} for i in range(30)])
    calls = _flaky(monkeypatch, "to_arrow", [PASSING[error]] * failures)
    reopened = EmbeddingStore(tmp_path, "model", dim=8)
    assert len(calls) == failures + 1 and not reopened.set_aside and reopened.missing(keys) == []
    calls = _flaky(monkeypatch, "to_arrow", [PASSING[error]] * failures)
    table = ItemTable(connect(tmp_path), "shop")
    assert table.rows().num_rows == 30 and not table.set_aside and len(calls) == failures + 1
    assert not (tmp_path / "set-aside").exists()


def test_a_read_failing_for_a_passing_reason_every_time_is_a_temporary_error_never_damage(tmp_path, monkeypatch):
    store = EmbeddingStore(tmp_path, "model", dim=8)
    store.add(["a", "b"], unit_vectors(2, 8))
    items = ItemTable(connect(tmp_path), "shop")
    items.add([{"path": "/p/a.png", "caption": None, "size": 1, "mtime": 1.0, "id": "a"}])
    emfile = OSError(errno.EMFILE, "Too many open files")
    _flaky(monkeypatch, "to_arrow", [emfile] * 100)
    with pytest.raises(TemporaryStoreError, match="could not be read just now .*try again in a moment"):
        EmbeddingStore(tmp_path, "model", dim=8)
    with pytest.raises(TemporaryStoreError, match="Too many open files"):
        ItemTable(connect(tmp_path), "shop").rows()
    _flaky(monkeypatch, "count_rows", [emfile] * 100)
    store.add(["c"], unit_vectors(1, 8, seed=1))
    store.catch_up()  # cannot look now: it keeps serving what it read
    assert store.missing(["a", "b", "c"]) == [] and not store.set_aside
    assert not (tmp_path / "set-aside").exists()
    monkeypatch.undo()
    assert EmbeddingStore(tmp_path, "model", dim=8).missing(["a", "b", "c"]) == []
    assert ItemTable(connect(tmp_path), "shop").rows().num_rows == 1


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


def test_every_visitor_gets_your_collection_when_the_index_is_damaged_while_serving(tmp_path, monkeypatch):
    """The server's store was read before the damage: the next visitors get the page, no restart needed."""
    from PIL import Image

    from similarity.ingest.cli import main as index

    folder = tmp_path / "shop"
    folder.mkdir()
    rng = np.random.default_rng(1)  # not the demo's pictures: their vectors ship with the app
    for i in range(12):
        Image.fromarray(rng.integers(0, 256, (24, 24, 3), dtype=np.uint8)).save(folder / f"{i}.png")
    monkeypatch.setenv("CLIP_EXPLORER_INDEX", str(tmp_path / "index"))
    assert index([str(folder), "--collection", "shop"]) == 0

    def visitor() -> AppTest:
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180)
        at.session_state["store_root"] = str(tmp_path / "store")
        at.switch_page("app_pages/collections.py").run()
        assert not at.exception
        return at

    first = visitor()
    first.selectbox(key="indexed_choice").set_value("shop").run()
    assert any("opening it encodes nothing" in c.value for c in first.caption)
    _damage(next((tmp_path / "index").glob("vectors__*.lance")), "manifests garbled")
    second = visitor()
    second.selectbox(key="indexed_choice").set_value("shop").run()
    assert not second.exception and any("12 pictures and 0 captions of 'shop'" in w.value for w in second.warning)
    _damage(tmp_path / "index" / "items__shop.lance", "manifest bytes flipped")
    third = visitor()
    assert any("No indexed collections" in i.value for i in third.info)
    assert len(list((tmp_path / "index" / "set-aside").iterdir())) == 2


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
