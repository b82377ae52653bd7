"""Figures of the "Watch it learn" page: what a run recorded, step by step (no Streamlit here).

Each figure takes one or two runs' snapshots (a run and the same run at
another temperature) and the step on show, so a live run, a replay and a
scrubbed step draw the same way.
"""

from __future__ import annotations

import html

import numpy as np
import plotly.graph_objects as go

from similarity.lab.run import RECALL_AT, Snapshot
from similarity.views.map_plots import angle_view
from similarity.views.plots import LAYOUT, QUERY_COLOUR, RESULT_COLOUR, short

RUN_COLOURS = ("#4477aa", "#ee7733")  # the run, and the run at the compared temperature
# Fixed colour range, so the matrix of step 0 and of step 300 can be compared by eye.
MATRIX_RANGE = (-0.2, 0.8)


def similarity_matrix(snap: Snapshot, names: list[str], title: str) -> go.Figure:
    """Shown pictures (rows) x their captions (columns), coloured and written as cosines."""
    labels = [html.escape(short(n, 14)) for n in names]
    fig = go.Figure(
        go.Heatmap(
            z=snap.matrix,
            x=[f"“{n}”" for n in labels],
            y=labels,
            zmin=MATRIX_RANGE[0],
            zmax=MATRIX_RANGE[1],
            colorscale="Viridis",
            text=np.round(snap.matrix, 2),
            texttemplate="%{text:.2f}",
            textfont=dict(size=12),
            colorbar=dict(title=dict(text="cos", side="right"), thickness=12),
            hovertemplate="picture %{y}<br>caption %{x}<br>cos %{z:.3f}<extra></extra>",
        )
    )
    fig.update_layout(
        **{**LAYOUT, "height": 345, "margin": dict(l=90, r=10, t=50, b=72)},
        title=dict(text=f"{title}<br><sup>step {snap.step:,}: pictures (rows) × captions (columns)</sup>"),
        xaxis=dict(title="captions (frozen text tower)", tickangle=-40, side="bottom"),
        yaxis=dict(title="pictures (the head)", autorange="reversed"),
    )
    return fig


def _shipped_line(fig: go.Figure, y: float, text: str, position: str) -> None:
    """The shipped model's figure, a dotted line across the run for comparison."""
    fig.add_hline(y=y, line=dict(color=RESULT_COLOUR, dash="dot"), annotation_text=text, annotation_position=position)


def _over_steps(fig: go.Figure, step: int, title: str, subtitle: str, yaxis: dict) -> go.Figure:
    """A curve over the run's steps: the step on show marked, the one look of the lab's curves."""
    fig.add_vline(x=step, line=dict(color=QUERY_COLOUR, width=1, dash="dot"))
    fig.update_layout(
        **LAYOUT,
        title=dict(text=f"{title}<br><sup>{subtitle}</sup>"),
        xaxis=dict(title="training step"),
        yaxis=yaxis,
        legend=dict(orientation="h", y=-0.25),
    )
    return fig


def loss_curve(runs: list[tuple[str, list[float], list[Snapshot]]], step: int) -> go.Figure:
    """Every step's training loss (light) and its mean between snapshots (bold), per run."""
    fig = go.Figure()
    for (label, losses, snaps), colour in zip(runs, RUN_COLOURS):
        steps = np.arange(1, len(losses) + 1)
        fig.add_scatter(
            x=steps,
            y=losses,
            mode="lines",
            line=dict(color=colour, width=1),
            opacity=0.3,
            showlegend=False,
            hoverinfo="skip",
        )
        fig.add_scatter(
            x=[s.step for s in snaps],
            y=[s.loss for s in snaps],
            mode="lines+markers",
            name=label,
            line=dict(color=colour, width=3),
            hovertemplate="step %{x}<br>loss %{y:.3f}<extra>" + html.escape(label) + "</extra>",
        )
    return _over_steps(
        fig, step, "Loss", "how unsure each pick of its own pair is", dict(title="loss (nats)", rangemode="tozero")
    )


