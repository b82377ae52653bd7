"""Unpacking a zip safely: sizes, entry count and compression ratio checked before anything is written.

Unsafe members (absolute paths, ``..``, symbolic links) are skipped and
named; unpacked zips live in their own folder
(:func:`similarity.storage.paths.unpacked_folder`) and are removed after
:data:`~similarity.limits.UNPACKED_MAX_AGE_S`.
"""

from __future__ import annotations

import shutil
import time
import zipfile
from pathlib import Path, PurePosixPath

from similarity.ingest.files import BadInput
from similarity.limits import UNPACKED_MAX_AGE_S

MAX_ZIP_BYTES = 2_000_000_000  # uncompressed size of an imported zip
MAX_ZIP_FILES = 50_000
MAX_ZIP_RATIO = 100  # pictures barely compress; 1 MB unpacking to 1 GB is a zip bomb


def unpack_zip(
    path: Path, extract_to: Path, max_bytes: int = MAX_ZIP_BYTES
) -> tuple[list[tuple[str, Path]], list[str]]:
    """Safely unpack a zip: ([(name in the zip, unpacked file)], ["member: reason skipped"]).

    Raises :class:`BadInput` (nothing written) for an unreadable, oversized
    or bomb-like archive.
    """
    path = Path(path)
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as err:
        raise BadInput(f"{path.name}: not a readable zip file ({err})") from err
    with archive:
        members = [m for m in archive.infolist() if not m.is_dir()]
        if len(members) > MAX_ZIP_FILES:
            raise BadInput(f"{path.name}: {len(members):,} files; the limit is {MAX_ZIP_FILES:,}")
        total = sum(m.file_size for m in members)
        if total > max_bytes:
            raise BadInput(f"{path.name}: unpacks to {total / 1e9:.2f} GB; the limit is {max_bytes / 1e9:.2f} GB")
        packed = sum(m.compress_size for m in members)
        if total > 1_000_000 and total > MAX_ZIP_RATIO * max(packed, 1):
            raise BadInput(
                f"{path.name}: {packed / 1e6:.1f} MB that unpack to {total / 1e6:,.0f} MB "
                f"({total / max(packed, 1):,.0f}:1) look like a zip bomb; nothing was unpacked"
            )
        problems, files = [], []
        for member in members:
            rel = PurePosixPath(member.filename)
            if rel.is_absolute() or ".." in rel.parts or "\\" in member.filename:
                problems.append(f"{member.filename}: unsafe path in zip (outside the archive), skipped")
                continue
            if (member.external_attr >> 16) & 0o170000 == 0o120000:
                problems.append(f"{member.filename}: a symbolic link in the zip, skipped")
                continue
            if rel.name.startswith(".") or "__MACOSX" in rel.parts:
                continue
            target = extract_to / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            with archive.open(member) as src:
                target.write_bytes(src.read(member.file_size + 1)[: member.file_size])
            files.append((rel.as_posix(), target))
    return files, problems


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
