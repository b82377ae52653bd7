"""Search page: text, picture or upload -> top-k by cosine, with angles."""

import streamlit as st

from similarity.plots import explained_variance, score_distribution
from similarity.search import cosines, fit_pca, percentile_of, rank_changes, top_k
from ui.state import explain, memo, require_space
from ui.widgets import kind_filter, label_of, query_picker, result_grid

MAX_COMPONENTS = 128

st.title("Search by cosine similarity")
explain("search")
encoder, collection, space = require_space()

query, _ = query_picker(encoder, collection, space)

left, right = st.columns([2, 1])
with left:
    among = kind_filter(space)
k = right.slider("How many results (k)", 1, 48, 12, key="k")
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

st.subheader("PCA noise filter")
st.markdown(
    "Keep only the directions in which this collection varies most, then measure angles there "
    "(the white paper's noise filter). Rankings can change: compare them below."
)
limit = min(len(space.vectors), encoder.dim, MAX_COMPONENTS)
if limit < 2:
    st.info("The noise filter needs at least two vectors.")
elif st.toggle("Compare with the noise filter", key="pca_on"):
    pca = memo("pca", (limit,), lambda: fit_pca(space.vectors, limit))
    st.plotly_chart(explained_variance(pca.explained), key="pca_var")
    n = st.slider("Components kept", 1, limit, min(32, limit), key="pca_n")
    kept = pca.truncated(n)
    filtered = top_k(kept.apply(query)[0], memo("pca_vectors", (n,), lambda: kept.apply(space.vectors)), k, among=among)
    share = 100 * kept.explained.sum()
    st.markdown(f"**Top {k} in {n} dimensions** (full space: {encoder.dim}; {share:.0f}% of the variance kept)")
    result_grid(collection, space, filtered)
    st.dataframe(
        [
            {
                "item": label_of(collection, space, m["row"]),
                f"rank in {encoder.dim}-d": m["rank_before"],
                f"rank in {n}-d": m["rank_after"],
            }
            for m in rank_changes(ranking, filtered)
        ],
        hide_index=True,
    )
