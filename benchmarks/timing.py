"""The benchmarks' one timer: the median of several calls after a warm-up (these machines are noisy)."""

from __future__ import annotations

import time
from statistics import median


def median_ms(fn, repeats: int = 7) -> float:
    """Median milliseconds of ``repeats`` calls of ``fn`` after one warm-up call."""
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return 1000 * median(times)
