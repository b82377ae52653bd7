"""Plotly figures (no Streamlit here): every axis says what it measures."""

from __future__ import annotations

import html

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


def embedding_map(
    coords,
    colour_by: list[str],
    hover: list[str],
    axis_unit: str,
    method: str,
    query_xy=None,
    result_rows=None,
    query_label: str = "query",
) -> go.Figure:
    """WebGL scatter of items on a 2-D map, the query linked to its top-k.

    ``customdata`` holds each point's row so selections map back to items.
    """
    fig = go.Figure()
    colour_by = np.asarray(colour_by)
    rows = np.arange(len(coords))
    hover = np.array([html.escape(h) for h in hover])  # plotly renders tags in hover text
    for group in dict.fromkeys(colour_by.tolist()):
        mask = colour_by == group
        fig.add_trace(
            go.Scattergl(
                x=coords[mask, 0],
                y=coords[mask, 1],
                mode="markers",
                name=html.escape(str(group)),
                customdata=rows[mask],
                text=hover[mask],
                hovertemplate="%{text}<extra></extra>",
                marker=dict(size=6, opacity=0.75),
            )
        )
    if query_xy is not None:
        if result_rows is not None and len(result_rows):
            xs, ys = [], []
            for r in result_rows:
                xs += [query_xy[0], coords[r, 0], None]
                ys += [query_xy[1], coords[r, 1], None]
            fig.add_trace(
                go.Scattergl(
                    x=xs,
                    y=ys,
                    mode="lines",
                    name="query → top results",
                    line=dict(color="#e65100", width=1.5),
                    hoverinfo="skip",
                )
            )
        fig.add_trace(
            go.Scattergl(
                x=[query_xy[0]],
                y=[query_xy[1]],
                mode="markers",
                name=query_label,
                marker=dict(symbol="star", size=18, color="#e65100", line=dict(width=1, color="black")),
                hovertemplate=f"query: {html.escape(query_label)}<extra></extra>",
            )
        )
    fig.update_layout(
        **{**_LAYOUT, "height": 560},
        title=f"{method} map of the collection",
        xaxis_title=f"{method} 1 ({axis_unit})",
        yaxis_title=f"{method} 2 ({axis_unit})",
        dragmode="lasso",
        legend=dict(itemsizing="constant"),
    )
    return fig


def angle_view(angles: np.ndarray, labels: list[str], title: str, note: str) -> go.Figure:
    """Polar picture: each result at its angle from the query (at 0°), radius = rank."""
    ranks = np.arange(1, len(angles) + 1)
    names = [f"φ{_subscript(i)} = {a:.1f}°" for i, a in zip(ranks, angles)]
    top = float(min(180, max(10, np.ceil((angles.max() + 5) / 10) * 10)))
    fig = go.Figure()
    fig.add_trace(
        go.Scatterpolar(
            r=[0, len(angles) + 1],
            theta=[0, 0],
            mode="lines",
            name="query direction",
            line=dict(color="#e65100", width=3),
        )
    )
    for r, a, name, label in zip(ranks, angles, names, labels):
        fig.add_trace(
            go.Scatterpolar(
                r=[0, r],
                theta=[0, a],
                mode="lines",
                line=dict(color="#90a4ae", width=1),
                showlegend=False,
                hoverinfo="skip",
            )
        )
        fig.add_trace(
            go.Scatterpolar(
                r=[r],
                theta=[a],
                mode="markers+text",
                text=[name],
                textposition="middle right",
                marker=dict(size=9, color="#1565c0"),
                showlegend=False,
                hovertemplate=f"#{r} {html.escape(label)}<br>{name}<extra></extra>",
            )
        )
    fig.update_layout(
        template="plotly_white",
        height=460,
        margin=dict(l=40, r=40, t=70, b=40),
        title=dict(text=f"{title}<br><sup>{note}</sup>"),
        polar=dict(
            sector=[0, top],
            angularaxis=dict(direction="counterclockwise", rotation=0, ticksuffix="°"),
            radialaxis=dict(title="rank (1 = best)", range=[0, len(angles) + 1], dtick=1),
        ),
        showlegend=False,
    )
    return fig


def _subscript(n: int) -> str:
    return str(n).translate(str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉"))


def k_scan(ks: np.ndarray, silhouettes: np.ndarray, inertias: np.ndarray, chosen: int) -> go.Figure:
    """Silhouette (left axis) and k-means elbow (right axis) against k."""
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=ks, y=silhouettes, mode="lines+markers", name="mean silhouette"))
    fig.add_trace(
        go.Scatter(
            x=ks,
            y=inertias,
            mode="lines+markers",
            name="within-cluster sum of squares",
            yaxis="y2",
            line=dict(dash="dot"),
        )
    )
    fig.add_vline(x=chosen, line_color="#e65100", annotation_text=f"k = {chosen}")
    fig.update_layout(
        **_LAYOUT,
        title="Choosing the number of clusters",
        xaxis_title="number of clusters k",
        yaxis=dict(title="mean silhouette (-1..1, higher = tighter)"),
        yaxis2=dict(title="sum of squared distances (elbow)", overlaying="y", side="right"),
        legend=dict(orientation="h", y=-0.3),
    )
    return fig
