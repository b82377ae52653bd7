"""The model factory end to end on a tiny set (a smoke test), and its honest scoring."""

import ast
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from training import emoji_data

pytestmark = pytest.mark.skipif(not emoji_data.EMOJI_TEST.exists(), reason="needs Debian's unicode-data (make system)")


def test_a_few_training_steps_give_a_loadable_model_that_stores_only_what_it_trained(tmp_path):
    from safetensors.numpy import load_file

    from similarity.encoders.bundled import load_bundled
    from training.train import TrainConfig, train

    train(TrainConfig(steps=3, limit=48, batch=32, styles=("openmoji",), clipart=0.0, out=str(tmp_path)))
    encoder = load_bundled(tmp_path, backend="torch")
    texts = encoder.encode_texts(["a red apple", "a rocket"])
    assert texts.shape == (2, 384) and np.allclose(np.linalg.norm(texts, axis=1), 1, atol=1e-5)
    assert "48 emoji in 1 designs" in encoder.provenance and "ImageNet" in encoder.photo_note  # a photo mode
    stored = load_file(str(tmp_path / "model.safetensors"))
    assert stored and all(k.startswith("visual.") and ".backbone." not in k for k in stored)  # backbone: its package
    assert stored["visual.class_vectors"].shape == (1000, 384)  # the photo mode: ImageNet's class names, encoded


def test_photos_take_the_imagenet_bridge_and_emoji_the_trained_head():
    import torch

    from similarity.encoders.lite import MEAN, SIZE, STD
    from similarity.encoders.onnx_runtime import preprocess
    from similarity.encoders.picture_tower import plain_background
    from training.photos import load_photos
    from training.styles import rendered

    names, photos, _, _ = load_photos()
    emoji, _ = rendered("openmoji", emoji_data.read_emoji()[:60])
    pictures = [*photos, *(Image.fromarray(e) for e in emoji)]
    pixels = torch.from_numpy(np.stack([preprocess(p, SIZE, list(MEAN), list(STD)) for p in pictures]))
    plain = plain_background(pixels).numpy()
    assert plain[len(photos) :].all()  # every emoji
    real = [n for n in names if n in ("chelsea", "coffee", "astronaut", "rocket", "china.jpg", "flower.jpg")]
    assert not any(plain[names.index(n)] for n in real)  # every colour photo of a scene


def test_batches_hold_one_emoji_per_concept_and_hard_negatives_share_subgroups():
    import random

    from training.train import Batches

    train_set, _ = emoji_data.split_by_concept(emoji_data.read_emoji())
    for hard in (False, True):
        chosen = Batches(train_set, 256, hard, random.Random(0))()
        assert len(chosen) == 256
        assert len({train_set[i].concept for i in chosen}) == 256  # no caption is another picture's positive
        subgroups = [train_set[i].subgroup for i in chosen]
        shared = sum(subgroups.count(s) - 1 for s in set(subgroups))
        if hard:
            assert shared > 256 * 0.8  # most emoji meet their own subgroup's neighbours
        else:
            easy_shared = shared
    assert easy_shared < 256 * 0.8


def test_ranks_count_ties_against_the_right_picture_and_colour_bias_is_measured():
    from training.evaluate import colour_bias, ranks_of_own_picture

    sims = np.array([[0.9, 0.1, 0.2], [0.5, 0.5, 0.1], [0.3, 0.8, 0.8]])
    assert list(ranks_of_own_picture(sims)) == [0, 1, 1]
    # Pictures: red, dark red, blue, dark blue. Query 0 wrongly finds dark red (close in colour),
    # query 2 wrongly finds red (far from blue); queries 1 and 3 are right.
    colours = np.array([[1.0, 0, 0], [0.6, 0, 0], [0, 0, 1.0], [0, 0, 0.6]])
    sims = np.array([[0.5, 0.9, 0, 0], [0, 1, 0, 0], [0.9, 0, 0.5, 0], [0, 0, 0, 1]])
    assert colour_bias(sims, colours, np.arange(4)) == (1, 2)
    assert colour_bias(sims, colours, np.array([1, 3])) == (0, 0)


def test_the_app_never_imports_the_model_factory():
    root = Path(__file__).resolve().parent.parent
    runtime = [root / "app.py", *(p for d in ("app_pages", "ui", "similarity") for p in (root / d).rglob("*.py"))]
    assert len(runtime) > 20
    for path in runtime:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            names += [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            assert not any(n == "training" or n.startswith("training.") for n in names), path
