"""Plotly figures (no Streamlit here): every axis says what it measures."""

from __future__ import annotations

import html
import re

import numpy as np
import plotly.graph_objects as go

from similarity.search import angles_deg

# No plotly template: applying one costs ~10 ms per figure on every rerun, and
# Streamlit's own chart theme already gives every figure the app's look.
_LAYOUT = dict(margin=dict(l=60, r=20, t=80, b=50), height=340, font=dict(size=14))
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
    weak_at: float | None = None,
    strong_at: float | None = None,
) -> go.Figure:
    """Histogram of the query's cosine with every item; results and the verdict thresholds marked.

    Lets "0.27" mean something: how far above the crowd the top results sit,
    and where meaningless queries stop (``weak_at``, ``strong_at``).
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
    for at, name, dash in ((weak_at, "weak match from", "dot"), (strong_at, "strong match from", "dash")):
        if at is not None:
            fig.add_scatter(
                x=[at, at], y=[0, top], mode="lines", line=dict(color=QUERY_COLOUR, dash=dash), name=f"{name} {at:.2f}"
            )
    lo = float(min(all_cosines.min(), np.min(result_cosines)))
    hi = float(max(all_cosines.max(), np.max(result_cosines), strong_at or -1))
    ticks = np.linspace(lo, hi, 5)
    fig.update_layout(
        **{**_LAYOUT, "margin": dict(l=60, r=20, t=90, b=50)},
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
        **_LAYOUT,
        title="Variance kept by the noise filter",
        xaxis_title="number of principal components kept",
        yaxis=dict(title="variance kept (%)", range=[0, 100]),
    )
    return fig


def group_colours(groups: list[str]) -> dict[str, str]:
    """Colour per group: fixed ones for kinds and noise, a palette sized to the rest."""
    named = {"noise": NOISE_COLOUR, **KIND_COLOURS}
    others = sorted((g for g in dict.fromkeys(groups) if g not in named), key=_natural)
    return {**{g: c for g, c in named.items() if g in groups}, **dict(zip(others, palette(len(others))))}


def _natural(text: str) -> list:
    """Sort key that puts "2. x" before "10. y"."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", text)]


def embedding_map(
    coords,
    colour_by: list[str],
    hover: list[str],
    axis_unit: str,
    method: str,
    query_xy=None,
    result_rows=None,
    query_label: str = "query",
    result_names: list[str] | None = None,
) -> go.Figure:
    """WebGL scatter of items on a 2-D map, the query linked to its top-k.

    ``customdata`` holds each point's row so selections map back to items;
    the results are ringed, numbered by rank and named (``result_names``).
    """
    fig = go.Figure()
    colour_by = np.asarray(colour_by)
    rows = np.arange(len(coords))
    hover = np.array([html.escape(h) for h in hover])  # plotly renders tags in hover text
    legend_names = {"image": "pictures", "caption": "captions"}
    for group, colour in group_colours(colour_by.tolist()).items():
        mask = colour_by == group
        fig.add_trace(
            go.Scattergl(
                x=coords[mask, 0],
                y=coords[mask, 1],
                mode="markers",
                name=html.escape(legend_names.get(group, str(group))),
                customdata=rows[mask],
                text=hover[mask],
                hovertemplate="%{text}<extra></extra>",
                marker=dict(size=5 if group == "noise" else 6, opacity=0.5 if group == "noise" else 0.75, color=colour),
            )
        )
    if query_xy is not None:
        if result_rows is not None and len(result_rows):
            result_rows = np.asarray(result_rows)
            xs = np.column_stack(
                [np.full(len(result_rows), query_xy[0]), coords[result_rows, 0], np.full(len(result_rows), np.nan)]
            )
            ys = np.column_stack(
                [np.full(len(result_rows), query_xy[1]), coords[result_rows, 1], np.full(len(result_rows), np.nan)]
            )
            fig.add_trace(
                go.Scatter(
                    x=xs.ravel(),
                    y=ys.ravel(),
                    mode="lines",
                    name="query → its top results (full space)",
                    line=dict(color=QUERY_COLOUR, width=2),
                    hoverinfo="skip",
                )
            )
            names = result_names or [""] * len(result_rows)
            fig.add_trace(
                go.Scatter(
                    x=coords[result_rows, 0],
                    y=coords[result_rows, 1],
                    mode="markers+text",
                    name="top results (rank)",
                    # Names for the best three, ranks for the rest: close points would bury longer labels.
                    text=[f"{i}. {html.escape(short(n, 16))}" if i <= 3 else str(i) for i, n in enumerate(names, 1)],
                    textposition="top center",
                    textfont=dict(size=13, color=QUERY_COLOUR),
                    customdata=result_rows,
                    hovertemplate="%{text}<extra></extra>",
                    marker=dict(size=12, color=RESULT_COLOUR, line=dict(width=2, color=QUERY_COLOUR)),
                )
            )
        fig.add_trace(
            go.Scatter(
                x=[query_xy[0]],
                y=[query_xy[1]],
                mode="markers",
                name="query: " + html.escape(short(query_label, 30)),
                marker=dict(symbol="star", size=22, color="#ffd600", line=dict(width=2, color=QUERY_COLOUR)),
                hovertemplate=f"query: {html.escape(query_label)}<extra></extra>",
            )
        )
    fig.update_layout(
        **{**_LAYOUT, "height": 560, "margin": dict(l=60, r=20, t=60, b=40)},
        title=f"{method} map of the collection",
        xaxis_title=f"{method} 1 ({axis_unit})",
        yaxis_title=f"{method} 2 ({axis_unit})",
        dragmode="lasso",
        legend=dict(itemsizing="constant", orientation="h", y=-0.12),
    )
    return fig


