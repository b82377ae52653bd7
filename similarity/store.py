"""Persistent embedding cache: one folder per model, vectors keyed by content.

Each :meth:`EmbeddingStore.add` writes one new shard file (``.npz`` with keys
and float32 vectors) through a temporary file and ``os.replace``, so a crash
or a killed session never leaves a half-written shard: everything embedded
before it survives, and embedding resumes where it stopped.
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


class EmbeddingStore:
    """Vectors of one model, keyed by item content hash (and modality)."""

    def __init__(self, root: Path, model_key: str):
        self.folder = Path(root) / re.sub(r"[^A-Za-z0-9._-]+", "_", model_key)
        self.folder.mkdir(parents=True, exist_ok=True)
        self._rows: dict[str, np.ndarray] = {}
        self._load()

    def _shards(self) -> list[Path]:
        return sorted(self.folder.glob("shard-*.npz"))

    def _load(self) -> None:
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
        """Forget every vector of this model (files removed)."""
        shutil.rmtree(self.folder, ignore_errors=True)
        self.folder.mkdir(parents=True, exist_ok=True)
        self._rows.clear()
