"""Honest quality of the bundled model, printed and written into its card.

Run ``python -m training.evaluate [MODEL_FOLDER]``. Every figure ranks a
query against the *whole* gallery of a style, as the app does: every
concept's picture competes, seen or unseen. Concepts are split with a fixed
seed (:func:`training.emoji_data.split_by_concept`); "unseen" concepts never
appeared in training, in any style. Twemoji and Firefox OS emoji are designs
never trained on.

- **recall@1/5**: the query is an emoji's Unicode name ("grinning face"); a
  hit is that emoji's own picture among the top 1/5;
- **free-form hits**: :mod:`training.free_form`'s queries; a hit is at least 3
  of the top 5 in an acceptable subgroup (queries whose subgroups have fewer
  than 3 pictures in a style are not scored there);
- **colour bias**: of the wrong top-1 pictures, the share closer in mean
  colour to the right picture than the typical gallery picture is (50% = no
  bias).
"""

from __future__ import annotations

import json
import re
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

from similarity.encoders.base import Encoder
from similarity.encoders.bundled import load_bundled
from similarity.storage.paths import BUNDLED_DIR
from training.beyond_emoji import clipart_figures, photo_check
from training.emoji_data import Emoji, read_emoji, split_by_concept
from training.free_form import QUERIES
from training.styles import HELD_OUT_STYLES, STYLE_NAMES, TRAINING_STYLES, rendered

DEMO_STYLE = "noto-font"  # the demo gallery's design
MIN_ANSWERS = 3  # of the top 5, in an acceptable subgroup


def gallery(style: str, emoji: tuple[Emoji, ...]) -> tuple[np.ndarray, np.ndarray]:
    """A style's pictures (identical ones once, as in the demo) and their emoji indexes."""
    images, index = rendered(style, emoji)
    _, first = np.unique(images.reshape(len(images), -1), axis=0, return_index=True)
    keep = np.sort(first)
    return images[keep], index[keep]


def mean_colours(images: np.ndarray) -> np.ndarray:
    """Mean RGB of each picture's drawn (not near-white) pixels, ``(n, 3)`` in 0..1."""
    x = images.reshape(len(images), -1, 3).astype(np.float32) / 255
    drawn = (x < 0.94).any(axis=2, keepdims=True)
    return (x * drawn).sum(1) / np.maximum(drawn.sum(1), 1)


def ranks_of_own_picture(sims: np.ndarray) -> np.ndarray:
    """Rank (0 = top) of picture ``i`` for query ``i``; ties count against it."""
    own = np.diag(sims)[:, None]
    return (sims > own).sum(1) + (sims == own).sum(1) - 1


def colour_bias(sims: np.ndarray, colours: np.ndarray, rows: np.ndarray) -> tuple[int, int]:
    """Of the ``rows`` queries, (wrong top-1s closer in colour than the median picture, wrong top-1s)."""
    top = sims.argmax(1)
    wrong = rows[top[rows] != rows]
    dist = np.linalg.norm(colours[wrong, None] - colours[None], axis=2)
    to_top = dist[np.arange(len(wrong)), top[wrong]]
    dist[np.arange(len(wrong)), wrong] = np.nan  # the typical *other* picture
    closer = to_top < np.nanmedian(dist, axis=1)
    return int(closer.sum()), len(wrong)


def free_form(encoder: Encoder, vectors: np.ndarray, subgroups: list[str], k: int = 5) -> dict:
    """Top-5 subgroups and hit of each free-form query that this gallery can answer."""
    queries = encoder.encode_texts(list(QUERIES))
    out = {}
    for (query, accepted), q in zip(QUERIES.items(), queries, strict=True):
        if sum(s in accepted for s in subgroups) < MIN_ANSWERS:
            continue
        top = np.argsort(-(vectors @ q), kind="stable")[:k]
        out[query] = {"top": [int(i) for i in top], "hit": sum(subgroups[i] in accepted for i in top) >= MIN_ANSWERS}
    return out


