"""The demo's shipped maps and first clustering: current, equal to fresh fits, and what the pages open with."""

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from conftest import unit_vectors
from streamlit.testing.v1 import AppTest

from similarity.ingest.collection import Item
from similarity.ingest.space import Space
from similarity.storage.keys import CAPTION, IMAGE
from similarity.storage.paths import DEMO_VIEWS
from similarity.views import clusters, maps, shipped
from ui.shared import caches, progress_of

APP = str(Path(__file__).resolve().parent.parent / "app.py")
RERUN = "run `python -m similarity.views.shipped` (HF_HUB_OFFLINE=1) and commit data/demo/views.npz"


@pytest.fixture(scope="module")
def space(bundled):
    return shipped.bundled_space(bundled)


def test_the_shipped_views_are_tagged_with_the_bundled_model_and_the_demo(space):
    tag = shipped.shipped_tag()
    assert tag is not None, f"{DEMO_VIEWS} is missing or unreadable: {RERUN}"
    assert tag == space.key, f"{DEMO_VIEWS} was made for {tag}, not the bundled model and demo {space.key}: {RERUN}"
    assert DEMO_VIEWS.stat().st_size < 1_000_000


@pytest.mark.parametrize("kinds", [(IMAGE,), (IMAGE, CAPTION)])
def test_a_shipped_pca_map_is_the_fresh_fit(space, kinds):
    got = shipped.shipped_map(space, "PCA", kinds)
    fresh = maps.fit_map("PCA", space.vectors[space.rows(kinds)])
    assert got is not None and got.method == "PCA"
    np.testing.assert_allclose(got.coords, fresh.coords, atol=1e-4)
    query = space.vectors[space.rows((CAPTION,))[:3]] * 0.9 + space.vectors[space.rows((IMAGE,))[:3]] * 0.1
    np.testing.assert_allclose(got.place(query), fresh.place(query), atol=1e-4)
    assert got.trustworthiness == pytest.approx(fresh.trustworthiness, abs=1e-3)


@pytest.mark.parametrize("method", ["UMAP", "t-SNE"])
def test_shipped_umap_and_tsne_maps_hold_every_point_and_place_queries_among_them(space, method):
    for kinds in shipped.MAP_KINDS:
        got = shipped.shipped_map(space, method, kinds)
        assert got is not None and got.coords.shape == (len(space.rows(kinds)), 2)
        assert np.isfinite(got.coords).all() and 0 < got.trustworthiness <= 1
        item = got.vectors[:1]  # an item as a query lands next to itself, at the map's scale
        gap = np.linalg.norm(got.coords[0] - got.place(item)[0])  # (ranks mislead in a dense cluster of faces)
        assert gap < 0.03 * np.ptp(got.coords, axis=0).max()


def test_the_shipped_clustering_is_what_explore_clusters_gives(space):
    kinds, method, k, reduce, n_known = shipped.first_clustering(space)
    assert (kinds, method, k, reduce, n_known) == ((IMAGE,), "k-means", None, 0, 9)
    got = shipped.shipped_clustering(space, kinds, method, k, reduce, n_known)
    fresh = clusters.explore_clusters(space.vectors[space.rows(kinds)], method, k, reduce, n_known)
    assert got is not None
    # Float sums split over another number of threads (FAISS sets OpenMP's) may move a borderline picture.
    assert np.mean(got.labels == fresh.labels) >= 0.99
    assert got.silhouette == pytest.approx(fresh.silhouette, abs=0.005)
    np.testing.assert_array_equal(got.scan.ks, fresh.scan.ks)
    np.testing.assert_allclose(got.scan.silhouettes, fresh.scan.silhouettes, atol=0.005)
    np.testing.assert_allclose(got.scan.inertias, fresh.scan.inertias, rtol=1e-4)
    assert got.notes == fresh.notes


