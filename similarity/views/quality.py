"""How good is the model on this collection: retrieval of its own pairs, and zero-shot labels.

The standard CLIP evaluation (Radford et al. 2021, image-text retrieval and
zero-shot classification) run on a collection's own data: each caption
queries all pictures (its own picture is the right answer), each picture
queries all captions, and each labelled picture picks the nearest label
text. Every figure comes with what chance would score, so a student can see
whether the model knows anything here.

Pictures sharing one caption text are honest: the caption is one query (and
one candidate), and every picture with that text counts as its own. Ties go
to the lower row, as in :mod:`similarity.search.topk`. Ranks are counted
chunk by chunk (memory: ``CHUNK x pool``); big collections are measured on a
seeded sample of :data:`MAX_PAIRS` pairs, and the result says so.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from similarity.ingest.space import Space
from similarity.storage.keys import IMAGE
from similarity.words import plural

KS = (1, 5, 10)  # recall@k reported
MAX_PAIRS = 5_000  # pairs measured; bigger collections are sampled (seeded)
CHUNK = 512  # queries scored at a time: CHUNK x pool cosines in memory


@dataclass(frozen=True)
class Retrieval:
    """One direction (e.g. captions finding pictures): how soon each query meets its own."""

    query: str  # "caption", "picture": what asks
    candidate: str  # what is searched
    ranks: np.ndarray  # (queries,) place of the first own candidate, 1 = best
    pool: int  # candidates each query searches
    chance: tuple[float, ...]  # recall@k of a random ranking, per KS
    chance_mean_rank: float  # mean rank of a random ranking

    @property
    def recall(self) -> tuple[float, ...]:
        """Share of queries whose own candidate is among the ``k`` closest, per KS."""
        return tuple(float(np.mean(self.ranks <= k)) for k in KS)

    @property
    def mean_rank(self) -> float:
        return float(self.ranks.mean())

    @property
    def median_rank(self) -> float:
        return float(np.median(self.ranks))


@dataclass(frozen=True)
class ZeroShot:
    """Each labelled picture given the nearest label text; accuracy per label."""

    labels: tuple[str, ...]
    pictures: tuple[int, ...]  # labelled pictures per label
    correct: tuple[int, ...]  # of those, given their own label

    @property
    def chance(self) -> float:
        return 1 / len(self.labels)

    @property
    def accuracy(self) -> float:
        return sum(self.correct) / sum(self.pictures)


@dataclass(frozen=True)
class OwnPairQuality:
    """Retrieval both ways over a collection's own pairs, and zero-shot accuracy per label."""

    pairs: int  # items with a picture and a caption that were measured
    all_pairs: int  # such items in the collection (more than ``pairs`` when sampled)
    shared_captions: int  # caption texts that several measured pictures share
    text_to_picture: Retrieval | None
    picture_to_text: Retrieval | None
    zero_shot: ZeroShot | None

    def sentence(self) -> str:
        """What the figures mean, in plain words."""
        said = []
        for r in (self.picture_to_text, self.text_to_picture):
            if r is not None:
                said.append(
                    f"For {_pct(r.recall[1])} of the {r.query}s, their own {r.candidate} is among the 5 closest of "
                    f"all {plural(r.pool, r.candidate)}; by chance: {_pct(r.chance[1])}. On average it is "
                    f"at place {r.mean_rank:,.1f} (median {r.median_rank:,.0f}); by chance: {r.chance_mean_rank:,.0f}."
                )
        if self.pairs < self.all_pairs:
            said.append(
                f"Measured on a seeded sample of {self.pairs:,} of the {self.all_pairs:,} picture-caption pairs "
                "(each searches the sample only; among all of them every figure would be lower)."
            )
        if self.shared_captions:
            said.append(
                f"{plural(self.shared_captions, 'caption')} belong to several pictures: such a caption is asked "
                "and counted once, and any picture with that text counts as its own."
            )
        if (z := self.zero_shot) is not None:
            said.append(
                f"Zero-shot: giving each of the {sum(z.pictures):,} labelled pictures the nearest of the "
                f"{len(z.labels)} label texts is right for {_pct(z.accuracy)}; by chance: {_pct(z.chance)}."
            )
        return " ".join(said)

    def rows(self) -> list[dict[str, str]]:
        """The table: one row per figure, with its chance level."""
        found = [_row("pictures with their own caption, measured", f"{self.pairs:,}", "")] if self.pairs else []
        for r in (self.text_to_picture, self.picture_to_text):
            if r is None:
                continue
            way = f"{r.query} → {r.candidate}"
            for k, recall, chance in zip(KS, r.recall, r.chance):
                found.append(_row(f"{way}: recall@{k}", _pct(recall), _pct(chance)))
            found.append(_row(f"{way}: mean rank (of {r.pool:,})", f"{r.mean_rank:,.1f}", f"{r.chance_mean_rank:,.0f}"))
            found.append(_row(f"{way}: median rank", f"{r.median_rank:,.0f}", ""))
        if (z := self.zero_shot) is not None:
            found.append(_row(f"zero-shot accuracy ({len(z.labels)} labels)", _pct(z.accuracy), _pct(z.chance)))
        return found

    def label_rows(self) -> list[dict[str, str]]:
        """Zero-shot accuracy per label, with the chance level 1 / number of labels."""
        z = self.zero_shot
        if z is None:
            return []
        return [
            {"label": label, "pictures": f"{n:,}", "right": _pct(right / n) if n else "–", "by chance": _pct(z.chance)}
            for label, n, right in zip(z.labels, z.pictures, z.correct)
        ]


