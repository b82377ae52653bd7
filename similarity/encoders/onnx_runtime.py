"""ONNX Runtime towers: fast CPU inference for open_clip models.

Importing torch and open_clip takes ~5 s on a 2-core CPU; onnxruntime takes
~0.1 s, and its graph optimisations make the towers faster. A model's
export (:mod:`similarity.encoders.onnx_export`) is a folder: both towers
with a dynamic batch axis, the attention mask, the final projection and the
L2 normalisation inside the graph, plus the tokenizer and the picture
preprocessing in ``manifest.json``. The manifest names the weights it was
made from; other weights ignore it.

Embeddings match PyTorch at cosine >= 0.999 (tests/test_onnx.py, on the
bundled model and on a randomly initialised ViT-B-32).
"""

from __future__ import annotations

import html
import json
from pathlib import Path

import numpy as np
from PIL import Image

MANIFEST = "manifest.json"
BACKBONE_ONNX = "backbone.onnx"  # model 3.0's frozen backbone alone (onnx_export.export_backbone)


class Tokens:
    """open_clip's HFTokenizer on the `tokenizers` library: clean, truncate, pad to the longest."""

    def __init__(self, tokenizer_file: Path, context_length: int, pad_token: str):
        from tokenizers import Tokenizer

        self._tokenizer = Tokenizer.from_file(str(tokenizer_file))
        self._tokenizer.no_padding()
        self._tokenizer.enable_truncation(context_length)
        self._pad = self._tokenizer.token_to_id(pad_token)

    def __call__(self, texts: list[str]) -> np.ndarray:
        """Token ids ``(n, longest)`` int64."""
        encoded = self._tokenizer.encode_batch([_clean(t) for t in texts])
        tokens = np.full((len(texts), max(1, max(len(e.ids) for e in encoded))), self._pad, dtype=np.int64)
        for row, e in zip(tokens, encoded):
            row[: len(e.ids)] = e.ids
        return tokens


class OnnxTowers:
    """Both towers on ONNX Runtime, with numpy preprocessing and a `tokenizers` tokenizer."""

    backend = "ONNX Runtime"

    def __init__(self, folder: Path, image_model: str = "image.onnx"):
        import onnxruntime as ort

        folder = Path(folder)
        self.folder = folder
        self.manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
        options = ort.SessionOptions()
        options.log_severity_level = 3  # errors only
        # Idle worker threads sleep instead of spinning: a server runs many sessions' small batches at once.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self._image = ort.InferenceSession(str(folder / image_model), options, providers=["CPUExecutionProvider"])
        if image_model != "image.onnx":
            self.backend = f"ONNX Runtime ({image_model})"
        self._text = ort.InferenceSession(str(folder / "text.onnx"), options, providers=["CPUExecutionProvider"])
        self._options, self._backbone = options, None
        text = self.manifest["text"]
        if text["tokenizer"] == "open_clip":
            self.tokenize = OpenClipTokens(text["arch"])
        else:
            self.tokenize = Tokens(folder / "tokenizer.json", text["context_length"], text["pad_token"])

    @property
    def picture_size(self) -> int:
        return int(self.manifest["image"]["size"])

    def pixels(self, batch: list[Image.Image]) -> np.ndarray:
        """The model's input tensor for a batch of pictures (resized, cropped, normalised)."""
        return np.stack([preprocess(im, **self.manifest["image"]) for im in batch])

    def forward(self, pixels: np.ndarray) -> np.ndarray:
        """The picture tower alone, on a ready input tensor."""
        return self._image.run(None, {"pixels": pixels})[0]

    def images(self, batch: list[Image.Image]) -> np.ndarray:
        return self.forward(self.pixels(batch))

    def texts(self, batch: list[str]) -> np.ndarray:
        return self._text.run(None, {"tokens": self.tokenize(batch)})[0]

    def backbone(self, batch: list[Image.Image]) -> tuple[np.ndarray, np.ndarray]:
        """Model 3.0's frozen backbone alone: (pooled features ``(n, 1280)``, ImageNet logits ``(n, 1000)``)."""
        if self._backbone is None:
            import onnxruntime as ort

            path = self.folder / BACKBONE_ONNX
            if not path.exists():
                raise FileNotFoundError(f"{path} is missing: run `make` (it exports the bundled model's backbone)")
            self._backbone = ort.InferenceSession(str(path), self._options, providers=["CPUExecutionProvider"])
        return tuple(self._backbone.run(None, {"pixels": self.pixels(batch)}))


class OpenClipTokens:
    """open_clip's own tokenizer for an architecture (e.g. CLIP's BPE), padded to its context."""

    def __init__(self, arch: str):
        import open_clip

        self._tokenizer = open_clip.get_tokenizer(arch)

    def __call__(self, texts: list[str]) -> np.ndarray:
        return self._tokenizer(texts).numpy().astype(np.int64)


def _clean(text: str) -> str:
    """open_clip's 'whitespace' cleaning: fix mojibake, unescape HTML twice, collapse spaces."""
    import ftfy

    return " ".join(html.unescape(html.unescape(ftfy.fix_text(text))).split())


def preprocess(im: Image.Image, size: int, mean: list[float], std: list[float]) -> np.ndarray:
    """open_clip's eval transform in numpy: shorter side to ``size`` (bicubic), centre crop, normalise.

    Returns ``(3, size, size)`` float32, as torchvision's Resize/CenterCrop/ToTensor/Normalize do.
    """
    im = im.convert("RGB")
    w, h = im.size
    # torchvision: the shorter side becomes `size`, the longer int(size * long / short).
    new = (size, int(size * h / w)) if w <= h else (int(size * w / h), size)
    if new != (w, h):
        im = im.resize(new, Image.BICUBIC)
    w, h = im.size
    left, top = int(round((w - size) / 2.0)), int(round((h - size) / 2.0))
    im = im.crop((left, top, left + size, top + size))
    pixels = np.asarray(im, dtype=np.float32) / 255.0
    return ((pixels - np.float32(mean)) / np.float32(std)).transpose(2, 0, 1).copy()


def load(folder: Path, key: str) -> OnnxTowers | None:
    """Towers exported for the weights ``key`` in ``folder``; None if absent, stale or unavailable."""
    try:
        manifest = json.loads((Path(folder) / MANIFEST).read_text(encoding="utf-8"))
        if manifest.get("key") != key:
            return None
        return OnnxTowers(folder)
    except (OSError, ValueError, ImportError, KeyError):  # KeyError: an export in an older format
        return None


def int8_towers(towers: OnnxTowers) -> OnnxTowers:
    """The same towers with the picture tower's weights quantised to int8 (made once, beside the export).

    Opt-in only: int8 vectors approximate the fp32 ones; measure what that
    costs on your own pictures first (:func:`similarity.ingest.indexer.int8_check`).
    """
    target = towers.folder / "image.int8.onnx"
    if not target.exists():
        from onnxruntime.quantization import QuantType, quantize_dynamic

        tmp = target.with_suffix(".tmp.onnx")
        # Matrix products only: int8 convolutions (ConvInteger) run slower on CPUs and lose the picture.
        quantize_dynamic(
            str(towers.folder / "image.onnx"),
            str(tmp),
            weight_type=QuantType.QInt8,
            op_types_to_quantize=["MatMul", "Gemm"],
        )
        tmp.replace(target)
    return OnnxTowers(towers.folder, target.name)
