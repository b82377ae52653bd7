"""Index a big collection outside the app: ``clip-explorer-index PATH... --collection NAME``.

Argument parsing and printing only; the work is :mod:`similarity.ingest.indexer`
(or :mod:`similarity.ingest.ray_runner` with ``--runner ray``). The app lists
the collection on *Your collection* and opens it without encoding anything.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path

from similarity.encoders import load_encoder
from similarity.ingest.files import BadInput, read_caption_table
from similarity.ingest.indexer import gather, index_local, int8_check, lacking_vectors, prune
from similarity.ingest.pipeline import BATCH
from similarity.ingest.ray_runner import index_ray
from similarity.storage.items import ItemTable
from similarity.storage.lance import connect
from similarity.storage.paths import index_uri, unpacked_folder
from similarity.storage.vectors import EmbeddingStore


def _positive(text: str) -> int:
    """A count given on the command line: a whole number of at least 1, or argparse's plain error."""
    if not text.strip().isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of at least 1")
    return int(text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0].removesuffix("."))
    parser.add_argument("paths", nargs="+", type=Path, help="folders, zips, CSV lists (path,caption) or pictures")
    parser.add_argument("--collection", required=True, help="the name the app lists it under")
    parser.add_argument("--model", default="bundled", help="bundled, ARCH/TAG or ARCH:WEIGHTS_FILE")
    parser.add_argument(
        "--captions",
        type=Path,
        help="a CSV of file,caption[,more…] rows, matched by path or file name (more columns: filter fields)",
    )
    parser.add_argument("--index", default=None, help=f"LanceDB folder or URI (default: {index_uri()})")
    parser.add_argument("--batch", type=_positive, default=BATCH, help="pictures encoded together")
    parser.add_argument("--workers", type=_positive, default=2, help="threads decoding pictures (local runner)")
    parser.add_argument("--runner", choices=("local", "ray"), default="local", help="in this process, or on Ray")
    parser.add_argument("--address", help="a Ray cluster (host:port or ray://host:port); default: a local Ray")
    parser.add_argument("--actors", type=_positive, default=2, help="model replicas on Ray")
    parser.add_argument(
        "--int8", action="store_true", help="int8 picture tower (faster, approximate): its recall is measured first"
    )
    args = parser.parse_args(argv)
    t0 = time.perf_counter()
    uri = args.index or index_uri()
    try:
        captions, extras = (
            read_caption_table(args.captions.name, args.captions.read_bytes()) if args.captions else ({}, {})
        )
        encoder = load_encoder(args.model)
        vectors = EmbeddingStore(uri, encoder.key, dim=encoder.dim)
        db = connect(uri)
    except (BadInput, OSError, ValueError, RuntimeError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    report = gather(args.paths, captions, unpacked_folder(uri), extras)
    try:
        items = ItemTable(db, args.collection)  # a damaged one is set aside: its files are indexed again
        prune(report, items, args.paths)  # first: a folder emptied since the last run forgets its files
    except OSError as err:  # TemporaryStoreError: too many open files, memory; nothing was changed
        print(f"error: {err}", file=sys.stderr)
        return 3
    for damaged in vectors.set_aside + items.set_aside:
        print(
            f"note: {damaged}: the table was damaged and is set aside (in {uri}/set-aside); "
            "what it held is indexed again now",
            file=sys.stderr,
        )
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
            report.repair = lacking_vectors(items, vectors)  # the local runner finds them itself
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
    if report.repaired:
        print(f"{report.repaired:,} pictures whose vectors were missing were encoded again")
    if report.problems:
        print(f"{len(report.problems):,} files skipped:", *report.problems, sep="\n  ", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
