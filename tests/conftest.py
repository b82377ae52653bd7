"""Shared fixtures: seeded synthetic vectors, images on disk, the bundled model."""

import os

# Tests never touch a model hub; set before huggingface_hub is imported.
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from PIL import Image  # noqa: E402


def unit_vectors(n: int, d: int, seed: int = 0) -> np.ndarray:
    v = np.random.default_rng(seed).standard_normal((n, d)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


@pytest.fixture
def make_image(tmp_path):
    """Write a small picture and return its path."""

    def make(name: str, color=(200, 30, 30), size=(40, 30), mode="RGB", **save) -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.new(mode, size, color).save(path, **save)
        return path

    return make


@pytest.fixture(scope="session")
def bundled():
    from similarity.encoders.bundled import load_bundled

    return load_bundled()


@pytest.fixture(scope="session")
def demo():
    from similarity.ingest.collection import load_demo

    return load_demo()


@pytest.fixture
def app(tmp_path_factory, monkeypatch):
    """A new browser session on a fresh store, on a server that allows no server folders."""
    from support import app_test

    from similarity.storage.paths import ALLOWED_FOLDERS

    monkeypatch.delenv(ALLOWED_FOLDERS, raising=False)
    return app_test(str(tmp_path_factory.mktemp("app-store")))
