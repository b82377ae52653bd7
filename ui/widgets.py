"""Widgets shared by pages: the query picker and grids of items."""

from __future__ import annotations

import streamlit as st

from similarity.collection import IMAGE_SUFFIXES, BadInput, Collection, open_image
from similarity.embed import CAPTION, IMAGE, Space
from similarity.search import Ranking, text_query

COLUMNS = 6
KIND_FILTERS = {"Pictures": (IMAGE,), "Captions": (CAPTION,), "Both": (IMAGE, CAPTION)}


def kind_filter(space: Space, default: str = "Pictures"):
    """Pictures / captions / both: returns the chosen rows, or stops with a hint."""
    if len(space.rows(KIND_FILTERS[default])) == 0:
        default = "Both"  # e.g. a text-only collection: start on what it has
    show = st.radio("Show", list(KIND_FILTERS), index=list(KIND_FILTERS).index(default), horizontal=True, key="filter")
    rows = space.rows(KIND_FILTERS[show])
    if len(rows) == 0:
        st.info(f"This collection has no {show.lower()}: choose another option.")
        st.stop()
    return rows


def label_of(collection: Collection, space: Space, row: int) -> str:
    """What to call a space row: its item's caption, else its file name."""
    item = collection.items[space.item[row]]
    return item.caption or item.source


def item_grid(collection: Collection, space: Space, rows, notes: list[str] | None = None) -> None:
    """Thumbnails (or caption cards) for space rows, with a note under each."""
    cols = st.columns(COLUMNS)
    for i, row in enumerate(rows):
        item = collection.items[space.item[row]]
        with cols[i % COLUMNS].container(border=True):
            if space.kind[row] == IMAGE:
                st.image(str(item.image_path), width="stretch")
            else:
                st.markdown(":material/notes: *caption*")
            # User text is shown as plain text, never as markdown or HTML.
            st.text(item.caption or item.source)
            if notes:
                st.caption(notes[i])


def result_grid(collection: Collection, space: Space, ranking: Ranking) -> None:
    """Ranked results with rank, cosine and angle under each."""
    notes = [
        f"#{rank} · cos {cos:.3f} · {angle:.1f}°"
        for rank, (cos, angle) in enumerate(zip(ranking.cosines, ranking.angles), start=1)
    ]
    item_grid(collection, space, ranking.indices, notes)


QUERY_MODES = ["Text", "A picture from the collection", "An uploaded picture"]


def query_picker(encoder, collection: Collection, space: Space, default_text: str = "a red fruit"):
    """Query widgets; returns ``(unit vector, label)``, or shows a hint and stops the page."""
    picked = _pick_query(encoder, collection, space, default_text)
    if picked is None:
        st.stop()
    return picked


def _pick_query(encoder, collection: Collection, space: Space, default_text: str):
    mode = st.radio("Query by", QUERY_MODES, horizontal=True, key="mode")
    if mode == QUERY_MODES[0]:
        text = st.text_input("Describe what you are looking for", value=default_text, key="query_text")
        try:
            return text_query(encoder.encode_texts, text), text
        except ValueError as err:
            st.info(str(err))
            return None
    if mode == QUERY_MODES[1]:
        rows = space.rows((IMAGE,))
        if len(rows) == 0:
            st.info("This collection has no pictures; search by text instead.")
            return None
        labels = [label_of(collection, space, r) for r in rows]
        pick = st.selectbox("Picture", range(len(rows)), format_func=labels.__getitem__, key="query_item")
        st.image(str(collection.items[space.item[rows[pick]]].image_path), width=96)
        return space.vectors[rows[pick]], labels[pick]
    upload = st.file_uploader("Picture", type=sorted(s.lstrip(".") for s in IMAGE_SUFFIXES), key="query_upload")
    if upload is None:
        return None
    try:
        picture = open_image(upload.getvalue(), upload.name)
    except BadInput as err:
        st.error(str(err))
        return None
    st.image(picture, width=96)
    return encoder.encode_images([picture])[0], upload.name
