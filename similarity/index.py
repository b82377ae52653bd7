"""Index a big collection outside the app: ``python -m similarity.index PATH... --collection NAME``.

Walks folders, zips and CSV lists (``path,caption`` rows), decodes and
prepares pictures in worker threads while the model encodes the previous
batch, and writes each batch to LanceDB (:mod:`similarity.store`,
:mod:`similarity.vector_table`) in one commit. A rerun (after Ctrl+C or
``kill -9``) skips files already indexed with the same size and modification
time, and never encodes a picture twice: the same picture under two names is
stored once; it also forgets files deleted from the folders it is given and
replaces a changed file's row. Bad files are skipped and listed with their
reason at the end. The app lists the collection on *Your
collection* and opens it without encoding anything.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from similarity.collection import (
    IMAGE_SUFFIXES,
    BadInput,
    clean_caption,
    content_id,
    open_image,
    read_captions,
    unpack_zip,
)
from similarity.embed import caption_key, image_key_of
from similarity.store import EmbeddingStore, connect
from similarity.vector_table import ItemTable, index_uri

BATCH = 64


@dataclass(frozen=True)
class Source:
    """One picture file to index, with the caption given for it (if any)."""

    path: Path
    caption: str | None = None


@dataclass
class Report:
    sources: list[Source] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # "file: reason"
    unchanged: int = 0  # indexed before with the same size and time: skipped
    duplicates: int = 0  # the same picture under another name: stored once
    encoded_images: int = 0
    encoded_captions: int = 0
    indexed: int = 0
    changed: set[str] = field(default_factory=set)  # paths indexed before whose size or time changed since
    removed: int = 0  # indexed files no longer in the folders given
    unreadable: list[str] = field(default_factory=list)  # folders not listed: nothing under them is pruned
    seen_ids: set[str] = field(default_factory=set)


def gather(paths: list[Path], captions: dict[str, str], unpack_to: Path) -> Report:
    """Every picture under ``paths`` (folders, zips, CSV lists, single files); problems named."""
    report = Report()
    for given in paths:
        try:
            if given.is_dir():
                _walk(given, report)
            elif not given.exists():
                report.problems.append(f"{given}: no such file or folder")
            elif given.suffix.lower() == ".zip":
                files, problems = unpack_zip(given, unpack_to / f"{given.stem}-{content_id(str(given).encode())[:8]}")
                report.problems += [f"{given}: {p}" for p in problems]
                report.sources += [Source(f) for _, f in files if f.suffix.lower() in IMAGE_SUFFIXES]
            elif given.suffix.lower() == ".csv":
                rows = read_captions(given.name, given.read_bytes())
                report.sources += [Source((given.parent / p).resolve(), c) for p, c in rows.items()]
            elif given.suffix.lower() in IMAGE_SUFFIXES:
                report.sources.append(Source(given.resolve()))
            else:
                report.problems.append(f"{given}: not a folder, zip, CSV list or picture, skipped")
        except (BadInput, OSError) as err:
            report.problems.append(str(err) if isinstance(err, BadInput) else f"{given}: {err.strerror or err}")
    if captions:
        by_name = {Path(k).name: v for k, v in captions.items()}
        report.sources = [
            Source(s.path, s.caption or captions.get(str(s.path)) or by_name.get(s.path.name)) for s in report.sources
        ]
    by_path: dict[Path, Source] = {}  # a file given twice (a folder and a CSV) is indexed once, with its caption
    for s in report.sources:
        if s.path not in by_path or (s.caption and not by_path[s.path].caption):
            by_path[s.path] = s
    report.sources = list(by_path.values())
    return report


def _walk(folder: Path, report: Report) -> None:
    """Pictures under ``folder``; symbolic links to folders are not followed (no loops)."""
    found = 0

    def unreadable(err: OSError) -> None:
        report.problems.append(f"{err.filename}: {err.strerror}")
        report.unreadable.append(str(Path(err.filename).resolve()) + os.sep)

    for root, _, names in os.walk(folder, onerror=unreadable):
        for name in sorted(names):
            path = Path(root) / name
            if path.suffix.lower() not in IMAGE_SUFFIXES:
                continue
            try:
                report.sources.append(Source(path.resolve(strict=True)))
                found += 1
            except (OSError, RuntimeError) as err:  # a dangling link or a link loop
                report.problems.append(f"{path}: {getattr(err, 'strerror', None) or 'symbolic link loop'}, skipped")
    if not found:
        report.problems.append(f"{folder}: no pictures found ({', '.join(sorted(IMAGE_SUFFIXES))})")


def decode(source: Source, fit: int | None = None):
    """(source, content id, picture, size, mtime) or (source, BadInput); ``fit``: see :func:`open_image`."""
    try:
        data = source.path.read_bytes()
        stat = source.path.stat()
        return source, content_id(data), open_image(data, str(source.path), fit), stat.st_size, stat.st_mtime
    except BadInput as err:
        return source, err
    except OSError as err:
        return source, BadInput(f"{source.path}: {err.strerror or err}")


def prepare(source: Source, towers):
    """Like :func:`decode`, with the picture made into the model's input (resized, normalised) in this thread."""
    decoded = decode(source, towers.picture_size)
    if isinstance(decoded[1], Exception):
        return decoded
    _, cid, picture, size, mtime = decoded
    return source, cid, towers.pixels([picture])[0], size, mtime


