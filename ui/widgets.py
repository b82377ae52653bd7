"""Display pieces shared by pages: the result grid."""

from __future__ import annotations

import streamlit as st

from similarity.collection import Collection
from similarity.embed import IMAGE, Space
from similarity.search import Ranking

COLUMNS = 6


def result_grid(collection: Collection, space: Space, ranking: Ranking, key: str = "grid") -> None:
    """Thumbnails (or caption cards) with rank, cosine and angle under each."""
    cols = st.columns(COLUMNS)
    for rank, (row, cos, angle) in enumerate(zip(ranking.indices, ranking.cosines, ranking.angles), start=1):
        item = collection.items[space.item[row]]
        with cols[(rank - 1) % COLUMNS].container(border=True):
            if space.kind[row] == IMAGE:
                st.image(str(item.image_path), width="stretch")
            else:
                st.markdown(":material/notes: *caption*")
            # User text is shown as plain text, never as markdown or HTML.
            st.text(item.caption or item.source)
            st.caption(f"#{rank} · cos {cos:.3f} · {angle:.1f}°")
