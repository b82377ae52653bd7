"""Named icon sets as more training concepts: each icon's name is its caption.

Emoji give 1,510 training concepts; free-form questions and pictures of other
designs ask about many more. Iconify's named sets draw thousands of other
things (game-icons: 4,134 silhouettes, "kevlar vest", "battle axe"; pinhead:
2,682 small colour pictures with sentence-like names). They train beside the
clipart, a share of each batch.

Kept honest: an icon whose name shares a word with an emoji concept held out
from training ("butterfly", "anchor") is dropped, so the card's "unseen
concepts" stay unseen; names that are not mostly English words, or shorter
than a real word, are dropped as in the clipart; a name drawn twice keeps its
first picture (one picture per caption, so no caption in a batch is another
picture's too).
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import numpy as np

from training import emoji_data
from training.clipart import Drawings, english_titled
from training.styles import CACHE, ICONIFY, PX, draw_icon, iconify_dir

ICON_SETS = ("game-icons", "pinhead")
# Colour and size words name no concept: "blue heart" being held out must not drop every blue icon.
_NOT_CONCEPTS = {"with", "of", "and", "the", "a", "an", "in", "on", "for", "to", "at", "button"}
_NOT_CONCEPTS |= {"black", "white", "red", "blue", "green", "yellow", "orange", "purple", "brown"}
_NOT_CONCEPTS |= {"light", "dark", "medium", "small", "large", "big", "little"}


def caption_of(name: str) -> str:
    """An icon's name as words: ``kevlar-vest-2`` -> ``kevlar vest``."""
    return " ".join(w for w in name.split("-") if not w.isdigit())


def unseen_words() -> frozenset[str]:
    """The words that name the emoji concepts training never sees."""
    _, unseen = emoji_data.split_by_concept(emoji_data.read_emoji())
    return frozenset(w for e in unseen for w in e.concept.split() if w not in _NOT_CONCEPTS)


def kept_names(names: list[str]) -> list[str]:
    """The icon names that may train: English, a real word, no held-out concept, each caption once."""
    captions = [caption_of(n) for n in names]
    english, held_out, seen, kept = english_titled(captions), unseen_words(), set(), []
    for name, caption, ok in zip(names, captions, english):
        words = set(re.findall(r"[a-z]+", caption))
        if ok and max(map(len, words), default=0) >= 3 and not words & held_out and caption not in seen:
            seen.add(caption)
            kept.append(name)
    return kept


def icon_drawings(icon_set: str) -> Drawings:
    """A named set's kept icons on white, rendered once and cached on disk."""
    version = ICONIFY[icon_set][1]
    data = json.loads((iconify_dir(icon_set) / "icons.json").read_text(encoding="utf-8"))
    names = kept_names(sorted(data["icons"]))
    key = hashlib.sha256("|".join([icon_set, version, str(PX), *names]).encode()).hexdigest()[:16]
    path: Path = CACHE / f"icons-{icon_set}-{PX}-{key}.npz"
    if not path.exists():
        size = {"width": data.get("width", 16), "height": data.get("height", 16)}
        drawn = {n: np.asarray(p) for n in names if (p := draw_icon({**size, **data["icons"][n]}, PX)) is not None}
        captions = [caption_of(n) for n in drawn]
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp.npz")
        np.savez(tmp, pictures=np.stack(list(drawn.values())), captions=np.array(captions))
        tmp.replace(path)
    with np.load(path) as saved:
        return Drawings([str(c) for c in saved["captions"]], saved["pictures"])
