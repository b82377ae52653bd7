"""Metadata filters: a collection's fields, Filter masks, LanceDB's where agreeing with memory, the pages narrowed."""

import json
import os

import numpy as np
import pytest
from support import app_test

from similarity.ingest.collection import load_files, load_folder, load_indexed
from similarity.ingest.fields import (
    CATEGORY,
    CHOICE,
    DATE,
    FILE_TYPE,
    FOLDER,
    HAS_CAPTION,
    HEIGHT,
    MODIFIED,
    NONE,
    NUMBER,
    SIZE,
    TEXT,
    TOP,
    WIDTH,
    collection_fields,
)
from similarity.ingest.files import read_caption_table
from similarity.ingest.space import Space
from similarity.limits import MAX_FILTER_CHOICES
from similarity.search.filters import Condition, Filter, indexed_mask, narrowed, where_clause
from similarity.storage.items import ItemTable
from similarity.storage.lance import connect
from ui.filters import CLUSTER, widget_key
from ui.text import plain

DAY = 86_400.0


def test_demo_fields_offer_its_category_subgroup_and_keywords(demo):
    fields = collection_fields(demo)
    assert fields.n == len(demo.items) == 1861
    assert fields[CATEGORY].kind == CHOICE and "Flags" in fields[CATEGORY].choices
    assert sum(fields[CATEGORY].counts) == 1861
    assert fields["subgroup"].kind == CHOICE
    assert fields["keywords"].kind == TEXT  # far more than MAX_FILTER_CHOICES distinct values: "contains"
    assert fields[SIZE].kind == NUMBER and fields[SIZE].integer
    # One value everywhere (all PNG, one folder, one picture size): nothing to narrow, not offered.
    assert FILE_TYPE not in fields and FOLDER not in fields and WIDTH not in fields


@pytest.fixture
def shop(tmp_path, make_image):
    """A folder of pictures in sub-folders with a captions CSV carrying further columns."""
    make_image("shop/shoes/red.png", (200, 0, 0), size=(40, 30))
    make_image("shop/shoes/blue.jpg", (0, 0, 200), size=(80, 60))
    make_image("shop/it's 50%_off/green.png", (0, 200, 0), size=(20, 20))
    make_image("shop/hats/a/b.png", (90, 90, 90), size=(30, 90))
    make_image("shop/top.png", (10, 10, 10), size=(50, 50))
    (tmp_path / "shop" / "captions.csv").write_text(
        "file,caption,price,mixed,added,note\n"
        "shoes/red.png,red shoe,12.5,3,2024-01-05,x\n"
        "shoes/blue.jpg,blue shoe,40,red,2024-02-10,\n"
        "it's 50%_off/green.png,,7,4.5,2024-03-01,y\n"
        "hats/a/b.png,grey hat,,,2024-03-20,x\n",
        encoding="utf-8",
    )
    for i, path in enumerate(sorted((tmp_path / "shop").rglob("*.*"))):
        os.utime(path, (1_700_000_000 + i * 3 * DAY,) * 2)  # mtimes days apart
    return tmp_path / "shop"


def test_a_csv_carries_further_columns_kept_as_text():
    captions, extras = read_caption_table(
        "c.csv", b"file,caption,price,file,\na.png,cat,3,dup,x\nb.png,,4\nc.png,dog\n"
    )
    assert captions == {"a.png": "cat", "c.png": "dog"}
    assert extras == {"a.png": {"price": "3"}, "b.png": {"price": "4"}}  # a repeated "file" column is not a field


