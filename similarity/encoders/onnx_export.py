"""Export a model's towers for ONNX Runtime (:mod:`similarity.encoders.onnx_runtime`).

- the bundled model: ``python -m similarity.encoders.onnx_export`` (run by
  ``make run``/``make test``) writes ``onnx/`` next to its weights; the app
  then never imports torch for it;
- any open_clip model: ``python -m similarity.encoders.onnx_export --arch
  ViT-B-32 --pretrained TAG_OR_FILE`` writes ``onnx/<model key>/`` beside the
  embedding store (:func:`similarity.storage.paths.onnx_folder`); the app and
  the indexer use it when present. These keep open_clip's own tokenizer (so
  torch is imported).
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

import torch

from similarity.encoders.bundled import bundled_config, load_bundled
from similarity.encoders.lite import SIZE, load_backbone
from similarity.encoders.onnx_runtime import BACKBONE_ONNX, MANIFEST, OpenClipTokens, Tokens
from similarity.encoders.pretrained import load_checkpoint, load_pretrained
from similarity.storage.paths import BUNDLED_DIR, onnx_folder


def export(encoder, folder: Path, text: dict) -> None:
    """Write both towers of a PyTorch ``encoder`` (open_clip model) as ONNX into ``folder``.

    ``text`` says how to tokenize: ``{"tokenizer": "tokenizers", "file": ...,
    "pad_token": ..., "context_length": ...}`` (a ``tokenizers`` JSON file, as
    the bundled model's MiniLM) or ``{"tokenizer": "open_clip", "arch": ...}``.
    The export changes the model in place: pass an encoder loaded for this only.
    """
    model = encoder.towers.model
    text_tower = getattr(getattr(model, "text", None), "transformer", None)
    if text_tower is not None and hasattr(text_tower, "set_attn_implementation"):
        # The default attention skips the mask when a batch has no padding; traced,
        # that choice would be frozen into the graph. Eager attention always masks.
        text_tower.set_attn_implementation("eager")
    model.eval()

    class Tower(torch.nn.Module):
        """One of the model's towers (``encode_image`` or ``encode_text``), L2-normalised, to trace."""

        def __init__(self, method: str):
            super().__init__()
            self.model, self.method = model, method

        def forward(self, x):
            return torch.nn.functional.normalize(getattr(self.model, self.method)(x).float(), dim=-1)

    folder = Path(folder)
    tmp = folder.with_name(folder.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    size = model.visual.image_size
    size = int(size[0] if isinstance(size, (tuple, list)) else size)
    cfg = getattr(model.visual, "preprocess_cfg", {}) or {}
    from open_clip.constants import OPENAI_DATASET_MEAN, OPENAI_DATASET_STD

    if cfg.get("resize_mode", "shortest") != "shortest" or cfg.get("interpolation", "bicubic") != "bicubic":
        raise ValueError(f"ONNX preprocessing covers bicubic shortest-side resizing only, not {cfg}")
    image_cfg = {
        "size": size,
        "mean": list(cfg.get("mean", OPENAI_DATASET_MEAN)),
        "std": list(cfg.get("std", OPENAI_DATASET_STD)),
    }
    text = dict(text)
    if text["tokenizer"] == "tokenizers":
        shutil.copy(text.pop("file"), tmp / "tokenizer.json")
        tokenize = Tokens(tmp / "tokenizer.json", text["context_length"], text["pad_token"])
    else:
        tokenize = OpenClipTokens(text["arch"])
    manifest = {"key": encoder.key, "image": image_cfg, "text": text}
    (tmp / MANIFEST).write_text(json.dumps(manifest, indent=1), encoding="utf-8")
    tokens = torch.from_numpy(tokenize(["a red fruit", "a cat sitting on a mat"]))  # a batch with padding
    # nn.MultiheadAttention's inference fast path is one fused op that ONNX lacks.
    fastpath = torch.backends.mha.get_fastpath_enabled()
    torch.backends.mha.set_fastpath_enabled(False)
    try:
        with torch.no_grad():
            torch.onnx.export(
                Tower("encode_image"),
                (torch.zeros(2, 3, size, size),),
                str(tmp / "image.onnx"),
                input_names=["pixels"],
                output_names=["features"],
                dynamic_axes={"pixels": {0: "batch"}, "features": {0: "batch"}},
                dynamo=False,
            )
            torch.onnx.export(
                Tower("encode_text"),
                (tokens,),
                str(tmp / "text.onnx"),
                input_names=["tokens"],
                output_names=["features"],
                dynamic_axes={"tokens": {0: "batch", 1: "length"}, "features": {0: "batch"}},
                dynamo=False,
            )
    finally:
        torch.backends.mha.set_fastpath_enabled(fastpath)
    shutil.rmtree(folder, ignore_errors=True)
    tmp.rename(folder)


def export_backbone(path: Path) -> Path:
    """Write model 3.0's frozen backbone alone (pixels -> pooled features, ImageNet logits) as ONNX.

    What training and the "Watch it learn" page start from: the features a
    head learns to map, computed once per picture. The same preprocessing as
    the picture tower (the bundled export's manifest).
    """
    backbone = load_backbone()

    class Both(torch.nn.Module):
        def forward(self, x):
            features = backbone.features(x)
            return features, backbone._fc(features)

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.onnx")
    with torch.no_grad():
        torch.onnx.export(
            Both(),
            (torch.zeros(2, 3, SIZE, SIZE),),
            str(tmp),
            input_names=["pixels"],
            output_names=["features", "logits"],
            dynamic_axes={"pixels": {0: "n"}, "features": {0: "n"}, "logits": {0: "n"}},
            dynamo=False,
        )
    tmp.replace(path)
    return path


def export_bundled(folder: Path | None = None, model: Path = BUNDLED_DIR) -> Path:
    """Export the towers of the bundled model in ``model`` (default: next to its weights); returns the folder.

    Model 3.0 also gets its backbone alone (:func:`export_backbone`).
    """
    target = folder or model / "onnx"
    encoder = load_bundled(model, backend="torch")
    config = bundled_config(model / "config.json")["model_cfg"]
    text_cfg = config["text_cfg"]
    tokenizer = Path(text_cfg["hf_tokenizer_name"]) / "tokenizer.json"
    spec = {"tokenizer": "tokenizers", "file": tokenizer, "pad_token": "[PAD]"}
    export(encoder, target, {**spec, "context_length": text_cfg["context_length"]})
    if config["vision_cfg"].get("backbone"):
        export_backbone(target / BACKBONE_ONNX)
    return target


def export_open_clip(encoder, arch: str, folder: Path | None = None) -> Path:
    """Export a PyTorch-loaded open_clip ``encoder`` of architecture ``arch``; returns the folder."""
    target = folder or onnx_folder(encoder.key)
    export(encoder, target, {"tokenizer": "open_clip", "arch": arch})
    return target


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description="Export a model's towers for ONNX Runtime.")
    parser.add_argument("--arch", help="an open_clip architecture, e.g. ViT-B-32 (default: the bundled model)")
    parser.add_argument("--pretrained", help="its pretrained tag, or a local weights file")
    args = parser.parse_args(argv)
    if not args.arch:
        print(f"exported the bundled model's towers to {export_bundled()}")
        return
    path = Path(args.pretrained or "")
    if path.is_file():
        encoder = load_checkpoint(path, args.arch, backend="torch")
    else:
        encoder = load_pretrained(args.arch, args.pretrained, backend="torch")
    print(f"exported {encoder.name} to {export_open_clip(encoder, args.arch)}")


if __name__ == "__main__":
    main()
