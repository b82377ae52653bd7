"""How close is the best match, really? Two references measured in the same collection.

A cosine alone means little: every query has *some* best match, so "beats
99.9% of the items" is true even for gibberish. Below, the **null
baseline**: queries that mean nothing (nonsense words for a typed query,
random colour noise for a picture) and the best cosine each reaches here.
Above, the **positive reference**: how close things that belong together
are here (a picture and its own caption; two pictures of one category).
The verdict says where the best match falls between the two, in words of
closeness (close / weak / no real match), never of correctness: a close
match can still be the wrong picture. Both references are per target kind,
because picture-to-caption cosines live in another range than
caption-to-caption ones (the modality gap, :mod:`similarity.search.modality`).
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
class PositiveReference:
    """Cosines of pairs that belong together in this collection, and what the pairs are."""

    cosines: np.ndarray  # (p,) sorted ascending
    pairs: str  # e.g. "a picture and its own caption"

    @property
    def typical(self) -> float:
        return float(np.median(self.cosines))

    @property
    def low(self) -> float:
        """The lower quartile: three in four such pairs are at least this close."""
        return float(np.quantile(self.cosines, 0.25))

    @property
    def high(self) -> float:
        return float(np.quantile(self.cosines, 0.75))


def own_caption_reference(pictures: np.ndarray, captions: np.ndarray) -> PositiveReference | None:
    """Each picture with its own caption: ``pictures[i]`` and ``captions[i]`` (n, d) belong together."""
    if len(pictures) < 5:
        return None
    return PositiveReference(np.sort(np.einsum("nd,nd->n", pictures, captions)), "a picture and its own caption")


def same_label_reference(
    vectors: np.ndarray, labels: list, what: str, sample: int = 500, pool: int = 5_000, seed: int = 0
) -> PositiveReference | None:
    """Each sampled item with its most similar *other* item of the same label (category).

    The counterpart of a query's best match: how close the best match gets
    when it does belong with the query. ``what`` names the items
    ("pictures"); ``sample`` items are checked against at most ``pool``
    members of their label (bounded work on a million items).
    """
    labels = np.asarray([str(label) if label else "" for label in labels], dtype=object)
    rng = np.random.default_rng(seed)
    best = []
    groups = {label: np.flatnonzero(labels == label) for label in sorted(set(labels) - {""})}
    candidates = np.concatenate([m for m in groups.values() if len(m) >= 2] or [np.zeros(0, int)])
    for i in rng.choice(candidates, min(sample, len(candidates)), replace=False):
        members = groups[labels[i]]
        members = members[members != i]
        if len(members) > pool:
            members = rng.choice(members, pool, replace=False)
        best.append(float((vectors[members] @ vectors[i]).max()))
    if len(best) < 5:
        return None
    return PositiveReference(
        np.sort(np.array(best)), f"a {what[:-1]} and the closest other {what[:-1]} of its category"
    )


@dataclass(frozen=True)
class Relevance:
    """Where a query's best match falls between meaningless queries and pairs that belong together."""

    best: float  # best cosine
    beats_null: float  # share of meaningless queries whose best match is lower
    beats_items: float  # share of all the query's candidates it is closer than
    weak_at: float  # 90th percentile of the null's best matches
    strong_at: float  # 99th percentile of the null's best matches
    reference: PositiveReference | None = None

    @property
    def verdict(self) -> str:
        """ "close match", "weak match" or "no real match": closeness in this space, not correctness."""
        if self.best < self.weak_at:
            return "no real match"
        if self.reference is None:  # nothing to say how close belonging together gets here
            return "above chance" if self.best >= self.strong_at else "weak match"
        close = self.best >= self.reference.low and self.beats_null >= 0.95
        return "close match" if close else "weak match"

    def sentence(self, null_kind: str, best_kind: str = "result") -> str:
        """The verdict with both references, in plain words and numbers a student can check.

        ``best_kind``: what the best result is ("picture", "caption").
        """
        angle = float(np.degrees(np.arccos(np.clip(self.best, -1, 1))))
        text = (
            f"**{self.verdict.capitalize()}.** The best {best_kind} is {angle:.1f}° from the query "
            f"(cos {self.best:.3f}), "
            f"closer than {_share(self.beats_items)} of the items. Meaningless queries reach about "
            f"{self.weak_at:.2f} here: {_share(self.beats_null)} of {null_kind} stay below this result"
        )
        if self.reference is not None:
            ref = self.reference
            text += (
                f"; {ref.pairs} are typically at {ref.typical:.2f} (half of them between {ref.low:.2f} and "
                f"{ref.high:.2f})."
            )
        else:
            text += "."
        reading = {
            "close match": "As close as things that belong together here: close in this model's space, "
            "which is not proof it is right. Look at the pictures.",
            "weak match": "Closer than meaningless queries get, but less close than things that belong "
            "together: maybe related, maybe not.",
            "no real match": "Meaningless queries get this close too: nothing here is really like the query.",
            "above chance": "Closer than meaningless queries get. This collection has no captions or categories "
            "to show how close things that belong together are, so whether it is close is not known.",
        }[self.verdict]
        return f"{text} {reading}"


def _share(fraction: float) -> str:
    """A share as students read it: "all but a few" is clearer than "99.6%".

    >>> _share(0.5), _share(0.996), _share(1.0)
    ('50%', '99.6%', 'all')
    """
    if fraction >= 1:
        return "all"
    return f"{fraction:.0%}" if fraction < 0.99 else f"{fraction:.1%}"


def judge(best: float, scores: np.ndarray, baseline: NullBaseline, reference: PositiveReference | None = None):
    """:class:`Relevance` of a best cosine given all of the query's ``scores`` and the two references.

    >>> b = NullBaseline(np.linspace(0.1, 0.2, 101))
    >>> judge(0.25, np.array([0.0, 0.1, 0.25]), b).verdict
    'above chance'
    >>> judge(0.12, np.array([0.0, 0.1, 0.12]), b).verdict
    'no real match'
    >>> judge(0.25, np.array([0.0, 0.1, 0.25]), b, PositiveReference(np.linspace(0.3, 0.5, 9), "pairs")).verdict
    'weak match'
    """
    beats_items = float(np.mean(scores < best)) if len(scores) else 1.0
    return Relevance(
        float(best), baseline.share_below(best), beats_items, baseline.weak_at, baseline.strong_at, reference
    )
