"""Plotly figures of maps: the 2-D embedding map and the exact angle view (no Streamlit here)."""

from __future__ import annotations

import html
import re

import numpy as np
import plotly.graph_objects as go

from similarity.views.plots import KIND_COLOURS, LAYOUT, NOISE_COLOUR, QUERY_COLOUR, RESULT_COLOUR, palette, short


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
        **{**LAYOUT, "height": 560, "margin": dict(l=60, r=20, t=60, b=40)},
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
