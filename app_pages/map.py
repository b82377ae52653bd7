"""Map page: the collection on a 2-D map, the query's true angles, distortion."""

import streamlit as st

from similarity.limits import DEFAULT_LINKED, MAX_LINKED, SELECTION_GRID
from similarity.views.map_plots import angle_view, embedding_map
from similarity.views.maps import MAX_POINTS, PROJECTORS, map_rows
from similarity.views.picture_map import picture_map
from similarity.views.query_on_map import map_report
from similarity.views.selection import select_on_map
from ui import cache, map_pictures
from ui.filters import colour_choices, colour_groups, filter_panel
from ui.state import active_collection, page_header, require_space
from ui.text import plain
from ui.widgets import between_kinds, export_buttons, gap_switch, item_grid, kind_filter, query_picker

page_header("See the space: maps and angles", "map")
encoder, space = require_space()
space = filter_panel(space, active_collection())
query = query_picker(encoder, space)

show, pick_map, pick_k, pick_colour = st.columns([2.1, 0.9, 1.1, 1.2])
with show:
    kinds = kind_filter(space)  # the Search page's default too: the same angles on both pages
method = pick_map.selectbox("Map", list(PROJECTORS), key="map_method")
k = pick_k.slider("Results to link (k)", 1, MAX_LINKED, DEFAULT_LINKED, key="map_k")
colour_options = colour_choices(space, active_collection())
colour = pick_colour.selectbox("Colour by", colour_options, key="map_colour")
space, closing = gap_switch(space, kinds)
if closing is not None:
    query = query.with_vector(closing.query(query.vector, query.modality))

try:
    fitted = cache.fitted_map(space, method, kinds)
except ValueError as err:
    st.info(plain(err))
    st.stop()
rows = map_rows(space.rows(kinds), method)
report = map_report(fitted, space.vectors[rows], query.vector, k, exclude=query.position_in(rows))
labels = space.labels(rows)
groups = colour_groups(space, active_collection(), rows, colour)
hover = [f"{label} ({kind})" for label, kind in zip(labels, space.kind[rows])]
result_names = [labels[i] for i in report.ranking.indices]
map_slot = st.container()  # the map first on the screen, its picture toggles under it
on_hover, with_examples = map_pictures.picture_toggles(len(rows))
examples = map_pictures.examples_on(space, fitted, rows) if with_examples else None
drawn = dict(query_xy=report.query_xy, result_rows=report.ranking.indices, query_label=query.label)
drawn.update(result_names=result_names, examples=examples, axis_unit=PROJECTORS[method].axis_unit, method=method)
event = None
if on_hover:
    images = map_pictures.hover_pictures(space, method, kinds, rows)
    map_slot.altair_chart(picture_map(fitted.coords, groups, hover, images, **drawn), key="map_picture_chart")
else:
    # PCA places undrawn items exactly, some beyond the sample's edge: kept in view, a lasso can take them.
    sampled_pca = len(rows) < len(space.rows(kinds)) and PROJECTORS[method].exact_placement
    extent = cache.map_positions(space, method, kinds) if sampled_pca else None
    figure = embedding_map(fitted.coords, groups, hover, extent=extent, **drawn)
    event = map_slot.plotly_chart(figure, key="map_chart", on_select="rerun", selection_mode=("box", "lasso"))
st.caption(report.sentence())
if len(rows) < len(space.rows(kinds)):
    st.caption(
        f"The map shows a seeded sample of {len(rows):,} of {len(space.rows(kinds)):,} items ({method} maps at "
        f"most {MAX_POINTS[method]:,}); its linked results are the query's nearest among them. "
        "Search, and a box or lasso drawn on the map, cover every item."
    )


def show_selection(shapes) -> None:
    """Every item inside the drawn box or lasso, drawn or not (a sampled map places the rest)."""
    every_row = space.rows(kinds)
    positions = cache.map_positions(space, method, kinds)
    selected = select_on_map(space.kind, every_row, positions, rows, shapes.box, shapes.lasso)
    n = len(selected.rows)
    st.subheader(f"{n:,} selected: {selected.pictures:,} pictures, {n - selected.pictures:,} captions")
    if not n:
        st.caption("Nothing lies inside that shape: draw around some points.")
        return
    if len(rows) < len(every_row):
        st.caption(selected.placement(method, PROJECTORS[method].exact_placement))
    export_buttons(space, selected.rows, "map-selection", "export_selection")
    item_grid(space, selected.rows[:SELECTION_GRID])
    if n > SELECTION_GRID:
        st.caption(f"Showing the first {SELECTION_GRID}.")


if event and (event.selection.box or event.selection.lasso):
    show_selection(event.selection)
if (gap := cache.gap_of(space)) is not None and len(kinds) == 2 and closing is None:
    st.markdown(gap.sentence())


@st.fragment
def angle_views(report, names: list[str], method: str, dim: int, between: str) -> None:
    """The exact angle view; its comparison toggle reruns only this part of the page."""
    st.subheader(f"The angle view: true angles between {between}")
    st.plotly_chart(
        angle_view(
            report.ranking.angles, names, f"True angle, {between}", f"φ = arccos(cosine) in all {dim} dimensions"
        ),
        key="angle_true",
    )
    if st.toggle("Compare with the angles on the 2-D map", key="compare_angles"):
        st.plotly_chart(
            angle_view(
                report.map_angles,
                names,
                f"The same results' angles on the {method} map",
                "measured around the map's centre; numbers = rank in the full space",
                named=False,
            ),
            key="angle_map",
        )
        st.caption(
            f"Rank agreement between the two (Spearman): {report.rank_agreement:.2f} (1 = the map keeps the order "
            "of the true angles, 0 = no relation, −1 = the reverse order). Flattening to two dimensions changes "
            "angles: trust the first picture for what the search does."
        )


angle_views(report, result_names, method, encoder.dim, between_kinds(query.modality, kinds))
