"""Streamlit glue for one browser session: its collections, its picks, the sidebar.

Server-wide work (models, spaces, maps, clusterings) lives in :mod:`ui.cache`;
this module holds what belongs to one visitor (``st.session_state``).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import streamlit as st

from similarity.encoders import BUNDLED, PRETRAINED_CHOICES, Encoder, ModelLoadError, model_spec
from similarity.ingest.bundled import BUNDLED_COLLECTIONS, EMOJI
from similarity.ingest.collection import Collection
from similarity.ingest.files import BadInput, on_plain_background, plain_background_count
from similarity.ingest.space import Space
from similarity.storage.paths import ALLOWED_FOLDERS, default_root, within_allowed
from similarity.words import plural
from ui import cache
from ui.shared import shared
from ui.text import plain

EXPLAIN_DIR = Path(__file__).parent / "explain"
DEMO = EMOJI.label  # the collection every session starts on
BUNDLED_LABELS = {b.label for b in BUNDLED_COLLECTIONS.values()}
HOST_TOOLS = "CLIP_EXPLORER_HOST_TOOLS"  # "1": show store-wide actions to visitors (the host's own server)


CHECKPOINT = "Local checkpoint file…"
# The model picker: label -> model spec (similarity.encoders.load_encoder); a checkpoint's spec is typed.
MODEL_CHOICES = {
    "Bundled CLIP 3.0 (offline)": BUNDLED,
    **{
        f"open_clip {arch} / {tag} (downloads once)": model_spec("pretrained", arch, tag)
        for arch, tag in PRETRAINED_CHOICES
    },
    CHECKPOINT: None,
}
DEFAULT_MODEL = BUNDLED


# Projector first: Streamlit's default page leaves ~6rem above the title and a
# 2.75rem title; at 1024x768 that pushes the results below the fold.
_PROJECTOR_CSS = """
<style>
.block-container {padding-top: 2.2rem; padding-bottom: 2rem; padding-left: 2rem; padding-right: 2rem;}
h1 {font-size: 1.9rem !important; padding-top: 0 !important; padding-bottom: 0.25rem !important;}
[data-testid="stText"] {word-break: normal; overflow-wrap: normal;}  /* names wrap between words only */
</style>
"""


def projector_style() -> None:
    """Tighter page margins and a smaller title, so a query's results fit a 1024x768 projector."""
    st.markdown(_PROJECTOR_CSS, unsafe_allow_html=True)


def page_header(title: str, name: str) -> None:
    """A page's title, the first paragraph of its explanation (ui/explain/<name>.md), and the rest.

    The rest sits behind a "How to read" button beside the title,
    or under the first paragraph when the sidebar's *Explanations open*
    switch is on (a first lesson); folded, the page's work starts higher up,
    on a projector's first screen.
    """
    lead, _, rest = (EXPLAIN_DIR / f"{name}.md").read_text(encoding="utf-8").partition("\n\n")
    left, right = st.columns([4, 1.2], vertical_alignment="bottom")
    left.title(title)
    opened = st.session_state.get("explanations", False)
    if rest.strip() and not opened:
        with right.popover("How to read", icon=":material/help:"):
            st.markdown(rest)
    st.caption(lead)
    if rest.strip() and opened:
        st.markdown(rest)


def linked(key: str, default):
    """A widget's first value: what a shared link asked for (:mod:`ui.links`), else ``default``."""
    return st.session_state.get("link", {}).get(key, default)


def store_root() -> Path:
    return Path(st.session_state.get("store_root") or default_root())


def host_tools() -> bool:
    """Store-wide actions (clearing everyone's vectors) only when the host switched them on."""
    return os.environ.get(HOST_TOOLS) == "1"


def collections() -> dict[str, Collection]:
    """Collections of this session by name; the emoji demo is always there, the clipart demo where it was built."""
    found = st.session_state.setdefault("collections", {})
    for bundled in BUNDLED_COLLECTIONS.values():
        if bundled.label not in found and (bundled is EMOJI or bundled.built):
            try:
                found[bundled.label] = cache.bundled_collection(bundled.link)
            except BadInput as err:
                st.error(plain(err))
                found[bundled.label] = Collection(bundled.label)
    return found


def add_collection(collection: Collection, report: Callable[[Collection], list[tuple[str, str]]]) -> None:
    """Add (or extend) a collection, make it the active one, and rerun; an empty one is refused with the reasons.

    The picker is a widget, so the switch happens at the start of the rerun;
    ``report(collection)`` gives (st function name, message) pairs, shown by
    :func:`show_report` after the rerun.
    """
    if not collection.items:  # e.g. an empty zip or only broken files: nothing to create or switch to
        reasons = (
            "; ".join(collection.problems[:5]) or "it holds no pictures (JPEG, PNG, WebP, GIF, BMP, TIFF) or captions"
        )
        st.error(f"Nothing was added to '{plain(collection.name)}': {plain(reasons)}.")
        return
    st.session_state["upload_round"] = st.session_state.get("upload_round", 0) + 1  # empties the file pickers
    found = collections()
    if collection.name in found and collection.name not in BUNDLED_LABELS:
        collection = found[collection.name].merged(collection)
    found[collection.name] = collection
    st.session_state["pending_collection"] = collection.name
    st.session_state["collection_report"] = report(collection)
    st.rerun()


