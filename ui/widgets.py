"""Widgets shared by pages: the query picker and grids of items."""

from __future__ import annotations

import streamlit as st

from similarity.ingest.bundled import EMOJI
from similarity.ingest.files import IMAGE_SUFFIXES, BadInput, open_image
from similarity.ingest.space import Space
from similarity.search.query import PICTURE, TEXT, Query
from similarity.search.topk import Ranking
from similarity.storage.keys import CAPTION, IMAGE
from similarity.views import export
from ui import cache
from ui.state import linked, warn_if_photo
from ui.text import plain
from ui.why import why_button

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


def example_queries(encoder, collection) -> tuple[str, ...]:
    """Suggested queries, only where they were tested: the bundled model on its demo."""
    demo = cache.bundled_collection(EMOJI.link)
    return EMOJI_EXAMPLES if encoder.bundled and collection.content_hash == demo.content_hash else ()


def kind_filter(space: Space, default: str = "Pictures") -> tuple[str, ...]:
    """Pictures / captions / both: returns the chosen kinds, or stops with a hint."""
    if len(space.rows(KIND_FILTERS[default])) == 0:
        default = "Both"  # e.g. a text-only collection: start on what it has
    show = st.radio(
        "Show",
        list(KIND_FILTERS),
        index=list(KIND_FILTERS).index(linked("filter", default)),
        horizontal=True,
        key="filter",
        help="Both ranks pictures and captions together. A typed query lands among the captions (the modality "
        "gap), so its best matches are then nearly always captions: close the gap to compare them fairly.",
    )
    if len(space.rows(KIND_FILTERS[show])) == 0:
        st.info(f"This collection has no {show.lower()}: choose another option.")
        st.stop()
    return KIND_FILTERS[show]


def between_kinds(modality: str, kinds: tuple[str, ...]) -> str:
    """What an angle is measured between, in words: "your words and each picture".

    >>> between_kinds("text", ("image",)), between_kinds("picture", ("image", "caption"))
    ('your words and each picture', 'your picture and each picture or caption')
    """
    query = "your words" if modality == TEXT else "your picture"
    return f"{query} and each {' or '.join('picture' if k == IMAGE else 'caption' for k in kinds)}"


def gap_switch(space: Space, kinds: tuple[str, ...]):
    """With both kinds shown: the modality gap in one line, and a switch that closes it.

    Returns (the space to use, the :class:`~similarity.search.modality.GapClosing` or None).
    """
    gap, closed = cache.gap_of(space), cache.without_gap(space)
    if len(kinds) < 2 or gap is None or closed is None:
        return space, None
    on = st.toggle(
        "Close the modality gap",
        key="close_gap",
        help="Centre pictures and captions each on their own mean, then renormalise (Liang et al. 2022): "
        "the two kinds then share one region and can be ranked together.",
    )
    if not on:
        st.caption(
            f"Pictures and captions sit in two regions {gap.centre_angle:.0f}° apart (their centres): a typed "
            "query lands among the captions, so with *Both* its best matches are nearly always captions."
        )
        return space, None
    after = cache.gap_of(closed[0])
    st.caption(
        f"Gap closed: the centres of pictures and captions were {gap.centre_distance:.2f} apart, now "
        f"{after.centre_distance:.2f} (unit vectors are at most 2 apart), so on a map they share one island; "
        "angles below are measured after "
        "centring. Words can still stay closer to other words than to any picture: a model's gap can be more "
        "than an offset between the two regions."
    )
    return closed


def _more_like_this(row: int, space_key: str) -> None:
    # A callback runs before the next rerun draws the widgets, so it may set them.
    st.session_state["mode"] = QUERY_MODES[1]
    st.session_state["query_row"] = row
    st.session_state["query_row_space"] = space_key  # a row number means nothing in another space


def item_grid(
    space: Space, rows, notes: list[str] | None = None, more_like_this: bool = True, why: tuple | None = None
) -> None:
    """Cards for space rows, row by row (reading and tab order follow the ranks): a note
    (``notes``), the picture or caption, its name, "More like this", and "Why?" when
    ``why`` = (encoder, the unfiltered space, the query) is given."""
    rows = [int(r) for r in rows]
    for start in range(0, len(rows), COLUMNS):
        for i, column in enumerate(st.columns(COLUMNS), start=start):
            if i >= len(rows):
                break
            with column.container(border=True):
                _card(space, rows[i], notes[i] if notes else None, more_like_this, i)
                if why is not None:
                    encoder, unfiltered, query = why
                    why_button(encoder, unfiltered, rows[i], query, key=f"why_{rows[i]}_{i}")


