"""The clipart demo's drawings as training data, and the categories held out from it for the card.

A stated fifth of the clipart's categories never trains (:data:`HELD_OUT`,
every fifth category in alphabetical order from the third): the card's
"clipart, held-out categories" recall is measured on them.

Only drawings with English titles train (:func:`english_titled`): a third of
the package's titles are Italian ("ragazza seduta"), French or program names
("kjumpingcube"), and a head trained on them learns that words it does not
know have pictures, so nonsense queries reached real cosines and true
answers were called "no real match".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

import numpy as np
from PIL import Image

from similarity.encoders.bundled import minilm_dir
from similarity.encoders.lite import imagenet_classes
from similarity.ingest.clipart import load_clipart
from training import emoji_data
from training.features import cached_outputs

HELD_OUT = ("buttons", "electronics", "people", "signs_and_symbols")


@dataclass
class Drawings:
    captions: list[str]
    pictures: np.ndarray  # uint8 (n, h, w, 3)

    def features(self, name: str) -> np.ndarray:
        """The backbone's features of the pictures, cached under ``name`` (training needs them, scoring not)."""
        return cached_outputs(name, self.pictures)[0]

    def subset(self, keep: np.ndarray) -> Drawings:
        return Drawings([c for c, k in zip(self.captions, keep) if k], self.pictures[keep])


@cache
def english_words() -> frozenset[str]:
    """Whole words of MiniLM's vocabulary, the emoji names and keywords, and ImageNet's class names."""
    vocabulary = (minilm_dir() / "vocab.txt").read_text().split()
    emoji = emoji_data.read_emoji()
    english = [e.name for e in emoji] + [k for e in emoji for k in e.keywords] + imagenet_classes()
    return frozenset(w for w in vocabulary if w.isalpha()) | {w for text in english for w in _words(text)}


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z]+", text.lower())


def english_titled(captions: list[str]) -> np.ndarray:
    """Which captions' titles (the words outside the folder's brackets) are at least half English words."""
    known = english_words()
    titles = [_words(re.sub(r"\(.*?\)", "", c)) for c in captions]
    return np.array([bool(t) and sum(w in known for w in t) >= len(t) / 2 for t in titles])


def drawings(held_out: bool) -> Drawings:
    """The clipart demo's drawings of the held-out categories (``held_out``) or of all the others."""
    items = [i for i in load_clipart().items if (i.label in HELD_OUT) == held_out]
    pictures = np.stack([np.asarray(Image.open(i.image_path).convert("RGB")) for i in items])
    return Drawings([i.caption for i in items], pictures)
