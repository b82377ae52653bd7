"""Why a result matched: occlusion maps for pictures, word drops for text (no gradients).

Both ask the towers the app searches with one question: take something
away, encode again, and see how far the cosine to the other side falls.
Occlusion (Zeiler & Fergus 2014, "Visualizing and Understanding
Convolutional Networks") covers one patch of the picture at a time; a word
drop leaves one word of a text out at a time. Each side is one batched
encoding, which is what keeps an explanation well under a second on two
cores (``benchmarks/bench_why.py``).

A patch is covered with the picture's own background, the median colour of
its border (``cover="background"``): on an emoji that erases the part to
white, and covering blank space changes nothing. The model's mean colour
(zeros in its normalised input, ``cover="mean"``) paints a grey square on a
white background, a shape the model reacts to: on 94 half-emoji, half-white
demo pictures it blamed the blank half 34 times, the background cover 16.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from PIL import Image

from similarity.encoders.base import Encoder
from similarity.search.query import parse_query

GRID = 8  # cells per side of the picture the model sees (8 px each on the bundled 64 px model)
# A patch covers PATCH x PATCH cells and moves one cell at a time: (GRID - PATCH + 1)^2 = 36 copies. On half-emoji
# pictures 3 cells tell the emoji half from the blank one 2.5x more clearly than 2 (a 2-cell patch hides too
# little of an emoji to move its cosine); 4 cells would be half the picture.
PATCH = 3
SHOWN = 192  # px, side of the overlay
MAX_WORDS = 32  # words dropped one at a time (the text towers read ~32 tokens)
FLAT = 0.005  # a largest change below this (in cosine) is "covering any one part barely matters"
RED, BLUE = (220, 30, 30), (30, 90, 230)  # covering lowers / raises the cosine
COVERS = ("background", "mean")  # what a covered patch is painted with (see the module docstring)
OPACITY = 0.7  # of the strongest cell; weaker cells fade in proportion


def _check_target(encoder: Encoder, target: np.ndarray) -> np.ndarray:
    target = np.asarray(target, dtype=np.float32).reshape(-1)
    if target.shape[0] != encoder.dim:
        raise ValueError(
            f"the vector to explain against has {target.shape[0]} numbers, the model's space {encoder.dim}: "
            "explain in the model's full space (before the PCA noise filter)"
        )
    return target


@dataclass(frozen=True, eq=False)
class Occlusion:
    """How much covering each part of a picture lowers its cosine to a target vector.

    ``heat[i, j]``: the mean drop (cosine of the whole picture minus cosine
    with a patch covered) over the patches that cover cell ``(i, j)``,
    row ``i`` from the top. Positive: that part made the picture close.
    """

    heat: np.ndarray  # (grid, grid) float32, cosine units
    base: float  # cosine of the whole picture to the target
    picture: Image.Image  # the square the model sees (its centre crop), at SHOWN px
    against: str  # what the cosine is measured to, e.g. "the query 'a red fruit'"
    patch: int  # cells per side of one covering patch
    encodings: int  # covered copies encoded (one batch)
    cover: str = "background"  # what a covered patch was painted with (COVERS)

    grid = property(lambda self: int(self.heat.shape[0]))

    def overlay(self, size: int = SHOWN) -> Image.Image:
        """The picture with the heat map over it, ``size`` px square (RGB).

        Red where covering lowers the cosine, blue where it raises it; the
        strongest cell (either sign) is the most opaque, so red and blue share
        one scale. The picture under it is drawn in light grey, so that the
        colours belong to the map alone (a red apple under a red map).
        """
        grey = self.picture.convert("L").resize((size, size), Image.Resampling.BICUBIC)
        base = Image.blend(grey.convert("RGBA"), Image.new("RGBA", grey.size, "white"), 0.35)
        scale = float(np.abs(self.heat).max())
        if scale < 1e-6:
            return base.convert("RGB")
        strength = np.abs(self.heat) / scale
        layer = np.zeros((*self.heat.shape, 4), dtype=np.uint8)
        layer[..., :3] = np.where((self.heat >= 0)[..., None], RED, BLUE)
        layer[..., 3] = np.round(255 * OPACITY * strength).astype(np.uint8)
        heat = Image.fromarray(layer, "RGBA").resize((size, size), Image.Resampling.BILINEAR)
        return Image.alpha_composite(base, heat).convert("RGB")

    def sentence(self) -> str:
        """How to read the map, and what it cannot show."""
        most, least = float(self.heat.max()), float(self.heat.min())
        paint = "the background colour" if self.cover == "background" else "a mid grey"
        limits = (
            f"It shows where covering a patch ({self.patch}x{self.patch} of {self.grid}x{self.grid} cells, with "
            f"{paint}) changes the score, not what the model 'sees': parts that matter only together, or only "
            "through colour or layout, may look unimportant one at a time."
        )
        if max(most, -least) < FLAT:
            return (
                f"Covering any one part barely changes the cosine to {self.against} ({self.base:.3f}; at most "
                f"{max(most, -least):.3f}): the match rests on the picture as a whole. " + limits
            )
        return (
            f"Red parts made this picture close to {self.against}: covering them lowers the cosine "
            f"(from {self.base:.3f}, by up to {max(most, 0):.3f}); blue parts pulled it away "
            f"(covering them raises it, by up to {max(-least, 0):.3f}). " + limits
        )


@dataclass(frozen=True, eq=False)
class WordShares:
    """What each word of a text adds to its cosine with a target vector.

    ``without[i]``: the cosine of the text with word ``i`` left out. A single
    word has nothing to compare (``without`` is empty).
    """

    text: str
    words: tuple[str, ...]  # the words dropped one at a time (at most MAX_WORDS)
    base: float  # cosine of the whole text to the target
    without: np.ndarray  # (n,) float32
    against: str
    more_words: int = 0  # words past MAX_WORDS, never dropped

    comparable = property(lambda self: len(self.without) > 0)  # False for a single word

    @property
    def drops(self) -> np.ndarray:
        """Cosine of the whole text minus cosine without each word: positive = the word helped."""
        return (self.base - self.without).astype(np.float32)

    @property
    def shares(self) -> np.ndarray:
        """Each drop over the sum of the positive drops: the helping words add up to 1.

        A word whose removal raises the cosine gets a negative share on the
        same scale. When no word helps, the scale is the sum of all changes.
        """
        drops = self.drops
        total = float(drops[drops > 0].sum())
        if total < 1e-6:
            total = float(np.abs(drops).sum())
        return drops / total if total > 1e-6 else np.zeros_like(drops)

    def sentence(self) -> str:
        """How to read the shares, and what they cannot show."""
        if not self.comparable:
            return (
                f"'{self.text}' is one word: there is nothing to leave out and compare "
                f"(its cosine to {self.against} is {self.base:.3f})."
            )
        top = self.words[int(np.argmax(self.drops))]
        tail = f" Only the first {len(self.words)} words were left out one at a time." if self.more_words else ""
        return (
            f"Each bar is how much the cosine to {self.against} ({self.base:.3f}) falls when that word is left "
            f"out; '{top}' matters most here. Shares: a word's fall over the sum of the falls of all words that "
            "helped (those add up to 100%); a negative bar is a word that pulled the text away. Leaving out one "
            "word at a time ignores how words act together (e.g. 'red' and 'apple' may matter only as a pair)." + tail
        )


@dataclass(frozen=True, eq=False)
class Explanation:
    """Why one result matched one query: the parts to draw and plain notes, query side first."""

    parts: tuple[Occlusion | WordShares, ...]
    notes: tuple[str, ...]
    seconds: float  # time to compute it


def cell_edges(size: int, grid: int) -> np.ndarray:
    """Pixel boundaries of ``grid`` cells over ``size`` pixels.

    >>> cell_edges(64, 8)[:3].tolist(), cell_edges(10, 3).tolist()
    ([0, 8, 16], [0, 3, 7, 10])
    """
    return np.round(np.linspace(0, size, grid + 1)).astype(int)


def centre_square(picture: Image.Image, size: int = SHOWN) -> Image.Image:
    """The centre square the model's preprocessing keeps, at ``size`` px (for drawing under the map)."""
    picture = picture.convert("RGB")
    w, h = picture.size
    side = min(w, h)
    left, top = (w - side) // 2, (h - side) // 2
    crop = picture.crop((left, top, left + side, top + side))
    return crop.resize((size, size), Image.Resampling.NEAREST if side < 8 else Image.Resampling.LANCZOS)


