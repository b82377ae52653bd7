"""Search page: text, an item or an upload -> top-k by cosine, with angles and what they mean."""

import streamlit as st

from similarity.limits import DEFAULT_RESULTS, MAX_COMPONENTS, MAX_RESULTS
from similarity.search.engine import rank_changes, search
from similarity.search.relevance import NULL_NAMES
from similarity.views.plots import explained_variance, score_distribution
from ui import cache
from ui.state import explain, require_space
from ui.widgets import example_queries, kind_filter, query_picker, result_grid

st.title("Search by cosine similarity")
explain("search")
encoder, space = require_space()
if examples := example_queries(encoder):
    st.caption("Try: " + " · ".join(f"`{q}`" for q in examples))
query = query_picker(encoder, space)

left, right = st.columns([2, 1])
with left:
    kinds = kind_filter(space)
k = right.slider("How many results (k)", 1, MAX_RESULTS, DEFAULT_RESULTS, key="k")
result = search(space, query, k, kinds, cache.baselines(encoder, space, query), cache.ann_index(space, kinds))
if result.note:
    st.caption(result.note)
st.markdown(result.relevance.sentence(NULL_NAMES[query.modality]))
if result.terms:
    st.caption("Each term on its own, then combined (the vectors are added, then normalised):")
    columns = st.columns(len(result.terms))
    for column, (term, ranking) in zip(columns, result.terms):
        column.markdown(f"**{term}** → " + ", ".join(space.label_of(r) for r in ranking.indices))
result_grid(space, result.ranking)

st.plotly_chart(
    score_distribution(
        result.scores,
        result.ranking.cosines,
        f"top {len(result.ranking.indices)}",
        result.relevance.weak_at,
        result.relevance.strong_at,
    ),
    key="dist",
)
if (gap := cache.gap_of(space)) is not None and len(kinds) == 2:
    st.markdown(gap.sentence())

st.subheader("PCA noise filter")
st.markdown(
    "Keep only the directions in which this collection varies most, then measure angles there "
    "(the white paper's noise filter). Rankings can change: compare them below."
)


@st.fragment
def noise_filter(encoder, space, query, k, kinds, ranking) -> None:
    """The filter's toggle and slider rerun only this part of the page."""
    limit = min(len(space.vectors), encoder.dim, MAX_COMPONENTS)
    if limit < 2:
        st.info("The noise filter needs at least two vectors.")
        return
    if not st.toggle("Compare with the noise filter", key="pca_on"):
        return
    pca = cache.pca_of(space, limit)
    st.plotly_chart(explained_variance(pca.explained), key="pca_var")
    n = st.slider("Components kept", 1, limit, min(32, limit), key="pca_n")
    kept = pca.truncated(n)
    filtered = search(cache.filtered_space(space, pca, n), query.with_vector(kept.apply(query.vector)[0]), k, kinds)
    share = 100 * kept.explained.sum()
    st.markdown(f"**Top {k} in {n} dimensions** (full space: {encoder.dim}; {share:.0f}% of the variance kept)")
    result_grid(space, filtered.ranking, more_like_this=False)
    st.dataframe(
        [
            {
                "item": space.label_of(m["row"]),
                f"rank in {encoder.dim}-d": m["rank_before"],
                f"rank in {n}-d": m["rank_after"],
            }
            for m in rank_changes(ranking, filtered.ranking)
        ],
        hide_index=True,
    )


noise_filter(encoder, space, query, k, kinds, result.ranking)
