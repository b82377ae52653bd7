"""Contrastive training of the bundled model 3.0: a head on a frozen pretrained backbone, into MiniLM's space.

Recipe (LiT, Zhai et al. 2022, "locked-image tuning", with both towers
locked here): the picture backbone (EfficientNet-Lite0, ImageNet-1k,
:mod:`similarity.encoders.lite`) and the text tower (all-MiniLM-L6-v2) stay
frozen; only a small MLP from the backbone's pooled features into MiniLM's
384-d sentence space trains, with the CLIP loss (symmetric InfoNCE, learnable
temperature). Both frozen sides are computed once: the backbone's features
per picture (:mod:`training.features`, cached on disk) and MiniLM's vector
per caption, so a training step is two small matrix products.

Training pictures: every training concept (:func:`training.emoji_data.split_by_concept`)
in the ten training designs (:data:`training.styles.TRAINING_STYLES`), and
optionally, each a set share of each batch, the clipart demo's English-titled
drawings outside its held-out categories (:data:`training.clipart.HELD_OUT`)
and named icons (:mod:`training.icons`). The photo mode needs no training: the ImageNet-label
bridge is the backbone's class probabilities times MiniLM's vectors of the
class names (:mod:`similarity.encoders.picture_tower`).

Reproduce the committed weights, their card and the demo's vectors (2 CPU
cores): ``make model`` (see :mod:`training.rebuild`).
"""

from __future__ import annotations

import argparse
import json
import math
import random
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from similarity.encoders.bundled import BACKBONE, build_bundled, minilm_dir
from similarity.encoders.lite import SIZE, imagenet_classes
from similarity.storage.paths import BUNDLED_DIR
from training import clipart, emoji_data, icons
from training.features import cached_outputs
from training.styles import TRAINING_STYLES, rendered

MINILM_DIM = 384
TRAINED = ("visual.head.", "visual.feature_", "visual.class_vectors", "visual.icon_bridge")  # what the file holds


@dataclass
class TrainConfig:
    steps: int = 3000  # the shipped recipe: a few minutes on 2 cores once the features are cached
    batch: int = 256
    lr: float = 1e-3
    weight_decay: float = 0.05
    warmup_steps: int = 50
    hidden: int = 1024  # the head's hidden width
    dropout: float = 0.3
    icon_bridge: float = 0.3  # share of the ImageNet-label bridge mixed into icons' vectors
    styles: tuple = TRAINING_STYLES  # emoji designs seen in training
    clipart: float = 0.25  # share of each batch drawn from the clipart's English-titled training drawings (0: none)
    icons: float = 0.0  # share of each batch drawn from the named icon sets (training.icons; 0: none)
    hard_negatives: bool = False  # fill batches with emoji of the same Unicode subgroup
    seed: int = 0
    limit: int = 0  # train on the first N training emoji only (a smoke test); 0: all
    out: str = str(BUNDLED_DIR)


def model_config(cfg: TrainConfig) -> dict:
    """The saved config: model 3.0's picture tower and the frozen MiniLM text tower (identity projection)."""
    vision = dict(backbone=BACKBONE, image_size=SIZE, hidden=cfg.hidden, dropout=cfg.dropout)
    text = dict(hf_model_name=None, hf_tokenizer_name=None, hf_proj_type=None, hf_pooler_type="mean_pooler")
    return dict(embed_dim=MINILM_DIM, vision_cfg=vision, text_cfg={**text, "context_length": 32})


class Batches:
    """Which emoji a step trains on: at most one per concept, so no caption
    in a batch is a false negative for another picture.

    With ``hard_negatives`` a batch is filled subgroup by subgroup (up to 8
    emoji of each), so the model must tell a cat from a dog, not only a cat
    from a car.
    """

    def __init__(self, train_set, batch: int, hard_negatives: bool, rng: random.Random):
        self.train_set, self.batch, self.hard, self.rng = train_set, batch, hard_negatives, rng
        self.by_subgroup: dict[str, list[int]] = {}
        for i, e in enumerate(train_set):
            self.by_subgroup.setdefault(e.subgroup, []).append(i)

    def __call__(self) -> np.ndarray:
        if self.hard:
            groups = list(self.by_subgroup.values())
            self.rng.shuffle(groups)
            order = [i for g in groups for i in self.rng.sample(g, min(8, len(g)))]
        else:
            order = self.rng.sample(range(len(self.train_set)), len(self.train_set))
        chosen, concepts = [], set()
        for i in order:
            if self.train_set[i].concept not in concepts:
                concepts.add(self.train_set[i].concept)
                chosen.append(i)
                if len(chosen) == self.batch:
                    break
        return np.array(chosen)


