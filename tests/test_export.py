"""Exports: the files hold what the page shows, numbered as on the page."""

import csv
import io
import zipfile

import numpy as np
import pyarrow.parquet as pq
import pytest

from similarity.ingest.collection import Collection
from similarity.ingest.space import embed_collection
from similarity.search.topk import top_k
from similarity.storage.keys import IMAGE
from similarity.storage.paths import DEMO_VECTORS
from similarity.storage.vectors import EmbeddingStore
from similarity.views import export


@pytest.fixture(scope="module")
def space(bundled, demo, tmp_path_factory):
    store = EmbeddingStore(tmp_path_factory.mktemp("store"), bundled.key, shipped=(DEMO_VECTORS,))
    return embed_collection(bundled, store, Collection("part", demo.items[:60]))


def test_the_table_csv_zip_and_parquet_number_the_same_items_as_the_page(space):
    ranking = top_k(space.vectors[0], space.vectors, 8, among=space.rows((IMAGE,)))
    records = export.table(space, ranking.indices, ranking.cosines)
    rows = list(csv.DictReader(io.StringIO(export.to_csv(records).decode("utf-8-sig"))))
    assert [r["number"] for r in rows] == [str(i) for i in range(1, 9)]
    assert rows[0]["caption"] == space.label_of(ranking.indices[0]) and rows[0]["kind"] == "picture"
    assert float(rows[1]["angle_degrees"]) == pytest.approx(ranking.angles[1], abs=0.01)
    with zipfile.ZipFile(io.BytesIO(export.pictures_zip(space, ranking.indices, records))) as archive:
        names = sorted(n for n in archive.namelist() if n != "table.csv")
        assert len(names) == 8 and names[0].startswith("1_")
        first = space.item_of(ranking.indices[0])
        assert archive.read(names[0]) == first.image_path.read_bytes()  # #1 on the page is 1_ in the zip
    table = pq.read_table(io.BytesIO(export.vectors_parquet(space, ranking.indices, records)))
    assert table.column("number").to_pylist() == list(range(1, 9))
    vectors = np.array(table.column("vector").to_pylist(), dtype=np.float32)
    np.testing.assert_array_equal(vectors, space.vectors[ranking.indices])


def test_a_picture_gone_from_disk_is_named_in_the_zip_not_a_crash(space, tmp_path, monkeypatch):
    from dataclasses import replace

    rows = space.rows((IMAGE,))[:3]
    gone = replace(space.item_of(rows[1]), image_path=tmp_path / "deleted.png")
    items = list(space.items)
    items[space.item[rows[1]]] = gone
    broken = replace(space, items=items)
    with zipfile.ZipFile(io.BytesIO(export.pictures_zip(broken, rows))) as archive:
        assert len([n for n in archive.namelist() if n.endswith(".png")]) == 2
        assert gone.source in archive.read("left_out.txt").decode()
    monkeypatch.setattr(export, "EXPORT_MAX_BYTES", 1)
    with zipfile.ZipFile(io.BytesIO(export.pictures_zip(space, rows))) as archive:
        assert "over 0 MB of pictures" in archive.read("left_out.txt").decode()
