"""Every page through Streamlit's AppTest, with the real bundled model."""

import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from similarity.storage.paths import ALLOWED_FOLDERS
from ui.text import plain
from ui.widgets import EMOJI_EXAMPLES

APP = str(Path(__file__).resolve().parent.parent / "app.py")
TIMEOUT = 180
# What a sensible top-3 contains for each example the Search page suggests.
SENSIBLE = {
    "a red fruit": ("apple", "strawberry", "cherries", "tomato"),
    "a musical instrument": ("guitar", "violin", "flute", "trumpet", "saxophone", "drum", "banjo", "accordion"),
    "flag of japan": ("flag: Japan",),
    "a vehicle": ("car", "automobile", "motorcycle", "truck", "bus", "scooter", "bicycle"),
    "a red heart - red": ("heart",),
    "a smiling cat": ("cat",),
}


@pytest.fixture(scope="module")
def store_root(tmp_path_factory):
    """One embedding store for these tests: the first embeds, the rest re-open it."""
    return str(tmp_path_factory.mktemp("store"))


@pytest.fixture
def app(store_root, monkeypatch):
    monkeypatch.delenv(ALLOWED_FOLDERS, raising=False)  # what a fresh server allows: no server folders
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.session_state["store_root"] = store_root
    return at


def test_home_names_the_active_model(app):
    app.run()
    assert not app.exception
    assert any("Active model: emoji-clip" in h.value for h in app.subheader)
    assert any("emoji" in t.value for t in app.sidebar.caption)
    assert [m.value for m in app.metric][1:] == ["1,861", "1,861"]
    # The model card's honest headline, from its quality.json.
    assert any(t.value.startswith("Honest test, recall@5 among all 1,861 demo pictures") for t in app.sidebar.caption)


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


@pytest.mark.parametrize(
    "query,message",
    [("   ", "type something"), ("?! ...", "no letters or digits"), ("dog + ", "'+' has nothing after it")],
)
def test_bad_queries_say_what_to_do(app, query, message):
    app.switch_page("app_pages/search.py").run()
    app.text_input(key="query_text").set_value(query).run()
    assert not app.exception
    assert any(message in i.value for i in app.info), [i.value for i in app.info]


def test_cold_start_encodes_no_demo_item(tmp_path):
    """A fresh install (empty store) searches the demo from the shipped vectors."""
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.session_state["store_root"] = str(tmp_path)
    at.switch_page("app_pages/search.py").run()
    assert not at.exception and any(c.value.startswith("#1 ") for c in at.caption)
    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert written == [], f"demo items were encoded and stored: {written[:3]}"
    from ui.shared import caches

    spaces = [space for key, space in caches()["space"]._entries.items() if key[2] == str(tmp_path)]
    assert len(spaces) == 1 and (spaces[0].encoded_images, spaces[0].encoded_texts) == (0, 0)


def _visit_every_page(at):
    for page in ("app_pages/search.py", "app_pages/map.py", "app_pages/clusters.py"):
        at.switch_page(page).run()
        assert not at.exception, page


def test_a_second_session_and_idle_widget_changes_recompute_nothing(app, store_root):
    from ui.shared import caches

    _visit_every_page(app)
    before = {kind: cache.computed for kind, cache in caches().items()}
    assert before["space"] and before["map"] and before["clusters"] and before["baseline"]  # the first visit computed
    second = AppTest.from_file(APP, default_timeout=TIMEOUT)  # another student's browser
    second.session_state["store_root"] = store_root
    _visit_every_page(second)
    second.switch_page("app_pages/map.py").run()
    second.selectbox(key="map_colour").set_value("category").run()  # colours only: no new map
    second.switch_page("app_pages/clusters.py").run()
    second.text_input(key="cluster_names").set_value("").run()  # names from captions already embedded
    assert not second.exception
    after = {kind: cache.computed for kind, cache in caches().items()}
    assert after == before, {k: (before.get(k), v) for k, v in after.items() if before.get(k) != v}


