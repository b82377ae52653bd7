"""Indexed collections: the files of each, in a LanceDB table beside the models' vectors.

The index is a LanceDB database (:func:`~similarity.storage.paths.index_uri`, default: the
app's embedding store; a folder or an object-store URI) holding

- ``vectors__<model key>``: each model's vectors
  (:class:`~similarity.storage.vectors.EmbeddingStore`); a picture in two collections
  is stored once;
- ``items__<collection>``: one row per indexed file: ``path``, ``caption``,
  ``size`` and ``mtime`` (to skip unchanged files on a rerun), ``id`` (the
  picture's content hash).

Every ``add`` is one LanceDB commit: a killed writer leaves the tables as
they were before that batch, so a rerun resumes.
"""

from __future__ import annotations

import pyarrow as pa

from similarity.storage.lance import connect, table_name
from similarity.storage.paths import index_uri

ITEMS = "items__"
ITEM_SCHEMA = pa.schema(
    [
        pa.field("path", pa.string()),
        pa.field("caption", pa.string()),
        pa.field("size", pa.int64()),
        pa.field("mtime", pa.float64()),
        pa.field("id", pa.string()),
    ]
)


def _open(db, name: str):
    return db.open_table(name) if name in db.list_tables().tables else None


class ItemTable:
    """The files of one indexed collection."""

    def __init__(self, db, collection: str):
        self.db, self.collection = db, collection
        self.name = table_name(ITEMS, collection)
        self.table = _open(db, self.name)

    def rows(self) -> pa.Table:
        if self.table is None:
            return ITEM_SCHEMA.empty_table()
        self.table.checkout_latest()
        return self.table.to_arrow()

    def state(self) -> tuple[int, int]:
        """(latest version, rows): changes with every commit, and differs for a table deleted and built again."""
        if self.table is None:
            return 0, 0
        self.table.checkout_latest()
        return self.table.version, self.table.count_rows()

    def seen(self) -> dict[str, tuple[int, float]]:
        """path -> (size, mtime) of every file already indexed."""
        rows = self.rows()
        return dict(zip(rows["path"].to_pylist(), zip(rows["size"].to_pylist(), rows["mtime"].to_pylist())))

    def paths_where(self, where: str) -> list[str]:
        """The paths of the rows a LanceDB ``where`` (SQL) keeps; callers quote every value in it."""
        if self.table is None:
            return []
        self.table.checkout_latest()
        return self.table.search().where(where).select(["path"]).limit(None).to_arrow()["path"].to_pylist()

    def add(self, rows: list[dict], replacing: list[str] = ()) -> None:
        """Append ``rows``; ``replacing``: paths indexed before (their file changed) whose old rows go first.

        Removing first: a kill between the two commits leaves such a path
        unindexed, so a rerun indexes it again, never twice.
        """
        self.remove(replacing)
        if not rows:
            return
        batch = pa.Table.from_pylist(rows, schema=ITEM_SCHEMA)
        if self.table is None:
            self.table = self.db.create_table(self.name, schema=ITEM_SCHEMA, exist_ok=True)
        self.table.add(batch)

    def remove(self, paths: list[str]) -> None:
        """Forget the rows of these files."""
        paths = list(paths) if self.table is not None else []
        for start in range(0, len(paths), 500):
            quoted = ", ".join("'" + p.replace("'", "''") + "'" for p in paths[start : start + 500])
            self.table.delete(f"path IN ({quoted})")


def indexed_collections(uri: str | None = None) -> dict[str, int]:
    """Collection name -> number of indexed files, for every collection in the database that has any."""
    db = connect(uri or index_uri())
    names = [n for n in db.list_tables().tables if n.startswith(ITEMS)]
    counts = {n[len(ITEMS) :]: db.open_table(n).count_rows() for n in sorted(names)}
    return {name: count for name, count in counts.items() if count}
