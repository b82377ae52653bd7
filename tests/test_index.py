"""Indexing big collections outside the app: LanceDB tables, resume after kill -9, bad files named."""

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from test_faults import FOLDER_DAMAGE, _damage

from similarity.ingest.cli import main
from similarity.ingest.collection import load_indexed
from similarity.ingest.files import open_image
from similarity.ingest.indexer import Report, gather, index_local
from similarity.storage.items import ItemTable, indexed_collections
from similarity.storage.keys import caption_key, content_id
from similarity.storage.lance import connect
from similarity.storage.vectors import EmbeddingStore

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def pictures(demo, tmp_path):
    """Real emoji pictures in a folder with a sub-folder, and their captions as a CSV."""
    folder = tmp_path / "pictures"
    (folder / "more").mkdir(parents=True)
    rows = ["file,caption"]
    for i, item in enumerate(demo.items[:40]):
        target = folder / ("more" if i % 2 else "") / item.image_path.name
        shutil.copy(item.image_path, target)
        rows.append(f"{item.image_path.name},{item.caption}")
    (tmp_path / "captions.csv").write_text("\n".join(rows) + "\n")
    return folder


def run(encoder, db, paths, collection="shop", captions=None) -> Report:
    report = gather(paths, captions or {}, Path(db.uri).parent / "unpacked")
    return index_local(
        encoder, EmbeddingStore(db.uri, encoder.key, dim=encoder.dim), ItemTable(db, collection), report, batch=16
    )


def test_a_folder_is_indexed_once_and_a_rerun_encodes_nothing(bundled, pictures, tmp_path):
    db = connect(str(tmp_path / "db"))
    first = run(bundled, db, [pictures])
    assert (first.indexed, first.encoded_images, first.problems) == (40, 40, [])
    vectors = EmbeddingStore(db.uri, bundled.key, dim=bundled.dim)
    some = sorted(pictures.rglob("*.png"))[:3]
    # The stored vectors are the model's own.
    collection = load_indexed("shop", db.uri)
    by_path = {item.image_path: item for item in collection.items}
    own = bundled.encode_images([open_image(p) for p in some])
    got = vectors.get([f"img:{by_path[p].id}" for p in some])
    assert np.einsum("nd,nd->n", own, got).min() > 0.999
    again = run(bundled, db, [pictures])
    assert (again.unchanged, again.encoded_images, again.indexed) == (40, 0, 0)
    assert indexed_collections(db.uri) == {"shop": 40}


def test_captions_from_a_csv_are_indexed_with_their_pictures(bundled, pictures, tmp_path):
    from similarity.ingest.files import read_captions

    db = connect(str(tmp_path / "db"))
    captions = read_captions("captions.csv", (tmp_path / "captions.csv").read_bytes())
    report = run(bundled, db, [pictures], captions=captions)
    assert report.encoded_captions == 40
    collection = load_indexed("shop", db.uri)
    assert sum(item.caption is not None for item in collection.items) == 40