def test_another_model_content_or_parameters_get_nothing(space, tmp_path):
    model_key, content_hash = space.key.rsplit("/", 1)
    for key in (f"emoji-clip-000000000000/{content_hash}", f"{model_key}/0123456789abcdef0123", f"{space.key}/gap"):
        other = replace(space, key=key)
        assert shipped.shipped_map(other, "PCA", (IMAGE,)) is None
        assert shipped.shipped_clustering(other, *shipped.first_clustering(space)) is None
    kinds, method, _, _, n_known = shipped.first_clustering(space)
    assert shipped.shipped_clustering(space, kinds, method, 5, 0, n_known) is None  # a chosen k
    assert shipped.shipped_clustering(space, kinds, method, None, 16, n_known) is None  # PCA first
    assert shipped.shipped_clustering(space, kinds, "HDBSCAN", None, 0, n_known) is None
    broken = tmp_path / "views.npz"
    broken.write_bytes(b"not a zip")
    for path in (tmp_path / "absent.npz", broken):
        assert shipped.shipped_map(space, "PCA", (IMAGE,), path) is None
        assert shipped.shipped_clustering(space, *shipped.first_clustering(space), path) is None


@pytest.fixture
def unit_space():
    n = 30
    items = [Item(f"id{i}", f"{i}.png", None, f"caption {i}", "abc"[i % 3]) for i in range(n)]
    kind = np.array([IMAGE] * n + [CAPTION] * n, dtype=object)
    return Space(unit_vectors(2 * n, 16), np.r_[np.arange(n), np.arange(n)], kind, items, key="model-x/abc123")


def test_ship_views_writes_what_it_reads(tmp_path, unit_space):
    path = tmp_path / "views.npz"
    shipped.ship_views(unit_space, path)
    assert shipped.shipped_tag(path) == unit_space.key
    fitted = shipped.shipped_map(unit_space, "t-SNE", (IMAGE, CAPTION), path)
    assert fitted.coords.shape == (len(unit_space.vectors), 2)
    assert shipped.shipped_clustering(unit_space, *shipped.first_clustering(unit_space), path).n_clusters >= 2


def test_progress_never_reads_less_than_the_time_spent():
    last = 0.0
    for elapsed in np.arange(0, 60, 0.25):
        share, words = progress_of(elapsed, 8.4)
        shown = int(words.split("about ")[1].split()[0]) if "about" in words else None
        assert shown is None or shown >= round(elapsed), words
        assert "taking longer than the estimated 9 s" in words or shown == 9
        assert last <= share < 1
        last = share
    assert progress_of(0.2, 0.01)[1] == "0 s of about 1 s"


def test_the_first_map_and_clusters_visits_on_the_demo_compute_nothing(tmp_path, monkeypatch):
    """A fresh server: the demo's maps (every method) and first clustering come from the shipped file."""
    calls = []
    for module, name in ((maps, "fit_map"), (maps, "trustworthiness"), (clusters, "explore_clusters")):
        real = getattr(module, name)
        monkeypatch.setattr(module, name, lambda *a, real=real, name=name, **kw: calls.append(name) or real(*a, **kw))
    caches.clear()  # what a fresh server has: nothing computed
    at = AppTest.from_file(APP, default_timeout=180)
    at.session_state["store_root"] = str(tmp_path)
    at.switch_page("app_pages/map.py").run()
    assert not at.exception
    for method in ("UMAP", "t-SNE"):
        at.selectbox(key="map_method").set_value(method).run()
        assert not at.exception
    at.switch_page("app_pages/clusters.py").run()
    assert not at.exception and any("clusters** · mean silhouette" in m.value for m in at.markdown)
    assert calls == [], f"computed on a first visit: {calls}"
    space_key = next(iter(caches()["space"]._entries.values())).key
    drawn = {(key[1], key[2]) for key in caches()["map"]._entries if key[0] == space_key}
    assert {method for method, _ in drawn} == set(maps.PROJECTORS) and ("PCA", (IMAGE,)) in drawn
    assert (space_key, (IMAGE,), "k-means", None, 0, 9) in caches()["clusters"]
