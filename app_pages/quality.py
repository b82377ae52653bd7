"""How good is the model here: the collection's own pairs found both ways, zero-shot labels, a second model."""

import streamlit as st

from similarity.encoders import Encoder, ModelLoadError
from similarity.ingest.space import Space
from similarity.limits import ENCODE_IN_PAGE
from similarity.views.quality import side_by_side
from ui import cache
from ui.state import DEFAULT_MODEL, MODEL_CHOICES, active_collection, page_header, require_space, store_root
from ui.text import plain
from ui.widgets import full_table

NO_SECOND = "No second model"

page_header("How good is the model here?", "quality")
encoder, space = require_space()
collection = active_collection()
labels = tuple(sorted({i.label for i in space.items if i.label}))


def quality_of(encoder: Encoder, space: Space):
    """The model's figures on this space (computed once per server)."""
    with st.spinner(f"Measuring {plain(encoder.name)} on this collection (once for everyone on this server)…"):
        return cache.quality(encoder, space, labels)


try:
    results = {encoder.name: quality_of(encoder, space)}
except ValueError as err:
    st.info(plain(err))
    st.stop()

active_spec = st.session_state.get("model_choice", DEFAULT_MODEL)
others = {label: spec for label, spec in MODEL_CHOICES.items() if spec and spec != active_spec}
second = st.selectbox("Compare with a second model", [NO_SECOND, *others], key="quality_second")
if second != NO_SECOND:
    try:
        other = cache.encoder_for(others[second])
        if collection.indexed_in and (missing := cache.missing_for(other, collection)[0]) > ENCODE_IN_PAGE:
            st.info(
                f"{missing:,} pictures of '{plain(collection.name)}' have no vectors for {plain(other.name)} yet: "
                "index them with that model first (`clip-explorer-index`), then compare here."
            )
        else:
            other_space = cache.space_of(other, collection, str(store_root()))
            name = other.name if other.name not in results else f"{other.name} (second)"
            results[name] = quality_of(other, other_space)
    except ModelLoadError as err:
        st.info(f"{plain(err)} Showing {plain(encoder.name)} only.")
    except ValueError as err:
        st.info(f"{second}: {plain(err)}")

table = side_by_side(results)
full_table(table, key="quality_table")
for name, result in results.items():
    st.markdown(f"**{plain(name)}.** {result.sentence()}")

if any(result.zero_shot for result in results.values()):
    st.subheader("Zero-shot accuracy per label")
    for name, result in results.items():
        if rows := result.label_rows():
            st.caption(f"{plain(name)}: each picture gets the nearest of the {len(labels)} label texts.")
            full_table(rows)
