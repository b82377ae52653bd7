"""Reading one file: a picture (decoded safely, upright, RGB) or a captions file.

Every reader raises :class:`BadInput` naming the file and the reason, so a
loader can skip the file and keep the rest.
"""

from __future__ import annotations

import csv
import io
import json
import random
import re
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from similarity.limits import MAX_JSON_DEPTH, MAX_JSON_DIGITS

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".gif", ".bmp", ".tif", ".tiff"}
CAPTION_SUFFIXES = {".csv", ".json"}
MAX_IMAGE_PIXELS = 64_000_000  # larger images are refused as possible decompression bombs
MAX_CAPTION_CHARS = 1000  # longer captions are cut (the text tower reads only ~32 tokens anyway)


class BadInput(ValueError):
    """A file that cannot be used; the message names the file and the reason."""


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
        raise BadInput(f"{name}: not a picture this app can read (JPEG, PNG, WebP, GIF, BMP or TIFF)") from err
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


def on_plain_background(picture: Image.Image) -> bool:
    """Drawn on a plain light background, as emoji and icons are (photos almost never are).

    True when 90% of the border pixels are near-white (or transparent,
    which :func:`open_image` turns white).
    """
    pixels = np.asarray(picture.convert("RGB").resize((64, 64)))
    border = np.concatenate([pixels[0], pixels[-1], pixels[:, 0], pixels[:, -1]])
    return bool((border.min(axis=1) > 225).mean() >= 0.9)


def plain_background_count(paths: list[Path], sample: int = 40, seed: int = 0) -> tuple[int, int]:
    """(pictures on a plain background, pictures checked) in a seeded sample of readable ``paths``.

    The bundled model saw only emoji, so few plain backgrounds warn that it
    will not understand these pictures.
    """
    paths = list(paths)
    plain = checked = 0
    for path in random.Random(seed).sample(paths, min(sample, len(paths))):
        try:
            plain += on_plain_background(open_image(Path(path)))
        except BadInput:
            continue
        checked += 1
    return plain, checked


def clean_caption(text: str) -> str:
    """A caption as shown and embedded: control characters become spaces, runs of spaces one.

    >>> clean_caption("a\\tred\\x00 apple\\n")
    'a red apple'
    """
    return " ".join("".join(ch if ch.isprintable() else " " for ch in text).split())


MAX_EXTRA_COLUMNS = 16  # a CSV's columns beyond file,caption kept per item (filter fields); the rest are ignored
MAX_EXTRA_CHARS = 200  # an extra column's value is cut to this


def read_captions(name: str, data: bytes) -> dict[str, str]:
    """File name -> caption from a CSV (``file,caption`` columns) or JSON object."""
    return read_caption_table(name, data)[0]


def read_caption_table(name: str, data: bytes) -> tuple[dict[str, str], dict[str, dict[str, str]]]:
    """(file name -> caption, file name -> {column: value}) from a CSV or JSON captions file.

    A CSV whose header starts ``file,caption`` may carry more columns (a
    category, a price, a date): their values are kept per file, as text, for
    filtering; at most :data:`MAX_EXTRA_COLUMNS` of them, each value cut to
    :data:`MAX_EXTRA_CHARS`. JSON and header-less CSVs carry captions only.
    """
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise BadInput(f"{name}: not UTF-8 text (byte {err.start}); save it as UTF-8") from err
    if name.lower().endswith(".json"):
        if (depth := _json_depth(text)) > MAX_JSON_DEPTH:
            raise BadInput(f"{name}: JSON nested {depth:,} deep; the limit is {MAX_JSON_DEPTH}")
        try:
            obj = json.loads(text, parse_int=_json_number, parse_float=_json_number)
        except json.JSONDecodeError as err:
            raise BadInput(f"{name}: malformed JSON ({err.msg} at line {err.lineno})") from err
        except ValueError as err:  # from _json_number
            raise BadInput(f"{name}: {err}") from err
        if not isinstance(obj, dict) or not all(isinstance(v, str) for v in obj.values()):
            raise BadInput(f'{name}: expected a JSON object {{"file name": "caption", ...}}')
        return {str(k): v.strip() for k, v in obj.items() if v.strip()}, {}
    csv.field_size_limit(max(csv.field_size_limit(), len(text) + 1))  # a long caption is cut later, not refused
    try:
        rows = list(csv.reader(io.StringIO(text)))
    except csv.Error as err:
        raise BadInput(f"{name}: not a readable CSV ({err})") from err
    columns: dict[int, str] = {}
    if rows and [c.strip().lower() for c in rows[0][:2]] in (["file", "caption"], ["path", "caption"]):
        for i, column in enumerate(rows[0][2:], start=2):
            column = clean_caption(column)[:MAX_EXTRA_CHARS]
            if column and column.lower() not in {"file", "caption"} and column not in columns.values():
                columns[i] = column
            if len(columns) == MAX_EXTRA_COLUMNS:
                break
        rows = rows[1:]
    out, extras = {}, {}
    for number, row in enumerate(rows, start=1):
        if not row:
            continue
        if len(row) < 2:
            raise BadInput(f"{name}: line {number} has no caption column (expected file,caption)")
        if row[1].strip():
            out[row[0].strip()] = row[1].strip()
        values = {c: clean_caption(row[i])[:MAX_EXTRA_CHARS] for i, c in columns.items() if i < len(row)}
        if any(values.values()):
            extras[row[0].strip()] = {c: v for c, v in values.items() if v}
    return out, extras


def _json_depth(text: str) -> int:
    """How deep JSON text nests, counted before parsing (Python's parser fails past ~1,000 levels)."""
    brackets = re.sub(r"[^][{}]", "", re.sub(r'"(?:[^"\\]|\\.)*"', "", text))  # strings hold no nesting
    depth = deepest = 0
    for bracket in brackets:
        depth += 1 if bracket in "[{" else -1
        deepest = max(deepest, depth)
    return deepest


def _json_number(digits: str) -> float:
    """A JSON number, unless too long to be anything but an attack (Python refuses ints over 4,300 digits)."""
    if len(digits) > MAX_JSON_DIGITS:
        raise ValueError(f"a number of {len(digits):,} characters; the limit is {MAX_JSON_DIGITS}")
    return float(digits)
