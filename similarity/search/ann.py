"""Approximate nearest neighbours for big spaces: a FAISS inverted-file (IVF) index with exact scoring.

Exact search reads every vector: ~12 ms for 100k x 512 on 2 cores, ~120 ms
for a million (``benchmarks/bench_big.py``). Above :data:`ANN_FROM` rows the
app builds this index in the background and searches it instead:

- spherical k-means (seeded, on a sample) splits the vectors into ~2 sqrt(n)
  lists; FAISS keeps each vector once more in its list, uncompressed
  (``IVF,Flat``), so every cosine it returns is exact;
- a query scores the centroids, then every vector of its ``nprobe`` nearest
  lists, and keeps the top k;
- ``nprobe`` is the smallest (doubling) that reaches the target recall@10
  against exact search (:func:`~similarity.search.topk.top_k_many`),
  measured on the collection's own items used as queries; that recall is
  shown next to the results.

Any change to the items makes a new space, so a new index: results never
come from a stale one (exact search answers while it is built).

Why FAISS rather than the numpy IVF it replaced (kept for comparison in
``benchmarks/numpy_ivf.py``): the same index, with training, adding and
scanning in compiled code. ``benchmarks/bench_ann.py``: the demo's 384-d
vectors plus wide noise (nearest-neighbour cosine ~0.72, the demo's 0.74),
200 new queries, each index at the smallest setting reaching recall@10 >=
0.98 on them; 2 cores busy with other work, so p95s are noisy:

======  =========  ========  =========  ============  =======  =========
size    index      setting   recall@10  p50 / p95 ms  build s  RSS delta
======  =========  ========  =========  ============  =======  =========
300k    exact      -         1          50 / 235      -        -
300k    numpy IVF  nprobe 2  0.998      0.17 / 11     118      0.70 GB
300k    FAISS IVF  nprobe 1  0.983      0.13 / 0.22   18       0.54 GB
300k    HNSW M=32  ef 256    0.985      0.54 / 4.6    54       0.54 GB
1M      exact      -         1          122 / 180     -        -
1M      numpy IVF  nprobe 1  0.984      0.14 / 4.1    141      1.55 GB
1M      FAISS IVF  nprobe 2  1.000      0.37 / 0.68   40-56    1.89 GB
======  =========  ========  =========  ============  =======  =========

(The vectors alone are 0.46 GB at 300k, 1.54 GB at 1M.) Placing 65,536
points with ``nearest()`` takes as long as the numpy version at 1M (~21 s
on the busy machine) and half as long at 300k. FAISS runs on one thread
here (see below): two threads on two busy cores were slower, not faster.

HNSW (``IndexHNSWFlat``, inner product, efConstruction 40) is not used: it
builds 3-6x slower (54 s at 300k with M=32; 244 s at 1M with M=16), is
slower per query at the same recall, and with M=16 never reaches 0.98
(0.976 at 300k, 0.925 at 1M, efSearch 2048, ~5 ms).

Why not LanceDB's own indexes: on 1M seeded vectors (``benchmarks/bench_big.py``),
IVF_PQ with a x10 refine answered at p95 15.6 ms with recall@10 0.76;
IVF_HNSW_SQ built in 567 s, p95 4.4 ms, recall@10 0.63.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

import faiss
import numpy as np

from similarity.search.topk import CHUNK, top_k_many

ANN_FROM = 200_000  # rows; below this, exact search is already fast (<= ~25 ms on 2 cores)
TARGET_RECALL = 0.98
TRAIN_SAMPLE = 50_000  # k-means runs on this many sampled rows
TUNE_QUERIES = 200  # the collection's own items that measure recall@10

# FAISS threads batch work only (training, adding, tuning, nearest()); one
# query is one thread whatever this says. Half the cores: a background build
# on the 2-core classroom server leaves a core to the visitors' pages.
faiss.omp_set_num_threads(max(1, (os.cpu_count() or 2) // 2))


@dataclass
class IvfIndex:
    index: faiss.IndexIVFFlat  # FAISS id i is space row rows[i]
    rows: np.ndarray  # (n,) space rows, in FAISS id order
    nprobe: int = 1
    recall: float = 0.0  # recall@10 against exact search at this nprobe
    build_seconds: float = 0.0

    @property
    def lists(self) -> int:
        return int(self.index.nlist)

    @property
    def centroids(self) -> np.ndarray:
        """(lists, d) unit centroids of the lists."""
        return self.index.quantizer.reconstruct_n(0, self.lists)

    @property
    def worthwhile(self) -> bool:
        """Scanning at most a quarter of the lists: clearly faster than exact search.

        Vectors with little cluster structure need most lists for the target
        recall; then exact search is as fast and never wrong.
        """
        return self.nprobe * 4 <= self.lists

    @property
    def description(self) -> str:
        """One sentence for the Search page: what answered, and how well."""
        return (
            f"Approximate search (FAISS inverted-file index, {self.nprobe:,} of {self.lists:,} lists scanned per "
            f"query): recall@10 = {self.recall:.2f} against exact search, measured on this collection's own items."
        )

    def search(self, query: np.ndarray, k: int, exclude: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(space rows, cosines) of the ``k`` best, best first (``exclude``: a row never returned).

        Fewer than ``k`` when the probed lists hold fewer; ``k`` at least the
        index's size probes every list, so it returns every row.
        """
        if k < 1:
            raise ValueError(f"the number of results must be at least 1, not {k!r}")
        nprobe = self.lists if k >= len(self.rows) - (exclude is not None) else self.nprobe
        excluded = None if exclude is None else np.array([exclude])
        rows, cos = self._top(np.asarray(query, np.float32)[None], int(k), nprobe, excluded)
        found = rows[0] >= 0
        return rows[0][found], cos[0][found]

    def nearest(self, queries: np.ndarray, nprobe: int = 1) -> np.ndarray:
        """Each query's most similar indexed row, looked for in its ``nprobe`` nearest lists (approximate, fast).

        One batched FAISS search for all the queries: placing a million items
        by their nearest neighbour takes seconds, not the minutes of one
        search per query.
        """
        queries = np.ascontiguousarray(queries, np.float32)
        nprobe = max(1, min(int(nprobe), self.lists))
        found = self._top(queries, 1, nprobe)[0][:, 0]
        while (missing := found < 0).any() and nprobe < self.lists:  # the probed lists were empty: look further
            nprobe = min(self.lists, nprobe * 2)
            found[missing] = self._top(queries[missing], 1, nprobe)[0][:, 0]
        return found

    def _top(self, queries: np.ndarray, k: int, nprobe: int, exclude: np.ndarray | None = None):
        """(space rows (q, k), cosines (q, k)) best first, ties to the lower row; -1 where fewer were found."""
        params = faiss.SearchParametersIVF(nprobe=nprobe)
        cos, ids = self.index.search(np.ascontiguousarray(queries), k + (exclude is not None), params=params)
        rows = np.where(ids >= 0, self.rows[np.maximum(ids, 0)], -1)
        cos = np.where(ids >= 0, cos, -np.inf).astype(np.float32)
        if exclude is not None:
            cos[rows == exclude[:, None]] = -np.inf
        rows = np.where(np.isfinite(cos), rows, -1)
        order = np.lexsort((rows, -cos), axis=-1)[:, :k]
        return np.take_along_axis(rows, order, 1), np.take_along_axis(cos, order, 1)


