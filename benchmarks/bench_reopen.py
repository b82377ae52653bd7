"""Re-opening an embedded collection: how many encodings, and how long.

Embeds the demo into a fresh store (baseline: the first visit), then opens it
again as a restarted app would, counting the pictures and captions encoded.
"""

import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from similarity.encoders.bundled import load_bundled  # noqa: E402
from similarity.ingest.collection import load_demo  # noqa: E402
from similarity.ingest.space import embed_collection  # noqa: E402
from similarity.storage.vectors import EmbeddingStore  # noqa: E402


def main():
    encoder, demo = load_bundled(), load_demo()
    with tempfile.TemporaryDirectory() as root:
        start = time.perf_counter()
        first = embed_collection(encoder, EmbeddingStore(Path(root), encoder.key), demo)
        cold = time.perf_counter() - start
        start = time.perf_counter()
        again = embed_collection(encoder, EmbeddingStore(Path(root), encoder.key), demo)
        warm = time.perf_counter() - start
    print(f"first visit: {first.encoded_images} pictures + {first.encoded_texts} captions encoded in {cold:.1f} s")
    print(
        f"re-open:     {again.encoded_images} pictures + {again.encoded_texts} captions encoded in {warm:.2f} s "
        f"(ratio {cold / warm:.0f}x faster)"
    )
    assert again.encoded_images == again.encoded_texts == 0


if __name__ == "__main__":
    main()
