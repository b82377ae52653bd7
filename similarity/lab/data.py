"""What the "Watch it learn" page trains on: the emoji demo, seen through model 3.0's frozen parts.

A picture is its frozen backbone's 1,280 pooled features (EfficientNet-Lite0,
computed once, :data:`~similarity.storage.paths.DEMO_FEATURES`); a caption is
its frozen text tower's unit vector. Only a head between them trains, so a
step is a few small matrix products. The demo's ``split`` column (the one
model 3.0 was trained with) says which concepts train and which are held
out: recall on those shows whether the head learned something general.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from similarity.encoders import Encoder, load_encoder
from similarity.encoders.bundled import BACKBONE
from similarity.ingest.collection import Collection, load_demo
from similarity.ingest.space import Space
from similarity.storage.keys import IMAGE, content_id
from similarity.storage.paths import DEMO_DIR, DEMO_FEATURES

BATCH = 64  # pictures per backbone call
# The similarity matrix's pictures: things every student knows, with two close pairs (cat/dog, apple/banana)
# whose off-diagonal cells stay warmer than the rest. Names missing from the training split are replaced.
SHOWN = ("cat face", "dog face", "red apple", "banana", "automobile", "bicycle", "guitar", "rocket")


@dataclass(frozen=True)
class LabData:
    features: np.ndarray  # (n, 1280) float32 backbone features, standardised on the training split
    captions: np.ndarray  # (n, d) float32 unit vectors: each picture's own caption
    names: list[str]  # each picture's caption, as text
    paths: list[Path]  # each picture's file (the page shows them)
    train: np.ndarray  # rows whose concepts train
    unseen: np.ndarray  # rows whose concepts training never sees
    shown: np.ndarray  # training rows of the similarity matrix (:data:`SHOWN` where present)
    key: str  # content of all the above: runs are cached under it

    def __post_init__(self):
        if len(self.train) < 2 or len(self.unseen) < 1:
            raise ValueError("the lab needs at least 2 training pictures and 1 held-out one")


def backbone_features(encoder: Encoder, collection: Collection, path: Path = DEMO_FEATURES) -> np.ndarray:
    """The frozen backbone's features of every picture, read from ``path`` when it holds this collection's."""
    tag = f"{BACKBONE}/{collection.content_hash}"
    try:
        with np.load(path, allow_pickle=False) as saved:
            if str(saved["tag"]) == tag:
                return saved["features"].astype(np.float32)
    except (OSError, ValueError, KeyError):
        pass  # missing, stale or unreadable: computed again
    towers = encoder.towers
    if not hasattr(towers, "backbone"):
        raise ValueError(f"{encoder.name} runs without its exported backbone: run `make` first")
    items = collection.items
    parts = [
        towers.backbone([Image.open(i.image_path) for i in items[start : start + BATCH]])[0]
        for start in range(0, len(items), BATCH)
    ]
    features = np.concatenate(parts).astype(np.float32)
    tmp = path.with_suffix(".tmp.npz")
    np.savez(tmp, tag=np.array(tag), features=features.astype(np.float16))
    tmp.replace(path)
    return features


def demo_split(folder: Path = DEMO_DIR) -> dict[str, str]:
    """Picture file -> ``train`` or ``held-out`` (the demo's ``split`` column)."""
    with open(folder / "captions.csv", newline="", encoding="utf-8") as f:
        return {row["file"]: row["split"] for row in csv.DictReader(f)}


def lab_data(collection: Collection, features: np.ndarray, captions: np.ndarray, split: dict[str, str]) -> LabData:
    """The lab's data from a captioned collection, its backbone ``features`` and its ``captions``' vectors."""
    items = collection.items
    which = np.array([split.get(i.source, "") for i in items])
    train, unseen = np.flatnonzero(which == "train"), np.flatnonzero(which == "held-out")
    standard = (features - features[train].mean(0)) / (features[train].std(0) + 1e-3)
    return LabData(
        standard.astype(np.float32),
        captions.astype(np.float32),
        [i.caption or i.source for i in items],
        [i.image_path for i in items],
        train,
        unseen,
        shown_rows([i.caption or "" for i in items], train),
        # The features follow from the pictures (in the content hash) and the fixed backbone; captions from the model.
        content_id(f"{collection.content_hash}/{BACKBONE}".encode() + captions.tobytes()),
    )


def shown_rows(names: list[str], train: np.ndarray, wanted: tuple[str, ...] = SHOWN) -> np.ndarray:
    """Training rows named in ``wanted`` (in its order), then the first other training rows up to its length."""
    row_of = {names[r]: r for r in train}
    chosen = [row_of[n] for n in wanted if n in row_of]
    chosen += [r for r in train if r not in chosen][: len(wanted) - len(chosen)]
    return np.array(chosen)


def pictures_by_item(space: Space) -> np.ndarray:
    """``(items, d)``: each item's picture vector in a model's space, in the collection's item order."""
    rows = space.rows((IMAGE,))
    vectors = np.zeros((len(space.items), space.vectors.shape[1]), np.float32)
    vectors[space.item[rows]] = space.vectors[rows]
    return vectors


if __name__ == "__main__":  # make: the lab's features, so its first run starts at once
    demo = load_demo()
    print(f"backbone features of {len(backbone_features(load_encoder('bundled'), demo)):,} pictures in {DEMO_FEATURES}")