def evaluate_style(encoder: Encoder, style: str, emoji, unseen: set[int]) -> dict:
    images, index = gallery(style, emoji)
    vectors = encoder.encode_images([Image.fromarray(im) for im in images])
    sims = encoder.encode_texts([emoji[i].name for i in index]) @ vectors.T
    ranks = ranks_of_own_picture(sims)
    is_unseen = np.array([i in unseen for i in index])
    colours = mean_colours(images)
    out = {"pictures": len(index)}
    for part, mask in (("training", ~is_unseen), ("unseen", is_unseen)):
        out[part] = {
            "queries": int(mask.sum()),
            "r1": float(np.mean(ranks[mask] < 1)),
            "r5": float(np.mean(ranks[mask] < 5)),
        }
        out[part]["colour_closer"], out[part]["wrong_top1"] = colour_bias(sims, colours, np.flatnonzero(mask))
    answers = free_form(encoder, vectors, [emoji[i].subgroup for i in index])
    out["free_form"] = {
        q: {"hit": a["hit"], "top": [emoji[index[i]].name for i in a["top"]]} for q, a in answers.items()
    }
    return out


def evaluate(encoder: Encoder) -> dict:
    emoji = read_emoji()
    train, test = split_by_concept(emoji)
    unseen = {i for i, e in enumerate(emoji) if e in set(test)}
    styles = {s: evaluate_style(encoder, s, emoji, unseen) for s in (*TRAINING_STYLES, *HELD_OUT_STYLES)}
    photos, clipart = photo_check(encoder), clipart_figures(encoder)
    top = headline(styles, photos, clipart)
    return {
        "n_training_emoji": len(train),
        "n_unseen_emoji": len(test),
        "headline": top,
        "sentence": headline_sentence(top),
        "styles": styles,
        "photos": photos,
        "clipart": clipart,
    }


def _pooled(styles: dict, names, part: str, measure: str) -> float:
    """A figure over several styles, each query counted once."""
    n = sum(styles[s][part]["queries"] for s in names)
    return sum(styles[s][part][measure] * styles[s][part]["queries"] for s in names) / max(n, 1)


def _hits(styles: dict, names) -> tuple[int, int]:
    answers = [a["hit"] for s in names for a in styles[s]["free_form"].values()]
    return sum(answers), len(answers)


def headline(styles: dict, photos: dict, clipart: dict | None) -> dict:
    demo, held = styles[DEMO_STYLE], HELD_OUT_STYLES
    wrong = sum(styles[s][p]["wrong_top1"] for s in (DEMO_STYLE, *held) for p in ("training", "unseen"))
    closer = sum(styles[s][p]["colour_closer"] for s in (DEMO_STYLE, *held) for p in ("training", "unseen"))
    return {
        "demo_pictures": demo["pictures"],
        "demo_training_r5": demo["training"]["r5"],
        "demo_unseen_r5": demo["unseen"]["r5"],
        "held_out_training_r5": _pooled(styles, held, "training", "r5"),
        "held_out_unseen_r5": _pooled(styles, held, "unseen", "r5"),
        "demo_free_form": _hits(styles, [DEMO_STYLE]),
        "held_out_free_form": _hits(styles, held),
        "colour_bias": closer / max(wrong, 1),
        "photo_r1": photos["r1"],
        "clipart_held_out_r5": clipart["held_out_r5"] if clipart else None,
        "clipart_free_form": _answered(clipart["free_form"]) if clipart else None,
        "clipart_right_but_no_match": _misjudged(clipart["free_form"]) if clipart else None,
    }


def _answered(answers: dict) -> tuple[int, int]:
    return sum(a["hit"] for a in answers.values()), len(answers)


def _misjudged(answers: dict) -> int:
    """Right answers the Search page would call "no real match"."""
    return sum(a["hit"] and a["verdict"] == "no real match" for a in answers.values())


def headline_sentence(h: dict) -> str:
    """The figures in one sentence (the app's sidebar shows the same)."""
    return (
        f"Honest test, recall@5 among all {h['demo_pictures']:,} demo pictures: "
        f"{h['demo_training_r5']:.2f} for trained concepts, {h['demo_unseen_r5']:.2f} for unseen ones "
        f"({h['held_out_training_r5']:.2f} / {h['held_out_unseen_r5']:.2f} on emoji designs never trained on). "
        f"Free-form queries answered: {h['demo_free_form'][0]} of {h['demo_free_form'][1]}. "
        f"Photos: {h['photo_r1']:.0%} of 20 captions find their photo first"
        + (
            f"; clipart of categories never trained on: recall@5 {h['clipart_held_out_r5']:.2f}."
            if h.get("clipart_held_out_r5") is not None
            else "."
        )
    )


