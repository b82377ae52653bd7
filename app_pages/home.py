"""Landing page: what the tool shows, and which model is active."""

import streamlit as st

from similarity.encoders.base import ModelLoadError
from ui.state import active_collection, active_encoder, page_header
from ui.text import plain

page_header("See how CLIP similarity search works", "home")
try:
    encoder = active_encoder()
except ModelLoadError as err:
    st.error(plain(err))
    st.stop()
collection = active_collection()
st.subheader(f"Active model: {plain(encoder.name)}")  # a checkpoint's file name is the visitor's
st.text(encoder.provenance)
left, middle, right = st.columns(3)
left.metric("Numbers per vector", encoder.dim)
middle.metric("Pictures", f"{collection.n_images:,}")
right.metric("Captions", f"{collection.n_captions:,}")
st.caption(f"Collection: {plain(collection.name)}. Pick another collection or model in the sidebar.")
