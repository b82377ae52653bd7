"""Collections: images and/or captions to search, from folders, zips, uploads.

An :class:`Item` is one picture, one caption, or a picture with its caption;
its id is a content hash, so the same picture loaded twice is stored once.
Loaders never raise on a single bad file: they keep the good items and list
each bad one in ``Collection.problems`` as "file: reason".
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import zipfile
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path, PurePosixPath

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

ROOT = Path(__file__).resolve().parent.parent
DEMO_DIR = ROOT / "data" / "demo"
DEMO_VECTORS = DEMO_DIR / "vectors.npz"  # the demo embedded by the bundled model (python -m similarity.embed)
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".gif", ".bmp", ".tif", ".tiff"}
CAPTION_SUFFIXES = {".csv", ".json"}
MAX_IMAGE_PIXELS = 64_000_000  # larger images are refused as possible decompression bombs
MAX_ZIP_BYTES = 2_000_000_000  # uncompressed size of an imported zip
MAX_ZIP_FILES = 50_000
MAX_CAPTION_CHARS = 1000  # longer captions are cut (the text tower reads only ~32 tokens anyway)
MAX_ZIP_RATIO = 100  # pictures barely compress; 1 MB unpacking to 1 GB is a zip bomb
ALLOWED_FOLDERS = "CLIP_EXPLORER_ALLOWED_FOLDERS"  # the host's list of loadable server folders


class BadInput(ValueError):
    """A file that cannot be used; the message names the file and the reason."""


@dataclass(frozen=True)
class Item:
    id: str  # content hash of the image bytes, or of the caption if text-only
    source: str  # file name shown to users
    image_path: Path | None = None
    caption: str | None = None
    label: str | None = None  # ground-truth category where known (demo: emoji group)


@dataclass
class Collection:
    name: str
    items: list[Item] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # "file: reason", one per skipped file
    duplicates: list[str] = field(default_factory=list)  # "file = earlier file"
    indexed_in: str | None = None  # the LanceDB index holding its vectors (python -m similarity.index)

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


def content_id(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:20]


def text_id(caption: str) -> str:
    return "t" + content_id(caption.encode("utf-8"))[1:]


# --- images ----------------------------------------------------------------


def open_image(source: Path | bytes, name: str | None = None, fit: int | None = None) -> Image.Image:
    """Decode an image (file path or bytes) to RGB, upright (EXIF), first frame.

    ``fit``: the size the model looks at. A JPEG is then decoded at the
    smallest scale that still covers it (1/2, 1/4 or 1/8, inside the
    decoder: a photo decodes 2-8x faster; the model shrinks it to this size
    anyway). Raises :class:`BadInput` naming the file on anything unusable.
    """
    name = name or getattr(source, "name", "image")
    Image.MAX_IMAGE_PIXELS = MAX_IMAGE_PIXELS
    try:
        if (len(source) if isinstance(source, bytes) else source.stat().st_size) == 0:
            raise BadInput(f"{name}: empty file (0 bytes)")
        with Image.open(io.BytesIO(source) if isinstance(source, bytes) else source) as im:
            if im.width * im.height > MAX_IMAGE_PIXELS:  # Pillow only warns below twice its limit
                raise BadInput(
                    f"{name}: image too large ({im.width:,} x {im.height:,} pixels); limit is {MAX_IMAGE_PIXELS:,}"
                )
            if fit and im.format == "JPEG":
                im.draft("RGB", (fit, fit))  # both sides stay >= fit
            im.seek(0)  # GIF/TIFF: first frame
            im.load()
            im = ImageOps.exif_transpose(im)
            return _to_rgb(im)
    except BadInput:
        raise
    except Image.DecompressionBombError as err:
        raise BadInput(f"{name}: image too large ({err}); limit is {MAX_IMAGE_PIXELS:,} pixels") from err
    except UnidentifiedImageError as err:
        raise BadInput(f"{name}: not an image Pillow can read") from err
    except (OSError, SyntaxError, ValueError) as err:
        raise BadInput(f"{name}: corrupt or truncated image ({err})") from err


def thumbnail_png(path: Path, size: int) -> bytes:
    """A picture as PNG bytes at most ``size`` px wide and high (upright, RGB)."""
    picture = open_image(Path(path))
    picture.thumbnail((size, size), Image.LANCZOS)
    out = io.BytesIO()
    picture.save(out, "PNG", optimize=False)
    return out.getvalue()


def _to_rgb(im: Image.Image) -> Image.Image:
    """RGB on white for any mode: palette, alpha, CMYK, 16-bit, greyscale."""
    if im.mode in ("I;16", "I;16B", "I;16L", "I"):
        im = im.point(lambda v: v / 256).convert("L")
    if im.mode == "P":
        im = im.convert("RGBA")
    if im.mode in ("RGBA", "LA", "PA"):
        rgba = im.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    return im.convert("RGB")


def plain_background_share(paths: list[Path], sample: int = 40, seed: int = 0) -> float:
    """Share of (a seeded sample of) pictures drawn on a plain light background.

    Emoji and icons are; photos almost never are. The bundled model saw only
    emoji, so a low share warns that it will not understand these pictures.
    A picture counts when 90% of its border pixels are near-white (or
    transparent, which :func:`open_image` turns white).
    """
    import random

    paths = list(paths)
    picked = random.Random(seed).sample(paths, min(sample, len(paths)))
    plain = 0
    for path in picked:
        try:
            im = open_image(Path(path)).resize((64, 64))
        except BadInput:
            continue
        pixels = np.asarray(im)
        border = np.concatenate([pixels[0], pixels[-1], pixels[:, 0], pixels[:, -1]])
        plain += (border.min(axis=1) > 225).mean() >= 0.9
    return plain / len(picked) if picked else 1.0


# --- captions --------------------------------------------------------------


def clean_caption(text: str) -> str:
    """A caption as shown and embedded: control characters become spaces, runs of spaces one.

    >>> clean_caption("a\\tred\\x00 apple\\n")
    'a red apple'
    """
    return " ".join("".join(ch if ch.isprintable() else " " for ch in text).split())


def read_captions(name: str, data: bytes) -> dict[str, str]:
    """File name -> caption from a CSV (``file,caption`` columns) or JSON object."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise BadInput(f"{name}: not UTF-8 text (byte {err.start}); save it as UTF-8") from err
    if name.lower().endswith(".json"):
        try:
            obj = json.loads(text)
        except json.JSONDecodeError as err:
            raise BadInput(f"{name}: malformed JSON ({err.msg} at line {err.lineno})") from err
        if not isinstance(obj, dict) or not all(isinstance(v, str) for v in obj.values()):
            raise BadInput(f'{name}: expected a JSON object {{"file name": "caption", ...}}')
        return {str(k): v.strip() for k, v in obj.items() if v.strip()}
    csv.field_size_limit(max(csv.field_size_limit(), len(text) + 1))  # a long caption is cut later, not refused
    try:
        rows = list(csv.reader(io.StringIO(text)))
    except csv.Error as err:
        raise BadInput(f"{name}: not a readable CSV ({err})") from err
    if rows and [c.strip().lower() for c in rows[0][:2]] == ["file", "caption"]:
        rows = rows[1:]
    out = {}
    for number, row in enumerate(rows, start=1):
        if not row:
            continue
        if len(row) < 2:
            raise BadInput(f"{name}: line {number} has no caption column (expected file,caption)")
        if row[1].strip():
            out[row[0].strip()] = row[1].strip()
    return out


