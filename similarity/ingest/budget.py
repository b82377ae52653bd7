"""Disk for uploads and unpacked zips: bytes and files, checked before anything is written.

Two bounds: a visitor's :class:`Quota` (counted by the app per session) and
the server's :class:`DiskBudget`, measured on disk in the app's own uploads
and unpacked-zip folders, so it holds across sessions, page reloads, app
processes and restarts. A write first leaves a reservation (an empty file
whose name carries its size), then measures: two visitors racing for the
last space may both be refused, never both let through.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from similarity.ingest.files import BadInput
from similarity.limits import MAX_SERVER_UPLOAD_BYTES, MAX_SERVER_UPLOAD_FILES
from similarity.words import plural, size

BLOCK = 4096  # a file takes whole disk blocks: 50,000 one-byte files take 200 MB, not 50 KB
RESERVED = ".reserved-"  # a reservation's name: .reserved-<bytes>-<files>-<random>
RESERVATION_MAX_AGE_S = 3_600  # one left by a crashed write stops counting (unpacking 2 GB takes minutes)


@dataclass(frozen=True)
class Usage:
    """Disk taken: bytes in whole blocks, and files."""

    bytes: int = 0
    files: int = 0

    @classmethod
    def of(cls, sizes: list[int]) -> Usage:
        """What files of these sizes take on disk."""
        return cls(sum(max(1, -(-n // BLOCK)) * BLOCK for n in sizes), len(sizes))

    def __add__(self, other: Usage) -> Usage:
        return Usage(self.bytes + other.bytes, self.files + other.files)

    def __sub__(self, other: Usage) -> Usage:
        return Usage(self.bytes - other.bytes, self.files - other.files)

    def within(self, limit: Usage) -> bool:
        return self.bytes <= limit.bytes and self.files <= limit.files

    def __str__(self) -> str:
        return f"{size(self.bytes)} in {plural(self.files, 'file')}"


@dataclass(frozen=True)
class Quota:
    """``whose`` disk: ``used`` of ``limit``."""

    whose: str
    used: Usage
    limit: Usage

    def check(self, need: Usage, what: str) -> None:
        """:class:`BadInput` naming ``what``, the use and the limit, unless ``need`` fits."""
        if not (self.used + need).within(self.limit):
            raise BadInput(
                f"{what}: needs {need} on disk, but {self.whose} has used {self.used} "
                f"of its {size(self.limit.bytes)} and {plural(self.limit.files, 'file')}; nothing was written"
            )


@dataclass(frozen=True)
class DiskBudget:
    """The server's disk for every visitor's uploads: what its ``folders`` hold, with reservations."""

    folders: tuple[Path, ...]  # reservations live in the first
    max_bytes: int = MAX_SERVER_UPLOAD_BYTES
    max_files: int = MAX_SERVER_UPLOAD_FILES

    def used(self) -> Usage:
        """What the folders hold now, plus the reservations of writes under way."""
        total = sum((measure(folder) for folder in self.folders), Usage())
        return total + self._reserved()

    @contextmanager
    def reserve(self, need: Usage, what: str) -> Iterator[None]:
        """Hold ``need`` for the write done inside; :class:`BadInput` (nothing written) when it does not fit."""
        self.folders[0].mkdir(parents=True, exist_ok=True)
        token = self.folders[0] / f"{RESERVED}{need.bytes}-{need.files}-{uuid.uuid4().hex}"
        token.touch()
        try:
            limit = Usage(self.max_bytes, self.max_files)
            Quota("this server's space for uploads (shared by every visitor)", self.used() - need, limit).check(
                need, what
            )
            yield
        finally:
            token.unlink(missing_ok=True)

    def _reserved(self) -> Usage:
        total = Usage()
        for token in self.folders[0].glob(f"{RESERVED}*"):
            try:
                if time.time() - token.stat().st_mtime > RESERVATION_MAX_AGE_S:
                    token.unlink()  # left by a crash: it must not hold the space for ever
                    continue
                n_bytes, n_files, _ = token.name.removeprefix(RESERVED).split("-")
                total += Usage(int(n_bytes), int(n_files))
            except (OSError, ValueError):
                continue  # finished (removed) meanwhile, or not one of ours
        return total


def measure(folder: Path) -> Usage:
    """What the files under ``folder`` take on disk (links not followed; reservations are not files)."""
    sizes = []
    for parent, _, names in os.walk(folder):
        for name in names:
            if not name.startswith(RESERVED):
                try:
                    sizes.append(os.lstat(os.path.join(parent, name)).st_size)
                except OSError:
                    continue  # removed meanwhile (an old zip cleaned up)
    return Usage.of(sizes)
