"""Watch it learn: the default run's time on this machine, its steps/s, and what it learns against the shipped model.

Measured in this process: the default run (seconds, steps/s, its
snapshots included); one training step and one snapshot alone (what the
live figures cost); held-out recall@5 at the end beside the untrained head
(chance) and the shipped model 3.0 on the same 357 held-out concepts; and
30 starts of the same settings on one server registry (one training).
"""

import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from benchmarks.timing import median_ms  # noqa: E402
from similarity.encoders import load_encoder  # noqa: E402
from similarity.ingest.bundled import SHIPPED_VECTORS  # noqa: E402
from similarity.ingest.collection import load_demo  # noqa: E402
from similarity.ingest.space import embed_collection  # noqa: E402
from similarity.lab.data import backbone_features, demo_split, lab_data, pictures_by_item  # noqa: E402
from similarity.lab.head import AdamW, Head  # noqa: E402
from similarity.lab.run import SNAPSHOTS, LabRun, LabSettings, recall, snapshot  # noqa: E402
from similarity.lab.runs import LabRuns  # noqa: E402
from similarity.storage.vectors import EmbeddingStore  # noqa: E402

WAIT_S = 300


def main() -> None:
    encoder, demo = load_encoder("bundled"), load_demo()
    start = time.perf_counter()
    features = backbone_features(encoder, demo)
    data = lab_data(demo, features, encoder.encode_texts([i.caption for i in demo.items]), demo_split())
    print(
        f"lab data ready in {time.perf_counter() - start:.1f} s "
        f"({len(data.train):,} training, {len(data.unseen):,} held-out concepts)"
    )
    with tempfile.TemporaryDirectory() as tmp:
        space = embed_collection(encoder, EmbeddingStore(tmp, encoder.key, shipped=SHIPPED_VECTORS), demo)
    shipped = recall(pictures_by_item(space), data.captions, data.unseen)

    settings = LabSettings()
    run = LabRun(settings)
    run.train(data)
    first, last = run.snapshots[0], run.snapshots[-1]
    print(
        f"default run ({settings.steps} steps, batch {settings.batch}, {SNAPSHOTS + 1} snapshots): "
        f"{run.seconds:.1f} s, {settings.steps / run.seconds:.1f} steps/s"
    )
    head = Head(data.features.shape[1], data.captions.shape[1])
    optimiser = AdamW(head.weights, settings.lr)
    rows = data.train[: settings.batch]

    def step() -> None:
        _, grads = head.gradients(data.features[rows], data.captions[rows], settings.temperature)
        optimiser.step(head.weights, grads)

    step_ms = median_ms(step, repeats=30)
    snap_ms = median_ms(lambda: snapshot(1, head, data, data.train[:400], 0.0))
    print(
        f"one step {step_ms:.1f} ms ({1000 / step_ms:.0f} steps/s bare), one snapshot {snap_ms:.0f} ms: "
        f"the figures take {SNAPSHOTS * snap_ms / 1000:.1f} s of the run"
    )
    chance = 5 / len(data.names)
    print(
        f"held-out recall@5: untrained head {first.recall_unseen:.3f} (chance {chance:.3f}), "
        f"after the default run {last.recall_unseen:.3f} (best during it "
        f"{max(s.recall_unseen for s in run.snapshots):.3f}), shipped model 3.0 {shipped:.3f}; "
        f"trained concepts {last.recall_trained:.3f}"
    )

    registry = LabRuns()
    small = LabSettings(steps=50)
    started = {id(registry.start(data, small)) for _ in range(30)}
    done = registry.find(data, small)
    deadline = time.time() + WAIT_S
    while not done.finished and time.time() < deadline:
        time.sleep(0.1)
    print(f"30 starts of one setting: {len(started)} run object(s), {registry.trained} training(s)")


if __name__ == "__main__":
    main()
