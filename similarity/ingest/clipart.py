"""The clipart demo: public-domain drawings from Debian's ``openclipart-svg``, rendered once at install.

``python -m similarity.ingest.clipart`` (run by ``make``) reads every SVG
under :data:`~similarity.storage.paths.CLIPART_SOURCE` once (a drawing filed
in several folders counts once), renders it to a 128 px PNG on white and
writes ``captions.csv``: the file, its caption, its category (top folder),
its folder below that, and its keywords. ``captions.csv`` is written last,
so a half-finished build is never read as a collection.

Captions are the drawings' titles, cleaned: the authors' names (from the
file's own metadata) are taken out of titles and file names, and a title
shared by many unrelated files (an icon theme's name, "card") gives way to
the file name's words. The deepest folder is added in brackets where the
title does not already say it ("cigno (birds)"), because many titles are
short or not English.
"""

from __future__ import annotations

import csv
import html
import io
import re
import shutil
import signal
import sys
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import cairosvg
from PIL import Image

from similarity.ingest.collection import Collection, load_listed
from similarity.ingest.files import BadInput
from similarity.storage.keys import content_id
from similarity.storage.paths import CLIPART_DIR, CLIPART_SOURCE

SIZE = 128  # px, the rendered pictures' longer side
MARGIN = 10  # px of white around each drawing: the border a model checks for a plain background stays plain
RENDER_TIMEOUT_S = 20  # one drawing; a pathological SVG is skipped, not waited for
SHARED_TITLE = 4  # a title on this many files with different names is a set's name, not the drawing's
SAME_CAPTION = 3  # drawings kept per caption: 1,375 "star (stars)" variants would crowd out the rest
COLUMNS = ("folder", "keywords")  # further columns offered as filter fields
NOISE_WORDS = {"svg", "icon", "icons", "clipart", "clip", "art", "theme", "hash", "the", "by", "and", "of"}


@dataclass(frozen=True)
class Drawing:
    svg: Path
    category: str  # its top folder ("animals")
    folder: str  # the folders below ("mammals/big_cats")
    title: str
    authors: frozenset[str]  # lower-case words of its authors' names
    keywords: tuple[str, ...]


def _words(text: str) -> list[str]:
    """Lower-case words of a title or file name: camelCase, _ and - split, numbers and noise dropped."""
    text = re.sub(r"([a-z])([A-Z])", r"\1 \2", text)
    return [w for w in re.split(r"[^a-z]+", text.lower()) if len(w) > 1 and w not in NOISE_WORDS]


def _by_author(word: str, authors: frozenset[str]) -> bool:
    """A word of an author's name, or its start as file names cut it ("desig" of "design")."""
    return any(a == word or (len(word) >= 2 and a.startswith(word)) for a in authors)


def _read(svg: Path, root: Path, data: bytes) -> Drawing:
    text = data.decode("utf-8", errors="replace")
    titles = [html.unescape(t).strip() for t in re.findall(r"<dc:title>([^<]*)</dc:title>", text)]
    agents = re.findall(r"<cc:Agent[^>]*>(.*?)</cc:Agent>", text, flags=re.S)
    names = [html.unescape(n) for block in agents for n in re.findall(r"<dc:title>([^<]*)</dc:title>", block)]
    authors = frozenset(w for n in names for w in _words(n))
    title = next((t for t in titles if t and t not in names), "")
    title = re.sub(r"^clipart by .*? - ", "", title, flags=re.I)
    listed = (k.strip() for k in re.findall(r"<rdf:li>([^<]*)</rdf:li>", text))
    keywords = tuple(dict.fromkeys(k for k in listed if k and not all(w in authors for w in _words(k))))
    parts = svg.relative_to(root).parts
    return Drawing(svg, parts[0], "/".join(parts[1:-1]), title, authors, keywords)


def caption_of(drawing: Drawing, shared: set[str]) -> str:
    """The drawing's title without its authors (its file name's words when the title is a set's name)."""
    stem = [w for w in _words(drawing.svg.stem) if not _by_author(w, drawing.authors)]
    title = [w for w in _words(drawing.title) if not _by_author(w, drawing.authors)]
    words = stem if (drawing.title in shared or not title) and stem else title or stem
    caption = " ".join(words) or drawing.category.replace("_", " ")
    # the deepest folder that adds a word ("ornamental" in cards/ornamental -> "cards"); "unsorted" adds none
    for where in reversed((drawing.category, *drawing.folder.split("/"))):
        leaf = [w for w in _words(where) if w not in words and where != "unsorted"]
        if leaf:
            return f"{caption} ({' '.join(leaf)})"
    return caption


