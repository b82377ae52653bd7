"""The map with pictures: a thumbnail per point in the tooltip, a bounded payload, central example pictures."""

import base64
import io
import json

import numpy as np
import pytest
from PIL import Image
from support import ROOT

from similarity.views.map_plots import embedding_map
from similarity.views.picture_map import (
    MAX_PICTURE_POINTS,
    THUMB_PX,
    example_pictures,
    picture_map,
    representatives,
    thumbnail_uri,
    thumbnail_uris,
)

DEMO_PICTURES = sorted((ROOT / "data" / "demo" / "images").glob("*.png"))


def _rows(spec: dict, layer: dict) -> list[dict]:
    return spec["datasets"][layer.get("data", spec.get("data"))["name"]]  # Altair may lift one layer's data up


@pytest.fixture(scope="module")
def demo_uris():
    if not DEMO_PICTURES:
        pytest.skip("the demo pictures are missing")
    return thumbnail_uris(DEMO_PICTURES[:120])


def test_a_thumbnail_is_a_small_webp_data_uri_of_the_picture(make_image):
    uri = thumbnail_uri(make_image("wide.png", (10, 200, 30), size=(300, 150)))
    assert uri.startswith("data:image/webp;base64,")
    picture = Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1])))
    assert picture.size == (THUMB_PX, THUMB_PX // 2)  # the long side at THUMB_PX, the shape kept
    r, g, b = picture.convert("RGB").getpixel((THUMB_PX // 2, THUMB_PX // 4))
    assert g > 150 and r < 60 and b < 80  # still the picture's colour after compression


def test_an_unreadable_picture_gets_no_thumbnail_and_captions_none(tmp_path):
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not a picture")
    assert thumbnail_uris([broken, None]) == [None, None]


def test_every_picture_point_carries_its_image_and_caption_in_the_tooltip(demo_uris):
    n = len(demo_uris)
    coords = np.random.default_rng(0).normal(size=(n + 2, 2))
    labels = [p.stem for p in DEMO_PICTURES[:n]] + ["a red apple", "a fast car"]
    chart = picture_map(coords, ["image"] * n + ["caption"] * 2, labels, [*demo_uris, None, None], "units", "PCA")
    spec = chart.to_dict()
    crowd = spec["layer"][0]
    assert [t["field"] for t in crowd["encoding"]["tooltip"]] == ["title", "image"]  # Vega draws these as h2 and img
    rows = _rows(spec, crowd)
    assert len(rows) == n + 2
    assert all(r["image"].startswith("data:image/webp;base64,") for r in rows[:n])
    assert [r["image"] for r in rows[n:]] == [None, None]  # a caption has no picture
    assert [r["title"] for r in rows] == labels
    assert crowd["encoding"]["x"]["title"] == "PCA 1 (units)" and crowd["encoding"]["y"]["title"] == "PCA 2 (units)"
    assert crowd["encoding"]["color"]["scale"]["domain"] == ["pictures", "captions"]


def test_the_payload_stays_small_enough_for_the_largest_picture_map(demo_uris):
    """~0.8 KB per demo picture: the largest map drawn with pictures stays under 3.5 MB."""
    coords = np.random.default_rng(1).normal(size=(len(demo_uris), 2))
    chart = picture_map(coords, ["image"] * len(demo_uris), ["x"] * len(demo_uris), demo_uris, "units", "PCA")
    per_point = len(json.dumps(chart.to_dict())) / len(demo_uris)
    assert per_point < 1_100, per_point
    assert per_point * MAX_PICTURE_POINTS < 3_500_000


def test_the_query_star_and_its_results_are_drawn_above_the_example_pictures(demo_uris):
    n = len(demo_uris)
    coords = np.random.default_rng(2).normal(size=(n, 2))
    examples = example_pictures(coords, DEMO_PICTURES[:n], k=6)
    chart = picture_map(
        coords,
        ["image"] * n,
        [p.stem for p in DEMO_PICTURES[:n]],
        demo_uris,
        "units",
        "UMAP",
        query_xy=np.array([0.0, 0.0]),
        result_rows=[5, 7, 9],
        query_label="a red fruit",
        result_names=["apple", "cherries", "tomato"],
        examples=examples,
    )
    spec = chart.to_dict()
    marks = [layer["mark"]["type"] for layer in spec["layer"]]
    pictures_at, star_at = marks.index("image"), marks.index("point", marks.index("point") + 1)
    assert spec["layer"][star_at]["mark"]["shape"].startswith("M0,-1")  # the star
    assert pictures_at < marks.index("point") < star_at  # results and star over the pictures
    shown = _rows(spec, spec["layer"][pictures_at])
    assert len(shown) == 6 and all(r["image"].startswith("data:image/webp") for r in shown)
    texts = [r["text"] for r in _rows(spec, spec["layer"][-1])]
    assert texts[0] == "★ a red fruit" and sorted(texts[1:]) == ["1. apple", "2. cherries", "3. tomato"]
    results = _rows(spec, spec["layer"][marks.index("point")])
    assert [r["title"] for r in results] == ["1. apple", "2. cherries", "3. tomato"]
    assert all(r["image"] == demo_uris[i] for r, i in zip(results, [5, 7, 9]))  # their pictures on hover too


def test_representatives_are_distinct_central_and_one_per_dense_place():
    rng = np.random.default_rng(3)
    centres = np.array([[0, 0], [10, 0], [0, 10], [10, 10]], dtype=float)
    sizes = [300, 200, 100, 50]
    coords = np.concatenate([c + rng.normal(scale=0.5, size=(s, 2)) for c, s in zip(centres, sizes)])
    chosen = representatives(coords, np.arange(len(coords)), k=4)
    assert len(set(chosen.tolist())) == 4
    nearest_centre = np.linalg.norm(coords[chosen][:, None] - centres[None], axis=2).argmin(axis=1)
    assert nearest_centre.tolist() == [0, 1, 2, 3]  # one per blob, the biggest first
    assert np.linalg.norm(coords[chosen] - centres, axis=1).max() < 0.3  # at the heart of each blob


def test_representatives_are_distinct_when_centres_share_a_nearest_point_and_only_candidates():
    coords = np.array([[0, 0], [0, 0.01], [5, 5], [5, 5.01], [9, 9]], dtype=float)
    chosen = representatives(coords, [0, 1, 2, 3], k=10)  # more asked than candidates
    assert sorted(chosen.tolist()) == [0, 1, 2, 3]
    assert representatives(coords, [], k=4).tolist() == []


def test_the_plotly_map_draws_example_pictures_below_its_points(demo_uris):
    coords = np.random.default_rng(4).normal(size=(40, 2))
    examples = example_pictures(coords, [*DEMO_PICTURES[:30], *[None] * 10], k=5)
    assert len(examples.index) == 5 and all(i < 30 for i in examples.index)  # captions are never examples
    fig = embedding_map(coords, ["image"] * 40, ["x"] * 40, "units", "PCA", np.zeros(2), [1, 2], examples=examples)
    assert len(fig.layout.images) == 5
    assert all(im.layer == "below" and im.source.startswith("data:image/webp") for im in fig.layout.images)


@pytest.fixture
def app(tmp_path_factory):
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180)
    at.session_state["store_root"] = str(tmp_path_factory.mktemp("store"))
    return at


def test_the_map_page_shows_pictures_on_hover_and_the_plotly_map_when_turned_off(app):
    app.switch_page("app_pages/map.py").run()
    assert not app.exception
    assert app.toggle(key="map_pictures").value  # the demo's 1,861 pictures: on by default
    [chart] = app.get("vega_lite_chart")
    assert '"field": "image"' in chart.proto.spec.replace('":"', '": "')  # the tooltip's picture
    assert len(app.get("plotly_chart")) == 1  # only the angle view
    assert any("turn *Pictures on hover* off" in c.value for c in app.caption)
    app.toggle(key="map_examples").set_value(True).run()
    assert not app.exception and len(app.get("vega_lite_chart")) == 1
    app.toggle(key="map_pictures").set_value(False).run()
    assert not app.exception and not app.get("vega_lite_chart")
    figure = json.loads(app.get("plotly_chart")[0].proto.spec)
    assert len(figure["layout"]["images"]) > 0  # the example pictures, on the plotly map too


def test_a_map_too_big_for_pictures_stays_on_plotly_and_says_why(app):
    app.switch_page("app_pages/map.py").run()
    app.radio(key="filter").set_value("Both").run()  # 3,722 points
    assert not app.exception
    assert app.toggle(key="map_pictures").disabled and not app.get("vega_lite_chart")
    assert any("at most 3,000 points" in c.value for c in app.caption)
    assert len(app.get("plotly_chart")) == 2  # the map (with its lasso) and the angle view
