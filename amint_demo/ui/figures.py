"""Plotly figures of the page: metrics against tap depth, log-log ROC, training curves, method comparison."""
from __future__ import annotations

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from amint_demo.pairs import NO_TAP

METRICS = (("balanced_accuracy", "balanced accuracy @0.5"), ("auc", "ROC AUC"), ("tpr_at_1pct_fpr", "TPR @ 1% FPR"))
DEPTHS = ("entry", "middle", "output")


def depth_figure(rows: list[dict], family: str) -> go.Figure:
    """One panel per metric; x = tap depth, one line per method (from the pairs' stored evaluations)."""
    fig = make_subplots(rows=1, cols=3, subplot_titles=[title for _, title in METRICS])
    methods = sorted({r["method"] for r in rows if r["family"] == family})
    for colour, method in enumerate(methods):
        points = [r for r in rows if r["family"] == family and r["method"] == method and r["tap"] in DEPTHS]
        flat = [r for r in rows if r["family"] == family and r["method"] == method and r["tap"] == NO_TAP]
        for col, (key, _) in enumerate(METRICS, start=1):
            x, y = [p["tap"] for p in points], [p[key] for p in points]
            if flat:  # reads no layer: one value drawn across every depth
                x, y = list(DEPTHS), [flat[0][key]] * len(DEPTHS)
            fig.add_trace(go.Scatter(x=x, y=y, mode="lines" if flat else "lines+markers", name=method,
                                     legendgroup=method, showlegend=col == 1, line_dash="dot" if flat else None,
                                     marker_color=f"hsl({colour * 85}, 65%, 45%)"), row=1, col=col)
    fig.update_xaxes(categoryorder="array", categoryarray=list(DEPTHS), type="category")
    fig.update_yaxes(range=[0, 1.02])
    fig.update_layout(height=350, margin=dict(l=30, r=10, t=70, b=30), legend_title_text="method")
    return fig


def roc_figure(rows: list[dict], family: str) -> go.Figure:
    """Log-log ROC of every pair of the family, AUC and TPR@1%FPR in the legend, chance diagonal."""
    fig = go.Figure()
    for r in rows:
        if r["family"] != family:
            continue
        points = [(f, t) for f, t in zip(r["roc_fpr"], r["roc_tpr"]) if f > 0 and t > 0]
        fig.add_trace(go.Scatter(x=[p[0] for p in points], y=[p[1] for p in points], mode="lines",
                                 name=f"{r['method'] if r['tap'] == NO_TAP else r['method'] + ' · ' + r['tap']} (AUC {r['auc']:.2f}, TPR@1% {r['tpr_at_1pct_fpr']:.2f})"))
    fig.add_trace(go.Scatter(x=[1e-4, 1], y=[1e-4, 1], mode="lines", name="chance", line=dict(dash="dot", color="grey")))
    fig.update_xaxes(type="log", title="false positive rate", range=[-4, 0.05], tickvals=[1e-4, 1e-3, 1e-2, 1e-1, 1],
                     ticktext=["0.01%", "0.1%", "1%", "10%", "100%"])
    fig.update_yaxes(type="log", title="true positive rate", range=[-4, 0.05], tickvals=[1e-3, 1e-2, 1e-1, 1],
                     ticktext=["0.1%", "1%", "10%", "100%"])
    fig.update_layout(height=420, margin=dict(l=50, r=10, t=50, b=40))
    return fig


def training_figure(records: list[dict]) -> go.Figure:
    """Per-epoch task and MINT loss (left) and accuracy (right)."""
    fig = make_subplots(rows=1, cols=2, subplot_titles=("losses", "training accuracy"))
    epochs = [r["epoch"] for r in records]
    for key, name, col in (("task_loss", "task", 1), ("mint_loss", "MINT", 1),
                           ("task_accuracy", "task", 2), ("mint_accuracy", "MINT", 2)):
        if records and key in records[0]:
            fig.add_trace(go.Scatter(x=epochs, y=[r[key] for r in records], mode="lines+markers", name=name,
                                     legendgroup=name, showlegend=col == 1,
                                     marker_color="#1f77b4" if name == "task" else "#d62728"), row=1, col=col)
    fig.update_xaxes(title="epoch")
    fig.update_layout(height=300, margin=dict(l=30, r=10, t=40, b=30))
    return fig


def compare_figure(rows: list[tuple[str, float]]) -> go.Figure:
    """Horizontal bars: membership probability of one image under each pair, 0.5 marked."""
    fig = go.Figure(go.Bar(x=[p for _, p in rows], y=[name for name, _ in rows], orientation="h",
                           marker_color=["#d62728" if p >= 0.5 else "#1f77b4" for _, p in rows],
                           text=[f"{p:.0%}" for _, p in rows], textposition="auto"))
    fig.add_vline(x=0.5, line_dash="dot", line_color="grey")
    fig.update_xaxes(range=[0, 1], title="membership probability")
    fig.update_layout(height=80 + 40 * len(rows), margin=dict(l=10, r=10, t=10, b=40))
    return fig
