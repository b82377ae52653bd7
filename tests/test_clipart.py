"""The clipart demo: drawings rendered once, captions without their authors, searchable offline."""

import csv
import os
import tempfile

import numpy as np
import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest
from support import ROOT

from similarity.ingest.bundled import CLIPART, SHIPPED_VECTORS
from similarity.ingest.clipart import SAME_CAPTION, SIZE, build, load_clipart
from similarity.ingest.space import embed_collection
from similarity.search.query import text_query
from similarity.search.topk import top_k
from similarity.storage.keys import CAPTION, IMAGE
from similarity.storage.vectors import EmbeddingStore
from similarity.views.quality import KS, own_pair_quality

NAMESPACES = (
    'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:cc="http://web.resource.org/cc/" '
    'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"'
)
RED_DISC = '<circle cx="50" cy="50" r="40" fill="red"/>'


def svg(title: str, authors=(), keywords=(), body=RED_DISC, sized=True) -> str:
    agents = "".join(f"<dc:creator><cc:Agent><dc:title>{a}</dc:title></cc:Agent></dc:creator>" for a in authors)
    listed = "".join(f"<rdf:li>{k}</rdf:li>" for k in keywords)
    size = 'width="100" height="100"' if sized else ""
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" {NAMESPACES} {size}><metadata><rdf:RDF><cc:Work>'
        f"<dc:title>{title}</dc:title>{agents}<dc:subject><rdf:Bag>{listed}</rdf:Bag></dc:subject></cc:Work></rdf:RDF></metadata>{body}</svg>"
    )


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    source, out = tmp_path_factory.mktemp("svg"), tmp_path_factory.mktemp("clipart") / "clipart"
    drawings = {
        "animals/mammals/bat_orlando_karam_.svg": svg("bat", ["Orlando Karam"], ["mammal", "Orlando Karam"]),
        "food/gattina_cat_architetto_f_01.svg": svg(
            "Clipart by Architetto Francesco Rollandin - Gattina Cat", ["Architetto Francesco Rollandin"]
        ),
        "animals/frog.svg": svg("frog", body='<rect width="60" height="20" fill="green"/>'),
        "animals/amphibian/frog.svg": svg("frog", body='<rect width="60" height="20" fill="green"/>'),  # same bytes
        "signs/stop.svg": svg("Stop Sign", sized=False, body='<rect x="10" y="10" width="80" height="80"/>'),
        "signs/broken.svg": "<svg this is not xml",
        "signs/empty.svg": svg("nothing at all", body=""),
    }
    for i, name in enumerate(["window_new", "text_center", "go_up", "zoom_in"]):  # a theme's name as every title
        body = f'<rect width="{20 + 10 * i}" height="30" fill="blue"/>'
        drawings[f"computer/lemon-theme/actions/{name}.svg"] = svg("Lemon SVG theme", body=body)
    for i in range(SAME_CAPTION + 2):  # variants of one drawing: only SAME_CAPTION are kept
        drawings[f"shapes/stars/star_{i}pt.svg"] = svg("gramastar", body=f'<circle r="{10 + i}" cx="50" cy="50"/>')
    for name, text in drawings.items():
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        (source / name).write_text(text)
    (out / "stale.txt").parent.mkdir(parents=True)
    (out / "stale.txt").write_text("from an earlier build")
    written, skipped = build(source, out, workers=1)
    return out, written, skipped


def test_captions_are_titles_without_authors_and_a_sets_name_gives_way_to_the_file_name(built):
    out, _, _ = built
    with open(out / "captions.csv", encoding="utf-8") as fh:
        rows = {row["caption"]: row for row in csv.DictReader(fh)}
    assert "bat (mammals)" in rows and rows["bat (mammals)"]["keywords"] == "mammal"  # the author's name is gone
    assert "gattina cat (food)" in rows
    assert {"window new (actions)", "text center (actions)", "go up (actions)", "zoom in (actions)"} <= set(rows)
    assert not any(word in caption for caption in rows for word in ("orlando", "karam", "rollandin", "lemon"))
    assert rows["bat (mammals)"]["category"] == "animals" and rows["bat (mammals)"]["folder"] == "mammals"


def test_each_drawing_is_rendered_once_square_on_white_and_every_skipped_one_is_named(built):
    out, written, skipped = built
    collection = load_clipart(out)
    captions = [item.caption for item in collection.items]
    assert sum(c.startswith("frog") for c in captions) == 1  # the same bytes in two folders: one picture
    assert "stop sign (signs)" in captions  # a drawing without a size is drawn all the same
    assert sum(c.startswith("star") for c in captions) == SAME_CAPTION
    assert written == len(collection.items) == len(captions)
    assert any(s.startswith("signs/broken.svg: ") for s in skipped)
    assert "signs/empty.svg: blank drawing" in skipped
    assert not (out / "stale.txt").exists()  # the new build replaced the old one whole
    for item in collection.items:
        with Image.open(item.image_path) as picture:
            assert picture.size == (SIZE, SIZE) and picture.mode == "RGB"
            assert picture.getpixel((0, 0)) == (255, 255, 255)
    assert {item.label for item in collection.items} == {"animals", "food", "signs", "computer", "shapes"}


def _require_clipart():
    if not CLIPART.built:
        if os.environ.get("REQUIRE_BROWSER"):  # CI: everything `make test` builds must be there
            pytest.fail("the clipart demo is not built: run `make test` (needs the Debian package openclipart-svg)")
        pytest.skip("the clipart demo is not built (Debian package openclipart-svg, then make)")


def test_the_installed_clipart_demo_is_searchable_offline_and_encodes_nothing(bundled):
    _require_clipart()
    collection = CLIPART.load()
    assert len(collection.items) > 4_000 and len({i.label for i in collection.items}) >= 15
    with tempfile.TemporaryDirectory() as tmp:
        store = EmbeddingStore(tmp, bundled.key, shipped=SHIPPED_VECTORS, dim=bundled.dim)
        space = embed_collection(bundled, store, collection)
    assert (space.encoded_images, space.encoded_texts) == (0, 0)
    captions = space.rows((CAPTION,))
    for query, word in [("a stop sign", "stop"), ("a violin", "violin"), ("the flag of france", "france")]:
        ranking = top_k(text_query(bundled.encode_texts, query).vector, space.vectors, 5, among=captions)
        found = [space.items[space.item[r]].caption for r in ranking.indices]
        assert any(word in caption for caption in found), (query, found)
    # its pictures: the emoji-trained model finds a drawing from its own caption far above chance (not well:
    # the quality page says how well), and a car among cars
    t2p = own_pair_quality(space).text_to_picture
    assert np.mean(t2p.ranks <= 10) > 10 * t2p.chance[KS.index(10)]
    ranking = top_k(text_query(bundled.encode_texts, "a car").vector, space.vectors, 5, among=space.rows((IMAGE,)))
    assert sum("car" in space.items[space.item[r]].caption for r in ranking.indices) >= 2


def test_a_link_opens_the_clipart_demo_and_searches_it(tmp_path):
    _require_clipart()
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.session_state["store_root"] = str(tmp_path)
    at.query_params.update({"q": "a stop sign", "k": "6", "show": "Captions", "collection": "clipart"})
    at.switch_page("app_pages/search.py").run()
    assert not at.exception and not at.warning
    assert at.selectbox(key="collection_picker").value == CLIPART.label
    results = [c.value for c in at.caption if c.value.startswith("#")]
    assert len(results) == 6
    assert any("stop" in t.value for t in at.text)
