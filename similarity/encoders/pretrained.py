"""open_clip models: pretrained by architecture + tag, or weights from a local file.

A pretrained model downloads and caches on first use (``HF_HUB_OFFLINE=1``
gives a clear error, never a fallback); a local checkpoint is a safetensors
file or a ``.pt`` read with ``weights_only=True``, plus its architecture name.
"""

from __future__ import annotations

from pathlib import Path

from similarity.encoders import onnx_runtime
from similarity.encoders.base import Encoder, ModelLoadError, TorchTowers, sha256_of
from similarity.storage.paths import onnx_folder

# Pretrained open_clip models offered in the picker (arch, tag).
PRETRAINED_CHOICES = (
    ("ViT-B-32", "laion2b_s34b_b79k"),
    ("ViT-B-16", "laion2b_s34b_b88k"),
    ("MobileCLIP-S1", "datacompdr"),
)


def load_pretrained(arch: str, tag: str, cache_dir: str | None = None, backend: str = "auto") -> Encoder:
    """An open_clip pretrained model; downloads and caches it on first use.

    ``backend`` as for :func:`load_bundled`; "auto" takes an ONNX export of
    these weights when one was made (``python -m similarity.encoders.onnx_export``).
    """
    name, provenance = f"{arch} / {tag}", f"open_clip pretrained weights '{tag}'"
    return _load_open_clip(arch, tag, name, provenance, f"{arch}-{tag}", cache_dir, backend)


def load_checkpoint(path: str | Path, arch: str, backend: str = "auto") -> Encoder:
    """An open_clip architecture with weights from a local file."""
    path = Path(path)
    if path.suffix not in {".safetensors", ".pt", ".pth", ".bin"}:
        raise ModelLoadError(f"{path}: expected a .safetensors, .pt, .pth or .bin weights file.")
    if not path.is_file():
        raise ModelLoadError(f"{path}: no such file.")
    key = f"{arch}-{sha256_of(path)[:12]}"
    name, provenance = f"{arch} / {path.name}", f"weights from the local file {path}"
    return _load_open_clip(arch, str(path), name, provenance, key, None, backend)


def _load_open_clip(
    arch: str, pretrained: str, name: str, provenance: str, key: str, cache_dir: str | None, backend: str
) -> Encoder:
    import open_clip

    if arch not in open_clip.list_models():
        raise ModelLoadError(f"Unknown architecture '{arch}': choose one of open_clip.list_models(), e.g. ViT-B-32.")
    if backend in ("auto", "onnx"):
        if towers := onnx_runtime.load(onnx_folder(key), key):
            return Encoder(towers, name=name, provenance=provenance, key=key)
        if backend == "onnx":
            command = f"python -m similarity.encoders.onnx_export --arch {arch} --pretrained {pretrained}"
            raise ModelLoadError(f"No ONNX export of {name}: run `{command}`.")
    try:
        # create_model_from_pretrained refuses to return random weights, and
        # takes the preprocessing that belongs to these weights.
        model, preprocess = open_clip.create_model_from_pretrained(
            arch, pretrained=pretrained, cache_dir=cache_dir, weights_only=True
        )
    except Exception as err:
        raise ModelLoadError(_explain(arch, pretrained, err)) from err
    towers = TorchTowers(model, preprocess, open_clip.get_tokenizer(arch))
    return Encoder(towers, name=name, provenance=provenance, key=key)


def _explain(arch: str, pretrained: str, err: Exception) -> str:
    text = str(err)
    if Path(pretrained).suffix in {".safetensors", ".pt", ".pth", ".bin"}:
        return (
            f"Could not load {pretrained} as {arch} weights ({type(err).__name__}: {text[:200]}). "
            "Check that the file is complete and that the architecture matches it."
        )
    if (
        "offline" in text.lower()
        or "connect" in text.lower()
        or "resolve" in text.lower()
        or "download" in text.lower()
    ):
        return (
            f"Could not get the weights for {arch} / {pretrained}: they are not in the local cache and "
            "they cannot be downloaded here (no network, or this server is set to work offline). "
            "Run once with internet to "
            "cache them, or choose 'Local checkpoint' and give a weights file."
        )
    return f"Could not load {arch} / {pretrained}: {text[:300]}"