def test_bad_files_are_named_and_good_ones_kept(bundled, pictures, tmp_path):
    (pictures / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    (pictures / "empty.jpg").write_bytes(b"")
    os.symlink(pictures / "nowhere.png", pictures / "dangling.png")
    os.symlink(pictures / "loop-b.png", pictures / "loop-a.png")
    os.symlink(pictures / "loop-a.png", pictures / "loop-b.png")
    shutil.copy(next(pictures.glob("*.png")), pictures / "same-picture-again.png")
    empty = tmp_path / "no-pictures"
    empty.mkdir()
    (empty / "notes.txt").write_text("hello")
    db = connect(str(tmp_path / "db"))
    report = run(bundled, db, [pictures, empty, tmp_path / "missing"])
    problems = "\n".join(report.problems)
    for name in (
        "broken.png: not a picture this app can read",
        "empty.jpg: empty file",
        "dangling.png",
        "loop-a.png",
        "loop-b.png",
    ):
        assert name in problems
    assert f"{empty}: no pictures found" in problems and f"{tmp_path / 'missing'}: no such file" in problems
    assert report.indexed == 41 and report.duplicates == 1
    assert len(EmbeddingStore(db.uri, bundled.key, dim=bundled.dim)) == 40  # the same picture is stored once


def test_a_table_of_another_vector_size_is_refused_and_kept(tmp_path):
    db = connect(str(tmp_path / "db"))
    table = EmbeddingStore(db.uri, "some-model", dim=4)
    table.add(["img:a"], np.eye(1, 4, dtype=np.float32))
    with pytest.raises(ValueError, match="vectors of size 4, but this model gives 8"):
        EmbeddingStore(db.uri, "some-model", dim=8)
    assert len(EmbeddingStore(db.uri, "some-model", dim=4)) == 1


def test_a_killed_indexer_resumes_where_it_stopped(bundled, demo, tmp_path):
    folder = tmp_path / "many"
    folder.mkdir()
    for item in demo.items[:400]:
        shutil.copy(item.image_path, folder / item.image_path.name)
    index = tmp_path / "db"
    command = [sys.executable, "-m", "similarity.ingest.cli", str(folder), "--collection", "big", "--index", str(index)]
    proc = subprocess.Popen([*command, "--batch", "8"], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    try:
        while time.time() < deadline and not indexed_collections(str(index)).get("big", 0) >= 40:
            time.sleep(0.2)
        before = indexed_collections(str(index)).get("big", 0)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert 40 <= before < 400, "the indexer should have been killed part-way"
    report = run(bundled, connect(str(index)), [folder], collection="big")
    done = indexed_collections(str(index))["big"]
    assert report.unchanged >= before and report.encoded_images <= 400 - before
    assert done == 400 and len(EmbeddingStore(index, bundled.key, dim=bundled.dim)) == 400


def test_the_app_reading_while_the_indexer_writes_never_sees_an_item_without_its_vector(bundled, demo, tmp_path):
    from similarity.ingest.space import missing_vectors

    folder = tmp_path / "many"
    folder.mkdir()
    for item in demo.items[:400]:
        shutil.copy(item.image_path, folder / item.image_path.name)
    index = str(tmp_path / "db")
    command = [sys.executable, "-m", "similarity.ingest.cli", str(folder), "--collection", "live", "--index", index]
    proc = subprocess.Popen([*command, "--batch", "8"], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    seen, deadline = [], time.time() + 120
    try:
        while proc.poll() is None and time.time() < deadline:
            if indexed_collections(index).get("live"):  # what a visitor opening it now would get
                collection = load_indexed("live", index)
                store = EmbeddingStore(index, bundled.key, dim=bundled.dim)
                seen.append((len(collection.items), missing_vectors(store, collection)))
            time.sleep(0.05)
    finally:
        proc.kill()
        proc.wait()
    assert proc.returncode == 0 and len(load_indexed("live", index).items) == 400
    partial = [n for n, _ in seen if n < 400]
    assert len(partial) >= 2, "the reads should have overlapped the writing"
    assert all(missing == (0, 0) for _, missing in seen)  # vectors are committed before the items that use them


def test_the_command_line_says_what_it_did_and_refuses_nothing_to_index(pictures, tmp_path, capsys):
    assert main([str(pictures), "--collection", "cli", "--index", str(tmp_path / "db")]) == 0
    assert "cli: 40 files indexed" in capsys.readouterr().out
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main([str(empty), "--collection", "none", "--index", str(tmp_path / "db")]) == 1
    assert f"{empty}: no pictures found" in capsys.readouterr().err


@pytest.fixture
def small_disk(tmp_path):
    """A 1 MB tmpfs (needs root, as in CI's container); the test is skipped where it cannot be mounted."""
    mount = tmp_path / "small"
    mount.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)], capture_output=True).returncode:
        pytest.skip("cannot mount a small tmpfs here (needs root)")
    yield mount
    subprocess.run(["umount", str(mount)], check=False)


