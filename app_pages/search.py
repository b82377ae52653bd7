"""Search page: text, an item or an upload -> top-k by cosine, with angles and what they mean."""

import streamlit as st

from similarity.limits import DEFAULT_RESULTS, MAX_COMPONENTS, MAX_RESULTS
from similarity.search.engine import rank_changes, search
from similarity.search.relevance import NULL_NAMES
from similarity.storage.keys import IMAGE
from similarity.views.plots import explained_variance, score_distribution
from ui import cache
from ui.filters import filter_panel
from ui.links import write_link
from ui.state import active_collection, linked, page_header, require_space
from ui.text import plain
from ui.widgets import (
    example_queries,
    export_buttons,
    full_table,
    gap_switch,
    kind_filter,
    query_picker,
    result_grid,
)

page_header("Search by cosine similarity", "search")
encoder, space = require_space()
space = filter_panel(space, active_collection())
query = query_picker(encoder, space, examples=example_queries(encoder, active_collection()))

left, right = st.columns([2, 1])
unfiltered, typed = space, query  # "Why?" explains in the model's own space
with left:
    kinds = kind_filter(space)
    space, closing = gap_switch(space, kinds)
k = right.slider("How many results (k)", 1, MAX_RESULTS, linked("k", DEFAULT_RESULTS), key="k")
if closing is not None:
    query = query.with_vector(closing.query(query.vector, query.modality))
result = search(
    space,
    query,
    k,
    kinds,
    cache.baselines(encoder, space, query, closing),
    cache.ann_index(space, kinds),
    cache.references(space),
)
if result.note:
    st.caption(result.note)
best_kind = "picture" if result.top_kind == IMAGE else "caption"
st.markdown(result.relevance.sentence(NULL_NAMES[query.modality], best_kind))
if result.relevance.verdict == "no real match" and encoder.bundled:
    st.caption("The bundled model reads English words only: a query in another language finds no real match.")
result_grid(space, result.ranking, why=(encoder, unfiltered, typed))
export_buttons(space, result.ranking.indices, "search-results", "export_results", cosines=result.ranking.cosines)
if st.session_state.get("mode", "Text") == "Text":
    write_link(query.label, k, st.session_state["filter"], active_collection())
if result.terms:
    st.caption("Each term on its own, then combined (the vectors are added, then normalised):")
    columns = st.columns(len(result.terms))
    for column, (term, ranking) in zip(columns, result.terms):
        column.markdown(plain(term) + " → " + ", ".join(plain(space.label_of(r)) for r in ranking.indices))

st.plotly_chart(
    score_distribution(
        result.scores,
        result.ranking.cosines,
        f"top {len(result.ranking.indices)}",
        result.relevance.weak_at,
        result.relevance.reference.typical if result.relevance.reference else None,
    ),
    key="dist",
)
if (gap := cache.gap_of(space)) is not None and len(kinds) == 2:
    st.markdown(gap.sentence())

st.subheader("PCA noise filter")
st.markdown(
    "Keep only the directions in which this collection varies most, then measure angles there: "
    "a way to ignore small differences that may be noise. Rankings can change: compare them below."
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
    shown = len(filtered.ranking.indices)
    st.markdown(
        f"**Top {shown} in {n} dimensions** (the full space has {encoder.dim}). These {n} directions keep "
        f"{share:.0f}% of the variance: of how much the vectors differ from one another."
    )
    result_grid(space, filtered.ranking, more_like_this=False)
    changes = rank_changes(ranking, filtered.ranking)
    outside = f"not in the top {shown}"
    full_table(
        [
            {
                "item": space.label_of(m["row"]),
                f"rank in {encoder.dim}-d": str(m["rank_before"] or outside),
                f"rank in {n}-d": str(m["rank_after"] or outside),
            }
            for m in changes
        ]
    )


noise_filter(encoder, space, query, k, kinds, result.ranking)