def recall_curve(
    runs: list[tuple[str, list[float], list[Snapshot]]], step: int, chance: float, shipped: float | None
) -> go.Figure:
    """Recall@5 of held-out concepts (solid) and of trained ones (dashed) per run, with chance and the shipped model."""
    fig = go.Figure()
    for (label, _, snaps), colour in zip(runs, RUN_COLOURS):
        x = [s.step for s in snaps]
        fig.add_scatter(
            x=x,
            y=[s.recall_unseen for s in snaps],
            mode="lines+markers",
            name=f"{label}: held-out",
            line=dict(color=colour, width=3),
        )
        fig.add_scatter(
            x=x,
            y=[s.recall_trained for s in snaps],
            mode="lines",
            name=f"{label}: trained",
            line=dict(color=colour, width=2, dash="dash"),
        )
    fig.add_hline(
        y=chance,
        line=dict(color="#888", dash="dot"),
        annotation_text=f"chance {chance:.1%}",
        annotation_position="top left",
    )
    if shipped is not None:
        _shipped_line(fig, shipped, f"shipped model 3.0, held-out: {shipped:.0%}", "top left")
    return _over_steps(
        fig,
        step,
        f"Recall@{RECALL_AT}",
        f"captions whose picture is in their top {RECALL_AT}",
        dict(title=f"recall@{RECALL_AT} (share of captions)", range=[0, 1.02], tickformat=".0%"),
    )


def angle_curves(snaps: list[Snapshot], names: list[str], step: int) -> go.Figure:
    """Each shown picture's angle to its own caption, and the mean to the other shown captions."""
    fig = go.Figure()
    steps = [s.step for s in snaps]
    degrees = np.degrees(np.arccos(np.clip(np.stack([s.matrix for s in snaps]), -1, 1)))  # (snapshots, n, n)
    n = degrees.shape[1]
    others = (degrees.sum(axis=2) - np.einsum("tii->ti", degrees)) / (n - 1)
    fig.add_scatter(
        x=steps,
        y=others.mean(axis=1),
        mode="lines",
        name="a picture and other captions (mean)",
        line=dict(color="#888", width=3, dash="dash"),
    )
    colours = [RUN_COLOURS[0], "#228833", "#aa3377", "#ccbb44"]
    for i, colour in zip(range(min(4, n)), colours):
        fig.add_scatter(
            x=steps,
            y=degrees[:, i, i],
            mode="lines+markers",
            name=f"{short(names[i], 14)} ↔ its caption",
            line=dict(color=colour, width=2),
        )
    fig.add_hline(
        y=90, line=dict(color="#bbb", dash="dot"), annotation_text="90° = unrelated", annotation_position="top right"
    )
    return _over_steps(
        fig, step, "Angles", "own pairs close in, others stay wide", dict(title="angle φ (degrees)", range=[0, 120])
    )


def caption_angle_view(snap: Snapshot, names: list[str], caption: int) -> go.Figure:
    """The Map page's angle view with one shown caption as the query and the shown pictures around it."""
    angles = np.degrees(np.arccos(np.clip(snap.matrix[:, caption], -1, 1)))
    order = np.argsort(angles, kind="stable")
    labels = [f"{names[i]} ✓" if i == caption else names[i] for i in order]
    return angle_view(
        angles[order],
        labels,
        f"“{names[caption]}” at step {snap.step:,}",
        "✓ its own picture",
    )


def gap_curve(runs: list[tuple[str, list[float], list[Snapshot]]], step: int, shipped: float) -> go.Figure:
    """Degrees between the mean picture direction and the mean caption direction, per run and for the shipped model."""
    fig = go.Figure()
    for (label, _, snaps), colour in zip(runs, RUN_COLOURS):
        fig.add_scatter(
            x=[s.step for s in snaps],
            y=[s.gap_angle for s in snaps],
            mode="lines+markers",
            name=label,
            line=dict(color=colour, width=3),
        )
    _shipped_line(fig, shipped, f"shipped model 3.0: {shipped:.0f}°", "bottom left")
    return _over_steps(
        fig,
        step,
        "The modality gap",
        "angle between the mean picture and the mean caption",
        dict(title="angle between the centres (degrees)", range=[0, 100]),
    )
