"""Indexed collections on LanceDB: one vector table per model, one item table per collection.

A LanceDB database is a folder (``$CLIP_EXPLORER_INDEX``, default
``~/.cache/clip-explorer/lancedb``) or an object-store URI (``s3://...``):
the same code reads both. Tables:

- ``vectors__<model key>``: ``key`` (content hash and modality, as in
  :mod:`similarity.embed`), ``kind`` and ``vector``. A picture in two
  collections is stored once.
- ``items__<collection>``: one row per indexed file: ``path``, ``caption``,
  ``size`` and ``mtime`` (to skip unchanged files on a rerun), ``id`` (the
  picture's content hash).

Every ``add`` is one LanceDB commit: a killed writer leaves the table as it
was before that batch, so a rerun resumes; readers (app sessions) see a
consistent version and pick up new rows on :meth:`VectorTable.refresh`.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np
import pyarrow as pa

from similarity.embed import CAPTION, IMAGE, image_key_of
from similarity.store import default_root

INDEX_ENV = "CLIP_EXPLORER_INDEX"
VECTORS, ITEMS = "vectors__", "items__"
ITEM_SCHEMA = pa.schema(
    [
        pa.field("path", pa.string()),
        pa.field("caption", pa.string()),
        pa.field("size", pa.int64()),
        pa.field("mtime", pa.float64()),
        pa.field("id", pa.string()),
    ]
)


def index_uri() -> str:
    """Where indexed collections live (``$CLIP_EXPLORER_INDEX`` overrides)."""
    return os.environ.get(INDEX_ENV) or str(default_root().parent / "lancedb")


def connect(uri: str | None = None):
    import lancedb

    return lancedb.connect(uri or index_uri())


def table_name(prefix: str, name: str) -> str:
    return prefix + re.sub(r"[^A-Za-z0-9_-]+", "_", name)


def _open(db, name: str):
    return db.open_table(name) if name in db.list_tables().tables else None


class VectorTable:
    """One model's vectors in LanceDB, keyed by content: the store behind indexed collections.

    Keys and vectors are read into memory once (100k x 512 float32 is 200 MB
    and reads in well under a second); :meth:`get` then answers from memory.
    """

    def __init__(self, db, model_key: str, dim: int):
        self.db, self.model_key, self.dim = db, model_key, dim
        self.name = table_name(VECTORS, model_key)
        self.table = _open(db, self.name)
        if self.table is not None:
            stored = self.table.schema.field("vector").type.list_size
            if stored != dim:
                raise ValueError(
                    f"table {self.name} holds vectors of size {stored}, but this model gives {dim}: "
                    "it was written by another model; index into another database or collection"
                )
        self.refresh()

    def refresh(self) -> None:
        """Read what other writers have committed since."""
        self._row: dict[str, int] = {}
        self._vectors = np.zeros((0, self.dim), np.float32)
        if self.table is None:
            return
        self.table.checkout_latest()
        data = self.table.to_arrow().select(["key", "vector"])
        self._vectors = data.column("vector").combine_chunks().flatten().to_numpy().reshape(-1, self.dim)
        self._row = {k: i for i, k in enumerate(data.column("key").to_pylist())}

    def __len__(self) -> int:
        return len(self._row)

    def __contains__(self, key: str) -> bool:
        return key in self._row

    def keys(self) -> list[str]:
        return list(self._row)

    def missing(self, keys: list[str]) -> list[str]:
        return [k for k in dict.fromkeys(keys) if k not in self._row]

    def get(self, keys: list[str]) -> np.ndarray:
        return self._vectors[[self._row[k] for k in keys]] if keys else np.zeros((0, self.dim), np.float32)

    def add(self, keys: list[str], vectors: np.ndarray) -> None:
        """Store new vectors in one commit (keys already stored are skipped).

        The same face as :class:`~similarity.store.EmbeddingStore`, so
        :func:`~similarity.embed.embed_collection` works on either.
        """
        vectors = np.asarray(vectors, np.float32)
        new = [i for i, k in enumerate(keys) if k not in self._row]
        if not new:
            return
        if vectors.shape[1] != self.dim:
            raise ValueError(f"vectors of size {vectors.shape[1]}; table {self.name} holds size {self.dim}")
        batch = pa.table(
            {
                "key": [keys[i] for i in new],
                "kind": [IMAGE if keys[i].startswith(image_key_of("")) else CAPTION for i in new],
                "vector": pa.FixedSizeListArray.from_arrays(pa.array(vectors[new].ravel()), self.dim),
            }
        )
        if self.table is None:
            self.table = self.db.create_table(self.name, batch, exist_ok=True)
            if self.table.count_rows() > len(new):  # another writer created it first: add to theirs
                self.table.add(batch)
        else:
            self.table.add(batch)
        start = len(self._vectors)
        self._vectors = np.concatenate([self._vectors, vectors[new]])
        self._row.update({keys[i]: start + j for j, i in enumerate(new)})


class ItemTable:
    """The files of one indexed collection."""

    def __init__(self, db, collection: str):
        self.db, self.collection = db, collection
        self.name = table_name(ITEMS, collection)
        self.table = _open(db, self.name)

    def rows(self) -> pa.Table:
        if self.table is None:
            return ITEM_SCHEMA.empty_table()
        self.table.checkout_latest()
        return self.table.to_arrow()

    def seen(self) -> dict[str, tuple[int, float]]:
        """path -> (size, mtime) of every file already indexed."""
        rows = self.rows()
        return dict(zip(rows["path"].to_pylist(), zip(rows["size"].to_pylist(), rows["mtime"].to_pylist())))

    def add(self, rows: list[dict]) -> None:
        if not rows:
            return
        batch = pa.Table.from_pylist(rows, schema=ITEM_SCHEMA)
        if self.table is None:
            self.table = self.db.create_table(self.name, schema=ITEM_SCHEMA, exist_ok=True)
        self.table.add(batch)


def indexed_collections(uri: str | None = None) -> dict[str, int]:
    """Collection name -> number of indexed files, for every collection in the database."""
    db = connect(uri)
    names = [n for n in db.list_tables().tables if n.startswith(ITEMS)]
    return {n[len(ITEMS) :]: db.open_table(n).count_rows() for n in sorted(names)}


def load_indexed(name: str, uri: str | None = None):
    """An indexed collection as a :class:`~similarity.collection.Collection` (no file is read)."""
    from similarity.collection import Collection, Item, text_id

    uri = uri or index_uri()
    rows = ItemTable(connect(uri), name).rows().to_pylist()
    if not rows:
        raise ValueError(f"no indexed collection called {name!r} in {uri}")
    collection = Collection(name, indexed_in=uri)
    for row in rows:
        path = Path(row["path"]) if row["id"] else None
        item_id = row["id"] or text_id(row["caption"])
        collection.items.append(Item(item_id, row["path"], path, row["caption"]))
    return Collection(name, indexed_in=uri).merged(collection)
