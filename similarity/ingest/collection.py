"""Collections: pictures and/or captions to search, from folders, zips, uploads, an index.

An :class:`Item` is one picture, one caption, or a picture with its caption;
its id is a content hash, so the same picture loaded twice is stored once.
Loaders never raise on a single bad file: they keep the good items and list
each bad one in ``Collection.problems`` as "file: reason".
"""

from __future__ import annotations

import csv
import hashlib
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from similarity.ingest.budget import DiskBudget, Quota
from similarity.ingest.files import (
    CAPTION_SUFFIXES,
    IMAGE_SUFFIXES,
    MAX_CAPTION_CHARS,
    BadInput,
    clean_caption,
    open_image,
    read_caption_table,
)
from similarity.ingest.zips import unpack_zip
from similarity.limits import MAX_ZIP_BYTES
from similarity.storage.items import EXTRA, ItemTable, extra_columns
from similarity.storage.keys import content_id, text_id
from similarity.storage.lance import connect
from similarity.storage.paths import ALLOWED_FOLDERS, DEMO_DIR, allowed_folders, index_uri


@dataclass(frozen=True)
class Item:
    id: str  # content hash of the image bytes, or of the caption if text-only
    source: str  # file name shown to users
    image_path: Path | None = None
    caption: str | None = None
    label: str | None = None  # ground-truth category where known (demo: emoji group)
    extra: tuple[tuple[str, str], ...] = ()  # (column, value) from a captions CSV's further columns, as text


@dataclass
class Collection:
    name: str
    items: list[Item] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # "file: reason", one per skipped file
    duplicates: list[str] = field(default_factory=list)  # "file = earlier file"
    indexed_in: str | None = None  # the LanceDB index holding its vectors (python -m similarity.ingest.cli)

    @cached_property
    def content_hash(self) -> str:
        """Identifies what is in the collection (items, captions, labels), not its name.

        Server-wide caches key on it, so two sessions with the same pictures
        share one space, map and clustering. Loaders finish building
        ``items`` before anyone asks.
        """
        digest = hashlib.sha256()
        for item in self.items:
            digest.update(f"{item.id}\t{item.caption or ''}\t{item.label or ''}\n".encode())
        return digest.hexdigest()[:20]

    @cached_property
    def extras_hash(self) -> str:
        """Identifies the items' further CSV columns (filter fields), which the content hash leaves out."""
        digest = hashlib.sha256()
        for item in self.items:
            digest.update(f"{item.extra}\n".encode())
        return digest.hexdigest()[:20]

    @property
    def n_images(self) -> int:
        return sum(item.image_path is not None for item in self.items)

    @property
    def n_captions(self) -> int:
        return sum(item.caption is not None for item in self.items)

    def merged(self, other: Collection) -> Collection:
        """This collection plus ``other``'s new items (duplicates reported)."""
        out = Collection(
            self.name,
            list(self.items),
            self.problems + other.problems,
            self.duplicates + other.duplicates,
            self.indexed_in or other.indexed_in,
        )
        seen = {item.id: item.source for item in out.items}
        for item in other.items:
            if item.id in seen:
                out.duplicates.append(f"{item.source} = {seen[item.id]}")
            else:
                seen[item.id] = item.source
                out.items.append(item)
        return out


def _inside(path: Path, roots: list[Path]) -> bool:
    return any(path == root or root in path.parents for root in roots)


def load_folder(folder: Path, name: str | None = None, allowed: list[Path] | None = None) -> Collection:
    """Every image under ``folder``; captions from any .csv/.json file in it.

    Only inside the ``allowed`` folders (default: :func:`allowed_folders`),
    checked after resolving symbolic links and ``..``; files that link out of
    them are skipped and named.
    """
    roots = [Path(r).resolve() for r in (allowed_folders() if allowed is None else allowed)]
    if not roots:
        raise BadInput(
            f"Loading folders from the server is off. The host can allow some with {ALLOWED_FOLDERS}="
            "/path/one:/path/two before starting the app."
        )
    shown = str(folder).replace("\0", "\\x00")  # the operating system cannot even look such a name up
    if shown != str(folder):
        raise BadInput(f"{shown}: a folder name cannot contain a NUL byte (\\x00)")
    try:
        real = Path(folder).expanduser().resolve()
        if not _inside(real, roots):
            raise BadInput(
                f"{folder}: outside the folders the host allows ({', '.join(map(str, roots))}; "
                f"set by {ALLOWED_FOLDERS})"
            )
        if not real.is_dir():
            raise BadInput(f"{folder}: no such folder")
    except RuntimeError as err:  # Python before 3.13 says a loop this way (3.13: OSError, too many levels)
        raise BadInput(f"{folder}: a symbolic link loop, cannot be opened") from err
    except OSError as err:  # a name too long, a link loop, no permission
        raise BadInput(f"{folder}: cannot be opened ({err.strerror or err})") from err
    files, outside = [], []
    for p in sorted(real.rglob("*")):
        if p.is_file():
            (files if _inside(p.resolve(), roots) else outside).append(p)
    collection = _build(name or real.name, [(p.relative_to(real).as_posix(), p) for p in files])
    collection.problems[:0] = [
        f"{p.relative_to(real).as_posix()}: links outside the allowed folders, skipped" for p in outside
    ]
    return collection


def save_uploads(files: list[tuple[str, bytes]], folder: Path) -> list[tuple[str, Path]]:
    """Write uploaded files under ``folder`` by content hash; returns (name, path)."""
    folder.mkdir(parents=True, exist_ok=True)
    saved = []
    for name, data in files:
        path = folder / f"{content_id(data)}{Path(name).suffix.lower()}"
        if not path.exists():
            path.write_bytes(data)
        saved.append((name, path))
    return saved


