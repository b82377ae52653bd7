"""Where every file lives: the one module that decides a location.

Per-user data goes under ``$XDG_CACHE_HOME/clip-explorer`` (default
``~/.cache/clip-explorer``); a host moves the pieces with the
``CLIP_EXPLORER_*`` settings below. Shipped files (the demo, the bundled
model) sit under the repository's ``data/``.
"""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DATA_DIR = ROOT / "data"
DEMO_DIR = DATA_DIR / "demo"
DEMO_VECTORS = DEMO_DIR / "vectors.npz"  # the demo embedded by the bundled model (python -m similarity.ingest.space)
DEMO_VIEWS = DEMO_DIR / "views.npz"  # its maps and default clustering (python -m similarity.views.shipped)
DEMO_FEATURES = DEMO_DIR / "features.npz"  # model 3.0's backbone features of it, for the lab (make), not committed
BUNDLED_DIR = DATA_DIR / "models" / "emoji-clip"
CLIPART_SOURCE = Path("/usr/share/openclipart/svg")  # Debian's openclipart-svg
CLIPART_DIR = DATA_DIR / "clipart"  # rendered from it at install (python -m similarity.ingest.clipart), not committed
CLIPART_VECTORS = CLIPART_DIR / "vectors.npz"  # embedded by the bundled model at install, like the demo's
CLIPART_VIEWS = CLIPART_DIR / "views.npz"

CACHE_ENV = "CLIP_EXPLORER_CACHE"  # the embedding store (a folder or an object-store URI)
INDEX_ENV = "CLIP_EXPLORER_INDEX"  # indexed collections (default: the embedding store)
ALLOWED_FOLDERS = "CLIP_EXPLORER_ALLOWED_FOLDERS"  # the host's list of loadable server folders


def app_cache() -> Path:
    """The app's own per-user folder: ``$XDG_CACHE_HOME/clip-explorer``."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "clip-explorer"


def default_root() -> Path:
    """The embedding store (``$CLIP_EXPLORER_CACHE`` overrides it)."""
    if env := os.environ.get(CACHE_ENV):
        return Path(env)
    return app_cache() / "embeddings"


def index_uri() -> str:
    """Where indexed collections live: the embedding store (``$CLIP_EXPLORER_INDEX`` overrides)."""
    return os.environ.get(INDEX_ENV) or str(default_root())


def onnx_folder(model_key: str) -> Path:
    """Where an open_clip model's ONNX export lives: ``onnx/<key>`` beside the embedding store."""
    return default_root().parent / "onnx" / model_key


def uploads_folder(store_root) -> Path:
    """Where a server keeps uploaded pictures (``uploads/``) and unpacked zips (``unpacked/``): beside its store."""
    return Path(store_root).parent


def unpacked_folder(store_root) -> Path:
    """Unpacked zips: their own folder beside the store, so clean-up never reaches anything else.

    An object-store index has no "beside": its zips unpack under the app's per-user folder.
    """
    local = "://" not in str(store_root)
    return (uploads_folder(store_root) if local else app_cache()) / "unpacked"


def within_allowed(path) -> bool:
    """Whether ``path`` (``~``, links and ``..`` resolved) lies in a folder the host allows; raises OSError,
    ValueError (a NUL byte) or RuntimeError (a link loop) for a name that cannot be looked up."""
    real = Path(path).expanduser().resolve()
    return any(real == root or root in real.parents for root in allowed_folders())


def allowed_folders() -> list[Path]:
    """Server folders the host lets visitors load (``$CLIP_EXPLORER_ALLOWED_FOLDERS``, ``:``-separated)."""
    return [Path(p).expanduser().resolve() for p in os.environ.get(ALLOWED_FOLDERS, "").split(os.pathsep) if p]
