"""Start the dashboard with its heavy start-up work begun at once.

``python -m ui.serve [streamlit options]`` is ``streamlit run app.py`` plus a
background thread that loads the bundled model (ONNX Runtime) and opens the
demo (from its shipped vectors) and its null baseline into the server-wide
caches while the server boots. A plain ``streamlit run app.py`` does the same
work when the first visitor arrives, who then waits for it.
"""

from __future__ import annotations

import os

# Many sessions run searches at once: one BLAS thread per search beats threads
# that spin against each other (set before numpy is imported).
for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

import sys  # noqa: E402
import threading  # noqa: E402
from pathlib import Path  # noqa: E402

APP = Path(__file__).resolve().parent.parent / "app.py"


def preload() -> None:
    """Fill the server-wide caches the first search needs (bundled model, demo space, its null baseline)."""
    import logging

    # Outside a visitor's script run Streamlit warns about its missing context on every cache call.
    # A filter, not a level: Streamlit's CLI resets its loggers' levels once it has started.
    logging.getLogger("streamlit.runtime.scriptrunner_utils.script_run_context").addFilter(
        lambda record: threading.current_thread().name != "preload"
    )
    from similarity.ingest.bundled import EMOJI
    from similarity.search.query import text_query
    from similarity.storage.paths import default_root
    from ui import cache
    from ui.state import DEFAULT_MODEL

    encoder = cache.encoder_for(DEFAULT_MODEL)
    space = cache.space_of(encoder, cache.bundled_collection(EMOJI.link), str(default_root()))
    cache.baselines(encoder, space, text_query(encoder.encode_texts, "a red fruit"))


def main(args: list[str]) -> None:
    from streamlit.web import cli

    threading.Thread(target=preload, name="preload", daemon=True).start()
    cli.main(["run", str(APP), *args])


if __name__ == "__main__":
    main(sys.argv[1:])
