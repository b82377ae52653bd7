"""Held-out quality of the bundled emoji model, printed and written to its card.

Run ``python -m similarity.evaluate_bundled``. Concepts are split with a
fixed seed by :func:`similarity.emoji_data.split_by_concept` (close variants
on one side), so "unseen" means the model never saw that concept in training.
Twemoji is a design style never used in training.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import numpy as np

from similarity import emoji_data
from similarity.evaluate import recall_at_k
from similarity.models import BUNDLED_DIR, Encoder, load_bundled
from similarity.search import top_k
from similarity.train import render

FREE_FORM = (
    "a vehicle",
    "music",
    "something to eat for breakfast",
    "a wild animal",
    "weather",
    "love",
    "sports",
    "an office supply",
    "a building",
    "a sad face",
)


def _images(encoder: Encoder, emoji, style: str):
    pictures, kept = [], []
    for i, e in enumerate(emoji):
        im = render(e, style, 72)
        if im is not None:
            pictures.append(im)
            kept.append(i)
    return encoder.encode_images(pictures), np.array(kept)


def evaluate(encoder: Encoder, k: int = 5) -> dict:
    """Recall@k figures and free-form top-k lists, as a JSON-ready dict."""
    all_emoji = emoji_data.read_emoji()
    train, test = emoji_data.split_by_concept(all_emoji)
    out = {"k": k, "n_train_emoji": len(train), "n_unseen_emoji": len(test)}

    def t2i(emoji, style):
        gallery, kept = _images(encoder, emoji, style)
        names = encoder.encode_texts([emoji[i].name for i in kept])
        return recall_at_k(names, gallery, np.arange(len(kept)), k), len(kept), gallery, names

    out["t2i_unseen_noto"], out["n_gallery_unseen_noto"], gallery, names = t2i(test, "noto")
    out["i2t_unseen_noto"] = recall_at_k(gallery, names, np.arange(len(names)), k)
    out["t2i_unseen_twemoji"], out["n_gallery_unseen_twemoji"], *_ = t2i(test, "twemoji")
    out["t2i_seen_twemoji"], out["n_gallery_seen_twemoji"], *_ = t2i(train, "twemoji")
    out["t2i_seen_noto"], out["n_gallery_seen_noto"], *_ = t2i(train, "noto")
    full, kept = _images(encoder, all_emoji, "noto")
    out["n_gallery_all_noto"] = len(kept)
    queries = encoder.encode_texts(list(FREE_FORM))
    out["free_form"] = {
        q: [all_emoji[kept[i]].name for i in top_k(queries[j], full, k).indices] for j, q in enumerate(FREE_FORM)
    }
    return out


# (label, gallery-size key, unit, value key, is a target figure)
CARD_ROWS = (
    ("text->image, unseen concepts, Noto", "n_gallery_unseen_noto", "images", "t2i_unseen_noto", True),
    (
        "text->image, unseen concepts, Twemoji (unseen style)",
        "n_gallery_unseen_twemoji",
        "images",
        "t2i_unseen_twemoji",
        True,
    ),
    (
        "text->image, training concepts, Twemoji (unseen style)",
        "n_gallery_seen_twemoji",
        "images",
        "t2i_seen_twemoji",
        True,
    ),
    ("image->text, unseen concepts, Noto", "n_gallery_unseen_noto", "names", "i2t_unseen_noto", True),
    (
        "text->image, training concepts, Noto (fit, not held out)",
        "n_gallery_seen_noto",
        "images",
        "t2i_seen_noto",
        False,
    ),
)


def write_card(result: dict, folder: Path = BUNDLED_DIR) -> None:
    """quality.json plus the numbers table inside the model card."""
    (folder / "quality.json").write_text(json.dumps(result, indent=2) + "\n")
    card = folder.parent / "README.md"
    k = result["k"]
    rows = [
        (
            f"| {label} | {result[n]} {unit} | **{result[v]:.3f}** |"
            if bold
            else f"| {label} | {result[n]} {unit} | {result[v]:.3f} |"
        )
        for label, n, unit, v, bold in CARD_ROWS
    ]
    table = "\n".join(
        [
            "<!-- numbers:start (written by python -m similarity.evaluate_bundled) -->",
            f"| measure (recall@{k}) | gallery | value |",
            "| --- | --- | --- |",
            *rows,
            "",
            f"Free-form queries, top-{k} of all {result['n_gallery_all_noto']} Noto emoji:",
            "",
            *[f"- *{q}*: {', '.join(names)}" for q, names in result["free_form"].items()],
            "<!-- numbers:end -->",
        ]
    )
    text = card.read_text(encoding="utf-8")
    card.write_text(
        re.sub(r"<!-- numbers:start.*?<!-- numbers:end -->", lambda _: table, text, flags=re.S), encoding="utf-8"
    )


def main():
    t0 = time.time()
    result = evaluate(load_bundled())
    print(json.dumps(result, indent=2))
    write_card(result)
    print(f"evaluated in {time.time() - t0:.0f}s; wrote {BUNDLED_DIR / 'quality.json'} and the model card")


if __name__ == "__main__":
    main()