def own_pair_quality(
    space: Space,
    labels: tuple[str, ...] = (),
    label_vectors: np.ndarray | None = None,
    max_pairs: int = MAX_PAIRS,
    seed: int = 0,
) -> OwnPairQuality:
    """Recall@1/5/10 and ranks both ways over the space's own pairs, and zero-shot accuracy per label.

    ``labels``: label texts, their vectors ``label_vectors`` (len(labels), d)
    in the same space; pictures whose item's label is one of them are scored.
    ValueError when there is nothing to measure.
    """
    if len(labels) != (0 if label_vectors is None else len(label_vectors)):
        raise ValueError("give one vector per label text")
    pictures, captions = space.own_pairs()
    all_pairs = len(pictures)
    if all_pairs > max_pairs:
        keep = np.sort(np.random.default_rng(seed).choice(all_pairs, max_pairs, replace=False))
        pictures, captions = pictures[keep], captions[keep]
    zero_shot = _zero_shot(space, labels, label_vectors) if labels else None
    if len(pictures) < 2 and zero_shot is None:
        raise ValueError(
            "Nothing to measure here: this needs at least 2 pictures that each have a caption "
            "(e.g. a captions file beside the pictures), or pictures with a label (category) column."
        )
    if len(pictures) < 2:
        return OwnPairQuality(len(pictures), all_pairs, 0, None, None, zero_shot)
    texts = [space.items[space.item[r]].caption for r in captions]
    distinct, text_of = np.unique(texts, return_inverse=True)  # text_of: each pair's caption among the distinct ones
    first = np.unique(text_of, return_index=True)[1]
    caption_vectors, picture_vectors = space.vectors[captions[first]], space.vectors[pictures]
    group = np.arange(len(distinct))
    sizes = np.bincount(text_of)  # pictures per caption text
    to_picture = _retrieval("caption", "picture", caption_vectors, group, picture_vectors, text_of, sizes)
    to_text = _retrieval("picture", "caption", picture_vectors, text_of, caption_vectors, group, np.ones(len(text_of)))
    return OwnPairQuality(len(pictures), all_pairs, int((sizes > 1).sum()), to_picture, to_text, zero_shot)


