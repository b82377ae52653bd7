"""A box or lasso drawn on a map selects every item inside it, drawn or not."""

import numpy as np
import pytest
from conftest import unit_vectors

from similarity.views.maps import fit_map, map_rows
from similarity.views.placement import positions_of_all
from similarity.views.selection import in_selection


def scattered(n=2000, seed=0):
    return np.random.default_rng(seed).uniform(-1, 1, (n, 2))


def clustered(n=1500, d=24, seed=3):
    """Unit vectors around 20 centres: embeddings of real collections have such structure."""
    rng = np.random.default_rng(seed)
    v = unit_vectors(20, d, seed=seed)[rng.integers(0, 20, n)] + 0.25 * rng.standard_normal((n, d))
    return (v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float32)


def test_a_box_selects_the_points_within_its_ranges_whichever_corner_was_dragged_first():
    xy = scattered()
    box = {"x": [0.5, -0.2], "y": [0.3, -0.4]}  # dragged from the upper right
    inside = in_selection(xy, [box], [])
    expected = [(-0.2 <= x <= 0.5) and (-0.4 <= y <= 0.3) for x, y in xy]
    assert inside.tolist() == expected and 0 < inside.sum() < len(xy)


def test_a_lasso_selects_the_points_inside_its_outline():
    xy = scattered()
    triangle = {"x": [-0.8, 0.9, 0.0], "y": [-0.7, -0.6, 0.8]}
    inside = in_selection(xy, [], [triangle])
    # Independently: a point is inside a triangle when it is on the same side of all three edges.
    (ax, bx, cx), (ay, by, cy) = triangle["x"], triangle["y"]

    def side(x0, y0, x1, y1, x, y):
        return (x1 - x0) * (y - y0) - (y1 - y0) * (x - x0)

    sides = np.array([side(ax, ay, bx, by, *xy.T), side(bx, by, cx, cy, *xy.T), side(cx, cy, ax, ay, *xy.T)])
    expected = (sides > 0).all(0) | (sides < 0).all(0)
    assert (inside == expected).all() and 0 < inside.sum() < len(xy)


def test_several_shapes_select_their_union_and_a_lasso_too_short_to_enclose_selects_nothing():
    xy = scattered()
    left, right = {"x": [-1, -0.5], "y": [-1, 1]}, {"x": [0.5, 1], "y": [-1, 1]}
    both = in_selection(xy, [left, right], [])
    assert (both == in_selection(xy, [left], []) | in_selection(xy, [right], [])).all()
    assert not in_selection(xy, [], [{"x": [0, 1], "y": [0, 1]}]).any()


@pytest.mark.parametrize("method", ["PCA", "t-SNE"])
def test_every_item_of_a_sampled_map_gets_a_place(method):
    """Drawn items stay where they are drawn; PCA places the rest exactly, t-SNE beside their nearest drawn item."""
    vectors = clustered()
    rows = np.arange(0, 1500, 2)  # the map's kind: every other row
    drawn = np.sort(np.random.default_rng(0).choice(rows, 300, replace=False))
    fitted = fit_map(method, vectors[drawn])
    positions = positions_of_all(fitted, vectors, rows, drawn)
    assert positions.shape == (len(rows), 2)
    assert np.allclose(positions[np.searchsorted(rows, drawn)], fitted.coords)
    undrawn = np.setdiff1d(rows, drawn)
    placed = positions[np.searchsorted(rows, undrawn)]
    if method == "PCA":
        assert np.allclose(placed, fitted.place(vectors[undrawn]), atol=1e-5)
    else:
        nearest = drawn[(vectors[undrawn] @ vectors[drawn].T).argmax(1)]
        at_nearest = np.all(placed == fitted.coords[np.searchsorted(drawn, nearest)], axis=1)
        assert at_nearest.mean() >= 0.9  # an inverted-file search: nearly always the exact neighbour
        # and each of the others sits exactly on some drawn item
        assert all((fitted.coords == p).all(1).any() for p in placed[~at_nearest])


def test_the_host_can_lower_how_many_points_a_map_draws(monkeypatch):
    import importlib

    import similarity.views.maps as projection

    monkeypatch.setenv("CLIP_EXPLORER_MAP_POINTS", "500")
    try:
        capped = importlib.reload(projection)
        assert set(capped.MAX_POINTS.values()) == {500} and len(capped.map_rows(np.arange(3000), "PCA")) == 500
        monkeypatch.setenv("CLIP_EXPLORER_MAP_POINTS", "lots")
        with pytest.raises(ValueError, match="CLIP_EXPLORER_MAP_POINTS must be a whole number"):
            importlib.reload(projection)
    finally:
        monkeypatch.delenv("CLIP_EXPLORER_MAP_POINTS")
        importlib.reload(projection)
    assert len(map_rows(np.arange(3000), "PCA")) == 3000


def test_a_selection_counts_its_pictures_and_how_many_of_it_the_map_draws():
    from similarity.storage.keys import CAPTION, IMAGE
    from similarity.views.selection import select_on_map

    kinds = np.array([IMAGE, CAPTION] * 5, dtype=object)
    rows = np.arange(10)
    positions = np.column_stack([np.arange(10.0), np.zeros(10)])
    picked = select_on_map(kinds, rows, positions, np.array([0, 4, 9]), [{"x": [-0.5, 4.5], "y": [-1, 1]}], [])
    assert picked.rows.tolist() == [0, 1, 2, 3, 4] and (picked.pictures, picked.drawn) == (3, 2)
    assert picked.placement("UMAP", False).startswith("2 of them are drawn; the other 3 lie inside too: each at")
