"""The map with pictures: a Vega-Lite (Altair) chart whose tooltips show each point's thumbnail (no Streamlit here).

Vega's tooltip handler draws a field named ``image`` as an ``<img>`` and one
named ``title`` as a heading, so each point carries its picture as a tiny
WebP data URI (~0.8 KB at 48 px) and its caption: about 1.5 MB for the
demo's 1,861 pictures, sent once per page load. Bigger maps stay on the
WebGL plotly map (:func:`similarity.views.map_plots.embedding_map`), which
also keeps box and lasso selection. "Examples" draws a few thumbnails on the
map itself, one per dense place: the picture nearest each k-means centre of
the 2-D points, the biggest groups first.
"""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass
from pathlib import Path

import altair as alt
import numpy as np
import pandas as pd
from PIL import Image
from sklearn.cluster import KMeans

from similarity.ingest.files import BadInput, open_image
from similarity.views.map_plots import callout_column, group_colours
from similarity.views.plots import QUERY_COLOUR, RESULT_COLOUR, short

THUMB_PX = 48  # tooltip and example pictures: readable, ~0.8 KB each as WebP
MAX_PICTURE_POINTS = 3_000  # above: ~2.3 MB of pictures per page load; the plotly map instead
EXAMPLES = 16  # example pictures drawn on the map
EXAMPLE_PX = 44  # their size on the map
LEGEND_NAMES = {"image": "pictures", "caption": "captions"}
# Vega has no star symbol: a five-pointed star as an SVG path in its unit square.
STAR = (
    "M0,-1L0.236,-0.324L0.951,-0.309L0.382,0.124L0.588,0.809"
    "L0,0.4L-0.588,0.809L-0.382,0.124L-0.951,-0.309L-0.236,-0.324Z"
)


def thumbnail_uri(path: Path, size: int = THUMB_PX) -> str | None:
    """A picture as a ``data:image/webp`` URI at most ``size`` px wide and high; None if it cannot be read."""
    try:
        picture = open_image(Path(path))
    except (BadInput, OSError):
        return None
    picture.thumbnail((size, size), Image.LANCZOS)
    out = io.BytesIO()
    picture.save(out, "WEBP", quality=70, method=4)
    return "data:image/webp;base64," + base64.b64encode(out.getvalue()).decode("ascii")


def thumbnail_uris(paths: list[Path | None], size: int = THUMB_PX) -> list[str | None]:
    """:func:`thumbnail_uri` of each path (None where there is no picture)."""
    return [thumbnail_uri(p, size) if p is not None else None for p in paths]


def representatives(coords: np.ndarray, candidates: np.ndarray, k: int = EXAMPLES, seed: int = 0) -> np.ndarray:
    """Indices (into ``coords``) of up to ``k`` distinct points, one at each dense place, biggest places first.

    ``coords``: (n, 2) map positions; ``candidates``: indices of the points
    that may be chosen (e.g. those with a picture). k-means on the
    candidates' positions; each centre gets the nearest candidate not yet taken.
    """
    candidates = np.asarray(candidates, dtype=int)
    k = min(k, len(candidates))
    if k == 0:
        return np.zeros(0, dtype=int)
    points = np.asarray(coords, dtype=np.float64)[candidates]
    fit = KMeans(n_clusters=k, n_init=3, random_state=seed).fit(points)
    sizes = np.bincount(fit.labels_, minlength=k)
    chosen: list[int] = []
    for centre in fit.cluster_centers_[np.argsort(-sizes, kind="stable")]:
        distance = np.linalg.norm(points - centre, axis=1)
        distance[chosen] = np.inf
        chosen.append(int(np.argmin(distance)))
    return candidates[chosen]


@dataclass(frozen=True)
class Examples:
    """Pictures drawn on a map, one per dense place."""

    index: np.ndarray  # (e,) points of the map (indices into its coords)
    images: list[str]  # their thumbnails as data URIs


def example_pictures(coords: np.ndarray, paths: list[Path | None], k: int = EXAMPLES, seed: int = 0) -> Examples:
    """:func:`representatives` among the points with a picture (``paths[i]``), with their thumbnails.

    Only these ``k`` pictures are read, so it suits maps of any size.
    """
    chosen = representatives(coords, [i for i, path in enumerate(paths) if path is not None], k, seed)
    images = thumbnail_uris([paths[i] for i in chosen])
    readable = [j for j, image in enumerate(images) if image]
    return Examples(chosen[readable], [images[j] for j in readable])


