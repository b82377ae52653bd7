"""A collection in one model's space: its vectors, from the store where possible.

Each item contributes up to two vectors: its picture and its caption. Only
vectors missing from the :class:`~similarity.storage.vectors.EmbeddingStore`
are encoded, through the one ingest pipeline
(:mod:`similarity.ingest.pipeline`), batch by batch, each stored before the
next starts, so interrupted work resumes and re-opening a collection
encodes nothing.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from similarity.encoders import Encoder
from similarity.ingest.collection import Collection, Item
from similarity.ingest.pipeline import BATCH, Source, encode_new, prepared_batches, store_new
from similarity.storage.keys import CAPTION, IMAGE, caption_key, image_key_of
from similarity.storage.vectors import EmbeddingStore


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
        """What to call a row: its item's caption, else its file name (:meth:`name_of`)."""
        item = self.item_of(row)
        return item.caption or self.name_of(item)

    def name_of(self, item: Item) -> str:
        """An item's file name as a visitor sees it: an absolute path (an indexed collection's, on the
        server) relative to the folder all of them lie under, so the server's folders stay private."""
        return os.path.relpath(item.source, self._root) if os.path.isabs(item.source) else item.source

    @cached_property
    def _root(self) -> str:
        folders = [os.path.dirname(i.source) for i in self.items if os.path.isabs(i.source)]
        return os.path.commonpath(folders) if folders else ""

    def labels(self, rows) -> list[str]:
        return [self.label_of(r) for r in rows]

    def own_pairs(self) -> tuple[np.ndarray, np.ndarray]:
        """(picture rows, caption rows) of the items that have both, aligned: each picture with its own caption."""
        caption_row = {int(self.item[r]): int(r) for r in self.rows((CAPTION,))}
        pictures = [int(r) for r in self.rows((IMAGE,)) if int(self.item[r]) in caption_row]
        return np.array(pictures, dtype=int), np.array([caption_row[int(self.item[r])] for r in pictures], dtype=int)

    def captions(self) -> tuple[list[str], np.ndarray]:
        """The collection's distinct captions and their vectors (already in the space)."""
        rows = self.rows((CAPTION,))
        first = dict(zip(self.labels(rows), rows))  # one row per distinct caption
        return list(first), self.vectors[list(first.values())]


def vector_rows(collection: Collection) -> list[tuple[int, str, str]]:
    """(item index, kind, store key) for every vector the collection needs."""
    rows = []
    for i, item in enumerate(collection.items):
        if item.image_path is not None:
            rows.append((i, IMAGE, image_key_of(item.id)))
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
    workers: int = 2,
) -> Space:
    """Vectors for every picture and caption; encodes only what is missing.

    ``progress(done, total)`` is called after each stored batch. A picture
    that cannot be read, or that the model gives no usable vector, is named
    in ``Space.problems`` and left out; the rest is kept.
    """
    rows = vector_rows(collection)
    space = Space(
        np.zeros((0, encoder.dim), np.float32),
        np.zeros(0, int),
        np.zeros(0, dtype=object),
        collection.items,
        key=f"{encoder.key}/{collection.content_hash}",
    )
    pictures = {k: i for i, kind, k in rows if kind == IMAGE and k not in store}
    captions = {k: collection.items[i].caption for i, kind, k in rows if kind == CAPTION and k not in store}
    total, done, refused = len(pictures) + len(captions), 0, set()
    todo = [Source(collection.items[i].image_path, name=collection.items[i].source) for i in pictures.values()]
    keys = list(pictures)

    def record(stored, n: int) -> None:
        """Count a stored batch of ``n`` items: what was refused, its messages, the progress."""
        nonlocal done
        done += n
        refused.update(stored.refused)
        space.problems.extend(stored.problems)
        if progress:
            progress(done, total)

    with ThreadPoolExecutor(workers) as pool:
        for start, batch in zip(range(0, len(todo), BATCH), prepared_batches(todo, pool, BATCH, encoder.towers)):
            ready = {}
            for key, prepared in zip(keys[start : start + BATCH], batch):
                if isinstance(prepared[1], Exception):
                    space.problems.append(str(prepared[1]))
                    refused.add(key)
                else:
                    ready[key] = prepared[2]
            names = {k: collection.items[pictures[k]].source for k in ready}
            space.encoded_images += len(ready)
            record(store_new(store, encode_new(encoder, store, ready, {}), names), len(batch))
    caption_keys = list(captions)
    for start in range(0, len(caption_keys), BATCH):
        chunk = {k: captions[k] for k in caption_keys[start : start + BATCH]}
        space.encoded_texts += len(chunk)
        record(store_new(store, encode_new(encoder, store, {}, chunk), chunk), len(chunk))
    kept = [r for r in rows if r[2] not in refused]
    if kept:
        space.vectors = store.get([k for _, _, k in kept]).astype(np.float32, copy=False)
        space.item = np.array([i for i, _, _ in kept])
        space.kind = np.array([kind for _, kind, _ in kept])
    return space
