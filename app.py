"""CLIP similarity explorer: entry point. Routes pages and draws the sidebar."""

import streamlit as st

from ui.links import apply_link
from ui.state import projector_style, sidebar

st.set_page_config(page_title="CLIP similarity explorer", page_icon=":material/join_inner:", layout="wide")
projector_style()
apply_link()  # before the sidebar's pickers and the page's widgets are drawn
pages = st.navigation(
    [
        st.Page("app_pages/home.py", title="What is CLIP search?", icon=":material/school:", default=True),
        st.Page("app_pages/search.py", title="Search", icon=":material/search:"),
        st.Page("app_pages/map.py", title="Map and angles", icon=":material/scatter_plot:"),
        st.Page("app_pages/clusters.py", title="Clusters", icon=":material/workspaces:"),
        st.Page("app_pages/quality.py", title="How good is the model here?", icon=":material/fact_check:"),
        st.Page("app_pages/lab.py", title="Watch it learn", icon=":material/model_training:"),
        st.Page("app_pages/collections.py", title="Your collection", icon=":material/photo_library:"),
    ]
)
sidebar()
pages.run()
