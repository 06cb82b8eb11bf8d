"""Figures of training curves, drawn from histories (:class:`trainlab.history.History` dicts).

Used by ``trainlab train`` (its own curves), ``trainlab compare`` (any runs overlaid) and the report.
A per-epoch metric (``train_acc``, ``val_loss``, …) is drawn against the epoch; ``iter_loss`` (the
mini-batch loss of every update) against the iteration, smoothed with the book's ``smooth_curve``.
"""

from __future__ import annotations

import math

import numpy as np

from .i18n import _

__all__ = ["metric_series", "overlay_figure", "run_figure", "METRIC_LABELS", "metric_label"]

#: each metric's label in English (:func:`metric_label` gives it in the active language)
METRIC_LABELS = {
    "iter_loss": "mini-batch loss (smoothed)",
    "train_loss": "train loss", "val_loss": "validation loss", "test_loss": "test loss",
    "train_acc": "train accuracy", "val_acc": "validation accuracy", "test_acc": "test accuracy",
}


def metric_label(metric: str) -> str:
    """A metric's label in the active language (an unknown metric: its own name)."""
    labels = {
        "iter_loss": _("mini-batch loss (smoothed)"),
        "train_loss": _("train loss"), "val_loss": _("validation loss"), "test_loss": _("test loss"),
        "train_acc": _("train accuracy"), "val_acc": _("validation accuracy"), "test_acc": _("test accuracy"),
    }
    return labels.get(metric, metric)


def _num(v) -> float:
    return math.nan if v is None else float(v)


def metric_series(history: dict, metric: str) -> tuple[np.ndarray, np.ndarray]:
    """``(x, y)`` of one metric of a history dict: iteration/loss for ``iter_loss``, else epoch/value."""
    if metric == "iter_loss":
        from .curves import smooth_curve

        y = np.array([_num(v) for v in history.get("iter_loss") or []], dtype=float)
        return np.arange(1, len(y) + 1), smooth_curve(y) if len(y) else y
    records = [r for r in history.get("epochs") or [] if metric in r]
    return (np.array([r.get("epoch", i) for i, r in enumerate(records)], dtype=float),
            np.array([_num(r[metric]) for r in records], dtype=float))


def overlay_figure(curves: list[tuple[str, dict]], metric: str, title: str = ""):
    """One axes: ``metric`` of every ``(label, history)``, a line each (legend outside when many).
    Its text is in the active language (:mod:`trainlab.i18n`), in that language's font."""
    from .fonts import language_font

    with language_font():
        return _overlay_figure(curves, metric, title)


def _overlay_figure(curves: list[tuple[str, dict]], metric: str, title: str):
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    fig = Figure(figsize=(7.5, 4.4), layout="constrained")
    ax = fig.add_subplot(1, 1, 1)
    drawn = 0
    for label, history in curves:
        x, y = metric_series(history, metric)
        if len(y):
            ax.plot(x, y, label=label, linewidth=1.4, marker="o" if len(y) <= 25 else None, markersize=3)
            drawn += 1
    ax.set_xlabel(_("iteration") if metric == "iter_loss" else _("epoch"))
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # no "epoch 2.5" ticks on a few epochs
    ax.set_ylabel(metric_label(metric))
    if metric.endswith("_acc"):
        ax.set_ylim(0, 1.0)
    ax.grid(alpha=0.3)
    if drawn:
        if drawn <= 8:
            ax.legend(fontsize=8)
        else:
            ax.legend(fontsize=6, loc="upper left", bbox_to_anchor=(1.01, 1.0), ncols=1 + drawn // 25)
    ax.set_title(title or metric_label(metric), fontsize=10)
    return fig


def run_figure(history: dict, title: str = ""):
    """One run's curves: loss (per split, and the smoothed mini-batch loss) and accuracy per split.
    Its text is in the active language (:mod:`trainlab.i18n`), in that language's font."""
    from .fonts import language_font

    with language_font():
        return _run_figure(history, title)


def _run_figure(history: dict, title: str):
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    fig = Figure(figsize=(10, 4), layout="constrained")
    ax_loss, ax_acc = fig.subplots(1, 2)
    x, y = metric_series(history, "iter_loss")
    if len(y):
        epochs = max((r.get("epoch", 0) for r in history.get("epochs") or []), default=0)
        per_epoch = len(y) / epochs if epochs else 1.0
        ax_loss.plot(x / per_epoch, y, color="0.6", linewidth=0.8, label=_("mini-batch (smoothed)"))
    for split, style, name in (("train", "-", _("train")), ("val", "--", _("val")), ("test", ":", _("test"))):
        for ax, key in ((ax_loss, f"{split}_loss"), (ax_acc, f"{split}_acc")):
            ex, ey = metric_series(history, key)
            if len(ey):
                ax.plot(ex, ey, style, marker="o" if len(ey) <= 25 else None, markersize=3, label=name)
    ax_loss.set_xlabel(_("epoch"))
    ax_loss.set_ylabel(_("loss"))
    ax_acc.set_xlabel(_("epoch"))
    for ax in (ax_loss, ax_acc):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax_acc.set_ylabel(_("accuracy"))
    ax_acc.set_ylim(0, 1.0)
    for ax in (ax_loss, ax_acc):
        ax.grid(alpha=0.3)
        if ax.lines:
            ax.legend(fontsize=8)
    if title:
        fig.suptitle(title, fontsize=10)
    return fig
