"""Metadata filters: which items a search, a map and a clustering look at.

A :class:`Filter` holds one :class:`Condition` per field (values to keep, a
range, or text a value contains) and gives one bool per item
(:meth:`Filter.mask`, on the fields of :mod:`similarity.ingest.fields`). An
indexed collection's filter runs as a LanceDB ``where`` on its item table
for what the table holds (folder, file type, size, date, caption present),
the rest in memory: :func:`indexed_mask`, which a test holds equal to
:meth:`Filter.mask`. :func:`narrowed` turns the mask into a smaller
:class:`~similarity.ingest.space.Space` with its own key, so search, maps and
clusterings (and every server-wide cache) work on it unchanged.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from datetime import datetime, timezone

import numpy as np

from similarity.ingest.fields import CHOICE, DATE, FILE_TYPE, FOLDER, HAS_CAPTION, MODIFIED, SIZE, TOP, Field, Fields
from similarity.ingest.space import Space
from similarity.storage.items import ItemTable


@dataclass(frozen=True)
class Condition:
    """One field's test: ``keep`` (choice values), ``low``/``high`` (inclusive range) or ``contains`` (text)."""

    field: str
    keep: tuple[str, ...] | None = None
    low: float | None = None
    high: float | None = None
    contains: str | None = None

    def mask(self, f: Field) -> np.ndarray:
        if self.keep is not None:
            return _member(f.values, self.keep)
        if self.contains is not None:
            needle = self.contains.casefold()
            return np.fromiter((needle in str(v).casefold() for v in f.values), bool, len(f.values))
        with np.errstate(invalid="ignore"):  # NaN (missing) fails every range
            keep = ~np.isnan(f.values)
            if self.low is not None:
                keep &= f.values >= self.low
            if self.high is not None:
                keep &= f.values <= self.high
        return keep

    def describe(self, f: Field) -> str:
        if self.keep is not None:
            shown = ", ".join(self.keep[:4]) + (f" (+{len(self.keep) - 4})" if len(self.keep) > 4 else "")
            return f"{self.field}: {shown or 'nothing'}"
        if self.contains is not None:
            return f"{self.field} contains “{self.contains}”"
        low, high = (_words(f, v) for v in (self.low, self.high))
        return f"{self.field} {low} to {high}"


def _words(f: Field, value: float | None) -> str:
    if value is None:
        return "any"
    if f.kind == DATE:
        return datetime.fromtimestamp(value, timezone.utc).strftime("%Y-%m-%d")
    return f"{value:,.0f}" if f.integer else f"{value:,.4g}"


@dataclass(frozen=True)
class Filter:
    """Items that pass every condition (no condition: every item)."""

    conditions: tuple[Condition, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.conditions)

    @property
    def key(self) -> str:
        return hashlib.sha256(repr(self.conditions).encode()).hexdigest()[:16]

    def mask(self, fields: Fields) -> np.ndarray:
        """(n items,) bool: True for each item kept. A condition on a field the collection lacks keeps everything."""
        keep = np.ones(fields.n, bool)
        for c in self.conditions:
            if c.field in fields:
                keep &= c.mask(fields[c.field])
        return keep

    def describe(self, fields: Fields) -> str:
        return "; ".join(c.describe(fields[c.field]) for c in self.conditions if c.field in fields)


def _quote(text: str) -> str:
    """A SQL string literal: the text as data, never as SQL."""
    return "'" + text.replace("'", "''") + "'"


def _like(*literals: str) -> str:
    r"""A LIKE pattern: the ``literals`` matched as typed (``\``, ``%``, ``_`` escaped), anything between them.

    >>> _like("/photos/50%_off/", "")
    "'/photos/50\\%\\_off/%' ESCAPE '\\'"
    """

    def esc(text: str) -> str:
        return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")

    return f"{_quote('%'.join(esc(t) for t in literals))} ESCAPE '\\'"


def _number(value: float) -> str:
    return np.format_float_positional(float(value), unique=True, trim="-")  # never 1e+20: plain digits


def _sql(c: Condition, f: Field, root: str) -> str | None:
    """The condition as SQL on the item table (path, caption, size, mtime), or None when the table cannot answer it."""
    if c.keep is not None and f.kind == CHOICE and c.field in (FOLDER, FILE_TYPE, HAS_CAPTION):
        parts = []
        for value in c.keep:
            if c.field == FOLDER:
                prefix = root.rstrip("/") + "/" + ("" if value == TOP else value + "/")
                parts.append(f"(path LIKE {_like(prefix, '')} AND path NOT LIKE {_like(prefix, '/', '')})")
            elif c.field == FILE_TYPE:
                parts.append(f"lower(path) LIKE {_like('', '.' + value)}")
            else:
                parts.append(
                    "(caption IS NOT NULL AND caption <> '')" if value == "yes" else "(caption IS NULL OR caption = '')"
                )
        return "(" + " OR ".join(parts) + ")" if parts else "path IS NULL"
    if c.keep is None and c.contains is None and c.field in (SIZE, MODIFIED):
        column = "size" if c.field == SIZE else "mtime"
        bounds = [f"{column} >= {_number(c.low)}"] if c.low is not None else []
        bounds += [f"{column} <= {_number(c.high)}"] if c.high is not None else []
        return " AND ".join(bounds) or f"{column} IS NOT NULL"
    return None


def where_clause(flt: Filter, fields: Fields) -> tuple[str | None, Filter]:
    """(a LanceDB ``where`` for the conditions the item table can answer, a Filter of the rest)."""
    sql, rest = [], []
    for c in flt.conditions:
        if c.field not in fields:
            continue
        clause = _sql(c, fields[c.field], fields.root)
        (sql.append(clause) if clause else rest.append(c))
    return (" AND ".join(sql) or None), Filter(tuple(rest))


def indexed_mask(flt: Filter, fields: Fields, table: ItemTable, sources: np.ndarray) -> np.ndarray:
    """:meth:`Filter.mask` for an indexed collection: LanceDB answers what it holds, memory the rest.

    ``sources``: each item's path as the item table holds it (``Item.source``).
    """
    where, rest = where_clause(flt, fields)
    keep = rest.mask(fields)
    if where is not None:
        keep &= _member(sources, table.paths_where(where))
    return keep


def _member(values: np.ndarray, wanted) -> np.ndarray:
    # A set, not np.isin: on text (object arrays) np.isin compares every value with every wanted one.
    wanted = set(wanted)
    return np.fromiter((v in wanted for v in values), bool, len(values))


def narrowed(space: Space, keep: np.ndarray, key: str) -> Space:
    """``space`` with only the rows of kept items (``keep``: one bool per item); its key gains ``key``.

    The items list stays whole (row -> item indices keep their meaning), so
    every view works on the narrowed space unchanged and caches by its key.
    """
    rows = np.flatnonzero(keep[space.item]) if len(space.item) else np.zeros(0, int)
    return replace(
        space,
        vectors=space.vectors[rows],
        item=space.item[rows],
        kind=space.kind[rows],
        key=f"{space.key}/filter-{key}",
    )