@pytest.mark.parametrize("example", EMOJI_EXAMPLES)
def test_every_suggested_example_gives_a_sensible_top_result(app, example):
    app.switch_page("app_pages/search.py").run()
    pills = app.pills(key="example")
    assert example in pills.options  # the page suggests it, as a button
    pills.set_value(example).run()  # one click runs it
    assert not app.exception and app.text_input(key="query_text").value == example
    top = [t.value for t in app.text][:3]
    assert any(word in name for name in top for word in SENSIBLE[example]), (example, top)
    assert any(m.value.startswith(("**Close match", "**Weak match")) for m in app.markdown)


def test_more_like_this_searches_by_that_item_and_leaves_it_out(app):
    app.switch_page("app_pages/search.py").run()
    app.text_input(key="query_text").set_value("a smiling cat").run()
    first = app.text[0].value
    app.button[0].click().run()  # "More like this" under the first result
    assert not app.exception
    assert app.radio(key="mode").value == "An item of the collection"
    picked = app.selectbox(key="query_row")
    assert picked.options[picked.index] == "🖼 " + first
    results = [t.value for t in app.text]
    assert first not in results[:12] and any("cat" in r for r in results[:3]), results[:6]
    assert not any("cos 1.000" in c.value for c in app.caption)


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


def test_bad_checkpoint_keeps_the_previous_model(app, tmp_path, monkeypatch):
    monkeypatch.setenv(ALLOWED_FOLDERS, str(tmp_path))
    app.run()
    app.selectbox(key="model_label").set_value("Local checkpoint file…").run()
    broken = tmp_path / "broken.safetensors"
    broken.write_bytes(b"not weights")
    app.text_input(key="ckpt_path").set_value(str(broken)).run()
    assert not app.exception
    assert any("broken.safetensors" in e.value for e in app.sidebar.error)
    assert any("Active model: emoji-clip" in h.value for h in app.subheader)


def test_a_checkpoint_outside_the_allowed_folders_is_refused_without_saying_if_it_exists(app, tmp_path, monkeypatch):
    monkeypatch.setenv(ALLOWED_FOLDERS, str(tmp_path / "models"))
    app.run()
    app.selectbox(key="model_label").set_value("Local checkpoint file…").run()
    said = []
    for typed in ("~/.bashrc", "/etc/passwd", "/etc/no-such-file", f"{tmp_path}/models/../secret.pt", "a\x00b"):
        app.text_input(key="ckpt_path").set_value(typed).run()
        assert not app.exception
        said.append(app.sidebar.error[0].value.replace(plain(typed), "PATH"))
    assert len(set(said)) == 1 and "folders the host allows" in said[0], said
    assert str(Path.home()) not in " ".join(e.value for e in app.sidebar.error)
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
    assert len(charts) + len(app.get("vega_lite_chart")) >= 2  # the map (with pictures: Vega-Lite) and the angle view
    assert any("trustworthiness" in c.value for c in app.caption)
    app.toggle(key="compare_angles").set_value(True).run()
    assert not app.exception and len(app.get("plotly_chart")) == len(charts) + 1
    assert any("Rank agreement" in c.value for c in app.caption)


def test_clusters_page_names_clusters_and_scores_zero_shot(app):
    app.switch_page("app_pages/clusters.py").run()
    assert not app.exception
    assert any("clusters** · mean silhouette" in m.value for m in app.markdown)
    assert any("Automatic names agree" in c.value for c in app.caption)
    assert any("Accuracy against the known categories" in m.value and "(chance" in m.value for m in app.markdown)
    assert any("around 0.1 = groups that overlap a lot" in m.value for m in app.markdown)  # silhouette explained


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


def _load_folder(app, folder, monkeypatch):
    monkeypatch.setenv(ALLOWED_FOLDERS, str(folder))  # the host allows this folder
    app.switch_page("app_pages/collections.py").run()
    app.text_input(key="folder").set_value(str(folder)).run()
    app.button(key="add_folder").click().run()
    assert not app.exception


def test_a_collection_of_one_picture_gets_messages_not_crashes(app, make_image, tmp_path, monkeypatch):
    make_image("one/red.png")
    _load_folder(app, tmp_path / "one", monkeypatch)
    app.switch_page("app_pages/search.py").run()
    assert not app.exception and any("Only 1 item to rank" in c.value for c in app.caption)
    for page, message in (("map", "at least 3 items"), ("clusters", "at least 3 items")):
        app.switch_page(f"app_pages/{page}.py").run()
        assert not app.exception
        assert any(message in i.value for i in app.info), page


