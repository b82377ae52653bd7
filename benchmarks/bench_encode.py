"""Encoding speed of the bundled model on this CPU (batch 64).

Prints pictures/s and captions/s, and the caption speed-up of padding each
batch to its longest caption against padding to the full context (baseline,
same process).
"""

import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch  # noqa: E402

from similarity.collection import load_demo, open_image  # noqa: E402
from similarity.models import load_bundled  # noqa: E402


def rate(fn, items, repeats=3) -> float:
    fn(items[:64])  # warm-up
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn(items)
        best = min(best, time.perf_counter() - start)
    return len(items) / best


def main():
    encoder = load_bundled()
    demo = load_demo()
    pictures = [open_image(item.image_path) for item in demo.items[:512]]
    captions = [item.caption for item in demo.items[:1024]]
    print(f"threads: {torch.get_num_threads()}, model: {encoder.name}, dim {encoder.dim}")
    print(f"pictures: {rate(encoder.encode_images, pictures):8.0f} /s  (target >= 300)")
    trimmed = rate(encoder.encode_texts, captions)
    padded_tokenizer = encoder.tokenizer.hf_tokenizer
    encoder.tokenizer, saved = padded_tokenizer, encoder.tokenizer
    padded = rate(encoder.encode_texts, captions)
    encoder.tokenizer = saved
    print(
        f"captions: {trimmed:8.0f} /s  (target >= 1000); padded to context: {padded:.0f} /s; "
        f"ratio {trimmed / padded:.1f}x"
    )


if __name__ == "__main__":
    main()
