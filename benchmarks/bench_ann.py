"""Approximate search on CLIP-like vectors: the replaced numpy IVF, FAISS IVF (the app's), FAISS HNSW; big k-means.

Vectors: the demo's real 384-d vectors (images and captions, bundled model)
as centres, plus wide Gaussian noise, renormalised; the noise level is the
one whose typical nearest-neighbour cosine is closest to the demo's own
(both printed). Not well-separated clusters: neighbourhoods overlap as in a
real collection. Queries: 200 NEW points drawn the same way (not items).

For each index and size: recall@10 against exact search
(:func:`similarity.search.topk.top_k_many`), each index tuned on these
queries to the smallest setting reaching recall@10 >= 0.98 (nprobe or
efSearch, doubling), single-query p50/p95 latency at that setting, build
time, and memory (process RSS delta: tracemalloc cannot see FAISS). Then
``nearest()`` for 65,536 points (map placement) and k-means at the largest
size: sklearn MiniBatchKMeans (as ``similarity.views.clusters``) vs
``faiss.Kmeans``, time and inertia on the same data.

Run: ``python benchmarks/bench_ann.py [--sizes 300000,1000000] [--skip hnsw,kmeans]``.
Figures and ratios only; nothing is asserted.
"""

import argparse
import gc
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import faiss  # noqa: E402
import numpy as np  # noqa: E402
import numpy_ivf  # noqa: E402  (benchmarks/: the replaced implementation)

from similarity.search import ann  # noqa: E402
from similarity.search.topk import top_k, top_k_many  # noqa: E402
from similarity.storage.paths import DEMO_VECTORS  # noqa: E402
from similarity.storage.vectors import read_shipped  # noqa: E402

TARGET = 0.98
APP_THREADS = faiss.omp_get_max_threads()  # as similarity.search.ann sets it
QUERIES = 200


def demo_vectors() -> np.ndarray:
    with np.load(DEMO_VECTORS, allow_pickle=False) as data:
        key = str(data["model_key"])
    return np.stack(list(read_shipped(DEMO_VECTORS, key).values()))


def clip_like(centres: np.ndarray, n: int, noise: float, seed: int) -> np.ndarray:
    """``n`` unit vectors: a random demo vector plus Gaussian noise of norm ~``noise``, renormalised."""
    rng = np.random.default_rng(seed)
    d = centres.shape[1]
    out = np.empty((n, d), np.float32)
    for start in range(0, n, 100_000):
        m = min(100_000, n - start)
        block = centres[rng.integers(0, len(centres), m)]
        block += rng.standard_normal((m, d), dtype=np.float32) * np.float32(noise / np.sqrt(d))
        out[start : start + m] = block / np.linalg.norm(block, axis=1, keepdims=True)
    return out


def nn_cosine(vectors: np.ndarray, seed: int = 1, sample: int = 200) -> float:
    """Median cosine of an item to its most similar other item."""
    picked = np.random.default_rng(seed).choice(len(vectors), min(sample, len(vectors)), replace=False)
    return float(np.median(top_k_many(vectors[picked], vectors, 1, exclude=picked)[1][:, 0]))


def rss() -> int:
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmRSS:"))


def recall(found: np.ndarray, truth: np.ndarray) -> float:
    return float(np.mean([np.isin(f, t).sum() / len(t) for f, t in zip(found, truth)]))


def tune(search_all, settings) -> tuple[int, float, list]:
    """Smallest setting whose recall@10 on the new queries reaches TARGET (or the last), and the whole sweep."""
    sweep = []
    for s in settings:
        sweep.append((s, recall(search_all(s), TRUTH)))
        if sweep[-1][1] >= TARGET:
            break
    return *sweep[-1], sweep


def latency(search_one) -> tuple[float, float]:
    for q in QUERY[:5]:
        search_one(q)  # warm
    times = []
    for q in QUERY:
        t = time.perf_counter()
        search_one(q)
        times.append(time.perf_counter() - t)
    return np.percentile(times, 50) * 1e3, np.percentile(times, 95) * 1e3


def doubling(limit: int, start: int = 1) -> list:
    out = [start]
    while out[-1] < limit:
        out.append(min(limit, out[-1] * 2))
    return out


