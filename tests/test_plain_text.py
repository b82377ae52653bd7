"""Hostile names and captions are shown as typed on every page: never a live link, image, formula, tag or icon."""

import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from similarity.ingest.collection import Collection, Item, load_files
from similarity.ingest.fields import collection_fields
from similarity.ingest.space import Space
from similarity.storage.keys import IMAGE, content_id
from similarity.storage.paths import ALLOWED_FOLDERS
from ui.filters import widget_key
from ui.text import plain

APP = str(Path(__file__).resolve().parent.parent / "app.py")
PAGES = ("home", "search", "map", "clusters", "quality")
LINK, IMG = "[click](http://evil.example/x)", "![x](http://evil.example/i.png)"
# Each holds "evil": the strings that show it are the ones checked (the app's own markdown is not).
HOSTILE = (LINK, IMG, r"$\int_0^1 evil$", "<b>evil</b> <img src=x>", ":red[evil]", ":material/bug_report: evil")
NAME = f"{LINK} :red[c] $y$"  # the collection's name
COLUMN = "[col](http://evil.example/c)"  # a CSV column, offered as a filter field
SERVER = "/srv/private/photos"  # where an indexed collection's pictures lie on the server


def live(text: str) -> list[str]:
    """The constructs Streamlit's markdown would build in ``text``, as in its frontend (1.4x-1.6x)."""
    built = (r"(?<!\\)\]\(", r"(?<!\\)!\[", r"(?<!\\)\$", r"(?<!\\)<[a-z/]", r"(?<!\\):red\[")  # link, image, ...
    found = [m for m in built if re.search(m, text)]
    # After parsing (escapes gone), text nodes are searched for autolinks, emoji and icons.
    node = re.sub(r"\\(.)", r"\1", text).replace(":material/", ":material_")
    return found + [m for m in ("://evil", "www.evil", "@evil.example", ":material_bug_report:") if m in node]


def test_the_check_sees_each_construct_and_plain_escapes_all_of_them():
    for hostile in (*HOSTILE, "www.evil.example", "me@evil.example", "http://evil.example", NAME, COLUMN):
        assert live(hostile), hostile
        assert not live(plain(hostile)), plain(hostile)
    assert plain("a\n# title\n\n- item") == "a # title - item"  # a line break starts no heading or list


@pytest.fixture(scope="module")
def hostile(tmp_path_factory) -> Collection:
    """Pictures named and captioned with every construct, a caption-only line, a CSV column, a server path."""
    folder = tmp_path_factory.mktemp("hostile")
    files, captions, extras = [], {}, {}
    for i, text in enumerate(HOSTILE):
        path = folder / f"{i}.png"
        Image.new("RGB", (40, 30), (30 * i, 200 - 25 * i, 90)).save(path)
        name = f"{text}.png"
        files.append((name, path))
        captions[name] = f"a cat {text}" if i % 2 else f"a red apple {text}"
        extras[name] = {COLUMN: IMG if i % 2 else LINK}
    captions[f"only {LINK}"] = f"a dog {IMG} {LINK}"
    collection = load_files(NAME, files, captions, extras)
    secret = folder / "secret.png"
    Image.new("RGB", (40, 30), (10, 10, 240)).save(secret)
    on_server = Item(content_id(secret.read_bytes()), f"{SERVER}/cats/secret.png", secret)
    return Collection(NAME, [*collection.items, on_server])


@pytest.fixture
def app(hostile, tmp_path_factory, monkeypatch):
    monkeypatch.delenv(ALLOWED_FOLDERS, raising=False)
    at = AppTest.from_file(APP, default_timeout=300)
    at.session_state["store_root"] = str(tmp_path_factory.mktemp("store"))
    at.session_state["collections"] = {NAME: hostile}
    at.session_state["collection_picker"] = NAME
    return at


def shown(at: AppTest) -> list[str]:
    """Every string the page hands to Streamlit's markdown: bodies, labels, help, radio options."""
    out = []
    for node in at._tree:
        if node.type in ("text", "code", "exception", "plotly_chart", "arrow_data_frame"):
            continue  # shown literally (text, code, tables) or checked apart (charts)
        proto = getattr(node, "proto", None)
        for name in ("body", "label", "help"):
            if isinstance(value := getattr(proto, name, None), str) and value:
                out.append(value)
        if node.type == "radio":  # a radio's options are markdown too (a selectbox's are plain text)
            out += list(proto.options)
    return out


def assert_plain(at: AppTest, page: str) -> None:
    assert not at.exception, (page, [e.value for e in at.exception])
    bad = {text: live(text) for text in shown(at) if "evil" in text and live(text)}
    assert not bad, (page, bad)
    everything = [*shown(at), *(t.value for t in at.text)]
    everything += [n.proto.spec for n in at._tree if n.type == "plotly_chart"]
    assert not [t for t in everything if SERVER in t], page


def test_every_page_shows_hostile_strings_as_typed(app, hostile):
    for page in PAGES:
        app.switch_page(f"app_pages/{page}.py").run()
        assert_plain(app, page)
        if page == "search":
            app.text_input(key="query_text").set_value("cat - red").run()  # each term's line of results
            assert_plain(app, "search: cat - red")
            app.radio(key="filter").set_value("Captions").run()
            assert_plain(app, "search: captions")
            fields = collection_fields(hostile)
            app.sidebar.multiselect(key=widget_key(fields, "")).set_value([COLUMN]).run()
            app.sidebar.multiselect(key=widget_key(fields, COLUMN)).set_value([IMG]).run()
            assert_plain(app, "search: filtered by a hostile column")
            assert any(plain(IMG) in c.value for c in app.caption)  # the filter is named, escaped


def test_the_collections_page_shows_hostile_strings_as_typed(app):
    app.switch_page("app_pages/collections.py").run()
    assert_plain(app, "collections")


def test_a_server_path_is_shown_relative_to_the_folder_of_the_collection(hostile):
    items = [*hostile.items, Item("b", f"{SERVER}/dogs/b.png", hostile.items[0].image_path, None)]
    space = Space(np.zeros((len(items), 2), np.float32), np.arange(len(items)), np.array([IMAGE] * len(items)), items)
    shown = space.labels(range(len(items) - 3, len(items)))
    assert shown == [hostile.items[-2].caption, "cats/secret.png", "dogs/b.png"]