def load_files(
    name: str,
    files: list[tuple[str, Path]],
    captions: dict[str, str] | None = None,
    extras: dict[str, dict[str, str]] | None = None,
) -> Collection:
    """Named files (e.g. uploads saved to disk) plus optional typed captions and a CSV's further columns by file."""
    return _build(name, files, captions, extras)


def load_captions_only(name: str, captions: list[str]) -> Collection:
    """A text-only corpus: each line a caption."""
    return _build(name, [], {f"line {i + 1}": c for i, c in enumerate(captions) if c.strip()})


def load_zip(
    source: Path | BinaryIO,
    extract_to: Path,
    name: str | None = None,
    max_bytes: int = MAX_ZIP_BYTES,
    quota: Quota | None = None,
    budget: DiskBudget | None = None,
) -> Collection:
    """Images and caption files from a zip (a path, or an uploaded file), refusing unsafe or oversized ones.

    Sizes, entry count, compression ratio, the visitor's ``quota`` and the
    server's disk ``budget`` are checked before anything is written
    (:func:`similarity.ingest.zips.unpack_zip`).
    """
    files, problems = unpack_zip(source, extract_to, max_bytes, quota, budget)
    collection = _build(name or Path(getattr(source, "name", None) or source).stem, files)
    collection.problems[:0] = problems
    return collection


def _build(
    name: str,
    files: list[tuple[str, Path]],
    captions: dict[str, str] | None = None,
    extras: dict[str, dict[str, str]] | None = None,
) -> Collection:
    collection = Collection(name)
    captions = dict(captions or {})
    extras = dict(extras or {})
    images = []
    for rel, path in files:
        suffix = Path(rel).suffix.lower()
        if suffix in CAPTION_SUFFIXES:
            try:
                found, more = read_caption_table(rel, path.read_bytes())
                captions.update(found)
                extras.update(more)
            except BadInput as err:
                collection.problems.append(str(err))
        elif suffix in IMAGE_SUFFIXES:
            images.append((rel, path))
        else:
            collection.problems.append(f"{rel}: not an image or caption file ({suffix or 'no extension'}), skipped")
    for key, caption in list(captions.items()):
        cleaned = clean_caption(caption)
        if len(cleaned) > MAX_CAPTION_CHARS:
            collection.problems.append(f"{key}: caption of {len(caption):,} characters cut to {MAX_CAPTION_CHARS:,}")
        if cleaned:
            captions[key] = cleaned[:MAX_CAPTION_CHARS]
        else:
            del captions[key]
    by_key, extra_key = _caption_lookup(captions), _caption_lookup(extras)
    used = set()
    items = []
    for rel, path in images:
        try:
            open_image(path, rel)  # refuse bad files now, naming them
        except BadInput as err:
            collection.problems.append(str(err))
            continue
        caption_key = by_key.get(rel) or by_key.get(Path(rel).name)
        if caption_key:
            used.add(caption_key)
        caption = captions.get(caption_key) if caption_key else None
        extra = extras.get(extra_key.get(rel) or extra_key.get(Path(rel).name) or "", {})
        items.append(Item(content_id(path.read_bytes()), rel, path, caption, extra=tuple(extra.items())))
    for key, caption in captions.items():
        if key in used:
            continue
        if Path(key).suffix.lower() in IMAGE_SUFFIXES:
            collection.problems.append(f"{key}: captioned, but no such image was loaded; kept as a caption only")
        items.append(Item(text_id(caption), key, None, caption, extra=tuple(extras.get(key, {}).items())))
    return Collection(name).merged(Collection(name, items, collection.problems))


def _caption_lookup(captions: dict[str, str]) -> dict[str, str]:
    """Match captions to images by relative path or bare file name."""
    out = {}
    for key in captions:
        out.setdefault(key, key)
        out.setdefault(PurePosixPath(key).name, key)
    return out


DEMO_COLUMNS = ("subgroup", "keywords")  # the demo's further columns offered as filter fields


def load_listed(folder: Path, name: str, label: str, columns: tuple[str, ...], how: str) -> Collection:
    """A bundled collection listed by its ``captions.csv``: file, caption, the ``label`` column (its category)
    and further ``columns`` offered as filter fields; ``how`` says how to build it when it is missing.
    """
    index = folder / "captions.csv"
    if not index.exists():
        raise BadInput(f"{index} is missing: run `{how}`")
    collection = Collection(name)
    with open(index, encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            path = folder / row["file"]
            extra = tuple((c, row[c]) for c in columns if row.get(c))
            collection.items.append(
                Item(content_id(path.read_bytes()), row["file"], path, row["caption"], row[label], extra)
            )
    return collection


def load_demo(folder: Path = DEMO_DIR) -> Collection:
    """The bundled offline demo: emoji pictures with names and emoji groups (subgroup, keywords: filter fields)."""
    return load_listed(folder, "Emoji demo", "group", DEMO_COLUMNS, f"python -m training.demo --demo {folder}")


def load_indexed(name: str, uri: str | None = None):
    """An indexed collection as a :class:`~similarity.collection.Collection` (no file is read)."""
    uri = uri or index_uri()
    rows = ItemTable(connect(uri), name).rows().to_pylist()
    if not rows:
        raise ValueError(f"no indexed collection called {name!r} in {uri}")
    collection = Collection(name, indexed_in=uri)
    for row in rows:
        path = Path(row["path"]) if row["id"] else None
        item_id = row["id"] or text_id(row["caption"])
        collection.items.append(Item(item_id, row["path"], path, row["caption"], extra=extra_columns(row[EXTRA])))
    return Collection(name, indexed_in=uri).merged(collection)
