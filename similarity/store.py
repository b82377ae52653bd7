"""Persistent embedding cache: one folder per model, vectors keyed by content.

Each :meth:`EmbeddingStore.add` writes one new shard file (``.npz`` with keys
and float32 vectors) through a temporary file and ``os.replace``, so a crash
or a killed session never leaves a half-written shard: everything embedded
before it survives, and embedding resumes where it stopped.

A store can also read *shipped* vectors (:func:`write_shipped`): a compact
float16 file made once for a bundled collection and tagged with the model key
that made it, so a fresh install starts with nothing to encode and a retrained
model ignores vectors that are no longer its own.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import tempfile
import threading
import time
import uuid
from pathlib import Path

import numpy as np

COMPACT_AFTER = 64  # merge this store's shards into one when it has more than this
log = logging.getLogger(__name__)


def default_root() -> Path:
    """Per-user cache folder (``$CLIP_EXPLORER_CACHE`` overrides it)."""
    if env := os.environ.get("CLIP_EXPLORER_CACHE"):
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "clip-explorer" / "embeddings"


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

    ``shipped`` files (see :func:`write_shipped`) are read first and never
    written or deleted; vectors computed here go to the store's own folder.

    Damage never stops the app: a shard that cannot be read, or whose vectors
    have the wrong size or are not finite, is moved to ``set-aside/`` (and
    logged), so its items are simply embedded again. Several writers (the
    sessions of one server, or several processes) may share a folder: each
    writes its own shard files, and compaction deletes only shards this
    store read or wrote itself, so a neighbour's fresh shard is never lost.
    """

    def __init__(self, root: Path, model_key: str, shipped: tuple[Path, ...] = (), dim: int | None = None):
        self.model_key = model_key
        self.dim = dim
        self.folder = Path(root) / re.sub(r"[^A-Za-z0-9._-]+", "_", model_key)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.set_aside: list[str] = []  # "shard: reason", one per damaged file moved away
        self._shipped = shipped
        self._shipped_keys: set[str] = set()  # never written to this store's own shards
        self._rows: dict[str, np.ndarray] = {}
        self._mine: set[str] = set()  # shard files this store has read or written
        self._lock = threading.Lock()
        self._load()

    def _shards(self) -> list[Path]:
        return sorted(self.folder.glob("shard-*.npz"))

    def _load(self) -> None:
        for path in self._shipped:
            vectors = read_shipped(path, self.model_key)
            self._rows.update(vectors)
            self._shipped_keys.update(vectors)
        if self._rows and self.dim is None:
            self.dim = len(next(iter(self._rows.values())))
        self._remove_stale_temporaries()
        readable = []
        for shard in self._shards():
            try:
                readable.append((shard, *_read_shard(shard)))
            except Exception as err:  # noqa: BLE001 - any damage (zip, zlib, CRC, format) means: set it aside
                self._put_aside(shard, f"unreadable ({type(err).__name__})")
        if self.dim is None and readable:
            sizes = [vectors.shape[1] for _, _, vectors in readable]
            self.dim = max(set(sizes), key=sizes.count)  # the size most shards agree on
        for shard, keys, vectors in readable:
            if vectors.shape[1] != self.dim:
                self._put_aside(shard, f"vectors of size {vectors.shape[1]}, expected {self.dim}")
                continue
            self._rows.update(zip(keys, vectors))
            self._mine.add(shard.name)

    def _put_aside(self, shard: Path, reason: str) -> None:
        aside = self.folder / "set-aside"
        aside.mkdir(exist_ok=True)
        try:
            os.replace(shard, aside / shard.name)
        except OSError:
            return  # another process moved it first
        self.set_aside.append(f"{shard.name}: {reason}")
        log.warning(
            "embedding store %s: set aside %s (%s); its items will be embedded again", self.folder, shard.name, reason
        )

    def _remove_stale_temporaries(self, older_than_s: float = 600) -> None:
        """Temporary files left by a killed writer (a live writer's are seconds old)."""
        for tmp in self.folder.glob("*.tmp"):
            try:
                if time.time() - tmp.stat().st_mtime > older_than_s:
                    tmp.unlink()
            except OSError:
                pass

    def __len__(self) -> int:
        return len(self._rows)

    def __contains__(self, key: str) -> bool:
        return key in self._rows

    def missing(self, keys: list[str]) -> list[str]:
        """Keys not yet stored, in order, without repeats."""
        return [k for k in dict.fromkeys(keys) if k not in self._rows]

    def get(self, keys: list[str]) -> np.ndarray:
        """Stored vectors for ``keys`` as ``(len(keys), d)``; all must be present."""
        return np.stack([self._rows[k] for k in keys]) if keys else np.zeros((0, 0), np.float32)

    def add(self, keys: list[str], vectors: np.ndarray) -> None:
        """Store vectors durably (one atomic shard write)."""
        vectors = np.asarray(vectors, dtype=np.float32)
        if len(keys) != len(vectors):
            raise ValueError(f"{len(keys)} keys but {len(vectors)} vectors")
        if not keys:
            return
        _check_vectors(vectors, self.dim)
        with self._lock:
            self.dim = self.dim or vectors.shape[1]
            name = f"shard-{uuid.uuid4().hex}.npz"
            self._write(name, keys, vectors)
            self._mine.add(name)
            self._rows.update(zip(keys, vectors))
            if len(self._mine) > COMPACT_AFTER:
                self._compact()

    def _write(self, name: str, keys: list[str], vectors: np.ndarray) -> None:
        fd, tmp = tempfile.mkstemp(dir=self.folder, suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as fh:
                np.savez(fh, keys=np.array(keys, dtype=str), vectors=vectors)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.folder / name)
        finally:
            Path(tmp).unlink(missing_ok=True)

    def _compact(self) -> None:
        """Merge this store's own shards into one; a neighbour's shards are left alone."""
        old = set(self._mine)
        keys = [k for k in self._rows if k not in self._shipped_keys]
        name = f"shard-{uuid.uuid4().hex}.npz"
        self._write(name, keys, np.stack([self._rows[k] for k in keys]))
        self._mine = {name}
        for shard in old:
            (self.folder / shard).unlink(missing_ok=True)

    def clear(self) -> None:
        """Forget every vector this store computed (files removed); shipped ones stay."""
        with self._lock:
            shutil.rmtree(self.folder, ignore_errors=True)
            self.folder.mkdir(parents=True, exist_ok=True)
            self._rows.clear()
            self._mine.clear()
            self._load()


def _read_shard(path: Path) -> tuple[list[str], np.ndarray]:
    """Keys and vectors of one shard; raises on any damage."""
    with np.load(path, allow_pickle=False) as data:
        keys, vectors = data["keys"].tolist(), np.asarray(data["vectors"], dtype=np.float32)
    if vectors.ndim != 2 or len(keys) != len(vectors):
        raise ValueError(f"{len(keys)} keys for vectors of shape {vectors.shape}")
    _check_vectors(vectors, None)
    return keys, vectors


def _check_vectors(vectors: np.ndarray, dim: int | None) -> None:
    """Unit-length finite vectors of the store's size, or ValueError."""
    if vectors.ndim != 2 or (dim is not None and vectors.shape[1] != dim):
        raise ValueError(f"vectors of shape {vectors.shape}; this store holds vectors of size {dim}")
    norms = np.linalg.norm(vectors, axis=1)
    if not np.all(np.isfinite(norms)) or np.any(np.abs(norms - 1) > 1e-2):
        raise ValueError("vectors must be finite and of unit length (a broken model or checkpoint?)")