# --- loaders ---------------------------------------------------------------


def allowed_folders() -> list[Path]:
    """Server folders the host lets visitors load (``$CLIP_EXPLORER_ALLOWED_FOLDERS``, ``:``-separated)."""
    return [Path(p).expanduser().resolve() for p in os.environ.get(ALLOWED_FOLDERS, "").split(os.pathsep) if p]


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
    real = Path(folder).expanduser().resolve()
    if not _inside(real, roots):
        raise BadInput(
            f"{folder}: outside the folders the host allows ({', '.join(map(str, roots))}; set by {ALLOWED_FOLDERS})"
        )
    if not real.is_dir():
        raise BadInput(f"{folder}: no such folder")
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


def load_files(name: str, files: list[tuple[str, Path]], captions: dict[str, str] | None = None) -> Collection:
    """Named files (e.g. uploads saved to disk) plus optional typed captions."""
    return _build(name, files, captions)


def load_captions_only(name: str, captions: list[str]) -> Collection:
    """A text-only corpus: each line a caption."""
    return _build(name, [], {f"line {i + 1}": c for i, c in enumerate(captions) if c.strip()})


def load_zip(path: Path, extract_to: Path, name: str | None = None, max_bytes: int = MAX_ZIP_BYTES) -> Collection:
    """Images and caption files from a zip, refusing unsafe or oversized ones.

    Sizes, entry count and compression ratio are checked before anything is
    written; ``max_bytes`` caps what it may unpack (e.g. a visitor's quota left).
    """
    files, problems = unpack_zip(path, extract_to, max_bytes)
    collection = _build(name or Path(path).stem, files)
    collection.problems[:0] = problems
    return collection