def row(n, name, setting, rec, p50, p95, build, mem, note=""):
    print(
        f"| {n:>9,} | {name:<10} | {setting:<16} | {rec:.3f} | {p50:6.2f} | {p95:6.2f} | {build:7.1f} | "
        f"{mem / 1e9:5.2f} | {note}",
        flush=True,
    )


def bench_size(n: int, centres: np.ndarray, noise: float, skip: set) -> np.ndarray:
    global QUERY, TRUTH
    vectors = clip_like(centres, n, noise, seed=0)
    QUERY = clip_like(centres, QUERIES, noise, seed=99)  # new points, not items
    TRUTH = top_k_many(QUERY, vectors, 10)[0]
    print(f"\n[{n:,} x {vectors.shape[1]}] nearest-neighbour cosine: median {nn_cosine(vectors):.3f}", flush=True)
    exact = latency(lambda q: top_k(q, vectors, 10))
    print(f"[{n:,}] exact top-10 (the baseline every index must beat): p50 {exact[0]:.2f} ms, p95 {exact[1]:.2f} ms")
    print("|      size | index      | setting          | recall@10 | p50 ms | p95 ms | build s | mem GB | notes")
    place = clip_like(centres, 65_536, noise, seed=7)
    own = bench_numpy_ivf(n, vectors, place)
    bench_faiss_ivf(n, vectors, place, own)
    if "hnsw" not in skip:
        for m in (16, 32) if n <= 300_000 else (16,):  # M=32 builds ~2x slower: 300k only, to fit the budget
            bench_hnsw(n, vectors, m)
    return vectors


def bench_numpy_ivf(n: int, vectors: np.ndarray, place: np.ndarray) -> float:
    """The replaced numpy IVF; its build() tunes nprobe on its own items. Returns its nearest() seconds."""
    gc.collect()
    before, t = rss(), time.perf_counter()
    old = numpy_ivf.build(vectors, np.arange(n))
    build_s, mem, own = time.perf_counter() - t, rss() - before, old.nprobe

    def search_all(p):
        old.nprobe = p
        return [old.search(q, 10)[0] for q in QUERY]

    p, rec, sweep = tune(search_all, doubling(len(old.centroids)))
    old.nprobe = p
    p50, p95 = latency(lambda q: old.search(q, 10))
    t = time.perf_counter()
    old.nearest(place, min(own, 16))
    near = time.perf_counter() - t
    note = f"{len(old.centroids)} lists; self-tuned nprobe {own}; sweep {[(s, round(r, 3)) for s, r in sweep]}"
    row(n, "numpy IVF", f"nprobe {p}", rec, p50, p95, build_s, mem, note)
    print(f"[{n:,}] numpy IVF nearest() for 65,536 points at nprobe {min(own, 16)}: {near:.2f} s", flush=True)
    return near


def bench_faiss_ivf(n: int, vectors: np.ndarray, place: np.ndarray, numpy_near: float) -> None:
    """FAISS IVF as the app builds it (ann.build, self-tuned on its own items)."""
    gc.collect()
    before = rss()
    ivf = ann.build(vectors, np.arange(n))
    mem, own, own_recall = rss() - before, ivf.nprobe, ivf.recall

    def search_all(p):
        return ivf._top(QUERY, 10, p)[0]

    p, rec, sweep = tune(search_all, doubling(ivf.lists))
    at_own = recall(search_all(own), TRUTH)
    ivf.nprobe = p
    p50, p95 = latency(lambda q: ivf.search(q, 10))
    note = (
        f"{ivf.lists} lists; self-tuned nprobe {own} (recall {own_recall:.3f} on items, {at_own:.3f} on new queries);"
        f" sweep {[(s, round(r, 3)) for s, r in sweep]}; worthwhile at own nprobe: {own * 4 <= ivf.lists}"
    )
    row(n, "FAISS IVF", f"nprobe {p}", rec, p50, p95, ivf.build_seconds, mem, note)
    near = {}
    for threads in (1, 2):
        faiss.omp_set_num_threads(threads)
        t = time.perf_counter()
        ivf.nearest(place, min(own, 16))
        near[threads] = time.perf_counter() - t
    faiss.omp_set_num_threads(APP_THREADS)
    hit = (ivf.nearest(QUERY, min(own, 16)) == TRUTH[:, 0]).mean()
    print(
        f"[{n:,}] FAISS IVF nearest() for 65,536 points at nprobe {min(own, 16)}: {near[1]:.2f} s (1 thread, "
        f"{numpy_near / near[1]:.1f}x faster than numpy), {near[2]:.2f} s (2 threads); "
        f"exact neighbour for {hit:.0%} of the queries",
        flush=True,
    )


