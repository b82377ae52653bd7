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

import os
import re
import shutil
import tempfile
import uuid
from pathlib import Path

import numpy as np

COMPACT_AFTER = 64  # merge shards into one when there are more than this


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
    """

    def __init__(self, root: Path, model_key: str, shipped: tuple[Path, ...] = ()):
        self.model_key = model_key
        self.folder = Path(root) / re.sub(r"[^A-Za-z0-9._-]+", "_", model_key)
        self.folder.mkdir(parents=True, exist_ok=True)
        self._shipped = shipped
        self._rows: dict[str, np.ndarray] = {}
        self._load()

    def _shards(self) -> list[Path]:
        return sorted(self.folder.glob("shard-*.npz"))

    def _load(self) -> None:
        for path in self._shipped:
            self._rows.update(read_shipped(path, self.model_key))
        for shard in self._shards():
            try:
                with np.load(shard, allow_pickle=False) as data:
                    self._rows.update(zip(data["keys"].tolist(), data["vectors"]))
            except (OSError, ValueError, KeyError):
                shard.unlink(missing_ok=True)  # unreadable: its items are simply embedded again

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
        if len(keys) != len(vectors):
            raise ValueError(f"{len(keys)} keys but {len(vectors)} vectors")
        if not keys:
            return
        vectors = np.asarray(vectors, dtype=np.float32)
        self._write(f"shard-{uuid.uuid4().hex}.npz", keys, vectors)
        self._rows.update(zip(keys, vectors))
        if len(self._shards()) > COMPACT_AFTER:
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
        old = self._shards()
        keys = list(self._rows)
        self._write(f"shard-{uuid.uuid4().hex}.npz", keys, np.stack([self._rows[k] for k in keys]))
        for shard in old:
            shard.unlink(missing_ok=True)

    def clear(self) -> None:
        """Forget every vector this store computed (files removed); shipped ones stay."""
        shutil.rmtree(self.folder, ignore_errors=True)
        self.folder.mkdir(parents=True, exist_ok=True)
        self._rows.clear()
        self._load()
