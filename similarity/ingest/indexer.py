"""The indexer's work: find the pictures under folders, zips and CSV lists, and index what is new.

Each batch goes through the one ingest pipeline
(:mod:`similarity.ingest.pipeline`) and is written to LanceDB
(:mod:`similarity.storage`) in one commit: vectors first, then the item rows
that point at them. A rerun (after Ctrl+C or ``kill -9``) skips files
already indexed with the same size and modification time, and never encodes
a picture twice: the same picture under two names is stored once; it also
forgets files deleted from the folders it is given and replaces a changed
file's row. It also repairs: an unchanged file whose picture or caption has no
vector in the model's table (set aside as damaged, or cleared) is encoded
again, its row kept once. The command line is :mod:`similarity.ingest.cli`.
"""

from __future__ import annotations

import json
import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from similarity.encoders.onnx_runtime import OnnxTowers, int8_towers
from similarity.ingest.files import IMAGE_SUFFIXES, BadInput, clean_caption, read_caption_table
from similarity.ingest.pipeline import BATCH, Source, decode, encode_new, prepared_batches, store_new
from similarity.ingest.zips import unpack_zip
from similarity.storage.items import EXTRA, ItemTable
from similarity.storage.keys import caption_key, content_id, image_key_of
from similarity.storage.vectors import EmbeddingStore


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
    repair: set[str] = field(default_factory=set)  # paths indexed and unchanged whose vectors are missing
    repaired: int = 0  # of those, files encoded again
    extras: dict[Path, dict[str, str]] = field(default_factory=dict)  # path -> a captions CSV's further columns


def gather(
    paths: list[Path], captions: dict[str, str], unpack_to: Path, extras: dict[str, dict[str, str]] | None = None
) -> Report:
    """Every picture under ``paths`` (folders, zips, CSV lists, single files); problems named.

    ``captions`` and ``extras`` (a captions CSV's further columns) are matched by path or file name.
    """
    report = Report()
    extras = dict(extras or {})
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
                rows, more = read_caption_table(given.name, given.read_bytes())
                report.sources += [Source((given.parent / p).resolve(), c) for p, c in rows.items()]
                extras.update({str((given.parent / p).resolve()): v for p, v in more.items()})
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
    if extras:
        by_name = {Path(k).name: v for k, v in extras.items()}
        found = {s.path: extras.get(str(s.path)) or by_name.get(s.path.name) for s in report.sources}
        report.extras = {path: extra for path, extra in found.items() if extra}
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


def pending(report: Report, items: ItemTable, vectors: EmbeddingStore | None = None) -> list[Source]:
    """The sources not indexed yet with their current size and time (a rerun resumes here).

    Also the files indexed and unchanged in ``report.repair``, with ``vectors``
    those whose vectors that store lacks (:func:`lacking_vectors`): they are encoded again.
    """
    seen = items.seen()
    if vectors is not None:
        report.repair |= lacking_vectors(items, vectors)
    todo = []
    for s in report.sources:
        try:
            stat = s.path.stat()
        except OSError:
            todo.append(s)  # decoding names the problem
            continue
        path, before = str(s.path), seen.get(str(s.path))
        if before == (stat.st_size, stat.st_mtime):
            if path not in report.repair:
                report.unchanged += 1
                continue
        elif before is not None:
            report.changed.add(path)
            report.repair.discard(path)  # changed: indexed again anyway
        todo.append(s)
    return todo


def lacking_vectors(items: ItemTable, vectors: EmbeddingStore) -> set[str]:
    """The indexed paths whose picture or caption has no vector in ``vectors`` (set aside, cleared)."""
    rows = items.rows()
    lacking = set()
    for path, picture, caption in zip(*(rows[c].to_pylist() for c in ("path", "id", "caption"))):
        keys = ([image_key_of(picture)] if picture else []) + ([caption_key(caption)] if caption else [])
        if vectors.missing(keys):
            lacking.add(path)
    return lacking


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

    todo = pending(report, items, vectors)
    with (
        ThreadPoolExecutor(workers) as pool,
        tqdm(total=len(todo), unit="pic", desc=f"indexing {items.collection}", smoothing=0.1) as bar,
    ):
        for prepared in prepared_batches(todo, pool, batch, encoder.towers):
            report.problems += [str(p[1]) for p in prepared if isinstance(p[1], Exception)]
            good = [p for p in prepared if not isinstance(p[1], Exception)]
            pixels = {image_key_of(cid): pixels for _, cid, pixels, *_ in good}
            captions = {caption_key(c): c for c in (clean_caption(p[0].caption or "") for p in good) if c}
            encoded = encode_new(encoder, vectors, pixels, captions)
            commit(
                vectors, items, [(source, cid, size, mtime) for source, cid, _, size, mtime in good], encoded, report
            )
            bar.update(len(prepared))
    return report


def commit(vectors: EmbeddingStore, items: ItemTable, good: list, encoded: dict, report: Report) -> None:
    """Store one batch: new vectors first, then the item rows that point at them (a kill between loses nothing).

    ``good``: (source, content id, size, mtime) per readable file;
    ``encoded``: store key -> vector, for the keys encoded for this batch.
    A file whose vector the model could not give is named and not indexed.
    """
    names = {image_key_of(cid): source.label for source, cid, *_ in good}
    stored = store_new(vectors, encoded, names)
    report.encoded_images += stored.images
    report.encoded_captions += stored.captions
    report.problems += stored.problems
    good = [g for g in good if image_key_of(g[1]) not in stored.refused]
    for cid in (cid for _, cid, *_ in good):
        report.duplicates += cid in report.seen_ids
        report.seen_ids.add(cid)
    rows = [
        {
            "path": str(s.path),
            "caption": clean_caption(s.caption or "") or None,
            "size": size,
            "mtime": mtime,
            "id": cid,
            EXTRA: json.dumps(report.extras[s.path]) if s.path in report.extras else None,
        }
        for s, cid, size, mtime in good
    ]
    # A repaired file's row is replaced, not added again: one row per file.
    again = report.changed | report.repair
    items.add(rows, replacing=[r["path"] for r in rows if r["path"] in again])
    repaired = sum(r["path"] in report.repair for r in rows)
    report.repaired += repaired
    report.indexed += len(rows) - repaired


def int8_check(encoder, sources: list[Source], n: int = 200):
    """(the encoder with an int8 picture tower, its recall@10 against fp32, its speed-up), on ``n`` of your pictures.

    Recall@10: each sampled picture's 10 nearest among the sample, by int8
    vectors, against the same by fp32 vectors.
    """
    if not isinstance(encoder.towers, OnnxTowers):
        raise ValueError(
            "--int8 needs the model's ONNX export: run `python -m similarity.encoders.onnx_export` (see --help)"
        )
    fast = replace(encoder, towers=int8_towers(encoder.towers))
    pictures = [d[2] for d in map(decode, sources[:n]) if not isinstance(d[1], Exception)]
    if len(pictures) < 11:
        raise ValueError(f"--int8 measures its recall on at least 11 of your pictures; {len(pictures)} were readable")
    seconds, neighbours = [], []
    for model in (encoder, fast):
        start = time.perf_counter()
        vectors = model.encode_images(pictures)
        seconds.append(time.perf_counter() - start)
        sims = vectors @ vectors.T  # a few hundred pictures: the full order (search/ sits above this floor)
        np.fill_diagonal(sims, -np.inf)
        neighbours.append(np.argsort(-sims, axis=1)[:, :10])
    recall = np.mean([len(np.intersect1d(a, b)) / 10 for a, b in zip(*neighbours)])
    return fast, float(recall), seconds[0] / seconds[1]