def training_features(train_set, styles) -> tuple[np.ndarray, np.ndarray]:
    """Backbone features of every training emoji in every style it is drawn in, and each one's owner."""
    emoji = emoji_data.read_emoji()
    position = {e: i for i, e in enumerate(train_set)}
    features, owner = [], []
    for style in styles:
        pictures, index = rendered(style, emoji)
        keep = [j for j, i in enumerate(index) if emoji[i] in position]
        features.append(cached_outputs(style, pictures[keep])[0])
        owner.extend(position[emoji[index[j]]] for j in keep)
    return np.concatenate(features), np.array(owner)


@dataclass
class Extra:
    """Pictures beyond emoji that train a set share of each batch."""

    what: str  # for the provenance line, e.g. "public-domain drawings"
    drawings: clipart.Drawings
    features: np.ndarray  # the backbone's, one row per drawing
    per_batch: int


def extra_drawings(cfg: TrainConfig) -> list[Extra]:
    """The clipart's English-titled training drawings and the named icon sets, as the config asks."""
    extras = []
    if cfg.clipart:
        drawn = clipart.drawings(held_out=False)
        english = clipart.english_titled(drawn.captions)
        features = drawn.features("clipart-training")[english]
        extras.append(Extra("public-domain drawings", drawn.subset(english), features, int(cfg.batch * cfg.clipart)))
    if cfg.icons:
        sets = [icons.icon_drawings(s) for s in icons.ICON_SETS]
        features = np.concatenate([d.features(f"icons-{s}") for s, d in zip(icons.ICON_SETS, sets)])
        both = clipart.Drawings([c for d in sets for c in d.captions], np.concatenate([d.pictures for d in sets]))
        extras.append(Extra("named icons", both, features, int(cfg.batch * cfg.icons)))
    return extras


def encode_texts(model, tokenizer, texts: list[str]) -> torch.Tensor:
    """The frozen text tower's unit vectors."""
    with torch.inference_mode():
        parts = [model.encode_text(tokenizer(texts[i : i + 256])) for i in range(0, len(texts), 256)]
    return F.normalize(torch.cat(parts), dim=-1).clone()


def train(cfg: TrainConfig) -> Path:
    torch.manual_seed(cfg.seed)
    rng = random.Random(cfg.seed)
    emoji = emoji_data.read_emoji()
    train_set, _ = emoji_data.split_by_concept(emoji)
    train_set = train_set[: cfg.limit] if cfg.limit else train_set
    t0 = time.time()
    features, owner = training_features(train_set, cfg.styles)
    pictures_of = [np.flatnonzero(owner == i) for i in range(len(train_set))]
    extras = extra_drawings(cfg)
    print(f"{len(features)} training pictures of {len(train_set)} emoji ready in {time.time() - t0:.0f}s", flush=True)

    folder = str(minilm_dir())
    full_cfg = {"model_cfg": model_config(cfg)}
    full_cfg["model_cfg"]["text_cfg"].update(hf_model_name=folder, hf_tokenizer_name=folder)
    model, tokenizer = build_bundled(full_cfg)
    visual = model.visual
    captions = [e.captions() for e in train_set]
    flat = [c for cs in captions for c in cs]
    first = np.cumsum([0] + [len(cs) for cs in captions])
    t0 = time.time()
    cached = encode_texts(model, tokenizer, flat)
    visual.class_vectors.copy_(encode_texts(model, tokenizer, imagenet_classes()))
    drawn = [encode_texts(model, tokenizer, e.drawings.captions) for e in extras]
    print(f"encoded {len(flat)} captions and 1,000 class names in {time.time() - t0:.0f}s", flush=True)

    everything = np.concatenate([features, *(e.features for e in extras)])
    visual.feature_mean.copy_(torch.from_numpy(everything.mean(0)))
    visual.feature_std.copy_(torch.from_numpy(everything.std(0) + 1e-3))
    visual.icon_bridge.fill_(cfg.icon_bridge)
    features = torch.from_numpy(features)
    params = list(visual.head.parameters())
    logit_scale = torch.nn.Parameter(torch.tensor(math.log(1 / 0.07)))
    decay = [p for p in params if p.ndim >= 2]
    opt = torch.optim.AdamW(
        [
            {"params": decay, "weight_decay": cfg.weight_decay},
            {"params": [p for p in params if p.ndim < 2] + [logit_scale], "weight_decay": 0.0},
        ],
        lr=cfg.lr,
    )
    batches = Batches(train_set, cfg.batch - sum(e.per_batch for e in extras), cfg.hard_negatives, rng)
    start, log = time.time(), []
    visual.head.train()
    for step in range(cfg.steps):
        lr = cfg.lr * min(1.0, (step + 1) / cfg.warmup_steps) * 0.5 * (1 + math.cos(math.pi * step / cfg.steps))
        for group in opt.param_groups:
            group["lr"] = lr
        chosen = batches()
        x = features[np.array([rng.choice(pictures_of[i]) for i in chosen])]
        t = cached[np.array([first[i] + rng.randrange(len(captions[i])) for i in chosen])]
        for extra, vectors in zip(extras, drawn):
            some = np.array(rng.sample(range(len(vectors)), extra.per_batch))
            x, t = torch.cat([x, torch.from_numpy(extra.features[some])]), torch.cat([t, vectors[some]])
        logits = logit_scale.exp() * visual.head_vectors(x) @ t.T
        labels = torch.arange(len(t))
        loss = (F.cross_entropy(logits, labels) + F.cross_entropy(logits.T, labels)) / 2
        opt.zero_grad()
        loss.backward()
        opt.step()
        with torch.no_grad():
            logit_scale.clamp_(0, math.log(100))
        if (step + 1) % 100 == 0:
            log.append({"step": step + 1, "seconds": round(time.time() - start), "loss": round(loss.item(), 4)})
            print(log[-1], flush=True)
    visual.head.eval()
    return save(model, cfg, full_cfg, log, len(train_set), extras)


