"""Pictures on the Map page: its two toggles, and the thumbnails they need, made once per server.

The figures are :func:`similarity.views.picture_map.picture_map` (pictures on
hover, up to :data:`~similarity.views.picture_map.MAX_PICTURE_POINTS` points)
and the plotly map; this module only reads the toggles and caches the pictures,
keyed by the space, the map and the kinds drawn, never per visitor.
"""

from __future__ import annotations

import numpy as np
import streamlit as st

from similarity.ingest.space import Space
from similarity.storage.keys import IMAGE
from similarity.views.picture_map import EXAMPLES, MAX_PICTURE_POINTS, Examples, example_pictures, thumbnail_uris
from ui.shared import shared, shared_with_progress

SECONDS_PER_PICTURE = 0.0006  # a 48 px WebP from a demo PNG on one core (benchmarks/bench_picture_map.py)


def picture_toggles(n_points: int) -> tuple[bool, bool]:
    """(pictures on hover, example pictures on the map), as the visitor set them for a map of ``n_points``."""
    fits = n_points <= MAX_PICTURE_POINTS
    left, right = st.columns(2)
    hover = left.toggle(
        "Pictures on hover",
        value=fits,
        disabled=not fits,
        key="map_pictures",
        help="Hovering a point shows its picture and caption. Box and lasso selection work on the plain map.",
    )
    examples = right.toggle(
        "Example pictures on the map",
        key="map_examples",
        help=f"One picture at each of the {EXAMPLES} densest places of the map (k-means on the map's points).",
    )
    if not fits:
        st.caption(
            f"Pictures on hover need a map of at most {MAX_PICTURE_POINTS:,} points (each carries its thumbnail to "
            f"your browser); this one draws {n_points:,}. Hover names the point; box or lasso select to see pictures."
        )
    elif hover:
        st.caption("To select with a box or lasso, turn *Pictures on hover* off: selection works on the plain map.")
    return hover and fits, examples


def _paths(space: Space, rows: np.ndarray) -> list:
    """Each drawn row's picture file, None for captions."""
    return [space.item_of(r).image_path if space.kind[r] == IMAGE else None for r in rows]


def hover_pictures(space: Space, method: str, kinds: tuple[str, ...], rows: np.ndarray) -> list[str | None]:
    """The drawn rows' thumbnails as data URIs (None for captions), made once per server for this map."""
    return shared_with_progress(
        "map pictures",
        (space.key, method, kinds),
        lambda: thumbnail_uris(_paths(space, rows)),
        f"Making thumbnails of {len(rows):,} points",
        SECONDS_PER_PICTURE * len(rows),
    )


def examples_on(space: Space, fitted, rows: np.ndarray) -> Examples:
    """The example pictures of this fitted map (a refitted map gets its own), once per server."""
    return shared(
        "map pictures",
        ("examples", space.key, fitted.serial),
        lambda: example_pictures(fitted.coords, _paths(space, rows)),
    )