def test_label_fields_with_only_commas_or_repeats(app):
    app.switch_page("app_pages/clusters.py").run()
    app.text_input(key="cluster_names").set_value(" , ,, ").run()
    assert any("only commas or spaces" in i.value for i in app.info)
    app.text_input(key="zero_shot_labels").set_value("animal, food, animal,").run()
    assert not app.exception
    bars = app.get("plotly_chart")[-1].proto.spec
    assert bars.count('"animal"') == 1 and '"food"' in bars
    app.text_input(key="zero_shot_labels").set_value(",,,").run()
    assert not app.exception and any("at least one label" in i.value for i in app.info)


def test_clusters_say_how_k_was_chosen_and_what_noise_is(app):
    app.switch_page("app_pages/clusters.py").run()
    notes = " ".join(c.value for c in app.caption)
    # The demo's 9 emoji groups are inside the scanned range; a best k at its edge is flagged as such.
    best = re.search(r"k = (\d+) has the best silhouette of k = 2…15; the collection has 9 known categories", notes)
    assert best, notes
    assert ("largest k tried and the silhouette is still rising" in notes) == (best[1] == "15")
    app.selectbox(key="cluster_method").set_value("HDBSCAN").run()
    assert not app.exception
    summary = next(m.value for m in app.markdown if "clusters** ·" in m.value)
    assert "items are noise" in summary and "measured on the" in summary


def test_photos_with_the_bundled_model_are_told_what_its_photo_mode_reads(app, tmp_path, monkeypatch):
    from PIL import Image
    from sklearn.datasets import load_sample_images

    folder = tmp_path / "photos"
    folder.mkdir()
    for n, picture in enumerate(load_sample_images().images):  # two real photos, shipped by scikit-learn
        photo = Image.fromarray(picture)
        for i in range(3):
            photo.crop((i * 200, 0, i * 200 + 220, 300)).save(folder / f"photo{n}{i}.jpg")
    _load_folder(app, folder, monkeypatch)
    app.switch_page("app_pages/search.py").run()
    assert any("ImageNet names" in i.value and "open_clip" in i.value for i in app.info), [i.value for i in app.info]
    app.switch_page("app_pages/search.py")
    app.session_state["collection_picker"] = "Emoji demo (bundled)"
    app.run()
    assert not any("ImageNet names" in i.value for i in app.info)  # emoji are what it was trained on


def test_visitors_cannot_read_server_folders_or_clear_the_store_unless_the_host_allows(app, tmp_path, monkeypatch):
    app.switch_page("app_pages/collections.py").run()
    assert any("Loading folders from this server is off" in i.value for i in app.info)
    shown = " ".join(e.value for e in [*app.markdown, *app.caption, *app.info])
    assert ALLOWED_FOLDERS not in shown and "clip-explorer-index" not in shown  # host settings: for the host only
    assert not [t for t in app.text_input if t.key == "folder"]
    assert not [b for b in app.button if b.key == "clear_store"]
    monkeypatch.setenv(ALLOWED_FOLDERS, str(tmp_path))
    app.run()
    app.text_input(key="folder").set_value("/etc").run()
    app.button(key="add_folder").click().run()
    assert not app.exception and any("outside the folders the host allows" in e.value for e in app.error)
    monkeypatch.setenv("CLIP_EXPLORER_HOST_TOOLS", "1")
    app.run()
    assert [b for b in app.button if b.key == "clear_store"]


def test_more_like_this_then_another_collection_starts_from_its_own_items(app):
    app.switch_page("app_pages/search.py").run()
    app.text_input(key="query_text").set_value("a smiling cat").run()
    app.button[5].click().run()  # a result far down the demo's rows
    _text_only(app, ["a red apple", "a fast car", "a sleeping cat"])
    app.switch_page("app_pages/search.py").run()
    app.radio(key="mode").set_value("An item of the collection").run()
    assert not app.exception
    picked = app.selectbox(key="query_row")
    assert picked.options[picked.index] == "📝 a red apple"


