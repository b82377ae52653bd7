"""Is a match real? The best cosine against a null baseline, and the modality gap.

A cosine alone means little: every query has *some* best match, so "beats
99.9% of the items" is true even for gibberish. The honest comparison is with
queries that mean nothing: nonsense words for a typed query, random colour
noise for a picture. The best cosine each of them reaches in this collection
is what "no real match" looks like here; a real match should beat nearly all
of them. Null baselines are per target kind, because picture-to-caption
cosines live in another range than caption-to-caption ones (the modality gap).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from similarity.search.query import PICTURE, TEXT

NULL_QUERIES = 200  # nonsense captions per baseline; noise pictures get a quarter of that
WEAK_QUANTILE, STRONG_QUANTILE = 0.90, 0.99
NULL_NAMES = {TEXT: f"{NULL_QUERIES} nonsense phrases", PICTURE: f"{NULL_QUERIES // 4} pictures of colour noise"}


def nonsense_words(n: int = NULL_QUERIES, seed: int = 0) -> list[str]:
    """Pronounceable strings that mean nothing, seeded.

    >>> nonsense_words(2)
    ['mehaca towi zopinu', 'rakumaso']
    """
    rng = np.random.default_rng(seed)
    consonants, vowels = list("bcdfghjklmnprstvwz"), list("aeiou")

    def word() -> str:
        return "".join(rng.choice(consonants) + rng.choice(vowels) for _ in range(rng.integers(2, 5)))

    return [" ".join(word() for _ in range(rng.integers(1, 4))) for _ in range(n)]


def noise_pictures(n: int = NULL_QUERIES // 4, seed: int = 0, size: int = 64):
    """Smooth random colour noise (PIL images), seeded: pictures of nothing."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    return [
        Image.fromarray((rng.random((6, 6, 3)) * 255).astype(np.uint8)).resize((size, size), Image.BICUBIC)
        for _ in range(n)
    ]


def null_queries(nonsense: np.ndarray, signs: tuple[int, ...] = (1,), seed: int = 0) -> np.ndarray:
    """Meaningless queries shaped like the user's: as many terms, with the same signs.

    A sum of two directions sits between them, so "moon + face" reaches lower
    cosines than "moon" alone; its null must be sums of two nonsense phrases.
    """
    if len(signs) <= 1:
        return nonsense
    picks = np.random.default_rng(seed).integers(0, len(nonsense), (len(nonsense), len(signs)))
    total = (nonsense[picks] * np.asarray(signs, dtype=np.float32)[None, :, None]).sum(axis=1)
    return (total / np.maximum(np.linalg.norm(total, axis=1, keepdims=True), 1e-12)).astype(np.float32)


@dataclass(frozen=True)
class NullBaseline:
    """Best cosine reached by each meaningless query, in one collection and kind."""

    best: np.ndarray  # (q,) sorted ascending

    @property
    def weak_at(self) -> float:
        return float(np.quantile(self.best, WEAK_QUANTILE))

    @property
    def strong_at(self) -> float:
        return float(np.quantile(self.best, STRONG_QUANTILE))

    def share_below(self, cosine: float) -> float:
        """Share of meaningless queries whose best match is lower than ``cosine``."""
        return float(np.searchsorted(self.best, cosine) / len(self.best))


def null_baseline(null_vectors: np.ndarray, vectors: np.ndarray) -> NullBaseline:
    """Baseline of ``(q, d)`` meaningless query vectors against ``(n, d)`` items."""
    if len(null_vectors) == 0 or len(vectors) == 0:
        raise ValueError("a null baseline needs queries and items")
    return NullBaseline(np.sort((null_vectors @ vectors.T).max(axis=1)))


