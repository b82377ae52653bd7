""" "Why this matched" latency on the bundled model (goal: <= 1.5 s per explanation on 2 cores).

Prints the median of a few runs of an occlusion map, a word drop and the
two whole explanations the app shows (text -> picture: words + one map;
picture -> picture: two maps), with the grid and the number of encodings;
then the same occlusion and word drop with every covered copy / shortened
text encoded one at a time (the baseline that batching replaces).
"""

import copy
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np  # noqa: E402

from benchmarks.timing import median_ms  # noqa: E402
from similarity.encoders.bundled import load_bundled  # noqa: E402
from similarity.ingest.collection import load_demo  # noqa: E402
from similarity.ingest.files import open_image  # noqa: E402
from similarity.search.why import GRID, PATCH, explain, occlusion, word_shares  # noqa: E402

RUNS = 5
QUERY = "a shiny red fruit with a green leaf"  # 8 words: 9 encodings


def one_at_a_time(encoder):
    """The same encoder, encoding each picture tensor and each text in its own call."""
    single = copy.copy(encoder)
    single.encode_pixels = lambda pixels: np.concatenate([encoder.encode_pixels(p[None]) for p in pixels])
    single.encode_texts = lambda texts: np.concatenate([encoder.encode_texts([t]) for t in texts])
    return single


def main():
    encoder, demo = load_bundled(), load_demo()
    apple = next(item for item in demo.items if item.caption == "red apple")
    pear = next(item for item in demo.items if item.caption == "pear")
    picture = open_image(apple.image_path, fit=encoder.picture_size)
    other = open_image(pear.image_path, fit=encoder.picture_size)
    query = encoder.encode_texts([QUERY])[0]
    a, p = encoder.encode_images([picture, other])
    steps = (GRID - PATCH + 1) ** 2
    print(
        f"model: {encoder.name} on {encoder.towers.backend}, input {encoder.picture_size} px, "
        f"{os.cpu_count()} CPUs; median of {RUNS} runs"
    )
    occ = median_ms(lambda: occlusion(encoder, picture, query), RUNS) / 1000
    words = median_ms(lambda: word_shares(encoder, QUERY, a), RUNS) / 1000
    text_to_picture = median_ms(lambda: explain(encoder, QUERY, query, picture, a), RUNS) / 1000
    picture_to_picture = median_ms(lambda: explain(encoder, picture, a, other, p), RUNS) / 1000
    print(
        f"occlusion      {occ * 1000:7.1f} ms  grid {GRID}x{GRID}, {PATCH}x{PATCH}-cell patches: {steps + 1} encodings"
    )
    print(f"word drop      {words * 1000:7.1f} ms  {len(QUERY.split())} words: {len(QUERY.split()) + 1} encodings")
    print(f"text -> picture explanation    {text_to_picture * 1000:7.1f} ms (goal <= 1500)")
    print(f"picture -> picture explanation {picture_to_picture * 1000:7.1f} ms (goal <= 1500)")
    single = one_at_a_time(encoder)
    occ_single = median_ms(lambda: occlusion(single, picture, query), 3) / 1000
    words_single = median_ms(lambda: word_shares(single, QUERY, a), 3) / 1000
    print(
        f"baseline, one encoding per call: occlusion {occ_single * 1000:.1f} ms, word drop {words_single * 1000:.1f} ms"
    )
    print(f"batched / one at a time: occlusion {occ_single / occ:.1f}x, word drop {words_single / words:.1f}x faster")


if __name__ == "__main__":
    main()