def ranks_of_own(
    queries: np.ndarray, query_group: np.ndarray, candidates: np.ndarray, candidate_group: np.ndarray
) -> np.ndarray:
    """Place of each query's best own candidate (same group) when all candidates are ranked, 1 = first.

    Counted ``CHUNK`` queries at a time: never a full queries x candidates matrix.

    >>> v = np.eye(3, dtype=np.float32)
    >>> ranks_of_own(v, np.arange(3), v, np.array([2, 1, 0])).tolist()
    [3, 1, 2]
    """
    order = np.arange(len(candidates))
    ranks = np.empty(len(queries), np.int64)
    for start in range(0, len(queries), CHUNK):
        cos = queries[start : start + CHUNK] @ candidates.T
        own = candidate_group[None, :] == query_group[start : start + CHUNK, None]
        if not own.any(axis=1).all():
            raise ValueError("every query needs at least one own candidate")
        best = np.where(own, cos, -np.inf).max(axis=1, keepdims=True)
        first = np.argmax(own & (cos == best), axis=1)[:, None]  # ties: the lower row is ranked first
        ranks[start : start + CHUNK] = 1 + ((cos > best) | ((cos == best) & (order < first))).sum(axis=1)
    return ranks


def _retrieval(query, candidate, queries, query_group, candidates, candidate_group, own) -> Retrieval:
    """Ranks one way, with a random ranking's recall@k and mean rank; ``own``: right answers per query."""
    n, own = len(candidates), np.asarray(own, float)
    # P(none of g own among k drawn from n) = prod_{i<k} (n - g - i) / (n - i); the best of g lands at (n+1)/(g+1).
    chance = tuple(float(np.mean(1 - _none_in_first(n, own, k))) for k in KS)
    ranks = ranks_of_own(queries, query_group, candidates, candidate_group)
    return Retrieval(query, candidate, ranks, n, chance, float(np.mean((n + 1) / (own + 1))))


def _none_in_first(n: int, own: np.ndarray, k: int) -> np.ndarray:
    """Chance that none of ``own`` right answers is among the first ``k`` of ``n`` in random order."""
    miss = np.ones_like(own)
    for i in range(min(k, n)):
        miss *= np.clip((n - own - i) / (n - i), 0, 1)
    return miss


def _zero_shot(space: Space, labels: tuple[str, ...], label_vectors: np.ndarray) -> ZeroShot | None:
    """Nearest label text for each picture whose item carries one of ``labels``; None when none does."""
    rows = space.rows((IMAGE,))
    index = {label: j for j, label in enumerate(labels)}
    truth = np.array([index.get(space.items[space.item[r]].label, -1) for r in rows], dtype=int)
    rows, truth = rows[truth >= 0], truth[truth >= 0]
    if len(rows) == 0:
        return None
    predicted = np.argmax(space.vectors[rows] @ np.asarray(label_vectors, np.float32).T, axis=1)
    pictures = np.bincount(truth, minlength=len(labels))
    correct = np.bincount(truth[predicted == truth], minlength=len(labels))
    return ZeroShot(tuple(labels), tuple(int(n) for n in pictures), tuple(int(c) for c in correct))


def side_by_side(results: dict[str, OwnPairQuality]) -> list[dict[str, str]]:
    """The tables of several models (name -> result) as one: a column per model, chance last."""
    named = {name: result.rows() for name, result in results.items()}
    first = next(iter(named.values()))
    table = []
    for i, row in enumerate(first):
        joined = {"measure": row["measure"]}
        for name, rows in named.items():
            joined[name] = rows[i]["value"] if i < len(rows) and rows[i]["measure"] == row["measure"] else "–"
        joined["by chance"] = row["by chance"]
        table.append(joined)
    return table


def _row(measure: str, value: str, chance: str) -> dict[str, str]:
    return {"measure": measure, "value": value, "by chance": chance}


def _pct(share: float) -> str:
    """A share as a percentage a student reads: whole above 10%, one significant figure below 1%.

    >>> _pct(0.9412), _pct(0.027), _pct(0.00269), _pct(0.000537), _pct(0.0)
    ('94%', '2.7%', '0.3%', '0.05%', '0%')
    """
    pct = share * 100
    if pct == 0 or pct >= 10:
        return f"{pct:.0f}%"
    if pct >= 1:
        return f"{pct:.1f}%"
    if pct < 0.001:
        return "under 0.001%"
    return f"{pct:.{int(-np.floor(np.log10(pct)))}f}%"
