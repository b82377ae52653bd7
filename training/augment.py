"""Training-time picture augmentation: geometry, background, and colour.

Colour augmentation (hue rotation, greyscale) fights colour bias: a model
that sees a doughnut in many hues must learn its shape. It is skipped for
emoji whose colour is part of what they are (``colour_matters``): a red
heart recoloured blue is a blue heart.
"""

from __future__ import annotations

import math
import re

import torch
import torch.nn.functional as F

OPENAI_MEAN = torch.tensor([0.48145466, 0.4578275, 0.40821073]).view(1, 3, 1, 1)
OPENAI_STD = torch.tensor([0.26862954, 0.26130258, 0.27577711]).view(1, 3, 1, 1)
_COLOUR_WORDS = re.compile(
    r"\b(red|orange|yellow|green|blue|purple|brown|black|white|pink|grey|gray|gold|silver|rainbow|light|dark)\b"
)
LUMA = torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)


def colour_matters(e) -> bool:
    """Flags, and emoji named or described by a colour, keep their colours."""
    return e.group == "Flags" or bool(_COLOUR_WORDS.search(" ".join((e.name, *e.keywords)).lower()))


def hue_rotation(angles: torch.Tensor) -> torch.Tensor:
    """``(n, 3, 3)`` rotations about the grey axis: hues turn, white stays white."""
    u = torch.full((3,), 1 / math.sqrt(3))
    cross = torch.tensor([[0.0, -u[2], u[1]], [u[2], 0.0, -u[0]], [-u[1], u[0], 0.0]])
    c, s = torch.cos(angles).view(-1, 1, 1), torch.sin(angles).view(-1, 1, 1)
    return c * torch.eye(3) + (1 - c) * torch.outer(u, u) + s * cross


def recolour(x: torch.Tensor, allowed: torch.Tensor, gen: torch.Generator, p_hue=0.35, p_grey=0.1) -> torch.Tensor:
    """Turn the hue of some pictures and greys others, only where ``allowed``."""
    n = x.shape[0]
    draw = torch.rand(n, generator=gen)
    hue = allowed & (draw < p_hue)
    grey = allowed & (draw >= p_hue) & (draw < p_hue + p_grey)
    angles = torch.empty(n).uniform_(-math.pi, math.pi, generator=gen) * hue
    x = torch.einsum("nij,njhw->nihw", hue_rotation(angles), x).clamp(0, 1)
    return torch.where(grey.view(-1, 1, 1, 1), (x * LUMA).sum(1, keepdim=True).expand_as(x), x)


def augment(batch: torch.Tensor, px: int, gen: torch.Generator, colour_ok: torch.Tensor | None = None) -> torch.Tensor:
    """Random colour, scale, shift, rotation and background tint; returns normalised input."""
    x = batch.float() / 255
    n = x.shape[0]
    if colour_ok is not None:
        x = recolour(x, colour_ok, gen)
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
