"""open_clip ViT-B-32 on ONNX Runtime against PyTorch eager, same process, 2 threads.

Random weights (no download; speed does not depend on the values). Prints
pictures/s and captions/s for both backends and their ratio (goal: >= 1.3x
for pictures), plus the cosine between the two backends' vectors.
"""

import os
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("OMP_NUM_THREADS", "2")

import numpy as np  # noqa: E402
import open_clip  # noqa: E402
import torch  # noqa: E402
from bench_encode import rate  # noqa: E402  (benchmarks/ is on the path when run as a script)
from PIL import Image  # noqa: E402
from safetensors.torch import save_file  # noqa: E402

from similarity import onnx_backend  # noqa: E402
from similarity.models import load_checkpoint  # noqa: E402
from similarity.onnx_backend import int8_towers  # noqa: E402

ARCH, THREADS, BATCH = "ViT-B-32", 2, 32


def main():
    torch.set_num_threads(THREADS)
    rng = np.random.default_rng(0)
    pictures = [Image.fromarray(rng.integers(0, 256, (240, 320, 3), np.uint8)) for _ in range(BATCH)]
    captions = [f"a photo of a {w} on a table, seen from above" for w in ("cat", "red car", "lamp", "shoe")] * 32
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["CLIP_EXPLORER_CACHE"] = str(Path(tmp) / "embeddings")
        torch.manual_seed(0)
        weights = Path(tmp) / "vit-b-32-random.safetensors"
        save_file({k: v.contiguous() for k, v in open_clip.create_model(ARCH).state_dict().items()}, str(weights))
        t0 = time.perf_counter()
        onnx_backend.export_open_clip(load_checkpoint(weights, ARCH, backend="torch"), ARCH)
        print(f"exported {ARCH} in {time.perf_counter() - t0:.0f} s")
        eager, fast = load_checkpoint(weights, ARCH, backend="torch"), load_checkpoint(weights, ARCH)
        assert fast.towers.backend == "ONNX Runtime"
        figures = {}
        for encoder in (eager, fast):
            figures[encoder.towers.backend] = (
                rate(encoder.encode_images, pictures, repeats=2),
                rate(encoder.encode_texts, captions, repeats=2),
            )
            pics, caps = figures[encoder.towers.backend]
            print(f"{encoder.towers.backend:13s} pictures {pics:6.1f}/s, captions {caps:6.1f}/s ({THREADS} threads)")
        cos = np.einsum("nd,nd->n", fast.encode_images(pictures[:8]), eager.encode_images(pictures[:8])).min()
        int8 = replace(fast, towers=int8_towers(fast.towers))  # the indexer's opt-in --int8
        int8_rate = rate(int8.encode_images, pictures, repeats=2)
        int8_cos = np.einsum("nd,nd->n", int8.encode_images(pictures[:8]), eager.encode_images(pictures[:8])).min()
    (pt_img, pt_txt), (ox_img, ox_txt) = figures["PyTorch"], figures["ONNX Runtime"]
    print(f"ONNX Runtime / PyTorch: pictures {ox_img / pt_img:.2f}x (goal >= 1.3x), captions {ox_txt / pt_txt:.2f}x")
    print(f"lowest cosine between the backends' picture vectors: {cos:.5f}")
    print(
        f"int8 picture tower (opt-in): {int8_rate:.1f} pictures/s, {int8_rate / pt_img:.2f}x PyTorch; "
        f"cosine to PyTorch's vectors >= {int8_cos:.3f}"
    )


if __name__ == "__main__":
    main()
