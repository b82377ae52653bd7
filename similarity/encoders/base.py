"""The one face of every CLIP model: :class:`Encoder`, whatever runs its towers.

Vectors leave an encoder L2-normalised float32 ``(n, d)``: cosine = dot.
Whatever runs the towers (PyTorch here, or ONNX Runtime:
:mod:`similarity.encoders.onnx_runtime`) sits behind ``Encoder.towers``;
torch is imported only when a PyTorch model runs.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

BATCH = 64


class ModelLoadError(RuntimeError):
    """A model could not be loaded; the message says which and what to do."""


class TorchTowers:
    """An open_clip model's two towers in PyTorch: one batch in, unnormalised features out."""

    backend = "PyTorch"

    def __init__(self, model, preprocess, tokenizer):
        self.model, self.preprocess, self.tokenizer = model.eval(), preprocess, tokenizer

    @property
    def picture_size(self) -> int:
        """Side of the square the picture tower sees, in pixels."""
        size = self.model.visual.image_size
        return int(size[0] if isinstance(size, (tuple, list)) else size)

    def pixels(self, batch: list[Image.Image]) -> np.ndarray:
        """The model's input tensor for a batch of pictures (resized, cropped, normalised)."""
        import torch

        return torch.stack([self.preprocess(im.convert("RGB")) for im in batch]).numpy()

    def forward(self, pixels: np.ndarray) -> np.ndarray:
        """The picture tower alone, on a ready input tensor."""
        import torch

        with torch.inference_mode():
            return self.model.encode_image(torch.from_numpy(pixels)).float().numpy()

    def images(self, batch: list[Image.Image]) -> np.ndarray:
        return self.forward(self.pixels(batch))

    def texts(self, batch: list[str]) -> np.ndarray:
        import torch

        with torch.inference_mode():
            return self.model.encode_text(self.tokenizer(batch)).float().numpy()


@dataclass
class Encoder:
    """A CLIP model ready for inference, whatever runs it (``towers``: PyTorch or ONNX Runtime)."""

    towers: object  # .images(list[PIL]) and .texts(list[str]) -> (n, dim) features; .backend
    name: str
    provenance: str  # what it was trained on, in a sentence
    key: str  # identifies these exact weights (embedding store folder)
    quality: dict = field(default_factory=dict)  # held-out figures, if known
    bundled: bool = False  # the project's own offline model (its demo's example queries were tested on it)
    photo_note: str = ""  # what to expect of photos, where the model reads them in a limited way

    def __post_init__(self):
        self.dim = int(self.encode_texts(["a"]).shape[1])

    def held_out(self) -> str:
        """The model card's honest headline in one sentence, or '' when there is none."""
        return self.quality.get("sentence", "")

    @property
    def picture_size(self) -> int:
        """Side of the square the picture tower sees: pictures need not be decoded any larger."""
        return self.towers.picture_size

    def encode_images(self, images: list[Image.Image]) -> np.ndarray:
        """Embed PIL images; returns L2-normalised float32 ``(n, dim)``."""
        return self._encode(list(images), self.towers.images)

    def encode_pixels(self, pixels: np.ndarray) -> np.ndarray:
        """Embed ready input tensors (``towers.pixels``): the indexer prepares them in its decoding threads."""
        return self._encode(pixels, self.towers.forward)

    def encode_texts(self, texts: list[str]) -> np.ndarray:
        """Embed captions; returns L2-normalised float32 ``(n, dim)``.

        Captions are encoded shortest first, so each batch pads little.
        """
        texts = list(texts)
        order = np.argsort([len(t) for t in texts], kind="stable")
        vectors = self._encode([texts[i] for i in order], self.towers.texts)
        out = np.empty_like(vectors)
        out[order] = vectors
        return out

    def _encode(self, items: list, encode_batch) -> np.ndarray:
        if len(items) == 0:
            return np.zeros((0, getattr(self, "dim", 0)), dtype=np.float32)
        parts = [encode_batch(items[start : start + BATCH]) for start in range(0, len(items), BATCH)]
        features = np.concatenate(parts).astype(np.float32, copy=False)
        return features / np.maximum(np.linalg.norm(features, axis=1, keepdims=True), 1e-12)


def sha256_of(path: Path) -> str:
    """The sha256 of a file, read in blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
