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
    group_names: dict[str, str] | None = None,
    examples=None,
    extent=None,
) -> go.Figure:
    """WebGL scatter of items on a 2-D map, the query linked to its top-k.

    ``customdata`` holds each point's row so selections map back to items.
    With a query, the crowd is dimmed; the query's star and its ringed
    results are drawn last (on top, in the same WebGL layer), and a column of
    callouts beside the points names the query and each result (``result_names``)
    with an arrow: evenly spaced, so no two labels overlap however close the
    points are. ``group_names``: a label at each group's centre (e.g. clusters).
    ``examples``: pictures drawn on the map under the points (a
    :class:`similarity.views.picture_map.Examples`). ``extent``: more
    positions the view must cover (the items a sampled map places but does
    not draw), so a lasso around the whole map takes every item.
    """
    fig = go.Figure()
    colour_by = np.asarray(colour_by)
    rows = np.arange(len(coords))
    hover = np.array([html.escape(h) for h in hover])  # plotly renders tags in hover text
    legend_names = {"image": "pictures", "caption": "captions"}
    dim = query_xy is not None
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
                marker=dict(
                    size=5 if group == "noise" else 6,
                    opacity=0.35 if dim or group == "noise" else 0.75,
                    color=colour,
                ),
            )
        )
    if group_names:
        _group_labels(fig, coords, colour_by, group_names)
    seen = coords if extent is None else np.vstack([coords.min(0), coords.max(0), extent.min(0), extent.max(0)])
    xrange = [float(seen[:, 0].min()), float(seen[:, 0].max())]
    yrange = [float(seen[:, 1].min()), float(seen[:, 1].max())]
    if examples is not None:
        _pictures(fig, coords, examples, 0.05 * (xrange[1] - xrange[0] or 1), 0.07 * (yrange[1] - yrange[0] or 1))
    if query_xy is not None:
        result_rows = np.asarray(result_rows if result_rows is not None else [], dtype=int)
        names = result_names or [""] * len(result_rows)
        _query_and_results(fig, coords, query_xy, result_rows)
        xrange = [min(xrange[0], float(query_xy[0])), max(xrange[1], float(query_xy[0]))]
        yrange = [min(yrange[0], float(query_xy[1])), max(yrange[1], float(query_xy[1]))]
        xrange = _callouts(fig, coords, query_xy, result_rows, query_label, names, xrange, yrange)
    pad_x, pad_y = 0.06 * (xrange[1] - xrange[0] or 1), 0.06 * (yrange[1] - yrange[0] or 1)
    fig.update_layout(
        **{**LAYOUT, "height": 540, "margin": dict(l=60, r=20, t=50, b=40)},
        title=f"{method} map of the collection",
        xaxis=dict(title=f"{method} 1 ({axis_unit})", range=[xrange[0] - pad_x, xrange[1] + pad_x]),
        yaxis=dict(title=f"{method} 2 ({axis_unit})", range=[yrange[0] - pad_y, yrange[1] + pad_y]),
        dragmode="lasso",
        legend=dict(itemsizing="constant", orientation="h", y=-0.12),
    )
    return fig


def _query_and_results(fig: go.Figure, coords: np.ndarray, query_xy, result_rows: np.ndarray) -> None:
    """Lines from the query to its results, the ringed results, then the star (WebGL, after the crowd: on top)."""
    if len(result_rows):
        ends = coords[result_rows]
        # Lines as layout shapes, above the WebGL points: a WebGL line trace breaks box and lasso selection.
        for end in ends:
            fig.add_shape(
                type="line",
                x0=float(query_xy[0]),
                y0=float(query_xy[1]),
                x1=float(end[0]),
                y1=float(end[1]),
                line=dict(color=QUERY_COLOUR, width=2),
                layer="above",
            )
        fig.add_trace(
            go.Scattergl(
                x=ends[:, 0],
                y=ends[:, 1],
                mode="markers",
                name="top results (numbered by rank)",
                text=[str(i) for i in range(1, len(ends) + 1)],
                customdata=result_rows,
                hovertemplate="result %{text}<extra></extra>",
                marker=dict(size=13, color=RESULT_COLOUR, line=dict(width=2, color=QUERY_COLOUR)),
            )
        )
    fig.add_trace(
        go.Scattergl(
            x=[query_xy[0]],
            y=[query_xy[1]],
            mode="markers",
            name="your query",
            marker=dict(symbol="star", size=26, color="#ffd600", line=dict(width=2, color=QUERY_COLOUR)),
            hovertemplate="your query<extra></extra>",
        )
    )


