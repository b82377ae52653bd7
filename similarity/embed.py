"""A collection in one model's space: its vectors, from the store where possible.

Each item contributes up to two vectors: its picture and its caption. Only
vectors missing from the :class:`~similarity.store.EmbeddingStore` are
encoded, chunk by chunk, each chunk stored before the next starts, so
interrupted work resumes and re-opening a collection encodes nothing.

``python -m similarity.embed`` writes the bundled demo's vectors
(``data/demo/vectors.npz``), so a fresh install encodes nothing at all.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from similarity.collection import DEMO_VECTORS, BadInput, Collection, Item, content_id, load_demo, open_image
from similarity.models import Encoder
from similarity.store import EmbeddingStore, write_shipped

CHUNK = 128
IMAGE, CAPTION = "image", "caption"


@dataclass
class Space:
    """All vectors of a collection: row ``r`` is ``kind[r]`` of item ``item[r]``.

    ``key`` names the model and the collection's content: everything computed
    from the space (maps, clusterings, baselines) is cached under it.
    """

    vectors: np.ndarray  # (m, d) float32, L2-normalised
    item: np.ndarray  # (m,) index into items
    kind: np.ndarray  # (m,) IMAGE or CAPTION
    items: list[Item] = field(default_factory=list)  # the collection's items
    key: str = ""
    problems: list[str] = field(default_factory=list)
    encoded_images: int = 0  # how many pictures had to be encoded now
    encoded_texts: int = 0

    def rows(self, kinds: tuple[str, ...] = (IMAGE, CAPTION)) -> np.ndarray:
        """Row indices of the given kinds."""
        return np.flatnonzero(np.isin(self.kind, kinds))

    def item_of(self, row: int) -> Item:
        return self.items[self.item[row]]

    def label_of(self, row: int) -> str:
        """What to call a row: its item's caption, else its file name."""
        item = self.item_of(row)
        return item.caption or item.source

    def labels(self, rows) -> list[str]:
        return [self.label_of(r) for r in rows]

    def captions(self) -> tuple[list[str], np.ndarray]:
        """The collection's distinct captions and their vectors (already in the space)."""
        rows = self.rows((CAPTION,))
        first = dict(zip(self.labels(rows), rows))  # one row per distinct caption
        return list(first), self.vectors[list(first.values())]


def image_key(item) -> str:
    return image_key_of(item.id)


def image_key_of(content_id: str) -> str:
    return f"img:{content_id}"


def caption_key(caption: str) -> str:
    return f"txt:{content_id(caption.encode('utf-8'))}"


def vector_rows(collection: Collection) -> list[tuple[int, str, str]]:
    """(item index, kind, store key) for every vector the collection needs."""
    rows = []
    for i, item in enumerate(collection.items):
        if item.image_path is not None:
            rows.append((i, IMAGE, image_key(item)))
        if item.caption:
            rows.append((i, CAPTION, caption_key(item.caption)))
    return rows


def missing_vectors(store: EmbeddingStore, collection: Collection) -> tuple[int, int]:
    """(pictures, captions) of ``collection`` that ``store`` has no vector for: what opening it would encode."""
    kind_of = {key: kind for _, kind, key in vector_rows(collection)}
    missing = store.missing(list(kind_of))
    pictures = sum(kind_of[k] == IMAGE for k in missing)
    return pictures, len(missing) - pictures


def embed_collection(
    encoder: Encoder,
    store: EmbeddingStore,
    collection: Collection,
    progress: Callable[[int, int], None] | None = None,
) -> Space:
    """Vectors for every picture and caption; encodes only what is missing."""
    rows = vector_rows(collection)
    space = Space(
        np.zeros((0, encoder.dim), np.float32),
        np.zeros(0, int),
        np.zeros(0, dtype=object),
        collection.items,
        key=f"{encoder.key}/{collection.content_hash}",
    )
    todo_images = [(i, k) for i, kind, k in rows if kind == IMAGE and k not in store]
    todo_texts = list({k: i for i, kind, k in rows if kind == CAPTION and k not in store}.items())
    total, done = len(todo_images) + len(todo_texts), 0
    bad = set()
    for start in range(0, len(todo_images), CHUNK):
        keys, names, pictures = [], [], []
        for i, key in todo_images[start : start + CHUNK]:
            item = collection.items[i]
            try:
                pictures.append(open_image(item.image_path, item.source, fit=encoder.picture_size))
                keys.append(key)
                names.append(item.source)
            except BadInput as err:
                space.problems.append(str(err))
                bad.add(key)
        bad.update(_store(store, keys, names, encoder.encode_images(pictures), space))
        space.encoded_images += len(keys)
        done += len(todo_images[start : start + CHUNK])
        if progress:
            progress(done, total)
    for start in range(0, len(todo_texts), CHUNK):
        chunk = todo_texts[start : start + CHUNK]
        captions = [collection.items[i].caption for _, i in chunk]
        bad.update(_store(store, [k for k, _ in chunk], captions, encoder.encode_texts(captions), space))
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


def _store(store: EmbeddingStore, keys: list[str], names: list[str], vectors: np.ndarray, space: Space) -> list[str]:
    """Store the usable vectors; name each item the model gave a NaN or zero vector. Returns the refused keys."""
    usable = np.isfinite(vectors).all(axis=1) & (np.linalg.norm(np.nan_to_num(vectors), axis=1) > 0.5)
    for name in (n for n, ok in zip(names, usable) if not ok):
        space.problems.append(f"{name[:60]}: the model gave no usable vector (NaN or zero); is its checkpoint broken?")
    store.add([k for k, ok in zip(keys, usable) if ok], vectors[usable])
    return [k for k, ok in zip(keys, usable) if not ok]


def ship_demo(encoder: Encoder, path=DEMO_VECTORS) -> int:
    """Embed the demo collection and write its vectors for shipping; returns their number."""
    import tempfile

    collection = load_demo()
    with tempfile.TemporaryDirectory() as tmp:
        space = embed_collection(encoder, EmbeddingStore(tmp, encoder.key), collection)
    if space.problems:
        raise BadInput("; ".join(space.problems))
    keys = [key for _, _, key in vector_rows(collection)]
    write_shipped(path, encoder.key, keys, space.vectors)
    return len(keys)


if __name__ == "__main__":
    from similarity.models import load_bundled

    print(f"wrote {ship_demo(load_bundled()):,} vectors to {DEMO_VECTORS}")
