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
they were before that batch, so a rerun resumes. An item table that stays
unreadable is set aside like a vectors table
(:mod:`similarity.storage.damage`): the collection then counts as not
indexed, and a rerun of the indexer indexes its files again (their vectors
are kept, so nothing is encoded twice).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pyarrow as pa

from similarity.storage.damage import put_aside, read_or_damage, stray
from similarity.storage.lance import connect, table_name
from similarity.storage.paths import index_uri

ITEMS = "items__"
EXTRA = "extra"  # a JSON object of the captions CSV's further columns (null: none); older tables lack it
ITEM_SCHEMA = pa.schema(
    [
        pa.field("path", pa.string()),
        pa.field("caption", pa.string()),
        pa.field("size", pa.int64()),
        pa.field("mtime", pa.float64()),
        pa.field("id", pa.string()),
        pa.field(EXTRA, pa.string()),
    ]
)
log = logging.getLogger(__name__)


def extra_columns(stored: str | None) -> tuple[tuple[str, str], ...]:
    """A row's further CSV columns as the indexer stored them (JSON); nothing when absent or unreadable."""
    try:
        found = json.loads(stored) if stored else {}
    except ValueError:
        return ()
    return tuple((str(k), str(v)) for k, v in found.items()) if isinstance(found, dict) else ()


def _open(db, name: str):
    return db.open_table(name) if name in db.list_tables().tables else None


def _latest(table):
    """The table at its latest version (another writer may have committed since it was opened)."""
    table.checkout_latest()
    return table


def _readable_rows(table) -> pa.Table:
    rows = _latest(table).to_arrow()
    if missing := [f.name for f in ITEM_SCHEMA if f.name not in rows.column_names and f.name != EXTRA]:
        raise ValueError(f"no column {', '.join(missing)}: not an item table")
    if EXTRA not in rows.column_names:
        rows = rows.append_column(EXTRA, pa.nulls(len(rows), pa.string()))
    return rows.select(ITEM_SCHEMA.names)


class ItemTable:
    """The files of one indexed collection; a damaged table is set aside (``set_aside`` says why)."""

    def __init__(self, db, collection: str):
        self.db, self.collection = db, collection
        self.name = table_name(ITEMS, collection)
        self.set_aside: list[str] = []  # "table: reason", when this table was damaged and moved away
        self.table = None
        self.table = self._read(lambda _: _open(db, self.name))
        if self.table is None and stray(str(db.uri), self.name):  # a file where the table's folder belongs
            self._put_aside("not a table folder")

    def _read(self, read):
        """``read(table)``, retried; None when the table is damaged (then it is set aside)."""
        value, reason = read_or_damage(lambda: read(self.table), f"item table {self.name}")
        if reason is not None:
            self._put_aside(reason)
        return value

    def _put_aside(self, reason: str) -> None:
        self.table = None
        if put_aside(str(self.db.uri), self.name, reason):
            self.set_aside.append(f"{self.name}: {reason}")
            log.warning("collection %r counts as not indexed until the indexer is run again", self.collection)

    def rows(self) -> pa.Table:
        if self.table is not None and (rows := self._read(_readable_rows)) is not None:
            return rows
        return ITEM_SCHEMA.empty_table()

    def state(self) -> tuple[int, int]:
        """(latest version, rows): changes with every commit, and differs for a table deleted and built again."""
        if self.table is not None and (state := self._read(lambda t: (_latest(t).version, t.count_rows()))):
            return state
        return 0, 0

    def seen(self) -> dict[str, tuple[int, float]]:
        """path -> (size, mtime) of every file already indexed."""
        rows = self.rows()
        return dict(zip(rows["path"].to_pylist(), zip(rows["size"].to_pylist(), rows["mtime"].to_pylist())))

    def paths_where(self, where: str) -> list[str]:
        """The paths of the rows a LanceDB ``where`` (SQL) keeps; callers quote every value in it."""
        if self.table is None:
            return []
        self.table.checkout_latest()  # not guarded: a query's error is no sign of damage
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
        elif EXTRA not in self.table.schema.names:  # made before further CSV columns were kept
            self.table.add_columns({EXTRA: "CAST(NULL AS STRING)"})
        self.table.add(batch)

    def remove(self, paths: list[str]) -> None:
        """Forget the rows of these files."""
        paths = list(paths) if self.table is not None else []
        for start in range(0, len(paths), 500):
            quoted = ", ".join("'" + p.replace("'", "''") + "'" for p in paths[start : start + 500])
            self.table.delete(f"path IN ({quoted})")


def indexed_collections(uri: str | None = None) -> dict[str, int]:
    """Collection name -> number of indexed files, for every collection in the database that has any.

    A damaged item table is set aside (and so not listed); a passing failure raises
    :class:`~similarity.storage.damage.TemporaryStoreError`.
    """
    db = connect(uri or index_uri())
    names, reason = read_or_damage(lambda: db.list_tables().tables, f"index {db.uri}")
    if reason is not None:
        log.warning("index %s cannot be listed: %s", db.uri, reason)
        return {}
    if "://" not in str(db.uri):  # files where item tables' folders belong: LanceDB lists none of them
        names += [p.stem for p in Path(str(db.uri)).glob(f"{ITEMS}*.lance") if not p.is_dir()]
    names = sorted({n[len(ITEMS) :] for n in names if n.startswith(ITEMS)})
    counts = {name: ItemTable(db, name).state()[1] for name in names}
    return {name: count for name, count in counts.items() if count}
