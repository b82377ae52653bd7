"""Search page: text, picture or upload -> top-k by cosine, with angles."""

import streamlit as st

from similarity.collection import BadInput, open_image
from similarity.embed import CAPTION, IMAGE
from similarity.models import ModelLoadError
from similarity.plots import explained_variance, score_distribution
from similarity.search import cosines, fit_pca, percentile_of, rank_changes, text_query, top_k
from ui.state import active_space, explain
from ui.widgets import result_grid

FILTERS = {"Pictures": (IMAGE,), "Captions": (CAPTION,), "Both": (IMAGE, CAPTION)}

st.title("Search by cosine similarity")
explain("search")
try:
    encoder, collection, space = active_space()
except ModelLoadError as err:
    st.error(str(err))
    st.stop()
for problem in space.problems:
    st.warning(problem)
if len(space.vectors) == 0:
    st.info("This collection is empty: add pictures or captions on **Your collection**.")
    st.stop()

mode = st.radio(
    "Query by", ["Text", "A picture from the collection", "An uploaded picture"], horizontal=True, key="mode"
)
query = None
if mode == "Text":
    text = st.text_input("Describe what you are looking for", value="a red fruit", key="query_text")
    try:
        query = text_query(encoder.encode_texts, text)
    except ValueError as err:
        st.info(str(err))
elif mode == "A picture from the collection":
    rows = space.rows((IMAGE,))
    if len(rows) == 0:
        st.info("This collection has no pictures; search by text instead.")
    else:
        labels = [f"{collection.items[space.item[r]].caption or collection.items[space.item[r]].source}" for r in rows]
        pick = st.selectbox("Picture", range(len(rows)), format_func=labels.__getitem__, key="query_item")
        st.image(str(collection.items[space.item[rows[pick]]].image_path), width=96)
        query = space.vectors[rows[pick]]
else:
    upload = st.file_uploader(
        "Picture", type=["jpg", "jpeg", "png", "webp", "gif", "bmp", "tif", "tiff"], key="query_upload"
    )
    if upload is not None:
        try:
            picture = open_image(upload.getvalue(), upload.name)
            st.image(picture, width=96)
            query = encoder.encode_images([picture])[0]
        except BadInput as err:
            st.error(str(err))
if query is None:
    st.stop()

left, right = st.columns([2, 1])
show = left.radio("Show", list(FILTERS), horizontal=True, key="filter")
k = right.slider("How many results (k)", 1, 48, 12, key="k")
among = space.rows(FILTERS[show])
if len(among) == 0:
    st.info(f"This collection has no {show.lower()}.")
    st.stop()
ranking = top_k(query, space.vectors, k, among=among)
if k > len(among):
    st.caption(f"Only {len(among)} items to rank: showing all of them.")
result_grid(collection, space, ranking)

all_scores = cosines(query, space.vectors[among])
best = ranking.cosines[0]
st.plotly_chart(score_distribution(all_scores, ranking.cosines, f"top {len(ranking.indices)}"), key="dist")
st.caption(
    f"The best match (cos {best:.3f}) beats {percentile_of(best, all_scores):.1f}% of the {len(among):,} items shown."
)

with st.expander("PCA noise filter: compare in fewer dimensions"):
    st.markdown(
        "Keep only the directions in which this collection varies most, then measure angles there "
        "(the white paper's noise filter). Rankings can change: compare them below."
    )
    limit = min(len(space.vectors), encoder.dim)
    if limit < 2:
        st.info("The noise filter needs at least two vectors.")
    else:
        n = st.slider("Components kept", 1, limit, min(32, limit), key="pca_n")
        pca = fit_pca(space.vectors, n)
        st.plotly_chart(explained_variance(pca.explained), key="pca_var")
        reduced = pca.apply(space.vectors)
        filtered = top_k(pca.apply(query)[0], reduced, k, among=among)
        st.markdown(f"**Top {k} in {n} dimensions** (full space: {encoder.dim})")
        result_grid(collection, space, filtered)
        moves = rank_changes(ranking, filtered)
        st.dataframe(
            [
                {
                    "item": collection.items[space.item[m["row"]]].caption
                    or collection.items[space.item[m["row"]]].source,
                    f"rank in {encoder.dim}-d": m["rank_before"],
                    f"rank in {n}-d": m["rank_after"],
                }
                for m in moves
            ],
            hide_index=True,
        )
