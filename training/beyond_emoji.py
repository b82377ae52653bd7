"""The card's figures beyond emoji: photos, the clipart's held-out categories, free-form questions on the clipart.

- **photo check**: each of :mod:`training.photos`' 20 photos has a caption; a
  hit is its own photo first among the 20 (recall@1);
- **clipart, held-out categories**: the captions of the drawings in the
  categories training never saw (:data:`training.clipart.HELD_OUT`), each
  ranked against all those drawings; a hit is a drawing with that caption
  among the top 5 (recall@5);
- **free-form clipart**: :data:`CLIPART_QUERIES` against the whole clipart
  demo; a hit is at least 3 of the top 5 in an acceptable folder, and each
  answer gets the verdict the Search page would show (close / weak / no real
  match, against 200 nonsense phrases and the drawings' own captions): a
  right answer called "no real match" misleads a class.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from similarity.encoders.base import Encoder
from similarity.ingest.bundled import CLIPART
from similarity.search.relevance import Relevance, nonsense_words, null_baseline, own_caption_reference
from training.clipart import HELD_OUT as HELD_OUT_NAMES
from training.clipart import drawings
from training.photos import load_photos

MIN_ANSWERS = 3  # of the top 5, in an acceptable folder

# Written by hand, never trained on: a query, and the folder names (any level) that answer it.
CLIPART_QUERIES: dict[str, tuple[str, ...]] = {
    "an animal": ("animals",),
    "a cat": ("big_cats", "housecats"),
    "a bird": ("birds",),
    "an insect": ("bugs", "insects"),
    "something to eat": ("food",),
    "a drink": ("beverages", "alcohol"),
    "a sweet dessert": ("desserts", "sweets"),
    "fruit": ("fruit",),
    "a musical instrument": ("music",),
    "a vehicle": ("transportation", "vehicles"),
    "something that flies": ("aircraft", "birds", "airplanes", "aviation"),
    "a boat": ("boating", "boats", "ships"),
    "a national flag": ("flags",),
    "a house": ("buildings", "homes"),
    "a tool": ("tools",),
    "a weapon": ("weapons",),
    "a plant": ("plants", "trees", "flowers"),
    "a flower": ("flowers",),
    "a tree": ("trees",),
    "a person": ("people",),
    "clothes": ("clothing",),
    "sports": ("sports",),
    "a game": ("games",),
    "a computer": ("hardware",),
    "a map": ("geography", "maps"),
    "a warning sign": ("hazard", "signs", "roadsigns"),
    "the weather": ("weather",),
    "office supplies": ("office",),
    "science": ("science",),
    "a holiday": ("holiday", "christmas", "halloween", "easter"),
}


def photo_check(encoder: Encoder) -> dict:
    names, photos, captions, _ = load_photos()
    sims = encoder.encode_texts(captions) @ encoder.encode_images(photos).T
    top = sims.argmax(1)
    return {"r1": float(np.mean(top == np.arange(len(names)))), "top": {n: names[t] for n, t in zip(names, top)}}


def clipart_figures(encoder: Encoder) -> dict | None:
    """Held-out categories' recall@5 and free-form hits on the clipart demo; None when it is not built."""
    if not CLIPART.built:
        return None
    held = drawings(held_out=True)
    vectors = encoder.encode_images([Image.fromarray(p) for p in held.pictures])
    sims = encoder.encode_texts(held.captions) @ vectors.T
    captions = np.array(held.captions)
    top5 = np.argsort(-sims, axis=1, kind="stable")[:, :5]
    r5 = float(np.mean([(captions[t] == captions[q]).any() for q, t in enumerate(top5)]))
    every = CLIPART.load()
    folders = [f"{i.label}/{dict(i.extra).get('folder', '')}".split("/") for i in every.items]
    pictures = encoder.encode_images([Image.open(i.image_path) for i in every.items])
    null = null_baseline(encoder.encode_texts(nonsense_words()), pictures)
    own = own_caption_reference(pictures, encoder.encode_texts([i.caption for i in every.items]))
    answers = {}
    for (query, accepted), q in zip(CLIPART_QUERIES.items(), encoder.encode_texts(list(CLIPART_QUERIES))):
        if sum(any(word in f for word in accepted) for f in folders) < MIN_ANSWERS:
            continue  # this clipart cannot answer it
        cosines = pictures @ q
        top = np.argsort(-cosines, kind="stable")[:5]
        hit = sum(any(word in folders[i] for word in accepted) for i in top) >= MIN_ANSWERS
        best = float(cosines[top[0]])
        verdict = Relevance(best, null.share_below(best), 0.0, null.weak_at, null.strong_at, own).verdict
        answers[query] = {"hit": bool(hit), "verdict": verdict, "top": [every.items[i].caption for i in top]}
    return {
        "held_out_categories": list(HELD_OUT_NAMES),
        "held_out_r5": r5,
        "held_out_pictures": len(captions),
        "free_form": answers,
    }