def test_an_indexed_collection_opens_without_encoding_and_is_searchable(app, bundled, demo, tmp_path, monkeypatch):
    import shutil

    from similarity.ingest.cli import main as index
    from ui.shared import caches

    folder = tmp_path / "catalogue"
    folder.mkdir()
    rows = ["file,caption"]
    fruit = [item for item in demo.items if item.caption in ("red apple", "banana", "grapes", "cherries")]
    for item in fruit + demo.items[:56]:
        shutil.copy(item.image_path, folder / item.image_path.name)
        rows.append(f"{item.image_path.name},{item.caption}")
    (tmp_path / "captions.csv").write_text("\n".join(rows) + "\n")
    monkeypatch.setenv("CLIP_EXPLORER_INDEX", str(tmp_path / "index"))
    assert index([str(folder), "--collection", "catalogue", "--captions", str(tmp_path / "captions.csv")]) == 0
    app.switch_page("app_pages/collections.py").run()
    app.selectbox(key="indexed_choice").set_value("catalogue").run()
    assert any("opening it encodes nothing" in c.value for c in app.caption)
    app.button(key="open_indexed").click().run()
    assert not app.exception
    assert any("60 pictures and 60 captions" in s.value for s in app.success)
    computed = caches()["space"].computed
    app.switch_page("app_pages/search.py").run()
    app.text_input(key="query_text").set_value("a red fruit").run()
    assert not app.exception
    from similarity.ingest.collection import load_indexed

    opened = load_indexed("catalogue")
    key = (bundled.key, opened.content_hash, str(tmp_path / "index"))
    space = caches()["space"].get(key, lambda: pytest.fail("the opened collection's space is not the cached one"))
    assert caches()["space"].computed == computed + 1 and len(space.items) == 60
    assert (space.encoded_images, space.encoded_texts) == (0, 0)  # every vector came from the index
    assert any(t.value == "red apple" for t in app.text[:5])


def test_an_indexed_collection_without_this_models_vectors_says_so_before_encoding_in_the_page(
    app, demo, tmp_path, monkeypatch
):
    from similarity import limits
    from similarity.ingest.cli import main as index
    from similarity.storage.lance import connect
    from similarity.storage.vectors import PREFIX

    folder = _photos(tmp_path / "catalogue", demo.items[:30])
    monkeypatch.setenv("CLIP_EXPLORER_INDEX", str(tmp_path / "index"))
    assert index([str(folder), "--collection", "catalogue"]) == 0
    db = connect(tmp_path / "index")
    for name in db.list_tables().tables:  # as if indexed with another model: no vectors for the active one
        if name.startswith(PREFIX):
            db.drop_table(name)
    monkeypatch.setattr(limits, "ENCODE_IN_PAGE", 10)
    app.switch_page("app_pages/collections.py").run()
    app.selectbox(key="indexed_choice").set_value("catalogue").run()
    assert any("30 pictures and 0 captions of 'catalogue' have no" in w.value for w in app.warning)
    assert app.button(key="open_indexed").disabled  # 30 > 10 pictures: the visitor confirms first
    app.checkbox(key="encode_indexed_catalogue").check().run()
    app.button(key="open_indexed").click().run()
    assert not app.exception and any("30 pictures" in s.value for s in app.success)


def _photos(folder, items):
    """Pictures made from demo emoji, but not the demo's own files (whose vectors ship with the app)."""
    from PIL import Image

    folder.mkdir()
    for i, item in enumerate(items):
        canvas = Image.new("RGB", (96, 96), (240, 240 - i, 230))
        canvas.paste(Image.open(item.image_path).convert("RGB").resize((80, 80)), (8, 8))
        canvas.save(folder / f"{i}.png")
    return folder


def test_a_collection_indexed_while_the_app_runs_opens_without_encoding(app, demo, tmp_path, monkeypatch):
    """The server's store object was read before this indexer run: it catches up instead of encoding again."""
    from similarity.ingest.cli import main as index

    monkeypatch.setenv("CLIP_EXPLORER_INDEX", str(tmp_path / "index"))
    assert index([str(_photos(tmp_path / "first", demo.items[:10])), "--collection", "first"]) == 0
    app.switch_page("app_pages/collections.py").run()
    app.selectbox(key="indexed_choice").set_value("first").run()  # the index's vectors are read now
    assert any("opening it encodes nothing" in c.value for c in app.caption)
    second = _photos(tmp_path / "second", demo.items[10:30])
    assert index([str(second), "--collection", "second"]) == 0  # while the app runs
    app.run()
    app.selectbox(key="indexed_choice").set_value("second").run()
    assert not app.warning and any("opening it encodes nothing" in c.value for c in app.caption)
    app.button(key="open_indexed").click().run()
    assert not app.exception and any("20 pictures" in s.value for s in app.success)


