"""Filter + search latency on an indexed 100k collection, against the same search unfiltered.

A synthetic catalogue (100,000 pictures in 100 folders, sizes and dates
spread at random, half captioned) is written as an indexed collection's item
table in a temporary LanceDB; its vectors are random unit vectors (512-d).
For filters keeping ~10% and ~1% it times what the app does on a new filter
(LanceDB ``where`` on the item table -> mask -> narrowed space -> exact
top-12), the in-memory mask the same filter gives (asserted equal), and the
search alone once the narrowed space is cached. For comparison: LanceDB's
own prefiltered vector search over a table holding vectors and fields
(flat, no ANN index), unfiltered and filtered.

    .venv/bin/python benchmarks/bench_filters.py
"""

import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np  # noqa: E402
import pyarrow as pa  # noqa: E402

from benchmarks.timing import median_ms  # noqa: E402
from similarity.ingest.collection import load_indexed  # noqa: E402
from similarity.ingest.fields import FOLDER, SIZE, collection_fields  # noqa: E402
from similarity.ingest.space import Space  # noqa: E402
from similarity.search.engine import search  # noqa: E402
from similarity.search.filters import Condition, Filter, indexed_mask, narrowed, where_clause  # noqa: E402
from similarity.search.query import TEXT, Query  # noqa: E402
from similarity.storage.items import ItemTable  # noqa: E402
from similarity.storage.keys import IMAGE  # noqa: E402
from similarity.storage.lance import connect  # noqa: E402

N, DIM, FOLDERS, K = 100_000, 512, 100, 12
ROOT = "/data/catalogue"


def catalogue(db, rng) -> None:
    folder = rng.integers(0, FOLDERS, N)
    rows = pa.table(
        {
            "path": [f"{ROOT}/f{f:03d}/{i:06d}.jpg" for i, f in enumerate(folder)],
            "caption": [f"product {i}" if i % 2 else None for i in range(N)],
            "size": rng.integers(20_000, 2_000_000, N),
            "mtime": 1.7e9 + rng.uniform(0, 365 * 86_400, N),
            "id": [f"{i:020x}" for i in range(N)],
        }
    )
    ItemTable(db, "catalogue").add(rows.to_pylist())


def main():
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp:
        db = connect(tmp)
        start = time.perf_counter()
        catalogue(db, rng)
        print(f"item table of {N:,} rows written in {time.perf_counter() - start:.1f} s")
        start = time.perf_counter()
        collection = load_indexed("catalogue", tmp)
        fields = collection_fields(collection)
        print(
            f"collection read + fields computed once: {time.perf_counter() - start:.2f} s ({', '.join(fields.names)})"
        )
        vectors = rng.standard_normal((N, DIM)).astype(np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        space = Space(vectors, np.arange(N), np.full(N, IMAGE, dtype=object), collection.items, key="bench/catalogue")
        q = vectors[0] * 0.5 + rng.standard_normal(DIM).astype(np.float32) * 0.05
        query = Query(q / np.linalg.norm(q), "query", TEXT, None, ((1, "query"),), q[None])
        table, sources = ItemTable(db, "catalogue"), np.array([i.source for i in collection.items], dtype=object)

        unfiltered = median_ms(lambda: search(space, query, K, (IMAGE,)))
        print(f"\nunfiltered exact top-{K} of {N:,}: {unfiltered:.1f} ms")
        filters = {
            "10 folders (~10%)": Filter((Condition(FOLDER, keep=tuple(f"f{j:03d}" for j in range(10))),)),
            "1 folder (~1%)": Filter((Condition(FOLDER, keep=("f007",)),)),
            "size 20-220 KB (~10%)": Filter((Condition(SIZE, low=20_000, high=220_000),)),
            "1 folder + size (~0.1%)": Filter((Condition(FOLDER, keep=("f007",)), Condition(SIZE, high=220_000))),
        }
        for name, flt in filters.items():
            keep = indexed_mask(flt, fields, table, sources)
            assert keep.tolist() == flt.mask(fields).tolist(), name
            where_ms = median_ms(lambda f=flt: indexed_mask(f, fields, table, sources))
            memory_ms = median_ms(lambda f=flt: f.mask(fields))
            narrow_ms = median_ms(lambda f=flt, m=keep: narrowed(space, m, f.key))
            small = narrowed(space, keep, flt.key)
            search_ms = median_ms(lambda s=small: search(s, query, K, (IMAGE,)))
            print(
                f"{name}: keeps {int(keep.sum()):,}; where on the item table {where_ms:.1f} ms "
                f"(in-memory mask {memory_ms:.1f} ms), narrowing {narrow_ms:.1f} ms, search {search_ms:.1f} ms; "
                f"new filter total {where_ms + narrow_ms + search_ms:.1f} ms, cached filter {search_ms:.1f} ms "
                f"(vs {unfiltered:.1f} ms unfiltered)"
            )
        lance_native(db, fields, vectors, q, filters, rng)


def lance_native(db, fields, vectors, q, filters, rng) -> None:
    """LanceDB's own vector search with a prefilter, on a table holding the vectors beside the item fields."""
    items = ItemTable(db, "catalogue").rows()
    table = db.create_table(
        "vectors_and_fields",
        items.append_column("vector", pa.FixedSizeListArray.from_arrays(pa.array(vectors.ravel()), DIM)),
    )
    plain = median_ms(lambda: table.search(q).metric("dot").limit(K).to_arrow())
    print(f"\nLanceDB flat vector search, unfiltered: {plain:.1f} ms")
    for name, flt in filters.items():
        where, rest = where_clause(flt, fields)
        assert not rest
        ms = median_ms(lambda w=where: table.search(q).metric("dot").where(w, prefilter=True).limit(K).to_arrow())
        print(f"LanceDB flat vector search with the where as prefilter, {name}: {ms:.1f} ms")


if __name__ == "__main__":
    main()
