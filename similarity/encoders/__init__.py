"""Encoders: one face (:class:`Encoder`) for every CLIP model, and one way to get one.

A model spec names a model in one string (:func:`load_encoder`): the
bundled offline model, an open_clip pretrained model, or an open_clip
architecture with a local weights file. Nothing outside this package knows
whether weights came from the hub, a file or the bundle, nor whether
PyTorch or ONNX Runtime runs them.
"""

from __future__ import annotations

from similarity.encoders.base import Encoder, ModelLoadError
from similarity.encoders.bundled import load_bundled
from similarity.encoders.pretrained import PRETRAINED_CHOICES, load_checkpoint, load_pretrained

BUNDLED = "bundled"
__all__ = ["BUNDLED", "PRETRAINED_CHOICES", "Encoder", "ModelLoadError", "load_encoder", "model_spec"]


def model_spec(kind: str, arch: str = "", source: str = "") -> str:
    """The spec string for a model picked by kind ("bundled", "pretrained", "checkpoint").

    >>> model_spec("pretrained", "ViT-B-32", "laion2b_s34b_b79k"), model_spec("checkpoint", "ViT-B-32", "/w.pt")
    ('ViT-B-32/laion2b_s34b_b79k', 'ViT-B-32:/w.pt')
    """
    if kind == BUNDLED:
        return BUNDLED
    return f"{arch}/{source}" if kind == "pretrained" else f"{arch}:{source}"


def load_encoder(spec: str, backend: str = "auto") -> Encoder:
    """The model a spec names: ``bundled``, ``ARCH/TAG`` (open_clip pretrained) or ``ARCH:FILE`` (local weights).

    ``backend``: "auto" runs an ONNX export of these exact weights when one
    exists, else PyTorch; "onnx" or "torch" insist on one. Raises
    :class:`ModelLoadError` with what to do.
    """
    if spec == BUNDLED:
        return load_bundled(backend=backend)
    if ":" in spec:
        arch, path = spec.split(":", 1)
        return load_checkpoint(path, arch, backend=backend)
    arch, slash, tag = spec.partition("/")
    if not slash or not arch or not tag:
        raise ModelLoadError(
            f"{spec!r} names no model: give 'bundled', ARCH/TAG (e.g. ViT-B-32/laion2b_s34b_b79k) or ARCH:FILE"
        )
    return load_pretrained(arch, tag, backend=backend)
