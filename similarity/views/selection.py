"""Which map positions a box or lasso drawn on a plotly chart encloses.

Streamlit reports a selection's shapes in data coordinates (``box``: x and
y ranges; ``lasso``: the polygon's corners). Testing positions against the
shapes, rather than reading the points plotly reports, lets a selection on a
sampled map cover every item inside it, drawn or not.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from similarity.storage.keys import IMAGE


@dataclass(frozen=True)
class MapSelection:
    """The items inside a drawn box or lasso: all of them, and how many the map draws."""

    rows: np.ndarray  # space rows, in row order
    pictures: int
    drawn: int  # of them, drawn on the map (the rest are placed by similarity.views.placement.positions_of_all)

    def placement(self, method: str, exact: bool) -> str:
        """How the undrawn ones came to be inside, in a sentence."""
        how = (
            f"{method} places them exactly"
            if exact
            else f"each at the place of its most similar drawn item ({method} cannot place new points exactly)"
        )
        return f"{self.drawn:,} of them are drawn; the other {len(self.rows) - self.drawn:,} lie inside too: {how}."


def select_on_map(
    kinds: np.ndarray, rows: np.ndarray, positions: np.ndarray, drawn: np.ndarray, boxes: list, lassos: list
) -> MapSelection:
    """The ``rows`` (at ``positions``) inside the shapes; ``kinds``: every space row's kind; ``drawn``: rows drawn."""
    inside = rows[in_selection(positions, boxes, lassos)]
    return MapSelection(inside, int((kinds[inside] == IMAGE).sum()), int(np.isin(inside, drawn).sum()))


def in_selection(xy: np.ndarray, boxes: list[dict], lassos: list[dict]) -> np.ndarray:
    """Boolean mask: the rows of ``xy`` (n, 2) inside any of the boxes or lassos."""
    inside = np.zeros(len(xy), dtype=bool)
    for box in boxes:
        (x0, x1), (y0, y1) = sorted(box["x"]), sorted(box["y"])
        inside |= (xy[:, 0] >= x0) & (xy[:, 0] <= x1) & (xy[:, 1] >= y0) & (xy[:, 1] <= y1)
    for lasso in lassos:
        if len(lasso["x"]) >= 3:
            inside |= in_polygon(xy, np.column_stack([lasso["x"], lasso["y"]]).astype(np.float64))
    return inside


def in_polygon(xy: np.ndarray, corners: np.ndarray) -> np.ndarray:
    """Even-odd rule (as plotly's lasso): a point is inside if a ray from it crosses the edges an odd number of times.

    >>> square = np.array([[0, 0], [2, 0], [2, 2], [0, 2]])
    >>> in_polygon(np.array([[1, 1], [3, 1], [1, -1]]), square).tolist()
    [True, False, False]
    """
    x, y = xy[:, 0], xy[:, 1]
    inside = np.zeros(len(xy), dtype=bool)
    for (x0, y0), (x1, y1) in zip(corners, np.roll(corners, -1, axis=0)):
        if y0 == y1:
            continue  # a horizontal edge is never crossed by a horizontal ray
        crosses = (y0 > y) != (y1 > y)
        x_at = x0 + (y - y0) * (x1 - x0) / (y1 - y0)
        inside ^= crosses & (x < x_at)
    return inside
