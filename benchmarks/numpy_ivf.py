"""REPLACED implementation, kept only for comparison: the hand-written numpy IVF index.

The app uses :mod:`similarity.search.ann` (FAISS) since this was replaced;
``benchmarks/bench_ann.py`` measures both on the same vectors. The code below
is the previous ``similarity/ann.py`` unchanged (its own docstring follows).

Approximate nearest neighbours for big spaces: an inverted-file (IVF) index with exact scoring.

Exact search reads every vector: ~12 ms for 100k x 512 on 2 cores, ~120 ms
for a million (``benchmarks/bench_big.py``). Above :data:`ANN_FROM` rows the
app builds this index in the background and searches it instead:

- k-means centroids (trained on a sample) split the vectors into lists;
  each vector is stored once more, grouped by list, so a list is one
  contiguous block;
- a query scores the centroids, then every vector of its ``nprobe`` nearest
  lists exactly (one matrix product per list), and keeps the top k;
- ``nprobe`` is the smallest that reaches the target recall@10 against
  exact search, measured on the collection's own items used as queries;
  that recall is shown next to the results.

Any change to the items makes a new space, so a new index: results never
come from a stale one (exact search answers while it is built).

Why not LanceDB's own indexes: on the same 1M seeded vectors and queries
(``benchmarks/bench_big.py``), IVF_PQ with a x10 refine built in 100 s and
answered at p95 15.6 ms with recall@10 0.76; IVF_HNSW_SQ built in 567 s,
p95 4.4 ms, recall@10 0.63. This index: 58 s, p95 4.5 ms, recall@10 0.999.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

ANN_FROM = 200_000  # rows; below this, exact search is already fast (<= ~25 ms on 2 cores)
TARGET_RECALL = 0.98
TRAIN_SAMPLE = 50_000


@dataclass
class IvfIndex:
    centroids: np.ndarray  # (lists, d)
    rows: np.ndarray  # space rows, grouped by list
    starts: np.ndarray  # (lists + 1,) offsets of each list in rows / vectors
    vectors: np.ndarray  # (n, d) the vectors in ``rows`` order
    nprobe: int = 1
    recall: float = 0.0  # recall@10 against exact search at this nprobe
    build_seconds: float = 0.0

    @property
    def worthwhile(self) -> bool:
        """Scanning at most a quarter of the lists: clearly faster than exact search.

        Vectors with little cluster structure need most lists for the target
        recall; then exact search is as fast and never wrong.
        """
        return self.nprobe * 4 <= len(self.centroids)

    def search(self, query: np.ndarray, k: int, exclude: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(space rows, cosines) of the ``k`` best, best first (``exclude``: a row never returned)."""
        lists = np.argpartition(-(self.centroids @ query), self.nprobe - 1)[: self.nprobe]
        rows, scores = [], []
        for lst in lists:
            a, b = self.starts[lst], self.starts[lst + 1]
            rows.append(self.rows[a:b])
            scores.append(self.vectors[a:b] @ query)
        rows, scores = np.concatenate(rows), np.concatenate(scores)
        if exclude is not None:
            scores = np.where(rows == exclude, -np.inf, scores)
        k = min(k, int(np.isfinite(scores).sum()))
        best = np.argpartition(-scores, k - 1)[:k] if k < len(scores) else np.arange(len(scores))
        best = best[np.lexsort((rows[best], -scores[best]))]
        return rows[best], scores[best]

    def nearest(self, queries: np.ndarray, nprobe: int = 1) -> np.ndarray:
        """Each query's most similar indexed row, looked for in its ``nprobe`` nearest lists (approximate, fast).

        One matrix product per list for all the queries probing it: placing a
        million items by their nearest neighbour takes seconds, not the
        minutes of one search per query.
        """
        scores = queries @ self.centroids.T
        scores[:, np.diff(self.starts) == 0] = -np.inf  # an empty list holds no neighbour
        nprobe = max(1, min(nprobe, int(np.count_nonzero(np.diff(self.starts)))))
        probed = np.argpartition(-scores, nprobe - 1, axis=1)[:, :nprobe]
        found = np.zeros(len(queries), np.int64)
        best = np.full(len(queries), -np.inf, np.float32)
        for owner in probed.T:
            order = np.argsort(owner, kind="stable")
            bounds = np.searchsorted(owner[order], np.arange(len(self.centroids) + 1))
            for lst in np.flatnonzero(np.diff(bounds)):
                asked = order[bounds[lst] : bounds[lst + 1]]
                a, b = self.starts[lst], self.starts[lst + 1]
                sims = queries[asked] @ self.vectors[a:b].T
                top = sims.argmax(1)
                better = sims[np.arange(len(asked)), top] > best[asked]
                found[asked[better]] = self.rows[a + top[better]]
                best[asked[better]] = sims[np.arange(len(asked)), top][better]
        return found


