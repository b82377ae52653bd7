"""The Ray runner on a local Ray (2 CPUs): the same vectors as the in-process runner."""

import numpy as np
import pytest

from similarity.ingest.cli import main
from similarity.ingest.collection import load_indexed
from similarity.ingest.indexer import gather, index_local
from similarity.storage.items import ItemTable
from similarity.storage.lance import connect
from similarity.storage.vectors import EmbeddingStore

ray = pytest.importorskip("ray", reason="the Ray runner is an optional extra: pip install -r requirements-ray.txt")


@pytest.fixture(scope="module")
def local_ray():
    from similarity.ingest.ray_runner import connect as connect_ray

    connect_ray(None, num_cpus=2)
    yield
    ray.shutdown()


def test_ray_gives_the_in_process_vectors_and_skips_bad_files(local_ray, bundled, demo, tmp_path):
    from similarity.ingest.ray_runner import index_ray

    folder = tmp_path / "pictures"
    folder.mkdir()
    captions = {}
    for item in demo.items[:30]:
        (folder / item.image_path.name).write_bytes(item.image_path.read_bytes())
        captions[item.image_path.name] = item.caption
    (folder / "broken.png").write_bytes(b"not a picture")
    results = {}
    for runner in ("local", "ray"):
        db = connect(str(tmp_path / runner))
        vectors, items = EmbeddingStore(db.uri, bundled.key, dim=bundled.dim), ItemTable(db, "shop")
        report = gather([folder], captions, tmp_path / "unpacked")
        if runner == "ray":
            index_ray("bundled", vectors, items, report, batch=8, actors=2)
        else:
            index_local(bundled, vectors, items, report, batch=8)
        assert report.indexed == 30 and report.encoded_captions == 30
        assert any("broken.png: not a picture this app can read" in p for p in report.problems)
        keys = sorted(vectors.keys())
        results[runner] = (
            keys,
            vectors.get(keys),
            sorted((i.source, i.caption) for i in load_indexed("shop", db.uri).items),
        )
    (local_keys, local_vectors, local_items), (ray_keys, ray_vectors, ray_items) = results["local"], results["ray"]
    assert local_keys == ray_keys and local_items == ray_items
    assert np.einsum("nd,nd->n", local_vectors, ray_vectors).min() > 0.9999


def test_an_unreachable_cluster_is_named_quickly(pictures_dir, tmp_path, capsys):
    code = main(
        [
            str(pictures_dir),
            "--collection",
            "x",
            "--index",
            str(tmp_path / "db"),
            "--runner",
            "ray",
            "--address",
            "127.0.0.1:9",
        ]
    )
    assert code == 3
    assert "cannot reach a Ray cluster at 127.0.0.1:9" in capsys.readouterr().err


@pytest.fixture
def pictures_dir(demo, tmp_path):
    folder = tmp_path / "few"
    folder.mkdir()
    for item in demo.items[:2]:
        (folder / item.image_path.name).write_bytes(item.image_path.read_bytes())
    return folder


def test_an_ipv6_address_is_understood_and_an_unreachable_one_named():
    from similarity.ingest.ray_runner import RayUnavailable, connect

    with pytest.raises(RayUnavailable, match=r"cannot reach a Ray cluster at \[::1\]:1") as refused:
        connect("[::1]:1")  # nothing listens on port 1
    assert "Name or service not known" not in str(refused.value)  # the brackets were not taken for a host name
