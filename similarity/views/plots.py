"""Plotly figures for Search and Clusters (no Streamlit here): every axis says what it measures.

The maps' figures are in :mod:`similarity.views.map_plots`; both share the look defined here.
"""

from __future__ import annotations

import html

import numpy as np
import plotly.graph_objects as go

from similarity.search.topk import angles_deg

# No plotly template: applying one costs ~10 ms per figure on every rerun, and
# Streamlit's own chart theme already gives every figure the app's look.
LAYOUT = dict(margin=dict(l=60, r=20, t=80, b=50), height=340, font=dict(size=14))
# Colours: pictures and captions in two calm hues; the query, its results and
# thresholds in colours neither modality (nor a cluster palette) uses.
PICTURE_COLOUR, CAPTION_COLOUR = "#4477aa", "#66bb99"
QUERY_COLOUR, RESULT_COLOUR, NOISE_COLOUR = "#111111", "#e6007e", "#c8c8c8"
KIND_COLOURS = {"image": PICTURE_COLOUR, "caption": CAPTION_COLOUR}


def palette(n: int) -> list[str]:
    """``n`` distinct colours: qualitative up to 24, evenly spread beyond.

    >>> len(set(palette(30)))
    30
    """
    from plotly import colors

    if n <= 10:
        return colors.qualitative.T10[:n]
    if n <= 24:
        return colors.qualitative.Dark24[:n]
    return colors.sample_colorscale("Turbo", [i / (n - 1) for i in range(n)])


def short(text: str, limit: int = 22) -> str:
    """A label that fits beside a point.

    >>> short("grinning face with big eyes", 12)
    'grinning fa…'
    """
    return text if len(text) <= limit else text[: limit - 1] + "…"


def score_distribution(
    all_cosines: np.ndarray,
    result_cosines: np.ndarray,
    k_label: str = "results",
    null_at: float | None = None,
    together_at: float | None = None,
) -> go.Figure:
    """Histogram of the query's cosine with every item; results and the verdict's two references marked.

    Lets "0.27" mean something: how far above the crowd the top results sit,
    how close meaningless queries get (``null_at``) and how close things
    that belong together typically are (``together_at``).
    """
    fig = go.Figure()
    counts, edges = np.histogram(all_cosines, bins=60)
    fig.add_bar(
        x=(edges[:-1] + edges[1:]) / 2,
        y=counts,
        width=np.diff(edges),
        name="all items",
        marker_color="#b0bec5",
        hovertemplate="cosine %{x:.3f}<br>%{y} items<extra></extra>",
    )
    top = max(1, int(counts.max()))
    # One trace of vertical segments, not one shape per result: cheaper to build and draw.
    xs = np.repeat(np.asarray(result_cosines, dtype=float), 3)
    ys = np.tile([0.0, top, np.nan], len(result_cosines))
    xs[2::3] = np.nan
    fig.add_scatter(x=xs, y=ys, mode="lines", line=dict(color=RESULT_COLOUR, width=2), name=k_label)
    for at, name, dash in ((null_at, "meaningless queries reach", "dot"), (together_at, "belong together", "dash")):
        if at is not None:
            fig.add_scatter(
                x=[at, at], y=[0, top], mode="lines", line=dict(color=QUERY_COLOUR, dash=dash), name=f"{name} {at:.2f}"
            )
    lo = float(min(all_cosines.min(), np.min(result_cosines)))
    hi = float(max(all_cosines.max(), np.max(result_cosines), together_at or -1))
    ticks = np.linspace(lo, hi, 5)
    fig.update_layout(
        **{**LAYOUT, "margin": dict(l=60, r=20, t=90, b=50)},
        title=dict(text="Where the results sit among all items", y=0.97),
        xaxis=dict(title="cosine similarity to the query (1 = same direction)", range=[lo - 0.01, hi + 0.01]),
        xaxis2=dict(
            overlaying="x",
            side="top",
            range=[lo - 0.01, hi + 0.01],
            tickvals=ticks,
            ticktext=[f"{a:.0f}°" for a in angles_deg(ticks)],
            title=dict(text="angle to the query (degrees)", standoff=2),
        ),
        yaxis_title="number of items",
        legend=dict(orientation="h", y=-0.3),
        bargap=0.02,
    )
    fig.add_scatter(
        x=[lo, hi], y=[0, 0], xaxis="x2", mode="markers", marker_opacity=0, showlegend=False, hoverinfo="skip"
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
        **LAYOUT,
        title="Variance kept by the noise filter",
        xaxis_title="number of principal components kept",
        yaxis=dict(title="variance kept (%)", range=[0, 100]),
    )
    return fig


def label_counts(counts: dict[str, int]) -> go.Figure:
    """Horizontal bars: how many pictures each zero-shot label got (labels stay readable)."""
    names = list(counts)[::-1]
    fig = go.Figure(
        go.Bar(
            x=[counts[n] for n in names],
            y=[html.escape(short(n, 28)) for n in names],
            orientation="h",
            marker_color=PICTURE_COLOUR,
            hovertemplate="%{y}: %{x} pictures<extra></extra>",
        )
    )
    fig.update_layout(
        **{**LAYOUT, "height": max(220, 40 + 28 * len(names)), "margin": dict(l=160, r=20, t=60, b=50)},
        title="Pictures per zero-shot label",
        xaxis_title="number of pictures",
        yaxis_title="label",
    )
    return fig


def k_scan(ks: np.ndarray, silhouettes: np.ndarray, inertias: np.ndarray, chosen: int, known: int = 0) -> go.Figure:
    """Silhouette (left axis) and k-means elbow (right axis) against k; ``known`` categories marked."""
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
    # The label on the line's inner side: at the last k it would run into the right-hand axis.
    side = "top left" if chosen >= int(np.max(ks)) else "top right"
    fig.add_vline(x=chosen, line_color=RESULT_COLOUR, annotation_text=f"chosen k = {chosen}", annotation_position=side)
    if known:
        fig.add_vline(
            x=known,
            line_color=QUERY_COLOUR,
            line_dash="dot",
            annotation_text=f"{known} known categories",
            annotation_position="bottom right",
        )
    fig.update_layout(
        **LAYOUT,
        title="Choosing the number of clusters",
        xaxis_title="number of clusters k",
        yaxis=dict(title="mean silhouette (-1..1, higher = tighter)"),
        yaxis2=dict(title="sum of squared distances (elbow)", overlaying="y", side="right"),
        legend=dict(orientation="h", y=-0.3),
    )
    return fig