def callout_column(coords, query_xy, result_rows, xrange, yrange) -> tuple[float, list[tuple], list[float]]:
    """Where the query's and its results' names go: one column right of the points.

    Evenly spaced from top to bottom (results ordered by height to keep
    arrows from crossing), so labels never overlap. Returns (the column's x,
    (point x, point y, label y, rank; 0 = the query) per label, the x range
    that makes room for the column).
    """
    width = xrange[1] - xrange[0] or 1.0
    order = np.argsort(-coords[result_rows, 1], kind="stable") if len(result_rows) else np.zeros(0, int)
    slots = np.linspace(yrange[1], yrange[0], len(result_rows) + 1)
    targets = [(query_xy, 0)] + [(coords[result_rows[i]], int(i) + 1) for i in order]
    places = [(float(p[0]), float(p[1]), float(y), rank) for (p, rank), y in zip(targets, slots)]
    return xrange[1] + 0.06 * width, places, [xrange[0], xrange[1] + 0.55 * width]


def _callouts(fig, coords, query_xy, result_rows, query_label, names, xrange, yrange) -> list[float]:
    """The query's and each result's name in the callout column, arrows to them; returns the widened x range."""
    column_x, places, widened = callout_column(coords, query_xy, result_rows, xrange, yrange)
    for x, y_point, y, rank in places:
        is_query = rank == 0
        text = (
            f"★ {html.escape(short(query_label, 28))}"
            if is_query
            else f"{rank}. {html.escape(short(names[rank - 1], 22))}"
        )
        fig.add_annotation(
            x=x,
            y=y_point,
            ax=column_x,
            ay=float(y),
            axref="x",
            ayref="y",
            text=f"<b>{text}</b>" if is_query else text,
            xanchor="left",
            showarrow=True,
            arrowhead=0,
            arrowwidth=1,
            arrowcolor="#607d8b",
            font=dict(size=13, color=QUERY_COLOUR),
            bgcolor="rgba(255,255,255,0.9)",
            bordercolor="#ffd600" if is_query else RESULT_COLOUR,
            borderwidth=1,
            borderpad=2,
        )
    return widened


def _pictures(fig: go.Figure, coords: np.ndarray, examples, width: float, height: float) -> None:
    """Example pictures centred on their points, below the WebGL points (the star and results stay on top)."""
    for i, image in zip(examples.index, examples.images):
        fig.add_layout_image(
            source=image,
            x=float(coords[i, 0]),
            y=float(coords[i, 1]),
            xref="x",
            yref="y",
            sizex=width,
            sizey=height,
            xanchor="center",
            yanchor="middle",
            layer="below",
        )


def _group_labels(fig: go.Figure, coords: np.ndarray, groups: np.ndarray, names: dict[str, str]) -> None:
    """Each named group's label at its members' median position (readable where colours are alike)."""
    for group, name in names.items():
        members = coords[groups == group]
        if len(members):
            fig.add_annotation(
                x=float(np.median(members[:, 0])),
                y=float(np.median(members[:, 1])),
                text=html.escape(name),
                showarrow=False,
                font=dict(size=12, color=QUERY_COLOUR),
                bgcolor="rgba(255,255,255,0.8)",
            )


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
            r=[0, len(angles) + 3],
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
        title=dict(text=f"{title}<br><sup>{note}; distance from the corner = rank (1 = best)</sup>"),
        polar=dict(
            sector=[0, top],
            angularaxis=dict(direction="counterclockwise", rotation=0, ticksuffix="°"),
            # Room beyond the last rank: names stay clear of the degree labels around the arc.
            radialaxis=dict(range=[0, len(angles) + 3], dtick=1, tickvals=list(ranks)),
        ),
        showlegend=False,
    )
    return fig
