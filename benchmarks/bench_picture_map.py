"""Pictures on the map: payload and server time at 2k and 5k points, thumbnails vs none.

For each size: the thumbnails made once per server (48 px WebP data URIs
from the demo's PNGs, repeated past its 1,861), the example pictures
(k-means + 16 thumbnails), and per rerun what Streamlit sends and spends: the
Altair chart built and converted to the message the browser gets (Vega-Lite
spec + Arrow datasets, Streamlit's own conversion), with and without the
thumbnails; and the plotly WebGL map of the same points for comparison.

    .venv/bin/python benchmarks/bench_picture_map.py
"""

import json
import os
import sys
import time
from pathlib import Path
from statistics import median

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np  # noqa: E402
from streamlit.elements.vega_charts import _convert_altair_to_vega_lite_spec, _marshall_chart_data  # noqa: E402
from streamlit.proto.VegaLiteChart_pb2 import VegaLiteChart  # noqa: E402

from similarity.storage.paths import DEMO_DIR  # noqa: E402
from similarity.views.map_plots import embedding_map  # noqa: E402
from similarity.views.picture_map import example_pictures, picture_map, thumbnail_uris  # noqa: E402

SIZES = (2_000, 5_000)
RUNS = 3


def sent_bytes(chart) -> int:
    """Bytes of the message st.altair_chart sends: the spec plus its Arrow datasets."""
    proto = VegaLiteChart()
    spec = _convert_altair_to_vega_lite_spec(chart)
    _marshall_chart_data(proto, spec)
    proto.spec = json.dumps(spec)
    return proto.ByteSize()


def timed(fn) -> tuple[float, object]:
    times, value = [], None
    for _ in range(RUNS):
        start = time.perf_counter()
        value = fn()
        times.append(time.perf_counter() - start)
    return median(times), value


def measure(n: int, pictures: list[Path], rng) -> None:
    """Print the figures for a map of ``n`` pictures."""
    paths = [pictures[i % len(pictures)] for i in range(n)]
    coords = rng.normal(size=(n, 2))
    labels = [p.stem for p in paths]
    args = dict(query_xy=np.zeros(2), result_rows=np.arange(8), query_label="a red fruit", result_names=labels[:8])
    start = time.perf_counter()
    images = thumbnail_uris(paths)
    made = time.perf_counter() - start
    start = time.perf_counter()
    examples = example_pictures(coords, paths)
    chose = time.perf_counter() - start
    print(f"[{n:,}] thumbnails once per server: {made:.2f} s; example pictures: {chose:.2f} s")
    kinds = ["image"] * n
    for name, shown in (("with thumbnails", images), ("no thumbnails", [None] * n)):
        seconds, size = timed(
            lambda shown=shown: sent_bytes(
                picture_map(coords, kinds, labels, shown, "units", "PCA", examples=examples, **args)
            )
        )
        print(f"[{n:,}] Altair map, {name}: {size / 1e6:.2f} MB sent, {seconds * 1000:.0f} ms per rerun")
    seconds, figure = timed(
        lambda: embedding_map(coords, kinds, labels, "units", "PCA", examples=examples, **args).to_json()
    )
    print(f"[{n:,}] plotly WebGL map: {len(figure) / 1e6:.2f} MB sent, {seconds * 1000:.0f} ms per rerun")


def main():
    pictures = sorted((DEMO_DIR / "images").glob("*.png"))
    print(f"{len(pictures):,} demo pictures, repeated as needed; 48 px WebP thumbnails; medians of {RUNS} runs")
    rng = np.random.default_rng(0)
    for n in SIZES:
        measure(n, pictures, rng)


if __name__ == "__main__":
    main()
