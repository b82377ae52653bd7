"""Encoding speed of the bundled model on this CPU (batch 64): ONNX Runtime against PyTorch.

Prints pictures/s and captions/s for both backends in the same process (the
PyTorch eager run is the baseline), and the caption speed-up of padding each
batch to its longest caption against padding to the full context.
"""

import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch  # noqa: E402

from similarity.encoders.bundled import load_bundled  # noqa: E402
from similarity.ingest.collection import load_demo  # noqa: E402
from similarity.ingest.files import open_image


def rate(fn, items, repeats=3) -> float:
    fn(items[:64])  # warm-up
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn(items)
        best = min(best, time.perf_counter() - start)
    return len(items) / best


def main():
    demo = load_demo()
    pictures = [open_image(item.image_path) for item in demo.items[:192]]  # PyTorch eager: ~9/s at 224 px
    captions = [item.caption for item in demo.items[:1024]]
    fast, eager = load_bundled(backend="onnx"), load_bundled(backend="torch")
    print(f"torch threads: {torch.get_num_threads()}, model: {eager.name}, dim {eager.dim}")
    figures = {}
    for encoder in (eager, fast):
        figures[encoder.towers.backend] = (rate(encoder.encode_images, pictures), rate(encoder.encode_texts, captions))
        print(
            f"{encoder.towers.backend:13s} pictures {figures[encoder.towers.backend][0]:6.0f}/s (target >= 150), "
            f"captions {figures[encoder.towers.backend][1]:6.0f}/s (target >= 1000)"
        )
    (pt_img, pt_txt), (ox_img, ox_txt) = figures["PyTorch"], figures["ONNX Runtime"]
    print(f"ONNX Runtime / PyTorch: pictures {ox_img / pt_img:.2f}x, captions {ox_txt / pt_txt:.2f}x")
    towers = eager.towers
    trimmed_tokenizer, towers.tokenizer = towers.tokenizer, towers.tokenizer.hf_tokenizer
    padded = rate(eager.encode_texts, captions)
    towers.tokenizer = trimmed_tokenizer
    print(
        f"PyTorch captions padded to the full context: {padded:.0f}/s; padding to the longest is {pt_txt / padded:.1f}x"
    )


if __name__ == "__main__":
    main()
