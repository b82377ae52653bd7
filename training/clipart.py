"""The clipart demo's drawings as training data, and the categories held out from it for the card.

A stated fifth of the clipart's categories never trains (:data:`HELD_OUT`,
every fifth category in alphabetical order from the third): the card's
"clipart, held-out categories" recall is measured on them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

from similarity.ingest.clipart import load_clipart
from training.features import cached_outputs

HELD_OUT = ("buttons", "electronics", "people", "signs_and_symbols")


@dataclass
class Drawings:
    captions: list[str]
    pictures: np.ndarray  # uint8 (n, h, w, 3)

    def features(self, name: str) -> np.ndarray:
        """The backbone's features of the pictures, cached under ``name`` (training needs them, scoring not)."""
        return cached_outputs(name, self.pictures)[0]


def drawings(held_out: bool) -> Drawings:
    """The clipart demo's drawings of the held-out categories (``held_out``) or of all the others."""
    items = [i for i in load_clipart().items if (i.label in HELD_OUT) == held_out]
    pictures = np.stack([np.asarray(Image.open(i.image_path).convert("RGB")) for i in items])
    return Drawings([i.caption for i in items], pictures)
