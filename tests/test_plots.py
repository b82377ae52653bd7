"""Figures: the numbers drawn are the numbers computed, every axis is named."""

import numpy as np
from conftest import unit_vectors

from similarity.search.topk import top_k
from similarity.views.map_plots import angle_view, embedding_map
from similarity.views.plots import (
    CAPTION_COLOUR,
    NOISE_COLOUR,
    PICTURE_COLOUR,
    RESULT_COLOUR,
    explained_variance,
    k_scan,
    label_counts,
    score_distribution,
)


def test_angle_view_draws_each_result_at_its_true_angle():
    vectors = unit_vectors(40, 16, seed=1)
    ranking = top_k(vectors[0], vectors, 6)
    fig = angle_view(ranking.angles, [f"item {i}" for i in ranking.indices], "True angle", "note")
    (points,) = [t for t in fig.data if t.mode == "markers+text"]
    np.testing.assert_allclose(points.theta, ranking.angles)
    assert list(points.r) == [1, 2, 3, 4, 5, 6]
    # Each result is named beside its angle, readable without hovering.
    assert points.text[1] == f"2. item {ranking.indices[1]} {ranking.angles[1]:.1f}°"


def test_map_escapes_user_text_and_links_the_query_to_its_results():
    coords = np.array([[0, 0], [1, 1], [2, 0]], dtype=np.float32)
    hover = ["<b>bold</b>", "x", "y"]
    fig = embedding_map(coords, ["a", "a", "b"], hover, "units", "PCA", np.array([0.5, 0.5]), [2, 1])
    assert "&lt;b&gt;bold&lt;/b&gt;" in fig.data[0].text
    lines = [(shape.x0, shape.y0, shape.x1, shape.y1) for shape in fig.layout.shapes]
    assert lines == [(0.5, 0.5, 2, 0), (0.5, 0.5, 1, 1)]  # the query joined to each result
    assert "PCA 1 (units)" == fig.layout.xaxis.title.text


def test_results_stand_out_from_both_modalities_and_every_cluster_gets_its_own_colour():
    coords = np.random.default_rng(0).standard_normal((60, 2))
    kinds = ["image", "caption"] * 30
    fig = embedding_map(coords, kinds, ["x"] * 60, "u", "PCA", np.zeros(2), [3, 4], "q", ["a", "b"])
    colours = {t.name: t.marker.color for t in fig.data if t.marker is not None and t.marker.color is not None}
    assert colours["pictures"] == PICTURE_COLOUR and colours["captions"] == CAPTION_COLOUR
    results = next(t for t in fig.data if t.name.startswith("top results"))
    assert results.marker.color == RESULT_COLOUR not in (PICTURE_COLOUR, CAPTION_COLOUR)
    assert [a.text for a in fig.layout.annotations] == ["<b>★ q</b>", "1. a", "2. b"]
    assert fig.data[-1].name == "your query"  # the star is drawn last: on top of every point
    groups = [f"cluster {i % 25}" for i in range(59)] + ["noise"]
    clusters = embedding_map(coords, groups, ["x"] * 60, "u", "PCA")
    used = {t.name: t.marker.color for t in clusters.data}
    assert used["noise"] == NOISE_COLOUR and len(set(used.values())) == 26


def test_every_chart_names_its_axes():
    figures = [
        score_distribution(np.linspace(-0.2, 0.5, 50), np.array([0.5, 0.4])),
        explained_variance(np.array([0.5, 0.2, 0.1])),
        k_scan(np.array([2, 3]), np.array([0.1, 0.3]), np.array([10.0, 8.0]), 3),
        label_counts({"animal": 3, "food": 1}),
    ]
    for fig in figures:
        assert fig.layout.xaxis.title.text and fig.layout.yaxis.title.text
    assert "degrees" in figures[0].layout.xaxis2.title.text
    assert figures[-1].data[0].orientation == "h"  # labels stay horizontal and readable


def test_score_histogram_draws_the_verdicts_two_references():
    fig = score_distribution(np.linspace(-0.2, 0.5, 50), np.array([0.5, 0.4]), "top 2", 0.25, 0.3)
    references = {t.name: t.x[0] for t in fig.data if t.name and t.name.split()[-1][:2] == "0."}
    assert references == {"meaningless queries reach 0.25": 0.25, "belong together 0.30": 0.3}
    results = next(t for t in fig.data if t.name == "top 2")
    assert sorted(x for x in results.x if np.isfinite(x)) == [0.4, 0.4, 0.5, 0.5]


def test_callouts_name_the_query_and_every_result_without_overlapping_however_close_the_points():
    coords = np.random.default_rng(1).standard_normal((300, 2))
    coords[:20] = 0.001 * np.arange(20)[:, None]  # twenty results piled on one spot
    fig = embedding_map(
        coords, ["image"] * 300, ["x"] * 300, "u", "UMAP", np.zeros(2), np.arange(20), "q", list("abcdefghijklmnopqrst")
    )
    labels = fig.layout.annotations
    assert len(labels) == 21 and {a.text for a in labels} >= {"1. a", "20. t"}
    heights = sorted(a.ay for a in labels)
    spacing = (fig.layout.yaxis.range[1] - fig.layout.yaxis.range[0]) / 30
    assert min(np.diff(heights)) > spacing  # evenly spaced down the column: never on top of each other
    assert min(a.ax for a in labels) > coords[:, 0].max()  # the column stands right of every point
    assert fig.layout.xaxis.range[1] > max(a.ax for a in labels)  # and inside the plot


def test_the_chosen_k_label_stays_inside_the_chart_at_the_last_k():
    at_end = k_scan(np.arange(2, 16), np.linspace(0.1, 0.2, 14), np.linspace(10, 5, 14), 15)
    inside = k_scan(np.arange(2, 16), np.linspace(0.1, 0.2, 14), np.linspace(10, 5, 14), 6)
    assert at_end.layout.annotations[0].xanchor == "right" and inside.layout.annotations[0].xanchor == "left"


def test_the_angle_view_keeps_its_names_clear_of_the_degree_labels_and_needs_no_axis_title():
    fig = angle_view(np.array([70.5, 73.2, 75.9, 77.2]), list("abcd"), "True angle", "note")
    assert fig.layout.polar.radialaxis.range[1] >= 4 + 3  # room between the last rank and the arc
    assert not fig.layout.polar.radialaxis.title.text  # the rank scale is said in the subtitle, never clipped
    assert "distance from the corner = rank" in fig.layout.title.text


def test_a_sampled_map_keeps_every_placed_item_in_view():
    """Items a sampled PCA map places beyond its sample's edge stay in view, so a lasso around the map takes them."""
    coords = np.random.default_rng(0).normal(size=(50, 2))
    placed = np.array([[9.0, -7.0], [0.0, 0.0]])
    plain = embedding_map(coords, ["a"] * 50, ["x"] * 50, "u", "PCA")
    assert plain.layout.xaxis.range[1] < 9 and plain.layout.yaxis.range[0] > -7  # the sample alone
    fig = embedding_map(coords, ["a"] * 50, ["x"] * 50, "u", "PCA", extent=placed)
    assert fig.layout.xaxis.range[1] > 9 and fig.layout.yaxis.range[0] < -7
