"""Clusters page: group pictures, name the groups, zero-shot labels."""

import streamlit as st

from similarity.limits import CLUSTER_GRID, MAX_CLUSTERS, MAX_COMPONENTS
from similarity.storage.keys import CAPTION, IMAGE
from similarity.views.clusters import (
    CLUSTERERS,
    closest_to_centre,
    confusion,
    name_agreement,
    name_clusters,
    parse_labels,
    zero_shot,
)
from similarity.views.map_plots import embedding_map
from similarity.views.maps import PROJECTORS
from similarity.views.plots import k_scan, label_counts
from similarity.words import plural
from ui import cache
from ui.filters import filter_panel, remember_clusters
from ui.state import active_collection, page_header, require_space
from ui.text import plain
from ui.widgets import export_buttons, full_table, item_grid

page_header("Clusters and zero-shot labels", "clusters")
encoder, space = require_space()
space = filter_panel(space, active_collection())
kinds = (IMAGE,) if len(space.rows((IMAGE,))) else (CAPTION,)
if kinds == (CAPTION,):
    st.caption("This collection has no pictures: clustering its captions.")
rows = space.rows(kinds)
items = [space.item_of(r) for r in rows]
vocabulary = sorted({i.label for i in items if i.label})

left, middle, right = st.columns(3)
method = left.selectbox("Method", list(CLUSTERERS), key="cluster_method")
pca_limit = min(MAX_COMPONENTS, encoder.dim, len(rows) - 1)
reduce = middle.slider("PCA first (0 = off)", 0, pca_limit, 0, key="cluster_pca") if pca_limit >= 2 else 0
needs_k = CLUSTERERS[method][1]
auto_k = right.toggle("Choose k by silhouette", value=True, key="auto_k", disabled=not needs_k)
k = None
if needs_k and not auto_k:
    k = st.slider(
        "Number of clusters k", 2, max(3, min(MAX_CLUSTERS, len(rows) - 1)), min(9, len(rows) - 1), key="k_clusters"
    )
try:
    result = cache.clustering(space, kinds, method, k, reduce, len(vocabulary))
except ValueError as err:
    st.info(plain(err))
    st.stop()
if result.scan is not None:
    st.plotly_chart(
        k_scan(result.scan.ks, result.scan.silhouettes, result.scan.inertias, result.scan.best_k, len(vocabulary)),
        key="k_scan",
    )
for note in result.notes:
    st.caption(note)

typed = st.text_input(
    "Name clusters with these labels (comma-separated; empty = nearest caption)",
    value=", ".join(vocabulary),
    key="cluster_names",
)
candidates = parse_labels(typed)
if candidates:
    name_vectors = cache.label_vectors(encoder, tuple(candidates))
else:
    candidates, name_vectors = space.captions()  # vectors the space already holds: nothing is encoded
if typed.strip() and not parse_labels(typed):
    st.info("No labels in that field (only commas or spaces): naming clusters by their nearest caption.")
vectors = space.vectors[rows]
names = (
    name_clusters(vectors, result.labels, name_vectors, candidates)
    if candidates
    else {c: f"cluster {c + 1}" for c in set(result.labels.tolist()) - {-1}}
)
st.markdown(result.summary())
if vocabulary and candidates == parse_labels(", ".join(vocabulary)):
    agree = name_agreement(result.labels, names, [i.label for i in items])
    st.caption(f"Automatic names agree with the most common true category in {agree} of {len(names)} clusters.")

# Numbered, since two clusters can get the same name; a filter field on every page from now on.
groups = [f"{int(c) + 1}. {names[int(c)]}" if c >= 0 else "noise" for c in result.labels]
remember_clusters(active_collection(), space, rows, groups)

map_method = st.selectbox("Map", list(PROJECTORS), key="cluster_map")
try:
    fitted = cache.fitted_map(space, map_method, kinds)
    hover = [f"{label} → {g}" for label, g in zip(space.labels(rows), groups)]
    # Each cluster's number at its centre: at 1024 px, 15 palette colours are hard to tell apart.
    centres = {g: g.split(".")[0] for g in set(groups) if g != "noise"}
    st.plotly_chart(
        embedding_map(fitted.coords, groups, hover, PROJECTORS[map_method].axis_unit, map_method, group_names=centres),
        key="cluster_map_chart",
    )
except ValueError as err:
    st.info(plain(err))

st.caption("Every item with its cluster, numbered as on this page:")
numbers = [int(c) + 1 if c >= 0 else "" for c in result.labels]
export_buttons(
    space,
    rows,
    "clusters",
    "export_clusters",
    extra={"cluster": numbers, "cluster_name": [names.get(int(c), "noise") for c in result.labels]},
)


@st.fragment
def cluster_pictures(space, rows, vectors, labels, names) -> None:
    """One cluster's pictures at a time; picking another reruns only this part."""
    sizes = {c: int((labels == c).sum()) for c in names}
    shown = st.selectbox(
        "Show a cluster's pictures",
        list(names),
        format_func=lambda c: f"{c + 1}. {names[c]} — {plural(sizes[c], 'picture')}",
        key="cluster_shown",
    )
    shown_n = min(CLUSTER_GRID, sizes[shown])
    st.caption(
        f"All {plural(shown_n, 'picture')} of this cluster."
        if shown_n == sizes[shown]
        else f"The {shown_n} closest to the cluster's centre, of {sizes[shown]:,}."
    )
    members = rows[closest_to_centre(vectors, labels, shown, sizes[shown])]  # all of them, closest first
    item_grid(space, members[:CLUSTER_GRID], more_like_this=False)
    export_buttons(space, members, f"cluster-{shown + 1}", "export_cluster")


@st.fragment
def zero_shot_labels(encoder, items, vectors, vocabulary) -> None:
    """Zero-shot labelling; editing the labels reruns only this part."""
    st.subheader("Zero-shot labels")
    default = ", ".join(vocabulary) if vocabulary else "animal, food, vehicle, building, face, symbol"
    labels = parse_labels(st.text_input("Labels (comma-separated)", value=default, key="zero_shot_labels"))
    if not labels:
        st.info("Type at least one label (separated by commas).")
        return
    predicted = [labels[j] for j in zero_shot(vectors, cache.label_vectors(encoder, tuple(labels)))]
    st.plotly_chart(label_counts({lab: predicted.count(lab) for lab in labels}), key="zero_shot_counts")
    known = [(i.label, p) for i, p in zip(items, predicted) if i.label in labels]
    if known:
        accuracy, mistakes = confusion([t for t, _ in known], [p for _, p in known])
        chance = 1 / len(labels)
        st.markdown(
            f"**Accuracy against the known categories: {accuracy:.0%}** of {len(known):,} pictures "
            f"(chance, picking one of the {len(labels)} labels at random: {chance:.0%})."
        )
        if mistakes:
            st.caption("Most common confusions (true → predicted):")
            full_table([{"true": t, "predicted": p, "pictures": n} for t, p, n in mistakes[:8]])


cluster_pictures(space, rows, vectors, result.labels, names)
zero_shot_labels(encoder, items, vectors, vocabulary)
