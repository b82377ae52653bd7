"""Model 3.0's picture tower: a frozen pretrained backbone, a trained head, and a photo mode.

- **Icons and drawings** (a plain background): the frozen EfficientNet-Lite0's
  pooled features (:mod:`similarity.encoders.lite`), standardised, go through
  a small MLP trained contrastively into the frozen MiniLM sentence space
  (``training/``); a share of the photo mode's vector is mixed in.
- **Photos** (no plain background): the ImageNet-label bridge. The backbone's
  1,000 class probabilities weight MiniLM's vectors of the class names: a
  photo of a tabby lands near "tabby, tabby cat" with no training at all,
  which the head, trained on drawings only, cannot do.

The switch is per picture and inside the graph (so ONNX gives the same):
a picture counts as plain when most of its outer border is within a few
levels of the border's median colour (every emoji render passes; photos
with a uniform frame, such as the moon on black, go to the head).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from similarity.encoders.lite import FEATURES, MEAN, SIZE, STD, EfficientNetLite0

BORDER = 0.04  # the outer share of each side looked at
CLOSE = 12 / 255  # a border pixel within this of the median colour (every channel) is "background"
PLAIN = 0.8  # share of such pixels that makes a plain background


def plain_background(pixels: torch.Tensor) -> torch.Tensor:
    """(n,) bool: which pictures (normalised as :data:`MEAN`/:data:`STD`) have a plain background."""
    raw = pixels * torch.tensor(STD).view(1, 3, 1, 1) + torch.tensor(MEAN).view(1, 3, 1, 1)
    height, width = int(raw.shape[-2]), int(raw.shape[-1])
    b = max(1, int(BORDER * min(height, width)))
    strips = [raw[..., :b, :], raw[..., -b:, :], raw[..., :, :b].transpose(-1, -2), raw[..., :, -b:].transpose(-1, -2)]
    border = torch.cat([s.flatten(2) for s in strips], dim=2)  # (n, 3, border pixels)
    median = torch.sort(border, dim=2).values[..., border.shape[2] // 2 : border.shape[2] // 2 + 1]
    close = ((border - median).abs().amax(dim=1) < CLOSE).float().mean(dim=1)
    return close >= PLAIN


class PictureTower(nn.Module):
    """Pixels -> a vector in MiniLM's space (see the module's docstring); L2-normalised."""

    image_size = SIZE
    preprocess_cfg = {"mean": MEAN, "std": STD}

    def __init__(self, backbone: EfficientNetLite0, dim: int = 384, hidden: int = 1024, dropout: float = 0.3):
        super().__init__()
        self.backbone = backbone
        self.register_buffer("feature_mean", torch.zeros(FEATURES))
        self.register_buffer("feature_std", torch.ones(FEATURES))
        self.head = nn.Sequential(
            nn.Dropout(dropout), nn.Linear(FEATURES, hidden), nn.GELU(), nn.Dropout(dropout), nn.Linear(hidden, dim)
        )
        self.register_buffer("class_vectors", torch.zeros(1000, dim))  # MiniLM's unit vectors of the class names
        self.register_buffer("icon_bridge", torch.tensor(0.3))  # share of the bridge mixed into icons

    def head_vectors(self, features: torch.Tensor) -> torch.Tensor:
        """The trained head on pooled backbone features (what training sees: features are cached)."""
        return F.normalize(self.head((features - self.feature_mean) / self.feature_std), dim=-1)

    def bridge_vectors(self, logits: torch.Tensor) -> torch.Tensor:
        """The ImageNet-label bridge: class probabilities times the class names' vectors."""
        return F.normalize(logits.softmax(dim=-1) @ self.class_vectors, dim=-1)

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        features = self.backbone.features(pixels)
        bridge = self.bridge_vectors(self.backbone._fc(features))
        icon = F.normalize((1 - self.icon_bridge) * self.head_vectors(features) + self.icon_bridge * bridge, dim=-1)
        return torch.where(plain_background(pixels)[:, None], icon, bridge)


class LiteClip(nn.Module):
    """Model 3.0 as open_clip's interface sees it: ``visual``, ``text``, ``encode_image``, ``encode_text``."""

    def __init__(self, visual: PictureTower, text: nn.Module):
        super().__init__()
        self.visual, self.text = visual, text

    def encode_image(self, pixels, normalize: bool = False):
        return self.visual(pixels)  # already unit length

    def encode_text(self, tokens, normalize: bool = False):
        features = self.text(tokens)
        return F.normalize(features, dim=-1) if normalize else features
