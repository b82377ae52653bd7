"""A collection's fields: one value per item for filters and map colours, computed once per collection.

Every collection offers what its files say: folder, file type, size, date
(file modified), width and height (read from the picture's header only,
never decoded), whether it has a caption, its category (where known), and
every further column of its captions CSV. Indexed collections read size and
date from their item table: no file is touched for those.

A field is a *number* or a *date* (filtered by a range), a *choice* (a list
of values to keep) or *text* (more than
:data:`~similarity.limits.MAX_FILTER_CHOICES` distinct values: filtered by
"contains"). A CSV column whose values are not all numbers (or all dates)
is a choice or text field of their words. Fields with one value everywhere
are left out: they cannot narrow anything.
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import PurePath

import numpy as np
from PIL import Image

from similarity.ingest.collection import Collection
from similarity.limits import HEADER_READS, MAX_FILTER_CHOICES
from similarity.storage.items import ItemTable
from similarity.storage.lance import connect

NUMBER, DATE, CHOICE, TEXT = "number", "date", "choice", "text"
FOLDER, FILE_TYPE, SIZE, MODIFIED = "folder", "file type", "size", "date modified"
WIDTH, HEIGHT, HAS_CAPTION, CATEGORY = "width (px)", "height (px)", "has caption", "category"
NONE = "(none)"  # a choice field's value where an item has none
TOP = "(top folder)"


@dataclass(frozen=True)
class Field:
    """One value per item: float64 (NaN = missing; dates in seconds since 1970, UTC) or text."""

    name: str
    kind: str  # NUMBER, DATE, CHOICE or TEXT
    values: np.ndarray  # (n items,)
    choices: tuple[str, ...] = ()  # CHOICE: distinct values, most common first
    counts: tuple[int, ...] = ()  # items per choice
    integer: bool = False  # NUMBER: every value whole

    @property
    def ranged(self) -> bool:
        return self.kind in (NUMBER, DATE)

    def bounds(self) -> tuple[float, float]:
        """(smallest, largest) value present."""
        present = self.values[~np.isnan(self.values)]
        return float(present.min()), float(present.max())

    def groups(self, items: np.ndarray, bins: int = 5, most: int = 12) -> list[str]:
        """A colour group per item of ``items``: its value (the ``most`` - 1 commonest, then "other"), or for
        numbers and dates one of ``bins`` equal ranges."""
        values = self.values[items]
        if not self.ranged:
            common = {v for v, _ in Counter(values.tolist()).most_common(most)}
            if len(common) == most:
                common = {v for v, _ in Counter(values.tolist()).most_common(most - 1)}
                return [v if v in common else "other" for v in values]
            return values.tolist()
        low, high = self.bounds()
        edges = np.linspace(low, high, bins + 1)
        names = [f"{_show(self, a)} – {_show(self, b)}" for a, b in zip(edges[:-1], edges[1:])]
        place = np.clip(np.searchsorted(edges, values, side="right") - 1, 0, bins - 1)
        return [NONE if np.isnan(v) else names[p] for v, p in zip(values, place)]


def _show(f: Field, value: float) -> str:
    if f.kind == DATE:
        return datetime.fromtimestamp(value, timezone.utc).strftime("%Y-%m-%d")
    return f"{value:,.0f}" if f.integer or abs(value) >= 100 else f"{value:.3g}"


@dataclass(frozen=True)
class Fields:
    """Every field of one collection, by name, in the order offered."""

    by_name: dict[str, Field]
    n: int  # items
    key: str  # what they were computed from (content, extra columns, index)
    root: str = ""  # indexed collections: the folder every path lies under (folders are relative to it)
    notes: tuple[str, ...] = field(default=())

    @property
    def names(self) -> list[str]:
        return list(self.by_name)

    def __getitem__(self, name: str) -> Field:
        return self.by_name[name]

    def __contains__(self, name: str) -> bool:
        return name in self.by_name


def collection_fields(collection: Collection) -> Fields:
    """The fields of ``collection`` (see the module's docstring); reads picture headers, never whole pictures."""
    items = collection.items
    pictures = [i for i, item in enumerate(items) if item.image_path is not None]
    sources = [item.source for item in items]  # indexed: the path as the item table holds it
    indexed = bool(collection.indexed_in and pictures)
    root = os.path.commonpath([os.path.dirname(sources[i]) for i in pictures]) if indexed else ""
    if root and pictures:
        folders = [os.path.relpath(os.path.dirname(s), root) for s in sources]
    else:
        folders = [PurePath(s).parent.as_posix() for s in sources]
    folder = [NONE] * len(items)
    kind = ["caption only"] * len(items)
    for i in pictures:
        folder[i] = TOP if folders[i] == "." else PurePath(folders[i]).as_posix()
        kind[i] = PurePath(sources[i]).suffix.lower().lstrip(".") or NONE
    size, mtime = _sizes_and_dates(collection, pictures)
    found = [
        choice_field(FOLDER, folder),
        choice_field(FILE_TYPE, kind),
        _number(SIZE, size),
        Field(MODIFIED, DATE, mtime),
    ]
    notes = []
    if len(pictures) <= HEADER_READS:
        width, height = _header_sizes(collection, pictures)
        found += [_number(WIDTH, width), _number(HEIGHT, height)]
    else:
        notes.append(f"Width and height are offered for up to {HEADER_READS:,} pictures (this has {len(pictures):,}).")
    found.append(choice_field(HAS_CAPTION, ["yes" if item.caption else "no" for item in items]))
    found.append(choice_field(CATEGORY, [item.label or NONE for item in items]))
    columns = list(dict.fromkeys(c for item in items for c, _ in item.extra))
    for column in columns:
        if column in {f.name for f in found}:
            continue
        values = [dict(item.extra).get(column, "") for item in items]
        found.append(_typed(column, values))
    useful = {f.name: f for f in found if _varies(f)}
    key = f"{collection.content_hash}/{collection.extras_hash}/{collection.indexed_in or ''}"
    return Fields(useful, len(items), key, root, tuple(notes))


def _varies(f: Field) -> bool:
    if f.ranged:  # dates are picked by day: a field within one day cannot narrow anything
        present = f.values[~np.isnan(f.values)]
        span = float(present.max() - present.min()) if len(present) else 0.0
        return span >= 86_400 if f.kind == DATE else span > 0
    return f.kind == TEXT or len(f.choices) > 1


def _sizes_and_dates(collection: Collection, pictures: list[int]) -> tuple[np.ndarray, np.ndarray]:
    size, mtime = np.full(len(collection.items), np.nan), np.full(len(collection.items), np.nan)
    seen = ItemTable(connect(collection.indexed_in), collection.name).seen() if collection.indexed_in else {}
    for i in pictures:
        item = collection.items[i]
        if collection.indexed_in:
            size[i], mtime[i] = seen.get(item.source, (np.nan, np.nan))
            continue
        try:
            stat = item.image_path.stat()
        except OSError:
            continue
        size[i], mtime[i] = stat.st_size, stat.st_mtime
    return size, mtime


def _header_sizes(collection: Collection, pictures: list[int]) -> tuple[np.ndarray, np.ndarray]:
    width, height = np.full(len(collection.items), np.nan), np.full(len(collection.items), np.nan)
    for i in pictures:
        try:
            with Image.open(collection.items[i].image_path) as im:  # reads the header only
                width[i], height[i] = im.size
        except (OSError, ValueError, SyntaxError):
            continue
    return width, height


def _number(name: str, values: np.ndarray) -> Field:
    present = values[~np.isnan(values)]
    return Field(name, NUMBER, values, integer=bool(np.all(present == np.round(present))))


def choice_field(name: str, values: list[str]) -> Field:
    counts = Counter(values)
    array = np.array(values, dtype=object)
    if len(counts) > MAX_FILTER_CHOICES:
        return Field(name, TEXT, array)
    ranked = counts.most_common()
    return Field(name, CHOICE, array, tuple(v for v, _ in ranked), tuple(n for _, n in ranked))


def _typed(name: str, values: list[str]) -> Field:
    """A CSV column: numbers if every value given is one, else dates if every one is, else words."""
    given = [v for v in values if v]
    numbers = [_float(v) for v in given]
    if given and all(n is not None for n in numbers):
        return _number(name, np.array([_float(v) if v else np.nan for v in values], dtype=np.float64))
    dates = [_date(v) for v in given]
    if given and all(d is not None for d in dates):
        return Field(name, DATE, np.array([_date(v) if v else np.nan for v in values], dtype=np.float64))
    return choice_field(name, [v or NONE for v in values])


def _float(text: str) -> float | None:
    try:
        value = float(text) if text.strip() else None
    except ValueError:
        return None
    return value if value is not None and np.isfinite(value) else None


def _date(text: str) -> float | None:
    if "-" not in text:
        return None
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)).timestamp()
