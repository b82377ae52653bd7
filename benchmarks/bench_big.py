"""Big collections on this machine: search, ANN, clustering, maps, opening and indexing.

Synthetic clustered, seeded unit vectors (100k and 1M x 512 float32) stand in
for a catalogue's embeddings; a generated folder of real image files measures
indexing. Every figure is printed next to its baseline from the same run:

- exact top-10 vs a plain matrix-vector product over the same matrix (the
  memory-bandwidth bound);
- the IVF index: build time, p50/p95 latency, recall@10 against exact search
  on held-out queries, and the process RSS holding it;
- MiniBatchKMeans at 1M, UMAP at 100k (warm: numba compiled first);
- opening an indexed 100k collection as the app does (LanceDB -> Space);
- indexing throughput end to end vs the model's raw forward on ready tensors,
  and local Ray vs in-process.

Run: ``python benchmarks/bench_big.py [--sizes 100000 1000000] [--skip umap ray]``.
"""

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np  # noqa: E402

D = 512


def clustered(n: int, seed: int = 0, d: int = D) -> np.ndarray:
    """``n`` unit vectors around 1,000 seeded centres (like products in categories)."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((1000, d)).astype(np.float32)
    out = np.empty((n, d), np.float32)
    for start in range(0, n, 100_000):
        m = min(100_000, n - start)
        # Noise as strong as the centre: items of one category at cosine ~0.5 to each other.
        block = centres[rng.integers(0, 1000, m)] + rng.standard_normal((m, d)).astype(np.float32)
        out[start : start + m] = block / np.linalg.norm(block, axis=1, keepdims=True)
    return out


def ms(samples) -> str:
    return f"p50 {np.percentile(samples, 50) * 1e3:.2f} ms, p95 {np.percentile(samples, 95) * 1e3:.2f} ms"


def rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6


def search_figures(n: int) -> None:
    from similarity.search import ann
    from similarity.search.topk import top_k, top_k_many

    vectors = clustered(n + 200)
    vectors, queries = vectors[:n], vectors[n:]  # held-out queries from the same distribution
    product, exact = [], []
    for q in queries[:50]:
        t = time.perf_counter()
        vectors @ q
        product.append(time.perf_counter() - t)
        t = time.perf_counter()
        top_k(q, vectors, 10)
        exact.append(time.perf_counter() - t)
    print(f"[{n:,}] matrix-vector product alone (bandwidth bound): {ms(product)}")
    print(f"[{n:,}] exact top-10: {ms(exact)} ({np.median(exact) / np.median(product):.2f}x the bound)")
    before = rss_gb()
    index = ann.build(vectors, np.arange(n))
    print(
        f"[{n:,}] IVF build {index.build_seconds:.1f} s ({len(index.centroids):,} lists, nprobe {index.nprobe}, "
        f"tuned recall@10 {index.recall:.3f}); index memory +{rss_gb() - before:.2f} GB, RSS {rss_gb():.2f} GB"
    )
    truth = top_k_many(queries, vectors, 10)[0]
    lat, recalls = [], []
    for q, t_rows in zip(queries, truth):
        t = time.perf_counter()
        rows, _ = index.search(q, 10)
        lat.append(time.perf_counter() - t)
        recalls.append(len(np.intersect1d(rows, t_rows)) / 10)
    print(
        f"[{n:,}] IVF search: {ms(lat)}, recall@10 {np.mean(recalls):.3f} on 200 unseen queries "
        f"({np.median(exact) / np.median(lat):.0f}x faster than exact)"
    )
    if n >= 1_000_000:
        from similarity.views.clusters import cluster

        t = time.perf_counter()
        cluster("k-means", vectors, k=50)
        print(f"[{n:,}] mini-batch k-means, k = 50: {time.perf_counter() - t:.1f} s (goal <= 30 s)")


def lance_figures(n: int) -> None:
    """LanceDB's own indexes on the same vectors and queries, to compare with the app's IVF (above)."""
    import pyarrow as pa

    from similarity.search.topk import top_k_many
    from similarity.storage.lance import connect

    vectors = clustered(n + 200)
    vectors, queries = vectors[:n], vectors[n:]
    truth = top_k_many(queries, vectors, 10)[0]
    with tempfile.TemporaryDirectory() as tmp:
        db = connect(tmp)
        column = pa.FixedSizeListArray.from_arrays(pa.array(vectors.ravel()), D)
        table = db.create_table("bench", pa.table({"row": np.arange(n), "vector": column}))
        for kind, options in (("IVF_PQ", {"num_sub_vectors": 64}), ("IVF_HNSW_SQ", {})):
            t = time.perf_counter()
            table.create_index(metric="cosine", index_type=kind, replace=True, **options)
            build = time.perf_counter() - t
            disk = sum(f.stat().st_size for f in Path(tmp).rglob("*") if f.is_file()) / 1e9
            for nprobes in (20, 50):
                lat, recalls = [], []
                for q, t_rows in zip(queries, truth):
                    t = time.perf_counter()
                    query = table.search(q).metric("cosine").nprobes(nprobes).limit(10)
                    found = (query.refine_factor(10) if kind == "IVF_PQ" else query).to_arrow()["row"].to_numpy()
                    lat.append(time.perf_counter() - t)
                    recalls.append(len(np.intersect1d(found, t_rows)) / 10)
                print(
                    f"[{n:,}] LanceDB {kind} (built in {build:.0f} s, table + index {disk:.1f} GB), nprobes {nprobes}"
                    f"{', refine x10' if kind == 'IVF_PQ' else ''}: {ms(lat)}, recall@10 {np.mean(recalls):.3f}"
                )


def umap_figure(n: int = 100_000) -> None:
    from similarity.views.map_plots import embedding_map
    from similarity.views.maps import fit_map

    fit_map("UMAP", clustered(2_000, seed=3))  # compile numba first: "warm"
    t = time.perf_counter()
    fitted = fit_map("UMAP", clustered(n, seed=2))
    print(f"[{n:,}] UMAP map, warm: {time.perf_counter() - t:.1f} s (goal <= 90 s)")
    hover = [f"catalogue picture {i:06d}.jpg (image)" for i in range(n)]
    figure = embedding_map(fitted.coords, ["image"] * n, hover, "UMAP units", "UMAP", fitted.coords[0], np.arange(8))
    print(
        f"[{n:,}] the map sent to the browser (plotly WebGL JSON): {len(figure.to_json()) / 1e6:.1f} MB (limit ~50 MB)"
    )


def open_figure(n: int = 100_000) -> None:
    """Write an indexed collection of ``n`` items (fake paths), then open it as the app does."""
    from similarity.encoders.bundled import load_bundled
    from similarity.ingest.collection import load_indexed
    from similarity.ingest.space import embed_collection
    from similarity.storage.items import ItemTable
    from similarity.storage.lance import connect
    from similarity.storage.vectors import EmbeddingStore

    encoder = load_bundled()
    vectors = clustered(n, d=encoder.dim)
    with tempfile.TemporaryDirectory() as tmp:
        db = connect(tmp)
        ids = [f"{i:020x}" for i in range(n)]
        EmbeddingStore(db.uri, encoder.key, dim=encoder.dim).add([f"img:{i}" for i in ids], vectors)
        ItemTable(db, "catalogue").add(
            [
                {"path": f"/catalogue/{i}.jpg", "caption": None, "size": 1000, "mtime": 0.0, "id": c}
                for i, c in enumerate(ids)
            ]
        )
        t = time.perf_counter()
        collection = load_indexed("catalogue", tmp)
        space = embed_collection(encoder, EmbeddingStore(tmp, encoder.key, dim=encoder.dim), collection)
        seconds = time.perf_counter() - t
        disk = sum(p.stat().st_size for p in Path(tmp).rglob("*") if p.is_file()) / 1e6
    assert space.encoded_images == 0 and len(space.vectors) == n
    print(f"[{n:,}] opening an indexed collection (LanceDB -> Space, nothing encoded): {seconds:.1f} s (goal <= 5 s)")
    print(f"[{n:,}] its LanceDB folder: {disk:,.0f} MB")


def placement_figures(n: int) -> None:
    """Placing every item of a sampled map, so a box or lasso selects them all (PCA exact; UMAP/t-SNE nearest)."""
    from similarity.views.maps import MAX_POINTS, FittedMap, fit_map, map_rows
    from similarity.views.placement import estimate_placement_seconds, positions_of_all

    vectors = clustered(n, seed=4)
    rows = np.arange(n)
    drawn = map_rows(rows, "UMAP")
    pca = fit_map("PCA", vectors[drawn])
    # The placement's cost does not depend on the drawn positions: a UMAP map stands in with PCA's.
    umap_like = FittedMap("UMAP", vectors[drawn], pca.coords, None)
    for fitted in (pca, umap_like):
        t = time.perf_counter()
        positions_of_all(fitted, vectors, rows, drawn)
        seconds = time.perf_counter() - t
        print(
            f"[{n:,}] placing the {n - len(drawn):,} undrawn items of a {fitted.method} map of "
            f"{MAX_POINTS[fitted.method]:,}: {seconds:.1f} s "
            f"(the page's estimate {estimate_placement_seconds(fitted.method, n, len(drawn)):.0f} s)"
        )


def photo_folder(folder: Path, n_files: int) -> Path:
    """``n_files`` distinct 640 x 480 JPEGs (web catalogue size): demo emoji on seeded backgrounds."""
    from PIL import Image

    from similarity.storage.paths import DEMO_DIR

    demo = sorted((DEMO_DIR / "images").glob("*.png"))
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(n_files):
        canvas = Image.new("RGB", (640, 480), tuple(int(c) for c in rng.integers(0, 256, 3)))
        canvas.paste(Image.open(demo[i % len(demo)]).convert("RGB").resize((400, 400)), (120, 40))
        canvas.save(folder / f"{i:05d}.jpg", quality=90)
    return folder


def indexing_figures(encoder, n_files: int, ray: bool) -> None:
    """End-to-end indexing of JPEG files vs the model's raw forward on ready input tensors."""
    from similarity.ingest.files import open_image
    from similarity.ingest.indexer import gather, index_local
    from similarity.storage.items import ItemTable
    from similarity.storage.lance import connect
    from similarity.storage.vectors import EmbeddingStore

    with tempfile.TemporaryDirectory() as tmp:
        folder = photo_folder(Path(tmp) / "pictures", n_files)
        files = sorted(folder.glob("*.jpg"))[:128]
        ready = encoder.towers.pixels([open_image(p) for p in files])
        encoder.towers.forward(ready[:64])  # warm-up, at the batch size measured
        best = float("inf")
        for _ in range(3):
            t = time.perf_counter()
            for start in range(0, len(ready), 64):
                encoder.towers.forward(ready[start : start + 64])
            best = min(best, time.perf_counter() - t)
        raw = len(ready) / best
        runs = {}
        for runner in ("local", "ray") if ray else ("local",):
            db = connect(str(Path(tmp) / runner))
            report = gather([folder], {}, Path(tmp) / "unpacked")
            vectors, items = EmbeddingStore(db.uri, encoder.key, dim=encoder.dim), ItemTable(db, "bench")
            t = time.perf_counter()
            if runner == "ray":
                from similarity.ingest.ray_runner import connect as connect_ray
                from similarity.ingest.ray_runner import index_ray

                connect_ray(None, num_cpus=2)
                t = time.perf_counter()  # the cluster's start is not indexing
                index_ray("bundled", vectors, items, report, batch=64, actors=2)
            else:
                index_local(encoder, vectors, items, report)
            runs[runner] = n_files / (time.perf_counter() - t)
    name = f"{encoder.name} ({encoder.towers.backend})"
    print(f"{name}: raw forward on ready input tensors, batch 64: {raw:.1f} pictures/s")
    for runner, rate in runs.items():
        print(
            f"{name}: indexing {n_files:,} JPEGs of 640 x 480, {runner}: {rate:.1f} pictures/s "
            f"({rate / raw:.2f}x the raw forward; goal >= 0.95x)"
        )


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parts = ["search", "lance", "umap", "open", "place", "index", "index-vit", "ray"]
    parser.add_argument("--skip", nargs="*", default=[], choices=parts)
    args = parser.parse_args()
    print(f"{os.cpu_count()} CPUs; numpy threads as set by the environment")
    if "search" not in args.skip:
        for n in args.sizes:
            search_figures(n)
    if "lance" not in args.skip:
        lance_figures(max(args.sizes))
    if "open" not in args.skip:
        open_figure()
    if "umap" not in args.skip:
        umap_figure()
    if "place" not in args.skip:
        placement_figures(max(args.sizes))
    if "index" not in args.skip:
        from similarity.encoders.bundled import load_bundled

        indexing_figures(load_bundled(), 1_000, ray="ray" not in args.skip)
    if "index-vit" not in args.skip:  # a real CLIP size, where the forward dominates
        from bench_onnx_clip import ARCH, random_vit

        from similarity.encoders.pretrained import load_checkpoint

        with tempfile.TemporaryDirectory() as tmp:
            os.environ["CLIP_EXPLORER_CACHE"] = tmp
            indexing_figures(load_checkpoint(random_vit(Path(tmp)), ARCH), 160, ray=False)


if __name__ == "__main__":
    main()
