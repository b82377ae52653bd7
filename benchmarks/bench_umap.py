"""First UMAP map of 10k points in a fresh process, compilation included.

umap-learn compiles its numba kernels on first use; numba caches them on
disk, so the first run after installing pays more than later ones. Prints the
cold fit (this process's first), a warm refit (baseline, same process), and
their ratio.
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
    from similarity.projection import project

    project("UMAP", v)
    cold = time.perf_counter() - start
    start = time.perf_counter()
    project("UMAP", v)
    warm = time.perf_counter() - start
    print(
        f"UMAP {n:,} x {d}: first fit {cold:.1f} s incl. import + compilation (target <= 15); "
        f"refit {warm:.1f} s; compile/import overhead {cold - warm:.1f} s (ratio {cold / warm:.2f}x)"
    )


if __name__ == "__main__":
    main()