def _background(pixels: np.ndarray) -> np.ndarray:
    """The median colour of a ``(3, S, S)`` input's border, ``(3, 1, 1)``: what covering paints."""
    border = np.concatenate([pixels[:, 0], pixels[:, -1], pixels[:, :, 0], pixels[:, :, -1]], axis=1)
    return np.median(border, axis=1).astype(np.float32)[:, None, None]


def occlusion(
    encoder: Encoder,
    picture: Image.Image,
    target: np.ndarray,
    grid: int = GRID,
    patch: int = PATCH,
    cover: str = "background",
    against: str = "",
) -> Occlusion:
    """Cover each patch of ``picture`` in turn and measure how far its cosine to ``target`` drops.

    ``target``: a ``(d,)`` unit vector in the model's space. The picture is
    prepared once at the model's input size; all covered copies are encoded
    in one batch. ``cover``: "background" (the median colour of the
    picture's border) or "mean" (the model's mean colour, a mid grey).
    """
    if cover not in COVERS or not 1 <= patch <= grid:
        raise ValueError(f"cover is one of {', '.join(COVERS)} ({cover!r} given); a patch 1 to {grid} cells ({patch})")
    target = _check_target(encoder, target)
    pixels = encoder.towers.pixels([picture])  # (1, 3, S, S)
    size = pixels.shape[-1]
    if grid > size:
        raise ValueError(f"a {grid}x{grid} grid is finer than the model's {size} px input: use at most {size}")
    fill = _background(pixels[0]) if cover == "background" else np.zeros((3, 1, 1), np.float32)
    edges = cell_edges(size, grid)
    steps = grid - patch + 1
    copies = np.repeat(pixels, steps * steps + 1, axis=0)  # copy 0 stays whole
    for n in range(steps * steps):
        i, j = divmod(n, steps)
        copies[n + 1, :, edges[i] : edges[i + patch], edges[j] : edges[j + patch]] = fill
    cosines = encoder.encode_pixels(copies) @ target
    drops = (cosines[0] - cosines[1:]).reshape(steps, steps)
    total, count = np.zeros((grid, grid), np.float32), np.zeros((grid, grid), np.float32)
    for di in range(patch):  # each cell: the mean drop of the patches that cover it
        for dj in range(patch):
            total[di : di + steps, dj : dj + steps] += drops
            count[di : di + steps, dj : dj + steps] += 1
    heat, base = total / count, float(cosines[0])
    return Occlusion(heat, base, centre_square(picture), against or "the target", patch, steps * steps, cover)


