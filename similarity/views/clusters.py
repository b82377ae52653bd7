"""Clustering the embedding space, choosing k, and naming clusters from text.

Vectors are unit length, so Euclidean k-means on them follows cosine
similarity (``|a - b|^2 = 2 - 2 cos``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from similarity.limits import MAX_CLUSTERS, SCAN_K_MAX
from similarity.search.pca import fit_pca
from similarity.search.topk import top_k

BIG = 20_000  # above this: mini-batch k-means, the k scan on a sample, no O(n^2) clusterers


def _kmeans(vectors, k, seed):
    from sklearn.cluster import KMeans, MiniBatchKMeans

    if len(vectors) > BIG:  # full k-means passes over every item many times; mini-batches scale
        return MiniBatchKMeans(n_clusters=k, n_init=3, batch_size=4096, random_state=seed).fit_predict(vectors)
    return KMeans(n_clusters=k, n_init=4, random_state=seed).fit_predict(vectors)


def _agglomerative(vectors, k, seed):
    from sklearn.cluster import AgglomerativeClustering

    return AgglomerativeClustering(n_clusters=k, metric="cosine", linkage="average").fit_predict(vectors)


def _hdbscan(vectors, k, seed):
    from sklearn.cluster import HDBSCAN

    # HDBSCAN finds its own number of clusters; -1 marks points it calls noise.
    return HDBSCAN(min_cluster_size=max(3, len(vectors) // 100)).fit_predict(vectors)


# name -> (function, needs k)
CLUSTERERS = {
    "k-means": (_kmeans, True),
    "Agglomerative (average, cosine)": (_agglomerative, True),
    "HDBSCAN": (_hdbscan, False),
}


def cluster(method: str, vectors: np.ndarray, k: int | None = None, seed: int = 0) -> np.ndarray:
    """Cluster labels ``(n,)``; -1 is noise (HDBSCAN only)."""
    if method not in CLUSTERERS:
        raise ValueError(f"unknown clustering {method!r}: choose one of {', '.join(CLUSTERERS)}")
    fn, needs_k = CLUSTERERS[method]
    n = len(vectors)
    if n > BIG and fn is not _kmeans:
        raise ValueError(
            f"{method} compares every pair of items: {n:,} items would need ~{n * n * 8 / 1e9:,.0f} GB. "
            f"It runs up to {BIG:,} items; use k-means (mini-batch above {BIG:,})."
        )
    if needs_k:
        if k is None or not 2 <= k <= n - 1:
            raise ValueError(
                f"choose k between 2 and {n - 1} for {n} items"
                if n >= 3
                else f"clustering needs at least 3 items; there are {n}"
            )
    elif n < 5:
        raise ValueError(f"HDBSCAN needs at least 5 items; there are {n}")
    return np.asarray(fn(vectors, k, seed))


def silhouette(vectors: np.ndarray, labels: np.ndarray, sample: int = 3000, seed: int = 0) -> float:
    """Mean silhouette (cosine) of the non-noise points; -1..1, higher = tighter."""
    from sklearn.metrics import silhouette_score

    keep = labels >= 0
    if len(set(labels[keep])) < 2:
        return float("nan")
    return float(
        silhouette_score(
            vectors[keep], labels[keep], metric="cosine", sample_size=min(sample, keep.sum()), random_state=seed
        )
    )


@dataclass(frozen=True)
class KScan:
    ks: np.ndarray  # candidate k
    silhouettes: np.ndarray  # mean silhouette per k
    inertias: np.ndarray  # k-means within-cluster sum of squares per k (elbow)

    @property
    def best_k(self) -> int:
        return int(self.ks[np.nanargmax(self.silhouettes)])

    @property
    def at_edge(self) -> bool:
        """The best k is the largest one tried: more clusters might score higher still."""
        return self.best_k == int(self.ks[-1]) and len(self.ks) > 1


def scan_range(n_items: int, n_known: int = 0) -> int:
    """Largest k the automatic scan tries: covers the known categories, if any.

    >>> scan_range(1861, n_known=9), scan_range(1861, n_known=20), scan_range(5)
    (15, 23, 4)
    """
    return min(max(SCAN_K_MAX, n_known + 3), MAX_CLUSTERS, n_items - 1)


def scan_k(vectors: np.ndarray, k_max: int = SCAN_K_MAX, seed: int = 0) -> KScan:
    """Silhouette and elbow over k = 2..k_max with k-means."""
    from sklearn.cluster import KMeans

    ks = np.arange(2, min(k_max, MAX_CLUSTERS, len(vectors) - 1) + 1)
    if len(ks) == 0:
        raise ValueError(f"choosing k needs at least 3 items; there are {len(vectors)}")
    sil, inertia = [], []
    for k in ks:
        km = KMeans(n_clusters=int(k), n_init=2, random_state=seed).fit(vectors)
        sil.append(silhouette(vectors, km.labels_, seed=seed))
        inertia.append(km.inertia_)
    return KScan(ks, np.array(sil), np.array(inertia))


def centroids(vectors: np.ndarray, labels: np.ndarray) -> dict[int, np.ndarray]:
    """Unit-length mean direction of each cluster (noise excluded)."""
    out = {}
    for c in sorted(set(labels.tolist()) - {-1}):
        mean = vectors[labels == c].mean(axis=0)
        out[c] = mean / max(np.linalg.norm(mean), 1e-12)
    return out


def name_clusters(
    vectors: np.ndarray, labels: np.ndarray, name_vectors: np.ndarray, names: list[str]
) -> dict[int, str]:
    """Each cluster named by the text (label or caption) nearest its centroid."""
    if len(names) == 0:
        raise ValueError("naming clusters needs at least one candidate name")
    return {c: names[int(np.argmax(name_vectors @ centre))] for c, centre in centroids(vectors, labels).items()}


def zero_shot(image_vectors: np.ndarray, label_vectors: np.ndarray) -> np.ndarray:
    """Index of the nearest label (by cosine) for each picture."""
    if len(label_vectors) == 0:
        raise ValueError("type at least one label")
    return np.argmax(image_vectors @ label_vectors.T, axis=1)


def parse_labels(text: str) -> list[str]:
    """Comma- or line-separated labels, blanks and repeats removed.

    >>> parse_labels("animal, food,, vehicle\\nanimal")
    ['animal', 'food', 'vehicle']
    """
    return list(dict.fromkeys(t.strip() for t in text.replace("\n", ",").split(",") if t.strip()))


def confusion(truth: list[str], predicted: list[str]) -> tuple[float, list[tuple[str, str, int]]]:
    """Accuracy and the most frequent (true, predicted) mistakes."""
    if not truth:
        raise ValueError("no items with a known category")
    truth, predicted = np.asarray(truth), np.asarray(predicted)
    accuracy = float(np.mean(truth == predicted))
    wrong = truth != predicted
    pairs, counts = (
        np.unique(np.stack([truth[wrong], predicted[wrong]], axis=1), axis=0, return_counts=True)
        if wrong.any()
        else ([], [])
    )
    order = np.argsort(-np.asarray(counts), kind="stable")
    return accuracy, [(str(pairs[i][0]), str(pairs[i][1]), int(counts[i])) for i in order]


def closest_to_centre(vectors: np.ndarray, labels: np.ndarray, cluster_id: int, n: int) -> np.ndarray:
    """Indices of the ``n`` members most similar to their cluster's centroid."""
    members = np.flatnonzero(labels == cluster_id)
    centre = centroids(vectors[members], np.zeros(len(members), int))[0]
    return top_k(centre, vectors, n, among=members).indices


