"""Unpacking a zip safely: every check made before anything is written, nothing left behind on failure.

Refused as a whole, with nothing written: an unreadable archive; more than
:data:`~similarity.limits.MAX_ZIP_FILES` entries or
:data:`~similarity.limits.MAX_ZIP_BYTES` unpacked; a zip bomb's ratio; more
than the visitor's quota or the server's disk budget
(:mod:`similarity.ingest.budget`) has left; a disk that fails while writing
(what was written is removed). Entries that cannot be used are skipped and
named, the rest unpacked: unsafe paths (absolute, a drive, ``..``),
symbolic links, encrypted entries, compression zipfile cannot read
(Deflate64), a file with a folder's name, a second entry of one name, and
data that fails its checksum (damaged, or sizes that lie), whose partly
written file is removed.
Unpacked zips live in their own folder
(:func:`similarity.storage.paths.unpacked_folder`) and are removed after
:data:`~similarity.limits.UNPACKED_MAX_AGE_S`.
"""

from __future__ import annotations

import lzma
import shutil
import time
import zipfile
import zlib
from contextlib import nullcontext
from itertools import takewhile
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import BinaryIO

from similarity.ingest.budget import DiskBudget, Quota, Usage
from similarity.ingest.files import BadInput
from similarity.limits import MAX_ZIP_BYTES, MAX_ZIP_FILES, MAX_ZIP_RATIO, UNPACKED_MAX_AGE_S

READABLE = {zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA}
CHUNK = 1 << 20  # an entry is copied in pieces, never held whole in memory
# What a damaged entry raises while read (bz2 raises OSError); zipfile stops at the declared size and then
# checks the CRC, so data longer than its header says is a checksum error and never writes more than counted.
_DAMAGED = (zipfile.BadZipFile, zlib.error, lzma.LZMAError, EOFError, OSError)


def unpack_zip(
    source: Path | BinaryIO,
    extract_to: Path,
    max_bytes: int = MAX_ZIP_BYTES,
    quota: Quota | None = None,
    budget: DiskBudget | None = None,
) -> tuple[list[tuple[str, Path]], list[str]]:
    """Safely unpack a zip (a path, or an open file with a ``name``).

    Returns ([(name in the zip, unpacked file)], ["entry: reason skipped"]);
    raises :class:`BadInput` naming the zip (nothing written) for one refused
    as a whole. ``quota``: the visitor's; ``budget``: the server's.
    """
    label = Path(getattr(source, "name", None) or source).name
    try:
        archive = zipfile.ZipFile(source)
    except (zipfile.BadZipFile, OSError) as err:
        raise BadInput(f"{label}: not a readable zip file ({err})") from err
    with archive:
        members = [m for m in archive.infolist() if not m.is_dir()]
        _check_size(label, members, max_bytes)
        kept, problems = _usable(members)
        need = Usage.of([m.file_size for m in kept])
        if quota:
            quota.check(need, label)
        with budget.reserve(need, label) if budget else nullcontext():
            files, damaged = _write(archive, kept, Path(extract_to), label)
    return files, problems + damaged


def _check_size(label: str, members: list[zipfile.ZipInfo], max_bytes: int) -> None:
    if len(members) > MAX_ZIP_FILES:
        raise BadInput(f"{label}: {len(members):,} files; the limit is {MAX_ZIP_FILES:,}")
    total = sum(m.file_size for m in members)
    if total > max_bytes:
        raise BadInput(f"{label}: unpacks to {total / 1e9:.2f} GB; the limit is {max_bytes / 1e9:.2f} GB")
    packed = sum(m.compress_size for m in members)
    if total > 1_000_000 and total > MAX_ZIP_RATIO * max(packed, 1):
        raise BadInput(
            f"{label}: {packed / 1e6:.1f} MB that unpack to {total / 1e6:,.0f} MB "
            f"({total / max(packed, 1):,.0f}:1) look like a zip bomb; nothing was unpacked"
        )