def test_fields_of_a_folder_with_a_csv(shop):
    collection = load_folder(shop, allowed=[shop.parent])
    fields = collection_fields(collection)
    by_source = {item.source: i for i, item in enumerate(collection.items)}

    def value(name, source):
        return fields[name].values[by_source[source]]

    assert value(FOLDER, "shoes/red.png") == "shoes" and value(FOLDER, "top.png") == TOP
    assert value(FOLDER, "hats/a/b.png") == "hats/a"
    assert value(FILE_TYPE, "shoes/blue.jpg") == "jpg"
    assert value(WIDTH, "shoes/blue.jpg") == 80 and value(HEIGHT, "hats/a/b.png") == 90
    assert value(SIZE, "top.png") == (shop / "top.png").stat().st_size
    assert fields[MODIFIED].kind == DATE
    assert value(HAS_CAPTION, "it's 50%_off/green.png") == "no" and value(HAS_CAPTION, "shoes/red.png") == "yes"
    assert fields["price"].kind == NUMBER and np.isnan(value("price", "top.png"))
    assert fields["mixed"].kind == CHOICE  # 3, red, 4.5: not all numbers, so words
    assert set(fields["mixed"].choices) == {"3", "red", "4.5", NONE}
    assert fields["added"].kind == DATE
    assert value("note", "shoes/blue.jpg") == NONE


def test_a_column_with_too_many_values_is_filtered_by_contains(tmp_path, make_image):
    folder = tmp_path / "many"
    rows = ["file,caption,sku"]
    for i in range(MAX_FILTER_CHOICES + 5):
        make_image(f"many/{i}.png", (i % 256, 0, 0))
        rows.append(f"{i}.png,item {i},sku-{i:05d}")
    (folder / "c.csv").write_text("\n".join(rows), encoding="utf-8")
    fields = collection_fields(load_folder(folder, allowed=[tmp_path]))
    assert fields["sku"].kind == TEXT
    assert Filter((Condition("sku", contains="SKU-0012"),)).mask(fields).sum() == 10  # 00120..00129, any case


def test_filter_masks_combine_conditions(shop):
    collection = load_folder(shop, allowed=[shop.parent])
    fields = collection_fields(collection)
    sources = np.array([i.source for i in collection.items])

    def kept(*conditions):
        return sorted(sources[Filter(conditions).mask(fields)])

    assert kept() == sorted(sources)
    assert kept(Condition(FOLDER, keep=("shoes",))) == ["shoes/blue.jpg", "shoes/red.png"]
    assert kept(Condition("price", low=10, high=50)) == ["shoes/blue.jpg", "shoes/red.png"]
    assert kept(Condition("price", low=10), Condition(FILE_TYPE, keep=("png",))) == ["shoes/red.png"]
    assert kept(Condition(HAS_CAPTION, keep=("no",))) == ["it's 50%_off/green.png", "top.png"]
    assert kept(Condition(FOLDER, keep=("shoes",)), Condition("price", high=1)) == []
    assert kept(Condition("no such field", keep=("x",))) == sorted(sources)  # a stale field narrows nothing
    flt = Filter((Condition(FOLDER, keep=("shoes",)), Condition("price", low=10, high=50)))
    assert flt.describe(fields) == "folder: shoes; price 10 to 50"
    assert flt.key == Filter((Condition(FOLDER, keep=("shoes",)), Condition("price", low=10, high=50))).key


def test_narrowed_space_keeps_the_rows_of_kept_items_under_its_own_key():
    space = Space(np.eye(4, dtype=np.float32), np.array([0, 0, 1, 2]), np.array(["image", "caption", "image", "image"]))
    space.key = "model/abc"
    small = narrowed(space, np.array([True, False, True]), "f1")
    assert small.item.tolist() == [0, 0, 2] and small.vectors[2].tolist() == [0, 0, 0, 1]
    assert small.key == "model/abc/filter-f1" and small.items is space.items
    assert len(narrowed(space, np.zeros(3, bool), "f2").vectors) == 0


@pytest.fixture
def indexed_shop(shop, tmp_path):
    """The shop as an indexed collection: its item table written as the indexer writes it (no model needed)."""
    db = connect(str(tmp_path / "index"))
    rows = []
    captions = {"red.png": "red shoe", "blue.jpg": "blue shoe", "b.png": "grey hat"}
    for i, path in enumerate(sorted(p for p in shop.rglob("*.*") if p.suffix != ".csv")):
        stat = path.stat()
        rows.append(
            {
                "path": str(path),
                "caption": captions.get(path.name),
                "size": stat.st_size,
                "mtime": stat.st_mtime,
                "id": f"{i:040d}",
            }
        )
    ItemTable(db, "shop").add(rows)
    return load_indexed("shop", db.uri), db