def _prepared_batches(todo: list[Source], pool: ThreadPoolExecutor, batch: int, towers) -> Iterator[list]:
    """Batches of prepared pictures (:func:`prepare`); the next batch is prepared while the caller encodes this one."""
    ahead: list[Future] = [pool.submit(prepare, s, towers) for s in todo[:batch]]
    for start in range(batch, len(todo) + batch, batch):
        following = [pool.submit(prepare, s, towers) for s in todo[start : start + batch]]
        yield [f.result() for f in ahead]
        ahead = following


def pending(report: Report, items: ItemTable) -> list[Source]:
    """The sources not indexed yet with their current size and time (a rerun resumes here)."""
    seen = items.seen()
    todo = []
    for s in report.sources:
        try:
            stat = s.path.stat()
        except OSError:
            todo.append(s)  # decoding names the problem
            continue
        before = seen.get(str(s.path))
        if before == (stat.st_size, stat.st_mtime):
            report.unchanged += 1
            continue
        if before is not None:
            report.changed.add(str(s.path))
        todo.append(s)
    return todo


def prune(report: Report, items: ItemTable, folders: list[Path]) -> None:
    """Forget indexed files under ``folders`` that are no longer there (deleted or moved since)."""
    roots = [str(f.resolve()) + os.sep for f in folders if f.is_dir()]
    found = {str(s.path) for s in report.sources}
    kept = tuple(report.unreadable)  # a folder that could not be listed may still hold its files
    gone = [p for p in items.seen() if p.startswith(tuple(roots)) and not p.startswith(kept) and p not in found]
    items.remove(gone)
    report.removed += len(gone)


def index_local(
    encoder, vectors: EmbeddingStore, items: ItemTable, report: Report, batch: int = BATCH, workers: int = 2
) -> Report:
    """Encode and store every source not indexed yet (in-process runner)."""
    from tqdm import tqdm

    todo = pending(report, items)
    with (
        ThreadPoolExecutor(workers) as pool,
        tqdm(total=len(todo), unit="pic", desc=f"indexing {items.collection}", smoothing=0.1) as bar,
    ):
        for decoded in _prepared_batches(todo, pool, batch, encoder.towers):
            good = [d for d in decoded if not isinstance(d[1], Exception)]
            report.problems += [str(d[1]) for d in decoded if isinstance(d[1], Exception)]
            new = {image_key_of(cid): pixels for _, cid, pixels, *_ in good if image_key_of(cid) not in vectors}
            captions = {caption_key(c): c for c in (clean_caption(d[0].caption or "") for d in good) if c}
            captions = {k: captions[k] for k in vectors.missing(list(captions))}
            commit(
                vectors,
                items,
                [(source, cid, size, mtime) for source, cid, _, size, mtime in good],
                dict(zip(new, encoder.encode_pixels(np.stack(list(new.values()))))) if new else {},
                dict(zip(captions, encoder.encode_texts(list(captions.values())))) if captions else {},
                report,
            )
            bar.update(len(decoded))
    return report