def build(vectors: np.ndarray, rows: np.ndarray, seed: int = 0, target: float = TARGET_RECALL) -> IvfIndex:
    """An IVF index over ``vectors[rows]``, tuned to ``target`` recall@10 on the collection itself."""
    from sklearn.cluster import MiniBatchKMeans

    t0 = time.perf_counter()
    rng = np.random.default_rng(seed)
    n_lists = max(1, int(round(2 * np.sqrt(len(rows)))))
    sample = vectors[rng.choice(rows, min(TRAIN_SAMPLE, len(rows)), replace=False)]
    km = MiniBatchKMeans(n_lists, batch_size=4096, n_init=1, max_iter=20, random_state=seed).fit(sample)
    centroids = km.cluster_centers_.astype(np.float32)
    centroids /= np.maximum(np.linalg.norm(centroids, axis=1, keepdims=True), 1e-12)
    # Chunks keep the peak memory at one extra copy of the vectors (the index's own).
    owner = np.concatenate(
        [(vectors[rows[i : i + 65_536]] @ centroids.T).argmax(1) for i in range(0, len(rows), 65_536)]
    )
    order = np.argsort(owner, kind="stable")
    starts = np.searchsorted(owner[order], np.arange(n_lists + 1))
    index = IvfIndex(centroids, rows[order], starts, vectors[rows[order]])
    index.nprobe, index.recall = tune(index, vectors, rows, target, rng)
    index.build_seconds = time.perf_counter() - t0
    return index


def tune(index: IvfIndex, vectors: np.ndarray, rows: np.ndarray, target: float, rng, queries: int = 200):
    """Smallest nprobe (doubling) whose recall@10 on sampled items reaches ``target``."""
    picked = rng.choice(rows, min(queries, len(rows)), replace=False)
    exact = exact_top(index.vectors, index.rows, vectors[picked], picked, 10)
    n_lists = len(index.centroids)
    nprobe = 1
    while True:
        index.nprobe = nprobe
        found = [index.search(vectors[r], 10, exclude=r)[0] for r in picked]
        recall = float(np.mean([len(np.intersect1d(f, e)) / 10 for f, e in zip(found, exact)]))
        if recall >= target or nprobe >= n_lists:
            return nprobe, recall
        nprobe = min(n_lists, nprobe * 2)


def exact_top(data: np.ndarray, rows: np.ndarray, queries: np.ndarray, exclude: np.ndarray, k: int) -> np.ndarray:
    """Exact top-``k`` space rows for each query (its own row excluded), reading ``data`` once in chunks."""
    best_rows = np.zeros((len(queries), 0), np.int64)
    best_scores = np.zeros((len(queries), 0), np.float32)
    for start in range(0, len(data), 65_536):
        chunk_rows = rows[start : start + 65_536]
        scores = queries @ data[start : start + 65_536].T
        scores[chunk_rows[None, :] == exclude[:, None]] = -np.inf
        best_rows = np.concatenate([best_rows, np.broadcast_to(chunk_rows, scores.shape)], axis=1)
        best_scores = np.concatenate([best_scores, scores], axis=1)
        keep = np.argpartition(-best_scores, min(k, best_scores.shape[1] - 1), axis=1)[:, :k]
        best_rows = np.take_along_axis(best_rows, keep, 1)
        best_scores = np.take_along_axis(best_scores, keep, 1)
    return best_rows
