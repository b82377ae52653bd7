"""Loading real open_clip models from files, and clear errors when that fails."""

import json
import shutil

import numpy as np
import open_clip
import pytest
import torch
from PIL import Image
from safetensors.torch import save_file

from similarity.encoders import bundled as models
from similarity.encoders.base import ModelLoadError
from similarity.encoders.pretrained import load_checkpoint, load_pretrained

TINY = "tiny-test-ViT"
TINY_CFG = {
    "embed_dim": 32,
    "vision_cfg": {"image_size": 32, "layers": 1, "width": 64, "patch_size": 16},
    "text_cfg": {"context_length": 16, "vocab_size": 49408, "width": 64, "heads": 2, "layers": 1},
}


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    """A real (tiny) open_clip architecture with random weights, saved two ways."""
    folder = tmp_path_factory.mktemp("tiny")
    (folder / f"{TINY}.json").write_text(json.dumps(TINY_CFG))
    open_clip.add_model_config(folder / f"{TINY}.json")
    torch.manual_seed(0)
    model = open_clip.create_model(TINY).eval()
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(folder / "w.safetensors"))
    torch.save({"state_dict": model.state_dict()}, folder / "w.pt")
    return model, folder


def _reference(model, texts, images):
    preprocess = open_clip.image_transform(32, is_train=False)
    with torch.no_grad():
        t = model.encode_text(open_clip.get_tokenizer(TINY)(texts))
        i = model.encode_image(torch.stack([preprocess(im) for im in images]))
    return (torch.nn.functional.normalize(t, dim=-1).numpy(), torch.nn.functional.normalize(i, dim=-1).numpy())


@pytest.mark.parametrize("file", ["w.safetensors", "w.pt"])
def test_checkpoint_round_trip_gives_identical_embeddings(tiny_model, file):
    model, folder = tiny_model
    texts = ["a cat", "a red car"]
    images = [Image.new("RGB", (50, 40), c) for c in ("red", "navy")]
    encoder = load_checkpoint(folder / file, TINY)
    want_t, want_i = _reference(model, texts, images)
    got_t, got_i = encoder.encode_texts(texts), encoder.encode_images(images)
    assert got_t.dtype == np.float32 and got_t.shape == (2, 32) and encoder.dim == 32
    np.testing.assert_allclose(np.linalg.norm(got_i, axis=1), 1, rtol=1e-5)
    np.testing.assert_allclose(got_t, want_t, atol=1e-5)
    np.testing.assert_allclose(got_i, want_i, atol=1e-5)
    assert file in encoder.provenance and encoder.key.startswith(TINY)


def test_truncated_or_missing_checkpoint_names_the_file(tiny_model, tmp_path):
    _, folder = tiny_model
    broken = tmp_path / "broken.safetensors"
    broken.write_bytes((folder / "w.safetensors").read_bytes()[:1000])
    with pytest.raises(ModelLoadError, match="broken.safetensors"):
        load_checkpoint(broken, TINY)
    with pytest.raises(ModelLoadError, match="no such file"):
        load_checkpoint(tmp_path / "nope.pt", TINY)
    with pytest.raises(ModelLoadError, match="expected a .safetensors"):
        load_checkpoint(tmp_path / "weights.txt", TINY)


def test_checkpoint_for_another_architecture_is_refused(tiny_model):
    _, folder = tiny_model
    with pytest.raises(ModelLoadError, match="architecture matches"):
        load_checkpoint(folder / "w.safetensors", "ViT-B-32")
    with pytest.raises(ModelLoadError, match="Unknown architecture 'ViT-Z-99'"):
        load_checkpoint(folder / "w.safetensors", "ViT-Z-99")


def test_offline_pretrained_model_raises_a_clear_error(tmp_path):
    with pytest.raises(ModelLoadError) as err:
        load_pretrained("ViT-B-32", "laion2b_s34b_b79k", cache_dir=str(tmp_path))
    message = str(err.value)
    assert "ViT-B-32 / laion2b_s34b_b79k" in message and "Local checkpoint" in message
    with pytest.raises(ModelLoadError, match="not-a-tag"):
        load_pretrained("ViT-B-32", "not-a-tag", cache_dir=str(tmp_path))


def test_changed_or_missing_text_tower_files_are_refused(tmp_path):
    copy = tmp_path / "model"
    shutil.copytree(models.minilm_dir(), copy)
    models.verify_files(copy, models.MINILM_SHA256)  # an intact copy passes
    (copy / "vocab.txt").write_text("tampered")
    with pytest.raises(ModelLoadError, match="vocab.txt has sha256"):
        models.verify_files(copy, models.MINILM_SHA256)
    (copy / "vocab.txt").unlink()
    with pytest.raises(ModelLoadError, match="vocab.txt is missing"):
        models.verify_files(copy, models.MINILM_SHA256)


def test_missing_bundled_weights_say_how_to_rebuild(tmp_path):
    with pytest.raises(ModelLoadError, match="make model"):
        models.load_bundled(tmp_path)
