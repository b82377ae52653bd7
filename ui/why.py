""" "Why this matched": a button under a result that opens its explanation, computed once per server.

The work is :func:`similarity.search.why.explain` on the app's own towers;
this module only finds the two sides (picture or text, and their vectors in
the model's full space), caches the result and draws it.
"""

from __future__ import annotations

import hashlib

import numpy as np
import streamlit as st

from similarity.encoders import Encoder
from similarity.ingest.files import BadInput, open_image
from similarity.ingest.space import Space
from similarity.search.query import TEXT, Query, text_query
from similarity.search.why import SHOWN, Explanation, Occlusion, explain
from similarity.storage.keys import IMAGE
from similarity.views import why_plots
from ui.shared import shared
from ui.text import plain


def why_button(encoder: Encoder, space: Space, row: int, query: Query, key: str | None = None) -> None:
    """A small "Why?" button; pressed, it opens a dialog explaining why ``row`` matched ``query``.

    ``space`` is the space searched, in the model's full space (not PCA-filtered);
    ``key`` must be unique on the page when one row can show twice.
    """
    if st.button(
        "Why?",
        key=key or f"why_{row}",
        icon=":material/help:",
        help="Which parts of the picture, or which words, made this result close to the query",
    ):
        _dialog(encoder, space, int(row), query)


def explanation_for(encoder: Encoder, space: Space, row: int, query: Query) -> Explanation:
    """The explanation of one result for one query, computed once per server.

    Raises ``ValueError`` (e.g. :class:`BadInput` for a picture that cannot be
    read) with a message to show.
    """
    item = space.item_of(row)
    vector = np.ascontiguousarray(query.vector, dtype=np.float32)
    query_id = hashlib.blake2b(vector.tobytes(), digest_size=10).hexdigest()
    key = (encoder.key, item.id, str(space.kind[row]), query.modality, query.label, query_id)

    def compute() -> Explanation:
        query_side, query_vector, name = _query_side(encoder, space, query)
        return explain(encoder, query_side, query_vector, _side(encoder, space, row), space.vectors[row], name)

    return shared("why", key, compute)


def _side(encoder: Encoder, space: Space, row: int):
    """A row's picture (decoded at the model's size) or caption."""
    item = space.item_of(row)
    if space.kind[row] != IMAGE:
        return space.label_of(row)
    if item.image_path is None:
        raise BadInput(f"{space.name_of(item)}: the picture is not available on this server")
    return open_image(item.image_path, space.name_of(item), fit=encoder.picture_size)


def _query_side(encoder: Encoder, space: Space, query: Query):
    """(picture, text or None; the query's vector in the model's full space; what to call it)."""
    if query.row is not None:  # an item of the collection ("More like this")
        side = _side(encoder, space, query.row)
        name = f"the query {'picture' if space.kind[query.row] == IMAGE else 'caption'} '{query.label}'"
        return side, space.vectors[query.row], name
    if query.modality == TEXT:
        vector = query.vector
        if len(vector) != encoder.dim:  # a query seen through the PCA noise filter: back to the full space
            vector = text_query(encoder.encode_texts, query.label).vector
        return query.label, vector, f"the query '{query.label}'"
    return None, query.vector, f"the uploaded picture '{query.label}'"


@st.dialog("Why this matched", width="large")
def _dialog(encoder: Encoder, space: Space, row: int, query: Query) -> None:
    st.text(f"{query.label}  →  {space.label_of(row)}")  # user text: never markdown
    try:
        with st.spinner("Covering parts and leaving out words…"):
            explanation = explanation_for(encoder, space, row, query)
    except ValueError as err:  # BadInput included: a plain message, never a traceback
        st.info(plain(err))
        return
    for note in explanation.notes:
        st.info(note)
    parts = explanation.parts
    columns = st.columns(min(len(parts), 2))
    for n, part in enumerate(parts):
        with columns[n % len(columns)]:
            st.markdown("**This result**" if n == len(parts) - 1 else "**The query**")
            if isinstance(part, Occlusion):
                captions = ["the square the model is shown", "red: made it close · blue: pulled away"]
                st.image([part.picture, part.overlay()], width=SHOWN * 5 // 6, caption=captions)
            elif part.comparable:
                st.plotly_chart(why_plots.word_shares(part), key=f"why_words_{n}")
            st.text(part.sentence())
    st.caption(
        f"Computed in {explanation.seconds:.2f} s on {encoder.towers.backend} ({plain(encoder.name)}), once for "
        "everyone on this server; cosines here are in the model's full space, before any filter."
    )