def commit(vectors: EmbeddingStore, items: ItemTable, good: list, images: dict, captions: dict, report: Report) -> None:
    """Store one batch: new vectors first, then the item rows that point at them (a kill between loses nothing).

    ``good``: (source, content id, size, mtime) per readable file; ``images``
    and ``captions``: store key -> vector, for the keys encoded for this batch.
    """
    for cid in (cid for _, cid, *_ in good):
        report.duplicates += cid in report.seen_ids
        report.seen_ids.add(cid)
    for encoded, counter in ((images, "encoded_images"), (captions, "encoded_captions")):
        new = vectors.missing(list(encoded))
        if new:
            vectors.add(new, np.stack([encoded[k] for k in new]))
            setattr(report, counter, getattr(report, counter) + len(new))
    rows = [
        {
            "path": str(s.path),
            "caption": clean_caption(s.caption or "") or None,
            "size": size,
            "mtime": mtime,
            "id": cid,
        }
        for s, cid, size, mtime in good
    ]
    items.add(rows, replacing=[r["path"] for r in rows if r["path"] in report.changed])
    report.indexed += len(rows)


def int8_check(encoder, sources: list[Source], n: int = 200):
    """(the encoder with an int8 picture tower, its recall@10 against fp32, its speed-up), on ``n`` of your pictures.

    Recall@10: each sampled picture's 10 nearest among the sample, by int8
    vectors, against the same by fp32 vectors.
    """
    from dataclasses import replace

    from similarity.onnx_backend import OnnxTowers, int8_towers

    if not isinstance(encoder.towers, OnnxTowers):
        raise ValueError("--int8 needs the model's ONNX export: run `python -m similarity.onnx_backend` (see --help)")
    fast = replace(encoder, towers=int8_towers(encoder.towers))
    pictures = [d[2] for d in map(decode, sources[:n]) if not isinstance(d[1], Exception)]
    if len(pictures) < 11:
        raise ValueError(f"--int8 measures its recall on at least 11 of your pictures; {len(pictures)} were readable")
    seconds, neighbours = [], []
    for model in (encoder, fast):
        start = time.perf_counter()
        vectors = model.encode_images(pictures)
        seconds.append(time.perf_counter() - start)
        sims = vectors @ vectors.T
        np.fill_diagonal(sims, -np.inf)
        neighbours.append(np.argsort(-sims, axis=1)[:, :10])
    recall = np.mean([len(np.intersect1d(a, b)) / 10 for a, b in zip(*neighbours)])
    return fast, float(recall), seconds[0] / seconds[1]


def unpack_folder(uri: str) -> Path:
    """Where zips are unpacked: beside a local index (an object store has no "beside")."""
    local = "://" not in uri
    return (Path(uri).parent if local else Path.home() / ".cache" / "clip-explorer") / "unpacked"


