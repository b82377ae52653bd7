"""Persistent embedding store on LanceDB: one table per model, vectors keyed by content.

A store is a LanceDB database: a folder (the per-user default, or
``$CLIP_EXPLORER_CACHE``) or an object-store URI (``s3://...``). Each model
has one table, ``vectors__<model key>``: ``key`` (content hash and modality,
see :mod:`similarity.storage.keys`), ``kind`` and ``vector``. Every :meth:`add` is
one LanceDB commit, so a crash or a killed writer never leaves half a batch:
everything stored before survives, and embedding resumes where it stopped.
Many readers and writers (the sessions of a server, several processes, the
indexing CLI) share a table; each store reads it once into memory and
answers :meth:`get` from there.

A store can also read *shipped* vectors (:func:`write_shipped`): a compact
float16 file made once for a bundled collection and tagged with the model key
that made it, so a fresh install starts with nothing to encode and a retrained
model ignores vectors that are no longer its own. They are never written to
the table.

Damage never stops the app, on the first read or on a catch-up: a table that
stays unreadable, or whose vectors are not finite unit vectors, is moved to
``set-aside/`` (and logged), so its items are simply embedded again; a read
that fails for a passing reason (too many open files) is retried and never
sets anything aside (:mod:`similarity.storage.damage`).
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import numpy as np
import pyarrow as pa

from similarity.storage.damage import TemporaryStoreError, put_aside, read_or_damage, stray
from similarity.storage.keys import kind_of_key
from similarity.storage.lance import connect, table_name

COMPACT_AFTER = 64  # merge a table's small files after this many commits by one store
PREFIX = "vectors__"
log = logging.getLogger(__name__)


def write_shipped(path: Path, model_key: str, keys: list[str], vectors: np.ndarray) -> None:
    """Save vectors as a read-only float16 file tagged with the model that made them."""
    np.savez_compressed(
        path, model_key=np.array(model_key), keys=np.array(keys, dtype=str), vectors=vectors.astype(np.float16)
    )


def read_shipped(path: Path, model_key: str) -> dict[str, np.ndarray]:
    """Key -> float32 unit vector from a shipped file; empty if another model made it."""
    try:
        with np.load(path, allow_pickle=False) as data:
            if str(data["model_key"]) != model_key:
                return {}
            vectors = data["vectors"].astype(np.float32)
            keys = data["keys"].tolist()
    except (OSError, ValueError, KeyError):
        return {}  # missing or unreadable: the items are simply encoded
    # float16 keeps ~3 significant digits; renormalise so cosine is still a dot product.
    vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    return dict(zip(keys, vectors))


class EmbeddingStore:
    """Vectors of one model, keyed by item content hash (and modality).

    ``root``: the LanceDB database (folder or URI). ``dim``: the model's
    vector size; a table holding another size is refused with a clear
    error (it was written by another model under the same name).
    """

    def __init__(self, root, model_key: str, shipped: tuple[Path, ...] = (), dim: int | None = None):
        self.root, self.model_key, self.dim = str(root), model_key, dim
        self.name = table_name(PREFIX, model_key)
        self.set_aside: list[str] = []  # "table: reason", one per damaged table moved away
        self._shipped = shipped
        self._lock = threading.Lock()
        self._commits = 0
        if "://" not in self.root:
            Path(self.root).mkdir(parents=True, exist_ok=True)
        self.db = connect(self.root)
        self._load()

    def _load(self) -> None:
        """Read shipped vectors and the table; all or nothing (a read that raises leaves the store as it was)."""
        row: dict[str, int] = {}
        parts = []
        for path in self._shipped:
            shipped = read_shipped(path, self.model_key)
            if shipped:
                row.update({k: len(row) + i for i, k in enumerate(shipped) if k not in row})
                parts.append(np.stack(list(shipped.values())))
        if parts and self.dim is None:
            self.dim = parts[0].shape[1]
        table, keys, vectors = self._read_table()
        self._shipped_keys = set(row)
        self.table, self._table_rows, self._row = table, len(keys), row
        if vectors is not None:
            start = sum(len(p) for p in parts)
            self._row.update({k: start + i for i, k in enumerate(keys)})
            parts.append(vectors)
        # Added batches are kept as parts and joined on the next get(): an indexer adding
        # thousands of batches would otherwise copy the whole matrix on every add.
        self._parts = parts
        self._count = sum(len(p) for p in parts)

    def _listed(self) -> bool:
        listed, reason = read_or_damage(lambda: self.name in self.db.list_tables().tables, f"store {self.root}")
        if reason is not None:
            raise ValueError(f"the embedding store {self.root} cannot be listed: {reason}")
        return listed

    def _read_table(self):
        """(table, keys, vectors) as stored, or (None, [], None) when absent or set aside."""
        if not self._listed():
            if stray(self.root, self.name):  # a file where the table's folder belongs
                return self._put_aside("not a table folder")
            return None, [], None
        read, reason = read_or_damage(self._read_vectors, f"table {self.name} in {self.root}")
        if reason is not None:
            return self._put_aside(reason)
        table, size, data, vectors = read
        if self.dim is not None and size != self.dim:
            raise ValueError(
                f"table {self.name} in {self.root} holds vectors of size {size}, but this model gives {self.dim}: "
                "it was written by another model"
            )
        self.dim = size
        return table, data.column("key").to_pylist(), vectors

    def _read_vectors(self):
        table = self.db.open_table(self.name)
        size = table.schema.field("vector").type.list_size
        data = table.to_arrow().select(["key", "vector"])
        vectors = data.column("vector").combine_chunks().flatten().to_numpy().reshape(-1, size)
        _check_vectors(vectors, None)
        return table, size, data, vectors

    def _put_aside(self, reason: str):
        if put_aside(self.root, self.name, reason):
            self.set_aside.append(f"{self.name}: {reason}")
            log.warning("embedding store %s: its items will be embedded again", self.root)
        return None, [], None

    def refresh(self) -> None:
        """Read what other writers have committed since."""
        with self._lock:
            self._load()

    def catch_up(self) -> None:
        """Re-read the table only if another writer (the indexer, another server process) changed it since.

        Damage found here is set aside as on the first read; a passing failure keeps what was read before.
        """
        with self._lock:
            try:
                on_disk, damaged = read_or_damage(self._rows_on_disk, f"table {self.name} in {self.root}")
                if damaged is not None or on_disk != self._table_rows:
                    self._load()
            except TemporaryStoreError as err:
                log.warning("embedding store %s: not caught up now, the vectors read before serve (%s)", self.root, err)

    def _rows_on_disk(self) -> int:
        if self.name in self.db.list_tables().tables:
            return self.db.open_table(self.name).count_rows()
        return -1 if stray(self.root, self.name) else 0

    def __len__(self) -> int:
        return len(self._row)

    def __contains__(self, key: str) -> bool:
        return key in self._row

    def keys(self) -> list[str]:
        return list(self._row)

    def missing(self, keys: list[str]) -> list[str]:
        """Keys not yet stored, in order, without repeats."""
        return [k for k in dict.fromkeys(keys) if k not in self._row]

    def get(self, keys: list[str]) -> np.ndarray:
        """Stored vectors for ``keys`` as ``(len(keys), d)``; all must be present."""
        if not keys:
            return np.zeros((0, self.dim or 0), np.float32)
        with self._lock:
            if len(self._parts) > 1:
                self._parts = [np.concatenate(self._parts)]
            vectors = self._parts[0]
        return vectors[[self._row[k] for k in keys]]

    def add(self, keys: list[str], vectors: np.ndarray) -> None:
        """Store new vectors durably, in one commit (keys already stored are skipped)."""
        vectors = np.asarray(vectors, dtype=np.float32)
        if len(keys) != len(vectors):
            raise ValueError(f"{len(keys)} keys but {len(vectors)} vectors")
        if not keys:
            return
        _check_vectors(vectors, self.dim)
        with self._lock:
            new = [i for i, k in enumerate(keys) if k not in self._row]
            if not new:
                return
            self.dim = self.dim or vectors.shape[1]
            batch = pa.table(
                {
                    "key": [keys[i] for i in new],
                    "kind": [kind_of_key(keys[i]) for i in new],
                    "vector": pa.FixedSizeListArray.from_arrays(pa.array(vectors[new].ravel()), self.dim),
                }
            )
            if self.table is None:
                # exist_ok: another writer may create it first; then this batch is added to theirs.
                self.table = self.db.create_table(self.name, schema=batch.schema, exist_ok=True)
            self.table.add(batch)
            self._row.update({keys[i]: self._count + j for j, i in enumerate(new)})
            self._parts.append(vectors[new])
            self._count += len(new)
            self._table_rows += len(new)
            self._commits += 1
            if self._commits % COMPACT_AFTER == 0:
                self._compact()

    def _compact(self) -> None:
        """Merge the table's small files (every row is kept). Only an optimisation: when another
        writer compacts at the same moment, LanceDB refuses one of the two; that one is skipped."""
        try:
            self.table.optimize()
        except RuntimeError as err:  # a commit conflict with a neighbour's compaction
            log.info("embedding store %s: compaction skipped (%s)", self.root, str(err)[:120])

    def clear(self) -> None:
        """Forget every vector this model's table holds (everyone's); shipped ones stay."""
        with self._lock:
            if self.name in self.db.list_tables().tables:
                self.db.drop_table(self.name)
            self._load()


def _check_vectors(vectors: np.ndarray, dim: int | None) -> None:
    """Unit-length finite vectors of the store's size, or ValueError."""
    if vectors.ndim != 2 or (dim is not None and vectors.shape[1] != dim):
        raise ValueError(f"vectors of shape {vectors.shape}; this store holds vectors of size {dim}")
    norms = np.linalg.norm(vectors, axis=1)
    if not np.all(np.isfinite(norms)) or np.any(np.abs(norms - 1) > 1e-2):
        raise ValueError("vectors must be finite and of unit length (a broken model or checkpoint?)")
