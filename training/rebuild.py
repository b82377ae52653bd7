"""Rebuild the bundled model and everything made from it, in one command.

``make model`` = ``python -m training.rebuild``: train the shipped recipe
(:class:`training.train.TrainConfig` defaults, a fixed number of steps:
about 45 minutes on 2 CPU cores), score it and write the model card
(:mod:`training.evaluate`), re-embed the demo's shipped vectors, ship its
maps and first clustering (:mod:`similarity.views.shipped`), and export the
ONNX towers the app runs on. Renders are cached, so a second rebuild
fetches and draws nothing.
"""

from __future__ import annotations

import time

from similarity.encoders.bundled import load_bundled
from similarity.encoders.onnx_export import export_bundled
from similarity.ingest.bundled import EMOJI, ship_vectors
from similarity.views.shipped import ship_bundled_views
from training import evaluate
from training.train import parse_args, train


def main(argv=None) -> None:
    t0 = time.time()
    cfg = parse_args(argv)
    train(cfg)
    print(f"trained in {(time.time() - t0) / 60:.0f} min", flush=True)
    evaluate.main([])
    encoder = load_bundled(backend="torch")
    print(f"wrote {ship_vectors(encoder, EMOJI):,} demo vectors to {EMOJI.vectors}", flush=True)
    ship_bundled_views(encoder, EMOJI)  # the maps and first clustering of those vectors, tagged like them
    print(f"wrote the demo's maps and clustering to {EMOJI.views}", flush=True)
    print(f"exported the towers to {export_bundled()}")
    print(f"rebuilt everything in {(time.time() - t0) / 60:.0f} min")


if __name__ == "__main__":
    main()
