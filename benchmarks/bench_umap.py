"""First UMAP map of 10k points in a fresh process, compilation included.

umap-learn compiles numba kernels on a process's first UMAP; the app pays it
on the first UMAP a visitor asks for (its progress bar's estimate includes
it). This prints the first 10k map (import + compilation + fit) and a second
map in the same process as the baseline.
"""

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402


def main(n: int = 10_000, d: int = 256):
    rng = np.random.default_rng(0)
    centres = rng.standard_normal((20, d))
    v = (centres[rng.integers(0, 20, n)] + 0.5 * rng.standard_normal((n, d))).astype(np.float32)
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    start = time.perf_counter()
    from similarity.views.maps import project

    project("UMAP", v)
    first = time.perf_counter() - start
    start = time.perf_counter()
    project("UMAP", v)
    again = time.perf_counter() - start
    print(
        f"UMAP {n:,} x {d}: first map in a fresh process (import + numba compilation + fit) {first:.1f} s "
        f"(target <= 15); second map {again:.1f} s (baseline; first/second ratio {first / again:.2f}x)"
    )


if __name__ == "__main__":
    main()
