"""Disk for uploads: a session's quota and the server's budget, in bytes and files, checked before writing.

The server's budget is measured on disk, so a new budget object (a reload,
a restart, another app process) sees what earlier ones let through.
"""

import io
import os
import time
import zipfile

import pytest

from similarity.ingest.budget import BLOCK, RESERVATION_MAX_AGE_S, RESERVED, DiskBudget, Quota, Usage
from similarity.ingest.collection import load_zip
from similarity.ingest.files import BadInput
from similarity.limits import MAX_SESSION_BYTES, MAX_ZIP_BYTES


def _tiny_files(n: int) -> io.BytesIO:
    """A zip of ``n`` one-byte files: small to upload, ``n`` blocks on disk."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for i in range(n):
            z.writestr(f"f{i:05d}.txt", b"x")
    out.name = "tiny.zip"  # what an uploaded file carries
    out.seek(0)
    return out


def _budget(tmp_path, max_bytes=10_000_000, max_files=100) -> DiskBudget:
    return DiskBudget((tmp_path / "uploads", tmp_path / "unpacked"), max_bytes, max_files)


def test_one_number_caps_a_zip_and_a_session():
    assert MAX_SESSION_BYTES == MAX_ZIP_BYTES == 2_000_000_000


def test_tiny_files_are_counted_by_the_disk_blocks_they_take():
    assert Usage.of([1] * 50_000) == Usage(50_000 * BLOCK, 50_000)  # 205 MB on disk, not 50 KB
    assert Usage.of([BLOCK, BLOCK + 1, 0]) == Usage(4 * BLOCK, 3)


def test_a_zip_of_too_many_tiny_files_is_refused_before_anything_is_written(tmp_path):
    with pytest.raises(BadInput) as refused:
        load_zip(_tiny_files(150), tmp_path / "unpacked" / "zip-1", budget=_budget(tmp_path))
    assert str(refused.value) == (
        "tiny.zip: needs 614 KB in 150 files on disk, but this server's space for uploads (shared by every "
        "visitor) has used 0 KB in 0 files of its 10.0 MB and 100 files; nothing was written"
    )
    assert not (tmp_path / "unpacked").exists() and not list((tmp_path / "uploads").iterdir())


def test_the_budget_counts_what_earlier_sessions_and_processes_left_on_disk(tmp_path):
    load_zip(_tiny_files(60), tmp_path / "unpacked" / "zip-1", budget=_budget(tmp_path))
    (tmp_path / "uploads" / "photo.png").write_bytes(b"p" * 5_000)
    after_a_restart = _budget(tmp_path)  # nothing kept in memory: it measures the folders
    assert after_a_restart.used() == Usage(60 * BLOCK + 2 * BLOCK, 61)
    with pytest.raises(BadInput, match="has used 254 KB in 61 files of its 10.0 MB and 100 files"):
        load_zip(_tiny_files(40), tmp_path / "unpacked" / "zip-2", budget=after_a_restart)
    assert not (tmp_path / "unpacked" / "zip-2").exists()
    load_zip(_tiny_files(39), tmp_path / "unpacked" / "zip-2", budget=after_a_restart)  # exactly fits
    assert after_a_restart.used().files == 100


def test_a_write_under_way_holds_its_space_until_it_ends(tmp_path):
    budget = _budget(tmp_path, max_files=10)
    with budget.reserve(Usage(BLOCK, 8), "first.zip"):
        assert budget.used() == Usage(BLOCK, 8)  # another process sees it: both cannot take the last space
        with pytest.raises(BadInput, match="second.zip: needs .* has used 4 KB in 8 files of its"):
            with budget.reserve(Usage(BLOCK, 3), "second.zip"):
                pass
    assert budget.used() == Usage()
    with budget.reserve(Usage(BLOCK, 10), "third.zip"):
        pass


def test_a_reservation_left_by_a_crash_stops_counting(tmp_path):
    budget = _budget(tmp_path)
    (tmp_path / "uploads").mkdir()
    stale = tmp_path / "uploads" / f"{RESERVED}9000000-90-abc"
    stale.touch()
    assert budget.used() == Usage(9_000_000, 90)
    old = time.time() - RESERVATION_MAX_AGE_S - 1
    os.utime(stale, (old, old))
    assert budget.used() == Usage() and not stale.exists()


def test_a_sessions_quota_says_what_is_used_and_the_limit(tmp_path):
    quota = Quota("this session", Usage(MAX_SESSION_BYTES - BLOCK, 10), Usage(MAX_SESSION_BYTES, 50_000))
    with pytest.raises(BadInput) as refused:
        load_zip(_tiny_files(2), tmp_path / "out", quota=quota)
    assert str(refused.value) == (
        "tiny.zip: needs 8 KB in 2 files on disk, but this session has used 2.0 GB in 10 files "
        "of its 2.0 GB and 50,000 files; nothing was written"
    )
    assert not (tmp_path / "out").exists()
