"""Your collection: upload, import a zip or a server folder, type captions."""

import tempfile
from pathlib import Path

import streamlit as st

from similarity.collection import (
    CAPTION_SUFFIXES,
    IMAGE_SUFFIXES,
    BadInput,
    load_captions_only,
    load_files,
    load_folder,
    load_zip,
    read_captions,
    save_uploads,
)
from similarity.models import ModelLoadError
from ui import cache
from ui.state import active_collection, active_encoder, add_collection, explain, show_report, store_root

st.title("Your collection")
explain("collections")


def report(collection) -> list[tuple[str, str]]:
    """What was added, and every file that was not, with the reason."""
    lines = [
        (
            "success",
            f"'{collection.name}' now has {collection.n_images:,} pictures and {collection.n_captions:,} captions.",
        )
    ]
    lines += [("warning", problem) for problem in collection.problems]
    if collection.duplicates:
        lines.append(
            ("info", f"{len(collection.duplicates)} duplicates stored once: " + "; ".join(collection.duplicates[:10]))
        )
    return lines


show_report()
name = st.text_input("Collection name", value="My collection", key="new_name").strip() or "My collection"
uploads_tab, zip_tab, folder_tab, text_tab = st.tabs(
    ["Upload pictures", "Import a zip", "Server folder", "Captions only"]
)

with uploads_tab:
    suffixes = sorted(s.lstrip(".") for s in IMAGE_SUFFIXES | CAPTION_SUFFIXES)
    files = st.file_uploader(
        "Pictures, plus an optional captions .csv/.json", type=suffixes, accept_multiple_files=True, key="uploads"
    )
    pictures = [f for f in files or [] if Path(f.name).suffix.lower() in IMAGE_SUFFIXES]
    captions = {}
    for f in files or []:
        if Path(f.name).suffix.lower() in CAPTION_SUFFIXES:
            try:
                captions.update(read_captions(f.name, f.getvalue()))
            except BadInput as err:
                st.error(str(err))
    if pictures:
        st.caption("Type or correct captions (optional):")
        table = st.data_editor(
            [{"file": f.name, "caption": captions.get(f.name, "")} for f in pictures],
            disabled=["file"],
            hide_index=True,
            key="caption_editor",
        )
        if st.button("Add to collection", key="add_uploads", type="primary"):
            saved = save_uploads([(f.name, f.getvalue()) for f in pictures], store_root().parent / "uploads")
            typed = {row["file"]: row["caption"].strip() for row in table if row["caption"] and row["caption"].strip()}
            add_collection(load_files(name, saved, typed), report)

with zip_tab:
    archive = st.file_uploader("A .zip of pictures (and a captions file)", type=["zip"], key="zip")
    if archive is not None and st.button("Import zip", key="add_zip"):
        target = Path(tempfile.mkdtemp(prefix="zip-", dir=store_root().parent))
        (target / "archive.zip").write_bytes(archive.getvalue())
        try:
            add_collection(load_zip(target / "archive.zip", target / "files", name), report)
        except BadInput as err:
            st.error(str(err))

with folder_tab:
    folder = st.text_input("Folder on the server running this app", key="folder")
    if folder and st.button("Load folder", key="add_folder"):
        try:
            add_collection(load_folder(Path(folder).expanduser(), name), report)
        except BadInput as err:
            st.error(str(err))

with text_tab:
    lines = st.text_area("One caption per line (text-to-text search)", key="lines")
    if lines.strip() and st.button("Add captions", key="add_lines"):
        add_collection(load_captions_only(name, lines.splitlines()), report)

st.divider()
collection = active_collection()
st.subheader(f"Active: {collection.name}")
st.write(
    f"{collection.n_images:,} pictures · {collection.n_captions:,} captions · {len(collection.problems)} files skipped"
)
try:
    encoder = active_encoder()
    store = cache.store_of(str(store_root()), encoder.key, encoder.dim)
    st.caption(f"The embedding store for {encoder.name} holds {len(store):,} vectors in {store.folder}.")
    if st.button("Clear stored vectors of this model", key="clear_store"):
        store.clear()
        st.success("Cleared: they will be computed again on the next search.")
except ModelLoadError as err:  # also reported in the sidebar
    st.caption(str(err))
