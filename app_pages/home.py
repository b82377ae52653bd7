"""Landing page: what the tool shows, and which model is active."""

import streamlit as st

from similarity.models import ModelLoadError
from ui.state import active_collection, active_encoder, explain

st.title("See how CLIP similarity search works")
explain("home")
try:
    encoder = active_encoder()
except ModelLoadError as err:
    st.error(str(err))
    st.stop()
collection = active_collection()
left, middle, right = st.columns(3)
left.metric("Active model", encoder.name)
middle.metric("Vector size", f"{encoder.dim} numbers")
right.metric("Collection", f"{collection.n_images:,} pictures · {collection.n_captions:,} captions")
st.markdown("**Where the active model comes from**")
st.text(encoder.provenance)
