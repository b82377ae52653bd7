"""Damaged tables told apart from passing trouble: retry a read, set aside only what stays unreadable.

A read of a LanceDB table can fail because the table is damaged (a garbled
manifest, a deleted data file, a folder replaced by a file) or because the
host is briefly short of something (too many open files, memory): the same
read succeeds a moment later. :func:`read_or_damage` tries a read a few times
(:data:`~similarity.limits.STORE_READ_ATTEMPTS`, a short doubling backoff);
when every try failed for a passing reason it raises
:class:`TemporaryStoreError` and nothing is touched; only a table that stays
unreadable for another reason is damage, which :func:`put_aside` moves to
``set-aside/`` (never deleted: the host may want it back).
"""

from __future__ import annotations

import errno
import logging
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from similarity.limits import STORE_READ_ATTEMPTS, STORE_READ_BACKOFF_S

T = TypeVar("T")
PASSING = {errno.EMFILE, errno.ENFILE, errno.EAGAIN, errno.EINTR, errno.ENOMEM}
PASSING_WORDS = ("too many open files",)  # how Lance words EMFILE (its errors are RuntimeErrors)
log = logging.getLogger(__name__)


class TemporaryStoreError(OSError, ValueError):
    """A store read failed for a passing reason (too many open files, memory): nothing was set aside.

    An ``OSError`` (a condition of the host) and a ``ValueError``, so pages show it as a plain message.
    """


def is_passing(err: BaseException) -> bool:
    """Whether ``err`` (or what caused it) is a passing shortage, not damage."""
    seen = set()
    while err is not None and id(err) not in seen:
        seen.add(id(err))
        if isinstance(err, OSError) and err.errno in PASSING:
            return True
        if any(words in str(err).lower() for words in PASSING_WORDS):
            return True
        err = err.__cause__ or err.__context__
    return False


def reason_of(err: BaseException) -> str:
    """A short reason for the log and the set-aside list."""
    return str(err) if type(err) is ValueError else f"unreadable ({type(err).__name__})"


def read_or_damage(read: Callable[[], T], what: str) -> tuple[T | None, str | None]:
    """``(read(), None)``, or ``(None, reason)`` when the data stays unreadable (damage).

    Raises :class:`TemporaryStoreError` when a try failed for a passing reason
    and none succeeded: that is no proof of damage.
    """
    passing, last = False, None
    for attempt in range(STORE_READ_ATTEMPTS):
        if attempt:
            time.sleep(STORE_READ_BACKOFF_S * 2 ** (attempt - 1))
        try:
            return read(), None
        except TemporaryStoreError:
            raise
        except Exception as err:  # noqa: BLE001 - any failure (IO, format, manifest) may be damage
            passing, last = passing or is_passing(err), err
    if passing:
        message = str(last).split(", /")[0]  # Lance appends its source file
        raise TemporaryStoreError(
            f"{what} could not be read just now ({message}); nothing was changed: try again in a moment"
        ) from last
    return None, reason_of(last)


def stray(root: str, name: str) -> bool:
    """Whether ``<root>/<name>.lance`` is there but is no folder (LanceDB does not list it, nor can it write there)."""
    path = Path(root) / f"{name}.lance"
    return "://" not in root and path.exists() and not path.is_dir()


def put_aside(root: str, name: str, reason: str) -> bool:
    """Move the table ``name`` of the database ``root`` to ``set-aside/``; False when it was gone already.

    An object-store database is not moved: a ``ValueError`` says what is damaged.
    """
    if "://" in root:
        raise ValueError(f"table {name} in {root} is damaged: {reason}")
    source = Path(root) / f"{name}.lance"
    if not os.path.lexists(source):
        return False  # another reader set it aside first
    folder = Path(root) / "set-aside"
    folder.mkdir(exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    target, n = folder / f"{name}-{stamp}.lance", 1
    while os.path.lexists(target):
        target, n = folder / f"{name}-{stamp}-{n}.lance", n + 1
    try:
        os.replace(source, target)
    except FileNotFoundError:
        return False  # another reader moved it between the two lines
    log.warning("store %s: set aside %s (%s) in %s", root, name, reason, folder)
    return True
