"""Map page: the collection on a 2-D map, the query's true angles, distortion."""

import streamlit as st

from similarity.plots import angle_view, embedding_map
from similarity.projection import PROJECTORS, distortion, map_angles, project, rank_agreement
from similarity.search import top_k
from ui.state import explain, memo, require_space
from ui.widgets import item_grid, kind_filter, query_picker

st.title("See the space: maps and angles")
explain("map")
encoder, collection, space = require_space()
query, query_label = query_picker(encoder, collection, space)

left, middle, right = st.columns([2, 1, 1])
with left:
    rows = kind_filter(space, default="Both")
method = middle.selectbox("Map", list(PROJECTORS), key="map_method")
k = right.slider("Results to link (k)", 1, 20, 8, key="map_k")
colour_options = ["kind (picture / caption)"] + (["category"] if any(i.label for i in collection.items) else [])
colour = st.radio("Colour by", colour_options, horizontal=True, key="map_colour")

try:
    with st.spinner(f"Computing the {method} map of {len(rows):,} items…"):
        coords, place = memo("map", (method, rows.tobytes()), lambda: project(method, space.vectors[rows]))
except ValueError as err:
    st.info(str(err))
    st.stop()
vectors = space.vectors[rows]
ranking = top_k(query, vectors, k)
query_xy = place(query[None, :])[0]
items = [collection.items[space.item[r]] for r in rows]
groups = [space.kind[r] for r in rows] if colour.startswith("kind") else [i.label or "unknown" for i in items]
hover = [f"{i.caption or i.source} ({space.kind[r]})" for i, r in zip(items, rows)]
figure = embedding_map(
    coords, groups, hover, PROJECTORS[method].axis_unit, method, query_xy, ranking.indices, query_label
)
event = st.plotly_chart(figure, key="map_chart", on_select="rerun", selection_mode=("box", "lasso"))
placement = (
    ""
    if PROJECTORS[method].exact_placement
    else f" {method} places no new points: the star sits at the mean position of its 5 most similar items."
)
st.caption(distortion(vectors, coords, query, query_xy, k=k).sentence() + placement)

selected = [int(p["customdata"]) for p in event.selection.points if "customdata" in p] if event else []
if selected:
    st.subheader(f"{len(selected)} selected items")
    item_grid(collection, space, rows[selected[:60]])
    if len(selected) > 60:
        st.caption("Showing the first 60.")

st.subheader("The angle view: true angles in the full space")
labels = [hover[i] for i in ranking.indices]
columns = st.columns(2)
columns[0].plotly_chart(
    angle_view(
        ranking.angles, labels, "True angle to the query", f"φ = arccos(cosine) in all {encoder.dim} dimensions"
    ),
    key="angle_true",
)
if st.toggle("Compare with the angles on the 2-D map", key="compare_angles"):
    on_map = map_angles(query_xy, coords[ranking.indices], coords.mean(axis=0))
    columns[1].plotly_chart(
        angle_view(on_map, labels, f"Angle on the {method} map", "measured around the map's centre; same rank order"),
        key="angle_map",
    )
    rho = rank_agreement(ranking.angles, on_map)
    st.caption(
        f"Rank agreement between the two (Spearman): {rho:.2f} (1 = the map keeps the order of the true angles). "
        "Flattening to two dimensions changes angles: trust the left picture for what the search does."
    )