def show_report() -> None:
    """Messages from the last collection change (see :func:`add_collection`)."""
    for kind, message in st.session_state.pop("collection_report", []):
        getattr(st, kind)(plain(message))


def active_encoder() -> Encoder:
    return cache.encoder_for(st.session_state.get("model_choice", DEFAULT_MODEL))


def active_collection() -> Collection:
    found = collections()
    return found.get(st.session_state.get("collection_picker", DEMO), found[DEMO])


def active_space() -> tuple[Encoder, Collection, Space]:
    """The active collection embedded by the active model (server-wide, store-backed)."""
    encoder, collection = active_encoder(), active_collection()
    return encoder, collection, cache.space_of(encoder, collection, str(store_root()))


def require_space() -> tuple[Encoder, Space]:
    """The active model and space for a page; otherwise a clear message and stop."""
    try:
        encoder, collection, space = active_space()
    except ModelLoadError as err:
        st.error(plain(err))
        st.stop()
    for problem in space.problems:
        st.warning(plain(problem))
    if len(space.vectors) == 0:
        st.info("This collection is empty: add pictures or captions on **Your collection**.")
        st.stop()
    _warn_if_model_does_not_fit(encoder, collection)
    return encoder, space


def _warn_if_model_does_not_fit(encoder: Encoder, collection: Collection) -> None:
    """On a collection of photos, say what the model does with them (where it reads photos in a limited way)."""
    if not encoder.photo_note or collection.n_images == 0:
        return
    plain, checked = shared(
        "looks",
        (collection.content_hash,),
        lambda: plain_background_count([i.image_path for i in collection.items if i.image_path is not None]),
    )
    if checked and plain < checked / 2:
        sample = (
            f"the {plural(checked, 'picture')}" if checked == collection.n_images else f"{checked} sampled pictures"
        )
        st.info(
            f"Only {plain} of {sample} are drawn on a plain background like emoji. {encoder.photo_note}",
            icon=":material/photo_camera:",
        )


def warn_if_photo(encoder: Encoder, picture) -> None:
    """A photo as the query: say what the model does with photos."""
    if encoder.photo_note and not on_plain_background(picture):
        st.info(f"This looks like a photo. {encoder.photo_note}", icon=":material/photo_camera:")


def sidebar() -> None:
    """Collection and model pickers, and the active model's card."""
    with st.sidebar:
        names = list(collections())
        if pending := st.session_state.pop("pending_collection", None):
            st.session_state["collection_picker"] = pending  # allowed: the widget is not drawn yet
        st.selectbox("Collection", names, key="collection_picker")
        _model_picker()
        st.toggle("Explanations open", key="explanations", help="Open every page's explanation (fold them for a class)")
        try:
            encoder = active_encoder()
        except ModelLoadError as err:
            st.error(plain(err))
            return
        st.markdown(f"**Active model:** {plain(encoder.name)}")
        st.caption(plain(f"{encoder.provenance} Runs on {encoder.towers.backend}."))
        if held_out := encoder.held_out():
            st.caption(held_out)


def _model_picker() -> None:
    labels = list(MODEL_CHOICES)
    label = st.selectbox("Model", labels, key="model_label")
    choice = MODEL_CHOICES[label]
    if label == CHECKPOINT:
        path = st.text_input("Weights file (.safetensors or .pt)", key="ckpt_path")
        arch = st.text_input("open_clip architecture", value="ViT-B-32", key="ckpt_arch")
        if not path:
            st.info("Give a weights file path to use it; the previous model stays active.")
            return
        typed = path.strip()
        try:
            allowed = within_allowed(typed)
        except (OSError, ValueError, RuntimeError):
            allowed = False
        if not allowed:  # one answer for every such path: whether a file exists there is not told
            st.error(
                plain(f"{typed}: weights files load only from the folders the host allows ({ALLOWED_FOLDERS}).")
                + " The previous model stays active."
            )
            return
        choice = model_spec("checkpoint", arch.strip(), str(Path(typed).expanduser().resolve()))
    if choice == st.session_state.get("model_choice"):
        return
    try:
        cache.encoder_for(choice)
    except ModelLoadError as err:
        st.error(plain(err))  # the previous model stays active
        return
    st.session_state["model_choice"] = choice
