"""Your collection: upload, import a zip or a server folder, type captions."""

from pathlib import Path

import streamlit as st

from similarity.encoders.base import ModelLoadError
from similarity.ingest.collection import load_captions_only, load_files, load_folder
from similarity.ingest.files import CAPTION_SUFFIXES, IMAGE_SUFFIXES, BadInput, read_caption_table
from similarity.limits import ENCODE_IN_PAGE
from similarity.storage.items import indexed_collections
from similarity.storage.paths import ALLOWED_FOLDERS, allowed_folders, index_uri
from similarity.words import plural
from ui import cache
from ui.state import (
    active_collection,
    active_encoder,
    add_collection,
    host_tools,
    page_header,
    show_report,
    store_root,
)
from ui.text import plain
from ui.uploads import import_zip, save_pictures

page_header("Your collection", "collections")


def report(collection) -> list[tuple[str, str]]:
    """What was added, and every file that was not, with the reason."""
    lines = [
        (
            "success",
            f"'{collection.name}' now has {plural(collection.n_images, 'picture')} and "
            f"{plural(collection.n_captions, 'caption')}.",
        )
    ]
    lines += [("warning", problem) for problem in collection.problems]
    if collection.duplicates:
        lines.append(
            (
                "info",
                f"{plural(len(collection.duplicates), 'duplicate')} stored once: "
                + "; ".join(collection.duplicates[:10]),
            )
        )
    return lines


show_report()
name = st.text_input("Collection name", value="My collection", key="new_name").strip() or "My collection"
uploads_tab, zip_tab, folder_tab, text_tab, indexed_tab = st.tabs(
    ["Upload pictures", "Import a zip", "Server folder", "Captions only", "Indexed"]
)

with uploads_tab:
    suffixes = sorted(s.lstrip(".") for s in IMAGE_SUFFIXES | CAPTION_SUFFIXES)
    files = st.file_uploader(
        "Pictures, plus an optional captions .csv/.json",
        type=suffixes,
        accept_multiple_files=True,
        key=f"uploads_{st.session_state.get('upload_round', 0)}",
    )
    pictures = [f for f in files or [] if Path(f.name).suffix.lower() in IMAGE_SUFFIXES]
    captions, extras = {}, {}  # extras: a CSV's further columns, kept as filter fields
    for f in files or []:
        if Path(f.name).suffix.lower() in CAPTION_SUFFIXES:
            try:
                found, more = read_caption_table(f.name, f.getvalue())
                captions.update(found)
                extras.update(more)
            except BadInput as err:
                st.error(plain(err))
    if pictures:
        st.caption("Type or correct captions (optional):")
        table = st.data_editor(
            [{"file": f.name, "caption": captions.get(f.name, "")} for f in pictures],
            disabled=["file"],
            hide_index=True,
            key="caption_editor",
        )
        if st.button("Add to collection", key="add_uploads", type="primary"):
            try:
                saved = save_pictures([(f.name, f.getvalue()) for f in pictures])
            except BadInput as err:
                st.error(plain(err))
                st.stop()
            typed = {row["file"]: row["caption"].strip() for row in table if row["caption"] and row["caption"].strip()}
            add_collection(load_files(name, saved, typed, extras), report)

with zip_tab:
    archive = st.file_uploader(
        "A .zip of pictures (and a captions file)", type=["zip"], key=f"zip_{st.session_state.get('upload_round', 0)}"
    )
    if archive is not None and st.button("Import zip", key="add_zip"):
        try:
            collection = import_zip(archive, name)
        except BadInput as err:  # a refused zip leaves nothing behind
            st.error(plain(err))
        else:
            add_collection(collection, report)

with folder_tab:
    if not allowed_folders():
        st.info("Loading folders from this server is off: the person running it can allow some folders.")
        if host_tools():
            st.caption(f"Host: start the app with {ALLOWED_FOLDERS}=/path/one:/path/two.")
    else:
        st.caption("Allowed by the host: " + ", ".join(f"`{p}`" for p in allowed_folders()))
        folder = st.text_input("Folder on the server running this app", key="folder")
        if folder and st.button("Load folder", key="add_folder"):
            try:
                add_collection(load_folder(Path(folder), name), report)
            except BadInput as err:
                st.error(plain(err))

with text_tab:
    lines = st.text_area("One caption per line (text-to-text search)", key="lines")
    if lines.strip() and st.button("Add captions", key="add_lines"):
        add_collection(load_captions_only(name, lines.splitlines()), report)


def may_open(indexed) -> bool:
    """Say what opening an indexed collection would encode with the active model; whether it may open now."""
    try:
        encoder = active_encoder()
    except ModelLoadError as err:  # also reported in the sidebar
        st.caption(plain(err))
        return False
    pictures, captions = cache.missing_for(encoder, indexed)
    if not (pictures or captions):
        st.caption(f"Every picture and caption has its vector for {plain(encoder.name)}: opening it encodes nothing.")
        return True
    host = (
        f" Host: finish indexing with `clip-explorer-index PATH --collection {indexed.name} --model ...` "
        "(faster, resumable)."
        if host_tools()
        else ""
    )
    st.warning(
        f"{plural(pictures, 'picture')} and {plural(captions, 'caption')} of '{plain(indexed.name)}' have no vectors "
        f"for {plain(encoder.name)} in the index (it was indexed with another model, or not finished): opening it "
        f"encodes them in this page. Or choose the model it was indexed with in the sidebar.{host}"
    )
    return pictures <= ENCODE_IN_PAGE or st.checkbox(
        f"Encode the {pictures:,} pictures in this page anyway", key=f"encode_indexed_{indexed.name}"
    )


with indexed_tab:
    try:
        found = indexed_collections()
    except ValueError as err:  # the store could not be read just now: nothing was changed
        st.info(plain(err))
        found = {}
    if not found:
        st.info(
            "No indexed collections on this server yet. Big collections (a shop's 100,000 pictures) are "
            "indexed by the person running the server, then opened here."
        )
        if host_tools():
            st.caption(
                "Host: `clip-explorer-index /photos --collection catalogue` (see the README, *Big collections*)."
            )
    else:
        if host_tools():
            st.caption(f"Indexed with `clip-explorer-index` into `{index_uri()}`.")
        chosen = st.selectbox(
            "Indexed collection", list(found), format_func=lambda n: f"{n} ({found[n]:,} files)", key="indexed_choice"
        )
        try:
            indexed = cache.indexed_collection(chosen, index_uri())
        except ValueError as err:  # emptied since it was listed
            st.info(plain(err))
        else:
            if st.button("Open", key="open_indexed", type="primary", disabled=not may_open(indexed)):
                add_collection(indexed, report)

st.divider()
collection = active_collection()
st.subheader(f"Active: {plain(collection.name)}")
st.write(
    f"{plural(collection.n_images, 'picture')} · {plural(collection.n_captions, 'caption')} · "
    f"{plural(len(collection.problems), 'file')} skipped"
)
try:
    encoder = active_encoder()
    store = cache.store_of(str(store_root()), encoder.key, encoder.dim)
    st.caption(f"The embedding store for {plain(encoder.name)} holds {len(store):,} vectors.")
    if host_tools():  # store-wide: for the person running the server, not every visitor
        if st.button("Clear stored vectors of this model (everyone's)", key="clear_store"):
            store.clear()
            st.success("Cleared: they will be computed again on the next search.")
except ModelLoadError as err:  # also reported in the sidebar
    st.caption(plain(err))