def test_a_full_disk_stops_with_a_message_keeps_what_was_stored_and_a_rerun_resumes(demo, small_disk, capsys):
    command = [str(demo.items[0].image_path.parent), "--collection", "full", "--index", str(small_disk / "db")]
    assert main(command) == 3
    err = capsys.readouterr().err
    assert "No space left on device" in err and "rerun: it resumes there" in err
    kept = indexed_collections(str(small_disk / "db"))["full"]
    assert 0 < kept < len(demo.items) // 2  # the batches committed before the disk filled are readable
    subprocess.run(["mount", "-o", "remount,size=64m", str(small_disk)], check=True)
    assert main(command) == 0
    assert f"{kept:,} unchanged (skipped)" in capsys.readouterr().out
    assert indexed_collections(str(small_disk / "db"))["full"] == len(
        {i.image_path for i in demo.items if i.image_path}
    )


def test_int8_is_opt_in_and_says_its_recall_before_indexing(bundled, pictures, tmp_path, capsys):
    assert main([str(pictures), "--collection", "q", "--index", str(tmp_path / "db"), "--int8"]) == 0
    out = capsys.readouterr().out
    recall = float(out.split("recall@10 = ")[1].split()[0])
    assert 0.5 <= recall <= 1 and out.index("recall@10") < out.index("q: 40 files indexed")
    db = connect(str(tmp_path / "db"))
    collection = load_indexed("q", db.uri)
    approx = EmbeddingStore(db.uri, bundled.key, dim=bundled.dim).get([f"img:{i.id}" for i in collection.items])
    exact = bundled.encode_images([open_image(i.image_path) for i in collection.items])
    assert np.einsum("nd,nd->n", approx, exact).min() > 0.95  # close to, not equal to, fp32