def name_agreement(labels: np.ndarray, names: dict[int, str], truth: list[str | None]) -> int:
    """How many clusters are named after their members' most common true category."""
    truth = np.asarray(truth, dtype=object)
    agree = 0
    for c, name in names.items():
        values, counts = np.unique(truth[(labels == c) & (truth != None)].astype(str), return_counts=True)  # noqa: E711
        agree += bool(len(values)) and values[np.argmax(counts)] == name
    return agree


@dataclass(frozen=True)
class Clustering:
    """One clustering of a collection, with how it was chosen and how good it is."""

    method: str
    labels: np.ndarray  # (n,) cluster per item; -1 = noise (HDBSCAN)
    silhouette: float  # mean, over the items that are in a cluster
    scan: KScan | None  # the automatic choice of k, if it was made
    notes: tuple[str, ...]  # what a reader should know about the choice

    @property
    def n_clusters(self) -> int:
        return len(set(self.labels.tolist()) - {-1})

    @property
    def noise(self) -> int:
        return int((self.labels == -1).sum())

    def summary(self) -> str:
        text = (
            f"**{self.n_clusters} clusters** · mean silhouette {self.silhouette:.2f}: how much closer each item is "
            "to its own cluster than to the next one (−1…1; above 0.5 = clearly separate groups, around 0.1 = "
            "groups that overlap a lot, usual in CLIP spaces; below 0 = mostly in the wrong group)"
        )
        if self.noise:
            share = 1 - self.noise / len(self.labels)
            text += (
                f", measured on the {share:.0%} of items that are in a cluster · **{self.noise:,} items are noise**: "
                "HDBSCAN puts them in no cluster (grey on the map)"
            )
        return text


def estimate_seconds(n: int, scan: bool) -> float:
    """Rough time to cluster ``n`` items here; for a progress bar, not a promise.

    Measured on the demo's 1,861 pictures on the 2-core machine a class shares, under load (load
    average 5-6): the k scan (k = 2..15) 17-25 s, one k-means 2-5 s (``python -m
    similarity.views.shipped`` prints the whole of it: 25 s). An idle machine is about 5x faster.

    >>> estimate_seconds(1861, scan=True)
    23.0
    """
    return (20.0 * min(n, BIG) / 1861 if scan else 0) + 3.0 * max(n, 1000) / 1861


def explore_clusters(
    vectors: np.ndarray, method: str, k: int | None = None, reduce: int = 0, n_known: int = 0, seed: int = 0
) -> Clustering:
    """Cluster ``vectors`` (n, d): optional PCA to ``reduce`` dims, k given or chosen by silhouette.

    ``n_known`` is the number of known categories: the automatic scan of k
    covers it, and the notes compare the choice with it.
    """
    if method not in CLUSTERERS:
        raise ValueError(f"unknown clustering {method!r}: choose one of {', '.join(CLUSTERERS)}")
    data = fit_pca(vectors, reduce, seed).apply(vectors) if reduce else vectors
    scan, notes = None, []
    if CLUSTERERS[method][1] and k is None:
        sample = data
        if len(data) > BIG:
            sample = data[np.random.default_rng(seed).choice(len(data), BIG, replace=False)]
            notes.append(f"k was chosen on a seeded sample of {BIG:,} of {len(data):,} items.")
        scan = scan_k(sample, scan_range(len(vectors), n_known), seed)
        k = scan.best_k
        known = f"; the collection has {n_known} known categories" if n_known else ""
        notes.append(f"k = {k} has the best silhouette of k = 2…{int(scan.ks[-1])}{known}.")
        if scan.at_edge:
            notes.append(
                f"k = {k} is the largest k tried and the silhouette is still rising: the pictures may fall into "
                "more, finer groups. Switch off the automatic choice to try a larger k."
            )
    labels = cluster(method, data, k, seed)
    return Clustering(method, labels, silhouette(data, labels, seed=seed), scan, tuple(notes))