def save(model, cfg: TrainConfig, full_cfg: dict, log: list, n_emoji: int, extras: list[Extra]) -> Path:
    from safetensors.torch import save_file

    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    # The frozen text tower and backbone ship in their own packages; store what training made.
    state = model.state_dict()
    save_file({k: v.contiguous() for k, v in state.items() if k.startswith(TRAINED)}, str(out / "model.safetensors"))
    full_cfg["model_cfg"]["text_cfg"].update(hf_model_name=None, hf_tokenizer_name=None)
    more = "".join(f" and {len(e.drawings.captions):,} {e.what}" for e in extras)
    meta = {
        "name": "emoji-clip 3.0 (EfficientNet-Lite0 + frozen MiniLM text)",
        "provenance": (
            f"Trained by this project on {n_emoji} emoji in {len(cfg.styles)} designs{more}: a small head on "
            "EfficientNet-Lite0 (ImageNet-1k, frozen) into the frozen all-MiniLM-L6-v2 text space. "
            "Photos get ImageNet's 1,000 classes, read through the text tower."
        ),
        "photo_note": (
            "Photos are read through the 1,000 things ImageNet names (animals, vehicles, food, everyday objects): "
            "those are found; scenes, people, text and abstract ideas much less well. For photo collections a "
            "pretrained open_clip model (sidebar) does better."
        ),
        "model_cfg": full_cfg["model_cfg"],
        "train_cfg": {k: v for k, v in asdict(cfg).items() if k != "out"},  # the recipe, not where it was saved
    }
    (out / "config.json").write_text(json.dumps(meta, indent=2) + "\n")
    (out / "train_log.json").write_text(json.dumps(log) + "\n")
    print(f"saved {out}", flush=True)
    return out


def parse_args(argv=None) -> TrainConfig:
    """Every :class:`TrainConfig` field as a ``--flag`` (booleans take yes/no)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    for name, default in asdict(TrainConfig()).items():
        flag = f"--{name.replace('_', '-')}"
        if isinstance(default, tuple):
            parser.add_argument(flag, nargs="+", default=default)
        elif isinstance(default, bool):
            parser.add_argument(flag, type=lambda v: v.lower() in ("yes", "true", "1"), default=default)
        else:
            parser.add_argument(flag, type=type(default), default=default)
    args = vars(parser.parse_args(argv))
    return TrainConfig(**{**args, "styles": tuple(args["styles"])})


if __name__ == "__main__":
    train(parse_args())