def _usable(members: list[zipfile.ZipInfo]) -> tuple[list[zipfile.ZipInfo], list[str]]:
    """(entries to unpack, ["entry: reason skipped"]), decided from the zip's directory alone."""
    folders = {parent for m in members for parent in PurePosixPath(m.filename).parents}
    kept, problems, seen = [], [], set()
    for member in members:
        name, rel = member.filename, PurePosixPath(member.filename)
        windows = PureWindowsPath(name)  # also reads C:/… and \\server\… as leaving the archive
        if windows.anchor or ".." in windows.parts or "\\" in name:
            problems.append(f"{name}: unsafe path in zip (outside the archive), skipped")
        elif (member.external_attr >> 16) & 0o170000 == 0o120000:
            problems.append(f"{name}: a symbolic link in the zip, skipped")
        elif rel.name.startswith(".") or "__MACOSX" in rel.parts:
            continue  # system files (.DS_Store, resource forks): not the visitor's pictures
        elif member.flag_bits & 0x1:
            problems.append(f"{name}: encrypted (password-protected) in the zip, skipped")
        elif member.compress_type not in READABLE:
            method = zipfile.compressor_names.get(member.compress_type, "an unknown method")
            problems.append(
                f"{name}: compressed with {method} (method {member.compress_type}), which this app cannot "
                "unpack, skipped (zip it again with ordinary compression)"
            )
        elif rel in folders:
            problems.append(f"{name}: a file with the name of a folder in the same zip, skipped")
        elif rel in seen:
            problems.append(f"{name}: a second entry of this name in the zip, skipped")
        else:
            seen.add(rel)
            kept.append(member)
    return kept, problems


def _write(
    archive: zipfile.ZipFile, members: list[zipfile.ZipInfo], extract_to: Path, label: str
) -> tuple[list[tuple[str, Path]], list[str]]:
    """Unpack ``members``; a damaged one is named and removed; a failing disk removes all that was written."""
    made: list[Path] = []  # files and folders this call created, in order
    files, damaged = [], []
    try:
        for member in members:
            rel = PurePosixPath(member.filename)
            target = extract_to / rel
            new = list(takewhile(lambda p: not p.exists(), (target.parent, *target.parent.parents)))[::-1]
            for folder in new:
                folder.mkdir()
            made += [*new, target]
            reason = _copy(archive, member, target)
            if reason:
                damaged.append(f"{member.filename}: {reason}, skipped")
                _remove([*new, target])
                del made[-len(new) - 1 :]
            else:
                files.append((rel.as_posix(), target))
    except OSError as err:
        _remove(made)
        raise BadInput(
            f"{label}: could not write {member.filename} ({err.strerror or err}); nothing was unpacked"
        ) from err
    return files, damaged


def _copy(archive: zipfile.ZipFile, member: zipfile.ZipInfo, target: Path) -> str | None:
    """Copy one entry to ``target``; why its data is unusable, or None. Only writing raises OSError."""
    with open(target, "wb") as out:
        try:
            src = archive.open(member)
        except _DAMAGED as err:
            return f"damaged in the zip ({err})"
        with src:
            while True:
                try:
                    chunk = src.read(CHUNK)
                except _DAMAGED as err:
                    return f"damaged in the zip, or its sizes do not match its data ({err})"
                if not chunk:
                    return None
                out.write(chunk)


def _remove(made: list[Path]) -> None:
    """Remove files and (then empty) folders made by :func:`_write`, the deepest first."""
    for path in reversed(made):
        if path.is_dir() and not path.is_symlink():
            path.rmdir()
        else:
            path.unlink(missing_ok=True)


def remove_old_unpacked(root: Path, max_age_s: float | None = None) -> int:
    """Delete unpacked zips (``zip-*`` folders) older than ``max_age_s``; returns how many."""
    max_age_s = UNPACKED_MAX_AGE_S if max_age_s is None else max_age_s
    removed = 0
    for folder in Path(root).glob("zip-*"):
        try:
            if time.time() - folder.stat().st_mtime > max_age_s:
                shutil.rmtree(folder)
                removed += 1
        except OSError:
            pass  # another session removed it, or it is in use
    return removed
