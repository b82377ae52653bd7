"""The ONNX Runtime towers give the bundled model's own vectors (cosine >= 0.999)."""

import numpy as np
import pytest
from PIL import Image

from similarity.encoders import onnx_export, onnx_runtime
from similarity.encoders.bundled import bundled_config, load_bundled

TEXTS = [
    "pizza",
    "a smiling cat with heart-shaped eyes",
    "  two   spaces &amp; an entity ",
    "Crème brûlée",
    "x",
    " ".join(["very long caption"] * 20),  # beyond the 32-token context: truncated
]


@pytest.fixture(scope="module")
def torch_encoder():
    return load_bundled(backend="torch")


@pytest.fixture(scope="module")
def onnx_folder(tmp_path_factory):
    return onnx_export.export_bundled(tmp_path_factory.mktemp("export") / "onnx")


def test_tokens_equal_open_clips_tokenizer(torch_encoder):
    text_cfg = bundled_config()["model_cfg"]["text_cfg"]
    ours = onnx_runtime.Tokens(f"{text_cfg['hf_tokenizer_name']}/tokenizer.json", text_cfg["context_length"], "[PAD]")(
        TEXTS
    )
    theirs = torch_encoder.towers.tokenizer(TEXTS).numpy()
    np.testing.assert_array_equal(ours, theirs)


@pytest.mark.parametrize("size,mode", [((72, 72), "RGB"), ((120, 50), "RGB"), ((33, 90), "RGBA"), ((64, 64), "L")])
def test_preprocessing_equals_open_clips_transform(torch_encoder, size, mode):
    picture = Image.fromarray(
        np.random.default_rng(0).integers(0, 256, (size[1], size[0], len(mode)), np.uint8).squeeze()
    )
    picture = picture.convert(mode)
    means = torch_encoder.towers.model.visual.preprocess_cfg
    ours = onnx_runtime.preprocess(picture, torch_encoder.picture_size, list(means["mean"]), list(means["std"]))
    theirs = torch_encoder.towers.preprocess(picture.convert("RGB")).numpy()
    np.testing.assert_allclose(ours, theirs, atol=1e-5)


def test_onnx_vectors_match_torch(torch_encoder, onnx_folder, demo):
    towers = onnx_runtime.load(onnx_folder, torch_encoder.key)
    assert towers is not None and towers.backend == "ONNX Runtime"
    from similarity.encoders.base import Encoder
    from similarity.ingest.files import open_image

    fast = Encoder(towers, "onnx", "", torch_encoder.key)
    pictures = [open_image(item.image_path) for item in demo.items[::97]]
    captions = [item.caption for item in demo.items[::97]] + TEXTS
    for a, b in (
        (fast.encode_images(pictures), torch_encoder.encode_images(pictures)),
        (fast.encode_texts(captions), torch_encoder.encode_texts(captions)),
    ):
        assert a.dtype == np.float32 and a.shape == b.shape
        assert np.einsum("nd,nd->n", a, b).min() >= 0.999


def test_an_export_for_other_weights_is_ignored(onnx_folder):
    assert onnx_runtime.load(onnx_folder, "emoji-clip-000000000000") is None
    assert onnx_runtime.load(onnx_folder.parent / "missing", "any") is None


@pytest.fixture(scope="module")
def random_vit_b_32(tmp_path_factory):
    """ViT-B-32 with random weights (no download), saved as a local checkpoint."""
    import open_clip
    import torch
    from safetensors.torch import save_file

    torch.manual_seed(0)
    model = open_clip.create_model("ViT-B-32")
    path = tmp_path_factory.mktemp("vit") / "vit-b-32-random.safetensors"
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(path))
    return path


def test_an_open_clip_vit_b_32_on_onnx_gives_torchs_vectors(random_vit_b_32, demo, tmp_path, monkeypatch):
    from similarity.encoders.pretrained import load_checkpoint
    from similarity.ingest.files import open_image

    monkeypatch.setenv("CLIP_EXPLORER_CACHE", str(tmp_path / "embeddings"))
    eager = load_checkpoint(random_vit_b_32, "ViT-B-32", backend="torch")
    assert load_checkpoint(random_vit_b_32, "ViT-B-32").towers.backend == "PyTorch"  # nothing exported yet
    folder = onnx_export.export_open_clip(load_checkpoint(random_vit_b_32, "ViT-B-32", backend="torch"), "ViT-B-32")
    assert folder == tmp_path / "onnx" / eager.key
    fast = load_checkpoint(random_vit_b_32, "ViT-B-32")  # "auto" finds the export
    assert fast.towers.backend == "ONNX Runtime" and fast.key == eager.key
    pictures = [open_image(item.image_path) for item in demo.items[::400]] + [Image.new("RGB", (300, 200), "teal")]
    for a, b in (
        (fast.encode_images(pictures), eager.encode_images(pictures)),
        (fast.encode_texts(TEXTS), eager.encode_texts(TEXTS)),
    ):
        assert a.shape == b.shape == (len(a), 512)
        assert np.einsum("nd,nd->n", a, b).min() >= 0.999