def test_photos_are_decoded_only_as_large_as_the_model_looks_and_app_and_indexer_agree(bundled, demo, tmp_path):
    """A JPEG is decoded at a reduced scale (faster), the same way by the indexer and the app."""
    from PIL import Image

    from similarity.ingest.collection import load_folder
    from similarity.ingest.space import embed_collection
    from similarity.storage.keys import IMAGE

    folder = tmp_path / "photos"
    folder.mkdir()
    for item in demo.items[:12]:  # photo-sized JPEGs: 800 x 600
        canvas = Image.new("RGB", (800, 600), (235, 230, 220))
        canvas.paste(open_image(item.image_path).resize((500, 500)), (150, 50))
        canvas.save(folder / f"{item.image_path.stem}.jpg", quality=90)
    photos = sorted(folder.glob("*.jpg"))
    drafted = open_image(photos[0], fit=bundled.picture_size)
    scale = max(r for r in (1, 2, 4, 8) if 600 // r >= bundled.picture_size)  # JPEG decodes at 1/2, 1/4 or 1/8
    assert scale > 1 and drafted.size == (800 // scale, 600 // scale)
    db = connect(str(tmp_path / "db"))
    assert run(bundled, db, [folder]).encoded_images == 12
    indexed = EmbeddingStore(db.uri, bundled.key, dim=bundled.dim)
    app_store = EmbeddingStore(tmp_path / "app", bundled.key)
    space = embed_collection(bundled, app_store, load_folder(folder, allowed=[tmp_path]))
    app_vectors = space.vectors[space.rows((IMAGE,))]
    keys = [f"img:{space.item_of(r).id}" for r in space.rows((IMAGE,))]
    np.testing.assert_allclose(indexed.get(keys), app_vectors, atol=1e-5)  # the same picture, the same vector
    full_decode = bundled.encode_images([open_image(space.item_of(r).image_path) for r in space.rows((IMAGE,))])
    assert np.einsum("nd,nd->n", full_decode, app_vectors).min() > 0.99  # and what a full decode would give


def _without_root_reading_everything() -> None:
    """In the child, before it runs: drop the capabilities that let root read any file (Linux)."""
    import ctypes

    prctl = ctypes.CDLL(None, use_errno=True).prctl
    for capability in (1, 2):  # CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, from the bounding set (PR_CAPBSET_DROP)
        if prctl(24, capability, 0, 0, 0):
            raise OSError(ctypes.get_errno(), "cannot drop root's file-reading capabilities")


def test_files_and_folders_without_permission_are_named_and_the_rest_indexed(demo, tmp_path):
    """Root reads every file: as root, the indexer runs without the capabilities that allow it."""
    pictures = tmp_path / "pictures"
    (pictures / "locked").mkdir(parents=True)
    for i, item in enumerate(demo.items[:4]):
        shutil.copy(item.image_path, pictures / ("locked" if i == 3 else "") / f"{i}.png")
    (pictures / "2.png").chmod(0)
    (pictures / "locked").chmod(0)
    command = [sys.executable, "-m", "similarity.ingest.cli", str(pictures), "--collection", "perm"]
    drop = _without_root_reading_everything if os.geteuid() == 0 else None

    def index(without_permission: bool) -> str:
        try:
            done = subprocess.run(
                [*command, "--index", str(tmp_path / "db")],
                cwd=ROOT,
                preexec_fn=drop if without_permission else None,
                capture_output=True,
                text=True,
                timeout=300,
            )
        except subprocess.SubprocessError as err:  # preexec_fn failed: no CAP_SETPCAP in this container
            pytest.skip(f"root cannot be made to lack permission here ({err})")
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout + done.stderr

    try:
        said = index(without_permission=True)
        assert f"{pictures / '2.png'}: Permission denied" in said
        assert f"{pictures / 'locked'}: Permission denied" in said
        assert "perm: 2 files indexed" in said and indexed_collections(str(tmp_path / "db")) == {"perm": 2}
        (pictures / "locked").chmod(0o755)
        (pictures / "2.png").chmod(0o644)
        assert "perm: 2 files indexed" in index(without_permission=False)  # readable again: the other two
        (pictures / "locked").chmod(0)
        said = index(without_permission=True)  # a folder that cannot be listed is not a folder emptied
        assert "0 no longer there (removed)" in said and indexed_collections(str(tmp_path / "db")) == {"perm": 4}
    finally:
        (pictures / "locked").chmod(0o755)


def test_a_file_given_twice_is_indexed_once_with_its_caption(pictures, tmp_path):
    listed = tmp_path / "list.csv"
    listed.write_text(f"file,caption\n{sorted(pictures.glob('*.png'))[0]},a caption from the list\n")
    report = gather([pictures, listed], {}, tmp_path / "unpacked")
    paths = [s.path for s in report.sources]
    assert len(paths) == len(set(paths)) == 40
    assert [s.caption for s in report.sources if s.caption] == ["a caption from the list"]


def test_a_folder_emptied_since_the_last_run_is_forgotten(pictures, tmp_path, capsys):
    db = str(tmp_path / "db")
    assert main([str(pictures), "--collection", "gone", "--index", db]) == 0
    for picture in pictures.rglob("*.png"):
        picture.unlink()
    assert main([str(pictures), "--collection", "gone", "--index", db]) == 1
    assert "40 files no longer there were removed from 'gone'" in capsys.readouterr().err
    assert "gone" not in indexed_collections(db)  # an empty collection is not offered in the app


def test_a_rerun_follows_the_folder_deleted_files_go_a_changed_file_is_replaced(pictures, demo, tmp_path, capsys):
    db = str(tmp_path / "db")
    command = [str(pictures), "--collection", "shop", "--index", db]
    assert main(command) == 0
    files = sorted(pictures.rglob("*.png"))
    for gone in files[:2]:
        gone.unlink()
    changed = files[2]
    shutil.copy(demo.items[100].image_path, changed)  # the same name, another picture
    shutil.copy(demo.items[101].image_path, pictures / "new.png")
    capsys.readouterr()
    assert main(command) == 0
    assert "shop: 2 files indexed, 37 unchanged (skipped), 2 no longer there (removed)" in capsys.readouterr().out
    items = load_indexed("shop", db).items
    assert len(items) == 39 and not {str(f) for f in files[:2]} & {i.source for i in items}
    (now,) = [i for i in items if i.source == str(changed)]  # one row for the changed file: its new picture
    assert now.id == content_id(demo.items[100].image_path.read_bytes())


@pytest.mark.parametrize("how", FOLDER_DAMAGE)
def test_a_damaged_item_table_is_set_aside_and_a_rerun_indexes_its_files_again(pictures, tmp_path, how, capsys):
    db = str(tmp_path / "db")
    assert main([str(pictures), "--collection", "shop", "--index", db]) == 0
    _damage(tmp_path / "db" / "items__shop.lance", how)
    assert indexed_collections(db) == {}  # listed without an error: it counts as not indexed
    assert [p.name.startswith("items__shop-") for p in (tmp_path / "db" / "set-aside").iterdir()] == [True]
    with pytest.raises(ValueError, match="no indexed collection called 'shop'"):
        load_indexed("shop", db)  # what the app says of a collection no longer indexed
    capsys.readouterr()
    assert main([str(pictures), "--collection", "shop", "--index", db]) == 0  # no Lance traceback
    out = capsys.readouterr().out
    assert "shop: 40 files indexed, 0 unchanged" in out and "encoded 0 pictures" in out  # the vectors were kept
    assert indexed_collections(db) == {"shop": 40}


@pytest.mark.parametrize("how", FOLDER_DAMAGE)
def test_damage_met_by_a_running_reader_of_an_item_table_sets_it_aside(pictures, tmp_path, how):
    db = str(tmp_path / "db")
    assert main([str(pictures), "--collection", "shop", "--index", db]) == 0
    items = ItemTable(connect(db), "shop")  # opened before the damage (as the app's filters do)
    _damage(tmp_path / "db" / "items__shop.lance", how)
    assert items.state() == (0, 0) and items.seen() == {} and items.rows().num_rows == 0
    assert len(items.set_aside) == 1
    assert indexed_collections(db) == {} and len(list((tmp_path / "db" / "set-aside").iterdir())) == 1


@pytest.mark.parametrize("damage", ["set aside", "cleared"])
def test_a_rerun_encodes_again_every_vector_missing_whatever_the_item_table_says(pictures, tmp_path, capsys, damage):
    db = str(tmp_path / "db")
    command = [str(pictures), "--collection", "shop", "--index", db, "--captions", str(tmp_path / "captions.csv")]
    assert main(command) == 0
    table = next((tmp_path / "db").glob("vectors__*.lance"))
    if damage == "set aside":
        _damage(table, "manifests garbled")
    else:
        shutil.rmtree(table)
    capsys.readouterr()
    assert main(command) == 0
    said = capsys.readouterr()
    assert "shop: 0 files indexed, 0 unchanged" in said.out and "encoded 40 pictures and 40 captions" in said.out
    assert "40 pictures whose vectors were missing were encoded again" in said.out
    assert ("set aside" in said.err) == (damage == "set aside")
    collection = load_indexed("shop", db)
    keys = [k for i in collection.items for k in (f"img:{i.id}", caption_key(i.caption))]
    assert EmbeddingStore(db, table.name.removesuffix(".lance").removeprefix("vectors__")).missing(keys) == []
    paths = ItemTable(connect(db), "shop").rows()["path"].to_pylist()
    assert len(paths) == len(set(paths)) == 40  # one row per file, none added twice
    assert main(command) == 0
    out = capsys.readouterr().out
    assert "40 unchanged (skipped)" in out and "encoded 0 pictures" in out and "encoded again" not in out


def test_a_rerun_repairs_only_the_vectors_missing(bundled, pictures, tmp_path):
    db = connect(str(tmp_path / "db"))
    run(bundled, db, [pictures])
    vectors = EmbeddingStore(db.uri, bundled.key, dim=bundled.dim)
    kept = load_indexed("shop", db.uri).items[:25]
    survivors = [f"img:{i.id}" for i in kept]
    table = next((tmp_path / "db").glob("vectors__*.lance"))
    shutil.rmtree(table)
    EmbeddingStore(db.uri, bundled.key, dim=bundled.dim).add(survivors, vectors.get(survivors))
    again = run(bundled, db, [pictures])
    assert (again.unchanged, again.repaired, again.encoded_images, again.indexed) == (25, 15, 15, 0)
    assert len(ItemTable(db, "shop").rows()) == 40


@pytest.mark.parametrize("flag,value", [("--batch", "0"), ("--batch", "-5"), ("--workers", "0"), ("--actors", "two")])
def test_counts_on_the_command_line_must_be_whole_numbers_of_at_least_one(pictures, tmp_path, capsys, flag, value):
    with pytest.raises(SystemExit) as stop:
        main([str(pictures), "--collection", "c", "--index", str(tmp_path / "db"), flag, value])
    assert stop.value.code == 2 and f"{value!r} is not a whole number of at least 1" in capsys.readouterr().err
    assert not (tmp_path / "db").exists()  # refused before anything was written


def test_a_path_caption_header_in_a_csv_list_is_not_a_file(pictures, tmp_path):
    listed = tmp_path / "list.csv"
    listed.write_text(f"path,caption\n{sorted(pictures.glob('*.png'))[0]},from the list\n")
    report = gather([listed], {}, tmp_path / "unpacked")
    assert [s.caption for s in report.sources] == ["from the list"] and not report.problems


def test_further_csv_columns_become_filter_fields_of_the_indexed_collection(demo, pictures, tmp_path):
    from similarity.ingest.fields import NUMBER, collection_fields
    from similarity.search.filters import Condition, Filter, indexed_mask

    rows = ["file,caption,price,shelf"]
    for i, item in enumerate(demo.items[:40]):
        rows.append(f"{item.image_path.name},{item.caption},{i + 0.5},{'top' if i < 10 else 'bottom'}")
    (tmp_path / "shop.csv").write_text("\n".join(rows) + "\n")
    index = str(tmp_path / "db")
    assert (
        main([str(pictures), "--collection", "shop", "--captions", str(tmp_path / "shop.csv"), "--index", index]) == 0
    )
    collection = load_indexed("shop", index)
    fields = collection_fields(collection)
    assert fields["price"].kind == NUMBER and set(fields["shelf"].choices) == {"top", "bottom"}
    table = ItemTable(connect(index), "shop")
    sources = np.array([item.source for item in collection.items], dtype=object)
    cheap = Filter((Condition("price", low=0.0, high=9.9), Condition("shelf", keep=("top",))))
    kept = indexed_mask(cheap, fields, table, sources)
    assert sorted(collection.items[i].caption for i in np.flatnonzero(kept)) == sorted(
        item.caption for item in demo.items[:10]
    )


def test_an_item_table_from_before_further_columns_is_read_and_extended(bundled, pictures, tmp_path):
    import pyarrow as pa

    db = connect(str(tmp_path / "db"))
    old = pa.table({"path": ["/gone/a.png"], "caption": ["an old row"], "size": [1], "mtime": [0.0], "id": ["x"]})
    db.create_table("items__shop", old)
    assert load_indexed("shop", db.uri).items[0].caption == "an old row"  # read, not set aside as damaged
    run(bundled, db, [pictures])
    table = ItemTable(db, "shop")
    assert not table.set_aside and table.rows().num_rows == 41


def test_the_same_pictures_under_two_collection_names_are_encoded_and_stored_once(bundled, pictures, tmp_path):
    db = connect(str(tmp_path / "db"))
    first, second = run(bundled, db, [pictures], "shop"), run(bundled, db, [pictures], "catalogue")
    assert (first.encoded_images, second.encoded_images, second.indexed) == (40, 0, 40)
    assert len(EmbeddingStore(db.uri, bundled.key, dim=bundled.dim)) == 40
    assert indexed_collections(db.uri) == {"shop": 40, "catalogue": 40}
