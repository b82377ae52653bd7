"""Every page through Streamlit's AppTest, with the real bundled model."""

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parent.parent / "app.py")
TIMEOUT = 180


@pytest.fixture(scope="module")
def store_root(tmp_path_factory):
    """One embedding store for these tests: the first embeds, the rest re-open it."""
    return str(tmp_path_factory.mktemp("store"))


@pytest.fixture
def app(store_root):
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.session_state["store_root"] = store_root
    return at


def test_home_names_the_active_model(app):
    app.run()
    assert not app.exception
    assert any("Active model: emoji-clip" in h.value for h in app.subheader)
    assert any("emoji" in t.value for t in app.sidebar.caption)
    assert [m.value for m in app.metric][1:] == ["1,861", "1,861"]


def test_text_search_ranks_the_expected_picture_first(app):
    app.switch_page("app_pages/search.py").run()
    assert not app.exception
    app.text_input(key="query_text").set_value("pizza").run()
    captions = [t.value for t in app.text]
    assert "pizza" in captions[:3], captions[:6]
    scores = [c.value for c in app.caption if c.value.startswith("#1 ")]
    assert scores and "cos" in scores[0] and "°" in scores[0]


def test_captions_filter_and_k_larger_than_n(app):
    app.switch_page("app_pages/search.py").run()
    app.radio(key="filter").set_value("Captions").run()
    app.text_input(key="query_text").set_value("a dog").run()
    assert not app.exception
    assert any("dog" in t.value for t in app.text[:5])


def test_empty_query_says_what_to_do(app):
    app.switch_page("app_pages/search.py").run()
    app.text_input(key="query_text").set_value("   ").run()
    assert not app.exception
    assert any("type something" in i.value for i in app.info)


def test_text_only_collection_gives_text_search(app):
    app.switch_page("app_pages/collections.py").run()
    app.text_area(key="lines").set_value("a red apple\na fast car\na sleeping cat").run()
    app.button(key="add_lines").click().run()
    assert not app.exception
    assert any("3 captions" in s.value for s in app.success)
    app.switch_page("app_pages/search.py").run()
    app.text_input(key="query_text").set_value("kitten").run()
    app.slider(key="k").set_value(10).run()
    assert not app.exception
    assert [t.value for t in app.text][:1] == ["a sleeping cat"]
    assert any("Only 3 items" in c.value for c in app.caption)


def test_bad_checkpoint_keeps_the_previous_model(app, tmp_path):
    app.run()
    app.selectbox(key="model_label").set_value("Local checkpoint file…").run()
    broken = tmp_path / "broken.safetensors"
    broken.write_bytes(b"not weights")
    app.text_input(key="ckpt_path").set_value(str(broken)).run()
    assert not app.exception
    assert any("broken.safetensors" in e.value for e in app.sidebar.error)
    assert any("Active model: emoji-clip" in h.value for h in app.subheader)


def test_offline_pretrained_model_is_explained_not_crashed(app):
    app.run()
    label = next(o for o in app.selectbox(key="model_label").options if "ViT-B-32" in o)
    app.selectbox(key="model_label").set_value(label).run()
    assert not app.exception
    assert any("cannot be downloaded here" in e.value for e in app.sidebar.error)


def test_map_page_shows_map_distortion_and_true_angles(app):
    app.switch_page("app_pages/map.py").run()
    assert not app.exception
    charts = app.get("plotly_chart")
    assert len(charts) >= 2  # the map and the angle view
    assert any("trustworthiness" in c.value for c in app.caption)
    app.toggle(key="compare_angles").set_value(True).run()
    assert not app.exception and len(app.get("plotly_chart")) == len(charts) + 1
    assert any("Rank agreement" in c.value for c in app.caption)


def test_clusters_page_names_clusters_and_scores_zero_shot(app):
    app.switch_page("app_pages/clusters.py").run()
    assert not app.exception
    assert any("clusters** · mean silhouette" in m.value for m in app.markdown)
    assert any("Automatic names agree" in c.value for c in app.caption)
    assert any("Accuracy against the known categories" in m.value for m in app.markdown)


def _text_only(app, lines):
    app.switch_page("app_pages/collections.py").run()
    app.text_area(key="lines").set_value("\n".join(lines)).run()
    app.button(key="add_lines").click().run()


@pytest.mark.parametrize("n", [1, 2])
def test_tiny_collections_get_messages_not_crashes(app, n):
    _text_only(app, ["a red apple", "a fast car"][:n])
    app.switch_page("app_pages/map.py").run()
    assert not app.exception
    assert any(f"this collection has {n}" in i.value for i in app.info)
    app.switch_page("app_pages/clusters.py").run()
    assert not app.exception
    assert any(f"there are {n}" in i.value for i in app.info)
