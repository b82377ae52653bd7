"""The bundled demo collection: Noto Color Emoji pictures of every concept, with captions and groups.

python -m training.demo --demo data/demo
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

from PIL import Image

from training.emoji_data import read_emoji, split_by_concept
from training.styles import render_noto_font


def build_demo(out: Path, px: int = 72) -> int:
    """Write the demo gallery: Noto pictures + ``captions.csv``; returns count."""
    out = Path(out)
    (out / "images").mkdir(parents=True, exist_ok=True)
    emoji = read_emoji()
    _, held_out = split_by_concept(emoji)
    held = set(held_out)
    rows, seen = [], set()
    for e in emoji:
        image = render_noto_font(e, px)
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
    parser = argparse.ArgumentParser(description="Build the bundled emoji demo gallery.")
    parser.add_argument("--demo", type=Path, default=Path(__file__).resolve().parent.parent / "data" / "demo")
    print(f"wrote {build_demo(parser.parse_args().demo)} emoji")
