"""LanceDB databases: a local folder or an object-store URI, and the names of their tables."""

from __future__ import annotations

import re


def connect(uri):
    """A LanceDB database: a local folder or an object-store URI."""
    import lancedb

    return lancedb.connect(str(uri))


def table_name(prefix: str, name: str) -> str:
    """A table name LanceDB accepts: ``prefix`` + ``name`` with other characters as ``_``.

    >>> table_name("items__", "my photos/2024")
    'items__my_photos_2024'
    """
    return prefix + re.sub(r"[^A-Za-z0-9_-]+", "_", name)