def unpack_zip(
    path: Path, extract_to: Path, max_bytes: int = MAX_ZIP_BYTES
) -> tuple[list[tuple[str, Path]], list[str]]:
    """Safely unpack a zip: ([(name in the zip, unpacked file)], ["member: reason skipped"]).

    Raises :class:`BadInput` (nothing written) for an unreadable, oversized
    or bomb-like archive.
    """
    path = Path(path)
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as err:
        raise BadInput(f"{path.name}: not a readable zip file ({err})") from err
    with archive:
        members = [m for m in archive.infolist() if not m.is_dir()]
        if len(members) > MAX_ZIP_FILES:
            raise BadInput(f"{path.name}: {len(members):,} files; the limit is {MAX_ZIP_FILES:,}")
        total = sum(m.file_size for m in members)
        if total > max_bytes:
            raise BadInput(f"{path.name}: unpacks to {total / 1e9:.2f} GB; the limit is {max_bytes / 1e9:.2f} GB")
        packed = sum(m.compress_size for m in members)
        if total > 1_000_000 and total > MAX_ZIP_RATIO * max(packed, 1):
            raise BadInput(
                f"{path.name}: {packed / 1e6:.1f} MB that unpack to {total / 1e6:,.0f} MB "
                f"({total / max(packed, 1):,.0f}:1) look like a zip bomb; nothing was unpacked"
            )
        problems, files = [], []
        for member in members:
            rel = PurePosixPath(member.filename)
            if rel.is_absolute() or ".." in rel.parts or "\\" in member.filename:
                problems.append(f"{member.filename}: unsafe path in zip (outside the archive), skipped")
                continue
            if (member.external_attr >> 16) & 0o170000 == 0o120000:
                problems.append(f"{member.filename}: a symbolic link in the zip, skipped")
                continue
            if rel.name.startswith(".") or "__MACOSX" in rel.parts:
                continue
            target = extract_to / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            with archive.open(member) as src:
                target.write_bytes(src.read(member.file_size + 1)[: member.file_size])
            files.append((rel.as_posix(), target))
    return files, problems


def remove_old_unpacked(root: Path, max_age_s: float | None = None) -> int:
    """Delete unpacked zips (``zip-*`` folders) older than ``max_age_s``; returns how many."""
    import shutil
    import time

    from similarity.limits import UNPACKED_MAX_AGE_S

    max_age_s = UNPACKED_MAX_AGE_S if max_age_s is None else max_age_s
    removed = 0
    for folder in Path(root).glob("zip-*"):
        try:
            if time.time() - folder.stat().st_mtime > max_age_s:
                shutil.rmtree(folder)
                removed += 1
        except OSError:
            pass  # another session removed it, or it is in use
    return removed


def _build(name: str, files: list[tuple[str, Path]], captions: dict[str, str] | None = None) -> Collection:
    collection = Collection(name)
    captions = dict(captions or {})
    images = []
    for rel, path in files:
        suffix = Path(rel).suffix.lower()
        if suffix in CAPTION_SUFFIXES:
            try:
                captions.update(read_captions(rel, path.read_bytes()))
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
    by_key = _caption_lookup(captions)
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
        items.append(Item(content_id(path.read_bytes()), rel, path, captions.get(caption_key) if caption_key else None))
    for key, caption in captions.items():
        if key in used:
            continue
        if Path(key).suffix.lower() in IMAGE_SUFFIXES:
            collection.problems.append(f"{key}: captioned, but no such image was loaded; kept as a caption only")
        items.append(Item(text_id(caption), key, None, caption))
    return Collection(name).merged(Collection(name, items, collection.problems))


def _caption_lookup(captions: dict[str, str]) -> dict[str, str]:
    """Match captions to images by relative path or bare file name."""
    out = {}
    for key in captions:
        out.setdefault(key, key)
        out.setdefault(PurePosixPath(key).name, key)
    return out


def load_demo(folder: Path = DEMO_DIR) -> Collection:
    """The bundled offline demo: emoji pictures with names and emoji groups."""
    index = folder / "captions.csv"
    if not index.exists():
        raise BadInput(f"{index} is missing: run `python -m training.emoji_data --demo {folder}`")
    collection = Collection("Emoji demo")
    with open(index, encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            path = folder / row["file"]
            collection.items.append(
                Item(content_id(path.read_bytes()), row["file"], path, row["caption"], row["group"])
            )
    return collection