FILTERS = [
    (Condition(FOLDER, keep=("shoes",)),),
    (Condition(FOLDER, keep=(TOP,)),),
    (Condition(FOLDER, keep=("it's 50%_off", "hats/a")),),
    (Condition(FILE_TYPE, keep=("jpg",)),),
    (Condition(HAS_CAPTION, keep=("no",)),),
    (Condition(HAS_CAPTION, keep=("yes", "no")), Condition(SIZE, low=0, high=10_000_000)),
    (Condition(MODIFIED, low=1_700_000_000 + 2 * DAY, high=1_700_000_000 + 9 * DAY),),
    (Condition(SIZE, high=0),),
    (Condition(FOLDER, keep=("shoes",)), Condition(WIDTH, low=50)),  # width: answered in memory
    (Condition(FOLDER, contains="OFF"),),  # contains: in memory
    (Condition(FOLDER, keep=()),),
]


@pytest.mark.parametrize("conditions", FILTERS)
def test_lancedb_where_keeps_what_the_in_memory_mask_keeps(indexed_shop, conditions):
    collection, db = indexed_shop
    fields = collection_fields(collection)
    assert fields.root.endswith("shop")
    flt = Filter(conditions)
    sources = np.array([item.source for item in collection.items], dtype=object)
    expected = flt.mask(fields)
    assert indexed_mask(flt, fields, ItemTable(db, "shop"), sources).tolist() == expected.tolist()


def test_the_where_clause_quotes_what_a_visitor_could_type(indexed_shop):
    collection, db = indexed_shop
    fields = collection_fields(collection)
    where, rest = where_clause(Filter((Condition(FOLDER, keep=("x' OR '1'='1",)),)), fields)
    assert "x'' OR ''1''=''1" in where and not rest
    assert ItemTable(db, "shop").paths_where(where) == []


# --- the pages, narrowed together ----------------------------------------------------------


def _filter_by_category(at, demo, page: str, category: str, keywords: str = ""):
    fields = collection_fields(demo)
    at.switch_page(page).run()
    at.sidebar.multiselect(key=widget_key(fields, "")).set_value([CATEGORY, "keywords"]).run()
    at.sidebar.multiselect(key=widget_key(fields, CATEGORY)).set_value([category]).run()
    if keywords:
        at.sidebar.text_input(key=widget_key(fields, "keywords")).set_value(keywords).run()
    return at


def test_one_filter_narrows_search_map_and_clusters(app, demo):
    flags = sum(item.label == "Flags" for item in demo.items)
    _filter_by_category(app, demo, "app_pages/search.py", "Flags")
    said = f"The filter keeps {flags:,} of 1,861 items: category: Flags."
    assert not app.exception
    assert said in [c.value for c in app.caption]
    app.text_input(key="query_text").set_value("a red fruit").run()
    shown = [t.value for t in app.text]
    assert shown and all("flag" in t.lower() for t in shown[:3]), shown[:3]
    for page in ("app_pages/map.py", "app_pages/clusters.py"):
        app.switch_page(page).run()
        assert not app.exception, page
        assert said in [c.value for c in app.caption], page
    app.switch_page("app_pages/home.py").run()  # a page without the panel...
    app.switch_page("app_pages/search.py").run()
    assert said in [c.value for c in app.caption]  # ...keeps the filter


def test_a_filter_that_keeps_nothing_says_so_plainly(app, demo):
    _filter_by_category(app, demo, "app_pages/map.py", "Flags", keywords="zzzz-no-such-word")
    assert not app.exception
    assert any("keeps none of the 1,861 items" in i.value for i in app.info), [i.value for i in app.info]
    assert not app.get("plotly_chart")


