"""Figures and tables several experiments draw: the smoothed loss curves of nets trained on the
same batches (optimizers, initialisations), the book's train/test accuracy panel of §6.4, and a
table of our numbers at the epochs the book's run printed."""

from __future__ import annotations

import numpy as np

from .common import OPTIMIZER_LABELS, OPTIMIZER_MARKERS

__all__ = ["loss_figure", "accuracy_panel", "book_table"]


def loss_figure(config, summary, names, title, ylim=(0, 1), labels=OPTIMIZER_LABELS, markers=OPTIMIZER_MARKERS):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7, 4.6), layout="constrained")
    ax = fig.add_subplot(1, 1, 1)
    for name in names:
        s = summary[name]["smoothed"]
        mean = np.asarray(s["mean"], dtype=float)
        x = np.arange(len(mean))
        line, = ax.plot(x, mean, marker=markers.get(name), markevery=100, markersize=5,
                        label=f"{labels.get(name, name)} ({summary[name]['final']:.3f})")
        if s["n"] > 1:
            ax.fill_between(x, s["lo"], s["hi"], color=line.get_color(), alpha=0.2, linewidth=0)
    ax.set_xlabel("iterations")
    ax.set_ylabel("loss (smoothed)")
    ax.set_ylim(*ylim)
    ax.legend(title="final smoothed loss")
    ax.set_title(title, fontsize=10)
    return fig


def book_table(title: str, book_rows: dict, book_label: str, variants: dict, ours: list, epochs: dict) -> dict:
    """A table: epoch | the book's train/test | ours train/test per variant. ``epochs``: book epoch → our record."""
    def pair(a, b):
        return f"{a:.3f} / {b:.3f}" if a is not None and b is not None else "–"

    rows = []
    for book_epoch, ours_epoch in epochs.items():
        b = book_rows.get(f"epoch {book_epoch}")
        row = [str(book_epoch), pair(*b) if b else "–"]
        for key, _ in ours:
            v = variants.get(key)
            if v is None or ours_epoch >= len(v["epoch"]):
                row.append("–")
                continue
            test = v["test_acc"]["mean"][ours_epoch] if "test_acc" in v else None
            row.append(pair(v["train_acc"]["mean"][ours_epoch], test))
        rows.append(row)
    final = ["final (all 10,000)", "–"]
    for key, _ in ours:
        v = variants.get(key)
        final.append(pair(v["final_train_acc"]["mean"], v["final_test_acc"]["mean"]) if v else "–")
    rows.append(final)
    return {"title": title, "columns": ["epoch", book_label] + [label for _, label in ours], "rows": rows}


def accuracy_panel(ax, variant: dict, title: str, n_seeds: int) -> None:
    """The book's plot: train 'o' and test 's' (markevery 10), ylim (0, 1); band = min–max over seeds."""
    x = variant["epoch"]
    for key, marker, label in (("train_acc", "o", "train"), ("test_acc", "s", "test")):
        if key not in variant:
            continue
        s = variant[key]
        if key == "test_acc":
            label += f" (first {variant['test_curve_samples']} test images)"
        (line,) = ax.plot(x, s["mean"], marker=marker, markevery=10, markersize=4, label=label)
        if n_seeds > 1:
            ax.fill_between(x, s["lo"], s["hi"], color=line.get_color(), alpha=0.2, linewidth=0)
    ax.set_ylim(0, 1)
    ax.set_xlabel("epochs")
    ax.set_ylabel("accuracy")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
