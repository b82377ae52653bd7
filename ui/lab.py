"""The "Watch it learn" page's server-wide parts: the lab's data, every run, the shipped model's answers.

All of it is the same for every visitor: the demo through the bundled
model's frozen parts (read once), one registry of runs per server process
(one run per settings, replayed to everyone), and the shipped model's
picture vectors to compare with.
"""

from __future__ import annotations

import numpy as np
import streamlit as st

from similarity.encoders import BUNDLED, Encoder
from similarity.ingest.bundled import EMOJI
from similarity.lab.data import LabData, backbone_features, demo_split, lab_data, pictures_by_item
from similarity.lab.run import centre_angle, recall
from similarity.lab.runs import LabRuns
from similarity.search.topk import top_k
from similarity.storage.paths import DEMO_FEATURES
from ui import cache
from ui.shared import shared, shared_with_progress
from ui.state import store_root

FIRST_READ_S = 40  # the demo's 1,861 pictures through the backbone on 2 cores, when make has not done it


@st.cache_resource
def runs() -> LabRuns:
    """Every run on this server (one registry per server process)."""
    return LabRuns()


def encoder() -> Encoder:
    """The bundled model: the lab trains a head between its frozen backbone and its frozen text tower."""
    return cache.encoder_for(BUNDLED)


def data() -> LabData:
    """The demo as the lab sees it, read once per server (the backbone's features come from ``make``)."""
    model = encoder()

    def compute() -> LabData:
        collection = cache.bundled_collection(EMOJI.link)
        features = backbone_features(model, collection)
        captions = model.encode_texts([i.caption for i in collection.items])
        return lab_data(collection, features, captions, demo_split())

    estimate = 3 if DEMO_FEATURES.exists() else FIRST_READ_S
    what = "Reading the demo's pictures through the frozen backbone"
    return shared_with_progress("lab", ("data", model.key), compute, what, estimate)


def shipped() -> tuple[np.ndarray, float, float]:
    """(the shipped model's picture vector per demo item, its held-out recall@5, its modality gap in degrees),
    once per server."""
    model, lab = encoder(), data()

    def compute():
        space = cache.space_of(model, cache.bundled_collection(EMOJI.link), str(store_root()))
        pictures = pictures_by_item(space)
        return pictures, recall(pictures, lab.captions, lab.unseen), centre_angle(pictures, lab.captions)

    return shared("lab", ("shipped", model.key), compute)


def answers(pictures: np.ndarray, text: str, k: int = 5) -> list[int]:
    """The ``k`` pictures closest to a typed query (the bundled text tower's vector, cached per text)."""
    query = cache.label_vectors(encoder(), (text.strip(),))[0]
    return [int(i) for i in top_k(query, pictures.astype(np.float32), k).indices]