def picture_map(
    coords: np.ndarray,
    groups: list[str],
    labels: list[str],
    images: list[str | None],
    axis_unit: str,
    method: str,
    query_xy=None,
    result_rows=None,
    query_label: str = "query",
    result_names: list[str] | None = None,
    examples: Examples | None = None,
) -> alt.LayerChart:
    """The 2-D map as layered Altair marks; hovering a point shows its picture and caption.

    ``groups``: colour group per point (kind or category); ``labels``: caption
    or file name; ``images``: data URI or None per point. With a query, the
    crowd is dimmed and, drawn on top of everything (examples included), the
    query's star joined to its ringed results, and a column of their names
    (the same layout as the plotly map). ``examples``: indices of points whose
    pictures are drawn on the map (under the query's marks).
    """
    coords = np.asarray(coords, dtype=float)
    colours = group_colours(list(groups))
    points = pd.DataFrame(
        {
            "x": coords[:, 0],
            "y": coords[:, 1],
            "group": [LEGEND_NAMES.get(g, str(g)) for g in groups],
            "title": labels,
            "image": images,
        }
    )
    xrange = [float(coords[:, 0].min()), float(coords[:, 0].max())]
    yrange = [float(coords[:, 1].min()), float(coords[:, 1].max())]
    if query_xy is not None:
        xrange = [min(xrange[0], float(query_xy[0])), max(xrange[1], float(query_xy[0]))]
        yrange = [min(yrange[0], float(query_xy[1])), max(yrange[1], float(query_xy[1]))]
    shown_x, query_layers = xrange, []
    if query_xy is not None:
        result_rows = np.asarray(result_rows if result_rows is not None else [], dtype=int)
        names = result_names or [""] * len(result_rows)
        column_x, places, shown_x = callout_column(coords, query_xy, result_rows, xrange, yrange)
        query_layers = _query_layers(points, query_xy, result_rows, query_label, names, column_x, places)
    pad_x, pad_y = 0.04 * (shown_x[1] - shown_x[0] or 1), 0.06 * (yrange[1] - yrange[0] or 1)
    x = _axis("x", f"{method} 1 ({axis_unit})", [shown_x[0] - pad_x, shown_x[1] + pad_x])
    y = _axis("y", f"{method} 2 ({axis_unit})", [yrange[0] - pad_y, yrange[1] + pad_y])
    colour = alt.Color(
        "group:N",
        title=None,
        scale=alt.Scale(domain=[LEGEND_NAMES.get(g, g) for g in colours], range=list(colours.values())),
        legend=alt.Legend(orient="bottom"),
    )
    tooltip = [alt.Tooltip("title:N"), alt.Tooltip("image:N")]
    layers = [
        alt.Chart(points)
        .mark_circle(size=36, opacity=0.35 if query_xy is not None else 0.75)
        .encode(x=x, y=y, color=colour, tooltip=tooltip)
    ]
    if examples is not None and len(examples.index):
        shown = points.iloc[examples.index].assign(image=examples.images)
        layers.append(
            alt.Chart(shown)
            .mark_image(width=EXAMPLE_PX, height=EXAMPLE_PX, align="center", baseline="middle")
            .encode(x="x:Q", y="y:Q", url="image:N", tooltip=tooltip)
        )
    return (
        alt.layer(*layers, *query_layers)
        .properties(height=540, title=f"{method} map of the collection: hover a point to see it")
        .configure_axis(labelFontSize=13, titleFontSize=14)
    )


def _axis(field: str, title: str, domain: list[float]):
    channel = alt.X if field == "x" else alt.Y
    return channel(f"{field}:Q", title=title, scale=alt.Scale(domain=domain, zero=False, nice=False))


def _query_layers(points, query_xy, result_rows, query_label, names, column_x, places) -> list:
    """The lines from the query to its results, the ringed results, the star, and the column of names."""
    qx, qy = float(query_xy[0]), float(query_xy[1])
    results = points.iloc[result_rows].assign(
        rank=np.arange(1, len(result_rows) + 1),
        title=[f"{i}. {name}" for i, name in enumerate(names, 1)],
        qx=qx,
        qy=qy,
    )
    star = pd.DataFrame({"x": [qx], "y": [qy], "title": [f"your query: {query_label}"]})
    callouts = pd.DataFrame(
        {
            "x": [p[0] for p in places],
            "y": [p[1] for p in places],
            "lx": column_x,
            "ly": [p[2] for p in places],
            "text": [
                f"★ {short(query_label, 28)}" if rank == 0 else f"{rank}. {short(names[rank - 1], 22)}"
                for *_, rank in places
            ],
        }
    )
    tooltip = [alt.Tooltip("title:N"), alt.Tooltip("image:N")]
    return [
        alt.Chart(results).mark_rule(color=QUERY_COLOUR, strokeWidth=2).encode(x="qx:Q", y="qy:Q", x2="x", y2="y"),
        alt.Chart(results)
        .mark_point(size=170, filled=True, color=RESULT_COLOUR, stroke=QUERY_COLOUR, strokeWidth=2, opacity=1)
        .encode(x="x:Q", y="y:Q", tooltip=tooltip),
        alt.Chart(star)
        .mark_point(shape=STAR, size=600, filled=True, color="#ffd600", stroke=QUERY_COLOUR, strokeWidth=2, opacity=1)
        .encode(x="x:Q", y="y:Q", tooltip=[alt.Tooltip("title:N")]),
        alt.Chart(callouts).mark_rule(color="#607d8b", strokeWidth=1).encode(x="x:Q", y="y:Q", x2="lx", y2="ly"),
        alt.Chart(callouts)
        .mark_text(align="left", baseline="middle", fontSize=13, color=QUERY_COLOUR, dx=3)
        .encode(x="lx:Q", y="ly:Q", text="text:N"),
    ]
