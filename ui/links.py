"""A link that carries a search: the query, k, the kinds shown, the collection and its filter, in the address bar.

Opening ``/search?q=a+red+fruit&k=8&show=Both&collection=demo`` in a new
browser gives the same search, so a teacher can share "this search" with
the class. The page is the link's path. The link is read once per browser
session, before any widget is drawn, and gives the widgets their first
values (:func:`ui.state.linked`); a bad value is named and skipped.
"""

from __future__ import annotations

import streamlit as st

from similarity.ingest.bundled import BUNDLED_COLLECTIONS
from similarity.limits import MAX_QUERY_CHARS, MAX_RESULTS
from similarity.storage.paths import index_uri
from ui import cache
from ui.filters import filter_from_link, link_of
from ui.state import DEMO, active_collection, collections
from ui.text import plain
from ui.widgets import KIND_FILTERS

# A link names a bundled collection by its short name ("demo", "clipart"), an indexed one as "indexed:NAME".


def apply_link() -> None:
    """Set the widgets from the address's parameters, once per session; say what could not be used."""
    if st.session_state.get("link_applied"):
        return
    st.session_state["link_applied"] = True
    params = st.query_params
    problems, wanted = [], {}
    if (text := params.get("q")) is not None:
        if len(text) > MAX_QUERY_CHARS:
            problems.append(f"its query has {len(text):,} characters (at most {MAX_QUERY_CHARS:,})")
        else:
            wanted["query_text"] = text
    if (k := params.get("k")) is not None:
        if k.strip().lstrip("-").isdigit():
            wanted["k"] = min(max(int(k), 1), MAX_RESULTS)
            if not 1 <= int(k) <= MAX_RESULTS:
                problems.append(f"k = {k} is not between 1 and {MAX_RESULTS}: using {wanted['k']}")
        else:
            problems.append(f"k = {k!r} is not a number")
    if (show := params.get("show")) is not None:
        if show in KIND_FILTERS:
            wanted["filter"] = show
        else:
            problems.append(f"show = {show!r} is not one of {', '.join(KIND_FILTERS)}")
    if (name := params.get("collection")) is not None:
        problems += _open_collection(name)
    if (flt := params.get("filter")) is not None:
        problems += filter_from_link(active_collection(), flt)
    st.session_state["link"] = wanted  # the widgets' first values (ui.state.linked)
    if problems:
        st.warning("This link could not be followed in full: " + plain("; ".join(problems)) + ".")  # it quotes the link


def _open_collection(name: str) -> list[str]:
    if bundled := BUNDLED_COLLECTIONS.get(name):
        if bundled.label not in collections():
            return [f"this server has no {bundled.label}: showing the {DEMO}"]
        st.session_state["collection_picker"] = bundled.label
        return []
    indexed = name.removeprefix("indexed:")
    if name == indexed:
        return [f"collection {name!r} is none of {', '.join(map(repr, BUNDLED_COLLECTIONS))} or 'indexed:NAME'"]
    try:
        collection = cache.indexed_collection(indexed, index_uri())
    except ValueError:
        return [f"this server has no indexed collection called {indexed!r}: showing the {DEMO}"]
    collections()[collection.name] = collection
    st.session_state["collection_picker"] = collection.name
    return []


def write_link(text: str, k: int, show: str, collection) -> None:
    """Put a typed search in the address bar (only searches a link can repeat: typed text, a shared collection)."""
    label = st.session_state.get("collection_picker", DEMO)
    if bundled := next((b for b in BUNDLED_COLLECTIONS.values() if b.label == label), None):
        where = bundled.link
    elif collection.indexed_in:
        where = f"indexed:{collection.name}"
    else:
        st.query_params.clear()  # an upload lives in this browser session only: no link can open it
        return
    params = {"q": text, "k": str(k), "show": show, "collection": where}
    if flt := link_of(collection):
        params["filter"] = flt
    st.query_params.from_dict(params)