def _card(space: Space, row: int, note: str | None, more_like_this: bool, i: int) -> None:
    item = space.item_of(row)
    if note:
        st.caption(note)
    if space.kind[row] == IMAGE:
        try:
            st.image(cache.thumbnail(item.image_path, THUMBNAIL), width=THUMBNAIL, output_format="PNG")
        except BadInput as err:  # e.g. the file was removed after loading
            st.caption(plain(err))
    else:
        st.markdown(":material/notes: *caption*")
    st.text(space.label_of(row))  # user text: shown as typed, never as markdown or HTML
    if more_like_this:
        st.button(
            "More like this",
            key=f"more_{row}_{i}",
            icon=":material/search:",
            on_click=_more_like_this,
            args=(row, space.key),
            help="Search with this item as the query",
        )


def result_grid(space: Space, ranking: Ranking, more_like_this: bool = True, why: tuple | None = None) -> None:
    """Ranked results: rank and angle on the first line, the cosine on the second (no mid-number wrap);
    ``why``: see :func:`item_grid`."""
    notes = [
        f"#{rank} · {angle:.1f}°  \ncos {cos:.3f}"
        for rank, (cos, angle) in enumerate(zip(ranking.cosines, ranking.angles), start=1)
    ]
    item_grid(space, ranking.indices, notes, more_like_this, why)


def query_picker(encoder, space: Space, default_text: str = "a red fruit", examples: tuple[str, ...] = ()) -> Query:
    """Query widgets in one compact row; returns the :class:`Query`, or shows a hint and stops the page.

    ``examples``: queries offered as one-click buttons under the text box.
    """
    left, right = st.columns([1, 2.6])
    with left:
        mode = st.radio("Query by", QUERY_MODES, key="mode")
    with right:
        picked = _pick_query(encoder, space, mode, default_text, examples)
    if picked is None:
        st.stop()
    return picked


def _use_example() -> None:
    # A callback runs before the widgets are drawn again, so it may set the text box.
    if example := st.session_state.get("example"):
        st.session_state["query_text"] = example
    st.session_state["example"] = None  # the same example can be clicked again


def _pick_query(encoder, space: Space, mode: str, default_text: str, examples: tuple[str, ...]) -> Query | None:
    if mode == QUERY_MODES[0]:
        text = st.text_input(
            "Describe what you are looking for", value=linked("query_text", default_text), key="query_text"
        )
        if examples:
            st.pills("Try", examples, key="example", on_change=_use_example, label_visibility="collapsed")
        try:
            return cache.query_for(encoder, text)
        except ValueError as err:  # the message quotes the typed query
            st.info(plain(err))
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
    except BadInput as err:  # it names the uploaded file
        st.error(plain(err))
        return None
    st.image(picture, width=96)
    warn_if_photo(encoder, picture)
    return Query(encoder.encode_images([picture])[0], upload.name, PICTURE)


def export_buttons(space: Space, rows, name: str, key: str, cosines=None, extra: dict | None = None) -> None:
    """What the page shows as a table (CSV), its pictures (zip) and its vectors (Parquet), numbered as on the page.

    Each file is made when its button is pressed, not on every rerun.
    """
    rows = [int(r) for r in rows]

    def records() -> list[dict]:
        return export.table(space, rows, cosines, extra)

    buttons = (
        ("Table (CSV)", lambda: export.to_csv(records()), "csv", "text/csv", ":material/table:"),
        (
            "Pictures (zip)",
            lambda: export.pictures_zip(space, rows, records()),
            "zip",
            "application/zip",
            ":material/folder_zip:",
        ),
        (
            "Vectors (Parquet)",
            lambda: export.vectors_parquet(space, rows, records()),
            "parquet",
            "application/octet-stream",
            ":material/data_array:",
        ),
    )
    for column, (label, data, suffix, mime, icon) in zip(st.columns(len(buttons)), buttons):
        column.download_button(label, data, f"{name}.{suffix}", mime, key=f"{key}_{suffix}", icon=icon)


def full_table(rows: list[dict], key: str | None = None) -> None:
    """A table tall enough for every row: on a projector nothing scrolls inside it."""
    st.dataframe(rows, hide_index=True, key=key, height=38 + 35 * max(len(rows), 1))
