"""A collection in one model's space: its vectors, from the store where possible.

Each item contributes up to two vectors: its picture and its caption. Only
vectors missing from the :class:`~similarity.store.EmbeddingStore` are
encoded, chunk by chunk, each chunk stored before the next starts, so
interrupted work resumes and re-opening a collection encodes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from similarity.collection import BadInput, Collection, content_id, open_image
from similarity.models import Encoder
from similarity.store import EmbeddingStore

CHUNK = 128
IMAGE, CAPTION = "image", "caption"


@dataclass
class Space:
    """All vectors of a collection: row ``r`` is ``kind[r]`` of item ``item[r]``."""

    vectors: np.ndarray  # (m, d) float32, L2-normalised
    item: np.ndarray  # (m,) index into collection.items
    kind: np.ndarray  # (m,) IMAGE or CAPTION
    problems: list[str] = field(default_factory=list)
    encoded_images: int = 0  # how many pictures had to be encoded now
    encoded_texts: int = 0

    def rows(self, kinds: tuple[str, ...]) -> np.ndarray:
        """Row indices of the given kinds."""
        return np.flatnonzero(np.isin(self.kind, kinds))


def image_key(item) -> str:
    return f"img:{item.id}"


def caption_key(caption: str) -> str:
    return f"txt:{content_id(caption.encode('utf-8'))}"


def embed_collection(
    encoder: Encoder,
    store: EmbeddingStore,
    collection: Collection,
    progress: Callable[[int, int], None] | None = None,
) -> Space:
    """Vectors for every picture and caption; encodes only what is missing."""
    rows = []  # (item index, kind, key)
    for i, item in enumerate(collection.items):
        if item.image_path is not None:
            rows.append((i, IMAGE, image_key(item)))
        if item.caption:
            rows.append((i, CAPTION, caption_key(item.caption)))
    space = Space(np.zeros((0, encoder.dim), np.float32), np.zeros(0, int), np.zeros(0, dtype=object))
    todo_images = [(i, k) for i, kind, k in rows if kind == IMAGE and k not in store]
    todo_texts = list({k: i for i, kind, k in rows if kind == CAPTION and k not in store}.items())
    total, done = len(todo_images) + len(todo_texts), 0
    bad = set()
    for start in range(0, len(todo_images), CHUNK):
        chunk, pictures = [], []
        for i, key in todo_images[start : start + CHUNK]:
            item = collection.items[i]
            try:
                pictures.append(open_image(item.image_path, item.source))
                chunk.append(key)
            except BadInput as err:
                space.problems.append(str(err))
                bad.add(key)
        store.add(chunk, encoder.encode_images(pictures))
        space.encoded_images += len(chunk)
        done += len(todo_images[start : start + CHUNK])
        if progress:
            progress(done, total)
    for start in range(0, len(todo_texts), CHUNK):
        chunk = todo_texts[start : start + CHUNK]
        store.add([k for k, _ in chunk], encoder.encode_texts([collection.items[i].caption for _, i in chunk]))
        space.encoded_texts += len(chunk)
        done += len(chunk)
        if progress:
            progress(done, total)
    kept = [r for r in rows if r[2] not in bad]
    if kept:
        space.vectors = store.get([k for _, _, k in kept]).astype(np.float32, copy=False)
        space.item = np.array([i for i, _, _ in kept])
        space.kind = np.array([kind for _, kind, _ in kept])
    return space
