"""Clusters page: group pictures, name the groups, zero-shot labels."""

import streamlit as st

from similarity.clusters import (
    CLUSTERERS,
    assignments_csv,
    closest_to_centre,
    cluster,
    confusion,
    name_agreement,
    name_clusters,
    parse_labels,
    scan_k,
    silhouette,
    zero_shot,
)
from similarity.embed import CAPTION, IMAGE
from similarity.plots import embedding_map, k_scan
from similarity.projection import PROJECTORS, project
from similarity.search import fit_pca
from ui.state import explain, memo, require_space
from ui.widgets import item_grid

st.title("Clusters and zero-shot labels")
explain("clusters")
encoder, collection, space = require_space()
rows = space.rows((IMAGE,))
if len(rows) == 0:
    rows = space.rows((CAPTION,))
    st.caption("This collection has no pictures: clustering its captions.")
vectors = space.vectors[rows]
items = [collection.items[space.item[r]] for r in rows]

left, middle, right = st.columns(3)
method = left.selectbox("Method", list(CLUSTERERS), key="cluster_method")
pca_limit = min(128, encoder.dim, len(rows) - 1)
reduce = middle.slider("PCA first (0 = off)", 0, pca_limit, 0, key="cluster_pca") if pca_limit >= 2 else 0
auto_k = right.toggle("Let the silhouette choose k", value=True, key="auto_k", disabled=not CLUSTERERS[method][1])
try:
    data = fit_pca(vectors, reduce).apply(vectors) if reduce else vectors
    k = None
    if CLUSTERERS[method][1]:
        if auto_k:
            scan = memo("scan", (rows.tobytes(), reduce), lambda: scan_k(data))
            k = scan.best_k
            st.plotly_chart(k_scan(scan.ks, scan.silhouettes, scan.inertias, k), key="k_scan")
        else:
            k = st.slider(
                "Number of clusters k", 2, max(3, min(40, len(rows) - 1)), min(9, len(rows) - 1), key="k_clusters"
            )
    labels = memo("clusters", (rows.tobytes(), method, reduce, k), lambda: cluster(method, data, k))
except ValueError as err:
    st.info(str(err))
    st.stop()

vocabulary = sorted({i.label for i in items if i.label})
typed = st.text_input(
    "Name clusters with these labels (comma-separated; empty = nearest caption)",
    value=", ".join(vocabulary),
    key="cluster_names",
)
candidates = parse_labels(typed) or sorted({i.caption for i in collection.items if i.caption})
if candidates:
    names = name_clusters(vectors, labels, encoder.encode_texts(candidates), candidates)
else:
    names = {c: f"cluster {c}" for c in set(labels.tolist()) - {-1}}
score = silhouette(data, labels)
n_clusters = len(names)
st.markdown(
    f"**{n_clusters} clusters** · mean silhouette {score:.2f} (−1…1, higher = tighter)"
    + (f" · {int((labels == -1).sum())} pictures left as noise" if (labels == -1).any() else "")
)
if vocabulary and candidates == parse_labels(", ".join(vocabulary)):
    agree = name_agreement(labels, names, [i.label for i in items])
    st.caption(f"Automatic names agree with the most common true category in {agree} of {n_clusters} clusters.")

map_method = st.selectbox("Map", list(PROJECTORS), key="cluster_map")
try:
    coords, _ = memo("map", (map_method, rows.tobytes()), lambda: project(map_method, vectors))
    # Numbered, since two clusters can get the same name.
    groups = [f"{int(c) + 1}. {names[int(c)]}" if c >= 0 else "noise" for c in labels]
    hover = [f"{i.caption or i.source} → {g}" for i, g in zip(items, groups)]
    st.plotly_chart(
        embedding_map(coords, groups, hover, PROJECTORS[map_method].axis_unit, map_method), key="cluster_map_chart"
    )
except ValueError as err:
    st.info(str(err))

st.download_button(
    "Download assignments (CSV)",
    assignments_csv([i.source for i in items], [i.caption for i in items], labels, names),
    file_name="clusters.csv",
    mime="text/csv",
    key="cluster_csv",
)
for c, name in names.items():
    name = f"{c + 1}. {name}"
    members = int((labels == c).sum())
    with st.expander(f"{name} — {members} pictures", expanded=c == next(iter(names))):
        st.caption("The 12 closest to the cluster's centre.")
        item_grid(collection, space, rows[closest_to_centre(vectors, labels, c, 12)])

st.subheader("Zero-shot labels")
default = ", ".join(vocabulary) if vocabulary else "animal, food, vehicle, building, face, symbol"
label_text = st.text_input("Labels (comma-separated)", value=default, key="zero_shot_labels")
zs_labels = parse_labels(label_text)
if not zs_labels:
    st.info("Type at least one label.")
    st.stop()
predicted = [zs_labels[j] for j in zero_shot(vectors, encoder.encode_texts(zs_labels))]
counts = {lab: predicted.count(lab) for lab in zs_labels}
st.bar_chart(counts, x_label="label", y_label="number of pictures")
known = [(i.label, p) for i, p in zip(items, predicted) if i.label in zs_labels]
if known:
    accuracy, mistakes = confusion([t for t, _ in known], [p for _, p in known])
    st.markdown(f"**Accuracy against the known categories: {accuracy:.0%}** of {len(known):,} pictures.")
    if mistakes:
        st.caption("Most common confusions (true → predicted):")
        st.dataframe([{"true": t, "predicted": p, "pictures": n} for t, p, n in mistakes[:8]], hide_index=True)
