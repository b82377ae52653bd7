"""ONE pipeline from files to stored vectors, for a collection opened in the app and for the indexer.

Decoding and preparing a picture (resize, normalise) runs in worker threads
while the model encodes the previous batch; only vectors the store lacks are
encoded; every vector passes one check before it is stored (a broken
checkpoint's NaN or zero vector is named, never stored), and each batch is
one commit, so interrupted work resumes where it stopped.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from similarity.ingest.files import BadInput, open_image
from similarity.storage.keys import IMAGE, content_id, kind_of_key
from similarity.storage.vectors import EmbeddingStore

BATCH = 64
BROKEN_VECTOR = "the model gave no usable vector (NaN or zero); is its checkpoint broken?"


@dataclass(frozen=True)
class Source:
    """One picture file, with the caption given for it (if any) and the name messages use."""

    path: Path
    caption: str | None = None
    name: str | None = None  # default: the path

    @property
    def label(self) -> str:
        return self.name or str(self.path)


def decode(source: Source, fit: int | None = None):
    """(source, content id, picture, size, mtime) or (source, BadInput); ``fit``: see :func:`open_image`."""
    try:
        data = source.path.read_bytes()
        stat = source.path.stat()
        return source, content_id(data), open_image(data, source.label, fit), stat.st_size, stat.st_mtime
    except BadInput as err:
        return source, err
    except OSError as err:
        return source, BadInput(f"{source.label}: {err.strerror or err}")


def prepare(source: Source, towers):
    """Like :func:`decode`, with the picture made into the model's input (resized, normalised) in this thread."""
    decoded = decode(source, towers.picture_size)
    if isinstance(decoded[1], Exception):
        return decoded
    _, cid, picture, size, mtime = decoded
    return source, cid, towers.pixels([picture])[0], size, mtime


def prepared_batches(todo: list[Source], pool: ThreadPoolExecutor, batch: int, towers) -> Iterator[list]:
    """Batches of prepared pictures (:func:`prepare`); the next batch is prepared while the caller encodes this one."""
    ahead: list[Future] = [pool.submit(prepare, s, towers) for s in todo[:batch]]
    for start in range(batch, len(todo) + batch, batch):
        following = [pool.submit(prepare, s, towers) for s in todo[start : start + batch]]
        yield [f.result() for f in ahead]
        ahead = following


def encode_new(encoder, store: EmbeddingStore, pixels: dict[str, np.ndarray], captions: dict[str, str]) -> dict:
    """Store key -> vector for the prepared pictures and captions ``store`` does not hold yet."""
    pixels = {k: pixels[k] for k in store.missing(list(pixels))}
    captions = {k: captions[k] for k in store.missing(list(captions))}
    encoded = {}
    if pixels:
        encoded.update(zip(pixels, encoder.encode_pixels(np.stack(list(pixels.values())))))
    if captions:
        encoded.update(zip(captions, encoder.encode_texts(list(captions.values()))))
    return encoded


@dataclass
class Stored:
    """What one :func:`store_new` call stored, and what it refused."""

    images: int = 0
    captions: int = 0
    refused: set[str] = field(default_factory=set)  # keys whose vector was unusable
    problems: list[str] = field(default_factory=list)  # "name: reason", one per refused key


def store_new(store: EmbeddingStore, encoded: dict[str, np.ndarray], names: dict[str, str]) -> Stored:
    """Store the usable vectors of ``encoded`` (key -> vector) in one commit; name each unusable one.

    The one gate into the store: a NaN or zero vector (a broken checkpoint)
    is refused with a message naming its file or caption (``names``: key -> name).
    """
    stored = Stored()
    new = store.missing(list(encoded))
    if not new:
        return stored
    vectors = np.stack([encoded[k] for k in new]).astype(np.float32, copy=False)
    usable = np.isfinite(vectors).all(axis=1) & (np.linalg.norm(np.nan_to_num(vectors), axis=1) > 0.5)
    for key in (k for k, ok in zip(new, usable) if not ok):
        stored.refused.add(key)
        name = names.get(key, key)
        stored.problems.append(f"{name if len(name) <= 120 else name[:119] + '…'}: {BROKEN_VECTOR}")
    keep = [k for k, ok in zip(new, usable) if ok]
    store.add(keep, vectors[usable])
    stored.images = sum(kind_of_key(k) == IMAGE for k in keep)
    stored.captions = len(keep) - stored.images
    return stored