def load_encoder(model: str, backend: str = "auto"):
    """``bundled``, ``ARCH/TAG`` (open_clip pretrained) or ``ARCH:FILE`` (local weights)."""
    from similarity import models

    if model == "bundled":
        return models.load_bundled(backend=backend)
    if ":" in model:
        arch, path = model.split(":", 1)
        return models.load_checkpoint(path, arch, backend=backend)
    arch, _, tag = model.partition("/")
    return models.load_pretrained(arch, tag, backend=backend)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0].removesuffix("."))
    parser.add_argument("paths", nargs="+", type=Path, help="folders, zips, CSV lists (path,caption) or pictures")
    parser.add_argument("--collection", required=True, help="the name the app lists it under")
    parser.add_argument("--model", default="bundled", help="bundled, ARCH/TAG or ARCH:WEIGHTS_FILE")
    parser.add_argument("--captions", type=Path, help="a CSV of file,caption rows (matched by path or file name)")
    parser.add_argument("--index", default=None, help=f"LanceDB folder or URI (default: {index_uri()})")
    parser.add_argument("--batch", type=int, default=BATCH)
    parser.add_argument("--workers", type=int, default=2, help="threads decoding pictures (local runner)")
    parser.add_argument("--runner", choices=("local", "ray"), default="local", help="in this process, or on Ray")
    parser.add_argument("--address", help="a Ray cluster (host:port or ray://host:port); default: a local Ray")
    parser.add_argument("--actors", type=int, default=2, help="model replicas on Ray")
    parser.add_argument(
        "--int8", action="store_true", help="int8 picture tower (faster, approximate): its recall is measured first"
    )
    args = parser.parse_args(argv)
    t0 = time.perf_counter()
    uri = args.index or index_uri()
    try:
        captions = read_captions(args.captions.name, args.captions.read_bytes()) if args.captions else {}
        encoder = load_encoder(args.model)
        vectors = EmbeddingStore(uri, encoder.key, dim=encoder.dim)
        db = connect(uri)
    except (BadInput, OSError, ValueError, RuntimeError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    report = gather(args.paths, captions, unpack_folder(uri))
    items = ItemTable(db, args.collection)
    prune(report, items, args.paths)  # first: a folder emptied since the last run forgets its files
    if not report.sources:
        removed = f" ({report.removed:,} files no longer there were removed from '{args.collection}')"
        print(
            f"error: nothing to index{removed if report.removed else ''}:\n  "
            + "\n  ".join(report.problems or ["no pictures given"]),
            file=sys.stderr,
        )
        return 1
    if args.int8:
        if args.runner == "ray":
            print("error: --int8 runs with the local runner only", file=sys.stderr)
            return 2
        try:
            encoder, recall, speed = int8_check(encoder, report.sources)
        except ValueError as err:
            print(f"error: {err}", file=sys.stderr)
            return 2
        print(
            f"int8 picture tower on {min(200, len(report.sources))} of your pictures: recall@10 = {recall:.3f} "
            f"against fp32, {speed:.2f}x its speed. Indexing with int8: the stored vectors approximate fp32's."
        )
    try:
        if args.runner == "ray":
            from similarity.ray_runner import index_ray

            index_ray(args.model, vectors, items, report, args.address, args.batch, args.actors)
        else:
            index_local(encoder, vectors, items, report, args.batch, args.workers)
    except (OSError, RuntimeError) as err:  # LanceDB reports IO errors (a full disk) as RuntimeError
        reason = re.sub(r"^lance error: \w+\(\w+\): ", "", str(err)).split(", /")[0]
        print(
            f"error: {reason}. {report.indexed:,} files were indexed before it and are kept; "
            "fix the cause (free some space, start Ray) and rerun: it resumes there.",
            file=sys.stderr,
        )
        return 3
    seconds = time.perf_counter() - t0
    print(
        f"{args.collection}: {report.indexed:,} files indexed, {report.unchanged:,} unchanged (skipped), "
        f"{report.removed:,} no longer there (removed), "
        f"{report.duplicates:,} duplicate pictures stored once; encoded {report.encoded_images:,} pictures and "
        f"{report.encoded_captions:,} captions with {encoder.name} on {encoder.towers.backend} in {seconds:.0f} s"
    )
    if report.problems:
        print(f"{len(report.problems):,} files skipped:", *report.problems, sep="\n  ", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
