"""Widgets shared by pages: the query picker and grids of items."""

from __future__ import annotations

import streamlit as st

from similarity.ingest.files import IMAGE_SUFFIXES, BadInput, open_image
from similarity.ingest.space import Space
from similarity.search.query import PICTURE, TEXT, Query
from similarity.search.topk import Ranking
from similarity.storage.keys import CAPTION, IMAGE
from ui import cache

COLUMNS = 4  # a result card stays wide enough for its words on a 1024x768 projector
THUMBNAIL = 128  # px: emoji are drawn at 72-160 px; larger only blurs them on a wide screen
KIND_FILTERS = {"Pictures": (IMAGE,), "Captions": (CAPTION,), "Both": (IMAGE, CAPTION)}
QUERY_MODES = ["Text", "An item of the collection", "An uploaded picture"]
# Queries the Search page suggests with the bundled model; tests/test_app.py
# checks each gives a sensible top result. Other models get no untested advice.
EMOJI_EXAMPLES = (
    "a red fruit",
    "a musical instrument",
    "flag of japan",
    "a vehicle",
    "a red heart - red",
    "a smiling cat",
)


def example_queries(encoder) -> tuple[str, ...]:
    return EMOJI_EXAMPLES if encoder.icons_only else ()


def kind_filter(space: Space, default: str = "Pictures") -> tuple[str, ...]:
    """Pictures / captions / both: returns the chosen kinds, or stops with a hint."""
    if len(space.rows(KIND_FILTERS[default])) == 0:
        default = "Both"  # e.g. a text-only collection: start on what it has
    show = st.radio("Show", list(KIND_FILTERS), index=list(KIND_FILTERS).index(default), horizontal=True, key="filter")
    if len(space.rows(KIND_FILTERS[show])) == 0:
        st.info(f"This collection has no {show.lower()}: choose another option.")
        st.stop()
    return KIND_FILTERS[show]


def _more_like_this(row: int, space_key: str) -> None:
    # A callback runs before the next rerun draws the widgets, so it may set them.
    st.session_state["mode"] = QUERY_MODES[1]
    st.session_state["query_row"] = row
    st.session_state["query_row_space"] = space_key  # a row number means nothing in another space


def item_grid(space: Space, rows, notes: list[str] | None = None, more_like_this: bool = True) -> None:
    """Thumbnails (or caption cards) for space rows, a note and a "More like this" button under each."""
    cols = st.columns(COLUMNS)
    for i, row in enumerate(rows):
        row = int(row)
        item = space.item_of(row)
        with cols[i % COLUMNS].container(border=True):
            if space.kind[row] == IMAGE:
                try:
                    st.image(cache.thumbnail(item.image_path, THUMBNAIL), width=THUMBNAIL, output_format="PNG")
                except BadInput as err:  # e.g. the file was removed after loading
                    st.caption(str(err))
            else:
                st.markdown(":material/notes: *caption*")
            # User text is shown as plain text, never as markdown or HTML.
            st.text(space.label_of(row))
            if notes:
                st.caption(notes[i])
            if more_like_this:
                st.button(
                    "More like this",
                    key=f"more_{row}_{i}",
                    icon=":material/search:",
                    on_click=_more_like_this,
                    args=(row, space.key),
                    help="Search with this item as the query",
                )


def result_grid(space: Space, ranking: Ranking, more_like_this: bool = True) -> None:
    """Ranked results with rank, cosine and angle under each."""
    notes = [
        f"#{rank} · cos {cos:.3f} · {angle:.1f}°"
        for rank, (cos, angle) in enumerate(zip(ranking.cosines, ranking.angles), start=1)
    ]
    item_grid(space, ranking.indices, notes, more_like_this)


def query_picker(encoder, space: Space, default_text: str = "a red fruit") -> Query:
    """Query widgets; returns the :class:`Query`, or shows a hint and stops the page."""
    picked = _pick_query(encoder, space, default_text)
    if picked is None:
        st.stop()
    return picked


def _pick_query(encoder, space: Space, default_text: str) -> Query | None:
    mode = st.radio("Query by", QUERY_MODES, horizontal=True, key="mode")
    if mode == QUERY_MODES[0]:
        text = st.text_input("Describe what you are looking for", value=default_text, key="query_text")
        try:
            return cache.query_for(encoder, text)
        except ValueError as err:
            st.info(str(err))
            return None
    if mode == QUERY_MODES[1]:
        rows = (space.rows((IMAGE,)) if len(space.rows((IMAGE,))) else space.rows((CAPTION,))).tolist()
        if st.session_state.get("query_row_space") != space.key:  # another collection or model since
            st.session_state["query_row"], st.session_state["query_row_space"] = rows[0], space.key
        rows = list(dict.fromkeys([int(st.session_state["query_row"]), *rows]))
        row = st.selectbox(
            "Item (or press *More like this* under any result)",
            rows,
            format_func=lambda r: ("🖼 " if space.kind[r] == IMAGE else "📝 ") + space.label_of(r),
            key="query_row",
        )
        if space.kind[row] == IMAGE:
            st.image(cache.thumbnail(space.item_of(row).image_path, 96), width=96, output_format="PNG")
        modality = PICTURE if space.kind[row] == IMAGE else TEXT
        return Query(space.vectors[row], space.label_of(row), modality, row=int(row))
    upload = st.file_uploader("Picture", type=sorted(s.lstrip(".") for s in IMAGE_SUFFIXES), key="query_upload")
    if upload is None:
        return None
    try:
        picture = open_image(upload.getvalue(), upload.name, fit=encoder.picture_size)
    except BadInput as err:
        st.error(str(err))
        return None
    st.image(picture, width=96)
    return Query(encoder.encode_images([picture])[0], upload.name, PICTURE)