def angle_view(angles: np.ndarray, labels: list[str], title: str, note: str, named: bool = True) -> go.Figure:
    """Polar picture: each result at its angle from the query (at 0°), radius = rank.

    ``named`` writes each result's name beside its angle; otherwise only its
    rank (for a second view of the same results, where names would pile up).
    """
    ranks = np.arange(1, len(angles) + 1)
    top = float(min(180, max(30, np.ceil((angles.max() + 5) / 10) * 10)))
    fig = go.Figure()
    fig.add_trace(
        go.Scatterpolar(
            r=[0, len(angles) + 1],
            theta=[0, 0],
            mode="lines",
            name="query direction",
            line=dict(color=QUERY_COLOUR, width=3),
        )
    )
    # Two traces for all results (spokes, then points): cheap to build and draw.
    fig.add_trace(
        go.Scatterpolar(
            r=np.column_stack([np.zeros(len(ranks)), ranks, np.full(len(ranks), np.nan)]).ravel(),
            theta=np.column_stack([np.zeros(len(ranks)), angles, np.full(len(ranks), np.nan)]).ravel(),
            mode="lines",
            line=dict(color="#90a4ae", width=1),
            hoverinfo="skip",
        )
    )
    fig.add_trace(
        go.Scatterpolar(
            r=ranks,
            theta=angles,
            mode="markers+text",
            text=[
                f"{r}. {html.escape(short(label, 18))} {a:.1f}°" if named else f"{r}"
                for r, a, label in zip(ranks, angles, labels)
            ],
            customdata=[html.escape(label) for label in labels],
            # Right of the point: the next rank sits one radius step further out, clear of it.
            textposition="middle right",
            textfont=dict(size=13),
            marker=dict(size=10, color=RESULT_COLOUR, line=dict(width=1, color=QUERY_COLOUR)),
            hovertemplate="%{customdata}<br>φ = %{theta:.1f}°, rank %{r}<extra></extra>",
        )
    )
    fig.update_layout(
        height=520,
        font=dict(size=14),
        margin=dict(l=30, r=160, t=80, b=30),
        title=dict(text=f"{title}<br><sup>{note}</sup>"),
        polar=dict(
            sector=[0, top],
            angularaxis=dict(direction="counterclockwise", rotation=0, ticksuffix="°"),
            radialaxis=dict(title="rank (1 = best)", range=[0, len(angles) + 1], dtick=1),
        ),
        showlegend=False,
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
        **{**_LAYOUT, "height": max(220, 40 + 28 * len(names)), "margin": dict(l=160, r=20, t=60, b=50)},
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
    fig.add_vline(x=chosen, line_color=RESULT_COLOUR, annotation_text=f"chosen k = {chosen}")
    if known:
        fig.add_vline(
            x=known,
            line_color=QUERY_COLOUR,
            line_dash="dot",
            annotation_text=f"{known} known categories",
            annotation_position="bottom right",
        )
    fig.update_layout(
        **_LAYOUT,
        title="Choosing the number of clusters",
        xaxis_title="number of clusters k",
        yaxis=dict(title="mean silhouette (-1..1, higher = tighter)"),
        yaxis2=dict(title="sum of squared distances (elbow)", overlaying="y", side="right"),
        legend=dict(orientation="h", y=-0.3),
    )
    return fig