@pytest.mark.parametrize(
    "query,verdict",
    [
        ("a musical instrument", "**Close match."),
        ("a dog", "**Close match."),
        ("pomme rouge", "**No real match."),
    ],
)
def test_the_verdict_places_the_best_match_between_nonsense_and_pictures_own_captions(app, query, verdict):
    """Trumpet, violin, saxophone for "a musical instrument" are as close as pictures are to their own words."""
    app.switch_page("app_pages/search.py").run()
    app.text_input(key="query_text").set_value(query).run()
    sentence = next(m.value for m in app.markdown if m.value.startswith("**"))
    assert sentence.startswith(verdict), sentence
    assert "a picture and its own caption are typically at" in sentence and "meaningless" in sentence.lower()
    assert "standard deviations" not in sentence and "strong" not in sentence.lower()
    english_only = any("English words only" in c.value for c in app.caption)
    assert english_only == verdict.startswith("**No real")


def test_examples_are_offered_only_on_the_collection_they_were_tested_on(app):
    app.switch_page("app_pages/collections.py").run()
    app.text_area(key="lines").set_value("a red apple\na fast car\na sleeping cat").run()
    app.button(key="add_lines").click().run()
    app.switch_page("app_pages/search.py").run()
    assert not app.exception and not app.get("button_group")


def test_the_modality_gap_is_explained_at_both_and_can_be_closed(app):
    app.switch_page("app_pages/search.py").run()
    app.radio(key="filter").set_value("Both").run()
    app.text_input(key="query_text").set_value("a red fruit").run()
    kinds_before = [m.value for m in app.markdown if m.value == ":material/notes: *caption*"]
    assert len(kinds_before) >= 10  # with the gap, nearly all of a typed query's 12 best are captions
    assert any("two regions" in c.value and "° apart" in c.value for c in app.caption)
    cosines_before = [c.value for c in app.caption if c.value.startswith("#")]
    app.toggle(key="close_gap").set_value(True).run()
    assert not app.exception
    assert any(c.value.startswith("Gap closed") and "now 0.0" in c.value for c in app.caption)
    assert [c.value for c in app.caption if c.value.startswith("#")] != cosines_before  # measured after centring
    kinds_after = [m.value for m in app.markdown if m.value == ":material/notes: *caption*"]
    assert len(kinds_after) < len(kinds_before)  # closed, pictures come up among the captions


@pytest.mark.parametrize(
    "query,message",
    [("🍎🍏", "no letters or digits"), ("apple " * 2_000, "at most 1,000 characters"), ("a + " * 9 + "b", "at most 8")],
)
def test_emoji_only_and_pasted_essays_get_a_plain_message(app, query, message):
    app.switch_page("app_pages/search.py").run()
    app.text_input(key="query_text").set_value(query).run()
    assert not app.exception
    assert any(message in i.value for i in app.info), [i.value for i in app.info]


def test_an_import_without_pictures_creates_nothing_and_says_why(app, tmp_path, monkeypatch):
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "cat.png").write_bytes(b"not a picture")
    _load_folder(app, tmp_path / "broken", monkeypatch)
    assert not app.success and any(
        e.value.startswith("Nothing was added") and "cat.png: not a picture this app can read" in e.value
        for e in app.error
    )
    assert app.selectbox(key="collection_picker").value == "Emoji demo (bundled)"  # not switched
    assert "My collection" not in app.selectbox(key="collection_picker").options  # not created


def test_one_picture_reads_one_picture(app, make_image, tmp_path, monkeypatch):
    make_image("single/red.png")
    _load_folder(app, tmp_path / "single", monkeypatch)
    assert any("now has 1 picture and 0 captions" in s.value for s in app.success), [s.value for s in app.success]
    assert any("1 picture · 0 captions · 0 files skipped" in m.value for m in app.markdown)


