"""open_clip ViT-B-32 on ONNX Runtime against PyTorch eager, same process, 2 threads.

Random weights (no download; speed does not depend on the values). Prints
pictures/s and captions/s for both backends and their ratio (goal: >= 1.3x
for pictures), the cosine between the two backends' vectors, and the
ceiling any fp32 runtime meets here: the picture tower's floating-point
operations per second against one large fp32 matrix product on the same
threads (its time is ~85% matrix products).
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

from similarity.encoders import onnx_export  # noqa: E402
from similarity.encoders.onnx_runtime import int8_towers  # noqa: E402
from similarity.encoders.pretrained import load_checkpoint  # noqa: E402

ARCH, THREADS, BATCH, ROUNDS = "ViT-B-32", 2, 32, 3


def random_vit(folder: Path) -> Path:
    """A seeded random ViT-B-32 checkpoint in ``folder``, exported to ONNX in ``$CLIP_EXPLORER_CACHE``."""
    torch.manual_seed(0)
    weights = folder / "vit-b-32-random.safetensors"
    save_file({k: v.contiguous() for k, v in open_clip.create_model(ARCH).state_dict().items()}, str(weights))
    t0 = time.perf_counter()
    onnx_export.export_open_clip(load_checkpoint(weights, ARCH, backend="torch"), ARCH)
    print(f"exported {ARCH} in {time.perf_counter() - t0:.0f} s")
    return weights


def matmul_gflops(seconds: float = 2.0) -> dict[str, float]:
    """fp32 GFLOP/s of one large matrix product (2048 x 2048) in each runtime, same threads: the ceiling."""
    import onnxruntime as ort
    from onnx import TensorProto, helper

    n = 2048
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["a", "b"], ["c"])],
        "matmul",
        [helper.make_tensor_value_info(x, TensorProto.FLOAT, [n, n]) for x in "ab"],
        [helper.make_tensor_value_info("c", TensorProto.FLOAT, [n, n])],
    )
    options = ort.SessionOptions()
    options.intra_op_num_threads = THREADS
    session = ort.InferenceSession(helper.make_model(graph).SerializeToString(), options)
    a, b = torch.randn(n, n), torch.randn(n, n)
    feeds = {"a": a.numpy(), "b": b.numpy()}
    runs = {"PyTorch": lambda: a @ b, "ONNX Runtime": lambda: session.run(None, feeds)}
    figures = {}
    for name, run in runs.items():
        run()
        done, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds:
            run()
            done += 1
        figures[name] = 2 * n**3 * done / (time.perf_counter() - start) / 1e9
    return figures


def picture_gflop(model) -> float:
    """Floating-point operations (GFLOP, 2 per multiply-add) for one picture through the tower."""
    from torch.utils.flop_counter import FlopCounterMode

    fastpath = torch.backends.mha.get_fastpath_enabled()
    torch.backends.mha.set_fastpath_enabled(False)  # the counter cannot see inside the fused attention op
    try:
        with torch.inference_mode(), FlopCounterMode(display=False) as counter:
            model.encode_image(torch.zeros(1, 3, 224, 224))
    finally:
        torch.backends.mha.set_fastpath_enabled(fastpath)
    return counter.get_total_flops() / 1e9


def main():
    torch.set_num_threads(THREADS)
    rng = np.random.default_rng(0)
    pictures = [Image.fromarray(rng.integers(0, 256, (240, 320, 3), np.uint8)) for _ in range(BATCH)]
    captions = [f"a photo of a {w} on a table, seen from above" for w in ("cat", "red car", "lamp", "shoe")] * 32
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["CLIP_EXPLORER_CACHE"] = str(Path(tmp) / "embeddings")
        weights = random_vit(Path(tmp))
        eager, fast = load_checkpoint(weights, ARCH, backend="torch"), load_checkpoint(weights, ARCH)
        assert fast.towers.backend == "ONNX Runtime"
        # Rounds alternate the backends: this shared machine's speed drifts by ~20% within minutes.
        rounds = []
        for _ in range(ROUNDS):
            rounds.append({})
            for encoder in (eager, fast):
                rounds[-1][encoder.towers.backend] = (
                    rate(encoder.encode_images, pictures, repeats=2),
                    rate(encoder.encode_texts, captions, repeats=2),
                )
                pics, caps = rounds[-1][encoder.towers.backend]
                print(
                    f"{encoder.towers.backend:13s} pictures {pics:6.1f}/s, captions {caps:6.1f}/s ({THREADS} threads)"
                )
        cos = np.einsum("nd,nd->n", fast.encode_images(pictures[:8]), eager.encode_images(pictures[:8])).min()
        int8 = replace(fast, towers=int8_towers(fast.towers))  # the indexer's opt-in --int8
        int8_rate = rate(int8.encode_images, pictures, repeats=2)
        int8_cos = np.einsum("nd,nd->n", int8.encode_images(pictures[:8]), eager.encode_images(pictures[:8])).min()
        gflop = picture_gflop(eager.towers.model)
    picture_ratios = [r["ONNX Runtime"][0] / r["PyTorch"][0] for r in rounds]
    caption_ratios = [r["ONNX Runtime"][1] / r["PyTorch"][1] for r in rounds]
    print(
        f"ONNX Runtime / PyTorch over {ROUNDS} alternating rounds: pictures median "
        f"{np.median(picture_ratios):.2f}x (range {min(picture_ratios):.2f}-{max(picture_ratios):.2f}; goal >= 1.3x), "
        f"captions median {np.median(caption_ratios):.2f}x"
    )
    pt_img, ox_img = (np.median([r[b][0] for r in rounds]) for b in ("PyTorch", "ONNX Runtime"))
    print(f"lowest cosine between the backends' picture vectors: {cos:.5f}")
    print(
        f"int8 picture tower (opt-in): {int8_rate:.1f} pictures/s, {int8_rate / pt_img:.2f}x PyTorch; "
        f"cosine to PyTorch's vectors >= {int8_cos:.3f}"
    )
    peaks = matmul_gflops()
    ceiling = max(peaks.values())
    print(
        f"the ceiling: one picture is {gflop:.1f} GFLOP; PyTorch runs it at {pt_img * gflop:.0f} GFLOP/s, ONNX Runtime "
        f"at {ox_img * gflop:.0f} GFLOP/s; one large fp32 matrix product runs at "
        + ", ".join(f"{v:.0f} GFLOP/s in {k}" for k, v in peaks.items())
        + f" on the same threads: a runtime doing nothing but such products would be "
        f"{ceiling / (pt_img * gflop):.2f}x PyTorch here"
    )


if __name__ == "__main__":
    main()