def _render(svg: Path) -> bytes | str:
    """A PNG of the drawing cropped to what is drawn, centred in SIZE x SIZE on white; else why not.

    A drawing without a size (some road signs) is drawn on a 1,024 px page and cropped the same way.
    """

    def too_slow(*_):
        raise TimeoutError(f"took over {RENDER_TIMEOUT_S} s")

    signal.signal(signal.SIGALRM, too_slow)
    signal.alarm(RENDER_TIMEOUT_S)
    try:
        try:
            png = cairosvg.svg2png(url=str(svg), output_width=4 * SIZE, unsafe=False)
        except ValueError:  # "The SVG size is undefined"
            png = cairosvg.svg2png(url=str(svg), parent_width=1024, parent_height=1024, unsafe=False)
        picture = Image.open(io.BytesIO(png)).convert("RGBA")
    except Exception as err:  # noqa: BLE001 - any renderer failure skips this one drawing
        return f"{type(err).__name__}: {err}"[:120]
    finally:
        signal.alarm(0)
    drawn = picture.getchannel("A").point(lambda a: 255 if a > 8 else 0).getbbox()
    if drawn is None:
        return "blank drawing"
    picture = picture.crop(drawn)
    picture.thumbnail((SIZE - 2 * MARGIN, SIZE - 2 * MARGIN))
    canvas = Image.new("RGB", (SIZE, SIZE), "white")
    canvas.paste(picture, ((SIZE - picture.width) // 2, (SIZE - picture.height) // 2), picture.getchannel("A"))
    if all(low == high for low, high in canvas.getextrema()):
        return "blank drawing"
    out = io.BytesIO()
    canvas.save(out, "PNG", optimize=True)
    return out.getvalue()


def drawings(source: Path = CLIPART_SOURCE) -> list[Drawing]:
    """Every distinct SVG under ``source`` (by content), first by sorted path; links are not followed."""
    seen, found = set(), []
    for svg in sorted(source.rglob("*.svg")):
        if svg.is_symlink() or not svg.is_file():
            continue
        data = svg.read_bytes()
        key = content_id(data)
        if key not in seen:
            seen.add(key)
            found.append(_read(svg, source, data))
    return found


def build(source: Path = CLIPART_SOURCE, out: Path = CLIPART_DIR, workers: int = 2) -> tuple[int, list[str]]:
    """Render the clipart demo into ``out``; returns (pictures written, "file: reason" per skipped drawing)."""
    if not source.is_dir():
        raise BadInput(f"{source}: missing; install the Debian package openclipart-svg (make system)")
    found = drawings(source)
    titles = Counter(d.title for d in found)
    stems = {t: {d.svg.stem for d in found if d.title == t} for t, n in titles.items() if n >= SHARED_TITLE}
    shared = {t for t, names in stems.items() if len(names) >= SHARED_TITLE}
    chosen, per_caption = [], Counter()
    for drawing in found:
        caption = caption_of(drawing, shared)
        per_caption[caption] += 1
        if per_caption[caption] <= SAME_CAPTION:
            chosen.append((drawing, caption))
    staging = out.with_name(out.name + ".building")
    shutil.rmtree(staging, ignore_errors=True)
    (staging / "images").mkdir(parents=True)
    rows, skipped, names = [], [], Counter()
    with ProcessPoolExecutor(workers) as pool:
        for (drawing, caption), png in zip(chosen, pool.map(_render, [d.svg for d, _ in chosen], chunksize=32)):
            if isinstance(png, str):
                skipped.append(f"{drawing.svg.relative_to(source).as_posix()}: {png}")
                continue
            slug = "-".join(_words(caption))[:60] or "drawing"
            names[slug] += 1
            file = f"images/{slug}{'' if names[slug] == 1 else f'-{names[slug]}'}.png"
            (staging / file).write_bytes(png)
            rows.append((file, caption, drawing.category, drawing.folder, " | ".join(drawing.keywords)))
    with open(staging / "captions.csv", "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(("file", "caption", "category", *COLUMNS))
        writer.writerows(rows)
    shutil.rmtree(out, ignore_errors=True)
    staging.rename(out)
    return len(rows), skipped


def load_clipart(folder: Path = CLIPART_DIR) -> Collection:
    """The clipart demo as rendered by :func:`build`: drawings with titles, categories, folders and keywords."""
    return load_listed(folder, "Clipart demo", "category", COLUMNS, "python -m similarity.ingest.clipart")


if __name__ == "__main__":
    try:
        written, skipped = build()
    except BadInput as err:
        sys.exit(str(err))
    for line in skipped:
        print(f"skipped {line}")
    print(f"wrote {written:,} clipart pictures to {CLIPART_DIR} ({len(skipped)} skipped)")