def _jpeg(picture) -> bytes:
    import io

    out = io.BytesIO()
    picture.save(out, "JPEG")
    return out.getvalue()


def test_a_photo_as_the_query_is_told_what_the_photo_mode_reads(app):
    from PIL import Image
    from sklearn.datasets import load_sample_image

    app.switch_page("app_pages/search.py").run()
    app.radio(key="mode").set_value("An uploaded picture").run()
    app.file_uploader(key="query_upload").set_value(
        ("china.jpg", _jpeg(Image.fromarray(load_sample_image("china.jpg"))), "image/jpeg")
    ).run()
    assert not app.exception
    assert any("looks like a photo" in i.value and "ImageNet" in i.value for i in app.info)


def test_an_emoji_as_the_query_gets_no_photo_warning(app, demo):
    from PIL import Image

    app.switch_page("app_pages/search.py").run()
    app.radio(key="mode").set_value("An uploaded picture").run()
    picture = Image.open(demo.items[0].image_path)
    app.file_uploader(key="query_upload").set_value(
        ("emoji.png", demo.items[0].image_path.read_bytes(), "image/png")
    ).run()
    assert not app.exception and picture.size and not any("looks like a photo" in i.value for i in app.info)


def test_an_upload_of_only_broken_files_adds_nothing_and_the_picker_empties_after_an_add(app, make_image):
    app.switch_page("app_pages/collections.py").run()
    app.file_uploader(key="uploads_0").set_value([("broken.png", b"not a picture", "image/png")]).run()
    app.button(key="add_uploads").click().run()
    assert not app.exception and not app.success
    assert any(e.value.startswith("Nothing was added") and "broken.png" in e.value for e in app.error)
    good = make_image("red.png").read_bytes()
    app.file_uploader(key="uploads_0").set_value([("red.png", good, "image/png")]).run()
    app.button(key="add_uploads").click().run()
    assert any("now has 1 picture" in s.value for s in app.success)
    assert app.file_uploader(key="uploads_1").value in (None, [])  # a fresh, empty picker: no second add


def test_a_zip_without_pictures_adds_nothing(app):
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("notes.txt", "no pictures here")
    app.switch_page("app_pages/collections.py").run()
    app.file_uploader(key="zip_0").set_value(("empty.zip", buffer.getvalue(), "application/zip")).run()
    app.button(key="add_zip").click().run()
    assert not app.exception and not app.success
    assert any(e.value.startswith("Nothing was added") for e in app.error)
    assert app.selectbox(key="collection_picker").value == "Emoji demo (bundled)"


def test_a_shared_link_reproduces_a_search(store_root):
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.session_state["store_root"] = store_root
    at.query_params.update({"q": "a musical instrument", "k": "5", "show": "Both", "collection": "demo"})
    at.switch_page("app_pages/search.py").run()
    assert not at.exception and not at.warning
    assert at.text_input(key="query_text").value == "a musical instrument"
    assert at.slider(key="k").value == 5 and at.radio(key="filter").value == "Both"
    assert len([c for c in at.caption if c.value.startswith("#")]) == 5


@pytest.mark.parametrize(
    "params,problem",
    [
        ({"collection": "indexed:nowhere"}, "no indexed collection called 'nowhere'"),
        ({"k": "-3"}, "k = -3 is not between 1 and 48: using 1"),
        ({"q": "x" * 10_000}, "its query has 10,000 characters"),
        ({"show": "Everything"}, "show = 'Everything' is not one of"),
    ],
)
def test_a_bad_link_is_named_and_the_rest_works(store_root, params, problem):
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.session_state["store_root"] = store_root
    at.query_params.update(params)
    at.switch_page("app_pages/search.py").run()
    assert not at.exception
    assert any(problem in w.value for w in at.warning), [w.value for w in at.warning]
    assert any(c.value.startswith("#1 ") for c in at.caption)  # the page still searches


