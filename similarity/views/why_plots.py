"""Plotly figure for "Why this matched" (no Streamlit): each word's part in a cosine."""

from __future__ import annotations

import html

import plotly.graph_objects as go

from similarity.search.why import BLUE, RED, WordShares
from similarity.views.plots import LAYOUT, short


def word_shares(shares: WordShares) -> go.Figure:
    """Horizontal bars, one per word in reading order: the fall in cosine when it is left out.

    Red bars helped (leaving the word out lowers the cosine), blue bars pulled
    the text away; each bar is labelled with its share of the helping falls.
    """
    drops, parts = shares.drops.tolist(), shares.shares.tolist()
    # Plotly renders tags (<b>, <a href>) in its text: the words are escaped, after shortening.
    labels = [f"{i + 1}. {html.escape(short(word, 18))}" for i, word in enumerate(shares.words)]
    colours = [f"rgb{RED}" if d >= 0 else f"rgb{BLUE}" for d in drops]
    figure = go.Figure(
        go.Bar(
            x=drops,
            y=labels,
            orientation="h",
            marker_color=colours,
            text=[f"{p:+.0%}" for p in parts],
            textposition="outside",
            cliponaxis=False,
            customdata=[[html.escape(w), shares.base - d] for w, d in zip(shares.words, drops)],
            hovertemplate="without '%{customdata[0]}': cosine %{customdata[1]:.3f} (falls by %{x:.3f})<extra></extra>",
        )
    )
    reach = max([abs(d) for d in drops] + [1e-3]) * 1.35  # room for the share labels
    figure.update_layout(
        **{**LAYOUT, "height": max(200, 90 + 30 * len(labels)), "margin": dict(l=140, r=30, t=30, b=60)},
        xaxis=dict(
            title="fall in cosine when the word is left out (cosine units)",
            range=[-reach if min(drops) < 0 else 0, reach],
            zeroline=True,
        ),
        yaxis=dict(title="word (reading order)", autorange="reversed"),
        showlegend=False,
    )
    return figure
