"""Start the dashboard with its heavy start-up work begun at once.

``python -m ui.serve [streamlit options]`` is ``streamlit run app.py`` plus a
background thread that imports torch and open_clip, loads the bundled model
and opens the demo (from its shipped vectors) into the server-wide caches
while the server boots. A plain ``streamlit run app.py`` does the same work
when the first visitor arrives, who then waits for it.
"""

from __future__ import annotations

import sys
import threading
from pathlib import Path

APP = Path(__file__).resolve().parent.parent / "app.py"


def preload() -> None:
    """Fill the server-wide caches the first search needs (bundled model, demo space, its null baseline)."""
    from similarity.search import text_query
    from similarity.store import default_root
    from ui import cache
    from ui.state import DEFAULT_MODEL

    encoder = cache.load_encoder(DEFAULT_MODEL)
    space = cache.space_of(encoder, cache.demo_collection(), str(default_root()))
    cache.baselines(encoder, space, text_query(encoder.encode_texts, "a red fruit"))


def main(args: list[str]) -> None:
    from streamlit.web import cli

    threading.Thread(target=preload, name="preload", daemon=True).start()
    cli.main(["run", str(APP), *args])


if __name__ == "__main__":
    main(sys.argv[1:])
