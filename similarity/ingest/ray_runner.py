"""The indexer on Ray, for collections that outgrow one machine (``--runner ray``).

Decoding and encoding run as a Ray Data ``map_batches`` stage on a pool of
actors, each holding one replica of the model; the driver writes every
batch into the same LanceDB tables as the in-process runner, with the same
resume and duplicate rules (:func:`similarity.ingest.indexer.commit`). The pictures
must be readable at the same paths on every node (a shared folder), and the
index should be a shared folder or an object store.

Ray is an optional extra: ``pip install -r requirements-ray.txt``.
"""

from __future__ import annotations

import socket
from pathlib import Path

import numpy as np

from similarity.encoders import load_encoder
from similarity.ingest.files import clean_caption
from similarity.ingest.indexer import Report, commit, pending
from similarity.ingest.pipeline import Source, prepare
from similarity.storage.items import ItemTable
from similarity.storage.keys import caption_key, image_key_of
from similarity.storage.vectors import EmbeddingStore


class RayUnavailable(RuntimeError):
    """Ray is not installed, or its cluster cannot be reached; the message says what to do."""


def connect(address: str | None, num_cpus: int | None = None):
    """``ray`` attached to ``address`` (``host:port`` or ``ray://host:port``), or a local Ray when None."""
    try:
        import ray
    except ImportError as err:
        raise RayUnavailable("the Ray runner needs Ray: pip install -r requirements-ray.txt") from err
    if address and address != "auto":
        host, _, port = address.removeprefix("ray://").rpartition(":")
        host = host.removeprefix("[").removesuffix("]")  # an IPv6 address is written [::1]:6379
        try:  # Ray itself retries an unreachable address for minutes: check first
            socket.create_connection((host or "127.0.0.1", int(port)), timeout=3).close()
        except (OSError, ValueError) as err:
            raise RayUnavailable(
                f"cannot reach a Ray cluster at {address} ({err}); start one with `ray start --head` "
                "and pass the address it prints, e.g. --address 10.0.0.5:6379"
            ) from err
    if not ray.is_initialized():
        ray.init(address=address, num_cpus=None if address else num_cpus, include_dashboard=False, log_to_driver=False)
    return ray


class EncodeActor:
    """One model replica: prepares a batch of files (as the local runner does) and encodes pictures and captions."""

    def __init__(self, model: str):
        self.encoder = load_encoder(model)

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        towers = self.encoder.towers
        decoded = [prepare(Source(Path(p), c or None), towers) for p, c in zip(batch["path"], batch["caption"])]
        ok = [not isinstance(d[1], Exception) for d in decoded]
        dim = self.encoder.dim
        images = np.zeros((len(decoded), dim), np.float32)
        texts = np.zeros((len(decoded), dim), np.float32)
        if any(ok):
            images[ok] = self.encoder.encode_pixels(np.stack([d[2] for d, good in zip(decoded, ok) if good]))
        captioned = [i for i, d in enumerate(decoded) if ok[i] and clean_caption(d[0].caption or "")]
        if captioned:
            texts[captioned] = self.encoder.encode_texts([clean_caption(decoded[i][0].caption) for i in captioned])
        return {
            "path": batch["path"],
            "caption": batch["caption"],
            "id": np.array([d[1] if good else "" for d, good in zip(decoded, ok)], dtype=object),
            "size": np.array([d[3] if good else 0 for d, good in zip(decoded, ok)], dtype=np.int64),
            "mtime": np.array([d[4] if good else 0.0 for d, good in zip(decoded, ok)], dtype=np.float64),
            "problem": np.array(["" if good else str(d[1]) for d, good in zip(decoded, ok)], dtype=object),
            "image": images,
            "text": texts,
        }


def index_ray(
    model: str,
    vectors: EmbeddingStore,
    items: ItemTable,
    report: Report,
    address: str | None = None,
    batch: int = 64,
    actors: int = 2,
) -> Report:
    """Encode every source not indexed yet on a Ray cluster (or a local Ray), storing as the local runner does."""
    from tqdm import tqdm

    todo = pending(report, items)
    if not todo:
        return report
    ray = connect(address, num_cpus=actors)
    rows = [{"path": str(s.path), "caption": s.caption or ""} for s in todo]
    encoded = ray.data.from_items(rows).map_batches(
        EncodeActor,
        fn_constructor_kwargs={"model": model},
        batch_size=batch,
        concurrency=actors,
        num_cpus=1,
        batch_format="numpy",
    )
    with tqdm(total=len(todo), unit="pic", desc=f"indexing {items.collection} on Ray", smoothing=0.1) as bar:
        for out in encoded.iter_batches(batch_size=batch, batch_format="numpy"):
            good, encoded = [], {}
            for i, path in enumerate(out["path"]):
                if out["problem"][i]:
                    report.problems.append(str(out["problem"][i]))
                    continue
                source = Source(Path(str(path)), str(out["caption"][i]) or None)
                good.append((source, str(out["id"][i]), int(out["size"][i]), float(out["mtime"][i])))
                encoded[image_key_of(good[-1][1])] = out["image"][i]
                if caption := clean_caption(source.caption or ""):
                    encoded[caption_key(caption)] = out["text"][i]
            commit(vectors, items, good, encoded, report)
            bar.update(len(out["path"]))
    return report
