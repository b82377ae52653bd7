"""Plotly figures (no Streamlit here): every axis says what it measures."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from similarity.search import angles_deg

_LAYOUT = dict(template="plotly_white", margin=dict(l=60, r=20, t=50, b=50), height=320)


def score_distribution(all_cosines: np.ndarray, result_cosines: np.ndarray, k_label: str = "results") -> go.Figure:
    """Histogram of the query's cosine with every item; the results marked.

    Lets "0.27" mean something: how far above the crowd the top results sit.
    """
    fig = go.Figure()
    fig.add_histogram(
        x=all_cosines,
        nbinsx=60,
        name="all items",
        marker_color="#b0bec5",
        hovertemplate="cosine %{x}<br>%{y} items<extra></extra>",
    )
    for c in result_cosines:
        fig.add_vline(x=float(c), line_color="#e65100", line_width=1, opacity=0.7)
    fig.add_trace(go.Scatter(x=[None], y=[None], mode="lines", line_color="#e65100", name=k_label))
    lo, hi = float(min(all_cosines.min(), result_cosines.min())), float(max(all_cosines.max(), result_cosines.max()))
    ticks = np.linspace(lo, hi, 5)
    fig.update_layout(
        **_LAYOUT,
        title="Where the results sit among all items",
        xaxis=dict(title="cosine similarity to the query (1 = same direction)"),
        xaxis2=dict(
            overlaying="x",
            side="top",
            matches="x",
            tickvals=ticks,
            ticktext=[f"{a:.0f}°" for a in angles_deg(ticks)],
            title="angle to the query (degrees)",
        ),
        yaxis_title="number of items",
        legend=dict(orientation="h", y=-0.3),
        bargap=0.02,
    )
    fig.add_trace(
        go.Scatter(
            x=[lo, hi], y=[0, 0], xaxis="x2", mode="markers", marker_opacity=0, showlegend=False, hoverinfo="skip"
        )
    )
    return fig


def explained_variance(ratios: np.ndarray) -> go.Figure:
    """Cumulative share of variance kept by the first c principal components."""
    c = np.arange(1, len(ratios) + 1)
    fig = go.Figure(
        go.Scatter(
            x=c,
            y=100 * np.cumsum(ratios),
            mode="lines+markers",
            hovertemplate="%{x} components keep %{y:.1f}% of the variance<extra></extra>",
        )
    )
    fig.update_layout(
        **_LAYOUT,
        title="Variance kept by the noise filter",
        xaxis_title="number of principal components kept",
        yaxis=dict(title="variance kept (%)", range=[0, 100]),
    )
    return fig
