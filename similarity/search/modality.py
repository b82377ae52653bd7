"""The modality gap: pictures and captions point into two regions of one space, and how to close it.

A contrastively trained CLIP leaves every picture closer to other pictures
than to its own caption: the two modalities sit in two cones whose centres
are far apart (Liang et al. 2022, "Mind the Gap"). A text query's best
matches are then nearly always captions. Centring each modality on its own
mean and renormalising (the same paper's fix) removes that offset, so
pictures and captions can be ranked together.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from similarity.search.query import PICTURE
from similarity.words import number


@dataclass(frozen=True)
class ModalityGap:
    """Cosine ranges (5th, 50th, 95th percentile) within and across modalities."""

    picture_picture: np.ndarray
    caption_caption: np.ndarray
    picture_caption: np.ndarray  # unrelated pairs
    own_caption: np.ndarray  # a picture and its own caption
    centre_angle: float  # degrees between the mean picture and the mean caption direction
    centre_distance: float  # |mean picture - mean caption| (0 = no gap; unit vectors are at most 2 apart)

    def sentence(self) -> str:
        def span(q: np.ndarray) -> str:
            return f"{number(q[0])} to {number(q[2])} (median {number(q[1])})"

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
        float(np.linalg.norm(centres[0] - centres[1])),
    )


@dataclass(frozen=True)
class GapClosing:
    """Centre each modality on its own mean, then renormalise."""

    picture_mean: np.ndarray  # (d,)
    caption_mean: np.ndarray  # (d,)

    def apply(self, vectors: np.ndarray, is_picture: np.ndarray) -> np.ndarray:
        """Vectors ``(n, d)`` without the gap; ``is_picture`` ``(n,)`` says which mean each loses."""
        centred = vectors - np.where(np.asarray(is_picture)[:, None], self.picture_mean, self.caption_mean)
        return (centred / np.maximum(np.linalg.norm(centred, axis=1, keepdims=True), 1e-12)).astype(np.float32)

    def query(self, vector: np.ndarray, modality: str) -> np.ndarray:
        """A query vector moved the same way as items of its modality (typed: captions; picture: pictures)."""
        return self.apply(vector[None, :], np.array([modality == PICTURE]))[0]


def gap_closing(pictures: np.ndarray, captions: np.ndarray) -> GapClosing:
    """The centring that removes this collection's gap, from its picture and caption vectors."""
    if len(pictures) < 2 or len(captions) < 2:
        raise ValueError("closing the modality gap needs at least two pictures and two captions")
    return GapClosing(pictures.mean(axis=0).astype(np.float32), captions.mean(axis=0).astype(np.float32))