def bench_hnsw(n: int, vectors: np.ndarray, m: int) -> None:
    gc.collect()
    before, t = rss(), time.perf_counter()
    hnsw = faiss.IndexHNSWFlat(vectors.shape[1], m, faiss.METRIC_INNER_PRODUCT)
    hnsw.hnsw.efConstruction = 40
    for start in range(0, n, 65_536):
        hnsw.add(vectors[start : start + 65_536])
    build_s, mem = time.perf_counter() - t, rss() - before

    def search_all(ef):
        return hnsw.search(QUERY, 10, params=faiss.SearchParametersHNSW(efSearch=ef))[1]

    ef, rec, sweep = tune(search_all, doubling(2048, 16))
    params = faiss.SearchParametersHNSW(efSearch=ef)
    p50, p95 = latency(lambda q: hnsw.search(q[None], 10, params=params))
    sweep = [(s, round(r, 3)) for s, r in sweep]
    row(n, f"HNSW M={m}", f"efSearch {ef}", rec, p50, p95, build_s, mem, f"efConstruction 40; sweep {sweep}")


def bench_kmeans(vectors: np.ndarray, k: int = 20) -> None:
    from sklearn.cluster import MiniBatchKMeans

    def inertia(centroids):
        index = faiss.IndexFlatL2(vectors.shape[1])
        index.add(np.ascontiguousarray(centroids, np.float32))
        return float(index.search(vectors, 1)[0].sum(dtype=np.float64))

    n, d = vectors.shape
    print(
        f"\n[{n:,} x {d}] k-means, k = {k}; inertia = sum of squared distances to the nearest centroid (lower = better)"
    )
    t = time.perf_counter()
    mb = MiniBatchKMeans(n_clusters=k, n_init=3, batch_size=4096, random_state=0).fit(vectors)
    mb_s = time.perf_counter() - t
    print(
        f"  sklearn MiniBatchKMeans (n_init=3, batch 4096): {mb_s:.1f} s, inertia {inertia(mb.cluster_centers_):,.0f}"
    )
    for label, extra in (("default: sample of 256 per centroid", {}), ("all points", {"max_points_per_centroid": n})):
        for threads in (1, 2):
            faiss.omp_set_num_threads(threads)
            t = time.perf_counter()
            km = faiss.Kmeans(d, k, niter=20, seed=0, **extra)
            km.train(vectors)
            labels = km.index.search(vectors, 1)[1][:, 0]
            s = time.perf_counter() - t
            print(
                f"  faiss.Kmeans niter 20, {label}, {threads} thread(s), labels included: {s:.1f} s "
                f"({mb_s / s:.1f}x faster), inertia {inertia(km.centroids):,.0f}, smallest cluster "
                f"{np.bincount(labels, minlength=k).min():,}",
                flush=True,
            )
    faiss.omp_set_num_threads(APP_THREADS)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="300000,1000000", help="comma-separated collection sizes")
    parser.add_argument("--skip", default="", help="comma-separated: hnsw, kmeans")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    skip = set(filter(None, args.skip.split(",")))
    print(
        f"FAISS {faiss.__version__}, {os.cpu_count()} CPUs, FAISS threads {faiss.omp_get_max_threads()} (app setting)"
    )
    centres = demo_vectors()
    own = nn_cosine(centres)
    levels = {noise: nn_cosine(clip_like(centres, min(sizes), noise, seed=3)) for noise in (0.5, 0.6, 0.7, 0.8)}
    noise = min(levels, key=lambda s: abs(levels[s] - own))
    print(
        f"demo: {len(centres):,} vectors, nearest-neighbour cosine median {own:.3f}; with noise of norm "
        + ", ".join(f"{s}: {c:.3f}" for s, c in levels.items())
        + f" at {min(sizes):,} items -> noise {noise}"
    )
    vectors = None
    for n in sizes:
        del vectors
        gc.collect()
        vectors = bench_size(n, centres, noise, skip)
    if "kmeans" not in skip:
        bench_kmeans(vectors)


if __name__ == "__main__":
    main()