def table(result: dict) -> str:
    """The card's markdown: headline, one row per style, the free-form answers on the demo."""
    styles = result["styles"]
    rows = [
        "| style | role | pictures | training concepts r@1 / r@5 | unseen concepts r@1 / r@5 | free-form hits |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for name, s in styles.items():
        role = "**held-out design**" if name in HELD_OUT_STYLES else "training design"
        hits = sum(a["hit"] for a in s["free_form"].values())
        rows.append(
            f"| {STYLE_NAMES.get(name, name)} | {role} | {s['pictures']} | "
            f"{s['training']['r1']:.2f} / {s['training']['r5']:.2f} | "
            f"{s['unseen']['r1']:.2f} / {s['unseen']['r5']:.2f} | "
            f"{hits} of {len(s['free_form'])} |"
        )
    h = result["headline"]
    demo = styles[DEMO_STYLE]["free_form"]
    return "\n".join(
        [
            headline_sentence(h),
            "",
            f"Colour bias: {h['colour_bias']:.0%} of wrong top-1 pictures (demo and held-out designs) are closer "
            "in mean colour to the right picture than the typical picture is (50% would be no bias).",
            "",
            *rows,
            "",
            f"Free-form queries on the demo gallery (hit = at least {MIN_ANSWERS} of the top 5 "
            "in an acceptable subgroup):",
            "",
            *[f"- {'✅' if a['hit'] else '❌'} *{q}*: {', '.join(a['top'])}" for q, a in demo.items()],
            "",
            f"Photo check (caption -> photo among 20; recall@1 {result['photos']['r1']:.2f}): "
            + ", ".join(f"{n} -> {t}" for n, t in result["photos"]["top"].items()),
            *_clipart_lines(result.get("clipart")),
        ]
    )


def _clipart_lines(clipart: dict | None) -> list[str]:
    if not clipart:
        return ["", "Clipart figures: the clipart demo is not built here (Debian openclipart-svg)."]
    hits, n = _answered(clipart["free_form"])
    return [
        "",
        f"Clipart, categories never trained on ({', '.join(clipart['held_out_categories'])}: "
        f"{clipart['held_out_pictures']:,} drawings): caption -> drawing recall@5 {clipart['held_out_r5']:.2f}. "
        f"Free-form questions on the whole clipart demo: {hits} of {n} answered; "
        f'{_misjudged(clipart["free_form"])} right answers get the verdict "no real match" (the Search page\'s '
        "verdict against 200 nonsense phrases, in brackets):",
        "",
        *[
            f"- {'✅' if a['hit'] else '❌'} *{q}*: {', '.join(a['top'])} ({a['verdict']})"
            for q, a in clipart["free_form"].items()
        ],
    ]


def write_card(result: dict, folder: Path = BUNDLED_DIR) -> None:
    """quality.json plus the figures inside the model card."""
    (folder / "quality.json").write_text(json.dumps(result, indent=1) + "\n")
    card = folder.parent / "README.md"
    block = f"<!-- numbers:start (written by python -m training.evaluate) -->\n{table(result)}\n<!-- numbers:end -->"
    text = card.read_text(encoding="utf-8")
    card.write_text(
        re.sub(r"<!-- numbers:start.*?<!-- numbers:end -->", lambda _: block, text, flags=re.S), encoding="utf-8"
    )


def main(argv: list[str] | None = None) -> dict:
    argv = sys.argv[1:] if argv is None else argv
    folder = Path(argv[0]) if argv else BUNDLED_DIR
    t0 = time.time()
    result = evaluate(load_bundled(folder))  # ONNX Runtime when exported for these weights (~10x faster)
    print(table(result))
    if folder.resolve() == BUNDLED_DIR:
        write_card(result)
    else:
        (folder / "quality.json").write_text(json.dumps(result, indent=1) + "\n")
    print(f"evaluated in {time.time() - t0:.0f}s")
    return result


if __name__ == "__main__":
    main()