def build(vectors: np.ndarray, rows: np.ndarray, seed: int = 0, target: float = TARGET_RECALL) -> IvfIndex:
    """An IVF index over ``vectors[rows]``, tuned to ``target`` recall@10 on the collection itself."""
    t0 = time.perf_counter()
    rows = np.asarray(rows, np.int64)
    rng = np.random.default_rng(seed)
    n_lists = max(1, int(round(2 * np.sqrt(len(rows)))))
    index = faiss.IndexIVFFlat(
        faiss.IndexFlatIP(vectors.shape[1]), vectors.shape[1], n_lists, faiss.METRIC_INNER_PRODUCT
    )
    index.cp.seed, index.cp.niter, index.cp.min_points_per_centroid = seed, 20, 1  # spherical (inner product)
    index.train(vectors[np.sort(rng.choice(rows, min(TRAIN_SAMPLE, len(rows)), replace=False))])
    # Rows go in list by list, in chunks: each list is allocated once at its size (FAISS grows a list by
    # doubling on every add), and the only extra copy of the vectors is FAISS's own.
    chunks = range(0, len(rows), CHUNK)
    lists = np.concatenate([index.quantizer.assign(_rows_of(vectors, rows, s), 1)[:, 0] for s in chunks])
    order = np.argsort(lists, kind="stable")
    rows, lists = rows[order], np.ascontiguousarray(lists[order])
    for s in chunks:
        x = _rows_of(vectors, rows, s)
        index.add_core(len(x), faiss.swig_ptr(x), None, faiss.swig_ptr(lists[s : s + CHUNK]))
    ivf = IvfIndex(index, rows)
    ivf.nprobe, ivf.recall = tune(ivf, vectors, target, rng)
    ivf.build_seconds = time.perf_counter() - t0
    return ivf


def _rows_of(vectors: np.ndarray, rows: np.ndarray, start: int) -> np.ndarray:
    return np.ascontiguousarray(vectors[rows[start : start + CHUNK]], np.float32)


def tune(index: IvfIndex, vectors: np.ndarray, target: float, rng, queries: int = TUNE_QUERIES):
    """Smallest nprobe (doubling) whose recall@10 on sampled items (each excluding itself) reaches ``target``."""
    picked = index.rows[np.sort(rng.choice(len(index.rows), min(queries, len(index.rows)), replace=False))]
    exact = _exact_rows(vectors[picked], vectors, index.rows, picked, 10)
    nprobe = 1
    while True:
        found = index._top(vectors[picked], exact.shape[1], nprobe, picked)[0]
        recall = float(np.mean([np.isin(f, e).sum() / len(e) for f, e in zip(found, exact)]))
        if recall >= target or nprobe >= index.lists:
            return nprobe, recall
        nprobe = min(index.lists, nprobe * 2)


def _exact_rows(queries: np.ndarray, vectors: np.ndarray, rows: np.ndarray, exclude: np.ndarray, k: int) -> np.ndarray:
    """Exact top-``k`` space rows among ``rows`` for each query (``exclude``: its own row), by ``top_k_many``.

    ``rows`` is read in near-equal pieces of at most :data:`CHUNK`, so the
    extra memory is one piece, not a copy of ``vectors[rows]``.
    """
    best_rows, best_cos = [], []
    for piece in np.array_split(rows, -(-len(rows) // CHUNK)):
        own = piece[None, :] == exclude[:, None]  # (q, piece): where each query's own row is, if here
        found, cos = top_k_many(queries, vectors[piece], k, exclude=np.where(own.any(1), own.argmax(1), -1))
        best_rows.append(piece[found])
        best_cos.append(cos)
    best_rows, best_cos = np.concatenate(best_rows, 1), np.concatenate(best_cos, 1)
    order = np.lexsort((best_rows, -best_cos), axis=-1)[:, :k]
    return np.take_along_axis(best_rows, order, 1)
