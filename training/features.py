"""The frozen backbone's features of training pictures: computed once on ONNX Runtime, cached on disk.

The backbone never trains, so each picture's pooled features and ImageNet
logits are computed once (about 100 pictures/s on 2 cores; PyTorch eager
manages ~9) and every training run after that reads them. Pictures are
prepared exactly as the app prepares them (:func:`similarity.encoders.onnx_runtime.preprocess`).
"""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path

import numpy as np
from PIL import Image

from similarity.encoders.lite import MEAN, SIZE, STD, WEIGHTS_SHA256
from similarity.encoders.onnx_export import export_backbone
from similarity.encoders.onnx_runtime import preprocess

CACHE = Path.home() / ".cache" / "clip-explorer" / "features"
BATCH = 64


@cache
def _session():
    """The backbone (features and logits) on ONNX Runtime, exported once per weights file."""
    import onnxruntime as ort

    path = CACHE / f"lite0-{WEIGHTS_SHA256[:12]}-{SIZE}-pixels.onnx"
    if not path.exists():
        export_backbone(path)
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def backbone_outputs(pictures: list[Image.Image]) -> tuple[np.ndarray, np.ndarray]:
    """(features ``(n, 1280)``, ImageNet logits ``(n, 1000)``) of PIL pictures, float32."""
    session, features, logits = _session(), [], []
    for start in range(0, len(pictures), BATCH):
        x = np.stack([preprocess(p, SIZE, list(MEAN), list(STD)) for p in pictures[start : start + BATCH]])
        f, z = session.run(None, {"pixels": x})
        features.append(f)
        logits.append(z)
    if not features:
        return np.zeros((0, 1280), np.float32), np.zeros((0, 1000), np.float32)
    return np.concatenate(features), np.concatenate(logits)


def cached_outputs(name: str, images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`backbone_outputs` of uint8 pictures ``(n, h, w, 3)``, cached by their content under ``name``."""
    digest = hashlib.sha256(images.tobytes() + WEIGHTS_SHA256.encode()).hexdigest()[:16]
    path = CACHE / f"{name}-{SIZE}-{digest}.npz"
    if path.exists():
        with np.load(path) as saved:
            return saved["features"], saved["logits"]
    features, logits = backbone_outputs([Image.fromarray(im) for im in images])
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npz")
    np.savez(tmp, features=features, logits=logits)
    tmp.replace(path)
    return features, logits