def test_colour_groups_bin_numbers_and_keep_the_commonest_values(shop, demo):
    fields = collection_fields(load_folder(shop, allowed=[shop.parent]))
    groups = fields["price"].groups(np.arange(fields.n), bins=2)
    assert set(groups) == {"7 – 23.5", "23.5 – 40", NONE}
    subgroups = collection_fields(demo)["subgroup"].groups(np.arange(1861), most=5)
    assert len(set(subgroups)) == 5 and "other" in subgroups


def test_the_map_colours_by_any_field(app):
    app.switch_page("app_pages/map.py").run()
    assert "subgroup" in app.selectbox(key="map_colour").options
    app.selectbox(key="map_colour").set_value("keywords").run()
    assert not app.exception  # the map (plotly, or altair with pictures on hover) drew the field's groups
    assert not any(m.value.startswith("The filter keeps") for m in app.caption)  # colouring filters nothing


def test_uploads_keep_a_csv_s_further_columns(make_image):
    path = make_image("up/a.png")
    collection = load_files("up", [("a.png", path)], {"a.png": "cat"}, {"a.png": {"price": "3"}})
    assert collection.items[0].extra == (("price", "3"),) and collection.items[0].caption == "cat"


def test_the_clusters_page_gives_a_cluster_field_that_narrows_the_other_pages(app, demo):
    app.switch_page("app_pages/clusters.py").run()
    fields = collection_fields(demo)
    picker = app.sidebar.multiselect(key=widget_key(fields, ""))
    assert CLUSTER in picker.options
    picker.set_value([CLUSTER]).run()
    # numbered as on the page: the first cluster's members, counted from the page's own export table
    shown = next(v for v in app.sidebar.multiselect(key=widget_key(fields, CLUSTER)).options if v.startswith("1. "))
    first, members = shown.rsplit(" (", 1)  # "1. Animals & Nature (226)"
    app.sidebar.multiselect(key=widget_key(fields, CLUSTER)).set_value([first]).run()
    app.switch_page("app_pages/search.py").run()
    said = [c.value for c in app.caption if c.value.startswith("The filter keeps")]
    assert said and plain(f"{CLUSTER}: {first}") in said[0], said
    kept = int(said[0].split()[3].replace(",", ""))
    assert 0 < kept == int(members.rstrip(")").replace(",", "")) < 1861
    app.switch_page("app_pages/clusters.py").run()  # clustering what the cluster filter kept...
    assert not app.exception
    assert shown in app.sidebar.multiselect(key=widget_key(fields, CLUSTER)).options  # ...does not redefine it


def test_a_link_carries_the_filter_and_a_bad_one_is_named(app, demo):
    flags = sum(item.label == "Flags" for item in demo.items)
    _filter_by_category(app, demo, "app_pages/search.py", "Flags")
    app.text_input(key="query_text").set_value("a red fruit").run()
    link = dict(app.query_params)
    assert json.loads(link["filter"]) == [{"field": CATEGORY, "keep": ["Flags"]}]
    fresh = app_test(app.session_state["store_root"])
    fresh.query_params.update(link)
    fresh.switch_page("app_pages/search.py").run()
    assert not fresh.exception and not fresh.warning
    assert f"The filter keeps {flags:,} of 1,861 items: category: Flags." in [c.value for c in fresh.caption]
    bad = app_test(app.session_state["store_root"])
    bad.query_params.update({"filter": json.dumps([{"field": "no such", "keep": ["x"]}, {"nonsense": 1}])})
    bad.switch_page("app_pages/search.py").run()
    assert not bad.exception
    assert any("its filter is not a list of conditions" in w.value for w in bad.warning), bad.warning
    bad = app_test(app.session_state["store_root"])
    bad.query_params.update({"filter": json.dumps([{"field": "no such", "keep": ["x"]}, {"field": SIZE, "low": 5}])})
    bad.switch_page("app_pages/search.py").run()
    assert not bad.exception
    warned = " ".join(w.value for w in bad.warning)
    assert "no field 'no such'" in warned and "does not fit" in warned
