"""Plotly figures of the page: metrics against tap depth, log-log ROC, training curves, method comparison."""
from __future__ import annotations

from collections.abc import Sequence

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from amint_demo.pairs import NO_TAP

METRICS = (("balanced_accuracy", "balanced accuracy @0.5"), ("auc", "ROC AUC"), ("tpr_at_1pct_fpr", "TPR @ 1% FPR"))
DEPTHS = ("entry", "middle", "output")


def depth_figure(rows: list[dict], family: str, other_seeds: Sequence[dict] = ()) -> go.Figure:
    """One panel per metric; x = tap depth, one line per method (from the pairs' stored evaluations). `other_seeds`:
    rows of the same pairs trained with other seeds (same keys), drawn as hollow markers, so a difference between
    taps can be read against the seed-to-seed spread."""
    fig = make_subplots(rows=1, cols=3, subplot_titles=[title for _, title in METRICS])
    methods = sorted({r["method"] for r in rows if r["family"] == family})
    for index, method in enumerate(methods):
        colour = f"hsl({index * 85}, 65%, 45%)"
        points = [r for r in rows if r["family"] == family and r["method"] == method and r["tap"] in DEPTHS]
        flat = [r for r in rows if r["family"] == family and r["method"] == method and r["tap"] == NO_TAP]
        reseeded = [r for r in other_seeds if r["family"] == family and r["method"] == method and r["tap"] in DEPTHS]
        for col, (key, _) in enumerate(METRICS, start=1):
            x, y = [p["tap"] for p in points], [p[key] for p in points]
            if flat:  # reads no layer: one value drawn across every depth
                x, y = list(DEPTHS), [flat[0][key]] * len(DEPTHS)
            fig.add_trace(go.Scatter(x=x, y=y, mode="lines" if flat else "lines+markers", name=method,
                                     legendgroup=method, showlegend=col == 1, line_dash="dot" if flat else None,
                                     marker_color=colour), row=1, col=col)
            if reseeded:
                fig.add_trace(go.Scatter(x=[r["tap"] for r in reseeded], y=[r[key] for r in reseeded],
                                         mode="markers", name=f"{method}, other seed", legendgroup=f"{method}-seeds",
                                         showlegend=col == 1, legendrank=1001,
                                         marker=dict(symbol="circle-open", size=10, color=colour)), row=1, col=col)
    fig.update_xaxes(categoryorder="array", categoryarray=list(DEPTHS), type="category")
    fig.update_yaxes(range=[0, 1.02])
    fig.update_layout(height=380, margin=dict(l=30, r=10, t=100, b=30), legend_title_text="method",
                      title=dict(text=f"{family}: metrics by tap depth", y=0.9))
    fig.update_annotations(yshift=4)
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
    fig.update_layout(height=420, margin=dict(l=50, r=10, t=50, b=40), title=f"{family}: log-log ROC, members vs T")
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


def reliability_figure(metrics, name: str) -> go.Figure:
    """Reliability diagram of one pair (members vs T): per probability bin, the share of members against the mean
    probability shown, the diagonal for perfect calibration, and the expected calibration error in the title."""
    fig = go.Figure()
    if metrics is None or not metrics.reliability_counts:
        fig.update_layout(title=f"{name}: no calibration data (an older pair)", height=360)
        return fig
    shown = [(p, s, n) for p, s, n in zip(metrics.reliability_probability, metrics.reliability_members,
                                          metrics.reliability_counts) if n > 0]
    fig.add_trace(go.Scatter(x=[p for p, _, _ in shown], y=[s for _, s, _ in shown], mode="lines+markers",
                             name="members among images at this probability", text=[f"{n} images" for *_, n in shown],
                             marker=dict(size=[6 + 14 * (n / max(c for *_, c in shown)) ** 0.5 for *_, n in shown])))
    fig.add_trace(go.Scatter(x=[0, 1], y=[0, 1], mode="lines", name="perfectly calibrated",
                             line=dict(dash="dot", color="grey")))
    fig.update_xaxes(range=[0, 1], title="membership probability shown")
    fig.update_yaxes(range=[0, 1], title="share that are members")
    fig.update_layout(title=f"reliability on members vs T: ECE {metrics.ece:.3f}", height=360,
                      margin=dict(l=50, r=10, t=50, b=40), legend=dict(orientation="h", y=-0.25))
    return fig


def histogram_figure(metrics, name: str) -> go.Figure:
    """Membership probabilities of members and of held-out T images, stacked histograms, the 0.5 decision
    threshold marked."""
    fig = go.Figure()
    if metrics is None or not metrics.histogram_members:
        fig.update_layout(title=f"{name}: no histogram data (an older pair)", height=320)
        return fig
    bins = len(metrics.histogram_members)
    centres = [(i + 0.5) / bins for i in range(bins)]
    for counts, label, colour in ((metrics.histogram_nonmembers, "held-out non-members (T)", "#1f77b4"),
                                  (metrics.histogram_members, "members (D)", "#d62728")):
        fig.add_trace(go.Bar(x=centres, y=counts, width=1 / bins, name=label, marker_color=colour, opacity=0.6))
    fig.add_vline(x=0.5, line_dash="dot", line_color="black", annotation_text="decision threshold 0.5")
    fig.update_xaxes(range=[0, 1], title="membership probability")
    fig.update_yaxes(title="images", type="log")
    fig.update_layout(barmode="overlay", title="scores of members and held-out non-members", height=320,
                      margin=dict(l=50, r=10, t=50, b=40), legend=dict(orientation="h", y=-0.3))
    return fig
