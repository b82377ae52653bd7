"""One session's uploads: written within its quota and the server's disk budget, or refused with both.

The session's quota (:data:`~similarity.limits.MAX_SESSION_BYTES` and
``MAX_SESSION_FILES``) is counted here; the server's budget is measured on
disk by :class:`similarity.ingest.budget.DiskBudget`, so a reload or a
restart does not reset it.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import BinaryIO

import streamlit as st

from similarity.ingest.budget import DiskBudget, Quota, Usage, measure
from similarity.ingest.collection import Collection, load_zip, save_uploads
from similarity.ingest.files import BadInput
from similarity.ingest.zips import remove_old_unpacked
from similarity.limits import MAX_SESSION_BYTES, MAX_SESSION_FILES
from similarity.storage.paths import unpacked_folder, uploads_folder
from ui.state import store_root


def uploads_root() -> Path:
    """Where this server keeps uploaded pictures (beside the store)."""
    return uploads_folder(store_root()) / "uploads"


def unpacked_root() -> Path:
    """Where this server unpacks zips: a folder of their own, cleaned of old ones."""
    return unpacked_folder(store_root())


def session_quota() -> Quota:
    """What this session has written of what it may."""
    used = st.session_state.get("disk_used", Usage())
    return Quota("this session", used, Usage(MAX_SESSION_BYTES, MAX_SESSION_FILES))


def server_budget() -> DiskBudget:
    """Every visitor's uploads and unpacked zips on this server, together."""
    return DiskBudget((uploads_root(), unpacked_root()))


def _charge(written: Usage) -> None:
    st.session_state["disk_used"] = session_quota().used + written


def save_pictures(files: list[tuple[str, bytes]]) -> list[tuple[str, Path]]:
    """Write uploaded pictures (name, bytes); :class:`BadInput` with nothing written when they do not fit."""
    need, what = Usage.of([len(data) for _, data in files]), f"{len(files):,} uploaded files"
    session_quota().check(need, what)
    with server_budget().reserve(need, what):
        saved = save_uploads(files, uploads_root())
    _charge(need)
    return saved


def import_zip(archive: BinaryIO, name: str) -> Collection:
    """An uploaded zip unpacked into a folder of its own; :class:`BadInput` leaves nothing on disk."""
    unpacked = unpacked_root()
    unpacked.mkdir(parents=True, exist_ok=True)
    remove_old_unpacked(unpacked)
    target = Path(tempfile.mkdtemp(prefix="zip-", dir=unpacked))
    try:
        collection = load_zip(archive, target, name, quota=session_quota(), budget=server_budget())
    except BadInput:
        shutil.rmtree(target, ignore_errors=True)
        raise
    if collection.items:
        _charge(measure(target))
    else:  # add_collection refuses it: its files are of no use to anyone
        shutil.rmtree(target, ignore_errors=True)
    return collection
