"""Streamlit glue: cached model loads, session collections, the shared sidebar.

The only place that knows about ``st.cache_*`` and ``st.session_state``;
pages call these helpers and :mod:`similarity`.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import streamlit as st

from similarity import models, projection
from similarity.collection import BadInput, Collection, load_demo
from similarity.embed import Space, embed_collection
from similarity.store import EmbeddingStore, default_root

EXPLAIN_DIR = Path(__file__).parent / "explain"
DEMO = "Emoji demo (bundled)"


@dataclass(frozen=True)
class ModelChoice:
    """What the model picker selected; hashable, so it keys the cache."""

    kind: str  # "bundled", "pretrained" or "checkpoint"
    arch: str = ""
    source: str = ""  # pretrained tag or checkpoint path


MODEL_CHOICES = {
    "Bundled emoji CLIP (offline)": ModelChoice("bundled"),
    **{
        f"open_clip {arch} / {tag} (downloads once)": ModelChoice("pretrained", arch, tag)
        for arch, tag in models.PRETRAINED_CHOICES
    },
    "Local checkpoint file…": ModelChoice("checkpoint"),
}


def explain(name: str) -> None:
    """Show a page's short explanation, kept in ui/explain/<name>.md."""
    st.markdown((EXPLAIN_DIR / f"{name}.md").read_text(encoding="utf-8"))


@st.cache_resource(max_entries=3, show_spinner="Loading the model…")
def load_encoder(choice: ModelChoice) -> models.Encoder:
    if choice.kind == "bundled":
        return models.load_bundled()
    if choice.kind == "pretrained":
        return models.load_pretrained(choice.arch, choice.source)
    return models.load_checkpoint(choice.source, choice.arch)


@st.cache_resource(show_spinner="Reading the demo collection…")
def demo_collection() -> Collection:
    return load_demo()


@st.cache_resource
def warm_up_umap() -> threading.Thread:
    """Compile UMAP in the background once per server, so the first map is quick."""
    thread = threading.Thread(target=projection.warm_up, name="umap-warm-up", daemon=True)
    thread.start()
    return thread


def store_root() -> Path:
    return Path(st.session_state.get("store_root") or default_root())


def collections() -> dict[str, Collection]:
    """Collections of this session by name; the demo is always there."""
    found = st.session_state.setdefault("collections", {})
    if DEMO not in found:
        try:
            found[DEMO] = demo_collection()
        except BadInput as err:
            st.error(str(err))
            found[DEMO] = Collection(DEMO)
    return found


def add_collection(collection: Collection, report: Callable[[Collection], list[tuple[str, str]]]) -> None:
    """Add (or extend) a collection, make it the active one, and rerun.

    The picker is a widget, so the switch happens at the start of the rerun;
    ``report(collection)`` gives (st function name, message) pairs, shown by
    :func:`show_report` after the rerun.
    """
    found = collections()
    if collection.name in found and collection.name != DEMO:
        collection = found[collection.name].merged(collection)
    found[collection.name] = collection
    st.session_state["pending_collection"] = collection.name
    st.session_state["collection_report"] = report(collection)
    st.rerun()


def show_report() -> None:
    """Messages from the last collection change (see :func:`add_collection`)."""
    for kind, message in st.session_state.pop("collection_report", []):
        getattr(st, kind)(message)


def active_encoder() -> models.Encoder:
    return load_encoder(st.session_state.get("model_choice", MODEL_CHOICES["Bundled emoji CLIP (offline)"]))


def active_collection() -> Collection:
    found = collections()
    return found.get(st.session_state.get("collection_picker", DEMO), found[DEMO])


def active_space() -> tuple[models.Encoder, Collection, Space]:
    """The active collection embedded by the active model (store-backed)."""
    encoder, collection = active_encoder(), active_collection()
    key = (encoder.key, collection.name, len(collection.items), str(store_root()))
    spaces = st.session_state.setdefault("spaces", {})
    if key not in spaces:
        store = EmbeddingStore(store_root(), encoder.key)
        bar = st.progress(0.0, text="Checking the embedding store…")

        def progress(done: int, total: int) -> None:
            bar.progress(done / total, text=f"Embedding with {encoder.name}: {done:,} of {total:,} new vectors")

        spaces.clear()  # keep one space in memory per session
        spaces[key] = embed_collection(encoder, store, collection, progress)
        bar.empty()
    st.session_state["space_key"] = key
    return encoder, collection, spaces[key]


def require_space() -> tuple[models.Encoder, Collection, Space]:
    """The active space for a page; otherwise a clear message and stop."""
    try:
        encoder, collection, space = active_space()
    except models.ModelLoadError as err:
        st.error(str(err))
        st.stop()
    for problem in space.problems:
        st.warning(problem)
    if len(space.vectors) == 0:
        st.info("This collection is empty: add pictures or captions on **Your collection**.")
        st.stop()
    return encoder, collection, space


def memo(kind: str, key: tuple, compute):
    """Session-scoped cache for maps and clusterings of the active space.

    Keyed by the space (model + collection) plus the caller's inputs, so
    arrays are never hashed on a rerun; a few entries per kind are kept.
    """
    store = st.session_state.setdefault("memo", {}).setdefault(kind, {})
    full_key = (st.session_state.get("space_key"), *key)
    if full_key not in store:
        if len(store) >= 4:
            store.pop(next(iter(store)))
        store[full_key] = compute()
    return store[full_key]


def sidebar() -> None:
    """Collection and model pickers, and the active model's card."""
    with st.sidebar:
        names = list(collections())
        if pending := st.session_state.pop("pending_collection", None):
            st.session_state["collection_picker"] = pending  # allowed: the widget is not drawn yet
        st.selectbox("Collection", names, key="collection_picker")
        _model_picker()
        try:
            encoder = active_encoder()
        except models.ModelLoadError as err:
            st.error(str(err))
            return
        st.markdown(f"**Active model:** {encoder.name}")
        st.caption(encoder.provenance)
        quality = encoder.quality
        if "t2i_unseen_noto" in quality:
            st.caption(
                f"Held-out recall@5: text→image {quality['t2i_unseen_noto']:.2f} on unseen concepts, "
                f"{quality['t2i_unseen_twemoji']:.2f} on an unseen style (Twemoji); "
                f"image→text {quality['i2t_unseen_noto']:.2f}."
            )


def _model_picker() -> None:
    labels = list(MODEL_CHOICES)
    label = st.selectbox("Model", labels, key="model_label")
    choice = MODEL_CHOICES[label]
    if choice.kind == "checkpoint":
        path = st.text_input("Weights file (.safetensors or .pt)", key="ckpt_path")
        arch = st.text_input("open_clip architecture", value="ViT-B-32", key="ckpt_arch")
        if not path:
            st.info("Give a weights file path to use it; the previous model stays active.")
            return
        choice = ModelChoice("checkpoint", arch.strip(), os.path.expanduser(path.strip()))
    if choice == st.session_state.get("model_choice"):
        return
    try:
        load_encoder(choice)
    except models.ModelLoadError as err:
        st.error(str(err))  # the previous model stays active
        return
    st.session_state["model_choice"] = choice