def word_shares(encoder: Encoder, text: str, target: np.ndarray, against: str = "") -> WordShares:
    """Leave each word of ``text`` out in turn (one batch) and measure its cosine to ``target``.

    Words are split on spaces; ``+``/``-`` query arithmetic is not parsed
    here (:func:`explain` explains each term on its own).
    """
    target = _check_target(encoder, target)
    words = text.split()
    if not words:
        raise ValueError("there is no text to explain: type a few words")
    shown, rest = words[:MAX_WORDS], words[MAX_WORDS:]
    variants = [" ".join(words)]
    if len(words) > 1:
        variants += [" ".join(shown[:i] + shown[i + 1 :] + rest) for i in range(len(shown))]
    cosines = encoder.encode_texts(variants) @ target
    return WordShares(" ".join(words), tuple(shown), float(cosines[0]), cosines[1:], against or "the target", len(rest))


def explain(
    encoder: Encoder,
    query: Image.Image | str | None,
    query_vector: np.ndarray,
    result: Image.Image | str,
    result_vector: np.ndarray,
    query_name: str = "the query",
) -> Explanation:
    """Why ``result`` matched: each side explained against the other side's vector.

    ``query``: the query's picture or text, or None when it is not at hand
    (an uploaded picture is not kept); ``result``: the result's picture or
    caption. Text with ``+``/``-`` arithmetic is explained term by term.
    """
    start = time.perf_counter()
    parts: list[Occlusion | WordShares] = []
    notes: list[str] = []
    if query is None:
        notes.append("The uploaded query picture is not kept after the search: only the result's side is explained.")
    elif isinstance(query, Image.Image):
        parts.append(occlusion(encoder, query, result_vector, against="this result"))
    else:
        terms = parse_query(query)
        if len(terms) > 1:
            notes.append(
                f"The query combines {len(terms)} terms with + and -; each term's words are compared with this "
                "result on their own (the arithmetic between terms is not explained)."
            )
        for sign, term in terms:
            name = f"this result ({'+' if sign > 0 else '-'} term)" if len(terms) > 1 else "this result"
            parts.append(word_shares(encoder, term, result_vector, against=name))
    if isinstance(result, Image.Image):
        parts.append(occlusion(encoder, result, query_vector, against=query_name))
    else:
        notes.append(
            "This result is a caption: there is no picture to cover, so its words are left out one at a time instead."
        )
        parts.append(word_shares(encoder, result, query_vector, against=query_name))
    return Explanation(tuple(parts), tuple(notes), time.perf_counter() - start)
