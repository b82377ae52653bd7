"""The collections that come with the app: the emoji demo (committed) and the clipart demo (built at install).

Each ships its vectors for the bundled model beside its pictures, so a fresh
server encodes nothing for them; ``python -m similarity.ingest.bundled NAME``
writes them again (``make model`` and ``make`` do).
"""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from similarity.encoders import Encoder, load_encoder
from similarity.ingest.clipart import load_clipart
from similarity.ingest.collection import Collection, load_demo
from similarity.ingest.files import BadInput
from similarity.ingest.space import embed_collection, vector_rows
from similarity.storage.paths import CLIPART_DIR, CLIPART_VECTORS, CLIPART_VIEWS, DEMO_DIR, DEMO_VECTORS, DEMO_VIEWS
from similarity.storage.vectors import EmbeddingStore, write_shipped


@dataclass(frozen=True)
class Bundled:
    link: str  # its name in a shared link (?collection=clipart)
    label: str  # its name in the sidebar
    folder: Path
    load: Callable[[], Collection]
    vectors: Path  # embedded by the bundled model
    views: Path  # its maps and first clustering (similarity.views.shipped)

    @property
    def built(self) -> bool:
        """Its pictures are there (the clipart demo is rendered at install, from a Debian package)."""
        return (self.folder / "captions.csv").exists()


EMOJI = Bundled("demo", "Emoji demo (bundled)", DEMO_DIR, load_demo, DEMO_VECTORS, DEMO_VIEWS)
CLIPART = Bundled("clipart", "Clipart demo (openclipart)", CLIPART_DIR, load_clipart, CLIPART_VECTORS, CLIPART_VIEWS)
BUNDLED_COLLECTIONS = {b.link: b for b in (EMOJI, CLIPART)}
SHIPPED_VECTORS = tuple(b.vectors for b in BUNDLED_COLLECTIONS.values())


def ship_vectors(encoder: Encoder, bundled: Bundled = EMOJI) -> int:
    """Embed a bundled collection and write its vectors for shipping; returns their number."""
    collection = bundled.load()
    with tempfile.TemporaryDirectory() as tmp:
        space = embed_collection(encoder, EmbeddingStore(tmp, encoder.key), collection)
    if space.problems:
        raise BadInput("; ".join(space.problems))
    keys = [key for _, _, key in vector_rows(collection)]
    write_shipped(bundled.vectors, encoder.key, keys, space.vectors)
    return len(keys)


if __name__ == "__main__":
    chosen = BUNDLED_COLLECTIONS[sys.argv[1] if len(sys.argv) > 1 else EMOJI.link]
    print(f"wrote {ship_vectors(load_encoder('bundled'), chosen):,} vectors to {chosen.vectors}")
