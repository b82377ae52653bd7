"""Figures: the numbers drawn are the numbers computed, every axis is named."""

import numpy as np
from conftest import unit_vectors

from similarity.plots import angle_view, embedding_map, explained_variance, k_scan, score_distribution
from similarity.search import top_k


def test_angle_view_draws_each_result_at_its_true_angle():
    vectors = unit_vectors(40, 16, seed=1)
    ranking = top_k(vectors[0], vectors, 6)
    fig = angle_view(ranking.angles, [f"item {i}" for i in ranking.indices], "True angle", "note")
    points = [t for t in fig.data if t.mode == "markers+text"]
    np.testing.assert_allclose([p.theta[0] for p in points], ranking.angles)
    assert [p.r[0] for p in points] == [1, 2, 3, 4, 5, 6]
    assert points[1].text[0] == f"φ₂ = {ranking.angles[1]:.1f}°"


def test_map_escapes_user_text_and_links_the_query_to_its_results():
    coords = np.array([[0, 0], [1, 1], [2, 0]], dtype=np.float32)
    hover = ["<b>bold</b>", "x", "y"]
    fig = embedding_map(coords, ["a", "a", "b"], hover, "units", "PCA", np.array([0.5, 0.5]), [2, 1])
    assert "&lt;b&gt;bold&lt;/b&gt;" in fig.data[0].text
    lines = next(t for t in fig.data if t.mode == "lines")
    assert list(lines.x) == [0.5, 2, None, 0.5, 1, None]
    assert "PCA 1 (units)" == fig.layout.xaxis.title.text


def test_every_chart_names_its_axes():
    figures = [
        score_distribution(np.linspace(-0.2, 0.5, 50), np.array([0.5, 0.4])),
        explained_variance(np.array([0.5, 0.2, 0.1])),
        k_scan(np.array([2, 3]), np.array([0.1, 0.3]), np.array([10.0, 8.0]), 3),
    ]
    for fig in figures:
        assert fig.layout.xaxis.title.text and fig.layout.yaxis.title.text
    assert "degrees" in figures[0].layout.xaxis2.title.text