@dataclass(frozen=True)
class Relevance:
    """How a query's best match compares with meaningless queries and the bulk."""

    best: float  # best cosine
    beats_null: float  # share of meaningless queries whose best match is lower
    standout: float  # (best - median) / std of all the query's cosines
    weak_at: float
    strong_at: float

    @property
    def verdict(self) -> str:
        if self.best >= self.strong_at:
            return "strong match"
        if self.best >= self.weak_at:
            return "weak match"
        return "no real match"

    def sentence(self, null_kind: str) -> str:
        return (
            f"**{self.verdict.capitalize()}.** The best cosine, {self.best:.3f}, is higher than the best match of "
            f"{self.beats_null:.0%} of {null_kind} in this collection (weak from {self.weak_at:.3f}, "
            f"strong from {self.strong_at:.3f}), and stands {self.standout:.1f} standard deviations "
            "above the typical item."
        )


def judge(best: float, scores: np.ndarray, baseline: NullBaseline) -> Relevance:
    """Relevance of a best cosine given all of the query's ``scores``.

    >>> b = NullBaseline(np.linspace(0.1, 0.2, 101))
    >>> judge(0.25, np.array([0.0, 0.1, 0.25]), b).verdict
    'strong match'
    >>> judge(0.12, np.array([0.0, 0.1, 0.12]), b).verdict
    'no real match'
    """
    spread = float(scores.std()) if len(scores) > 1 else 0.0
    standout = (best - float(np.median(scores))) / spread if spread > 0 else 0.0
    return Relevance(float(best), baseline.share_below(best), standout, baseline.weak_at, baseline.strong_at)


@dataclass(frozen=True)
class ModalityGap:
    """Cosine ranges (5th, 50th, 95th percentile) within and across modalities."""

    picture_picture: np.ndarray
    caption_caption: np.ndarray
    picture_caption: np.ndarray  # unrelated pairs
    own_caption: np.ndarray  # a picture and its own caption
    centre_angle: float  # degrees between the mean picture and the mean caption direction

    def sentence(self) -> str:
        def span(q: np.ndarray) -> str:
            return f"{q[0]:.2f} to {q[2]:.2f} (median {q[1]:.2f})"

        return (
            "**The modality gap.** In this collection two unrelated pictures have cosine "
            f"{span(self.picture_picture)}, two unrelated captions {span(self.caption_caption)}, "
            f"a picture and an unrelated caption {span(self.picture_caption)}, and a picture and "
            f"*its own* caption {span(self.own_caption)}. Pictures and captions sit in two regions of the one "
            f"space whose centres are {self.centre_angle:.0f}° apart, so a map shows them as two islands and a "
            "caption's best matches are usually other captions. Compare picture-to-caption scores with each "
            "other, not with picture-to-picture ones."
        )


def modality_gap(
    pictures: np.ndarray, captions: np.ndarray, own: np.ndarray, sample: int = 2000, seed: int = 0
) -> ModalityGap:
    """Gap figures from picture vectors ``(p, d)``, caption vectors ``(c, d)`` and
    ``own`` (m, 2) row pairs (picture index, caption index) of the same item."""
    if len(pictures) < 2 or len(captions) < 2:
        raise ValueError("the modality gap needs at least two pictures and two captions")
    rng = np.random.default_rng(seed)
    quantiles = (0.05, 0.5, 0.95)

    def random_pairs(a: np.ndarray, b: np.ndarray, same: bool) -> np.ndarray:
        i, j = rng.integers(0, len(a), sample), rng.integers(0, len(b), sample)
        keep = i != j if same else np.ones(sample, bool)
        return np.quantile(np.einsum("nd,nd->n", a[i[keep]], b[j[keep]]), quantiles)

    own_cos = np.einsum("nd,nd->n", pictures[own[:, 0]], captions[own[:, 1]]) if len(own) else np.full(1, np.nan)
    centres = pictures.mean(axis=0), captions.mean(axis=0)
    cos = float(centres[0] @ centres[1] / (np.linalg.norm(centres[0]) * np.linalg.norm(centres[1])))
    return ModalityGap(
        random_pairs(pictures, pictures, True),
        random_pairs(captions, captions, True),
        random_pairs(pictures, captions, False),
        np.quantile(own_cos, quantiles),
        float(np.degrees(np.arccos(np.clip(cos, -1, 1)))),
    )
