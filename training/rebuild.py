"""Rebuild the bundled model and everything made from it, in one command.

``make model`` = ``python -m training.rebuild``: train the shipped recipe
(:class:`training.train.TrainConfig` defaults: the backbone's features of
every training picture are computed once and cached, then a few minutes of
head training on 2 CPU cores), export the ONNX towers the app runs on, score
the model and write its card (:mod:`training.evaluate`), re-embed the bundled
collections' shipped vectors and ship their maps and first clustering
(:mod:`similarity.views.shipped`). Renders and features are cached, so a
second rebuild computes neither again.
"""

from __future__ import annotations

import time

from similarity.encoders.bundled import load_bundled
from similarity.encoders.onnx_export import export_bundled
from similarity.ingest.bundled import BUNDLED_COLLECTIONS, ship_vectors
from similarity.views.shipped import ship_bundled_views
from training import evaluate
from training.train import parse_args, train


def main(argv=None) -> None:
    t0 = time.time()
    train(parse_args(argv))
    print(f"trained in {(time.time() - t0) / 60:.0f} min", flush=True)
    print(f"exported the towers to {export_bundled()}", flush=True)
    evaluate.main([])
    encoder = load_bundled(backend="onnx")
    for bundled in BUNDLED_COLLECTIONS.values():
        if bundled.built:
            print(f"wrote {ship_vectors(encoder, bundled):,} vectors to {bundled.vectors}", flush=True)
            ship_bundled_views(encoder, bundled)  # the maps and first clustering of those vectors, tagged like them
            print(f"wrote the maps and clustering to {bundled.views}", flush=True)
    print(f"rebuilt everything in {(time.time() - t0) / 60:.0f} min")


if __name__ == "__main__":
    main()