def test_results_a_cluster_and_all_clusters_can_be_downloaded(app):
    app.switch_page("app_pages/search.py").run()
    labels = [b.proto.label for b in app.get("download_button")]
    assert labels == ["Table (CSV)", "Pictures (zip)", "Vectors (Parquet)"]
    app.switch_page("app_pages/clusters.py").run()
    assert not app.exception
    keys = {b.proto.id.rsplit("-", 1)[-1] for b in app.get("download_button")}  # the user keys
    assert {"export_clusters_csv", "export_cluster_zip", "export_cluster_parquet"} <= keys, keys


def test_why_under_a_result_explains_it_with_the_pictures_parts_and_the_querys_words(app):
    app.switch_page("app_pages/search.py").run()
    app.text_input(key="query_text").set_value("a red fruit").run()
    why = [b for b in app.button if (b.key or "").startswith("why_")]
    assert len(why) == 12  # one under every result
    why[0].click().run()
    assert not app.exception
    shown = " ".join(m.value for m in [*app.markdown, *app.caption, *app.text])
    assert "Red parts made this picture close to" in shown or "barely changes the cosine" in shown
    assert "'a red fruit'" in shown


def test_results_read_in_rank_order_row_by_row(app):
    """Screen readers and the tab key follow the page's order: #1, #2, #3, ... not #1, #5, #9."""
    app.switch_page("app_pages/search.py").run()
    ranks = [c.value.split(" ")[0] for c in app.caption if c.value.startswith("#")]
    assert ranks == [f"#{i}" for i in range(1, 13)], ranks


def test_the_noise_filter_table_names_what_left_the_top_k(app):
    app.switch_page("app_pages/search.py").run()
    app.toggle(key="pca_on").set_value(True).run()
    app.slider(key="pca_n").set_value(2).run()
    assert not app.exception
    table = app.dataframe[0].value
    assert not table.isna().any().any() and "None" not in table.astype(str).values
    assert any("not in the top 12" in str(v) for v in table.values.ravel())


def test_a_folder_of_two_photos_is_counted_not_given_as_a_share(app, tmp_path, monkeypatch):
    import numpy as np
    from PIL import Image

    (tmp_path / "photos").mkdir()
    rng = np.random.default_rng(0)
    for name in ("a.jpg", "b.jpg"):
        Image.fromarray((rng.random((60, 80, 3)) * 255).astype(np.uint8)).save(tmp_path / "photos" / name)
    _load_folder(app, tmp_path / "photos", monkeypatch)
    app.switch_page("app_pages/search.py").run()
    assert any(i.value.startswith("Only 0 of the 2 pictures are drawn on a plain background") for i in app.info)


def test_uploads_past_the_sessions_quota_are_refused_with_the_numbers_and_nothing_written(app, make_image, store_root):
    import io
    import zipfile

    from similarity.ingest.budget import Usage
    from similarity.limits import MAX_SESSION_BYTES
    from similarity.storage.paths import unpacked_folder, uploads_folder

    pictures = [(f"{i}.png", make_image(f"{i}.png", color=(i, 90, 9)).read_bytes(), "image/png") for i in range(3)]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data, _ in pictures:
            archive.writestr(name, data)
    folders = (uploads_folder(store_root) / "uploads", unpacked_folder(store_root))
    before = [sorted(folder.rglob("*")) for folder in folders]
    app.session_state["disk_used"] = Usage(MAX_SESSION_BYTES - 8192, 0)  # two disk blocks left
    app.switch_page("app_pages/collections.py").run()
    app.file_uploader(key="uploads_0").set_value(pictures).run()
    app.button(key="add_uploads").click().run()
    assert not app.exception and not app.success
    left = "on disk, but this session has used 2.0 GB in 0 files of its 2.0 GB and 50,000 files; nothing was written"
    assert [e.value for e in app.error] == [f"3 uploaded files: needs 12 KB in 3 files {left}"]
    app.file_uploader(key="uploads_0").set_value([]).run()
    app.file_uploader(key="zip_0").set_value(("three.zip", buffer.getvalue(), "application/zip")).run()
    app.button(key="add_zip").click().run()
    assert not app.exception and not app.success
    assert [e.value for e in app.error] == [f"three.zip: needs 12 KB in 3 files {left}"]
    assert [sorted(folder.rglob("*")) for folder in folders] == before
    assert app.selectbox(key="collection_picker").value == "Emoji demo (bundled)"  # what was loaded is kept
